// XEP-0163 Personal Eventing Protocol: every account's bare JID is a publish-subscribe service
// (the XEP-0060 subset PEP needs) on which its clients keep OMEMO keys (XEP-0384), avatars
// (XEP-0084), nicknames (XEP-0172), bookmarks (XEP-0402) and more. Who gets notifications
// follows from presence and entity capabilities (interest.h), not from explicit subscriptions.
//
// All the work for one account runs on its database worker (Database::post keyed by the bare
// JID), so publishing, retrieving and the notifications they cause are in order per account.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "core/module.h"
#include "im/roster_store.h"
#include "interest.h"
#include "modules/disco/events.h"
#include "node_config.h"
#include "protocol.h"
#include "pubsub_store.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "service.h"
#include "storage/database.h"
#include "xep/caps.h"
#include "xep/disco.h"
#include "xep/stanza_id.h"
#include "xep/stored_element.h"

namespace parley::pep {
namespace {

using pubsub::PubsubStore;
using pubsub::StoredItem;
using pubsub::StoredNode;
using stanza::ErrorType;

struct Limits {
  uint64_t max_item_bytes = 128 * 1024;
  int64_t max_items = 256;
  int64_t max_nodes = 256;
};

struct State {
  State(Server& s, Limits l) : server(s), limits(l) {}
  Server& server;
  Limits limits;
  Interest interest;
};
using StatePtr = std::shared_ptr<State>;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What an operation ends with: a result payload (or none), or an error.
struct Outcome {
  std::optional<xml::Element> result;
  Error error;
  ErrorType type = ErrorType::Cancel;
  std::string feature;  // for <unsupported feature=.../>
  std::string text;
  std::string item_id;  // publish: the id the item got
};

Outcome fail(ErrorType type, std::string condition, std::string pubsub_condition = {},
             std::string text = {}) {
  Outcome o;
  o.error = {std::move(condition), std::move(pubsub_condition)};
  o.type = type;
  o.text = std::move(text);
  return o;
}

Outcome done(std::optional<xml::Element> result = std::nullopt) {
  Outcome o;
  o.result = std::move(result);
  return o;
}

// The owner's roster, read once per operation when an access model needs it.
class Contacts {
 public:
  Contacts(storage::Connection& c, Jid owner) : c_(c), owner_(std::move(owner)) {}
  const im::RosterItem* find(const Jid& bare) {
    if (!items_) {
      items_.emplace();
      for (auto& item : im::RosterStore(c_).items(owner_)) {
        std::string key = item.jid.str();
        items_->emplace(std::move(key), std::move(item));
      }
    }
    auto it = items_->find(bare.str());
    return it == items_->end() ? nullptr : &it->second;
  }

