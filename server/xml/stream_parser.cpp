// Incremental, namespace-aware XML stream parser on expat (RFC 6120 §4, §11).
//
// expat is created with a namespace separator, so element and attribute names arrive as
// "uri<SEP>local" (or just "local" when in no namespace). Everything RFC 6120 §11.1 calls
// restricted XML is refused from its handler, and every limit is checked from inside the
// handlers (XML_StopParser) plus, between input chunks, against the bytes expat holds but has
// not yet reported (a start tag or an entity that is still incomplete).
#include "xml/stream_parser.h"

#include <expat.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "xml/stanza.h"

namespace parley::xml {

namespace {

// Space cannot occur in an XML name, so the last one separates namespace URI and local name.
constexpr char kNsSep = ' ';
// Input is handed to expat in slices of this size so that the bytes expat buffers for one
// unfinished token stay within a limit plus one slice.
constexpr size_t kSliceBytes = 16 * 1024;

void split_name(const char* raw, std::string& uri, std::string& local) {
  std::string_view n(raw);
  size_t sep = n.rfind(kNsSep);
  if (sep == std::string_view::npos) {
    uri.clear();
    local.assign(n);
  } else {
    uri.assign(n.substr(0, sep));
    local.assign(n.substr(sep + 1));
  }
}

// Attribute names in the Element model: "local", "xml:lang", or "{uri}local".
std::string attribute_name(const char* raw) {
  std::string_view n(raw);
  size_t sep = n.rfind(kNsSep);
  if (sep == std::string_view::npos) return std::string(n);
  std::string_view uri = n.substr(0, sep);
  std::string_view local = n.substr(sep + 1);
  if (uri == kXmlNs) return "xml:" + std::string(local);
  std::string out;
  out.reserve(uri.size() + local.size() + 2);
  out += '{';
  out += uri;
  out += '}';
  out += local;
  return out;
}

bool is_xml_whitespace(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

}  // namespace

std::string_view to_condition(ParseError e) {
  switch (e) {
    case ParseError::None:
      return "";
    case ParseError::NotWellFormed:
      return "not-well-formed";
    case ParseError::RestrictedXml:
      return "restricted-xml";
    case ParseError::PolicyViolation:
      return "policy-violation";
    case ParseError::InvalidNamespace:
      return "invalid-namespace";
    case ParseError::BadFormat:
      return "bad-format";
    case ParseError::UnsupportedEncoding:
      return "unsupported-encoding";
  }
  return "undefined-condition";
}

struct StreamParser::Impl {
  Handler handler;
  ParserLimits limits;
  XML_Parser parser = nullptr;

  enum class State { Prolog, Open, Closed, Failed };
  State state = State::Prolog;

  // Byte accounting, all in expat's per-document byte index (restarts at 0 on reset()).
  long long fed = 0;           // bytes handed to expat so far
  long long mark = 0;          // end of the last event at stream level
  long long stanza_start = 0;  // index of the current top-level element's '<'

  std::string default_ns;  // the root's default namespace declaration
  size_t depth = 0;        // 0 = stream level, 1 = inside a top-level element, ...
  std::unique_ptr<Element> stanza;
  std::vector<Element*> stack;  // open elements of `stanza`, innermost last

  bool whitespace_reported = false;  // one on_whitespace per run, however expat splits it
  bool in_feed = false;
  bool replaying = false;        // feeding header_raw to a fresh parser after compact()
  std::string header_raw;        // the stream's open tag as received, for compact()
  bool reset_requested = false;  // reset() called from a handler; done when expat returns

  std::string scratch_uri, scratch_local;

  void create() {
    parser = XML_ParserCreateNS("UTF-8", kNsSep);
    if (!parser) throw std::bad_alloc();
    install();
  }

