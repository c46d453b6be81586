#include "xep/rsm.h"

#include <charconv>
#include <limits>

namespace parley::xep::rsm {

namespace {

// xs:int, not negative (counts, sizes and positions). No sign, no spaces.
std::optional<int64_t> non_negative(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (v < 0 || v > std::numeric_limits<int32_t>::max()) return std::nullopt;
  return v;
}

// The only child named `name` in the RSM namespace; an error when there are several.
struct One {
  const xml::Element* e = nullptr;
  bool duplicate = false;
};
One one(const xml::Element& set, std::string_view name) {
  auto all = set.children(name, kNs);
  return {all.empty() ? nullptr : all.front(), all.size() > 1};
}

bool check_set(const xml::Element& set, std::string* why) {
  if (set.name() != "set" || set.xmlns() != kNs) {
    *why = "not an RSM <set/>";
    return false;
  }
  return true;
}

}  // namespace

Parsed<Request> parse_request(const xml::Element& set) {
  std::string why;
  if (!check_set(set, &why)) return parse_error(why);
  Request r;
  for (std::string_view name : {"max", "after", "before", "index"}) {
    auto [e, duplicate] = one(set, name);
    if (duplicate) return parse_error("more than one <" + std::string(name) + "/> in <set/>");
    if (!e) continue;
    std::string text = e->text();
    if (name == "max" || name == "index") {
      auto n = non_negative(text);
      if (!n) return parse_error("<" + std::string(name) + "/> must be a non-negative integer");
      (name == "max" ? r.max : r.index) = n;
    } else if (name == "after") {
      if (text.empty()) return parse_error("<after/> must name an item");
      r.after = std::move(text);
    } else {
      r.before = std::move(text);
    }
  }
  return r;
}

Parsed<Response> parse_response(const xml::Element& set) {
  std::string why;
  if (!check_set(set, &why)) return parse_error(why);
  Response r;
  for (std::string_view name : {"first", "last", "count"}) {
    auto [e, duplicate] = one(set, name);
    if (duplicate) return parse_error("more than one <" + std::string(name) + "/> in <set/>");
    if (!e) continue;
    if (name == "count") {
      auto n = non_negative(e->text());
      if (!n) return parse_error("<count/> must be a non-negative integer");
      r.count = n;
    } else if (name == "first") {
      r.first = e->text();
      if (const std::string* index = e->attr("index")) {
        auto n = non_negative(*index);
        if (!n) return parse_error("<first index=''/> must be a non-negative integer");
        r.first_index = n;
      }
    } else {
      r.last = e->text();
    }
  }
  // §2.1: a page names both ends or neither.
  if (r.first.has_value() != r.last.has_value())
    return parse_error("<first/> and <last/> come together");
  if (r.first_index && !r.first) return parse_error("index without <first/>");
  return r;
}

xml::Element to_element(const Request& request) {
  xml::Element set("set", std::string(kNs));
  if (request.max) set.text_child("max", std::to_string(*request.max));
  if (request.after) set.text_child("after", *request.after);
  if (request.before) set.text_child("before", *request.before);
  if (request.index) set.text_child("index", std::to_string(*request.index));
  return set;
}

xml::Element to_element(const Response& response) {
  xml::Element set("set", std::string(kNs));
  if (response.first) {
    auto& first = set.text_child("first", *response.first);
    if (response.first_index) first.set("index", std::to_string(*response.first_index));
  }
  if (response.last) set.text_child("last", *response.last);
  if (response.count) set.text_child("count", std::to_string(*response.count));
  return set;
}

}  // namespace parley::xep::rsm
