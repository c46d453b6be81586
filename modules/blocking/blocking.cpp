// XEP-0191 Blocking Command: an account blocks JIDs (domains, bare or full JIDs, matched as in
// §6). The server refuses what the account sends to them and drops or refuses what they send
// to it, each stanza kind as §3.3 says; pushes changes to the account's resources that asked
// for the list (§3.3, §3.4, like roster pushes); and sends unavailable to what may see the
// account's presence when it is blocked, the current presence when it is unblocked.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

#include "core/module.h"
#include "im/presence.h"
#include "im/roster_store.h"
#include "im/subscription.h"
#include "modules/blocking/blocklist.h"
#include "modules/blocking/blocklist_cache.h"
#include "modules/blocking/blocklist_store.h"
#include "router/continuation.h"
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

using blocking::Cache;

// Loads the account's list from storage and hands it to the cache (held while the account has
// a session). On the account's database worker.
ListPtr refresh(Server& server, Cache& cache, storage::Connection& c, const Jid& bare) {
  auto list = std::make_shared<const List>(blocking::BlocklistStore(c).items(bare));
  cache.store(bare.str(), list, !server.sessions().resources(bare).empty());
  return list;
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
    // In jabber:client: an element without a namespace would be written with xmlns='' and
    // no client would take it for an IQ.
    auto iq = std::make_shared<xml::Element>("iq", std::string(stanza::kClientNs));
    iq->set("type", "set");
    iq->set("from", bare.str());
    iq->set("to", s->jid().str());
    iq->set("id", "block-push-" + std::to_string(++counter));
    iq->add(payload);
    Router::deliver(s, std::move(iq));
  }
}

// Where the account's presence goes that `items` now block or unblock, among the contacts
// allowed to receive it (RFC 6121 §4.2.2: subscription 'from' or 'both'): the contact itself
// when an item matches it (bare JID, domain), or the one resource a full-JID item names.
// Contacts that `still_blocked` matches are left out.
std::vector<Jid> presence_targets(storage::Connection& c, const Jid& user, const List& items,
                                  const List& still_blocked = {}) {
  std::vector<Jid> out;
  if (items.empty()) return out;
  for (const auto& contact : im::RosterStore(c).items(user)) {
    if (!im::has_from(contact.subscription)) continue;
    for (const auto& item : items) {
      Jid target = item;
      if (blocking::matches(item, contact.jid))
        target = contact.jid;
      else if (!item.has_resource() || item.bare() != contact.jid)
        continue;
      if (!any_match(still_blocked, target) &&
          std::find(out.begin(), out.end(), target) == out.end())
        out.push_back(std::move(target));
    }
  }
  return out;
}

// Subscription requests from what was just blocked are dropped: the account could not answer
// them any more (its presence to a blocked JID is refused) and they would be shown at every
// login, since stored requests are delivered without routing.
void drop_requests(storage::Connection& c, const Jid& user, const List& blocked) {
  im::RosterStore roster(c);
  for (const auto& request : roster.requests(user))
    if (any_match(blocked, request.from)) roster.remove_request(user, request.from);
}

// Directed presence (RFC 6121 §4.6) the account's sessions sent to what was just blocked: it
// counts as "allowed to receive presence" too, so those JIDs get unavailable now (and are
// forgotten, so the session's end sends them nothing more).
void end_directed_presence(Server& server, const Jid& user, const List& blocked) {
  for (const auto& session : server.sessions().resources(user)) {
    for (const auto& to : session->take_directed()) {
      if (!any_match(blocked, to)) {
        session->add_directed(to);
        continue;
      }
      auto p = std::make_shared<xml::Element>("presence", std::string(stanza::kClientNs));
      p->set("from", session->jid().str()).set("to", to.str()).set("type", "unavailable");
      server.router().route(std::move(p));
    }
  }
}

