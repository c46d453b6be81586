// XEP-0402 PEP Native Bookmarks, §5.3 Compatibility: the XEP-0048 bookmarks that older clients
// keep in XEP-0049 private storage (<storage xmlns='storage:bookmarks'/>) are a view of the
// account's PEP node urn:xmpp:bookmarks:1, kept by the pep module (modules/pep/service.h). A
// private-storage get answers with the PEP items converted; a set publishes what is new or
// changed and retracts what is gone, so PEP clients get the notifications. Other private
// storage requests go on to the private module.
#include <map>
#include <optional>
#include <set>

#include "core/module.h"
#include "modules/pep/service.h"
#include "router/stanza_events.h"
#include "storage/account_store.h"
#include "xep/stored_element.h"

namespace parley {
namespace {

constexpr std::string_view kPrivateNs = "jabber:iq:private";
constexpr std::string_view kLegacyNs = "storage:bookmarks";  // XEP-0048
constexpr std::string_view kNode = "urn:xmpp:bookmarks:1";   // the node and the payload's ns
constexpr std::string_view kCompatFeature = "urn:xmpp:bookmarks:1#compat";
// This module's user-data store: the XEP-0048 <url/> bookmarks, which XEP-0402 has no place
// for, and the mark that the private module's bookmarks were moved to PEP.
constexpr std::string_view kStore = "bookmarks";
constexpr std::string_view kUrlsKey = "urls";
constexpr std::string_view kMigratedKey = "migrated";
// Where the private module keeps a <storage xmlns='storage:bookmarks'/> (its "name ns" key).
constexpr std::string_view kPrivateStore = "private";
constexpr std::string_view kPrivateKey = "storage storage:bookmarks";

// The private-storage IQ comes to the account's bare JID; above the core's IQ dispatch (which
// would hand it to the private module) and below filters.
constexpr int kPriority = priority::kNormal;

// XEP-0402 §5: the node must not leak bookmarks to contacts, keeps every item and sends none
// on presence.
pep::Options publish_options() {
  return {{"pubsub#persist_items", {"true"}},
          {"pubsub#max_items", {"max"}},
          {"pubsub#send_last_published_item", {"never"}},
          {"pubsub#access_model", {"whitelist"}}};
}

bool xs_true(std::string_view v) {  // xs:boolean
  return v == "true" || v == "1";
}

// One bookmarked room, as both formats have it.
struct Bookmark {
  std::string jid;  // the room's JID, normalized: the PEP item id
  std::optional<std::string> name;
  bool autojoin = false;
  std::optional<std::string> nick, password;
  std::optional<xml::Element> extensions;  // XEP-0402 <extensions/>, kept as it is

