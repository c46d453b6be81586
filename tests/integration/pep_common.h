// Shared pieces of the personal eventing (modules/pep, XEP-0163 over the XEP-0060 subset of
// /work/notes/pep_spec.md) integration tests: namespaces, pubsub requests, reading results,
// errors and notifications, and a client's XEP-0115 entity capabilities (the ver computed here,
// independently of the server, and the disco#info answer the server asks for).
#pragma once

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common.h"

namespace parley::it {

inline const std::string kPubsub = "http://jabber.org/protocol/pubsub";
inline const std::string kPubsubOwner = "http://jabber.org/protocol/pubsub#owner";
inline const std::string kPubsubEvent = "http://jabber.org/protocol/pubsub#event";
inline const std::string kPubsubErrors = "http://jabber.org/protocol/pubsub#errors";
inline const std::string kPublishOptions = "http://jabber.org/protocol/pubsub#publish-options";
inline const std::string kNodeConfig = "http://jabber.org/protocol/pubsub#node_config";
inline const std::string kRsm = "http://jabber.org/protocol/rsm";
inline const std::string kDataForms = "jabber:x:data";
inline const std::string kDiscoInfo = "http://jabber.org/protocol/disco#info";
inline const std::string kDiscoItems = "http://jabber.org/protocol/disco#items";
inline const std::string kCaps = "http://jabber.org/protocol/caps";
// The caps node of the test clients (XEP-0115 §4: the software's URI).
inline const std::string kCapsNode = "https://parley.example/integration-tests";
// The namespace of the test payloads.
inline const std::string kEntryNs = "urn:parley:it:entry";

// --- data forms (XEP-0004) ------------------------------------------------------------------

// var -> values, in order.
using Fields = std::vector<std::pair<std::string, std::vector<std::string>>>;

inline std::string data_form(const std::string& form_type, const Fields& fields,
                             const std::string& type = "submit") {
  std::string x = "<x xmlns='" + kDataForms + "' type='" + type +
                  "'><field var='FORM_TYPE' type='hidden'><value>" + form_type + "</value></field>";
  for (const auto& [var, values] : fields) {
    x += "<field var='" + xml_escape(var) + "'>";
    for (const auto& v : values) x += "<value>" + xml_escape(v) + "</value>";
    x += "</field>";
  }
  return x + "</x>";
}

struct FormField {
  std::string type;
  std::vector<std::string> values;
  std::vector<std::string> options;
};

// The fields of a data form by var (FORM_TYPE included).
inline std::map<std::string, FormField> form_fields(const Node* x) {
  std::map<std::string, FormField> out;
  if (!x) return out;
  for (const Node* f : x->all("field", kDataForms)) {
    FormField& field = out[f->attr("var")];
    field.type = f->attr("type");
    for (const Node* v : f->all("value", kDataForms)) field.values.push_back(v->text);
    for (const Node* o : f->all("option", kDataForms))
      if (const Node* v = o->child("value", kDataForms)) field.options.push_back(v->text);
  }
  return out;
}

// The single value of a field ("" if absent or empty).
inline std::string field_value(const std::map<std::string, FormField>& fields,
                               const std::string& var) {
  auto it = fields.find(var);
  return it == fields.end() || it->second.values.empty() ? "" : it->second.values.front();
}

// XEP-0004 §3.3 booleans: "1"/"true" and "0"/"false".
inline bool is_true(const std::string& v) {
  return v == "1" || v == "true";
}
inline bool is_false(const std::string& v) {
  return v == "0" || v == "false";
}

// --- requests -------------------------------------------------------------------------------

// ` to='...'`, or nothing for a request to one's own account (XEP-0163 §2.1).
inline std::string to_attr(const std::string& to) {
  return to.empty() ? "" : " to='" + xml_escape(to) + "'";
}

inline std::optional<Node> pubsub_iq(StropheClient& c, const std::string& type,
                                     const std::string& to, const std::string& ns,
                                     const std::string& inner) {
  return c.iq("<iq type='" + type + "' id='" + c.next_id() + "'" + to_attr(to) +
              "><pubsub xmlns='" + ns + "'>" + inner + "</pubsub></iq>");
}

// A payload element in the tests' namespace.
inline std::string entry(const std::string& text) {
  return "<entry xmlns='" + kEntryNs + "'>" + xml_escape(text) + "</entry>";
}

// XEP-0060 §7.1: publishes `payload` as item `id` ("" = let the service choose) on `node`,
// with the publish-options preconditions `options` (§7.1.5) when given.
inline std::optional<Node> publish(StropheClient& c, const std::string& node, const std::string& id,
                                   const std::string& payload, const Fields& options = {},
                                   const std::string& to = "") {
  std::string item = "<item" + (id.empty() ? std::string() : " id='" + xml_escape(id) + "'") + ">" +
                     payload + "</item>";
  std::string po = options.empty() ? std::string()
                                   : "<publish-options>" + data_form(kPublishOptions, options) +
                                         "</publish-options>";
  return pubsub_iq(c, "set", to, kPubsub,
                   "<publish node='" + xml_escape(node) + "'>" + item + "</publish>" + po);
}

// XEP-0060 §6.5: <items node='...' attrs>children</items>, then `after` (e.g. an RSM <set/>).
inline std::optional<Node> get_items(StropheClient& c, const std::string& to,
                                     const std::string& node, const std::string& attrs = "",
                                     const std::string& children = "",
                                     const std::string& after = "") {
  return pubsub_iq(
      c, "get", to, kPubsub,
      "<items node='" + xml_escape(node) + "'" + attrs + ">" + children + "</items>" + after);
}

inline std::optional<Node> get_item(StropheClient& c, const std::string& to,
                                    const std::string& node, const std::string& id) {
  return get_items(c, to, node, "", "<item id='" + xml_escape(id) + "'/>");
}

// XEP-0060 §8.2: the node configuration form (owner namespace).
inline std::optional<Node> get_config(StropheClient& c, const std::string& node) {
  return pubsub_iq(c, "get", "", kPubsubOwner, "<configure node='" + xml_escape(node) + "'/>");
}

inline std::optional<Node> set_config(StropheClient& c, const std::string& node,
                                      const Fields& fields) {
  return pubsub_iq(c, "set", "", kPubsubOwner,
                   "<configure node='" + xml_escape(node) + "'>" + data_form(kNodeConfig, fields) +
                       "</configure>");
}

// The fields of the form in a configure (or default) result.
inline std::map<std::string, FormField> config_of(const Node& result,
                                                  const std::string& element = "configure") {
  const Node* ps = result.child("pubsub", kPubsubOwner);
  const Node* conf = ps ? ps->child(element, kPubsubOwner) : nullptr;
  return form_fields(conf ? conf->child("x", kDataForms) : nullptr);
}

// --- results --------------------------------------------------------------------------------

inline const Node* items_of(const Node& result) {
  const Node* ps = result.child("pubsub", kPubsub);
  return ps ? ps->child("items", kPubsub) : nullptr;
}

// The ids of the items in an items result, in the order given.
inline std::vector<std::string> item_ids(const Node& result) {
  std::vector<std::string> ids;
  if (const Node* items = items_of(result))
    for (const Node* i : items->all("item", kPubsub)) ids.push_back(i->attr("id"));
  return ids;
}

inline std::set<std::string> id_set(const Node& result) {
  auto ids = item_ids(result);
  return {ids.begin(), ids.end()};
}

// The text of the tests' <entry/> payload of item `id` in an items result or a notification
// ("" when there is no such item or payload).
inline std::string entry_text(const Node* items, const std::string& id) {
  if (!items) return "";
  for (const Node& i : items->children)
    if (i.name == "item" && i.attr("id") == id)
      if (const Node* e = i.child("entry", kEntryNs)) return e->text;
  return "";
}

// The item id the service reports in a publish result (XEP-0060 §7.1.2), or "".
inline std::string published_id(const Node& result) {
  const Node* ps = result.child("pubsub", kPubsub);
  const Node* p = ps ? ps->child("publish", kPubsub) : nullptr;
  const Node* item = p ? p->child("item", kPubsub) : nullptr;
  return item ? item->attr("id") : "";
}

inline bool is_result(const std::optional<Node>& r) {
  return r && r->attr("type") == "result";
}

inline std::string raw(const std::optional<Node>& r) {
  return r ? r->raw : std::string("no reply");
}

// The pubsub#errors condition of an error reply (XEP-0060 §12), or "".
inline std::string pubsub_error(const Node& stanza) {
  const Node* e = stanza.child("error");
  return e ? e->condition(kPubsubErrors) : std::string();
}

inline std::string error_type(const Node& stanza) {
  const Node* e = stanza.child("error");
  return e ? e->attr("type") : std::string();
}

// --- notifications --------------------------------------------------------------------------

// The <items/> of a PEP notification from `owner` (the bare JID, XEP-0163 §4.3.1) about
// `node`, or null.
inline const Node* event_items(const Node& n, const std::string& owner, const std::string& node) {
  if (n.name != "message" || n.attr("from") != owner) return nullptr;
  const Node* ev = n.child("event", kPubsubEvent);
  const Node* items = ev ? ev->child("items", kPubsubEvent) : nullptr;
  return items && items->attr("node") == node ? items : nullptr;
}

// A notification of item `id` ("" = any item) of `node`.
inline auto item_event(const std::string& owner, const std::string& node,
                       const std::string& id = "") {
  return [owner, node, id](const Node& n) {
    const Node* items = event_items(n, owner, node);
    if (!items) return false;
    for (const Node* i : items->all("item", kPubsubEvent))
      if (id.empty() || i->attr("id") == id) return true;
    return false;
  };
}

// A retraction notification (XEP-0060 §7.2.2.1).
inline auto retract_event(const std::string& owner, const std::string& node,
                          const std::string& id) {
  return [owner, node, id](const Node& n) {
    const Node* items = event_items(n, owner, node);
    if (!items) return false;
    for (const Node* r : items->all("retract", kPubsubEvent))
      if (r->attr("id") == id) return true;
    return false;
  };
}

// <event><purge node/></event> (§8.5.2) or <event><delete node/></event> (§8.4.2).
inline auto node_event(const std::string& owner, const std::string& node, const std::string& kind) {
  return [owner, node, kind](const Node& n) {
    if (n.name != "message" || n.attr("from") != owner) return false;
    const Node* ev = n.child("event", kPubsubEvent);
    const Node* e = ev ? ev->child(kind, kPubsubEvent) : nullptr;
    return e && e->attr("node") == node;
  };
}

// Any notification about `node` (items, retraction, purge, delete).
inline auto any_event(const std::string& owner, const std::string& node) {
  return [owner, node](const Node& n) {
    if (n.name != "message" || n.attr("from") != owner) return false;
    const Node* ev = n.child("event", kPubsubEvent);
    if (!ev) return false;
    for (const Node& e : ev->children)
      if (e.attr("node") == node) return true;
    return false;
  };
}

// How many stanzas `c` received so far (consumed or not) match `pred`.
inline int count_received(const StropheClient& c, const std::function<bool(const Node&)>& pred) {
  return static_cast<int>(std::count_if(c.received().begin(), c.received().end(), pred));
}

// --- entity capabilities (XEP-0115) ---------------------------------------------------------

// What a test client says it is: one identity (client/pc) and its features.
struct ClientCaps {
  std::vector<std::string> features;
  std::string name = "parley-it";

