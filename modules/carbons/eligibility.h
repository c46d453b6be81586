// XEP-0280 §6.1: which messages are carbon-copied, as a pure function of the message so the
// unit tests can check every rule. The server advertises urn:xmpp:carbons:rules:0 (§6.2), so
// these rules are REQUIRED, not just recommended. Header-only: the module and tests include it.
#pragma once

#include <string_view>

#include "jid/jid.h"
#include "router/delivery.h"
#include "xml/element.h"

namespace parley::carbons {

inline constexpr std::string_view kNs = "urn:xmpp:carbons:2";
inline constexpr std::string_view kRulesNs = "urn:xmpp:carbons:rules:0";
inline constexpr std::string_view kHintsNs = "urn:xmpp:hints";        // XEP-0334
inline constexpr std::string_view kReceiptsNs = "urn:xmpp:receipts";  // XEP-0184
inline constexpr std::string_view kChatStatesNs = "http://jabber.org/protocol/chatstates";
inline constexpr std::string_view kMarkersNs = "urn:xmpp:chat-markers:0";  // XEP-0333
inline constexpr std::string_view kConferenceNs = "jabber:x:conference";   // XEP-0249
inline constexpr std::string_view kMucUserNs = "http://jabber.org/protocol/muc#user";

// Sent: a local client sends it (§8). Received: it is delivered to a local account (§7).
enum class Direction { Sent, Received };

// A carbon itself (<sent/> or <received/>): never copied again, never redelivered.
inline bool is_carbon(const xml::Element& m) {
  return m.child("sent", kNs) != nullptr || m.child("received", kNs) != nullptr;
}

// `peer`: the other party (the recipient of a sent message, the sender of a received one).
// `answers_eligible`: for type "error", whether it answers a message that was itself eligible
// (the module remembers those); ignored for other types.
inline bool eligible(const xml::Element& m, Direction direction, const Jid& peer,
                     bool answers_eligible = false) {
  if (is_carbon(m)) return false;
  // §9 and XEP-0334 §4.3: the sender asked for no copies; either marker is enough.
  if (m.child("private", kNs) || m.child("no-copy", kHintsNs)) return false;
  const auto type = delivery::message_type(m.get("type"));
  if (type == delivery::MessageType::Groupchat) return false;  // §6.1, MUC rules
  const xml::Element* muc = m.child("x", kMucUserNs);
  const bool invitation = muc && muc->child("invite", kMucUserNs);
  // §6.1: a private message from a MUC occupant (a full JID) is not copied; the MUC service
  // already sends it to every client of the user that joined.
  if (direction == Direction::Received && muc && !invitation && peer.has_resource()) return false;
  if (type == delivery::MessageType::Error) return answers_eligible;
  if (type == delivery::MessageType::Chat) return true;
  if (type == delivery::MessageType::Normal && m.child("body")) return true;
  for (const xml::Element* c : m.children()) {
    const std::string& ns = c->xmlns();
    if (ns == kReceiptsNs || ns == kChatStatesNs || ns == kMarkersNs) return true;
  }
  // §6.1: direct (XEP-0249) and mediated (XEP-0045 §7.8.2) invitations.
  return m.child("x", kConferenceNs) != nullptr || invitation;
}

}  // namespace parley::carbons
