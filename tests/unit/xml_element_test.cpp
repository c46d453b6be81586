// Element tree, serializer and stanza helpers (RFC 6120 §8.3).
#include <gtest/gtest.h>

#include "xml/element.h"
#include "xml/stanza.h"
#include "xml/stream_parser.h"

namespace parley::xml {
namespace {

// Parse one stanza from a jabber:client stream, for round trips through the real parser.
std::unique_ptr<Element> reparse(const std::string& stanza_xml) {
  std::unique_ptr<Element> out;
  StreamParser::Handler h;
  h.on_element = [&](std::unique_ptr<Element> e) { out = std::move(e); };
  StreamParser p(std::move(h));
  p.feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
  p.feed(stanza_xml);
  return out;
}

TEST(EscapeTest, TextEscapesMarkupCharacters) {
  std::string out;
  escape_text(out, "a & b < c > d \"q\" 'a'");
  EXPECT_EQ(out, "a &amp; b &lt; c &gt; d \"q\" 'a'");
}

TEST(EscapeTest, AttributeEscapesQuotesAndWhitespace) {
  std::string out;
  escape_attr(out, "<&>\"'\t\n\r");
  EXPECT_EQ(out, "&lt;&amp;&gt;&quot;&apos;&#9;&#10;&#13;");
}

TEST(EscapeTest, DropsCharactersThatAreNotXml) {
  std::string out;
  escape_text(out, std::string("a\x01"
                               "b\0c",
                               5));
  EXPECT_EQ(out, "abc");
}

TEST(ElementTest, TextAndAttributesRoundTripThroughParser) {
  Element msg("message", "jabber:client");
  std::string nasty = "<b>&amp; \"quotes\" 'apos' ]]> \t\r\n tail";
  msg.set("id", nasty);
  msg.text_child("body", nasty);
  std::string wire = msg.str("jabber:client");
  auto back = reparse(wire);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->get("id"), nasty);
  EXPECT_EQ(back->child_text("body"), nasty);
  EXPECT_EQ(back->str("jabber:client"), wire);
}

// Found by fuzz_stream_parser: an element in the xml namespace (<xml:foo/>) must keep its
// predeclared prefix; xmlns="http://www.w3.org/XML/1998/namespace" is not well-formed.
TEST(ElementTest, ElementInTheXmlNamespaceKeepsItsPrefix) {
  auto parsed = reparse("<message><xml:note><body>hi</body></xml:note></message>");
  ASSERT_TRUE(parsed);
  std::string wire = parsed->str("jabber:client");
  EXPECT_EQ(wire, "<message><xml:note><body>hi</body></xml:note></message>");
  auto again = reparse(wire);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->str("jabber:client"), wire);
}

TEST(ElementTest, WritesXmlnsOnlyWhereItChanges) {
  Element iq("iq", "jabber:client");
  iq.set("type", "get");
  Element& query = iq.add("query", "jabber:iq:roster");
  query.add("item").set("jid", "a@b");
  EXPECT_EQ(iq.str("jabber:client"),
            "<iq type=\"get\"><query xmlns=\"jabber:iq:roster\"><item jid=\"a@b\"/></query></iq>");
  EXPECT_EQ(iq.str(),
            "<iq xmlns=\"jabber:client\" type=\"get\"><query xmlns=\"jabber:iq:roster\">"
            "<item jid=\"a@b\"/></query></iq>");
}

TEST(ElementTest, ElementWithoutNamespaceUndeclaresDefault) {
  Element outer("x", "urn:a");
  outer.add(Element("plain"));
  EXPECT_EQ(outer.str(), "<x xmlns=\"urn:a\"><plain xmlns=\"\"/></x>");
}

TEST(ElementTest, XmlLangStaysXmlLang) {
  Element m("message", "jabber:client");
  m.set("xml:lang", "en");
  EXPECT_EQ(m.str("jabber:client"), "<message xml:lang=\"en\"/>");
  auto back = reparse(m.str("jabber:client"));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->get("xml:lang"), "en");
}

TEST(ElementTest, QualifiedAttributeGetsPrefixDeclaration) {
  Element e("item", "urn:x");
  e.set("{urn:attr}flag", "1");
  e.set("{urn:other}}flag", "2");
  EXPECT_EQ(
      e.str("urn:x"),
      "<item xmlns:ns1=\"urn:attr\" ns1:flag=\"1\" xmlns:ns2=\"urn:other}\" ns2:flag=\"2\"/>");
  auto back = reparse("<message>" + e.str("jabber:client") + "</message>");
  ASSERT_TRUE(back);
  const Element* item = back->child("item", "urn:x");
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->get("{urn:attr}flag"), "1");
  EXPECT_EQ(item->get("{urn:other}}flag"), "2");
}

TEST(ElementTest, DeepCopyIsIndependent) {
  Element a("message", "jabber:client");
  a.text_child("body", "hi").set("k", "v");
  Element b = a;
  b.child("body")->add_text(" there");
  b.child("body")->set("k", "w");
  EXPECT_EQ(a.child_text("body"), "hi");
  EXPECT_EQ(a.child("body")->get("k"), "v");
  EXPECT_EQ(b.child_text("body"), "hi there");
  Element c;
  c = b;
  EXPECT_EQ(c.str(), b.str());
}

