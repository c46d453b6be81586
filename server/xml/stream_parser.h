// Incremental XML stream parser (RFC 6120 §4, §11) on top of expat, namespace-aware.
// Limits are enforced while parsing: the parser stops at the byte that crosses a limit.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "xml/element.h"

namespace parley::xml {

struct ParserLimits {
  size_t max_stanza_bytes = 256 * 1024;   // raw bytes from a stanza's '<' to its end
  size_t max_depth = 32;                  // nesting below the stream root
  size_t max_attributes = 64;             // per element
  size_t max_attribute_bytes = 8 * 1024;  // one attribute value
  size_t max_header_bytes = 4 * 1024;     // the <stream:stream> open tag
};

// RFC 6120 §4.9.3 stream error conditions the parser can detect.
enum class ParseError {
  None,
  NotWellFormed,        // not-well-formed: syntax errors, invalid UTF-8
  RestrictedXml,        // restricted-xml: DTD, comments, PIs, entity declarations
  PolicyViolation,      // policy-violation: a limit was crossed (see `detail`)
  InvalidNamespace,     // invalid-namespace: root not in http://etherx.jabber.org/streams
  BadFormat,            // bad-format: e.g. the root element is not <stream>
  UnsupportedEncoding,  // unsupported-encoding: declared encoding other than UTF-8
};

std::string_view to_condition(ParseError e);  // the RFC 6120 condition element name

class StreamParser {
 public:
  struct Handler {
    // <stream:stream ...> opened. `header` holds the root's attributes (to, from, version,
    // xml:lang, id) and name/xmlns of the root; `default_ns` is its default namespace
    // (jabber:client, jabber:server, jabber:component:accept).
    std::function<void(const Element& header, std::string_view default_ns)> on_open;
    // A complete top-level child of the stream (a stanza, or a nonza such as <starttls/>).
    std::function<void(std::unique_ptr<Element> stanza)> on_element;
    // </stream:stream> received.
    std::function<void()> on_close;
    // A parse error; nothing more is delivered after this until reset().
    std::function<void(ParseError error, std::string_view detail)> on_error;
    // Whitespace between top-level elements (keepalives); optional.
    std::function<void()> on_whitespace;
  };

  StreamParser(Handler handler, ParserLimits limits = {});
  ~StreamParser();
  StreamParser(const StreamParser&) = delete;
  StreamParser& operator=(const StreamParser&) = delete;

  // Feed bytes. Returns false once an error was reported (further input is ignored).
  bool feed(std::string_view data);
  // Start over for a stream restart (after STARTTLS, after SASL success, RFC 6120 §4.3.3).
  void reset();
  // Frees expat's state (~10 KB) between stanzas of an open stream, when nothing is buffered:
  // for a connection that has gone quiet. The next feed() builds a new expat parser and
  // replays the stream header into it first (without reporting it again), so parsing goes on
  // exactly as before. Returns false, and changes nothing, anywhere else.
  bool compact();
  bool compacted() const;
  bool failed() const;
  const ParserLimits& limits() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::xml
