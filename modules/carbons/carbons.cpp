// XEP-0280 Message Carbons 1.0.1: every device of a user that enabled carbons sees the user's
// one-to-one conversations, what the other devices sent (<sent/>, §8) and what they received
// (<received/>, §7), by the rules of §6.1 (eligibility.h). Copies are made at priority::kCopy,
// after offline storage and the archive have had their say and before the core delivers the
// original. With stream management, a copy is never redelivered, and a message a session
// never acknowledged does not go again to the devices that already had a copy of it.
#include <array>
#include <atomic>
#include <functional>
#include <mutex>

#include "core/module.h"
#include "modules/carbons/eligibility.h"
#include "router/delivery.h"
#include "router/registry.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "xep/forward.h"
#include "xml/stanza.h"

namespace parley {
namespace {

using carbons::Direction;
using carbons::eligible;
using carbons::is_carbon;
const std::string kNs(carbons::kNs);

// Per session: carbons on or off (§4, §5), and which eligible messages it sent or was given
// directly, so that an error answering one of them counts as eligible too (§6.1). Kept as
// hashes of (the other party's bare JID, id), the latest few only: an error answers quickly.
struct CarbonsState {
  std::atomic<bool> enabled{false};

  void remember(uint64_t key) {
    std::lock_guard lock(mutex_);
    recent_[next_++ % recent_.size()] = key;
  }
  bool remembers(uint64_t key) const {
    std::lock_guard lock(mutex_);
    for (uint64_t k : recent_)
      if (k == key) return true;
    return false;
  }

