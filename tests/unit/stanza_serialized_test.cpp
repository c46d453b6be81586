// stanza::Serialized: one serialization for many recipients, each copy with its own 'to'
// spliced into the start tag (MUC fan-out, DESIGN §3). A copy must read back exactly as the
// stanza with that 'to' set would.
#include <gtest/gtest.h>

#include <stdexcept>

#include "xml/element.h"
#include "xml/stanza.h"
#include "xml/stream_parser.h"

namespace parley::stanza {
namespace {

// One stanza read from a jabber:client stream, as a client would read it.
std::unique_ptr<xml::Element> reparse(const std::string& bytes) {
  std::unique_ptr<xml::Element> out;
  xml::StreamParser::Handler h;
  h.on_element = [&](std::unique_ptr<xml::Element> e) { out = std::move(e); };
  xml::StreamParser p(std::move(h));
  p.feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
  p.feed(bytes);
  return out;
}

xml::Element parse(const std::string& text) {
  auto e = reparse(text);
  EXPECT_TRUE(e) << text;
  return e ? *e : xml::Element("none");
}

// What the per-recipient path sends: a copy with 'to' set, serialized for the stream.
std::string per_recipient(const xml::Element& shared, const std::string& to) {
  xml::Element copy(shared);
  copy.set("to", to);
  return copy.str(kClientNs);
}

void expect_same_stanza(const std::string& a, const std::string& b) {
  auto x = reparse(a), y = reparse(b);
  ASSERT_TRUE(x) << a;
  ASSERT_TRUE(y) << b;
  // Attribute order may differ; everything else must not.
  EXPECT_EQ(x->name(), y->name());
  EXPECT_EQ(x->xmlns(), y->xmlns());
  ASSERT_EQ(x->attributes().size(), y->attributes().size()) << a << "\n" << b;
  for (const auto& at : x->attributes()) EXPECT_EQ(y->get(at.name), at.value) << at.name;
  x->remove("to");
  y->remove("to");
  xml::Element xs(*x), ys(*y);
  EXPECT_EQ(xs.str(kClientNs).size(), ys.str(kClientNs).size());
}

TEST(StanzaSerialized, CopyIsTheStanzaWithItsTo) {
  auto m = parse(
      "<message from='coven@groups.example/crone' type='groupchat' id='m1'>"
      "<body>Thrice the brinded cat hath mew&apos;d &amp; &lt;more&gt;</body>"
      "<stanza-id xmlns='urn:xmpp:sid:0' by='coven@groups.example' id='abc'/>"
      "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='o1'/></message>");
  Serialized s(m);
  EXPECT_EQ(s.bytes(), m.str(kClientNs));
  const std::string to = "wiccarocks@example.com/laptop";
  std::string copy = s.addressed_to(to);
  auto back = reparse(copy);
  ASSERT_TRUE(back) << copy;
  EXPECT_EQ(back->get("to"), to);
  EXPECT_EQ(back->get("from"), "coven@groups.example/crone");
  EXPECT_EQ(back->child_text("body"), "Thrice the brinded cat hath mew'd & <more>");
  ASSERT_NE(back->child("stanza-id", "urn:xmpp:sid:0"), nullptr);
  EXPECT_EQ(back->xmlns(), kClientNs);
  expect_same_stanza(copy, per_recipient(m, to));
  // The shared bytes are not changed by making copies.
  EXPECT_EQ(s.bytes(), m.str(kClientNs));
}

TEST(StanzaSerialized, EscapesTheRecipientJid) {
  auto p = parse("<presence from='coven@groups.example/crone'><show>away</show></presence>");
  Serialized s(p);
  for (const std::string to :
       {"hag@example.com/it's", "hag@example.com/a&b", "hag@example.com/\"q\"<x>",
        "hag@example.com/&amp;'\"", "h\xc3\xa4g@example.com/r\xc3\xa9sum\xc3\xa9"}) {
    std::string copy = s.addressed_to(to);
    auto back = reparse(copy);
    ASSERT_TRUE(back) << copy;
    EXPECT_EQ(back->get("to"), to) << copy;
    EXPECT_EQ(back->child_text("show"), "away");
    expect_same_stanza(copy, per_recipient(p, to));
  }
}

TEST(StanzaSerialized, EmptyStartTagWithoutAttributes) {
  xml::Element p("presence", std::string(kClientNs));
  Serialized s(p);
  EXPECT_EQ(s.bytes(), "<presence/>");
  EXPECT_EQ(s.addressed_to("a@b/c"), "<presence to=\"a@b/c\"/>");
  auto back = reparse(s.addressed_to("a@b/c"));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->get("to"), "a@b/c");
}

TEST(StanzaSerialized, NamespacesStayWhereTheyWere) {
  // A stanza not in the stream's namespace keeps its declaration; the 'to' goes before it.
  xml::Element odd("message", "jabber:server");
  odd.set("from", "a@b");
  odd.add("x", "urn:example:x").add("y").set("k", "v");
  Serialized s(odd);
  std::string copy = s.addressed_to("c@d/e");
  EXPECT_EQ(copy.rfind("<message to=\"c@d/e\" xmlns=\"jabber:server\"", 0), 0u) << copy;
  auto back = reparse(copy);
  ASSERT_TRUE(back) << copy;
  EXPECT_EQ(back->xmlns(), "jabber:server");
  EXPECT_EQ(back->get("to"), "c@d/e");
  ASSERT_NE(back->child("x", "urn:example:x"), nullptr);
  EXPECT_EQ(back->child("x", "urn:example:x")->child("y")->get("k"), "v");
  expect_same_stanza(copy, per_recipient(odd, "c@d/e"));

  // xml:lang and a qualified attribute (with its prefix declaration) on the stanza stay.
  xml::Element lang("message", std::string(kClientNs));
  lang.set("xml:lang", "en");
  lang.set("{urn:attr}flag", "1");
  lang.set("from", "a@b");
  Serialized l(lang);
  auto back2 = reparse(l.addressed_to("c@d/e"));
  ASSERT_TRUE(back2) << l.addressed_to("c@d/e");
  EXPECT_EQ(back2->get("to"), "c@d/e");
  EXPECT_EQ(back2->get("xml:lang"), "en");
  EXPECT_EQ(back2->get("{urn:attr}flag"), "1");
}

TEST(StanzaSerialized, RefusesAStanzaThatHasATo) {
  xml::Element m("message", std::string(kClientNs));
  m.set("to", "a@b");
  EXPECT_THROW(Serialized{m}, std::invalid_argument);
}

}  // namespace
}  // namespace parley::stanza
