// The mam module's protocol layer (XEP-0313 queries in three namespaces, XEP-0441
// preferences) and its archiving policy, without a server. The module's sources are compiled
// into the module, so the test builds them directly.
#include <gtest/gtest.h>

#include "../../modules/mam/archive_store.cpp"  // NOLINT(bugprone-suspicious-include)
#include "../../modules/mam/policy.cpp"         // NOLINT(bugprone-suspicious-include)
#include "../../modules/mam/protocol.cpp"       // NOLINT(bugprone-suspicious-include)
#include "xep/stored_element.h"

namespace parley::mam {
namespace {

xml::Element xml(std::string_view text) {
  auto e = xep::load_element(text);
  if (!e) throw std::invalid_argument("bad test XML");
  return *e;
}

Jid jid(std::string_view s) {
  auto j = Jid::parse(s);
  if (!j) throw std::invalid_argument("bad test JID");
  return *j;
}

std::variant<Query, RequestError> parse(std::string_view text, PageLimits limits = {}) {
  return parse_query(xml(text), limits);
}

std::string error_of(std::string_view text) {
  auto r = parse(text);
  auto* e = std::get_if<RequestError>(&r);
  return e ? e->condition : "";
}

TEST(MamProtocolTest, ParsesTheXepsFullQuery) {
  auto r = parse(
      "<query xmlns='urn:xmpp:mam:2' queryid='f27'>"
      "<x xmlns='jabber:x:data' type='submit'>"
      "<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>"
      "<field var='with'><value>Juliet@Capulet.lit/Balcony</value></field>"
      "<field var='start'><value>2010-06-07T00:00:00Z</value></field>"
      "<field var='end'><value>2010-07-07T13:23:54Z</value></field>"
      "<field var='after-id'><value>a1</value></field>"
      "<field var='before-id'><value>b1</value></field>"
      "<field var='ids'><value>i1</value><value>i2</value></field>"
      "<field var='include-groupchat'><value>false</value></field>"
      "</x><set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before/></set>"
      "<flip-page/></query>");
  ASSERT_TRUE(std::holds_alternative<Query>(r)) << std::get<RequestError>(r).text;
  const Query& q = std::get<Query>(r);
  EXPECT_EQ(q.ns, "urn:xmpp:mam:2");
  EXPECT_EQ(q.queryid, "f27");
  EXPECT_EQ(q.filter.with, "juliet@capulet.lit");  // normalized, bare
  EXPECT_EQ(q.filter.with_resource, "Balcony");
  EXPECT_EQ(q.filter.start, 1275868800000);
  EXPECT_EQ(q.filter.end, 1278509034000);
  EXPECT_EQ(q.filter.after_id, "a1");
  EXPECT_EQ(q.filter.before_id, "b1");
  EXPECT_EQ(q.filter.ids, (std::vector<std::string>{"i1", "i2"}));
  EXPECT_EQ(q.page.max, 10);
  EXPECT_EQ(q.page.before, "");
  EXPECT_TRUE(q.flip);
}

TEST(MamProtocolTest, DefaultsAndLimitsThePage) {
  auto plain = parse("<query xmlns='urn:xmpp:mam:2'/>", {7, 20});
  ASSERT_TRUE(std::holds_alternative<Query>(plain));
  EXPECT_EQ(std::get<Query>(plain).page.max, 7);
  EXPECT_FALSE(std::get<Query>(plain).filter.with);
  auto big = parse(
      "<query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'>"
      "<max>5000</max></set></query>",
      {7, 20});
  EXPECT_EQ(std::get<Query>(big).page.max, 20);  // §4.3.1: the server's limit
}

TEST(MamProtocolTest, OlderNamespacesKnowOnlyTheBasicFields) {
  EXPECT_EQ(error_of("<query xmlns='urn:xmpp:mam:1'><x xmlns='jabber:x:data' type='submit'>"
                     "<field var='FORM_TYPE'><value>urn:xmpp:mam:1</value></field>"
                     "<field var='with'><value>a@b</value></field></x></query>"),
            "");
  EXPECT_EQ(error_of("<query xmlns='urn:xmpp:mam:1'><x xmlns='jabber:x:data' type='submit'>"
                     "<field var='after-id'><value>x</value></field></x></query>"),
            "feature-not-implemented");
  // flip-page is mam:2's; elsewhere it is not ours and is left alone.
  auto v0 = parse("<query xmlns='urn:xmpp:mam:0'><flip-page xmlns='urn:xmpp:mam:0'/></query>");
  EXPECT_FALSE(std::get<Query>(v0).flip);
}

TEST(MamProtocolTest, RefusesBadQueries) {
  const std::string form = "<x xmlns='jabber:x:data' type='submit'>";
  auto q = [](const std::string& inner) {
    return "<query xmlns='urn:xmpp:mam:2'>" + inner + "</query>";
  };
  EXPECT_EQ(error_of(q(form + "<field var='start'><value>soon</value></field></x>")),
            "bad-request");
  EXPECT_EQ(error_of(q(form + "<field var='with'><value>a@@b</value></field></x>")),
            "jid-malformed");
  EXPECT_EQ(error_of(q(form + "<field var='FORM_TYPE'><value>urn:xmpp:mam:1</value></field></x>")),
            "bad-request");
  EXPECT_EQ(error_of(q(form + "<field var='fulltext'><value>x</value></field></x>")),
            "feature-not-implemented");
  EXPECT_EQ(error_of(q("<x xmlns='jabber:x:data' type='form'/>")), "bad-request");
  EXPECT_EQ(error_of(q("<x xmlns='jabber:x:data'/>")), "bad-request");
  EXPECT_EQ(error_of(q("<set xmlns='http://jabber.org/protocol/rsm'><after/></set>")),
            "bad-request");
  EXPECT_EQ(error_of(q(form + "<field var='include-groupchat'><value>maybe</value></field></x>")),
            "bad-request");
}

TEST(MamProtocolTest, FinDescribesThePage) {
  Query q;
  q.ns = "urn:xmpp:mam:0";
  q.queryid = "x";
  Page page;
  page.messages.resize(2);
  page.messages[0].id = "a";
  page.messages[1].id = "b";
  page.complete = false;
  page.count = 9;
  page.first_index = 3;
  xml::Element f = fin(q, page);
  EXPECT_EQ(f.xmlns(), "urn:xmpp:mam:0");
  EXPECT_EQ(f.get("queryid"), "x");  // mam:0 carries it: the fin is a message of its own
  EXPECT_EQ(f.get("complete"), "false");
  auto set = xep::rsm::parse_response(*f.child("set", xep::rsm::kNs));
  ASSERT_TRUE(set);
  EXPECT_EQ(*set, (xep::rsm::Response{"a", 3, "b", 9}));
  // An empty page has the count only (XEP-0059 §2.1).
  q.ns = "urn:xmpp:mam:2";
  Page empty;
  xml::Element e = fin(q, empty);
  EXPECT_FALSE(e.has("queryid"));
  EXPECT_EQ(e.get("complete"), "true");
  EXPECT_FALSE(e.child("set", xep::rsm::kNs)->child("first"));
}

TEST(MamProtocolTest, ResultWrapsTheStoredMessage) {
  Query q;
  q.ns = "urn:xmpp:mam:2";
  q.queryid = "f27";
  ArchivedMessage m;
  m.id = "id1";
  m.timestamp = 1276128505000;
  auto stored = xml("<message xmlns='jabber:client' from='a@b/c'><body>hi</body></message>");
  xml::Element r = result_message(q, m, stored, "juliet@capulet.lit", "juliet@capulet.lit/x");
  EXPECT_EQ(r.get("from"), "juliet@capulet.lit");
  const xml::Element* result = r.child("result", "urn:xmpp:mam:2");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->get("id"), "id1");
  EXPECT_EQ(result->get("queryid"), "f27");
  const xml::Element* fwd = result->child("forwarded", "urn:xmpp:forward:0");
  ASSERT_TRUE(fwd && fwd->child("delay", "urn:xmpp:delay"));
  EXPECT_EQ(fwd->child("delay", "urn:xmpp:delay")->get("stamp"), "2010-06-10T00:08:25Z");
  EXPECT_EQ(fwd->child("message", "jabber:client")->child_text("body"), "hi");
}

TEST(MamProtocolTest, PrefsRoundTripAndNormalize) {
  auto r = parse_prefs(xml(
      "<prefs xmlns='urn:xmpp:mam:2' default='roster'><always><jid>Romeo@Montague.lit</jid>"
      "<jid>romeo@montague.lit</jid></always><never><jid>montague.lit/x</jid></never></prefs>"));
  ASSERT_TRUE(std::holds_alternative<Prefs>(r));
  const Prefs& p = std::get<Prefs>(r);
  EXPECT_EQ(p.default_mode, Mode::Roster);
  EXPECT_EQ(p.always, std::vector<std::string>{"romeo@montague.lit"});  // one, normalized
  EXPECT_EQ(p.never, std::vector<std::string>{"montague.lit/x"});
  auto back = parse_prefs(prefs_element("urn:xmpp:mam:2", p));
  EXPECT_EQ(std::get<Prefs>(back), p);
  EXPECT_TRUE(std::holds_alternative<RequestError>(
      parse_prefs(xml("<prefs xmlns='urn:xmpp:mam:2' default='sometimes'/>"))));
  EXPECT_TRUE(std::holds_alternative<RequestError>(parse_prefs(
      xml("<prefs xmlns='urn:xmpp:mam:2' default='always'><never><jid>@</jid></never></prefs>"))));
}

TEST(MamPolicyTest, WhatIsWorthArchiving) {
  auto keep = [](std::string_view m) { return worth_archiving(xml(m)); };
  EXPECT_TRUE(keep("<message xmlns='jabber:client' type='chat'><body>x</body></message>"));
  EXPECT_TRUE(keep("<message xmlns='jabber:client'><body>x</body></message>"));  // normal
  EXPECT_FALSE(keep("<message xmlns='jabber:client' type='groupchat'><body>x</body></message>"));
  EXPECT_FALSE(keep("<message xmlns='jabber:client' type='headline'><body>x</body></message>"));
  EXPECT_FALSE(keep("<message xmlns='jabber:client' type='error'><body>x</body></message>"));
  EXPECT_FALSE(
      keep("<message xmlns='jabber:client' type='chat'><body>x</body>"
           "<no-store xmlns='urn:xmpp:hints'/></message>"));
  EXPECT_FALSE(
      keep("<message xmlns='jabber:client' type='chat'><body>x</body>"
           "<no-permanent-store xmlns='urn:xmpp:hints'/></message>"));
  EXPECT_TRUE(
      keep("<message xmlns='jabber:client' type='chat'>"
           "<store xmlns='urn:xmpp:hints'/></message>"));
  EXPECT_FALSE(
      keep("<message xmlns='jabber:client' type='chat'>"
           "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>"));
  EXPECT_FALSE(
      keep("<message xmlns='jabber:client'>"
           "<received xmlns='urn:xmpp:receipts' id='a'/></message>"));
  EXPECT_TRUE(
      keep("<message xmlns='jabber:client' type='chat'>"
           "<displayed xmlns='urn:xmpp:chat-markers:0' id='a'/></message>"));
  EXPECT_FALSE(
      keep("<message xmlns='jabber:client' type='chat'>"
           "<markable xmlns='urn:xmpp:chat-markers:0'/></message>"));
  EXPECT_FALSE(keep("<presence xmlns='jabber:client'><body>x</body></presence>"));
  // End-to-end encrypted messages without a body fallback are messages too.
  EXPECT_TRUE(
      keep("<message xmlns='jabber:client' type='chat'><encrypted "
           "xmlns='eu.siacs.conversations.axolotl'><payload>AA==</payload></encrypted></message>"));
  EXPECT_TRUE(
      keep("<message xmlns='jabber:client' type='chat'><encrypted "
           "xmlns='urn:xmpp:omemo:2'/></message>"));
  EXPECT_TRUE(keep(
      "<message xmlns='jabber:client' type='chat'><openpgp xmlns='urn:xmpp:openpgp:0'>x</openpgp>"
      "</message>"));
  EXPECT_FALSE(
      keep("<message xmlns='jabber:client' type='chat'><encrypted "
           "xmlns='urn:example:other'/></message>"));
}

TEST(MamPolicyTest, PreferencesDecide) {
  Prefs p{
      Mode::Roster, {"romeo@montague.lit", "nurse@capulet.lit/kitchen"}, {"tybalt@capulet.lit"}};
  EXPECT_EQ(decide(p, jid("romeo@montague.lit/orchard")), Verdict::Archive);  // bare: any res.
  EXPECT_EQ(decide(p, jid("nurse@capulet.lit/kitchen")), Verdict::Archive);
  EXPECT_EQ(decide(p, jid("nurse@capulet.lit/garden")), Verdict::AskRoster);  // full: only it
  EXPECT_EQ(decide(p, jid("tybalt@capulet.lit/sword")), Verdict::Skip);
  EXPECT_EQ(decide(p, jid("friar@verona.lit")), Verdict::AskRoster);
  p.always.push_back("tybalt@capulet.lit");
  EXPECT_EQ(decide(p, jid("tybalt@capulet.lit")), Verdict::Skip);  // never wins
  EXPECT_EQ(decide({Mode::Always, {}, {}}, jid("a@b")), Verdict::Archive);
  EXPECT_EQ(decide({Mode::Never, {}, {}}, jid("a@b")), Verdict::Skip);
}

}  // namespace
}  // namespace parley::mam
