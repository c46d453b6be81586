// XEP-0030 Service Discovery payloads: disco#info (identities, features, XEP-0128 extension
// forms) and disco#items, as typed values with their element forms.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/features.h"
#include "xml/element.h"

namespace parley::xep::disco {

inline constexpr std::string_view kInfoNs = "http://jabber.org/protocol/disco#info";
inline constexpr std::string_view kItemsNs = "http://jabber.org/protocol/disco#items";

// <query xmlns='...disco#info' node='...'> (XEP-0030 §3.1).
struct Info {
  std::string node;
  std::vector<Identity> identities;
  std::vector<std::string> features;
  std::vector<xml::Element> extensions;  // jabber:x:data forms of type 'result' (XEP-0128)
};

struct Item {
  std::string jid, node, name;
};

// <query xmlns='...disco#items' node='...'> (XEP-0030 §4.1).
struct Items {
  std::string node;
  std::vector<Item> items;
};

xml::Element to_element(const Info& info);
xml::Element to_element(const Items& items);

// Decoders for results received (or for tests). nullopt with `error` set when the element is
// not a well-formed disco payload (XEP-0030 §3.1: identities need category and type,
// features need var; §4.1: items need jid).
std::optional<Info> parse_info(const xml::Element& query, std::string* error = nullptr);
std::optional<Items> parse_items(const xml::Element& query, std::string* error = nullptr);

}  // namespace parley::xep::disco
