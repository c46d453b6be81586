// XEP-0160 Best Practices for Handling Offline Messages: a normal or chat message for an
// existing account with no available resource of non-negative priority is kept, and delivered
// with an XEP-0203 <delay/> once a resource sends available presence with priority >= 0.
//
// One narrow addition (issue 5, group chats of members who are not joined): a groupchat message
// from a service hosted on this server (a room's copy for one of its members, see
// modules/muc/events.h) to a bare JID is kept the same way when the account has no available
// resource, and dropped quietly when it has one (RFC 6121 §8.5.2.1.1 does not deliver
// groupchat to a bare JID; the member reads the room's archive when they open the room). It is
// never bounced back to the room.
//
// Everything for one account runs on that account's database worker, in order: storing,
// delivering what was stored, and — while a delivery is under way — the messages that arrive
// meanwhile, so that a message never overtakes an older stored one.
#include <atomic>
#include <chrono>
#include <mutex>
#include <unordered_map>

#include "core/module.h"
#include "offline_store.h"
#include "router/delivery.h"
#include "router/registry.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "storage/account_store.h"
#include "xep/delay.h"
#include "xep/stanza_id.h"
#include "xep/stored_element.h"

namespace parley {
namespace {

constexpr const char* kHintsNs = "urn:xmpp:hints";                              // XEP-0334
constexpr const char* kChatStatesNs = "http://jabber.org/protocol/chatstates";  // XEP-0085

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Per session: whether stored messages were already delivered to it. Reset when a message is
// stored for the account, so the next available presence (priority >= 0) flushes again.
struct Delivered {
  std::atomic<bool> done{false};
};

// XEP-0160 §3 and RFC 6121 §8.5.2.2.1: only "normal" and "chat" are kept. XEP-0334: no-store
// is never kept, store always is; otherwise a message carrying nothing but a chat state
// (XEP-0085 §5.6) or nothing at all is pointless later. Receipts, markers and any other
// payload are kept.
bool worth_storing(const xml::Element& m, bool room_copy = false) {
  std::string_view type = m.get("type");
  if (!type.empty() && type != "normal" && type != "chat" && !room_copy) return false;
  if (m.child("no-store", kHintsNs)) return false;
  if (m.child("store", kHintsNs)) return true;
  for (const auto& node : m.nodes()) {
    if (node.is_text()) continue;
    const xml::Element& c = *node.element;
    if (c.xmlns() == kChatStatesNs || c.xmlns() == kHintsNs) continue;
    if (c.name() == "thread" && (c.xmlns().empty() || c.xmlns() == "jabber:client")) continue;
    return true;  // body, subject, receipt, marker, any extension
  }
  return false;
}

// A groupchat message to a bare JID from a service of this server: a room's copy of a group
// message for a member who is not joined (the room's <stanza-id/> on it).
bool is_room_copy(Server& server, const xml::Element& m) {
  if (m.get("type") != "groupchat") return false;
  auto from = Jid::parse(m.get("from"));
  return from && server.components().has(from->domain());
}

// The id that recognises the same message stored twice: the account's own archive id
// (XEP-0359, set by the archive before us), or, for a message the archive did not keep, the
// same stable id derived from the sender's id for it; for a room's copy, the room's
// stanza-id (the clients' own ids are only unique per sender).
std::string stanza_id_of(const xml::Element& m, const Jid& account, bool room_copy = false) {
  auto from = Jid::parse(m.get("from"));
  if (room_copy && from) {
    if (auto sid = xep::sid::find_stanza_id(m, from->bare_str()))
      return std::string(from->bare_str()) + " " + sid->id;
  }
  if (auto sid = xep::sid::find_stanza_id(m, account.str())) return sid->id;
  return from ? xep::sid::archive_id(m, from->bare_str(), account.str()) : std::string();
}

// The sessions a message of `type` to the bare JID goes to now (RFC 6121 §8.5.2.1.1), never
// `except`.
std::vector<SessionPtr> recipients(Server& server, const Jid& bare, delivery::MessageType type,
                                   const Session* except = nullptr) {
  auto sessions = server.sessions().resources(bare);
  std::vector<delivery::Resource> resources;
  resources.reserve(sessions.size());
  for (const auto& s : sessions)
    resources.push_back({s->priority.load(), s->available.load() && s.get() != except});
  auto plan = delivery::bare_message(type, resources);
  std::vector<SessionPtr> out;
  if (plan.action == delivery::Action::Deliver)
    for (size_t i : plan.targets) out.push_back(sessions[i]);
  return out;
}

std::vector<SessionPtr> recipients(Server& server, const Jid& bare, const xml::Element& m,
                                   const Session* except = nullptr) {
  return recipients(server, bare, delivery::message_type(m.get("type")), except);
}

// The module's state and behaviour, shared by its handlers and by database work still queued
// when the module is unloaded (which then keeps it alive).
class Mailbox : public std::enable_shared_from_this<Mailbox> {
 public:
  Mailbox(Server& server, int64_t max) : server_(server), max_(max) {}
  // ---- Per-account ordering ----
  // While work of this module is queued on an account's worker (from the moment it is queued
  // until its commit), later messages for the account queue behind it instead of being
  // delivered at once.

