// XEP-0359 Unique and Stable Stanza IDs: <stanza-id id by/> (assigned by the entity named in
// 'by', e.g. the archive of an account) and <origin-id id/> (assigned by the sender), plus the
// archive id Parley assigns to a message.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xep/parsed.h"
#include "xml/element.h"

namespace parley::xep::sid {

inline constexpr std::string_view kNs = "urn:xmpp:sid:0";

struct StanzaId {
  std::string id;
  std::string by;
  friend bool operator==(const StanzaId&, const StanzaId&) = default;
};

struct OriginId {
  std::string id;
  friend bool operator==(const OriginId&, const OriginId&) = default;
};

// §5 rules 5 and 6: both attributes on <stanza-id/>, 'id' on <origin-id/>, no content.
Parsed<StanzaId> parse_stanza_id(const xml::Element& e);
Parsed<OriginId> parse_origin_id(const xml::Element& e);
xml::Element to_element(const StanzaId& id);
xml::Element to_element(const OriginId& id);

// The valid <stanza-id/> children of a stanza, in document order.
std::vector<StanzaId> stanza_ids(const xml::Element& stanza);
// The valid <stanza-id/> whose 'by' is exactly `by`, or nullopt.
std::optional<StanzaId> find_stanza_id(const xml::Element& stanza, std::string_view by);
// The id of the first valid <origin-id/>, or nullopt.
std::optional<std::string> find_origin_id(const xml::Element& stanza);

// Removes every <stanza-id/> child for which `strip(by)` is true ('by' as written, "" when
// absent). §5 rule 2: an entity removes the ones that claim to be its own, whether or not it
// adds one. Returns how many were removed.
size_t strip_stanza_ids(xml::Element& stanza,
                        const std::function<bool(std::string_view by)>& strip);
// Appends <stanza-id/> after removing any other with the same 'by' (§5 rule 4: at most one).
void add_stanza_id(xml::Element& stanza, const StanzaId& id);

// The archive id of a message: derived from (sender bare JID, recipient bare JID, the
// client's id for it, a hash of its body), so the same message sent again after a lost
// acknowledgement gets the same id and is recognised as a duplicate by the archive and by
// clients. 24 characters of RFC 4648 base32 (lower case) over 15 bytes of SHA-256.
std::string stable_id(std::string_view sender_bare, std::string_view recipient_bare,
                      std::string_view client_id, std::string_view body);
// 24 random base32 characters (15 bytes from the CSPRNG).
std::string random_id();
// stable_id() for a message, with its <origin-id/> or else its 'id' attribute as the client's
// id and its <body/> text; random_id() when it has neither id.
std::string archive_id(const xml::Element& message, std::string_view sender_bare,
                       std::string_view recipient_bare);

}  // namespace parley::xep::sid
