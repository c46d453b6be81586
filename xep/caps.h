// XEP-0115 Entity Capabilities: the <c xmlns='http://jabber.org/protocol/caps'/> a presence
// carries, and the verification string ('ver') computed from a disco#info result, so that a
// disco#info answer can be checked against the ver that announced it and cached by ver.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xml/element.h"

namespace parley::xep::caps {

inline constexpr std::string_view kCapsNs = "http://jabber.org/protocol/caps";

// The attributes of <c/> (§4). `hash` empty: the legacy format (before version 1.4), whose
// 'ver' is a software version and cannot be verified (§5.4 step 1, §13).
struct Caps {
  std::string hash, node, ver;
  std::string ext;  // deprecated bundle names, space separated; kept for legacy peers
  friend bool operator==(const Caps&, const Caps&) = default;
};

// The first <c xmlns=caps/> child of `stanza` (a presence, or stream features as in §6.3). nullopt
// when there is none or when it lacks 'node' or 'ver' (both REQUIRED, §4).
std::optional<Caps> parse(const xml::Element& stanza);
xml::Element to_element(const Caps& caps);

// The disco#info node to query for these caps: node '#' ver (§6.2).
std::string disco_node(const Caps& caps);

// The hash names (IANA "Hash Function Textual Names") compute_ver() implements: sha-1 (the
// mandatory one, §9.1), sha-224, sha-256, sha-384, sha-512. Matched exactly, lower case.
bool is_supported_hash(std::string_view hash_name);

// The string S of §5.1 for a disco#info <query/>: identities as category/type/lang/name,
// features, then XEP-0128 forms (FORM_TYPE, then each other field's var and sorted values),
// every factor followed by '<' and each list sorted by octets. Factors are the values as parsed
// (unescaped): a name written 'a&amp;lt;b' contributes 'a&lt;b' literally (§5.1 note).
// Forms without a FORM_TYPE field of type "hidden" are left out (§5.4 step 3.6), though one
// whose FORM_TYPE is not hidden still clashes with another form of that FORM_TYPE (step 3.5
// comes first).
// nullopt with `error` set when the response is ill-formed: not a disco#info query; an
// identity without category or type or a feature without var (XEP-0030 §3.1); two identities
// with the same category/type/lang/name, two equal features, two forms with the same FORM_TYPE,
// or a FORM_TYPE with differing values (§5.4 steps 3.3-3.5), or more than one FORM_TYPE field.
std::optional<std::string> verification_string(const xml::Element& disco_info_query,
                                               std::string* error = nullptr);

// base64(hash(S)) (§5.1 steps 8-9). nullopt with `error` set for an unsupported hash name or
// an ill-formed response.
std::optional<std::string> compute_ver(const xml::Element& disco_info_query,
                                       std::string_view hash_name, std::string* error = nullptr);

// §5.4 step 3: the response is well-formed and hashes, with caps.hash, to caps.ver. False for
// legacy caps and unsupported hashes, which cannot be verified (§5.4 steps 1-2).
bool verify(const Caps& caps, const xml::Element& disco_info_query);

// The feature vars of a disco#info <query/> in document order, and whether one is listed.
std::vector<std::string> features(const xml::Element& disco_info_query);
bool has_feature(const xml::Element& disco_info_query, std::string_view var);

}  // namespace parley::xep::caps
