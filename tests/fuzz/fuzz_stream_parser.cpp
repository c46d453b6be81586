// libFuzzer target: arbitrary bytes into StreamParser, split at a fuzzer-chosen point, then a
// stream restart. Every delivered element must survive a serialize/parse round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xml/stream_parser.h"

namespace {

constexpr std::string_view kHeader =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

std::vector<std::string> parse_all(std::string_view input, size_t split, bool restart,
                                   size_t chunk = 0, bool compact = false) {
  std::vector<std::string> out;
  parley::xml::StreamParser::Handler h;
  h.on_open = [&](const parley::xml::Element& header, std::string_view) {
    out.push_back(header.str());
  };
  // Serialized with every namespace spelled out, so the round trip does not depend on the
  // stream's default namespace.
  h.on_element = [&](std::unique_ptr<parley::xml::Element> e) { out.push_back(e->str()); };
  h.on_close = [&] { out.emplace_back("close"); };
  h.on_error = [&](parley::xml::ParseError, std::string_view) { out.emplace_back("error"); };
  parley::xml::ParserLimits limits;
  limits.max_stanza_bytes = 4096;
  limits.max_depth = 16;
  parley::xml::StreamParser p(std::move(h), limits);
  if (chunk > 0) {
    // In pieces, with compact() tried before each one (a quiet connection between reads).
    for (size_t at = 0; at < input.size(); at += chunk) {
      if (compact) p.compact();
      p.feed(input.substr(at, chunk));
    }
    return out;
  }
  p.feed(input.substr(0, split));
  p.feed(input.substr(split));
  if (!restart) return out;
  // A restart must leave a usable parser whatever state the first stream ended in.
  size_t first_stream = out.size();
  p.reset();
  p.feed(kHeader);
  p.feed(input.substr(split));
  out.resize(first_stream);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // First byte: bit 0 selects a valid stream header prefix (to reach stanza parsing sooner),
  // the rest picks the split point.
  bool prefix = data[0] & 1;
  std::string input;
  if (prefix) input.assign(kHeader);
  input.append(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t split = input.empty() ? 0 : (size_t(data[0] >> 1) * input.size()) / 128;

  std::vector<std::string> events = parse_all(input, split, true);

  // compact() between reads changes nothing a handler can see.
  size_t chunk = 1 + split % 61;
  if (parse_all(input, 0, false, chunk, true) != parse_all(input, 0, false, chunk, false))
    std::abort();

  // Round trip: re-parsing the serialized stanzas must give the same serialization.
  if (events.size() > 1 && events[0].starts_with("<stream")) {
    std::string again("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
    size_t stanzas = 0;
    for (size_t i = 1; i < events.size() && events[i] != "close" && events[i] != "error"; ++i) {
      again += events[i];
      ++stanzas;
    }
    std::vector<std::string> events2 = parse_all(again, again.size(), false);
    if (events2.size() != stanzas + 1) std::abort();
    for (size_t i = 1; i <= stanzas; ++i) {
      if (events2[i] != events[i]) std::abort();
    }
  }
  return 0;
}