  void install() {
    XML_SetUserData(parser, this);
    XML_SetElementHandler(parser, &Impl::on_start, &Impl::on_end);
    XML_SetCharacterDataHandler(parser, &Impl::on_chars);
    XML_SetStartNamespaceDeclHandler(parser, &Impl::on_ns_decl);
    XML_SetXmlDeclHandler(parser, &Impl::on_xml_decl);
    // RFC 6120 §11.1: no comments, processing instructions, DTDs or entity declarations.
    XML_SetCommentHandler(parser, &Impl::on_comment);
    XML_SetProcessingInstructionHandler(parser, &Impl::on_pi);
    XML_SetStartDoctypeDeclHandler(parser, &Impl::on_doctype);
    XML_SetEntityDeclHandler(parser, &Impl::on_entity_decl);
    XML_SetParamEntityParsing(parser, XML_PARAM_ENTITY_PARSING_NEVER);
    // An interactive protocol needs every complete token now, not when more data arrives
    // (expat >= 2.6, backported to Debian 12's 2.5.0).
    XML_SetReparseDeferralEnabled(parser, XML_FALSE);
  }

  void clear_state() {
    state = State::Prolog;
    fed = mark = stanza_start = 0;
    default_ns.clear();
    depth = 0;
    whitespace_reported = false;
    stanza.reset();
    stack.clear();
    reset_requested = false;
  }

  void do_reset() {
    if (parser) {
      XML_ParserReset(parser, "UTF-8");
      install();
    } else {
      create();
    }
    clear_state();
    header_raw.clear();
  }

  bool compact() {
    if (!parser || in_feed || state != State::Open || depth != 0 || fed != mark ||
        header_raw.empty())
      return false;
    XML_ParserFree(parser);
    parser = nullptr;
    std::string().swap(scratch_uri);
    std::string().swap(scratch_local);
    std::vector<Element*>().swap(stack);
    return true;
  }

  // After compact(): a new parser that has seen the same stream header. Byte accounting
  // restarts with expat's own index.
  void restore() {
    create();
    state = State::Prolog;  // the replayed header opens the stream again, silently
    replaying = true;
    XML_Status status =
        XML_Parse(parser, header_raw.data(), static_cast<int>(header_raw.size()), XML_FALSE);
    replaying = false;
    if (status != XML_STATUS_OK || state != State::Open) {
      fail(ParseError::NotWellFormed, "stream header could not be restored");
      return;
    }
    fed = mark = static_cast<long long>(header_raw.size());
  }

  // Report an error once, stop expat, drop the partial stanza.
  void fail(ParseError e, std::string_view detail) {
    if (state == State::Failed) return;
    state = State::Failed;
    stanza.reset();
    stack.clear();
    XML_StopParser(parser, XML_FALSE);
    if (handler.on_error) handler.on_error(e, detail);
  }

  bool active() const {
    return state != State::Failed && state != State::Closed && !reset_requested;
  }

  long long event_end() const {
    return XML_GetCurrentByteIndex(parser) + XML_GetCurrentByteCount(parser);
  }

  // The current top-level element may not grow past max_stanza_bytes (checked per event).
  bool check_stanza_bytes(long long end) {
    if (depth > 0 && static_cast<size_t>(end - stanza_start) > limits.max_stanza_bytes) {
      fail(ParseError::PolicyViolation, "stanza too large");
      return false;
    }
    return true;
  }

  static Impl* self(void* ud) { return static_cast<Impl*>(ud); }

  static void XMLCALL on_xml_decl(void* ud, const XML_Char* version, const XML_Char* encoding,
                                  int standalone) {
    Impl* p = self(ud);
    if (!p->active()) return;
    // RFC 6120 §11.6: UTF-8 only.
    if (encoding && !iequals(encoding, "UTF-8")) {
      p->fail(ParseError::UnsupportedEncoding, "only UTF-8 is supported");
    }
  }

  static void XMLCALL on_comment(void* ud, const XML_Char*) { self(ud)->restricted("comment"); }
  static void XMLCALL on_pi(void* ud, const XML_Char*, const XML_Char*) {
    self(ud)->restricted("processing instruction");
  }
  static void XMLCALL on_doctype(void* ud, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    self(ud)->restricted("document type declaration");
  }
  static void XMLCALL on_entity_decl(void* ud, const XML_Char*, int, const XML_Char*, int,
                                     const XML_Char*, const XML_Char*, const XML_Char*,
                                     const XML_Char*) {
    self(ud)->restricted("entity declaration");
  }
  void restricted(std::string_view what) {
    if (!active()) return;
    fail(ParseError::RestrictedXml, what);
  }

