// XEP-0352 Client State Indication 1.0.0: a client says <inactive/> when nobody looks at it
// (a phone with its screen off), and the server holds back what can wait — presence updates
// and chat states, coalesced per sender (client_state.h) — until something the user should
// see arrives or the client says <active/> again (§3.2: one of the example optimisations).
// Saves radio wake-ups and bytes; nothing that needs the user waits.
#include <memory>
#include <mutex>

#include "core/module.h"
#include "modules/csi/client_state.h"
#include "router/stanza_events.h"

namespace parley {
namespace {

// Per session (Session::state), touched on the session's strand; the mutex only guards
// against the rare caller that is not (a resumption handing the session over).
struct ClientState {
  std::mutex mutex;
  bool inactive = false;
  // The connection that said <inactive/>. XEP-0198 resumption moves this state to a new
  // connection, whose stream starts active (§5.2): a state left by another connection is void.
  std::weak_ptr<Session> connection;
  csi::Held held;
};

bool current(const ClientState& st, const SessionPtr& session) {
  return st.connection.lock() == session;
}

// Everything held, and the session active again. Under st.mutex.
std::vector<csi::Stanza> wake(ClientState& st) {
  st.inactive = false;
  st.connection.reset();
  return st.held.take();
}

void append(std::vector<csi::Stanza>& to, std::vector<csi::Stanza> from) {
  if (to.empty()) {
    to = std::move(from);
    return;
  }
  for (auto& s : from) to.push_back(std::move(s));
}

struct Csi {
  struct Config {
    // Different senders whose stanzas one inactive session may hold; one more flushes them.
    int64_t max_contacts = 100;
    static Config parse(const ConfigSection& s) {
      Config c;
      c.max_contacts = s.integer("max_contacts", c.max_contacts, 1, 100000);
      return c;
    }
  };

  Csi(ModuleContext& ctx, const Config& config) {
    // §4.1: offered after authentication.
    ctx.stream_feature(StreamStage::PostAuth, xml::Element("csi", std::string(csi::kNs)));
    const auto max_contacts = static_cast<size_t>(config.max_contacts);

    // §4.2: no answer to either element. §5.1: it takes effect before the next stanza of the
    // stream is processed (this runs on the session's strand, and delivery from it is
    // immediate), so everything held is on the wire before, say, the answer to a ping sent
    // right after <active/>.
    ctx.on<ClientNonza>(priority::kNormal, [max_contacts](ClientNonza& e) {
      if (e.element.xmlns() != csi::kNs) return Flow::Continue;
      if (e.element.name() == "inactive") {
        auto st = e.session->state<ClientState>();
        std::lock_guard lock(st->mutex);
        st->inactive = true;
        st->connection = e.session;
        st->held.set_max_contacts(max_contacts);
        return Flow::Stop;
      }
      if (e.element.name() != "active") return Flow::Continue;
      std::vector<csi::Stanza> held;
      if (auto st = e.session->find_state<ClientState>()) {
        std::lock_guard lock(st->mutex);
        held = wake(*st);
      }
      // Back through StanzaToClient, where the session is active now: they go out in order.
      for (auto& s : held) e.session->deliver(std::move(s));
      return Flow::Stop;
    });

    // Every stanza on its way to an inactive session: held if it can wait, else sent after
    // everything held (in `release`, which the session writes first).
    ctx.on<StanzaToClient>(priority::kNormal, [](StanzaToClient& e) {
      auto st = e.session->find_state<ClientState>();
      if (!st) return Flow::Continue;  // never inactive
      std::lock_guard lock(st->mutex);
      if (!st->inactive) return Flow::Continue;
      if (!current(*st, e.session)) {  // resumed on another connection: active (§5.2)
        append(e.release, wake(*st));
        return Flow::Continue;
      }
      auto c = csi::classify(e.stanza.get());
      // A fan-out copy (e.shared) is held with its 'to': it is sent later on its own.
      if (c.kind != csi::Kind::Urgent && st->held.hold(c.kind, c.key, e.addressed()))
        return Flow::Stop;
      append(e.release, st->held.take());  // urgent, or one contact too many
      return Flow::Continue;
    });

    // A resumed session starts active (§5.2): what the old connection held goes out now
    // rather than with the first stanza of the new one.
    ctx.on<SessionResumed>(priority::kNormal, [](SessionResumed& e) {
      auto st = e.session->find_state<ClientState>();
      if (!st) return Flow::Continue;
      std::vector<csi::Stanza> held;
      {
        std::lock_guard lock(st->mutex);
        if (st->inactive && !current(*st, e.session)) held = wake(*st);
      }
      for (auto& s : held) e.session->deliver(std::move(s));
      return Flow::Continue;
    });
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Csi)