 private:
  storage::Connection& c_;
  Jid owner_;
  std::optional<std::map<std::string, im::RosterItem>> items_;
};

bool subscribed(const im::RosterItem* item) {
  return item && (item->subscription == im::Subscription::From ||
                  item->subscription == im::Subscription::Both);
}

// XEP-0060 §4.5 access models, as PEP reads them (XEP-0163 §4.4).
bool allowed(const NodeConfig& config, const Jid& owner, const Jid& who, Contacts& contacts) {
  Jid bare = who.bare();
  if (bare == owner) return true;
  switch (config.access) {
    case AccessModel::Open:
      return true;
    case AccessModel::Presence:
      return subscribed(contacts.find(bare));
    case AccessModel::Roster: {
      const im::RosterItem* item = contacts.find(bare);
      if (!subscribed(item)) return false;
      for (const auto& g : item->groups)
        for (const auto& allowed_group : config.roster_groups)
          if (g == allowed_group) return true;
      return false;
    }
    case AccessModel::Whitelist:
      return false;
  }
  return false;
}

// §6.5.9 / §6.1.3: the error for an entity the access model keeps out.
Outcome denied(const NodeConfig& config) {
  switch (config.access) {
    case AccessModel::Presence:
      return fail(ErrorType::Auth, "not-authorized", "presence-subscription-required");
    case AccessModel::Roster:
      return fail(ErrorType::Auth, "not-authorized", "not-in-roster-group");
    default:
      return fail(ErrorType::Cancel, "not-allowed", "closed-node");
  }
}

Item item_of(const StoredItem& stored) {
  Item item;
  item.id = stored.id;
  item.publisher = stored.publisher;
  if (!stored.payload.empty())
    if (auto e = xep::load_element(stored.payload)) item.payload = std::move(e);
  return item;
}

// Sends `event` about `node` to everyone who should see it now (XEP-0163 §4.3): every available
// resource of the owner, and every tracked resource whose capabilities ask for the node's
// notifications (+notify) and whom the access model allows.
void notify(State& st, Contacts& contacts, const Jid& owner, const std::string& node,
            const NodeConfig& config, const xml::Element& event) {
  if (!config.deliver_notifications) return;
  std::set<std::string> sent;
  auto send = [&](const Jid& to) {
    if (!sent.insert(to.str()).second) return;
    st.server.router().route(notification(owner, to, xml::Element(event)));
  };
  for (const auto& s : st.server.sessions().resources(owner))
    if (s->available) send(s->jid());
  const std::string wanted = node + "+notify";
  for (const auto& r : st.interest.resources(owner)) {
    if (r.jid.bare() == owner || !r.features || !r.features->contains(wanted)) continue;
    if (allowed(config, owner, r.jid, contacts)) send(r.jid);
  }
}

// XEP-0163 §4.3.4 / XEP-0060 §6.1.7: the last item of each node `to` asks for (+notify) and
// may see, when it becomes available or its capabilities become known.
void send_last_items(State& st, storage::Connection& c, const Jid& owner, const Jid& to,
                     const FeatureSet& features) {
  PubsubStore store(c);
  auto last = store.last_items(owner);
  if (last.empty()) return;
  std::map<std::string, NodeConfig> configs;
  for (const auto& n : store.nodes(owner)) configs.emplace(n.node, deserialize(n.config));
  Contacts contacts(c, owner);
  for (const auto& [node, stored] : last) {
    auto it = configs.find(node);
    if (it == configs.end() || !features.contains(node + "+notify")) continue;
    const NodeConfig& config = it->second;
    if (config.send_last != SendLast::OnSubAndPresence || !config.deliver_notifications) continue;
    if (!allowed(config, owner, to, contacts)) continue;
    st.server.router().route(
        notification(owner, to, event_items(node, {item_of(stored)}, config.deliver_payloads)));
  }
}

// ---- the operations, on the owner's database worker ----

Outcome publish(State& st, storage::Connection& c, const Jid& owner, const Jid& publisher,
                const Publish& p, bool by_client) {
  // Serialized once: for the size limit and for the store (also for Service::publish).
  std::string payload = xep::store_element(*p.payload);
  if (payload.size() > st.limits.max_item_bytes)
    return fail(ErrorType::Modify, "not-acceptable", "payload-too-big",
                "at most " + std::to_string(st.limits.max_item_bytes) + " bytes");
  PubsubStore store(c);
  auto node = store.node(owner, p.node);
  NodeConfig config;
  if (!node) {
    if (store.node_count(owner) >= st.limits.max_nodes)
      return fail(ErrorType::Cancel, "not-allowed", "max-nodes-exceeded");
    // §7.1.4 auto-create, with the publish-options as the new node's settings.
    if (p.publish_options)
      if (auto error = apply(*p.publish_options, config, st.limits.max_items))
        return fail(ErrorType::Cancel, "conflict", "precondition-not-met", *error);
  } else {
    config = deserialize(node->config);
    if (p.publish_options)
      if (auto field = unmet_precondition(*p.publish_options, config, st.limits.max_items))
        return fail(ErrorType::Cancel, "conflict", "precondition-not-met",
                    "publish-options do not match the node's configuration: " + *field);
  }
  Item item{p.item_id.empty() ? xep::sid::random_id() : p.item_id, p.payload, publisher.str()};
  int64_t now = now_ms();
  c.transaction([&] {
    if (!node) store.create(owner, StoredNode{p.node, serialize(config), now});
    if (config.persist_items)
      store.publish(owner, p.node, StoredItem{item.id, std::move(payload), item.publisher, now, 0},
                    config.max_items);
  });
  ItemPublished event{st.server, owner, p.node, item, by_client};
  st.server.hooks().fire(event);
  Contacts contacts(c, owner);
  notify(st, contacts, owner, p.node, config, event_items(p.node, {item}, config.deliver_payloads));
  xml::Element result("pubsub", std::string(kPubsubNs));
  auto& published = result.add("publish");
  published.set("node", p.node);
  published.add("item").set("id", item.id);
  Outcome o = done(std::move(result));
  o.item_id = item.id;
  return o;
}

Outcome retrieve(State& st, storage::Connection& c, const Jid& owner, const Jid& requester,
                 const Retrieve& r) {
  PubsubStore store(c);
  auto node = store.node(owner, r.node);
  if (!node) return fail(ErrorType::Cancel, "item-not-found");
  NodeConfig config = deserialize(node->config);
  Contacts contacts(c, owner);
  if (!allowed(config, owner, requester, contacts)) return denied(config);

  std::vector<StoredItem> found;
  std::optional<xep::rsm::Response> page;
  const int64_t all = std::max<int64_t>(st.limits.max_items, config.max_items);
  if (!r.item_ids.empty()) {
    for (const auto& id : r.item_ids)
      if (auto item = store.item(owner, r.node, id)) found.push_back(std::move(*item));
    // §6.5.9: ids the node does not hold give an empty result, not an error.
  } else if (r.rsm) {
    // XEP-0059 over the node's items, newest first.
    const auto& q = *r.rsm;
    if (q.index) return fail(ErrorType::Cancel, "feature-not-implemented", {}, "RSM index");
    int64_t max = std::min(q.max.value_or(all), all);
    if (q.after) {
      auto at = store.item(owner, r.node, *q.after);
      if (!at) return fail(ErrorType::Cancel, "item-not-found", {}, "no item " + *q.after);
      found = store.newest(owner, r.node, max, at->seq);
    } else if (q.before && !q.before->empty()) {
      auto at = store.item(owner, r.node, *q.before);
      if (!at) return fail(ErrorType::Cancel, "item-not-found", {}, "no item " + *q.before);
      found = store.oldest(owner, r.node, max, at->seq);
      std::reverse(found.begin(), found.end());
    } else if (q.before) {
      found = store.oldest(owner, r.node, max);
      std::reverse(found.begin(), found.end());
    } else {
      found = store.newest(owner, r.node, max);
    }
    page.emplace();
    page->count = store.item_count(owner, r.node);
    if (!found.empty()) {
      page->first = found.front().id;
      page->last = found.back().id;
    }
  } else {
    found = store.newest(owner, r.node, std::min(r.max_items.value_or(all), all));
  }

  xml::Element result("pubsub", std::string(kPubsubNs));
  auto& items = result.add("items");
  items.set("node", r.node);
  for (const auto& s : found) items.add(item_element(item_of(s), kPubsubNs, true));
  if (page) result.add(xep::rsm::to_element(*page));
  return done(std::move(result));
}

Outcome retract(State& st, storage::Connection& c, const Jid& owner, const Retract& r,
                bool by_client) {
  PubsubStore store(c);
  auto node = store.node(owner, r.node);
  if (!node) return fail(ErrorType::Cancel, "item-not-found");
  NodeConfig config = deserialize(node->config);
  std::vector<std::string> removed;
  c.transaction([&] {
    for (const auto& id : r.item_ids)
      if (store.retract(owner, r.node, id)) removed.push_back(id);
  });
  if (removed.empty()) return fail(ErrorType::Cancel, "item-not-found");
  for (const auto& id : removed) {
    ItemsRemoved event{st.server, owner, r.node, id, by_client};
    st.server.hooks().fire(event);
  }
  if (config.notify_retract) {
    Contacts contacts(c, owner);
    notify(st, contacts, owner, r.node, config, event_retract(r.node, removed));
  }
  return done();
}

Outcome create(State& st, storage::Connection& c, const Jid& owner, const Create& r) {
  PubsubStore store(c);
  if (store.node(owner, r.node)) return fail(ErrorType::Cancel, "conflict");
  if (store.node_count(owner) >= st.limits.max_nodes)
    return fail(ErrorType::Cancel, "not-allowed", "max-nodes-exceeded");
  NodeConfig config;
  if (r.config)
    if (auto error = apply(*r.config, config, st.limits.max_items))
      return fail(ErrorType::Modify, "not-acceptable", "invalid-options", *error);
  store.create(owner, StoredNode{r.node, serialize(config), now_ms()});
  return done();
}

Outcome configure_get(State& st, storage::Connection& c, const Jid& owner, const ConfigureGet& r) {
  auto node = PubsubStore(c).node(owner, r.node);
  if (!node) return fail(ErrorType::Cancel, "item-not-found");
  xml::Element result("pubsub", std::string(kOwnerNs));
  auto& configure = result.add("configure");
  configure.set("node", r.node);
  configure.add(
      xep::dataforms::to_element(config_form(deserialize(node->config), st.limits.max_items)));
  return done(std::move(result));
}

Outcome configure_set(State& st, storage::Connection& c, const Jid& owner, const ConfigureSet& r) {
  PubsubStore store(c);
  auto node = store.node(owner, r.node);
  if (!node) return fail(ErrorType::Cancel, "item-not-found");
  if (!r.fields) return done();  // §8.2.6: the owner cancelled
  NodeConfig config = deserialize(node->config);
  if (auto error = apply(*r.fields, config, st.limits.max_items))
    return fail(ErrorType::Modify, "not-acceptable", "invalid-options", *error);
  c.transaction([&] {
    store.configure(owner, r.node, serialize(config));
    if (!config.persist_items)
      store.purge(owner, r.node);
    else
      store.trim(owner, r.node, config.max_items);
  });
  return done();
}

Outcome remove_node(State& st, storage::Connection& c, const Jid& owner, const std::string& name,
                    bool purge_only) {
  PubsubStore store(c);
  auto node = store.node(owner, name);
  if (!node) return fail(ErrorType::Cancel, "item-not-found");
  NodeConfig config = deserialize(node->config);
  if (purge_only)
    store.purge(owner, name);
  else
    store.remove_node(owner, name);
  ItemsRemoved event{st.server, owner, name, {}, true};
  st.server.hooks().fire(event);
  Contacts contacts(c, owner);
  // §8.4.2 (delete) and §8.5.2 (purge): subscribers are told when the node says so.
  if (!purge_only && config.notify_delete)
    notify(st, contacts, owner, name, config, event_delete(name));
  if (purge_only && config.notify_retract)
    notify(st, contacts, owner, name, config, event_purge(name));
  return done();
}

xml::Element default_form(const State& st) {
  xml::Element result("pubsub", std::string(kOwnerNs));
  result.add("default").add(xep::dataforms::to_element(config_form({}, st.limits.max_items)));
  return result;
}

bool owner_only(const Request& request) {
  return !std::holds_alternative<Retrieve>(request) &&
         !std::holds_alternative<Unsupported>(request);
}

// One request from a client, on the owner's worker.
Outcome run(State& st, storage::Connection& c, const Jid& owner, const Jid& from,
            Request& request) {
  if (auto* p = std::get_if<Publish>(&request)) return publish(st, c, owner, from, *p, true);
  if (auto* r = std::get_if<Retrieve>(&request)) return retrieve(st, c, owner, from, *r);
  if (auto* r = std::get_if<Retract>(&request)) return retract(st, c, owner, *r, true);
  if (auto* r = std::get_if<Create>(&request)) return create(st, c, owner, *r);
  if (auto* r = std::get_if<ConfigureGet>(&request)) return configure_get(st, c, owner, *r);
  if (auto* r = std::get_if<ConfigureSet>(&request)) return configure_set(st, c, owner, *r);
  if (std::holds_alternative<DefaultGet>(request)) return done(default_form(st));
  if (auto* r = std::get_if<Delete>(&request)) return remove_node(st, c, owner, r->node, false);
  if (auto* r = std::get_if<Purge>(&request)) return remove_node(st, c, owner, r->node, true);
  return fail(ErrorType::Cancel, "feature-not-implemented");
}

void answer(const IqRequest& iq, Outcome o) {
  if (!o.error) return o.result ? iq.reply(std::move(*o.result)) : iq.reply();
  if (o.error.pubsub_condition.empty()) return iq.error(o.type, o.error.condition, o.text);
  iq.error(o.type, o.error.condition, pubsub_error(o.error.pubsub_condition, o.feature), o.text);
}

void handle(const StatePtr& st, const IqRequest& iq) {
  auto parsed = parse(iq.payload(), iq.type() == IqType::Set);
  if (auto* invalid = std::get_if<Invalid>(&parsed)) {
    Outcome o =
        fail(ErrorType::Modify, invalid->condition, invalid->pubsub_condition, invalid->text);
    return answer(iq, std::move(o));
  }
  auto request = std::get<Request>(std::move(parsed));
  if (auto* u = std::get_if<Unsupported>(&request)) {
    Outcome o = fail(ErrorType::Cancel, "feature-not-implemented", "unsupported");
    o.feature = u->feature;
    return answer(iq, std::move(o));
  }
  const Jid& owner = iq.to();
  if (!owner.has_local()) return iq.error("service-unavailable");
  if (owner_only(request) && iq.from().bare() != owner)
    return iq.error(ErrorType::Auth, "forbidden");
  st->server.db().post(
      owner.str(), [st, iq, request = std::move(request)](storage::Connection& c) mutable {
        try {
          answer(iq, run(*st, c, iq.to(), iq.from(), request));
        } catch (const std::exception& e) {
          PLOG(Warn, "pep") << "request for " << iq.to().str() << " failed: " << e.what();
          iq.error("internal-server-error");
        }
      });
}

// ---- presence and capabilities ----

void serve_last_items(const StatePtr& st, const Jid& owner, const Jid& to,
                      std::shared_ptr<const FeatureSet> features) {
  st->server.db().post(owner.str(), [st, owner, to, features](storage::Connection& c) {
    try {
      send_last_items(*st, c, owner, to, *features);
    } catch (const std::exception& e) {
      PLOG(Warn, "pep") << "last items of " << owner.str() << " for " << to.str()
                        << " failed: " << e.what();
    }
  });
}

// Asks `from` what its capabilities mean (XEP-0115 §6.3), once per verification string.
void discover(const StatePtr& st, const std::string& key, const xep::caps::Caps& caps,
              const Jid& owner, const Jid& from) {
  if (!st->interest.want(key, owner, from)) return;
  xml::Element iq("iq", "jabber:client");
  iq.set("type", "get");
  iq.set("from", std::string(owner.domain()));
  iq.set("to", from.str());
  iq.add("query", std::string(xep::disco::kInfoNs)).set("node", caps.node + "#" + caps.ver);
  st->server.send_iq(
      std::move(iq), std::chrono::seconds(30), [st, key, caps, from](const xml::Element* response) {
        std::shared_ptr<FeatureSet> features;
        bool verified = false;
        const xml::Element* query = response && response->get("type") == "result"
                                        ? response->child("query", xep::disco::kInfoNs)
                                        : nullptr;
        if (query) {
          features = std::make_shared<FeatureSet>();
          for (auto& f : xep::caps::features(*query)) features->insert(std::move(f));
          verified = !caps.hash.empty() && xep::caps::verify(caps, *query);
          if (!caps.hash.empty() && !verified) {
            PLOG(Debug, "pep") << "capabilities of " << from.str() << " do not match their ver "
                               << caps.ver;
          }
        }
        for (const auto& [o, to] : st->interest.learned(key, features, verified))
          if (features) serve_last_items(st, o, to, features);
      });
}

Flow on_presence(const StatePtr& st, const StanzaEvent& e) {
  Jid owner = e.to.bare();
  if (!owner.has_local() || !st->server.is_local(owner.domain()) || e.from.is_bare())
    return Flow::Continue;
  std::string_view type = e.stanza->get("type");
  if (type == "unavailable" || type == "error") {
    st->interest.unavailable(owner, e.from);
    st->interest.unavailable_offline(owner, e.from);
    return Flow::Continue;
  }
  if (!type.empty()) return Flow::Continue;  // subscriptions, probes
  auto caps = xep::caps::parse(*e.stanza);
  std::string key;
  if (caps)
    key = caps->hash.empty() ? "legacy " + e.from.str() + " " + caps->node + "#" + caps->ver
                             : caps->hash + " " + caps->ver;
  // An owner without sessions publishes nothing, so its contacts are not tracked; they still
  // get the last items when they come online (the account is the service, not a session).
  bool tracked = !st->server.sessions().resources(owner).empty();
  bool fresh = tracked ? st->interest.available(owner, e.from, key)
                       : st->interest.available_offline(owner, e.from, key);
  if (!fresh || key.empty()) return Flow::Continue;
  auto features = tracked ? st->interest.features_of(owner, e.from) : st->interest.known(key);
  if (features)
    serve_last_items(st, owner, e.from, std::move(features));
  else
    discover(st, key, *caps, owner, e.from);
  return Flow::Continue;
}

// ---- the service for other modules ----

class PepService final : public Service {
 public:
  explicit PepService(StatePtr st) : st_(std::move(st)) {}