// The <item jid=.../> children of a block/unblock; false (and an error sent) when malformed.
bool parse_items(const IqRequest& iq, List& out) {
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

// What happens to a stanza between an account and a JID it blocked (§3.3).
enum class Verdict { Pass, Drop, Refuse, Bounce };

// The not-acceptable answer refuse_outgoing() sends: it comes "from" the blocked JID.
bool is_refusal(const xml::Element& s) {
  const auto* error = s.child("error");
  return stanza::is_error(s) && error && error->child("blocked", kErrorsNs);
}

// Outbound: the account sends to a JID it blocked. §3.3: not routed, answered not-acceptable
// with <blocked/>; presence too (what a client sends with a 'to': directed presence and
// subscription requests). Errors and IQ results are never answered (RFC 6120 §8.3.1).
Verdict outbound(const xml::Element& s) {
  auto type = s.get("type");
  if (type == "error" || (s.name() == "iq" && type == "result")) return Verdict::Drop;
  return Verdict::Refuse;
}

// Inbound: a blocked JID sends to the account. §3.3: presence of every kind is dropped without
// an answer; messages get service-unavailable (errors are never answered); IQ get/set get
// service-unavailable, other IQs are dropped. The account appears offline to the blocked JID.
Verdict inbound(const xml::Element& s) {
  auto type = s.get("type");
  if (s.name() == "message" && type != "error") return Verdict::Bounce;
  if (s.name() == "iq" && (type == "get" || type == "set")) return Verdict::Bounce;
  return Verdict::Drop;
}

// Presence the server sends on behalf of an account (broadcasts, probes, probe answers) never
// reaches a JID the account blocked, except what takes presence away: unavailable (§3.3: the
// blocked JID sees the account go offline) and the unsubscribe / unsubscribed that removing a
// contact from the roster sends (RFC 6121 §2.5.2).
bool withheld_from_blocked(const xml::Element& presence) {
  auto type = presence.get("type");
  return type != "unavailable" && type != "unsubscribe" && type != "unsubscribed";
}

// The user's own server (its domain, RFC 6120 §10.3) is not a contact: pings, pushes and
// server announcements reach the account whatever its list says.
bool own_server(const Jid& user, const Jid& j) {
  return !j.has_local() && j.domain() == user.domain();
}

// The filters' decision for an inbound stanza to `e.to`'s account, given that account's list.
Verdict inbound_verdict(const Cache& cache, const StanzaEvent& e, const ListPtr& list) {
  if (any_match(list, e.from)) return inbound(*e.stanza);
  if (e.stanza->name() == "presence" && withheld_from_blocked(*e.stanza) &&
      e.server.is_local(e.from.domain()) && any_match(cache.find(e.from.bare().str()), e.to))
    return Verdict::Drop;
  return Verdict::Pass;
}

void apply(const StanzaEvent& e, Verdict v) {
  if (v == Verdict::Refuse && e.origin) refuse_outgoing(e);
  if (v == Verdict::Bounce) e.server.router().bounce(*e.stanza, "service-unavailable");
}

// Loads `account`'s list on its worker for a deferred stanza; null (and logged) on failure.
ListPtr load_for_decision(storage::Connection& c, const Jid& account) {
  try {
    return std::make_shared<const List>(blocking::BlocklistStore(c).items(account));
  } catch (const std::exception& ex) {
    PLOG(Warn, "blocking") << "loading the blocklist of " << account.str()
                           << " failed: " << ex.what();
    return nullptr;
  }
}

// Decides a stanza whose list is not held on `account`'s database worker, after what is queued
// there (the load at login, a block command), with `decide(event, list)`: it goes on past the
// filter if it passes (DESIGN §4). Its in-flight token waits in `waiting`, so XEP-0198 counts
// it handled only after that. A list that cannot be loaded fails the stanza, as a handler that
// threw would.
template <class Decide>
void decide_on_worker(const std::shared_ptr<Cache>& cache, const Continuation& waiting,
                      const Jid& account, Decide decide) {
  waiting.event().server.db().post(
      account.str(), [cache, waiting, account, decide](storage::Connection& c) {
        const StanzaEvent& e = waiting.event();
        ListPtr list = load_for_decision(c, account);
        if (!list) {
          waiting.fail();
        } else if (Verdict v = decide(e, list); v != Verdict::Pass) {
          apply(e, v);
        } else {
          waiting.resume();
        }
        cache->settle(account.str(), list, !e.server.sessions().resources(account).empty());
      });
}

// Stanzas that change nothing for an account without sessions need no decision when its list
// is not held: presence updates and errors, IQ responses, error messages are dropped anyway.
bool inert_when_offline(const xml::Element& s) {
  auto type = s.get("type");
  if (s.name() == "presence") return type.empty() || type == "unavailable" || type == "error";
  if (s.name() == "iq") return type == "result" || type == "error";
  return type == "error";
}

struct Blocking {
  struct Config {
    // Items one account may block: every list an online account has is held in memory and
    // matched against each of its stanzas.
    int64_t max_items = 1000;
    static Config parse(const ConfigSection& s) {
      Config c;
      c.max_items = s.integer("max_items", c.max_items, 1, 1000000);
      return c;
    }
  };

  Blocking(ModuleContext& ctx, const Config& config) : cache_(std::make_shared<Cache>()) {
    auto cache = cache_;
    const auto max_items = static_cast<size_t>(config.max_items);

    auto get_list = [cache](const IqRequest& iq) {
      if (iq.origin()) iq.origin()->state<Requested>()->yes = true;
      Jid user = iq.to();
      iq.server().db().post(user.str(), [iq, user, cache](storage::Connection& c) {
        try {
          ListPtr list = refresh(iq.server(), *cache, c, user);
          iq.reply(command("blocklist", *list));
        } catch (const std::exception& e) {
          PLOG(Warn, "blocking") << "load for " << user.str() << " failed: " << e.what();
          iq.error("internal-server-error");
        }
      });
    };

    auto block = [cache, max_items](const IqRequest& iq) {
      List jids;
      if (!parse_items(iq, jids)) return;
      if (jids.empty()) return iq.error("bad-request", "block needs at least one item");  // §3.3
      Jid user = iq.to();
      iq.server().db().post(user.str(), [iq, user, jids, cache, max_items](storage::Connection& c) {
        Server& server = iq.server();
        List added;  // not blocked before: only these change what anyone sees
        std::vector<Jid> notify;
        try {
          blocking::BlocklistStore store(c);
          List before = store.items(user);
          size_t fresh = 0;
          for (const auto& j : jids)
            fresh += std::find(before.begin(), before.end(), j) == before.end();
          if (before.size() + fresh > max_items)
            return iq.error(stanza::ErrorType::Modify, "policy-violation",
                            "at most " + std::to_string(max_items) + " blocked JIDs");
          c.transaction([&] {
            for (const auto& j : jids)
              if (store.add(user, j)) added.push_back(j);
            drop_requests(c, user, added);
          });
          refresh(server, *cache, c, user);
          notify = presence_targets(c, user, added);
        } catch (const std::exception& e) {
          PLOG(Warn, "blocking") << "block for " << user.str() << " failed: " << e.what();
          return iq.error("internal-server-error");
        }
        iq.reply();
        push(server, user, command("block", jids));
        // §3.3: what may see the account's presence now sees it go offline.
        for (const auto& j : notify) im::send_unavailable(server, user, j);
        end_directed_presence(server, user, added);
      });
    };

    auto unblock = [cache](const IqRequest& iq) {
      List jids;
      if (!parse_items(iq, jids)) return;
      Jid user = iq.to();
      iq.server().db().post(user.str(), [iq, user, jids, cache](storage::Connection& c) {
        Server& server = iq.server();
        std::vector<Jid> notify;
        try {
          blocking::BlocklistStore store(c);
          List removed;
          c.transaction([&] {
            if (jids.empty()) {  // §3.5: unblock all
              removed = store.items(user);
              store.clear(user);
            } else {
              for (const auto& j : jids)
                if (store.remove(user, j)) removed.push_back(j);
            }
          });
          ListPtr now = refresh(server, *cache, c, user);
          notify = presence_targets(c, user, removed, *now);
        } catch (const std::exception& e) {
          PLOG(Warn, "blocking") << "unblock for " << user.str() << " failed: " << e.what();
          return iq.error("internal-server-error");
        }
        iq.reply();
        push(server, user, command("unblock", jids));  // §3.5: an empty <unblock/> for "all"
        // §3.4: what may see the account's presence gets its current presence again (not a
        // JID still blocked by another item, e.g. its domain).
        for (const auto& j : notify) im::send_current_presence(server, user, j);
      });
    };

    // §3.1: a feature of the server, not of each account's disco#info.
    ctx.feature(kNs, FeatureScope::Host);
    ctx.iq(kNs, "blocklist", IqType::Get, IqScope::Self, get_list, /*advertise=*/false);
    ctx.iq(kNs, "block", IqType::Set, IqScope::Self, block, false);
    ctx.iq(kNs, "unblock", IqType::Set, IqScope::Self, unblock, false);

    // Hold the list while the account has a session: loaded when its first session binds.
    // Stanzas that come before it is loaded are decided on the account's worker, after it.
    ctx.on<SessionBound>(priority::kNormal, [cache](SessionBound& e) {
      Jid bare = e.session->jid().bare();
      if (cache->holds(bare.str())) return Flow::Continue;
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
      if (e.server.sessions().resources(bare).empty()) cache->evict(bare.str());
      return Flow::Continue;
    });
    ctx.on<AccountDeleted>(priority::kNormal, [cache](AccountDeleted& e) {
      Jid bare = e.account.bare();
      Server& server = e.server;
      server.db().post(bare.str(), [&server, cache, bare](storage::Connection& c) {
        try {
          blocking::BlocklistStore(c).clear(bare);
          refresh(server, *cache, c, bare);
        } catch (const std::exception& ex) {
          PLOG(Warn, "blocking") << "delete for " << bare.str() << " failed: " << ex.what();
        }
      });
      return Flow::Continue;
    });

    // Outbound (§3.3): the account sends to a JID it blocked.
    ctx.on<StanzaFromClient>(priority::kFilter, [cache](StanzaFromClient& e) {
      Jid user = e.from.bare();
      if (e.to.bare() == user || own_server(user, e.to) || !e.origin) return Flow::Continue;
      if (ListPtr list = cache->ready_or_defer(user.str())) {
        if (!any_match(list, e.to)) return Flow::Continue;
        apply(e, outbound(*e.stanza));
        return Flow::Stop;
      }
      // Not loaded yet (just after login): decided on the account's worker, after the load.
      decide_on_worker(cache, suspend(e), user, [](const StanzaEvent& e, const ListPtr& list) {
        return any_match(list, e.to) ? outbound(*e.stanza) : Verdict::Pass;
      });
      return Flow::Stop;
    });

    // Inbound (§3.3): from a JID the recipient blocked.
    auto filter = [cache](auto& e) {
      Jid user = e.to.bare();
      if (e.from.bare() == user || own_server(user, e.from)) return Flow::Continue;
      Verdict v;
      if (inert_when_offline(*e.stanza) && e.server.sessions().resources(user).empty()) {
        v = inbound_verdict(*cache, e, nullptr);  // only the sender's list matters
      } else if (ListPtr list = cache->ready_or_defer(user.str())) {
        v = inbound_verdict(*cache, e, list);
      } else {
        decide_on_worker(cache, suspend(e), user, [cache](const StanzaEvent& e, const ListPtr& l) {
          return inbound_verdict(*cache, e, l);
        });
        return Flow::Stop;
      }
      if (v == Verdict::Pass) return Flow::Continue;
      apply(e, v);
      return Flow::Stop;
    };
    ctx.on<MessageToBare>(priority::kFilter, filter);
    ctx.on<MessageToFull>(priority::kFilter, filter);
    ctx.on<PresenceToBare>(priority::kFilter, filter);
    ctx.on<PresenceToFull>(priority::kFilter, filter);
    ctx.on<IqToBare>(priority::kFilter, filter);
    ctx.on<IqToFull>(priority::kFilter, filter);
    // At delivery, on the session's strand: what the account blocked reaches none of its
    // sessions however it got there (a message offline storage kept before the block, a
    // response to a request sent before it); and presence for a contact's bare JID, which
    // goes to all of the contact's resources, skips one the sender blocked by its full JID.
    ctx.on<StanzaToClient>(priority::kFilter, [cache](StanzaToClient& e) {
      if (!cache->anyone_blocks() || !e.stanza) return Flow::Continue;
      auto from = Jid::parse(e.stanza->get("from"));
      if (!from) return Flow::Continue;
      Jid user = e.session->jid().bare();
      if (from->bare() == user || own_server(user, *from)) return Flow::Continue;
      if (any_match(cache->find(user.str()), *from) && !is_refusal(*e.stanza)) return Flow::Stop;
      if (e.stanza->name() == "presence" && withheld_from_blocked(*e.stanza) &&
          e.server.is_local(from->domain()) &&
          any_match(cache->find(from->bare().str()), e.session->jid()))
        return Flow::Stop;
      return Flow::Continue;
    });

    // Presence the server sends for the account to remote JIDs it blocked.
    ctx.on<StanzaToRemote>(priority::kFilter, [cache](StanzaToRemote& e) {
      if (e.stanza->name() != "presence" || !withheld_from_blocked(*e.stanza))
        return Flow::Continue;
      Jid sender = e.from.bare();
      if (!e.server.is_local(sender.domain()) || !any_match(cache->find(sender.str()), e.to))
        return Flow::Continue;
      return Flow::Stop;
    });
  }

  std::shared_ptr<Cache> cache_;
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Blocking)
