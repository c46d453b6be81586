#include "protocol.h"

#include <charconv>

#include "node_config.h"
#include "xep/dataforms.h"

namespace parley::pep {
namespace {

namespace df = xep::dataforms;

Invalid bad(std::string text, std::string pubsub_condition = {}) {
  return {"bad-request", std::move(pubsub_condition), std::move(text)};
}

// The single element child that is not text, or null when there are none or several.
const xml::Element* only_child(const xml::Element& e, size_t* count) {
  const xml::Element* found = nullptr;
  *count = 0;
  for (const auto& n : e.nodes())
    if (!n.is_text()) {
      ++*count;
      found = n.element.get();
    }
  return *count == 1 ? found : nullptr;
}

// The submitted form inside <publish-options/> or <configure/>: nullopt = no form there;
// Invalid when the form does not decode or is of the wrong FORM_TYPE.
std::variant<std::optional<Options>, Invalid> form_in(const xml::Element* parent,
                                                      std::string_view form_type,
                                                      bool* cancelled = nullptr) {
  if (!parent) return std::optional<Options>();
  const xml::Element* x = parent->child("x", df::kNs);
  if (!x) return std::optional<Options>();
  auto form = df::parse(*x);
  if (!form) return bad(form.error());
  if (form->type == df::FormType::Cancel && cancelled) {
    *cancelled = true;
    return std::optional<Options>();
  }
  if (form->type != df::FormType::Submit) return bad("the form must be of type submit");
  std::string type = form->form_type();
  if (!type.empty() && type != form_type) return bad("FORM_TYPE must be " + std::string(form_type));
  return std::optional<Options>(fields_of(*form));
}

std::variant<Request, Invalid> parse_owner(const xml::Element& pubsub, bool set) {
  size_t count = 0;
  const xml::Element* op = only_child(pubsub, &count);
  if (!op) return bad("exactly one element in <pubsub/> is expected");
  if (op->xmlns() != kOwnerNs) return bad("unexpected " + op->name());
  std::string node(op->get("node"));
  const std::string& name = op->name();
  if (name == "default") {
    if (set) return bad("<default/> is only read");
    return Request(DefaultGet{});
  }
  if (name == "configure" || name == "delete" || name == "purge") {
    if (node.empty()) return bad("a node is required", "nodeid-required");
  }
  if (name == "configure") {
    if (!set) return Request(ConfigureGet{node});
    bool cancelled = false;
    auto form = form_in(op, kNodeConfigForm, &cancelled);
    if (auto* invalid = std::get_if<Invalid>(&form)) return *invalid;
    auto fields = std::get<std::optional<Options>>(form);
    if (!cancelled && !fields) return bad("a node_config form is required");
    return Request(ConfigureSet{node, fields});
  }
  if (!set) return bad("<" + name + "/> must be a set");
  if (name == "delete") return Request(Delete{node});
  if (name == "purge") return Request(Purge{node});
  if (name == "subscriptions") return Request(Unsupported{"manage-subscriptions"});
  if (name == "affiliations") return Request(Unsupported{"modify-affiliations"});
  return bad("unknown request <" + name + "/>");
}

}  // namespace

std::variant<Request, Invalid> parse(const xml::Element& pubsub, bool set) {
  if (pubsub.name() != "pubsub") return bad("<pubsub/> expected");
  if (pubsub.xmlns() == kOwnerNs) return parse_owner(pubsub, set);
  if (pubsub.xmlns() != kPubsubNs) return bad("unknown namespace");

  // §7.1.5 and §8.1.3: <publish/> and <create/> may come with one companion element.
  const xml::Element* first = nullptr;
  const xml::Element* second = nullptr;
  const xml::Element* rsm_set = nullptr;  // §6.5.4: XEP-0059 paging of <items/>
  size_t count = 0;
  for (const auto& n : pubsub.nodes()) {
    if (n.is_text()) continue;
    if (n.element->name() == "set" && n.element->xmlns() == xep::rsm::kNs && !rsm_set) {
      rsm_set = n.element.get();
      continue;
    }
    ++count;
    (first ? second : first) = n.element.get();
  }
  if (!first || count > 2) return bad("one request element in <pubsub/> is expected");
  for (const xml::Element* e : {first, second})
    if (e && e->xmlns() != kPubsubNs) return bad("unexpected " + e->name());
  const std::string& name = first->name();
  std::string node(first->get("node"));

  if (name == "publish") {
    if (!set) return bad("<publish/> must be a set");
    if (second && second->name() != "publish-options") return bad("unexpected " + second->name());
    if (node.empty()) return bad("a node is required", "nodeid-required");
    Publish p{node, {}, nullptr, std::nullopt};
    auto items = first->children("item", kPubsubNs);
    size_t elements = 0;
    for (const auto& n : first->nodes()) elements += n.is_text() ? 0 : 1;
    // §7.1.3.6: PEP nodes carry payloads, so an item (with one) is required.
    if (items.empty()) return bad("an item is required", "item-required");
    if (items.size() > 1 || elements > 1) return bad("one item per publish", "invalid-payload");
    p.item_id = std::string(items.front()->get("id"));
    size_t payloads = 0;
    const xml::Element* payload = only_child(*items.front(), &payloads);
    if (payloads == 0) return bad("the item needs a payload", "payload-required");
    if (!payload) return bad("one payload element per item", "invalid-payload");
    p.payload = std::make_shared<const xml::Element>(*payload);
    if (second) {
      auto form = form_in(second, kPublishOptionsForm);
      if (auto* invalid = std::get_if<Invalid>(&form)) return *invalid;
      p.publish_options = std::get<std::optional<Options>>(form);
      if (!p.publish_options) p.publish_options = Options{};
    }
    return Request(std::move(p));
  }
  if (name == "create") {
    if (!set) return bad("<create/> must be a set");
    if (second && second->name() != "configure") return bad("unexpected " + second->name());
    if (node.empty()) return Request(Unsupported{"instant-nodes"});
    auto form = form_in(second, kNodeConfigForm);
    if (auto* invalid = std::get_if<Invalid>(&form)) return *invalid;
    return Request(Create{node, std::get<std::optional<Options>>(form)});
  }
  if (second) return bad("unexpected " + second->name());
  if (rsm_set && name != "items") return bad("<set/> only pages <items/>");
  if (name == "items") {
    if (set) return bad("<items/> must be a get");
    if (node.empty()) return bad("a node is required", "nodeid-required");
    Retrieve r{node, {}, std::nullopt, std::nullopt};
    for (const auto* item : first->children("item", kPubsubNs)) {
      std::string id(item->get("id"));
      if (id.empty()) return bad("an item without id", "item-required");
      r.item_ids.push_back(std::move(id));
    }
    if (first->has("max_items")) {
      std::string_view v = first->get("max_items");
      int64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n < 0)
        return bad("max_items must be a number");
      r.max_items = n;
    }
    if (rsm_set) {
      auto request = xep::rsm::parse_request(*rsm_set);
      if (!request) return bad(request.error());
      r.rsm = *request;
    }
    return Request(std::move(r));
  }
  if (name == "retract") {
    if (!set) return bad("<retract/> must be a set");
    if (node.empty()) return bad("a node is required", "nodeid-required");
    Retract r{node, {}};
    for (const auto* item : first->children("item", kPubsubNs)) {
      std::string id(item->get("id"));
      if (id.empty()) return bad("an item without id", "item-required");
      r.item_ids.push_back(std::move(id));
    }
    if (r.item_ids.empty()) return bad("an item is required", "item-required");
    return Request(std::move(r));
  }
  if (name == "subscribe" || name == "unsubscribe") return Request(Unsupported{"subscribe"});
  if (name == "options") return Request(Unsupported{"subscription-options"});
  if (name == "subscriptions") return Request(Unsupported{"retrieve-subscriptions"});
  if (name == "affiliations") return Request(Unsupported{"retrieve-affiliations"});
  if (name == "configure" || name == "default")
    return bad("<" + name + "/> belongs in the pubsub#owner namespace");
  return bad("unknown request <" + name + "/>");
}

