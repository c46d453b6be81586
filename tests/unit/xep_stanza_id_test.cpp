// XEP-0359 stanza-id / origin-id codec, the §5 business rules the helpers implement, and the
// stable archive id.
#include <gtest/gtest.h>

#include <set>

#include "xep/stanza_id.h"
#include "xep/stored_element.h"

namespace parley::xep::sid {
namespace {

xml::Element xml(std::string_view text) {
  auto e = load_element(text);
  if (!e) throw std::invalid_argument("bad test XML");
  return *e;
}

TEST(StanzaIdTest, DecodesAndEncodes) {
  auto s = parse_stanza_id(xml("<stanza-id xmlns='urn:xmpp:sid:0' id='de30' by='room@muc.lit'/>"));
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(*s, (StanzaId{"de30", "room@muc.lit"}));
  EXPECT_EQ(*parse_stanza_id(to_element(*s)), *s);
  auto o = parse_origin_id(xml("<origin-id xmlns='urn:xmpp:sid:0' id='abc'/>"));
  ASSERT_TRUE(o) << o.error();
  EXPECT_EQ(o->id, "abc");
  EXPECT_EQ(*parse_origin_id(to_element(*o)), *o);
}

TEST(StanzaIdTest, RejectsWhatRulesFiveAndSixForbid) {
  EXPECT_FALSE(parse_stanza_id(xml("<stanza-id xmlns='urn:xmpp:sid:0' id='a'/>")));
  EXPECT_FALSE(parse_stanza_id(xml("<stanza-id xmlns='urn:xmpp:sid:0' by='a@b'/>")));
  EXPECT_FALSE(
      parse_stanza_id(xml("<stanza-id xmlns='urn:xmpp:sid:0' id='a' by='b'>x</stanza-id>")));
  EXPECT_FALSE(parse_stanza_id(xml("<stanza-id xmlns='urn:xmpp:sid:1' id='a' by='b'/>")));
  EXPECT_FALSE(parse_origin_id(xml("<origin-id xmlns='urn:xmpp:sid:0'/>")));
  EXPECT_FALSE(parse_origin_id(xml("<origin-id xmlns='urn:xmpp:sid:0' id='a'><x/></origin-id>")));
}

TEST(StanzaIdTest, FindStripAndAdd) {
  auto m =
      xml("<message xmlns='jabber:client' id='m1'><body>hi</body>"
          "<stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='juliet@capulet.lit'/>"
          "<stanza-id xmlns='urn:xmpp:sid:0' id='room' by='room@muc.lit'/>"
          "<stanza-id xmlns='urn:xmpp:sid:0' id='nobody'/>"
          "<origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>");
  EXPECT_EQ(stanza_ids(m).size(), 2u);  // the one without 'by' is not valid
  EXPECT_EQ(find_stanza_id(m, "room@muc.lit")->id, "room");
  EXPECT_FALSE(find_stanza_id(m, "romeo@montague.lit"));
  EXPECT_EQ(find_origin_id(m), "o1");

  // §5 rule 2: the archive removes what claims to be its own (and here anything without 'by').
  size_t n = strip_stanza_ids(
      m, [](std::string_view by) { return by.empty() || by.ends_with("capulet.lit"); });
  EXPECT_EQ(n, 2u);
  EXPECT_FALSE(find_stanza_id(m, "juliet@capulet.lit"));
  EXPECT_TRUE(find_stanza_id(m, "room@muc.lit"));
  EXPECT_TRUE(m.child("body"));
  EXPECT_EQ(find_origin_id(m), "o1");  // §2.2: origin-id preserved

  // §5 rule 4: at most one per 'by'; adding replaces.
  add_stanza_id(m, {"a1", "juliet@capulet.lit"});
  add_stanza_id(m, {"a2", "juliet@capulet.lit"});
  auto ids = stanza_ids(m);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(find_stanza_id(m, "juliet@capulet.lit")->id, "a2");
}

TEST(StanzaIdTest, StableIdIsDeterministicAndUrlSafe) {
  std::string a = stable_id("romeo@m.lit", "juliet@c.lit", "id:1", "hello");
  EXPECT_EQ(a.size(), 24u);
  for (char c : a) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << a;
  EXPECT_EQ(a, stable_id("romeo@m.lit", "juliet@c.lit", "id:1", "hello"));
  // Every input matters, including the direction and field boundaries.
  std::set<std::string> ids = {a, stable_id("juliet@c.lit", "romeo@m.lit", "id:1", "hello"),
                               stable_id("romeo@m.lit", "juliet@c.lit", "id:2", "hello"),
                               stable_id("romeo@m.lit", "juliet@c.lit", "id:1", "hello!"),
                               stable_id("romeo@m.li", "tjuliet@c.lit", "id:1", "hello")};
  EXPECT_EQ(ids.size(), 5u);
}

TEST(StanzaIdTest, ArchiveIdOfAResentMessageIsTheSame) {
  auto sent = xml("<message xmlns='jabber:client' id='x1' type='chat'><body>hi</body></message>");
  auto resent = sent;
  resent.set("from", "romeo@m.lit/other-resource");  // resources do not take part
  EXPECT_EQ(archive_id(sent, "romeo@m.lit", "juliet@c.lit"),
            archive_id(resent, "romeo@m.lit", "juliet@c.lit"));
  // origin-id wins over the 'id' attribute (XEP-0359 §2.2: the client's own stable id).
  auto with_origin =
      xml("<message xmlns='jabber:client' id='x2' type='chat'><body>hi</body>"
          "<origin-id xmlns='urn:xmpp:sid:0' id='o'/></message>");
  auto with_origin2 = with_origin;
  with_origin2.set("id", "x3");
  EXPECT_EQ(archive_id(with_origin, "romeo@m.lit", "juliet@c.lit"),
            archive_id(with_origin2, "romeo@m.lit", "juliet@c.lit"));
  EXPECT_NE(archive_id(with_origin, "romeo@m.lit", "juliet@c.lit"),
            archive_id(sent, "romeo@m.lit", "juliet@c.lit"));
  // A different body under the same id is another message.
  auto edited = xml("<message xmlns='jabber:client' id='x1' type='chat'><body>ho</body></message>");
  EXPECT_NE(archive_id(edited, "romeo@m.lit", "juliet@c.lit"),
            archive_id(sent, "romeo@m.lit", "juliet@c.lit"));
  // Without any id: random, so never equal.
  auto anonymous = xml("<message xmlns='jabber:client'><body>hi</body></message>");
  EXPECT_NE(archive_id(anonymous, "a@b", "c@d"), archive_id(anonymous, "a@b", "c@d"));
  EXPECT_EQ(random_id().size(), 24u);
}

}  // namespace
}  // namespace parley::xep::sid