  void publish(const Jid& owner, const std::string& node, std::string id,
               std::shared_ptr<const xml::Element> payload, Options publish_options,
               std::function<void(Error, std::string)> done_fn) override {
    Publish p{node, std::move(id), std::move(payload), std::move(publish_options)};
    if (p.publish_options && p.publish_options->empty()) p.publish_options.reset();
    auto st = st_;
    st->server.db().post(owner.str(), [st, owner, p = std::move(p),
                                       done_fn = std::move(done_fn)](storage::Connection& c) {
      // The caller's callback runs outside the try: if it throws, it must not run twice.
      Outcome o;
      try {
        o = pep::publish(*st, c, owner, owner, p, false);
      } catch (const std::exception& e) {
        PLOG(Warn, "pep") << "publish on " << owner.str() << " failed: " << e.what();
        o = fail(ErrorType::Cancel, "internal-server-error");
      }
      done_fn(o.error, o.item_id);
    });
  }

  void retract(const Jid& owner, const std::string& node, const std::string& id,
               std::function<void(Error)> done_fn) override {
    auto st = st_;
    st->server.db().post(owner.str(), [st, owner, r = Retract{node, {id}},
                                       done_fn = std::move(done_fn)](storage::Connection& c) {
      Outcome o;
      try {
        o = pep::retract(*st, c, owner, r, false);
      } catch (const std::exception& e) {
        PLOG(Warn, "pep") << "retract on " << owner.str() << " failed: " << e.what();
        o = fail(ErrorType::Cancel, "internal-server-error");
      }
      done_fn(o.error);
    });
  }

