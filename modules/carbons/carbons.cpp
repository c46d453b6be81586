// XEP-0280 Message Carbons: every device of a user that enabled carbons sees the user's
// one-to-one conversations, both what the other devices sent (<sent/>) and what they received
// (<received/>). Copies are made at priority::kCopy, after offline storage and the archive have
// had their say and before the core delivers the original.
#include <atomic>

#include "core/module.h"
#include "router/delivery.h"
#include "router/registry.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "xep/forward.h"
#include "xml/stanza.h"

namespace parley {
namespace {

constexpr const char* kCarbonsNs = "urn:xmpp:carbons:2";
constexpr const char* kHintsNs = "urn:xmpp:hints";

struct CarbonsState {
  std::atomic<bool> enabled{false};
};

bool enabled(const SessionPtr& session) {
  auto state = session->find_state<CarbonsState>();
  return state && state->enabled.load();
}

// XEP-0280 §6: which messages are copied.
bool eligible(const xml::Element& message) {
  if (message.child("private", kCarbonsNs) || message.child("no-copy", kHintsNs)) return false;
  // A carbon is never copied again.
  if (message.child("sent", kCarbonsNs) || message.child("received", kCarbonsNs)) return false;
  auto type = delivery::message_type(message.get("type"));
  if (type == delivery::MessageType::Chat) return true;
  if (type == delivery::MessageType::Groupchat || type == delivery::MessageType::Headline ||
      type == delivery::MessageType::Error)
    return false;
  // Type normal: when it carries an instant message or the IM payloads that go with one
  // (chat states, receipts, markers).
  for (const auto& node : message.nodes()) {
    if (node.is_text()) continue;
    const auto& ns = node.element->xmlns();
    if (node.element->name() == "body" || ns == "http://jabber.org/protocol/chatstates" ||
        ns == "urn:xmpp:receipts" || ns == "urn:xmpp:chat-markers:0")
      return true;
  }
  return false;
}

// <message from='user' to='device' type='...'><sent|received><forwarded>original...
std::shared_ptr<const xml::Element> carbon(const xml::Element& original, std::string_view kind,
                                           const Jid& device) {
  auto copy = std::make_shared<xml::Element>("message", std::string(stanza::kClientNs));
  copy->set("from", device.bare().str()).set("to", device.str());
  if (auto type = original.get("type"); !type.empty()) copy->set("type", type);
  copy->add(std::string(kind), kCarbonsNs).add(xep::forwarded(original));
  return copy;
}

struct Carbons {
  explicit Carbons(ModuleContext& ctx) {
    auto toggle = [](bool on) {
      return [on](const IqRequest& iq) {
        if (iq.origin()) iq.origin()->state<CarbonsState>()->enabled = on;
        iq.reply();
      };
    };
    ctx.iq(kCarbonsNs, "enable", IqType::Set, IqScope::Self, toggle(true), /*advertise=*/false);
    ctx.iq(kCarbonsNs, "disable", IqType::Set, IqScope::Self, toggle(false), false);
    // §2: the feature is announced by the user's server.
    ctx.feature(kCarbonsNs);

    Server& server = ctx.server();

    // §7 sent carbons: the sender's other carbons-enabled devices.
    ctx.on<StanzaFromClient>(priority::kCopy, [&server](StanzaFromClient& e) {
      auto& m = *e.stanza;
      if (m.name() != "message") return Flow::Continue;
      if (m.child("private", kCarbonsNs)) {
        // §8: not copied, and the marker is not passed on to the recipient.
        m.remove_children("private", kCarbonsNs);
        return Flow::Continue;
      }
      if (!eligible(m)) return Flow::Continue;
      for (const auto& s : server.sessions().resources(e.from.bare()))
        if (s != e.origin && enabled(s)) Router::deliver(s, carbon(m, "sent", s->jid()));
      return Flow::Continue;
    });

    // §6 received carbons, for a message to a full JID: the recipient's other devices.
    ctx.on<MessageToFull>(priority::kCopy, [&server](MessageToFull& e) {
      if (!eligible(*e.stanza)) return Flow::Continue;
      auto sessions = server.sessions().resources(e.to.bare());
      bool found = false;
      for (const auto& s : sessions) found = found || s->jid() == e.to;
      // A full JID that is not online falls back to the bare JID (RFC 6121 §8.5.3.2.1), which
      // fires MessageToBare: the copies are made there.
      if (!found) return Flow::Continue;
      for (const auto& s : sessions)
        if (s->jid() != e.to && enabled(s))
          Router::deliver(s, carbon(*e.stanza, "received", s->jid()));
      return Flow::Continue;
    });

    // For a message to the bare JID: the devices the core will not deliver it to.
    ctx.on<MessageToBare>(priority::kCopy, [&server](MessageToBare& e) {
      if (!eligible(*e.stanza)) return Flow::Continue;
      auto sessions = server.sessions().resources(e.to);
      std::vector<delivery::Resource> resources;
      resources.reserve(sessions.size());
      for (const auto& s : sessions) resources.push_back({s->priority.load(), s->available.load()});
      auto plan = delivery::bare_message(delivery::message_type(e.stanza->get("type")), resources);
      if (plan.action != delivery::Action::Deliver) return Flow::Continue;
      std::vector<bool> direct(sessions.size(), false);
      for (size_t i : plan.targets) direct[i] = true;
      for (size_t i = 0; i < sessions.size(); ++i)
        if (!direct[i] && enabled(sessions[i]))
          Router::deliver(sessions[i], carbon(*e.stanza, "received", sessions[i]->jid()));
      return Flow::Continue;
    });
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Carbons)
