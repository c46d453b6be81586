// Stanza-level helpers: namespaces, error replies (RFC 6120 §8.3), IQ results.
#pragma once

#include <string>
#include <string_view>

#include "xml/element.h"

namespace parley::stanza {

inline constexpr std::string_view kClientNs = "jabber:client";
inline constexpr std::string_view kServerNs = "jabber:server";
inline constexpr std::string_view kStreamNs = "http://etherx.jabber.org/streams";
inline constexpr std::string_view kStanzasNs = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr std::string_view kStreamsErrNs = "urn:ietf:params:xml:ns:xmpp-streams";

enum class ErrorType { Auth, Cancel, Continue, Modify, Wait };
std::string_view to_string(ErrorType t);
// The type RFC 6120 §8.3.3 gives each defined condition (e.g. item-not-found -> cancel).
ErrorType default_type(std::string_view condition);

// An error reply to `stanza`: same name and id, to/from swapped, type="error", the original
// children kept (RFC 6120 §8.3.1 allows it; we keep them for messages and presence only) and
// <error type=...><condition/><text/></error>.
xml::Element error_reply(const xml::Element& stanza, std::string_view condition,
                         std::string_view text = {});
xml::Element error_reply(const xml::Element& stanza, ErrorType type, std::string_view condition,
                         std::string_view text = {});
// <iq type="result"> with the request's id and swapped addresses, optionally with a payload.
xml::Element iq_result(const xml::Element& iq);
xml::Element iq_result(const xml::Element& iq, xml::Element payload);

// True for stanzas that must never be answered with an error (type="error" ones, RFC 6120 §8.3.1).
bool is_error(const xml::Element& stanza);

// A stanza serialized once for many recipients (DESIGN §3: MUC fan-out). The bytes are the
// jabber:client form without 'to'; each recipient's copy is those bytes with its own 'to'
// spliced into the start tag, right after the element's name (a stanza's name never has a
// prefix): one string copy per recipient, no tree copied or walked again.
class Serialized {
 public:
  // `stanza` must not have a 'to' (std::invalid_argument otherwise).
  explicit Serialized(const xml::Element& stanza, std::string_view stream_ns = kClientNs);
  const std::string& bytes() const { return bytes_; }
  // The bytes with to="`to`" (escaped) added.
  std::string addressed_to(std::string_view to) const;

 private:
  std::string bytes_;
  size_t at_;  // where ' to="..."' goes: just after "<name"
};

}  // namespace parley::stanza