  bool same_as(const Bookmark& o) const {
    auto ext = [](const std::optional<xml::Element>& e) { return e ? e->str() : std::string(); };
    return jid == o.jid && name == o.name && autojoin == o.autojoin && nick == o.nick &&
           password == o.password && ext(extensions) == ext(o.extensions);
  }
};

std::optional<std::string> optional_text(const xml::Element& e, std::string_view name,
                                         std::string_view ns) {
  if (const auto* c = e.child(name, ns)) return c->text();
  return std::nullopt;
}

std::optional<std::string> room_jid(std::string_view text) {
  auto jid = Jid::parse(text);
  if (!jid || !jid->is_bare()) return std::nullopt;
  return jid->str();
}

// A XEP-0048 <conference/>; nullopt when it names no room. Children in other namespaces (a
// client's own additions) become XEP-0402 extensions.
std::optional<Bookmark> from_legacy(const xml::Element& c) {
  auto jid = room_jid(c.get("jid"));
  if (!jid) return std::nullopt;
  Bookmark b;
  b.jid = *jid;
  if (const auto* name = c.attr("name")) b.name = *name;
  b.autojoin = xs_true(c.get("autojoin"));
  b.nick = optional_text(c, "nick", kLegacyNs);
  b.password = optional_text(c, "password", kLegacyNs);
  for (const auto* child : c.children())
    if (child->xmlns() != kLegacyNs) {
      if (!b.extensions) b.extensions.emplace("extensions", std::string(kNode));
      b.extensions->add(*child);
    }
  return b;
}

// A PEP item of the node; nullopt when it is not a bookmark (an id that is no room JID, another
// payload).
std::optional<Bookmark> from_item(const pep::Item& item) {
  auto jid = room_jid(item.id);
  if (!jid || !item.payload) return std::nullopt;
  const xml::Element& c = *item.payload;
  if (c.name() != "conference" || c.xmlns() != kNode) return std::nullopt;
  Bookmark b;
  b.jid = *jid;
  if (const auto* name = c.attr("name")) b.name = *name;
  b.autojoin = xs_true(c.get("autojoin"));
  b.nick = optional_text(c, "nick", kNode);
  b.password = optional_text(c, "password", kNode);
  if (const auto* ext = c.child("extensions", kNode)) b.extensions = *ext;
  return b;
}

xml::Element conference(const Bookmark& b, std::string_view ns, bool with_jid) {
  xml::Element c("conference", std::string(ns));
  if (with_jid) c.set("jid", b.jid);
  if (b.name) c.set("name", *b.name);
  c.set("autojoin", b.autojoin ? "true" : "false");
  if (b.nick) c.text_child("nick", *b.nick);
  if (b.password) c.text_child("password", *b.password);
  return c;
}

xml::Element to_item_payload(const Bookmark& b) {
  auto c = conference(b, kNode, false);
  if (b.extensions) c.add(*b.extensions);
  return c;
}

// XEP-0048's view has no extensions: they stay in PEP (from_legacy keeps them on a set).
xml::Element to_legacy(const Bookmark& b) {
  return conference(b, kLegacyNs, true);
}

// A <storage xmlns='storage:bookmarks'/> split into rooms (later duplicates win) and the rest
// (<url/> bookmarks), which is kept in this module's store.
struct Legacy {
  std::vector<Bookmark> rooms;
  std::vector<xml::Element> urls;
};

Legacy parse_legacy(const xml::Element& storage) {
  Legacy out;
  std::map<std::string, size_t> at;
  for (const auto* c : storage.children()) {
    if (c->xmlns() != kLegacyNs) continue;
    if (c->name() == "url") {
      out.urls.push_back(*c);
    } else if (c->name() == "conference") {
      auto b = from_legacy(*c);
      if (!b) continue;  // no room JID: nothing XEP-0402 can keep
      if (auto it = at.find(b->jid); it != at.end()) {
        out.rooms[it->second] = std::move(*b);
      } else {
        at[b->jid] = out.rooms.size();
        out.rooms.push_back(std::move(*b));
      }
    }
  }
  return out;
}

std::string stored_urls(const std::vector<xml::Element>& urls) {
  xml::Element storage("storage", std::string(kLegacyNs));
  for (const auto& u : urls) storage.add(u);
  return xep::store_element(storage);
}

// Runs asynchronous steps one after the other; the first error ends the run.
using Done = std::function<void(pep::Error)>;
using Step = std::function<void(Done next)>;

void run_steps(std::shared_ptr<std::vector<Step>> steps, size_t i, Done done) {
  if (i == steps->size()) return done({});
  auto& step = (*steps)[i];
  step([steps = std::move(steps), i, done = std::move(done)](pep::Error e) mutable {
    if (e) return done(std::move(e));
    run_steps(std::move(steps), i + 1, std::move(done));
  });
}

// Publishes `b` as item `id` (its room JID, or the id of the item it replaces).
Step publish_step(std::shared_ptr<pep::Service> pep, Jid account, std::string id, Bookmark b) {
  return [pep = std::move(pep), account = std::move(account), id = std::move(id),
          b = std::move(b)](Done next) {
    auto payload = std::make_shared<const xml::Element>(to_item_payload(b));
    pep->publish(account, std::string(kNode), id, std::move(payload), publish_options(),
                 [next = std::move(next)](pep::Error e, std::string) { next(std::move(e)); });
  };
}

Step retract_step(std::shared_ptr<pep::Service> pep, Jid account, std::string id) {
  return [pep = std::move(pep), account = std::move(account), id = std::move(id)](Done next) {
    pep->retract(account, std::string(kNode), id, std::move(next));
  };
}

struct State {
  Server& server;
  std::shared_ptr<pep::Service> pep;
};
using StatePtr = std::shared_ptr<State>;
using Items = std::vector<pep::Item>;
using ItemsDone = std::function<void(pep::Error, Items)>;

// The account's bookmark items. When the node does not exist yet and the account still has
// XEP-0048 bookmarks in the private module's storage from before this module was loaded, they
// are published first (once: a mark in this module's store says it was done, so a node a
// client deleted later is not brought back).
void load(const StatePtr& st, const Jid& account, ItemsDone done) {
  st->pep->items(account, std::string(kNode), [st, account, done](pep::Error e, Items items) {
    if (!e) return done({}, std::move(items));
    if (e.condition != "item-not-found") return done(std::move(e), {});
    st->server.db().post(account.str(), [st, account, done](storage::Connection& c) {
      Legacy legacy;
      try {
        storage::UserDataStore store(c);
        if (store.get(account, kStore, kMigratedKey)) return done({}, {});
        if (auto text = store.get(account, kPrivateStore, kPrivateKey))
          if (auto storage = xep::load_element(*text)) legacy = parse_legacy(*storage);
        if (!legacy.urls.empty()) store.set(account, kStore, kUrlsKey, stored_urls(legacy.urls));
        if (legacy.rooms.empty()) {
          store.set(account, kStore, kMigratedKey, "1");
          return done({}, {});
        }
      } catch (const std::exception& ex) {
        PLOG(Warn, "bookmarks") << "reading the private bookmarks of " << account.str()
                                << " failed: " << ex.what();
        return done({"internal-server-error", ""}, {});
      }
      PLOG(Info, "bookmarks") << "moving " << legacy.rooms.size()
                              << " private-storage bookmarks of " << account.str() << " to PEP";
      auto steps = std::make_shared<std::vector<Step>>();
      for (auto& b : legacy.rooms) {
        std::string id = b.jid;
        steps->push_back(publish_step(st->pep, account, std::move(id), std::move(b)));
      }
      run_steps(steps, 0, [st, account, done](pep::Error e) {
        if (e) return done(std::move(e), {});
        st->server.db().post(account.str(), [st, account, done](storage::Connection& c) {
          try {
            storage::UserDataStore(c).set(account, kStore, kMigratedKey, "1");
          } catch (const std::exception& ex) {
            PLOG(Warn, "bookmarks")
                << "marking " << account.str() << " migrated failed: " << ex.what();
          }
          st->pep->items(account, std::string(kNode), done);
        });
      });
    });
  });
}

// A failure of the pep module, passed on with its conditions (XEP-0060's pubsub#errors one
// too: a node configured otherwise is <conflict/><precondition-not-met/>).
void answer_error(const IqRequest& iq, const pep::Error& e) {
  auto type = stanza::default_type(e.condition);
  if (e.pubsub_condition.empty()) return iq.error(type, e.condition);
  iq.error(type, e.condition, xml::Element(e.pubsub_condition, std::string(pep::kErrorsNs)));
}

// XEP-0049 get of <storage xmlns='storage:bookmarks'/>: the PEP items as XEP-0048 conferences
// (oldest first; items that are no bookmark are left out), then the kept <url/> bookmarks.
void get(const StatePtr& st, const IqRequest& iq, InFlight in_flight) {
  load(st, iq.to(), [st, iq, in_flight](pep::Error e, Items items) {
    if (e) return answer_error(iq, e);
    xml::Element storage("storage", std::string(kLegacyNs));
    for (auto it = items.rbegin(); it != items.rend(); ++it)
      if (auto b = from_item(*it)) storage.add(to_legacy(*b));
    st->server.db().post(iq.to().str(), [iq, in_flight, storage = std::move(storage)](
                                            storage::Connection& c) mutable {
      try {
        if (auto text = storage::UserDataStore(c).get(iq.to(), kStore, kUrlsKey))
          if (auto urls = xep::load_element(*text))
            for (const auto* u : urls->children("url", kLegacyNs)) storage.add(*u);
      } catch (const std::exception& ex) {
        PLOG(Warn, "bookmarks") << "reading the url bookmarks of " << iq.to().str()
                                << " failed: " << ex.what();
        return iq.error("internal-server-error");
      }
      xml::Element query("query", std::string(kPrivateNs));
      query.add(std::move(storage));
      iq.reply(std::move(query));
    });
  });
}

// XEP-0049 set: the new list replaces the PEP items. Only new or changed rooms are published
// and only removed ones retracted (XEP-0402 §5.3.2: no notifications for unchanged items);
// a room keeps the extensions PEP clients gave it, which XEP-0048 clients cannot see.
void set(const StatePtr& st, const IqRequest& iq, InFlight in_flight, Legacy legacy) {
  load(st, iq.to(),
       [st, iq, in_flight, legacy = std::move(legacy)](pep::Error e, Items items) mutable {
         if (e) return answer_error(iq, e);
         // By room JID: the item's id as published (a client may not have normalized it) and the
         // bookmark. Items that are no bookmark are left alone.
         std::map<std::string, std::pair<std::string, Bookmark>> current;
         for (const auto& item : items)
           if (auto b = from_item(item)) {
             std::string jid = b->jid;  // not b->jid itself: the pair may be built from *b first
             current.emplace(std::move(jid), std::pair(item.id, std::move(*b)));
           }
         auto steps = std::make_shared<std::vector<Step>>();
         std::set<std::string> kept;
         for (auto& b : legacy.rooms) {
           kept.insert(b.jid);
           std::string id = b.jid;
           if (auto it = current.find(b.jid); it != current.end()) {
             const auto& [item_id, now] = it->second;
             if (!b.extensions) b.extensions = now.extensions;
             if (b.same_as(now)) continue;
             id = item_id;
           }
           steps->push_back(publish_step(st->pep, iq.to(), std::move(id), std::move(b)));
         }
         for (const auto& item : items)
           if (auto b = from_item(item); b && !kept.count(b->jid))
             steps->push_back(retract_step(st->pep, iq.to(), item.id));
         run_steps(steps, 0, [st, iq, in_flight, urls = std::move(legacy.urls)](pep::Error e) {
           if (e) {
             PLOG(Info, "bookmarks")
                 << "private-storage bookmarks of " << iq.to().str()
                 << " not all stored in PEP: " << e.condition << " " << e.pubsub_condition;
             return answer_error(iq, e);
           }
           st->server.db().post(iq.to().str(), [iq, in_flight, urls](storage::Connection& c) {
             try {
               storage::UserDataStore store(c);
               if (urls.empty())
                 store.remove(iq.to(), kStore, kUrlsKey);
               else
                 store.set(iq.to(), kStore, kUrlsKey, stored_urls(urls));
             } catch (const std::exception& ex) {
               PLOG(Warn, "bookmarks")
                   << "storing the url bookmarks of " << iq.to().str() << " failed: " << ex.what();
               return iq.error("internal-server-error");
             }
             iq.reply();
           });
         });
       });
}

// The <storage xmlns='storage:bookmarks'/> of a private-storage get or set, or null when the
// IQ is anything else (the private module's).
const xml::Element* legacy_request(const xml::Element& iq) {
  auto type = iq.get("type");
  if (type != "get" && type != "set") return nullptr;
  const xml::Element* query = iq.first_child();
  if (!query || query->name() != "query" || query->xmlns() != kPrivateNs) return nullptr;
  auto children = query->children();
  if (children.size() != 1) return nullptr;
  const xml::Element* storage = children.front();
  if (storage->name() != "storage" || storage->xmlns() != kLegacyNs) return nullptr;
  return storage;
}

struct Bookmarks {
  static std::vector<std::string> depends() { return {"pep"}; }

  explicit Bookmarks(ModuleContext& ctx) {
    auto st = std::make_shared<State>(State{ctx.server(), ctx.service<pep::Service>()});
    ctx.feature(std::string(kCompatFeature), FeatureScope::Account);

    ctx.on<IqToBare>(kPriority, [st](IqToBare& e) {
      // Someone else's private storage: the private module answers forbidden.
      if (e.from.bare() != e.to) return Flow::Continue;
      const xml::Element* storage = legacy_request(*e.stanza);
      if (!storage) return Flow::Continue;
      IqRequest iq(e.server, e.stanza, e.from, e.to, e.origin);
      if (iq.type() == IqType::Get)
        get(st, iq, e.in_flight);
      else
        set(st, iq, e.in_flight, parse_legacy(*storage));
      return Flow::Stop;
    });

    // Bookmarks kept in private storage before this module was loaded appear in PEP when the
    // account next logs in, for clients that only use XEP-0402.
    ctx.on<SessionBound>(priority::kNormal, [st](SessionBound& e) {
      if (e.session) load(st, e.session->jid().bare(), [](pep::Error, Items) {});
      return Flow::Continue;
    });
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Bookmarks)