  bool queued(const Jid& bare) {
    std::lock_guard lock(mutex_);
    return jobs_.count(bare.str()) > 0;
  }
  void begin_job(const Jid& bare) {
    std::lock_guard lock(mutex_);
    ++jobs_[bare.str()];
  }
  void end_job(const Jid& bare) {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(bare.str());
    if (it != jobs_.end() && --it->second == 0) jobs_.erase(it);
  }

  // On the account's worker, after everything queued before: deliver if a resource (other
  // than `except`, a session that is ending) can take it now, else keep it, in one
  // group-committed write. `in_flight` is released once the message is delivered or committed
  // (the sender's XEP-0198 ack waits for that).
  // A room's copy (`room_copy`) is never delivered: it is dropped when a resource would take
  // a normal message now, kept otherwise, and never bounced.
  void deliver_or_store(const Jid& bare, std::shared_ptr<xml::Element> stanza, InFlight in_flight,
                        SessionPtr except = nullptr, bool room_copy = false) {
    if (!stanza->has("from")) return;
    const int64_t received = now_ms();
    struct Outcome {
      Result result = Result::Delivered;
      std::vector<SessionPtr> to;  // Delivered: the resources that take it now
    };
    auto outcome = std::make_shared<Outcome>();
    begin_job(bare);
    server_.db().write(
        bare.str(),
        // Only database work here (it may run twice, Database::write); delivery is in `done`.
        [self = shared_from_this(), this, bare, stanza, received, outcome, except,
         room_copy](storage::Connection& c) {
          *outcome = Outcome{};
          if (room_copy) {
            if (!recipients(server_, bare, delivery::MessageType::Normal, except.get()).empty()) {
              outcome->result = Result::Dropped;  // online, not in the room: it has the archive
              return;
            }
          } else {
            outcome->to = recipients(server_, bare, *stanza, except.get());
            if (!outcome->to.empty()) return;
          }
          // RFC 6121 §8.5.1: nothing is kept for an account that does not exist.
          if (!storage::AccountStore(c).exists(bare)) {
            outcome->result = Result::NoAccount;
            return;
          }
          // Anything that becomes available from here on flushes again.
          for (const auto& s : server_.sessions().resources(bare))
            s->state<Delivered>()->done = false;
          auto put = offline::OfflineStore(c).put(bare, received, xep::store_element(*stanza), max_,
                                                  stanza_id_of(*stanza, bare, room_copy));
          outcome->result = put == offline::OfflineStore::Put::Full ? Result::Full : Result::Stored;
        },
        [self = shared_from_this(), this, bare, stanza, outcome, in_flight,
         room_copy](bool committed) {
          if (!outcome->to.empty()) {
            for (const auto& s : outcome->to) s->deliver(stanza);
          } else {
            finish_store(bare, *stanza, committed ? outcome->result : Result::Failed, room_copy);
          }
          end_job(bare);
        });
  }

  enum class Result { Delivered, Stored, Full, NoAccount, Failed, Dropped };

  void finish_store(const Jid& bare, const xml::Element& stanza, Result result,
                    bool room_copy = false) {
    if (room_copy && result != Result::Stored) {  // the room is told nothing
      if (result == Result::Full || result == Result::Failed) {
        PLOG(Info, "offline") << "a group message for " << bare.str() << " was not kept ("
                              << (result == Result::Full ? "storage full" : "store failed") << ")";
      }
      return;
    }
    switch (result) {
      case Result::Delivered:
      case Result::Dropped:
        return;
      case Result::NoAccount:
        return server_.router().bounce(stanza, "service-unavailable");
      case Result::Failed:
        PLOG(Warn, "offline") << "storing a message for " << bare.str() << " failed";
        return server_.router().bounce(stanza, "internal-server-error");
      case Result::Full:
        // XEP-0160 §3: storage full, the sender learns it was not kept.
        PLOG(Info, "offline") << "storage full for " << bare.str() << " (" << max_
                              << " messages); bouncing";
        return server_.router().bounce(stanza, "service-unavailable", "offline storage full");
      case Result::Stored:
        // A resource that became available while this was stored gets it now.
        if (!recipients(server_, bare,
                        room_copy ? delivery::MessageType::Normal
                                  : delivery::message_type(stanza.get("type")))
                 .empty())
          flush(bare);
        return;
    }
  }

  // Delivers everything stored for the account to a resource that takes bare-JID messages,
  // oldest first, then deletes what was delivered.
  void flush(const Jid& bare) {
    begin_job(bare);
    server_.db().post(bare.str(), [self = shared_from_this(), this, bare](storage::Connection& c) {
      try {
        flush_now(c, bare);
      } catch (const std::exception& ex) {
        PLOG(Warn, "offline") << "delivery to " << bare.str() << " failed: " << ex.what();
      }
      end_job(bare);
    });
  }

