// XEP-0191 Blocking Command: an account blocks JIDs (domains, bare or full JIDs, matched as in
// §6); the server refuses or drops stanzas between the account and what it blocked, pushes
// changes to the account's resources that asked for the list (like roster pushes) and tells
// contacts with a presence subscription that the account went offline (and back on unblock).
#include <atomic>
#include <mutex>
#include <unordered_map>

#include "core/module.h"
#include "im/presence.h"
#include "im/roster_store.h"
#include "modules/blocking/blocklist.h"
#include "modules/blocking/blocklist_store.h"
#include "router/registry.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "storage/database.h"
#include "xml/stanza.h"

namespace parley {
namespace {

constexpr const char* kNs = "urn:xmpp:blocking";
constexpr const char* kErrorsNs = "urn:xmpp:blocking:errors";

using blocking::any_match;
using blocking::List;
using blocking::ListPtr;

// A session that asked for the blocklist gets pushes (§3.3, §3.4).
struct Requested {
  std::atomic<bool> yes{false};
};

// The blocklists of accounts with a session, so filters never touch the database. Lists are
// immutable snapshots: readers copy the pointer under the mutex and match outside it.
class Cache {
 public:
  ListPtr find(const Jid& bare) const {
    std::lock_guard lock(mutex_);
    auto it = lists_.find(bare.str());
    return it == lists_.end() ? nullptr : it->second;
  }
  bool contains(const Jid& bare) const {
    std::lock_guard lock(mutex_);
    return lists_.count(bare.str()) > 0;
  }
  void set(const Jid& bare, List list) {
    auto p = std::make_shared<const List>(std::move(list));
    std::lock_guard lock(mutex_);
    lists_[bare.str()] = std::move(p);
  }
  void erase(const Jid& bare) {
    std::lock_guard lock(mutex_);
    lists_.erase(bare.str());
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, ListPtr> lists_;
};

// Loads the list from storage into the cache, if the account still has a session (a list
// loaded for an account that just went away would never be evicted).
void refresh(Server& server, Cache& cache, storage::Connection& c, const Jid& bare) {
  auto list = blocking::BlocklistStore(c).items(bare);
  if (!server.sessions().resources(bare).empty())
    cache.set(bare, std::move(list));
  else
    cache.erase(bare);
}

xml::Element command(const std::string& name, const std::vector<Jid>& jids) {
  xml::Element e(name, kNs);
  for (const auto& j : jids) e.add("item").set("jid", j.str());
  return e;
}

// §3.3 / §3.4 pushes to every resource that requested the blocklist.
void push(Server& server, const Jid& bare, const xml::Element& payload) {
  static std::atomic<uint64_t> counter{0};
  for (const auto& s : server.sessions().resources(bare)) {
    auto st = s->find_state<Requested>();
    if (!st || !st->yes) continue;
    auto iq = std::make_shared<xml::Element>("iq");
    iq->set("type", "set");
    iq->set("from", bare.str());
    iq->set("to", s->jid().str());
    iq->set("id", "block-push-" + std::to_string(++counter));
    iq->add(payload);
    Router::deliver(s, std::move(iq));
  }
}

// Contacts whose roster subscription lets them see the account's presence (RFC 6121 §3):
// only bare account JIDs can be roster contacts.
std::vector<Jid> presence_subscribers(storage::Connection& c, const Jid& user,
                                      const std::vector<Jid>& jids) {
  std::vector<Jid> out;
  im::RosterStore roster(c);
  for (const auto& j : jids) {
    if (!j.has_local() || j.has_resource()) continue;
    auto item = roster.item(user, j);
    if (item && (item->subscription == im::Subscription::From ||
                 item->subscription == im::Subscription::Both))
      out.push_back(j);
  }
  return out;
}

// The <item jid=.../> children of a block/unblock; false (and an error sent) when malformed.
bool parse_items(const IqRequest& iq, std::vector<Jid>& out) {
  for (const auto* item : iq.payload().children("item")) {
    auto j = Jid::parse(item->get("jid"));
    if (!item->has("jid") || !j) {
      iq.error(stanza::ErrorType::Modify, "jid-malformed");
      return false;
    }
    if (std::find(out.begin(), out.end(), *j) == out.end()) out.push_back(std::move(*j));
  }
  return true;
}

// An error reply with the §3.3 application condition <blocked/>, for the sender's session.
void refuse_outgoing(const StanzaEvent& e) {
  auto reply = std::make_shared<xml::Element>(
      stanza::error_reply(*e.stanza, stanza::ErrorType::Cancel, "not-acceptable"));
  if (auto* err = reply->child("error")) err->add(xml::Element("blocked", kErrorsNs));
  Router::deliver(e.origin, std::move(reply));
}

struct Blocking {
  explicit Blocking(ModuleContext& ctx) : cache_(std::make_shared<Cache>()) {
    auto cache = cache_;

    ctx.iq(kNs, "blocklist", IqType::Get, IqScope::Self, [cache](const IqRequest& iq) {
      if (iq.origin()) iq.origin()->state<Requested>()->yes = true;
      Jid user = iq.to();
      iq.server().db().post(user.str(), [iq, user, cache](storage::Connection& c) {
        try {
          auto list = blocking::BlocklistStore(c).items(user);
          xml::Element reply = command("blocklist", list);
          if (!iq.server().sessions().resources(user).empty()) cache->set(user, std::move(list));
          iq.reply(std::move(reply));
        } catch (const std::exception& e) {
          PLOG(Warn, "blocking") << "load for " << user.str() << " failed: " << e.what();
          iq.error("internal-server-error");
        }
      });
    });

    ctx.iq(kNs, "block", IqType::Set, IqScope::Self, [cache](const IqRequest& iq) {
      std::vector<Jid> jids;
      if (!parse_items(iq, jids)) return;
      if (jids.empty()) return iq.error("bad-request", "block needs at least one item");
      Jid user = iq.to();
      iq.server().db().post(user.str(), [iq, user, jids, cache](storage::Connection& c) {
        Server& server = iq.server();
        std::vector<Jid> notify;
        try {
          blocking::BlocklistStore store(c);
          c.transaction([&] {
            for (const auto& j : jids) store.add(user, j);
          });
          refresh(server, *cache, c, user);
          notify = presence_subscribers(c, user, jids);
        } catch (const std::exception& e) {
          PLOG(Warn, "blocking") << "block for " << user.str() << " failed: " << e.what();
          return iq.error("internal-server-error");
        }
        iq.reply();
        push(server, user, command("block", jids));
        // §3.3: the blocked contact sees the account go offline.
        for (const auto& j : notify) im::send_unavailable(server, user, j);
      });
    });

    ctx.iq(kNs, "unblock", IqType::Set, IqScope::Self, [cache](const IqRequest& iq) {
      std::vector<Jid> jids;
      if (!parse_items(iq, jids)) return;
      Jid user = iq.to();
      iq.server().db().post(user.str(), [iq, user, jids, cache](storage::Connection& c) {
        Server& server = iq.server();
        std::vector<Jid> notify;
        try {
          blocking::BlocklistStore store(c);
          std::vector<Jid> removed;
          c.transaction([&] {
            if (jids.empty()) {  // §3.5: unblock all
              removed = store.items(user);
              store.clear(user);
            } else {
              for (const auto& j : jids)
                if (store.remove(user, j)) removed.push_back(j);
            }
          });
          refresh(server, *cache, c, user);
          notify = presence_subscribers(c, user, removed);
        } catch (const std::exception& e) {
          PLOG(Warn, "blocking") << "unblock for " << user.str() << " failed: " << e.what();
          return iq.error("internal-server-error");
        }
        iq.reply();
        push(server, user, command("unblock", jids));
        // §3.4: the contact gets the account's current presence again (unless still blocked,
        // e.g. by its domain: the presence filter below drops it then).
        for (const auto& j : notify) im::send_current_presence(server, user, j);
      });
    });

    ctx.feature(kNs, FeatureScope::Host);

    // Load the list when an account's first session binds.
    ctx.on<SessionBound>(priority::kNormal, [cache](SessionBound& e) {
      Jid bare = e.session->jid().bare();
      if (cache->contains(bare)) return Flow::Continue;
      Server& server = e.server;
      server.db().post(bare.str(), [&server, cache, bare](storage::Connection& c) {
        try {
          refresh(server, *cache, c, bare);
        } catch (const std::exception& ex) {
          PLOG(Warn, "blocking") << "load for " << bare.str() << " failed: " << ex.what();
        }
      });
      return Flow::Continue;
    });
    ctx.on<SessionClosed>(priority::kNormal, [cache](SessionClosed& e) {
      Jid bare = e.session->jid().bare();
      if (e.server.sessions().resources(bare).empty()) cache->erase(bare);
      return Flow::Continue;
    });
    ctx.on<AccountDeleted>(priority::kNormal, [cache](AccountDeleted& e) {
      Jid bare = e.account.bare();
      cache->erase(bare);
      e.server.db().post(bare.str(), [bare](storage::Connection& c) {
        try {
          blocking::BlocklistStore(c).clear(bare);
        } catch (const std::exception& ex) {
          PLOG(Warn, "blocking") << "delete for " << bare.str() << " failed: " << ex.what();
        }
      });
      return Flow::Continue;
    });

    // Outbound (§3.3): the account sends to a JID it blocked.
    ctx.on<StanzaFromClient>(priority::kFilter, [cache](StanzaFromClient& e) {
      Jid user = e.from.bare();
      if (e.to.empty() || e.to.bare() == user) return Flow::Continue;
      if (!any_match(cache->find(user), e.to)) return Flow::Continue;
      const auto& name = e.stanza->name();
      auto type = e.stanza->get("type");
      if (name == "message" && type != "error" && e.origin)
        refuse_outgoing(e);
      else if (name == "iq" && (type == "get" || type == "set") && e.origin)
        refuse_outgoing(e);
      return Flow::Stop;  // presence, IQ results and errors: dropped
    });

    // Inbound (§3.3): from a JID the recipient blocked.
    auto inbound = [cache](StanzaEvent& e, std::string_view kind) {
      Jid user = e.to.bare();
      Jid sender = e.from.bare();
      if (sender == user) return Flow::Continue;
      auto type = e.stanza->get("type");
      if (any_match(cache->find(user), e.from)) {
        if (kind == "message" && type != "error")
          e.server.router().bounce(*e.stanza, "service-unavailable");
        else if (kind == "iq" && (type == "get" || type == "set"))
          e.server.router().bounce(*e.stanza, "service-unavailable");
        return Flow::Stop;  // presence of every kind, IQ results and errors: dropped
      }
      // Presence the account itself sends (broadcasts, probe answers) does not reach the JIDs
      // it blocked; unavailable does, so that blocking makes the account appear offline.
      if (kind == "presence" && type != "unavailable" && e.server.is_local(e.from.domain()) &&
          any_match(cache->find(sender), e.to))
        return Flow::Stop;
      return Flow::Continue;
    };
    ctx.on<MessageToBare>(priority::kFilter, [inbound](auto& e) { return inbound(e, "message"); });
    ctx.on<MessageToFull>(priority::kFilter, [inbound](auto& e) { return inbound(e, "message"); });
    ctx.on<PresenceToBare>(priority::kFilter,
                           [inbound](auto& e) { return inbound(e, "presence"); });
    ctx.on<PresenceToFull>(priority::kFilter,
                           [inbound](auto& e) { return inbound(e, "presence"); });
    ctx.on<IqToBare>(priority::kFilter, [inbound](auto& e) { return inbound(e, "iq"); });
    ctx.on<IqToFull>(priority::kFilter, [inbound](auto& e) { return inbound(e, "iq"); });
    // Presence broadcasts to remote contacts the account blocked.
    ctx.on<StanzaToRemote>(priority::kFilter, [cache](StanzaToRemote& e) {
      if (e.stanza->name() != "presence" || e.stanza->get("type") == "unavailable")
        return Flow::Continue;
      Jid sender = e.from.bare();
      if (!e.server.is_local(sender.domain()) || !any_match(cache->find(sender), e.to))
        return Flow::Continue;
      return Flow::Stop;
    });
  }

  std::shared_ptr<Cache> cache_;
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Blocking)