 private:
  mutable std::mutex mutex_;
  std::array<uint64_t, 32> recent_{};
  size_t next_ = 0;
};

bool enabled(const SessionPtr& session) {
  auto state = session->find_state<CarbonsState>();
  return state && state->enabled.load();
}

// The key of a message exchanged with `peer`, or 0 when it has no id (an error answering it
// could not be matched anyway, RFC 6120 §8.3.1).
uint64_t key_of(const Jid& peer, std::string_view id) {
  if (id.empty()) return 0;
  std::string k(peer.bare_str());
  k += '\0';
  k += id;
  uint64_t h = std::hash<std::string>{}(k);
  return h ? h : 1;
}

bool is_error(const xml::Element& m) {
  return m.get("type") == "error";
}

// Whether `m`, an error, answers an eligible message `session` exchanged with `peer`.
bool answers_eligible(const xml::Element& m, const SessionPtr& session, const Jid& peer) {
  if (!is_error(m) || !session) return false;
  auto state = session->find_state<CarbonsState>();
  uint64_t key = key_of(peer, m.get("id"));
  return state && key && state->remembers(key);
}

// After copies of `m` were made: `session` sent it or got it, and an error answering it is
// eligible too.
void remember(const xml::Element& m, const SessionPtr& session, const Jid& peer) {
  if (is_error(m)) return;
  if (uint64_t key = key_of(peer, m.get("id"))) session->state<CarbonsState>()->remember(key);
}

// §7 / §8: <message from='user' to='device' type='...'><received|sent><forwarded>original...
std::shared_ptr<const xml::Element> carbon(const xml::Element& original, std::string_view kind,
                                           const Jid& device) {
  auto copy = std::make_shared<xml::Element>("message", std::string(stanza::kClientNs));
  copy->set("from", device.bare().str()).set("to", device.str());
  if (auto type = original.get("type"); !type.empty()) copy->set("type", type);
  copy->add(std::string(kind), kNs).add(xep::forwarded(original));
  return copy;
}

// Copies to every carbons-enabled session of the account but `skip`; returns how many.
size_t copy_to(const std::vector<SessionPtr>& sessions, const xml::Element& m,
               std::string_view kind, const std::function<bool(const SessionPtr&)>& skip) {
  size_t n = 0;
  for (const auto& s : sessions) {
    if (skip(s) || !enabled(s)) continue;
    Router::deliver(s, carbon(m, kind, s->jid()));
    ++n;
  }
  return n;
}

struct Carbons {
  explicit Carbons(ModuleContext& ctx) {
    // §10.1: enabling or disabling again is not an error. Carbons are per session: a resumed
    // stream (XEP-0198) keeps the setting with the rest of the session's state.
    auto toggle = [](bool on) {
      return [on](const IqRequest& iq) {
        if (iq.origin()) iq.origin()->state<CarbonsState>()->enabled = on;
        iq.reply();
      };
    };
    ctx.iq(kNs, "enable", IqType::Set, IqScope::Self, toggle(true), /*advertise=*/false);
    ctx.iq(kNs, "disable", IqType::Set, IqScope::Self, toggle(false), false);
    // §3: the user's server announces the protocol, §6.2: and that it follows §6.1 exactly.
    ctx.feature(kNs);
    ctx.feature(std::string(carbons::kRulesNs));

    Server& server = ctx.server();

    // §8 sent carbons: to the sender's other carbons-enabled devices, whatever the destination
    // (another account here, a remote domain, a service). Messages to the user's own account
    // are copied where they are received (below), so that no device gets one twice.
    ctx.on<StanzaFromClient>(priority::kCopy, [&server](StanzaFromClient& e) {
      const auto& m = *e.stanza;
      const Jid user = e.from.bare();
      if (m.name() != "message" || e.to.bare() == user) return Flow::Continue;
      if (!eligible(m, Direction::Sent, e.to, answers_eligible(m, e.origin, e.to)))
        return Flow::Continue;
      auto sessions = server.sessions().resources(user);
      auto origin = e.origin;
      if (copy_to(sessions, m, "sent", [&](const SessionPtr& s) { return s == origin; }) > 0)
        remember(m, origin, e.to);
      return Flow::Continue;
    });

    // §7 received carbons, for a message to a full JID that is online: the account's other
    // devices (and not the sending one, for a message from one device to another).
    ctx.on<MessageToFull>(priority::kCopy, [&server](MessageToFull& e) {
      auto sessions = server.sessions().resources(e.to.bare());
      SessionPtr target;
      for (const auto& s : sessions)
        if (s->jid() == e.to) target = s;
      // A full JID that is not online falls back to the bare JID (RFC 6121 §8.5.3.2.1), which
      // fires MessageToBare: the copies are made there.
      if (!target) return Flow::Continue;
      const auto& m = *e.stanza;
      if (!eligible(m, Direction::Received, e.from, answers_eligible(m, target, e.from)))
        return Flow::Continue;
      auto origin = e.origin;
      if (copy_to(sessions, m, "received",
                  [&](const SessionPtr& s) { return s == target || s == origin; }) > 0)
        remember(m, target, e.from);
      return Flow::Continue;
    });

    // For a message to the bare JID: the devices the core will not deliver it to (§7).
    ctx.on<MessageToBare>(priority::kCopy, [&server](MessageToBare& e) {
      const auto& m = *e.stanza;
      // An error to a bare JID is never delivered (RFC 6121 §8.5.2.1.1), so never copied.
      if (!eligible(m, Direction::Received, e.from)) return Flow::Continue;
      auto sessions = server.sessions().resources(e.to);
      std::vector<delivery::Resource> resources;
      resources.reserve(sessions.size());
      for (const auto& s : sessions) resources.push_back({s->priority.load(), s->available.load()});
      auto plan = delivery::bare_message(delivery::message_type(m.get("type")), resources);
      if (plan.action != delivery::Action::Deliver) return Flow::Continue;
      std::vector<bool> direct(sessions.size(), false);
      for (size_t i : plan.targets) direct[i] = true;
      auto origin = e.origin;
      size_t copies = 0;
      for (size_t i = 0; i < sessions.size(); ++i) {
        const auto& s = sessions[i];
        if (direct[i] || s == origin || !enabled(s)) continue;
        Router::deliver(s, carbon(m, "received", s->jid()));
        ++copies;
      }
      if (copies > 0)
        for (size_t i : plan.targets) remember(m, sessions[i], e.from);
      return Flow::Continue;
    });

    // XEP-0198: a session ended with messages it never acknowledged. A carbon is only a copy:
    // the original went its own way, so the copy is not delivered again anywhere.
    ctx.on<MessageUndelivered>(priority::kFilter, [](MessageUndelivered& e) {
      return is_carbon(*e.stanza) ? Flow::Stop : Flow::Continue;
    });
    // An eligible original did reach the account's other carbons-enabled devices as a copy
    // (and the device that sent it, for a message between two of the user's devices): the
    // core's redelivery to another resource skips them.
    ctx.on<MessageUndelivered>(priority::kCopy, [&server](MessageUndelivered& e) {
      const auto& m = *e.stanza;
      auto from = Jid::parse(m.get("from"));
      if (!from || !eligible(m, Direction::Received, *from)) return Flow::Continue;
      for (const auto& s : server.sessions().resources(e.session->jid().bare())) {
        if (s == e.session) continue;
        if (enabled(s) || s->jid() == *from) e.skip.push_back(s);
      }
      return Flow::Continue;
    });
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Carbons)
