// Small XML documents kept in storage as text (vCard, private XML, last status): serialize
// once with its namespace, parse back with the server's own limited parser.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "xml/element.h"

namespace parley::xep {

// The element with its namespace declared, ready to store.
std::string store_element(const xml::Element& element);
// Parses text written by store_element. nullptr when it is not exactly one well-formed
// element within the parser's limits (a damaged row must not take the server down).
std::unique_ptr<xml::Element> load_element(std::string_view text);

}  // namespace parley::xep
