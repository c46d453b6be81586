// XEP-0160 Best Practices for Handling Offline Messages: a normal or chat message for an
// existing account with no available resource of non-negative priority is kept, and delivered
// with an XEP-0203 <delay/> once a resource sends available presence with priority >= 0.
#include <atomic>
#include <chrono>

#include "core/module.h"
#include "offline_store.h"
#include "router/registry.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "storage/account_store.h"
#include "xep/delay.h"
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

// §3 (XEP-0160) and RFC 6121 §8.5.2.2.1: only "normal" and "chat" are kept; no-store hints
// (XEP-0334 §4.2) are respected; a message carrying nothing but a chat state (XEP-0085 §5.6)
// or nothing at all is pointless later. Receipts, markers and any other payload are kept.
bool worth_storing(const xml::Element& m) {
  std::string_view type = m.get("type");
  if (!type.empty() && type != "normal" && type != "chat") return false;
  if (m.child("no-store", kHintsNs)) return false;
  for (const auto& node : m.nodes()) {
    if (node.is_text()) continue;
    const xml::Element& c = *node.element;
    if (c.xmlns() == kChatStatesNs || c.xmlns() == kHintsNs) continue;
    if (c.name() == "thread" && (c.xmlns().empty() || c.xmlns() == "jabber:client")) continue;
    return true;  // body, subject, receipt, marker, any extension
  }
  return false;
}

// A session that would receive bare-JID messages now (RFC 6121 §8.5.2.1.1), or null.
SessionPtr eligible_session(Server& server, const Jid& bare) {
  SessionPtr best;
  for (const auto& s : server.sessions().resources(bare)) {
    if (!s->available || s->priority < 0) continue;
    if (!best || s->priority > best->priority) best = s;
  }
  return best;
}

// On the account's database worker: deliver everything stored, oldest first, then delete it.
void flush(storage::Connection& c, const Jid& bare, const SessionPtr& session) {
  offline::OfflineStore store(c);
  auto messages = store.load(bare);
  if (messages.empty()) return;
  const std::string domain(bare.domain());
  int64_t last = 0;
  for (const auto& m : messages) {
    last = m.id;
    auto stanza = xep::load_element(m.stanza);
    if (!stanza) {
      PLOG(Warn, "offline") << "dropping an unreadable stored message for " << bare.str();
      continue;
    }
    // XEP-0203 §3: the server that delayed it, with the time it received it.
    stanza->add(
        xep::delay_element(domain, xep::SysTime(std::chrono::duration_cast<xep::SysTime::duration>(
                                       std::chrono::milliseconds(m.received_at)))));
    session->deliver(std::shared_ptr<const xml::Element>(std::move(stanza)));
  }
  store.remove_up_to(bare, last);
}

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
    ctx.feature("msgoffline", FeatureScope::Host);  // XEP-0160 §4 (service discovery)

    const int64_t max = config.max_messages;
    ctx.on<MessageToBare>(priority::kStore, [max](MessageToBare& e) {
      if (!worth_storing(*e.stanza)) return Flow::Continue;
      Server& server = e.server;
      const Jid bare = e.to.bare();
      auto sessions = server.sessions().resources(bare);
      for (const auto& s : sessions)
        if (s->available && s->priority >= 0) return Flow::Continue;  // deliverable now
      // Anything that becomes available from here on flushes again.
      for (const auto& s : sessions) s->state<Delivered>()->done = false;

      auto stanza = e.stanza;
      if (!stanza->has("from")) stanza->set("from", e.from.str());
      const int64_t received = now_ms();
      server.db().post(bare.str(), [&server, bare, stanza, received, max](storage::Connection& c) {
        try {
          // RFC 6121 §8.5.1: nothing is kept for an account that does not exist.
          if (!storage::AccountStore(c).exists(bare))
            return server.router().bounce(*stanza, "service-unavailable");
          if (!offline::OfflineStore(c).put(bare, received, xep::store_element(*stanza), max)) {
            // XEP-0160 §3: storage full, the sender learns it was not kept.
            PLOG(Info, "offline") << "storage full for " << bare.str() << " (" << max
                                  << " messages); bouncing";
            return server.router().bounce(*stanza, "service-unavailable", "offline storage full");
          }
          // A resource that became available while this was decided gets it now.
          if (auto s = eligible_session(server, bare)) flush(c, bare, s);
        } catch (const std::exception& ex) {
          PLOG(Warn, "offline") << "storing for " << bare.str() << " failed: " << ex.what();
          server.router().bounce(*stanza, "internal-server-error");
        }
      });
      return Flow::Stop;
    });

    ctx.on<SessionAvailable>(priority::kNormal, [](SessionAvailable& e) {
      SessionPtr session = e.session;
      if (session->priority < 0) return Flow::Continue;  // §8.5.2.1.1: not for bare JIDs
      if (session->state<Delivered>()->done.exchange(true)) return Flow::Continue;
      const Jid bare = session->jid().bare();
      e.server.db().post(bare.str(), [bare, session](storage::Connection& c) {
        try {
          flush(c, bare, session);
        } catch (const std::exception& ex) {
          PLOG(Warn, "offline") << "delivery to " << session->jid().str()
                                << " failed: " << ex.what();
          session->state<Delivered>()->done = false;  // retry on the next presence
        }
      });
      return Flow::Continue;
    });

    ctx.on<AccountDeleted>(priority::kNormal, [](AccountDeleted& e) {
      const Jid bare = e.account.bare();
      e.server.db().post(bare.str(), [bare](storage::Connection& c) {
        offline::OfflineStore(c).remove_all(bare);
      });
      return Flow::Continue;
    });

    // Retention: messages older than `retention` are dropped, checked hourly (or more often
    // for a short retention).
    Server& server = ctx.server();
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