  // XEP-0115 §5.1: identities as category/type/lang/name, then features, each sorted by
  // octets and followed by '<'; SHA-1; base64.
  std::string ver() const {
    std::vector<std::string> f = features;
    std::sort(f.begin(), f.end());
    std::string s = "client/pc//" + name + "<";
    for (const auto& x : f) s += x + "<";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_Digest(s.data(), s.size(), md, &md_len, EVP_sha1(), nullptr);
    std::string b64(4 * ((md_len + 2) / 3) + 1, '\0');
    int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), md, static_cast<int>(md_len));
    b64.resize(static_cast<size_t>(n));
    return b64;
  }

  // The <query/> children of the disco#info answer.
  std::string disco_children() const {
    std::string q = "<identity category='client' type='pc' name='" + xml_escape(name) + "'/>";
    for (const auto& f : features) q += "<feature var='" + xml_escape(f) + "'/>";
    return q;
  }
};

// A client interested in `notify_nodes` (XEP-0060 §9.2: "<node>+notify"). `tag` adds a
// feature of its own, so that the ver is one the server has not seen before.
inline ClientCaps caps_for(const std::vector<std::string>& notify_nodes,
                           const std::string& tag = "") {
  ClientCaps caps;
  caps.features = {kDiscoInfo, kCaps};
  for (const auto& n : notify_nodes) caps.features.push_back(n + "+notify");
  if (!tag.empty()) caps.features.push_back("urn:parley:it:tag:" + tag);
  return caps;
}

