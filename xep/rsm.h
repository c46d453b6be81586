// XEP-0059 Result Set Management: the <set xmlns='http://jabber.org/protocol/rsm'/> a
// requester sends to ask for a page, and the one a responder returns to describe it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "xep/parsed.h"
#include "xml/element.h"

namespace parley::xep::rsm {

inline constexpr std::string_view kNs = "http://jabber.org/protocol/rsm";

// What the requester asks for (§2.1 max, §2.2 after, §2.3 before, §2.5 index).
struct Request {
  std::optional<int64_t> max;  // 0 = only the count (§2.6)
  std::optional<std::string> after;
  // Present and empty: the last page (§2.5 "Requesting the Last Page").
  std::optional<std::string> before;
  std::optional<int64_t> index;  // page out of order (§2.5)
  friend bool operator==(const Request&, const Request&) = default;
};

// What the responder says about the page it returned (§2.1).
struct Response {
  std::optional<std::string> first;
  std::optional<int64_t> first_index;  // the 'index' attribute of <first/>
  std::optional<std::string> last;
  std::optional<int64_t> count;
  friend bool operator==(const Response&, const Response&) = default;
};

// Decoders for <set/>. Numbers are non-negative xs:int values; <after/> must name an item (an
// empty one is an error); <before/> may be empty; each element appears at most once.
Parsed<Request> parse_request(const xml::Element& set);
Parsed<Response> parse_response(const xml::Element& set);

xml::Element to_element(const Request& request);
xml::Element to_element(const Response& response);

}  // namespace parley::xep::rsm