  void items(const Jid& owner, const std::string& node,
             std::function<void(Error, std::vector<Item>)> done_fn) override {
    auto st = st_;
    st->server.db().post(
        owner.str(), [st, owner, node, done_fn = std::move(done_fn)](storage::Connection& c) {
          Error error;
          std::vector<Item> out;
          try {
            PubsubStore store(c);
            if (store.node(owner, node)) {
              for (const auto& s : store.newest(owner, node, INT64_MAX)) out.push_back(item_of(s));
            } else {
              error = Error{"item-not-found", {}};
            }
          } catch (const std::exception& e) {
            PLOG(Warn, "pep") << "items of " << owner.str() << " failed: " << e.what();
            error = Error{"internal-server-error", {}};
            out.clear();
          }
          done_fn(error, std::move(out));
        });
  }

 private:
  StatePtr st_;
};

// ---- the module ----

constexpr const char* kFeatures[] = {
    "access-open",
    "access-presence",
    "access-roster",
    "access-whitelist",
    "auto-create",
    "auto-subscribe",
    "config-node",
    "create-nodes",
    "delete-items",
    "delete-nodes",
    "filtered-notifications",
    "item-ids",
    "last-published",
    "persistent-items",
    "presence-notifications",
    "publish",
    "publish-options",
    "purge-nodes",
    "retract-items",
    "retrieve-default",
    "retrieve-items",
};

struct Pep {
  struct Config {
    Limits limits;
    static Config parse(const ConfigSection& s) {
      Config c;
      c.limits.max_item_bytes = s.bytes("max_item_bytes", c.limits.max_item_bytes);
      c.limits.max_items = s.integer("max_items", c.limits.max_items, 1, 1'000'000);
      c.limits.max_nodes = s.integer("max_nodes", c.limits.max_nodes, 1, 1'000'000);
      if (c.limits.max_item_bytes == 0)
        throw ConfigError(s.path() + ".max_item_bytes: must be positive");
      return c;
    }
  };