// A disco#info request (the server asking a client for its capabilities).
inline auto disco_info_query() {
  return [](const Node& n) {
    return n.name == "iq" && n.attr("type") == "get" && n.child("query", kDiscoInfo);
  };
}

// Makes `c` answer every disco#info request with `caps`, echoing the node asked about (as
// XEP-0030 requires), whenever it arrives.
inline void answer_disco(StropheClient& c, const ClientCaps& caps) {
  c.set_responder([caps](const Node& n) -> std::string {
    if (!disco_info_query()(n)) return "";
    std::string node = n.child("query", kDiscoInfo)->attr("node");
    return "<iq type='result' id='" + xml_escape(n.attr("id")) + "'" + to_attr(n.attr("from")) +
           "><query xmlns='" + kDiscoInfo + "'" +
           (node.empty() ? std::string() : " node='" + xml_escape(node) + "'") + ">" +
           caps.disco_children() + "</query></iq>";
  });
}

// Available presence carrying caps with this ver (XEP-0115 §4).
inline std::string caps_presence(const std::string& ver) {
  return "<presence><c xmlns='" + kCaps + "' hash='sha-1' node='" + kCapsNode + "' ver='" + ver +
         "'/></presence>";
}

// Fetches the roster, makes `c` answer disco#info with `caps` and sends available presence
// advertising them: a resource the owner's PEP service will notify once it knows the caps.
inline bool online_with_caps(StropheClient& c, const ClientCaps& caps) {
  auto r = get_roster(c);
  if (!r || r->attr("type") != "result") return false;
  answer_disco(c, caps);
  c.send(caps_presence(caps.ver()));
  return true;
}

}  // namespace parley::it