  static void XMLCALL on_ns_decl(void* ud, const XML_Char* prefix, const XML_Char* uri) {
    Impl* p = self(ud);
    // Declarations on the root arrive before its start tag; the unprefixed one is the
    // content namespace (RFC 6120 §4.8.2).
    if (p->state == State::Prolog && prefix == nullptr) p->default_ns = uri ? uri : "";
  }

  static void XMLCALL on_start(void* ud, const XML_Char* name, const XML_Char** atts) {
    Impl* p = self(ud);
    if (!p->active()) return;
    if (p->state == State::Prolog) {
      p->open_stream(name, atts);
      return;
    }
    long long start = XML_GetCurrentByteIndex(p->parser);
    if (p->depth == 0) {
      p->stanza_start = start;
      p->whitespace_reported = false;
    }
    ++p->depth;
    if (!p->check_stanza_bytes(p->event_end())) return;
    if (p->depth > p->limits.max_depth) {
      p->fail(ParseError::PolicyViolation, "elements nested too deeply");
      return;
    }
    auto element = std::make_unique<Element>();
    if (!p->fill(*element, name, atts)) return;
    if (p->depth == 1) {
      p->stanza = std::move(element);
      p->stack.push_back(p->stanza.get());
    } else {
      Element& added = p->stack.back()->add(std::move(*element));
      p->stack.push_back(&added);
    }
  }

  // Names, namespace and attributes of a start tag, with the attribute limits.
  bool fill(Element& e, const XML_Char* name, const XML_Char** atts) {
    split_name(name, scratch_uri, scratch_local);
    e.set_xmlns(scratch_uri);
    e.set_name(scratch_local);
    size_t count = 0;
    for (const XML_Char** a = atts; a[0]; a += 2) {
      if (++count > limits.max_attributes) {
        fail(ParseError::PolicyViolation, "too many attributes");
        return false;
      }
      if (std::strlen(a[1]) > limits.max_attribute_bytes) {
        fail(ParseError::PolicyViolation, "attribute value too large");
        return false;
      }
      e.set(attribute_name(a[0]), a[1]);
    }
    return true;
  }

  void open_stream(const XML_Char* name, const XML_Char** atts) {
    if (replaying) {  // restore(): already checked and reported once
      state = State::Open;
      return;
    }
    if (static_cast<size_t>(event_end()) > limits.max_header_bytes) {
      fail(ParseError::PolicyViolation, "stream header too large");
      return;
    }
    Element header;
    if (!fill(header, name, atts)) return;
    // RFC 6120 §4.9.3.10: the root must be in the streams namespace; §4.9.3.1 bad-format
    // for a root that is not <stream>.
    if (header.xmlns() != stanza::kStreamNs) {
      fail(ParseError::InvalidNamespace, "root element is not in the streams namespace");
      return;
    }
    if (header.name() != "stream") {
      fail(ParseError::BadFormat, "root element is not <stream>");
      return;
    }
    state = State::Open;
    mark = event_end();
    // Kept for compact(): the open tag exactly as it came (prefixes and namespace declarations
    // included), which expat's input context still holds while it reports the tag.
    int offset = 0, size = 0;
    const char* context = XML_GetInputContext(parser, &offset, &size);
    int count = XML_GetCurrentByteCount(parser);
    if (context && offset >= 0 && count > 0 && offset + count <= size)
      header_raw.assign(context + offset, static_cast<size_t>(count));
    if (handler.on_open) handler.on_open(header, default_ns);
  }

  static void XMLCALL on_end(void* ud, const XML_Char*) {
    Impl* p = self(ud);
    if (!p->active()) return;
    if (p->depth == 0) {
      // </stream:stream> (RFC 6120 §4.4). Stop so that trailing bytes are not parsed as
      // junk after the document element.
      p->state = State::Closed;
      p->mark = p->event_end();
      XML_StopParser(p->parser, XML_FALSE);
      if (p->handler.on_close) p->handler.on_close();
      return;
    }
    long long end = p->event_end();
    if (!p->check_stanza_bytes(end)) return;
    p->stack.pop_back();
    --p->depth;
    if (p->depth == 0) {
      p->mark = end;
      std::unique_ptr<Element> done = std::move(p->stanza);
      if (p->handler.on_element) p->handler.on_element(std::move(done));
    }
  }