  Pep(ModuleContext& ctx, const Config& config)
      : st_(std::make_shared<State>(ctx.server(), config.limits)) {
    auto st = st_;
    // XEP-0163 §6.1: the account is a PEP service.
    ctx.identity({"pubsub", "pep", ""}, FeatureScope::Account);
    for (const char* f : kFeatures)
      ctx.feature(std::string(kPubsubNs) + "#" + f, FeatureScope::Account);
    auto handler = [st](const IqRequest& iq) { handle(st, iq); };
    for (auto type : {IqType::Get, IqType::Set}) {
      ctx.iq(std::string(kPubsubNs), "pubsub", type, IqScope::Account, handler);
      ctx.iq(std::string(kOwnerNs), "pubsub", type, IqScope::Account, handler);
    }
    ctx.on<PresenceToBare>(priority::kNormal,
                           [st](PresenceToBare& e) { return on_presence(st, e); });
    ctx.on<PresenceToFull>(priority::kNormal,
                           [st](PresenceToFull& e) { return on_presence(st, e); });
    ctx.on<SessionClosed>(priority::kNormal, [st](SessionClosed& e) {
      Jid owner = e.session->jid().bare();
      st->interest.unavailable(owner, e.session->jid());
      if (st->server.sessions().resources(owner).empty()) st->interest.forget(owner);
      return Flow::Continue;
    });
    // XEP-0060 §5.2: the owner lists its nodes; others see nothing here (disco §10).
    ctx.on<disco::AccountItems>(priority::kNormal, [st](disco::AccountItems& e) {
      const IqRequest& iq = e.iq;
      if (iq.from().bare() != iq.to() || iq.payload().has("node")) return Flow::Continue;
      st->server.db().post(iq.to().str(), [iq](storage::Connection& c) {
        try {
          xep::disco::Items items;
          for (const auto& n : PubsubStore(c).nodes(iq.to()))
            items.items.push_back({iq.to().str(), n.node, {}});
          iq.reply(xep::disco::to_element(items));
        } catch (const std::exception& ex) {
          PLOG(Warn, "pep") << "nodes of " << iq.to().str() << " failed: " << ex.what();
          iq.error("internal-server-error");
        }
      });
      return Flow::Stop;
    });
    ctx.on<AccountDeleted>(priority::kNormal, [st](AccountDeleted& e) {
      Jid account = e.account;
      st->server.db().post(account.str(), [account](storage::Connection& c) {
        try {
          PubsubStore(c).remove_service(account);
        } catch (const std::exception& ex) {
          PLOG(Warn, "pep") << "removing the nodes of " << account.str()
                            << " failed: " << ex.what();
        }
      });
      return Flow::Continue;
    });
    ctx.provide<Service>(std::make_shared<PepService>(st));
  }

  StatePtr st_;
};

}  // namespace
}  // namespace parley::pep

PARLEY_MODULE(parley::pep::Pep)
