// Pure helpers of the c2s stream (RFC 6120 §4, §6, §7, §8) kept apart from the session actor so
// they can be unit-tested without sockets.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "xml/element.h"

namespace parley::c2s {

inline constexpr std::string_view kTlsNs = "urn:ietf:params:xml:ns:xmpp-tls";
inline constexpr std::string_view kSaslNs = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr std::string_view kBindNs = "urn:ietf:params:xml:ns:xmpp-bind";
inline constexpr std::string_view kSessionNs = "urn:ietf:params:xml:ns:xmpp-session";
inline constexpr std::string_view kSaslCbNs = "urn:xss:sasl-cb:0";  // XEP-0440

// RFC 6120 §4.7.5: "major.minor", compared numerically; absent means 0.9. True for >= 1.0.
bool version_supported(std::string_view version);

// A fresh unguessable identifier (hex of `bytes` random bytes): stream ids (RFC 6120 §4.7.3)
// and server-generated resources (RFC 6120 §7.6: unique and unpredictable).
std::string random_id(size_t bytes);

// The response stream header (RFC 6120 §4.7): from = our domain, a fresh id, version 1.0.
// `to` is the client's 'from' when it gave a valid one (RFC 6120 §4.7.2), else empty.
std::string stream_header(std::string_view domain, std::string_view to, std::string_view id,
                          std::string_view lang);

// <stream:error><condition/><app/><text/></stream:error> (RFC 6120 §4.9.2), without the close
// tag. `application`: an application-specific condition element, serialized (§4.9.4).
std::string stream_error(std::string_view condition, std::string_view text,
                         std::string_view application = {});

// SASL payloads (RFC 6120 §6.4.2): "=" is an empty response, no text is an absent one (also
// empty for the mechanisms). nullopt for bad base64 (incorrect-encoding, RFC 6120 §6.5.2).
std::optional<std::string> decode_sasl(std::string_view text);
// <failure xmlns=sasl><condition/><text/></failure> (RFC 6120 §6.4.5).
std::string sasl_failure(std::string_view condition, std::string_view text = {});

// RFC 6120 §8.2.3 rules for an IQ from a client: an id, a type of get/set/result/error, and
// exactly one child element for get/set. Returns the error text, or empty when valid.
std::string check_iq(const xml::Element& iq);

}  // namespace parley::c2s
