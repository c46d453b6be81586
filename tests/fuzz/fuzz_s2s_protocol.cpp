// libFuzzer target: arbitrary bytes as the elements of a server-to-server stream (jabber:server,
// with the dialback prefix declared), through what an incoming link does with each before any
// state changes: dialback parsing and re-serialization, the addressing check, and the move to
// the client namespace. A dialback element that parses must write back to one that parses the
// same; a stanza that passes the addressing check must name domains that are ours.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "jid/jid.h"
#include "s2s/protocol.h"
#include "xep/stored_element.h"
#include "xml/stream_parser.h"

namespace {

constexpr std::string_view kHeader =
    "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
    "xmlns:db='jabber:server:dialback' from='remote.test' to='local.test' version='1.0'>";
constexpr std::string_view kDeclare =
    "<wrap xmlns='jabber:server' xmlns:db='jabber:server:dialback'>";

void check(parley::xml::Element& e) {
  using namespace parley::s2s;
  auto parsed = parse_dialback(e);
  if (parsed.ok) {
    // Written back with the stream's prefix, read inside a wrapper that declares it.
    std::string text = std::string(kDeclare) + dialback_element(parsed.value) + "</wrap>";
    auto again = parley::xep::load_element(text);
    if (!again || !again->first_child()) std::abort();
    auto reparsed = parse_dialback(*again->first_child());
    if (!reparsed.ok || reparsed.value.from != parsed.value.from ||
        reparsed.value.to != parsed.value.to || reparsed.value.id != parsed.value.id ||
        reparsed.value.type != parsed.value.type || reparsed.value.key != parsed.value.key)
      std::abort();
    (void)dialback_error(parsed.value, "item-not-found");
  }
  auto authenticated = [](std::string_view d) { return d == "remote.test"; };
  auto ours = [](std::string_view d) { return d == "local.test"; };
  auto condition = check_addressing(e, authenticated, ours);
  if (condition.empty()) {
    auto from = parley::Jid::parse(e.get("from"));
    auto to = parley::Jid::parse(e.get("to"));
    if (!from || !to || from->domain() != "remote.test" || to->domain() != "local.test")
      std::abort();
  }
  to_client_namespace(e);
  if (e.xmlns() == kServerNs) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  parley::xml::StreamParser::Handler h;
  h.on_open = [](const parley::xml::Element&, std::string_view) {};
  h.on_element = [](std::unique_ptr<parley::xml::Element> e) { check(*e); };
  h.on_close = [] {};
  h.on_error = [](parley::xml::ParseError, std::string_view) {};
  parley::xml::ParserLimits limits;
  limits.max_stanza_bytes = 8192;
  parley::xml::StreamParser p(std::move(h), limits);
  p.feed(kHeader);
  p.feed(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