  static void XMLCALL on_chars(void* ud, const XML_Char* s, int len) {
    Impl* p = self(ud);
    if (!p->active() || p->state != State::Open) return;
    std::string_view text(s, static_cast<size_t>(len));
    if (p->depth == 0) {
      // RFC 6120 §4.6.1: whitespace between stanzas is a keepalive. Other text at the stream
      // level is well-formed XML but not a stanza, so it cannot be processed (§4.9.3.1).
      if (!is_xml_whitespace(text)) {
        p->fail(ParseError::BadFormat, "character data at stream level");
        return;
      }
      p->mark = p->event_end();
      if (!p->whitespace_reported && p->handler.on_whitespace) p->handler.on_whitespace();
      p->whitespace_reported = true;
      return;
    }
    if (!p->check_stanza_bytes(p->event_end())) return;
    p->stack.back()->add_text(text);
  }

  // Between slices: bytes expat holds without having reported them yet (an unfinished start
  // tag, a stanza in progress) count against the limit that applies where they sit.
  bool check_pending() {
    if (state == State::Prolog) {
      if (static_cast<size_t>(fed) > limits.max_header_bytes) {
        fail(ParseError::PolicyViolation, "stream header too large");
        return false;
      }
    } else if (state == State::Open) {
      long long from = depth > 0 ? stanza_start : mark;
      if (static_cast<size_t>(fed - from) > limits.max_stanza_bytes) {
        fail(ParseError::PolicyViolation, "stanza too large");
        return false;
      }
    }
    return true;
  }

  void parse_error() {
    XML_Error code = XML_GetErrorCode(parser);
    std::string detail = XML_ErrorString(code);
    switch (code) {
      case XML_ERROR_UNKNOWN_ENCODING:
      case XML_ERROR_INCORRECT_ENCODING:
        fail(ParseError::UnsupportedEncoding, detail);
        break;
      // Should a DTD slip past the handlers (e.g. a parameter entity), it is still restricted.
      case XML_ERROR_PARAM_ENTITY_REF:
      case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
      case XML_ERROR_NOT_STANDALONE:
      case XML_ERROR_ENTITY_DECLARED_IN_PE:
        fail(ParseError::RestrictedXml, detail);
        break;
      default:
        fail(ParseError::NotWellFormed, detail);
    }
  }

  bool feed(std::string_view data) {
    if (!parser && !data.empty()) restore();
    while (!data.empty() && active()) {
      size_t n = std::min(data.size(), kSliceBytes);
      in_feed = true;
      XML_Status status = XML_Parse(parser, data.data(), static_cast<int>(n), XML_FALSE);
      in_feed = false;
      fed += static_cast<long long>(n);
      data.remove_prefix(n);
      if (reset_requested) {
        // reset() from inside a handler (e.g. <proceed/> for STARTTLS). Bytes that followed
        // in this call belong to the old stream and are dropped: carrying them across a TLS
        // or SASL boundary would allow command injection (RFC 6120 §5.3.3).
        do_reset();
        return true;
      }
      if (status == XML_STATUS_ERROR && (state == State::Prolog || state == State::Open)) {
        parse_error();
      }
      if (state == State::Failed) return false;
      if (state == State::Closed) return true;
      if (!check_pending()) return false;
    }
    return state != State::Failed;
  }
};

StreamParser::StreamParser(Handler handler, ParserLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->limits = limits;
  impl_->create();
}

bool StreamParser::compact() {
  return impl_->compact();
}

bool StreamParser::compacted() const {
  return impl_->parser == nullptr;
}

StreamParser::~StreamParser() {
  if (impl_ && impl_->parser) XML_ParserFree(impl_->parser);
}

bool StreamParser::feed(std::string_view data) {
  if (impl_->state == Impl::State::Failed) return false;
  return impl_->feed(data);
}

void StreamParser::reset() {
  if (impl_->in_feed) {
    // expat must not be reset from its own callbacks; finish when XML_Parse returns.
    impl_->reset_requested = true;
    XML_StopParser(impl_->parser, XML_FALSE);
    return;
  }
  impl_->do_reset();
}

bool StreamParser::failed() const {
  return impl_->state == Impl::State::Failed;
}

const ParserLimits& StreamParser::limits() const {
  return impl_->limits;
}

}  // namespace parley::xml