TEST(ElementTest, ChildLookupDefaultsToOwnNamespace) {
  Element m("message", "jabber:client");
  m.add("body");
  m.add("body", "urn:other");
  m.add("thread");
  ASSERT_NE(m.child("body"), nullptr);
  EXPECT_EQ(m.child("body")->xmlns(), "jabber:client");
  EXPECT_EQ(m.child("body", "urn:other")->xmlns(), "urn:other");
  EXPECT_EQ(m.child("subject"), nullptr);
  EXPECT_EQ(m.children("body").size(), 1u);
  EXPECT_EQ(m.children().size(), 3u);
  EXPECT_EQ(m.children({}, "urn:other").size(), 1u);
  EXPECT_EQ(m.child_ns("urn:other"), m.child("body", "urn:other"));
  m.remove_children("body");
  EXPECT_EQ(m.children().size(), 2u);
  EXPECT_EQ(m.first_child()->xmlns(), "urn:other");
}

TEST(ElementTest, AttributesSetReplaceRemove) {
  Element e("a");
  e.set("x", "1").set("y", "2").set("x", "3");
  ASSERT_EQ(e.attributes().size(), 2u);
  EXPECT_EQ(e.get("x"), "3");
  e.remove("x");
  EXPECT_FALSE(e.has("x"));
  EXPECT_EQ(e.attr("x"), nullptr);
  EXPECT_EQ(e.get("x"), "");
}

TEST(ElementTest, AdjacentTextIsMerged) {
  Element e("a");
  e.add_text("x").add_text("y");
  EXPECT_EQ(e.nodes().size(), 1u);
  EXPECT_EQ(e.text(), "xy");
  EXPECT_GT(e.byte_size(), sizeof(Element));
}

}  // namespace
}  // namespace parley::xml

namespace parley::stanza {
namespace {

xml::Element make(std::string name) {
  xml::Element e(std::move(name), std::string(kClientNs));
  e.set("id", "a1").set("from", "juliet@example.com/balcony").set("to", "romeo@example.net");
  return e;
}

TEST(StanzaTest, DefaultTypesFollowRfc6120) {
  EXPECT_EQ(default_type("bad-request"), ErrorType::Modify);
  EXPECT_EQ(default_type("forbidden"), ErrorType::Auth);
  EXPECT_EQ(default_type("item-not-found"), ErrorType::Cancel);
  EXPECT_EQ(default_type("recipient-unavailable"), ErrorType::Wait);
  EXPECT_EQ(default_type("service-unavailable"), ErrorType::Cancel);
  EXPECT_EQ(default_type("registration-required"), ErrorType::Auth);
  EXPECT_EQ(default_type("redirect"), ErrorType::Modify);
  EXPECT_EQ(default_type("no-such-condition"), ErrorType::Cancel);
  EXPECT_EQ(to_string(ErrorType::Continue), "continue");
}

TEST(StanzaTest, IqErrorDropsPayloadAndSwapsAddresses) {
  xml::Element iq = make("iq");
  iq.set("type", "get");
  iq.add("query", "jabber:iq:version");
  xml::Element reply = error_reply(iq, "feature-not-implemented", "no version");
  EXPECT_EQ(reply.str("jabber:client"),
            "<iq id=\"a1\" to=\"juliet@example.com/balcony\" from=\"romeo@example.net\" "
            "type=\"error\"><error type=\"cancel\">"
            "<feature-not-implemented xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/>"
            "<text xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\">no version</text></error></iq>");
  EXPECT_TRUE(is_error(reply));
  EXPECT_FALSE(is_error(iq));
}

TEST(StanzaTest, MessageErrorKeepsChildren) {
  xml::Element msg = make("message");
  msg.text_child("body", "hello");
  xml::Element reply = error_reply(msg, ErrorType::Wait, "recipient-unavailable");
  EXPECT_EQ(reply.child_text("body"), "hello");
  const xml::Element* err = reply.child("error");
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->get("type"), "wait");
  EXPECT_NE(err->child("recipient-unavailable", kStanzasNs), nullptr);
  EXPECT_EQ(err->child("text", kStanzasNs), nullptr);
}

TEST(StanzaTest, IqResultCarriesIdAndPayload) {
  xml::Element iq = make("iq");
  iq.set("type", "get");
  iq.add("ping", "urn:xmpp:ping");
  xml::Element r = iq_result(iq);
  EXPECT_EQ(r.str("jabber:client"),
            "<iq id=\"a1\" to=\"juliet@example.com/balcony\" from=\"romeo@example.net\" "
            "type=\"result\"/>");
  xml::Element r2 = iq_result(iq, xml::Element("query", "jabber:iq:version"));
  ASSERT_NE(r2.child_ns("jabber:iq:version"), nullptr);
}

}  // namespace
}  // namespace parley::stanza
