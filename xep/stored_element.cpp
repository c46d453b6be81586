#include "xep/stored_element.h"

#include "xml/stream_parser.h"

namespace parley::xep {

std::string store_element(const xml::Element& element) {
  return element.str();
}

std::unique_ptr<xml::Element> load_element(std::string_view text) {
  std::unique_ptr<xml::Element> out;
  int elements = 0;
  bool failed = false;
  xml::StreamParser::Handler handler;
  handler.on_element = [&](std::unique_ptr<xml::Element> e) {
    if (++elements == 1) out = std::move(e);
  };
  handler.on_error = [&](xml::ParseError, std::string_view) { failed = true; };
  xml::ParserLimits limits;
  limits.max_stanza_bytes = text.size() + 1;
  xml::StreamParser parser(std::move(handler), limits);
  // The stored text declares its own namespace; the wrapper only gives it a stream to live in.
  parser.feed(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
  parser.feed(text);
  if (failed || elements != 1) return nullptr;
  return out;
}

}  // namespace parley::xep
