#include "xep/disco.h"

namespace parley::xep::disco {

namespace {
bool fail(std::string* error, std::string_view why) {
  if (error) *error = why;
  return false;
}
}  // namespace

xml::Element to_element(const Info& info) {
  xml::Element query("query", std::string(kInfoNs));
  if (!info.node.empty()) query.set("node", info.node);
  for (const auto& id : info.identities) {
    auto& e = query.add("identity");
    e.set("category", id.category).set("type", id.type);
    if (!id.name.empty()) e.set("name", id.name);
  }
  for (const auto& var : info.features) query.add("feature").set("var", var);
  for (const auto& form : info.extensions) query.add(form);
  return query;
}

xml::Element to_element(const Items& items) {
  xml::Element query("query", std::string(kItemsNs));
  if (!items.node.empty()) query.set("node", items.node);
  for (const auto& item : items.items) {
    auto& e = query.add("item");
    e.set("jid", item.jid);
    if (!item.node.empty()) e.set("node", item.node);
    if (!item.name.empty()) e.set("name", item.name);
  }
  return query;
}

std::optional<Info> parse_info(const xml::Element& query, std::string* error) {
  if (query.name() != "query" || query.xmlns() != kInfoNs) {
    fail(error, "not a disco#info query");
    return std::nullopt;
  }
  Info info;
  info.node = query.get("node");
  for (const auto& node : query.nodes()) {
    if (node.is_text()) continue;
    const xml::Element& e = *node.element;
    if (e.xmlns() == kInfoNs && e.name() == "identity") {
      if (e.get("category").empty() || e.get("type").empty()) {
        fail(error, "identity without category or type");
        return std::nullopt;
      }
      info.identities.push_back(
          {std::string(e.get("category")), std::string(e.get("type")), std::string(e.get("name"))});
    } else if (e.xmlns() == kInfoNs && e.name() == "feature") {
      if (e.get("var").empty()) {
        fail(error, "feature without var");
        return std::nullopt;
      }
      info.features.emplace_back(e.get("var"));
    } else if (e.xmlns() == "jabber:x:data" && e.name() == "x") {
      info.extensions.push_back(e);
    }
    // Anything else is ignored (XEP-0030 §3.1 allows other namespaces).
  }
  return info;
}

std::optional<Items> parse_items(const xml::Element& query, std::string* error) {
  if (query.name() != "query" || query.xmlns() != kItemsNs) {
    fail(error, "not a disco#items query");
    return std::nullopt;
  }
  Items items;
  items.node = query.get("node");
  for (const xml::Element* e : query.children("item")) {
    if (e->get("jid").empty()) {
      fail(error, "item without jid");
      return std::nullopt;
    }
    items.items.push_back(
        {std::string(e->get("jid")), std::string(e->get("node")), std::string(e->get("name"))});
  }
  return items;
}

}  // namespace parley::xep::disco
