// StreamParser: stream framing, restricted XML, limits (RFC 6120 §4, §4.9.3, §11).
#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

#include "xml/stream_parser.h"

namespace parley::xml {
namespace {

constexpr std::string_view kOpen =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' "
    "xml:lang='en' id='s1'>";

// Records every callback as a line of text so that whole runs can be compared.
struct Recorder {
  std::vector<std::string> events;
  ParseError error = ParseError::None;
  std::string detail;
  std::string ns;
  StreamParser* parser = nullptr;
  bool reset_on_proceed = false;

  StreamParser::Handler handler() {
    StreamParser::Handler h;
    h.on_open = [this](const Element& header, std::string_view default_ns) {
      ns = std::string(default_ns);
      events.push_back("open " + header.str() + " ns=" + ns);
    };
    h.on_element = [this](std::unique_ptr<Element> e) {
      events.push_back("element " + e->str(ns));
      if (reset_on_proceed && e->name() == "proceed") parser->reset();
    };
    h.on_close = [this] { events.push_back("close"); };
    h.on_error = [this](ParseError e, std::string_view d) {
      events.push_back("error " + std::string(to_condition(e)));
      error = e;
      detail = std::string(d);
    };
    h.on_whitespace = [this] { events.push_back("whitespace"); };
    return h;
  }
};

struct Harness {
  Recorder rec;
  StreamParser parser;
  explicit Harness(ParserLimits limits = {}) : parser(rec.handler(), limits) {
    rec.parser = &parser;
  }
};

TEST(StreamParserTest, DeliversHeaderStanzasWhitespaceAndClose) {
  Harness h;
  EXPECT_TRUE(h.parser.feed(kOpen));
  EXPECT_TRUE(h.parser.feed("<message to='a@b'><body>hi &amp; bye</body></message> \n"));
  EXPECT_TRUE(h.parser.feed("<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>"));
  EXPECT_TRUE(h.parser.feed("</stream:stream>"));
  std::vector<std::string> want = {
      "open <stream xmlns=\"http://etherx.jabber.org/streams\" to=\"example.com\" "
      "version=\"1.0\" xml:lang=\"en\" id=\"s1\"/> ns=jabber:client",
      "element <message to=\"a@b\"><body>hi &amp; bye</body></message>", "whitespace",
      "element <iq type=\"get\" id=\"1\"><ping xmlns=\"urn:xmpp:ping\"/></iq>", "close"};
  EXPECT_EQ(h.rec.events, want);
  EXPECT_FALSE(h.parser.failed());
}

TEST(StreamParserTest, StanzasCarryTheStreamNamespace) {
  Harness h;
  std::unique_ptr<Element> got;
  StreamParser::Handler handler;
  handler.on_element = [&](std::unique_ptr<Element> e) { got = std::move(e); };
  StreamParser p(std::move(handler));
  p.feed(kOpen);
  p.feed("<presence/>");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->xmlns(), "jabber:client");
  EXPECT_EQ(got->name(), "presence");
}

TEST(StreamParserTest, ByteByByteFeedingGivesTheSameEvents) {
  std::string input = std::string(kOpen) +
                      "<message id='\xC3\xA9t\xC3\xA9'><body>caf\xC3\xA9 &lt;3</body>"
                      "<x xmlns='urn:x' xmlns:p='urn:p' p:a='1'/></message>\t"
                      "<presence/></stream:stream>";
  Harness whole;
  whole.parser.feed(input);
  Harness split;
  for (char c : input) split.parser.feed(std::string_view(&c, 1));
  EXPECT_EQ(whole.rec.events, split.rec.events);
  EXPECT_EQ(whole.rec.events.size(), 5u);
  EXPECT_EQ(whole.rec.events.back(), "close");
}

TEST(StreamParserTest, RestartAfterReset) {
  Harness h;
  h.parser.feed(kOpen);
  h.parser.feed("<presence/>");
  h.parser.reset();
  EXPECT_TRUE(h.parser.feed(kOpen));  // a second XML declaration is fine on a new stream
  EXPECT_TRUE(h.parser.feed("<message/>"));
  ASSERT_EQ(h.rec.events.size(), 4u);
  EXPECT_EQ(h.rec.events[2].substr(0, 5), "open ");
  EXPECT_EQ(h.rec.events[3], "element <message/>");
}

// compact() between stanzas (a quiet connection): the events afterwards are exactly those of
// a parser that was never compacted, prefixes declared on the stream header included.
TEST(StreamParserTest, CompactBetweenStanzasChangesNothingVisible) {
  std::string open =
      "<s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams' "
      "xmlns:x='urn:example:x' to='example.com' version='1.0'>";
  std::vector<std::string> stanzas = {"<message id='1'><x:hint/><body>one</body></message>",
                                      "  <presence/>", "<iq id='2' x:flag='y' type='get'/>",
                                      "</s:stream>"};
  Harness plain, compacted;
  plain.parser.feed(open);
  compacted.parser.feed(open);
  for (const auto& s : stanzas) {
    plain.parser.feed(s);
    EXPECT_TRUE(compacted.parser.compact()) << "before " << s;
    EXPECT_TRUE(compacted.parser.compacted());
    compacted.parser.feed(s);
  }
  EXPECT_EQ(compacted.rec.events, plain.rec.events);
  ASSERT_EQ(plain.rec.events.size(), 6u);
  EXPECT_EQ(plain.rec.events[1],
            "element <message id=\"1\"><hint xmlns=\"urn:example:x\"/><body>one</body></message>");
  EXPECT_EQ(plain.rec.events.back(), "close");
}

TEST(StreamParserTest, CompactRefusesWhileAnythingIsBuffered) {
  Harness h;
  EXPECT_FALSE(h.parser.compact()) << "no stream yet";
  h.parser.feed(kOpen);
  h.parser.feed("<message><body>half");
  EXPECT_FALSE(h.parser.compact()) << "inside a stanza";
  h.parser.feed("</body></message><pres");
  EXPECT_FALSE(h.parser.compact()) << "a start tag is incomplete";
  h.parser.feed("ence/>");
  EXPECT_TRUE(h.parser.compact());
  EXPECT_FALSE(h.parser.compact()) << "already compacted";
  // Parsing goes on from the restored header.
  h.parser.feed("<message/>");
  EXPECT_EQ(h.rec.events.back(), "element <message/>");
  // And a stream restart from the compacted state is a fresh stream.
  EXPECT_TRUE(h.parser.compact());
  h.parser.reset();
  EXPECT_TRUE(h.parser.feed(kOpen));
  EXPECT_EQ(h.rec.events.back().substr(0, 5), "open ");
}

TEST(StreamParserTest, LimitsHoldAfterCompact) {
  ParserLimits limits;
  limits.max_stanza_bytes = 100;
  Harness h(limits);
  h.parser.feed(kOpen);
  h.parser.feed("<presence/>");
  ASSERT_TRUE(h.parser.compact());
  EXPECT_FALSE(h.parser.feed("<message><body>" + std::string(200, 'x') + "</body></message>"));
  EXPECT_EQ(h.rec.error, ParseError::PolicyViolation);
}

TEST(StreamParserTest, ResetAfterErrorClearsIt) {
  Harness h;
  h.parser.feed("<!-- x -->");
  EXPECT_TRUE(h.parser.failed());
  EXPECT_FALSE(h.parser.feed(kOpen));
  h.parser.reset();
  EXPECT_FALSE(h.parser.failed());
  EXPECT_TRUE(h.parser.feed(kOpen));
}

TEST(StreamParserTest, ResetFromHandlerDropsRestOfInput) {
  // STARTTLS (RFC 6120 §5.4.3.3): nothing after <proceed/> in the same read may reach the new
  // stream.
  Harness h;
  h.rec.reset_on_proceed = true;
  EXPECT_TRUE(h.parser.feed(std::string(kOpen) +
                            "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><injected/>"));
  EXPECT_TRUE(h.parser.feed(kOpen));
  EXPECT_TRUE(h.parser.feed("<after/>"));
  ASSERT_EQ(h.rec.events.size(), 4u);
  EXPECT_EQ(h.rec.events[1], "element <proceed xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"/>");
  EXPECT_EQ(h.rec.events[3], "element <after/>");
}

TEST(StreamParserTest, DataAfterCloseIsIgnored) {
  Harness h;
  h.parser.feed(std::string(kOpen) + "</stream:stream>");
  EXPECT_TRUE(h.parser.feed("<junk/>"));
  EXPECT_EQ(h.rec.events.back(), "close");
  EXPECT_FALSE(h.parser.failed());
}

struct ErrorCase {
  const char* name;
  std::string input;
  ParseError want;
};

class StreamParserErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(StreamParserErrorTest, ReportsConditionOnceAndStops) {
  const ErrorCase& c = GetParam();
  Harness h;
  EXPECT_FALSE(h.parser.feed(c.input));
  EXPECT_EQ(h.rec.error, c.want) << c.name << ": " << h.rec.detail;
  EXPECT_TRUE(h.parser.failed());
  // Nothing after the error, not even for more (valid) input.
  size_t n = h.rec.events.size();
  EXPECT_FALSE(h.parser.feed("<message/>"));
  EXPECT_EQ(h.rec.events.size(), n);
  EXPECT_EQ(h.rec.events.back().substr(0, 6), "error ");
  EXPECT_EQ(std::count_if(h.rec.events.begin(), h.rec.events.end(),
                          [](const std::string& e) { return e.starts_with("error"); }),
            1);
}

const std::string kOpenS(kOpen);

INSTANTIATE_TEST_SUITE_P(
    Conditions, StreamParserErrorTest,
    ::testing::Values(
        ErrorCase{"syntax", kOpenS + "<message><body></message>", ParseError::NotWellFormed},
        ErrorCase{"invalid_utf8", kOpenS + "<message>\xC3\x28</message>",
                  ParseError::NotWellFormed},
        ErrorCase{"undefined_entity", kOpenS + "<message>&foo;</message>",
                  ParseError::NotWellFormed},
        ErrorCase{"unbound_prefix", kOpenS + "<foo:bar/>", ParseError::NotWellFormed},
        ErrorCase{"comment_prolog", "<!-- hi --><stream:stream/>", ParseError::RestrictedXml},
        ErrorCase{"comment_stanza", kOpenS + "<message><!-- hi --></message>",
                  ParseError::RestrictedXml},
        ErrorCase{"pi", kOpenS + "<?foo bar?>", ParseError::RestrictedXml},
        ErrorCase{"doctype", "<?xml version='1.0'?><!DOCTYPE stream:stream>",
                  ParseError::RestrictedXml},
        ErrorCase{"billion_laughs",
                  "<!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;'>]><x>&b;</x>",
                  ParseError::RestrictedXml},
        ErrorCase{"encoding", "<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream/>",
                  ParseError::UnsupportedEncoding},
        ErrorCase{"namespace", "<stream:stream xmlns:stream='urn:wrong' xmlns='jabber:client'>",
                  ParseError::InvalidNamespace},
        ErrorCase{"no_namespace", "<stream>", ParseError::InvalidNamespace},
        ErrorCase{"root_name", "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>",
                  ParseError::BadFormat},
        ErrorCase{"text_at_stream_level", kOpenS + "hello", ParseError::BadFormat}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

// ----- limits: each is caught while the offending stanza is still arriving -------------------

ParserLimits small_limits() {
  ParserLimits l;
  l.max_stanza_bytes = 1000;
  l.max_depth = 4;
  l.max_attributes = 4;  // the stream header in kOpen has four
  l.max_attribute_bytes = 50;
  l.max_header_bytes = 300;
  return l;
}

TEST(StreamParserLimitTest, StanzaBytesRefusedMidText) {
  Harness h(small_limits());
  h.parser.feed(kOpen);
  EXPECT_TRUE(h.parser.feed("<message><body>"));
  // The stanza never ends; the parser must still refuse it once it crosses the limit.
  std::string chunk(600, 'x');
  EXPECT_TRUE(h.parser.feed(chunk));
  EXPECT_FALSE(h.parser.feed(chunk));
  EXPECT_EQ(h.rec.error, ParseError::PolicyViolation);
  EXPECT_EQ(h.rec.detail, "stanza too large");
}

TEST(StreamParserLimitTest, HugeTextNodeInOneFeedIsRefused) {
  ParserLimits l;
  l.max_stanza_bytes = 64 * 1024;
  Harness h(l);
  h.parser.feed(kOpen);
  std::string big = "<message><body>" + std::string(10 * 1024 * 1024, 'y');
  EXPECT_FALSE(h.parser.feed(big));
  EXPECT_EQ(h.rec.error, ParseError::PolicyViolation);
  // Only the open and the error: no partial stanza delivered.
  EXPECT_EQ(h.rec.events.size(), 2u);
}

TEST(StreamParserLimitTest, StanzaBytesRefusedInsideUnfinishedStartTag) {
  Harness h(small_limits());
  h.parser.feed(kOpen);
  // A start tag that never closes: expat reports nothing, the byte count must still stop it.
  EXPECT_TRUE(h.parser.feed("<message to='"));
  std::string chunk(400, 'z');
  bool ok = true;
  for (int i = 0; i < 5 && ok; ++i) ok = h.parser.feed(chunk);
  EXPECT_FALSE(ok);
  EXPECT_EQ(h.rec.error, ParseError::PolicyViolation);
}

TEST(StreamParserLimitTest, StanzaJustUnderLimitPasses) {
  Harness h(small_limits());
  h.parser.feed(kOpen);
  std::string stanza = "<message><body>" + std::string(900, 'a') + "</body></message>";
  ASSERT_LE(stanza.size(), 1000u);
  EXPECT_TRUE(h.parser.feed(stanza));
  EXPECT_TRUE(h.parser.feed(stanza));  // the count restarts per stanza
  EXPECT_EQ(h.rec.events.size(), 3u);
}

TEST(StreamParserLimitTest, DepthRefused) {
  Harness h(small_limits());
  h.parser.feed(kOpen);
  EXPECT_TRUE(h.parser.feed("<a><b><c><d>"));  // depth 4 is allowed
  EXPECT_FALSE(h.parser.feed("<e>"));
  EXPECT_EQ(h.rec.error, ParseError::PolicyViolation);
  EXPECT_EQ(h.rec.detail, "elements nested too deeply");
}

TEST(StreamParserLimitTest, AttributeCountRefused) {
  Harness h(small_limits());
  h.parser.feed(kOpen);
  EXPECT_TRUE(h.parser.feed("<message a='1' b='2' c='3' d='4'/>"));
  EXPECT_FALSE(h.parser.feed("<message><x a='1' b='2' c='3' d='4' e='5'/>"));
  EXPECT_EQ(h.rec.error, ParseError::PolicyViolation);
  EXPECT_EQ(h.rec.detail, "too many attributes");
  EXPECT_EQ(h.rec.events.size(), 3u);
}

TEST(StreamParserLimitTest, AttributeBytesRefused) {
  Harness h(small_limits());
  h.parser.feed(kOpen);
  EXPECT_FALSE(h.parser.feed("<message id='" + std::string(51, 'i') + "'>"));
  EXPECT_EQ(h.rec.error, ParseError::PolicyViolation);
  EXPECT_EQ(h.rec.detail, "attribute value too large");
}

TEST(StreamParserLimitTest, HeaderBytesRefused) {
  Harness h(small_limits());
  std::string open =
      "<stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' to='" +
      std::string(280, 'h');
  EXPECT_FALSE(h.parser.feed(open));  // refused before the tag is even complete
  EXPECT_EQ(h.rec.error, ParseError::PolicyViolation);
  EXPECT_EQ(h.rec.events.size(), 1u);
}

TEST(StreamParserLimitTest, DefaultsAreSane) {
  StreamParser p(StreamParser::Handler{});
  EXPECT_EQ(p.limits().max_stanza_bytes, 256u * 1024u);
  // Handlers may be empty: nothing to call, nothing to crash.
  EXPECT_TRUE(p.feed(std::string(kOpen) + "<message/> </stream:stream>"));
}

TEST(ParseErrorTest, ConditionNames) {
  EXPECT_EQ(to_condition(ParseError::NotWellFormed), "not-well-formed");
  EXPECT_EQ(to_condition(ParseError::RestrictedXml), "restricted-xml");
  EXPECT_EQ(to_condition(ParseError::PolicyViolation), "policy-violation");
  EXPECT_EQ(to_condition(ParseError::InvalidNamespace), "invalid-namespace");
  EXPECT_EQ(to_condition(ParseError::BadFormat), "bad-format");
  EXPECT_EQ(to_condition(ParseError::UnsupportedEncoding), "unsupported-encoding");
}

}  // namespace
}  // namespace parley::xml