xml::Element pubsub_error(std::string_view condition, std::string_view feature) {
  xml::Element e{std::string(condition), std::string(kErrorsNs)};
  if (!feature.empty()) e.set("feature", feature);
  return e;
}

xml::Element item_element(const Item& item, std::string_view ns, bool payload) {
  xml::Element e("item", std::string(ns));
  e.set("id", item.id);
  if (payload && item.payload) e.add(xml::Element(*item.payload));
  return e;
}

xml::Element event_items(const std::string& node, const std::vector<Item>& items, bool payloads) {
  xml::Element event("event", std::string(kEventNs));
  auto& list = event.add("items");
  list.set("node", node);
  for (const auto& i : items) list.add(item_element(i, kEventNs, payloads));
  return event;
}

xml::Element event_retract(const std::string& node, const std::vector<std::string>& ids) {
  xml::Element event("event", std::string(kEventNs));
  auto& list = event.add("items");
  list.set("node", node);
  for (const auto& id : ids) list.add("retract").set("id", id);
  return event;
}

xml::Element event_delete(const std::string& node) {
  xml::Element event("event", std::string(kEventNs));
  event.add("delete").set("node", node);
  return event;
}

xml::Element event_purge(const std::string& node) {
  xml::Element event("event", std::string(kEventNs));
  event.add("purge").set("node", node);
  return event;
}

xml::Element notification(const Jid& from, const Jid& to, xml::Element event) {
  xml::Element m("message", "jabber:client");
  m.set("from", from.str());
  m.set("to", to.str());
  m.set("type", "headline");
  m.add(std::move(event));
  return m;
}

}  // namespace parley::pep