  void flush_now(storage::Connection& c, const Jid& bare) {
    offline::OfflineStore store(c);
    auto messages = store.load(bare);
    if (messages.empty()) return;
    // Delivery goes to one session only (XEP-0160 §3); the account's other resources do not
    // get copies. A session that went away meanwhile leaves the messages stored.
    SessionPtr session;
    for (const auto& s : server_.sessions().resources(bare))
      if (s->available && s->priority >= 0 && (!session || s->priority > session->priority))
        session = s;
    if (!session) return;
    const std::string domain(bare.domain());
    int64_t last = 0;
    for (const auto& m : messages) {
      last = m.id;
      auto stanza = xep::load_element(m.stanza);
      if (!stanza) {
        PLOG(Warn, "offline") << "dropping an unreadable stored message for " << bare.str();
        continue;
      }
      // XEP-0203 §3: the server that delayed it, with the time it received it (a message
      // that was rerouted from a session already carries its first delivery time).
      if (!stanza->child("delay", xep::kDelayNs)) {
        stanza->add(xep::delay_element(
            domain, xep::SysTime(std::chrono::duration_cast<xep::SysTime::duration>(
                        std::chrono::milliseconds(m.received_at)))));
      }
      session->deliver(std::shared_ptr<const xml::Element>(std::move(stanza)));
    }
    store.remove_up_to(bare, last);
  }

 private:
  Server& server_;
  const int64_t max_;
  std::mutex mutex_;
  std::unordered_map<std::string, int> jobs_;  // bare JID -> jobs queued on its worker
};

struct Offline {
  struct Config {
    int64_t max_messages = 10000;
    std::chrono::milliseconds retention = std::chrono::hours(24 * 30);
    static Config parse(const ConfigSection& s) {
      Config c;
      c.max_messages = s.integer("max_messages", c.max_messages, 1);
      c.retention = s.duration("retention", c.retention);
      if (c.retention.count() <= 0) throw ConfigError(s.path() + ".retention: must be positive");
      return c;
    }
  };

  Offline(ModuleContext& ctx, const Config& config) {
    auto box = std::make_shared<Mailbox>(ctx.server(), config.max_messages);
    Server& server = ctx.server();
    ctx.feature("msgoffline", FeatureScope::Host);  // XEP-0160 §4 (service discovery)

    ctx.on<MessageToBare>(priority::kStore, [box, &server](MessageToBare& e) {
      if (is_room_copy(server, *e.stanza)) {
        const Jid bare = e.to.bare();
        if (!worth_storing(*e.stanza, true)) return Flow::Stop;  // e.g. <no-store/>: dropped
        if (!box->queued(bare) && !recipients(server, bare, delivery::MessageType::Normal).empty())
          return Flow::Stop;  // online but not joined: quietly dropped (see the top)
        box->deliver_or_store(bare, e.stanza, e.in_flight, nullptr, true);
        return Flow::Stop;
      }
      if (!worth_storing(*e.stanza)) return Flow::Continue;
      const Jid bare = e.to.bare();
      if (!box->queued(bare) && !recipients(server, bare, *e.stanza).empty())
        return Flow::Continue;  // deliverable now: the core does it
      box->deliver_or_store(bare, e.stanza, e.in_flight);
      return Flow::Stop;
    });

    // XEP-0198 §4: what a session that ended never confirmed goes to another resource (the
    // core's default) or, when there is none, here.
    ctx.on<MessageUndelivered>(priority::kStore, [box, &server](MessageUndelivered& e) {
      if (!worth_storing(*e.stanza)) return Flow::Continue;
      const Jid bare = e.session->jid().bare();
      if (!box->queued(bare) && !recipients(server, bare, *e.stanza, e.session.get()).empty())
        return Flow::Continue;
      auto stanza = std::make_shared<xml::Element>(*e.stanza);
      box->deliver_or_store(bare, std::move(stanza), nullptr, e.session);
      return Flow::Stop;
    });

    ctx.on<SessionAvailable>(priority::kNormal, [box](SessionAvailable& e) {
      SessionPtr session = e.session;
      if (session->priority < 0) return Flow::Continue;  // §8.5.2.1.1: not for bare JIDs
      if (session->state<Delivered>()->done.exchange(true)) return Flow::Continue;
      box->flush(session->jid().bare());
      return Flow::Continue;
    });

    ctx.on<AccountDeleted>(priority::kNormal, [&server](AccountDeleted& e) {
      const Jid bare = e.account.bare();
      server.db().post(bare.str(), [bare](storage::Connection& c) {
        offline::OfflineStore(c).remove_all(bare);
      });
      return Flow::Continue;
    });

    // Retention: messages older than `retention` are dropped, checked hourly (or more often
    // for a short retention).
    const auto retention = config.retention;
    const auto period = std::min<std::chrono::milliseconds>(retention, std::chrono::hours(1));
    ctx.every(period, [&server, retention] {
      const int64_t before = now_ms() - retention.count();
      server.db().post("offline/purge", [before](storage::Connection& c) {
        int64_t n = offline::OfflineStore(c).purge_older_than(before);
        if (n > 0) {
          PLOG(Info, "offline") << "purged " << n << " expired offline messages";
        }
      });
    });
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Offline)
