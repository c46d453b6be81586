// XEP-0352 Client State Indication: what may wait while a client is inactive, and the set of
// held stanzas, as pure code the unit tests can check without a server. Header-only: the
// module and tests/unit include it.
//
// While inactive, presence updates and messages that carry only a chat state (XEP-0085) wait,
// coalesced: for each sender only its latest presence and its latest chat state are kept.
// Anything else — a message with a body, a receipt, a chat marker, an IQ, an error, a
// subscription request — is sent at once, after everything held, in the order it was held
// (by the time of each kept stanza's arrival).
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xml/element.h"

namespace parley::csi {

inline constexpr std::string_view kNs = "urn:xmpp:csi:0";
inline constexpr std::string_view kChatStatesNs = "http://jabber.org/protocol/chatstates";
inline constexpr std::string_view kCarbonsNs = "urn:xmpp:carbons:2";
inline constexpr std::string_view kForwardNs = "urn:xmpp:forward:0";

enum class Kind { Presence, ChatState, Urgent };

struct Classified {
  Kind kind = Kind::Urgent;
  std::string key;  // who it is about: one held stanza per (kind, key)
};

// What a message carries besides a chat state without being more than a chat state: its
// thread (XEP-0085 §5.7), processing hints (XEP-0334), stanza and origin ids (XEP-0359),
// a delay stamp (XEP-0203).
inline bool incidental(const xml::Element& c, std::string_view message_ns) {
  const std::string& ns = c.xmlns();
  if (c.name() == "thread" && (ns.empty() || ns == message_ns)) return true;
  return ns == "urn:xmpp:hints" || ns == "urn:xmpp:sid:0" || ns == "urn:xmpp:delay";
}

// A message whose only news is a chat state (XEP-0085 §5.6): <composing/>, <paused/>, ...
inline bool only_chat_state(const xml::Element& m) {
  if (m.get("type") == "error") return false;
  bool state = false;
  for (const xml::Element* c : m.children()) {
    if (c->xmlns() == kChatStatesNs)
      state = true;
    else if (!incidental(*c, m.xmlns()))
      return false;
  }
  return state;
}

// The message a XEP-0280 carbon wraps, and whether it was sent (else received), or null.
inline const xml::Element* carbon_original(const xml::Element& m, bool& sent) {
  const xml::Element* wrapper = m.child("received", kCarbonsNs);
  sent = wrapper == nullptr;
  if (!wrapper) wrapper = m.child("sent", kCarbonsNs);
  const xml::Element* fwd = wrapper ? wrapper->child("forwarded", kForwardNs) : nullptr;
  return fwd ? fwd->child("message", "jabber:client") : nullptr;
}

// `stanza` null: bytes serialized for many recipients, which cannot be looked into (urgent).
inline Classified classify(const xml::Element* stanza) {
  if (!stanza) return {};
  const xml::Element& s = *stanza;
  if (s.name() == "presence") {
    // Availability of a contact (or of one's own other resources). Subscription requests and
    // errors need the user; probes never reach clients.
    auto type = s.get("type");
    if (type.empty() || type == "unavailable") return {Kind::Presence, std::string(s.get("from"))};
    return {};
  }
  if (s.name() != "message") return {};
  if (only_chat_state(s)) return {Kind::ChatState, std::string(s.get("from"))};
  // A carbon of a chat state (XEP-0280): keyed by the conversation it is about.
  bool sent = false;
  if (const xml::Element* inner = carbon_original(s, sent); inner && only_chat_state(*inner))
    return {Kind::ChatState, std::string(sent ? "sent\n" : "received\n") +
                                 std::string(inner->get(sent ? "to" : "from"))};
  return {};
}

using Stanza = std::shared_ptr<const xml::Element>;

// The held stanzas of one session, at most `max_contacts` different senders.
class Held {
 public:
  explicit Held(size_t max_contacts = 100) : max_contacts_(max_contacts) {}
  void set_max_contacts(size_t n) { max_contacts_ = n; }

  // Holds `stanza`, replacing what was held of the same kind and key, and moves it to the end
  // (it is now the latest news). False, and nothing held, when it would be one contact too
  // many: the caller flushes then.
  bool hold(Kind kind, const std::string& key, Stanza stanza) {
    auto same = std::find_if(entries_.begin(), entries_.end(),
                             [&](const Entry& e) { return e.kind == kind && e.key == key; });
    if (same != entries_.end()) {
      entries_.erase(same);
    } else if (!knows(key)) {
      if (contacts_ >= max_contacts_) return false;
      ++contacts_;
    }
    entries_.push_back({kind, key, std::move(stanza)});
    return true;
  }

  // Everything held, in order, and nothing held afterwards.
  std::vector<Stanza> take() {
    std::vector<Stanza> out;
    out.reserve(entries_.size());
    for (auto& e : entries_) out.push_back(std::move(e.stanza));
    std::vector<Entry>().swap(entries_);
    contacts_ = 0;
    return out;
  }

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  // Different senders held (a presence and a chat state of one sender count once).
  size_t contacts() const { return contacts_; }

 private:
  struct Entry {
    Kind kind;
    std::string key;
    Stanza stanza;
  };
  bool knows(const std::string& key) const {
    return std::any_of(entries_.begin(), entries_.end(),
                       [&](const Entry& e) { return e.key == key; });
  }

  size_t max_contacts_;
  size_t contacts_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace parley::csi
