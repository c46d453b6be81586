// The pure parts of server-to-server streams (RFC 6120 §4, XEP-0220 dialback, XEP-0185 keys),
// kept apart from the link actors so they can be unit-tested and fuzzed without sockets.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "xml/element.h"

namespace parley::s2s {

inline constexpr std::string_view kServerNs = "jabber:server";
inline constexpr std::string_view kDialbackNs = "jabber:server:dialback";
inline constexpr std::string_view kDialbackFeatureNs = "urn:xmpp:features:dialback";
inline constexpr std::string_view kBidiFeatureNs = "urn:xmpp:features:bidi";  // XEP-0288
inline constexpr std::string_view kBidiNs = "urn:xmpp:bidi";

// XEP-0185 §3: hex(HMAC-SHA256(hex(SHA256(secret)), "receiving originating stream-id")).
// The authoritative server recomputes it from the same secret to answer <db:verify/>.
std::string dialback_key(std::string_view secret, std::string_view receiving,
                         std::string_view originating, std::string_view stream_id);

// Constant-time comparison for keys.
bool keys_equal(std::string_view a, std::string_view b);

// A server stream header (RFC 6120 §4.7), declaring the dialback prefix (XEP-0220 §2.1).
// `id` only on the responding side's header; empty attributes are left out. `version` false
// answers a peer whose header had none (RFC 6120 §4.7.5: then we do not claim 1.0 either).
std::string stream_header(std::string_view from, std::string_view to, std::string_view id,
                          bool version = true);

// Stanzas arrive in jabber:server and are delivered to clients in jabber:client (RFC 6120
// §4.8.3): every element in jabber:server, the stanza and its inherited children, moves.
void to_client_namespace(xml::Element& stanza);

// What is wrong with the addressing of a stanza received from a remote server whose
// authenticated domains are given by `authenticated(domain)` and ours by `ours(domain)`:
// the stream error condition (RFC 6120 §4.9.3), or empty when it may be routed.
//   improper-addressing: no valid 'from' or 'to' (§4.9.3.7, §8.1.1.1, §8.1.2.1)
//   invalid-from: 'from' is not a domain the peer authenticated as (§4.9.3.9)
//   host-unknown: 'to' is not served here (§4.9.3.6)
std::string_view check_addressing(const xml::Element& stanza,
                                  const std::function<bool(std::string_view)>& authenticated,
                                  const std::function<bool(std::string_view)>& ours);

// <db:result/> and <db:verify/> as they arrive (XEP-0220 §2.1, §2.2).
struct DialbackElement {
  enum class Kind { Result, Verify } kind = Kind::Result;
  std::string from, to, id, type, key;  // type: "" (request), valid, invalid, error
};
// nullopt-like: `ok` false when the element is not a dialback element or misses from/to.
struct ParsedDialback {
  bool ok = false;
  DialbackElement value;
};
ParsedDialback parse_dialback(const xml::Element& element);
std::string dialback_element(const DialbackElement& d);
// A type='error' answer with a stanza error condition (XEP-0220 §2.4), type cancel.
std::string dialback_error(const DialbackElement& d, std::string_view condition);

}  // namespace parley::s2s
