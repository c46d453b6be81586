// XEP-0313 Message Archive Management (modules/mam) with XEP-0359 stanza-ids, XEP-0059 paging
// and XEP-0441 preferences, against a real parleyd with the offline and carbons modules too.
#include <set>

#include "common.h"

namespace parley::it {
namespace {

const std::string kMam2 = "urn:xmpp:mam:2";
const std::string kMam1 = "urn:xmpp:mam:1";
const std::string kMam0 = "urn:xmpp:mam:0";
const std::string kSid = "urn:xmpp:sid:0";
const std::string kRsm = "http://jabber.org/protocol/rsm";
const std::string kForward = "urn:xmpp:forward:0";

class MamTest : public ServerSuite<MamTest> {
 public:
  static ServerOptions options() {
    std::vector<std::string> users;
    for (const char* u :
         {"ma", "mb", "mc", "md", "me", "mf", "mg", "mh", "mi", "mj", "mk", "ml", "mm",
          "mn", "mo", "mp", "mq", "mr", "ms", "mt", "mu", "mv", "mw", "mx", "my", "mz"})
      users.push_back(u);
    auto o = with_users(users);
    o.modules.push_back("offline");
    o.modules.push_back("carbons");  // mam is in the harness's default list
    o.module_options["mam"] = {{"default_page_size", "5"}, {"max_page_size", "20"}};
    return o;
  }

 protected:
  // A bound client that fetched its roster and sent initial presence.
  static std::unique_ptr<StropheClient> online(const std::string& user,
                                               const std::string& resource) {
    auto c = client(user, resource);
    EXPECT_TRUE(c->connected()) << user;
    if (c->connected()) {
      EXPECT_TRUE(go_online(*c));
      // Available once the server echoed the presence (RFC 6121 §4.2.2).
      EXPECT_TRUE(c->wait_for(presence_from(c->jid())));
    }
    return c;
  }
};

std::string chat(const std::string& to, const std::string& id, const std::string& body,
                 const std::string& extra = "", const std::string& type = "chat") {
  return "<message to='" + to + "' id='" + id + "' type='" + type + "'>" +
         (body.empty() ? "" : "<body>" + body + "</body>") + extra + "</message>";
}

auto by_id(const std::string& id) {
  return [id](const Node& n) { return n.name == "message" && n.attr("id") == id; };
}

// The stanza-ids of a message by 'by'.
std::vector<std::string> stanza_ids(const Node& m, const std::string& by) {
  std::vector<std::string> out;
  for (const Node* s : m.all("stanza-id", kSid))
    if (s->attr("by") == by) out.push_back(s->attr("id"));
  return out;
}

using Fields = std::vector<std::pair<std::string, std::vector<std::string>>>;

std::string form(const std::string& ns, const Fields& fields) {
  std::string x =
      "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
      "<value>" +
      ns + "</value></field>";
  for (const auto& [var, values] : fields) {
    x += "<field var='" + var + "'>";
    for (const auto& v : values) x += "<value>" + v + "</value>";
    x += "</field>";
  }
  return x + "</x>";
}

std::string rsm(int max, const std::string& after = "", const char* before = nullptr) {
  std::string s = "<set xmlns='" + kRsm + "'><max>" + std::to_string(max) + "</max>";
  if (!after.empty()) s += "<after>" + after + "</after>";
  if (before)
    s += std::string(*before ? "<before>" + std::string(before) + "</before>" : "<before/>");
  return s + "</set>";
}

struct Answer {
  std::optional<Node> iq;
  std::vector<Node> results;  // in the order received
  std::optional<Node> fin;    // <fin/> from the IQ result, or from the mam:0 message
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& r : results) out.push_back(r.child("result")->attr("id"));
    return out;
  }
  std::string body(size_t i) const {
    const Node* fwd = results.at(i).child("result")->child("forwarded", kForward);
    const Node* m = fwd ? fwd->child("message") : nullptr;
    return m && m->child("body") ? m->child("body")->text : "";
  }
  bool complete() const { return fin && fin->attr("complete") == "true"; }
  std::string set(const std::string& name) const {
    const Node* s = fin ? fin->child("set", kRsm) : nullptr;
    const Node* e = s ? s->child(name) : nullptr;
    return e ? e->text : "<none>";
  }
};

// Sends a MAM query (iq set) and gathers the results for its queryid.
Answer query(StropheClient& c, const std::string& inner, const std::string& ns = kMam2,
             const std::string& to = "") {
  Answer a;
  std::string qid = "q" + c.next_id();
  std::string iq_id = c.next_id();
  a.iq = c.iq("<iq type='set' id='" + iq_id + "'" + (to.empty() ? "" : " to='" + to + "'") +
              "><query xmlns='" + ns + "' queryid='" + qid + "'>" + inner + "</query></iq>");
  if (!a.iq) return a;
  if (ns == kMam0 && a.iq->attr("type") == "result") {
    auto done = c.wait_for([&](const Node& n) {
      const Node* f = n.child("fin", kMam0);
      return n.name == "message" && f && f->attr("queryid") == qid;
    });
    if (done) a.fin = *done->child("fin", kMam0);
  } else if (const Node* f = a.iq->child("fin", ns)) {
    a.fin = *f;
  }
  auto is_result = [&](const Node& n) {
    const Node* r = n.child("result", ns);
    return n.name == "message" && r && r->attr("queryid") == qid;
  };
  while (c.has(is_result)) a.results.push_back(*c.wait_for(is_result));
  return a;
}

std::set<std::string> features(StropheClient& c, const std::string& to) {
  auto r = c.iq("<iq type='get' id='" + c.next_id() + "' to='" + to +
                "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  std::set<std::string> out;
  if (r && r->child("query"))
    for (const Node* f : r->child("query")->all("feature")) out.insert(f->attr("var"));
  return out;
}

TEST_F(MamTest, AdvertisesArchiveAndStanzaIdFeatures) {
  auto a = online("ma", "disco");
  auto account = features(*a, "ma@localhost");
  for (const char* f : {"urn:xmpp:mam:2", "urn:xmpp:mam:2#extended", "urn:xmpp:mam:1",
                        "urn:xmpp:mam:0", "urn:xmpp:sid:0"})
    EXPECT_TRUE(account.count(f)) << f;  // XEP-0313 §7, XEP-0359 §6
  EXPECT_TRUE(features(*a, "localhost").count("urn:xmpp:sid:0"));
}

TEST_F(MamTest, BothSidesArchiveWithTheIdTheRecipientSees) {
  auto a = online("ma", "phone");
  auto b = online("mb", "desk");
  a->send(chat("mb@localhost", "both1", "hello b"));
  auto got = b->wait_for(by_id("both1"));
  ASSERT_TRUE(got);
  // XEP-0313 §3.5: the recipient's archive id, and never the sender's.
  auto mine = stanza_ids(*got, "mb@localhost");
  ASSERT_EQ(mine.size(), 1u) << got->raw;
  EXPECT_TRUE(stanza_ids(*got, "ma@localhost").empty()) << got->raw;
  EXPECT_EQ(mine[0].size(), 24u);

  auto in_b = query(*b, form(kMam2, {{"with", {"ma@localhost"}}}));
  ASSERT_TRUE(in_b.iq && in_b.iq->attr("type") == "result") << in_b.iq->raw;
  ASSERT_EQ(in_b.results.size(), 1u);
  EXPECT_EQ(in_b.ids()[0], mine[0]);
  EXPECT_EQ(in_b.body(0), "hello b");
  EXPECT_EQ(in_b.results[0].attr("from"), "mb@localhost");  // §8.2: from the archive
  const Node* fwd = in_b.results[0].child("result")->child("forwarded", kForward);
  ASSERT_TRUE(fwd && fwd->child("delay", "urn:xmpp:delay")) << in_b.results[0].raw;
  EXPECT_EQ(fwd->child("message")->attr("from"), "ma@localhost/phone");
  EXPECT_TRUE(in_b.complete());

  auto in_a = query(*a, form(kMam2, {{"with", {"mb@localhost"}}}));
  ASSERT_EQ(in_a.results.size(), 1u);
  EXPECT_EQ(in_a.body(0), "hello b");
  EXPECT_EQ(in_a.ids()[0], mine[0]);  // derived from the same message
}

TEST_F(MamTest, ForgedStanzaIdsAreStripped) {
  auto a = online("mc", "phone");
  auto b = online("md", "desk");
  a->send(chat("md@localhost", "forge1", "trust me",
               "<stanza-id xmlns='urn:xmpp:sid:0' by='md@localhost' id='forged-b'/>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='MD@LOCALHOST' id='forged-b2'/>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='mc@localhost' id='forged-a'/>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='localhost' id='forged-host'/>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='room@muc.example.net' id='remote'/>"));
  auto got = b->wait_for(by_id("forge1"));
  ASSERT_TRUE(got);
  auto mine = stanza_ids(*got, "md@localhost");
  ASSERT_EQ(mine.size(), 1u) << got->raw;
  EXPECT_NE(mine[0], "forged-b");
  EXPECT_EQ(got->raw.find("forged"), std::string::npos) << got->raw;
  // XEP-0359 §5 rule 3: what another entity assigned is left alone.
  EXPECT_EQ(stanza_ids(*got, "room@muc.example.net"), std::vector<std::string>{"remote"});
  auto in_b = query(*b, form(kMam2, {{"with", {"mc@localhost"}}}));
  ASSERT_EQ(in_b.results.size(), 1u);
  EXPECT_EQ(in_b.ids()[0], mine[0]);
  EXPECT_EQ(in_b.results[0].raw.find("forged"), std::string::npos) << in_b.results[0].raw;
}

TEST_F(MamTest, SentCarbonCarriesTheSendersStanzaId) {
  auto a1 = online("me", "one");
  auto a2 = online("me", "two");
  auto b = online("mf", "desk");
  auto r = a2->iq("<iq type='set' id='cb1'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
  ASSERT_TRUE(r && r->attr("type") == "result");
  a1->send(chat("mf@localhost", "carb1", "copied"));
  auto carbon = a2->wait_for([](const Node& n) { return n.child("sent", "urn:xmpp:carbons:2"); });
  ASSERT_TRUE(carbon);
  const Node* inner = carbon->find("message");
  ASSERT_TRUE(inner) << carbon->raw;
  auto ids = stanza_ids(*inner, "me@localhost");  // XEP-0313 §3.5 (XEP-0280)
  ASSERT_EQ(ids.size(), 1u) << carbon->raw;
  auto got = b->wait_for(by_id("carb1"));
  ASSERT_TRUE(got);
  EXPECT_TRUE(stanza_ids(*got, "me@localhost").empty()) << got->raw;
  auto in_a = query(*a2, form(kMam2, {{"with", {"mf@localhost"}}}));
  ASSERT_EQ(in_a.results.size(), 1u);
  EXPECT_EQ(in_a.ids()[0], ids[0]);
}

TEST_F(MamTest, AResentMessageKeepsItsStanzaIdAndIsStoredOnce) {
  auto a = online("mg", "phone");
  auto b = online("mh", "desk");
  a->send(chat("mh@localhost", "dup1", "only once"));
  auto first = b->wait_for(by_id("dup1"));
  a->send(chat("mh@localhost", "dup1", "only once"));  // as after a lost ack
  auto second = b->wait_for(by_id("dup1"));
  ASSERT_TRUE(first && second);
  auto id1 = stanza_ids(*first, "mh@localhost");
  auto id2 = stanza_ids(*second, "mh@localhost");
  ASSERT_EQ(id1.size(), 1u);
  EXPECT_EQ(id1, id2);
  EXPECT_EQ(query(*a, form(kMam2, {{"with", {"mh@localhost"}}})).results.size(), 1u);
  EXPECT_EQ(query(*b, form(kMam2, {{"with", {"mg@localhost"}}})).results.size(), 1u);
}

std::vector<std::string> fill(StropheClient& a, StropheClient& b, const std::string& prefix,
                              int n) {
  std::vector<std::string> ids;
  for (int i = 1; i <= n; ++i) {
    std::string id = prefix + std::to_string(i);
    a.send(chat(b.bare(), id, "m" + std::to_string(i)));
    auto got = b.wait_for(by_id(id));
    if (!got) return {};
    auto sid = stanza_ids(*got, b.bare());
    if (sid.size() != 1) return {};
    ids.push_back(sid[0]);
  }
  return ids;
}

TEST_F(MamTest, PagesWithRsmForwardsBackwardsAndFlipped) {
  auto a = online("mi", "phone");
  auto b = online("mj", "desk");
  auto ids = fill(*a, *b, "page", 7);
  ASSERT_EQ(ids.size(), 7u);
  const std::string with = form(kMam2, {{"with", {"mi@localhost"}}});

  auto p1 = query(*b, with + rsm(3));
  EXPECT_EQ(p1.ids(), std::vector<std::string>(ids.begin(), ids.begin() + 3));
  EXPECT_FALSE(p1.complete());
  EXPECT_EQ(p1.set("count"), "7");
  EXPECT_EQ(p1.set("first"), ids[0]);
  EXPECT_EQ(p1.set("last"), ids[2]);
  auto p2 = query(*b, with + rsm(3, p1.set("last")));
  EXPECT_EQ(p2.ids(), std::vector<std::string>(ids.begin() + 3, ids.begin() + 6));
  EXPECT_FALSE(p2.complete());
  auto p3 = query(*b, with + rsm(3, p2.set("last")));
  EXPECT_EQ(p3.ids(), std::vector<std::string>{ids[6]});
  EXPECT_TRUE(p3.complete());
  EXPECT_EQ(p3.body(0), "m7");
  ASSERT_TRUE(p3.fin->child("set", kRsm)->child("first"));
  EXPECT_EQ(p3.fin->child("set", kRsm)->child("first")->attr("index"), "6");

  // §4.3.3: an empty <before/> is the last page, in chronological order.
  auto last = query(*b, with + rsm(3, "", ""));
  EXPECT_EQ(last.ids(), std::vector<std::string>(ids.begin() + 4, ids.end()));
  EXPECT_FALSE(last.complete());
  auto before = query(*b, with + rsm(3, "", ids[4].c_str()));
  EXPECT_EQ(before.ids(), std::vector<std::string>(ids.begin() + 1, ids.begin() + 4));
  auto head = query(*b, with + rsm(3, "", ids[1].c_str()));
  EXPECT_EQ(head.ids(), std::vector<std::string>{ids[0]});
  EXPECT_TRUE(head.complete());

  // §4.3.4: the same page, newest first.
  auto flipped = query(*b, with + rsm(3) + "<flip-page/>");
  EXPECT_EQ(flipped.ids(), (std::vector<std::string>{ids[2], ids[1], ids[0]}));

  // The configured default page size (5) and cap (20).
  auto dflt = query(*b, with);
  EXPECT_EQ(dflt.results.size(), 5u);
  EXPECT_FALSE(dflt.complete());
  auto capped = query(*b, with + rsm(1000));
  EXPECT_EQ(capped.results.size(), 7u);
  EXPECT_TRUE(capped.complete());
  // max 0: the count alone.
  auto count = query(*b, with + rsm(0));
  EXPECT_TRUE(count.results.empty());
  EXPECT_EQ(count.set("count"), "7");
}

TEST_F(MamTest, FiltersByWithTimeAndIds) {
  auto a = online("mk", "phone");
  auto b = online("ml", "desk");
  auto c = online("mm", "laptop");
  auto ab = fill(*a, *b, "fab", 3);
  auto ac = fill(*a, *c, "fac", 2);
  ASSERT_EQ(ab.size(), 3u);
  ASSERT_EQ(ac.size(), 2u);

  auto all = query(*a, rsm(20));
  ASSERT_EQ(all.results.size(), 5u);
  EXPECT_TRUE(all.complete());
  auto with_c = query(*a, form(kMam2, {{"with", {"mm@localhost"}}}));
  EXPECT_EQ(with_c.ids(), ac);
  // §4.1.1: a full JID matches that resource only; these went to the bare JID.
  EXPECT_TRUE(query(*a, form(kMam2, {{"with", {"mm@localhost/laptop"}}})).results.empty());
  EXPECT_TRUE(query(*a, form(kMam2, {{"with", {"nobody@localhost"}}})).complete());

  // §4.1.2: start and end are inclusive, by the archive's timestamps.
  auto stamp = [&](size_t i) {
    return all.results[i]
        .child("result")
        ->child("forwarded", kForward)
        ->child("delay")
        ->attr("stamp");
  };
  auto ids = all.ids();
  size_t k = 0;
  while (stamp(k) != stamp(2)) ++k;  // the first message with the third one's timestamp
  EXPECT_EQ(query(*a, form(kMam2, {{"start", {stamp(2)}}}) + rsm(20)).ids(),
            std::vector<std::string>(ids.begin() + k, ids.end()));
  size_t l = 4;
  while (stamp(l) != stamp(1)) --l;  // the last message with the second one's timestamp
  EXPECT_EQ(query(*a, form(kMam2, {{"end", {stamp(1)}}}) + rsm(20)).ids(),
            std::vector<std::string>(ids.begin(), ids.begin() + l + 1));
  EXPECT_TRUE(query(*a, form(kMam2, {{"start", {"2100-01-01T00:00:00Z"}}})).results.empty());
  EXPECT_TRUE(query(*a, form(kMam2, {{"end", {"2000-01-01T00:00:00Z"}}})).results.empty());

  // §4.1.3 (#extended): before-id, after-id and ids.
  EXPECT_EQ(query(*a, form(kMam2, {{"after-id", {ids[1]}}}) + rsm(20)).ids(),
            std::vector<std::string>(ids.begin() + 2, ids.end()));
  EXPECT_EQ(query(*a, form(kMam2, {{"before-id", {ids[2]}}})).ids(),
            std::vector<std::string>(ids.begin(), ids.begin() + 2));
  EXPECT_EQ(query(*a, form(kMam2, {{"after-id", {ids[0]}}, {"before-id", {ids[3]}}})).ids(),
            std::vector<std::string>(ids.begin() + 1, ids.begin() + 3));
  EXPECT_EQ(query(*a, form(kMam2, {{"ids", {ids[4], ids[1]}}})).ids(),
            (std::vector<std::string>{ids[1], ids[4]}));

  // From mm's resource 'laptop': a full 'with' finds it, another resource does not.
  c->send(chat("mk@localhost", "fca", "reply"));
  auto reply = a->wait_for(by_id("fca"));
  ASSERT_TRUE(reply);
  auto full = query(*a, form(kMam2, {{"with", {"mm@localhost/laptop"}}}));
  EXPECT_EQ(full.ids(), stanza_ids(*reply, "mk@localhost"));
  EXPECT_TRUE(query(*a, form(kMam2, {{"with", {"mm@localhost/other"}}})).results.empty());
  EXPECT_EQ(query(*a, form(kMam2, {{"with", {"mm@localhost"}}})).results.size(), 3u);
}

TEST_F(MamTest, OlderNamespacesAnswerInTheirOwn) {
  auto a = online("mn", "phone");
  auto b = online("mo", "desk");
  auto ids = fill(*a, *b, "ns", 2);
  ASSERT_EQ(ids.size(), 2u);
  // urn:xmpp:mam:1: results and <fin/> in the IQ result, all in mam:1.
  auto v1 = query(*b, form(kMam1, {{"with", {"mn@localhost"}}}), kMam1);
  ASSERT_TRUE(v1.iq && v1.iq->attr("type") == "result") << v1.iq->raw;
  EXPECT_EQ(v1.ids(), ids);
  ASSERT_TRUE(v1.fin);
  EXPECT_TRUE(v1.complete());
  // urn:xmpp:mam:0: an empty IQ result first, then the results, then <fin/> in a message.
  auto v0 = query(*b, form(kMam0, {{"with", {"mn@localhost"}}}), kMam0);
  ASSERT_TRUE(v0.iq && v0.iq->attr("type") == "result") << v0.iq->raw;
  EXPECT_FALSE(v0.iq->child("fin"));
  EXPECT_EQ(v0.ids(), ids);
  ASSERT_TRUE(v0.fin);
  EXPECT_TRUE(v0.complete());
  EXPECT_EQ(v0.set("count"), "2");
  // The #extended fields are mam:2 only (§4.1.5: unknown field).
  auto v1x = query(*b, form(kMam1, {{"after-id", {ids[0]}}}), kMam1);
  ASSERT_TRUE(v1x.iq);
  EXPECT_EQ(stanza_error(*v1x.iq), "feature-not-implemented") << v1x.iq->raw;
  // FORM_TYPE must be the query's namespace.
  auto mixed = query(*b, form(kMam2, {}), kMam1);
  EXPECT_EQ(stanza_error(*mixed.iq), "bad-request") << mixed.iq->raw;
}

TEST_F(MamTest, ErrorsAsTheXepSays) {
  auto a = online("mp", "phone");
  auto b = online("mq", "desk");
  auto ids = fill(*a, *b, "err", 1);
  ASSERT_EQ(ids.size(), 1u);
  auto error_of = [&](const std::string& inner, const std::string& to = "") {
    auto r = query(*a, inner, kMam2, to);
    return r.iq ? stanza_error(*r.iq) : std::string("no answer");
  };
  // §4.3.2 / §4.1.3: an id that is not in the archive.
  EXPECT_EQ(error_of(rsm(5, "no-such-id")), "item-not-found");
  EXPECT_EQ(error_of(rsm(5, "", "no-such-id")), "item-not-found");
  EXPECT_EQ(error_of(form(kMam2, {{"after-id", {"nope"}}})), "item-not-found");
  EXPECT_EQ(error_of(form(kMam2, {{"ids", {ids[0], "nope"}}})), "item-not-found");
  // A malformed date, form, JID or set.
  EXPECT_EQ(error_of(form(kMam2, {{"start", {"yesterday"}}})), "bad-request");
  EXPECT_EQ(error_of("<x xmlns='jabber:x:data' type='submit'><field/></x>"), "bad-request");
  EXPECT_EQ(error_of(form(kMam2, {{"with", {"@bad@"}}})), "jid-malformed");
  EXPECT_EQ(error_of("<set xmlns='" + kRsm + "'><max>lots</max></set>"), "bad-request");
  EXPECT_EQ(error_of(form(kMam2, {{"{urn:example}search", {"x"}}})), "feature-not-implemented");
  // §8.1: someone else's archive.
  EXPECT_EQ(error_of("", "mq@localhost"), "forbidden");
  // The ids did exist: the same queries without the bad part work.
  EXPECT_EQ(query(*a, form(kMam2, {{"ids", {ids[0]}}})).ids(), ids);
}

TEST_F(MamTest, FormDiscoveryAndMetadata) {
  auto a = online("mr", "phone");
  auto b = online("ms", "desk");
  auto f = a->iq("<iq type='get' id='form1'><query xmlns='urn:xmpp:mam:2'/></iq>");
  ASSERT_TRUE(f && f->attr("type") == "result") << f->raw;
  const Node* x = f->find("x", "jabber:x:data");
  ASSERT_TRUE(x) << f->raw;
  EXPECT_EQ(x->attr("type"), "form");
  std::set<std::string> vars;
  for (const Node* field : x->all("field")) {
    vars.insert(field->attr("var"));
    EXPECT_FALSE(field->child("required")) << field->attr("var");  // §4.1: never required
  }
  for (const char* v : {"FORM_TYPE", "with", "start", "end", "before-id", "after-id", "ids"})
    EXPECT_TRUE(vars.count(v)) << v;

  // §5: empty archive, empty <metadata/>; then the first and last message.
  auto empty = a->iq("<iq type='get' id='meta1'><metadata xmlns='urn:xmpp:mam:2'/></iq>");
  ASSERT_TRUE(empty && empty->attr("type") == "result") << empty->raw;
  ASSERT_TRUE(empty->child("metadata", kMam2));
  EXPECT_FALSE(empty->child("metadata", kMam2)->child("start"));
  auto ids = fill(*a, *b, "meta", 3);
  ASSERT_EQ(ids.size(), 3u);
  auto meta = a->iq("<iq type='get' id='meta2'><metadata xmlns='urn:xmpp:mam:2'/></iq>");
  ASSERT_TRUE(meta && meta->child("metadata", kMam2)) << meta->raw;
  const Node* start = meta->child("metadata", kMam2)->child("start");
  const Node* end = meta->child("metadata", kMam2)->child("end");
  ASSERT_TRUE(start && end) << meta->raw;
  EXPECT_EQ(start->attr("id"), ids.front());
  EXPECT_EQ(end->attr("id"), ids.back());
  EXPECT_EQ(end->attr("timestamp").back(), 'Z');
}

std::optional<Node> set_prefs(StropheClient& c, const std::string& mode,
                              const std::string& always = "", const std::string& never = "") {
  return c.iq("<iq type='set' id='" + c.next_id() + "'><prefs xmlns='urn:xmpp:mam:2' default='" +
              mode + "'><always>" + always + "</always><never>" + never + "</never></prefs></iq>");
}

TEST_F(MamTest, PreferencesNeverAlwaysAndRoster) {
  auto a = online("mt", "phone");
  auto b = online("mu", "desk");
  auto c = online("mv", "laptop");
  auto got = a->iq("<iq type='get' id='p0'><prefs xmlns='urn:xmpp:mam:2'/></iq>");
  ASSERT_TRUE(got && got->child("prefs", kMam2)) << got->raw;
  EXPECT_EQ(got->child("prefs", kMam2)->attr("default"), "always");

  // never, except mu: only the conversation with mu is kept, and only it gets stanza-ids.
  auto set = set_prefs(*a, "never", "<jid>MU@localhost</jid>");
  ASSERT_TRUE(set && set->attr("type") == "result") << set->raw;
  ASSERT_TRUE(set->child("prefs", kMam2));
  EXPECT_EQ(set->child("prefs", kMam2)->attr("default"), "never");
  ASSERT_TRUE(set->find("jid"));
  EXPECT_EQ(set->find("jid")->text, "mu@localhost");  // normalized
  b->send(chat("mt@localhost", "pref-b", "kept"));
  c->send(chat("mt@localhost", "pref-c", "not kept"));
  auto from_b = a->wait_for(by_id("pref-b"));
  auto from_c = a->wait_for(by_id("pref-c"));
  ASSERT_TRUE(from_b && from_c);
  EXPECT_EQ(stanza_ids(*from_b, "mt@localhost").size(), 1u) << from_b->raw;
  EXPECT_TRUE(stanza_ids(*from_c, "mt@localhost").empty()) << from_c->raw;
  auto kept = query(*a, rsm(20));
  ASSERT_EQ(kept.results.size(), 1u);
  EXPECT_EQ(kept.body(0), "kept");

  // roster: mv becomes a contact, mu (not in the roster) no longer has an 'always'.
  ASSERT_TRUE(subscribe_mutual(*a, *c));
  ASSERT_TRUE(set_prefs(*a, "roster", "", "<jid>mx@localhost</jid>"));
  b->send(chat("mt@localhost", "ros-b", "stranger"));
  c->send(chat("mt@localhost", "ros-c", "contact"));
  auto rb = a->wait_for(by_id("ros-b"));
  auto rc = a->wait_for(by_id("ros-c"));
  ASSERT_TRUE(rb && rc);
  a->send(chat("mv@localhost", "ros-a", "to contact"));
  EXPECT_TRUE(stanza_ids(*rb, "mt@localhost").empty()) << rb->raw;
  EXPECT_EQ(stanza_ids(*rc, "mt@localhost").size(), 1u) << rc->raw;
  ASSERT_TRUE(c->wait_for(by_id("ros-a")));
  settle(*a);
  auto now = query(*a, rsm(20));
  std::vector<std::string> bodies;
  for (size_t i = 0; i < now.results.size(); ++i) bodies.push_back(now.body(i));
  EXPECT_EQ(bodies, (std::vector<std::string>{"kept", "contact", "to contact"}));
  auto back = a->iq("<iq type='get' id='p9'><prefs xmlns='urn:xmpp:mam:2'/></iq>");
  ASSERT_TRUE(back && back->child("prefs", kMam2));
  EXPECT_EQ(back->child("prefs", kMam2)->attr("default"), "roster");
  ASSERT_TRUE(back->find("never") && back->find("never")->child("jid"));
  EXPECT_EQ(back->find("never")->child("jid")->text, "mx@localhost");
  // Back to always for the other tests' sake; bad input is refused.
  EXPECT_EQ(stanza_error(*set_prefs(*a, "sometimes")), "bad-request");
  ASSERT_TRUE(set_prefs(*a, "always"));
}

TEST_F(MamTest, HintsStatesAndTypesDecideWhatIsKept) {
  auto a = online("mw", "phone");
  auto b = online("mx", "desk");
  const std::string to = "mx@localhost";
  a->send(chat(to, "h1", "ephemeral", "<no-store xmlns='urn:xmpp:hints'/>"));
  a->send(chat(to, "h2", "off the record", "<no-permanent-store xmlns='urn:xmpp:hints'/>"));
  a->send(chat(to, "h3", "", "<composing xmlns='http://jabber.org/protocol/chatstates'/>"));
  a->send(chat(to, "h4", "", "<received xmlns='urn:xmpp:receipts' id='x'/>", "normal"));
  a->send(chat(to, "h5", "",
               "<encrypted xmlns='eu.siacs.conversations.axolotl'/>"
               "<store xmlns='urn:xmpp:hints'/>"));
  a->send(chat(to, "h6", "", "<displayed xmlns='urn:xmpp:chat-markers:0' id='x'/>"));
  a->send(chat(to, "h7", "news", "", "headline"));
  a->send(chat(to, "h8", "with state", "<active xmlns='http://jabber.org/protocol/chatstates'/>"));
  a->send(chat(to, "h9", "plain", "", "normal"));
  for (const char* id : {"h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"})
    ASSERT_TRUE(b->wait_for(by_id(id))) << id;
  auto kept = query(*b, form(kMam2, {{"with", {"mw@localhost"}}}) + rsm(20));
  std::vector<std::string> ids;
  for (const auto& r : kept.results)
    ids.push_back(r.child("result")->child("forwarded", kForward)->child("message")->attr("id"));
  EXPECT_EQ(ids, (std::vector<std::string>{"h5", "h6", "h8", "h9"}));
  EXPECT_EQ(query(*a, form(kMam2, {{"with", {to}}}) + rsm(20)).results.size(), 4u);
}

TEST_F(MamTest, OfflineRecipientGetsTheArchivedIdLater) {
  auto a = online("ma", "sender");
  a->send(chat("my@localhost", "off1", "while away"));
  settle(*a);
  auto b = client("my", "later");
  ASSERT_TRUE(b->connected());
  // The archive already has it before any presence.
  auto archived = query(*b, form(kMam2, {{"with", {"ma@localhost"}}}));
  ASSERT_EQ(archived.results.size(), 1u);
  ASSERT_TRUE(go_online(*b));
  auto got = b->wait_for(by_id("off1"));
  ASSERT_TRUE(got);
  EXPECT_EQ(stanza_ids(*got, "my@localhost"), archived.ids()) << got->raw;
}

TEST_F(MamTest, AccountDeletionRemovesTheArchive) {
  {
    auto a = online("mz", "phone");
    auto b = online("mb", "other");
    ASSERT_EQ(fill(*a, *b, "del", 2).size(), 2u);
    EXPECT_EQ(query(*a, rsm(20)).results.size(), 2u);
    ASSERT_TRUE(set_prefs(*a, "never"));
  }
  auto r = server().ctl({"deluser", "mz@localhost"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(server().add_user("mz@localhost", kPassword));
  auto again = online("mz", "new");
  // AccountDeleted is handled on the account's worker; a query queues behind it.
  EXPECT_TRUE(query(*again, rsm(20)).results.empty());
  auto prefs = again->iq("<iq type='get' id='pz'><prefs xmlns='urn:xmpp:mam:2'/></iq>");
  ASSERT_TRUE(prefs && prefs->child("prefs", kMam2));
  EXPECT_EQ(prefs->child("prefs", kMam2)->attr("default"), "always");
}

TEST_F(MamTest, SlixmppPagesThroughTheArchive) {
  {
    auto a = online("ma", "slix-fill");
    auto b = online("mw", "slix-fill");
    ASSERT_EQ(fill(*a, *b, "slix", 12).size(), 12u);
  }
  auto r = run_slixmpp(
      server(), "mam_paging.py",
      {"--jid", "mw@localhost", "--with", "ma@localhost", "--expect", "12", "--page", "5"},
      kPassword);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"pages\": 3"), std::string::npos) << r.output;
}

// The archive and the preferences outlive a restart: preferences are loaded when the module
// loads, and messages archived after the restart come after the old ones.
TEST(MamRestartTest, ArchiveAndPreferencesSurviveARestart) {
  ServerOptions o = with_users({"sa", "sb", "sc"});
  ServerProcess s(o);
  ASSERT_TRUE(s.start()) << s.error();
  auto connect = [&](const std::string& jid) {
    auto c = std::make_unique<StropheClient>(jid, kPassword, s.c2s_port());
    EXPECT_TRUE(c->connect() && go_online(*c));
    EXPECT_TRUE(c->wait_for(presence_from(c->jid())));
    return c;
  };
  {
    auto a = connect("sa@localhost/r");
    auto b = connect("sb@localhost/r");
    a->send(chat("sb@localhost", "before", "before the restart"));
    ASSERT_TRUE(b->wait_for(by_id("before")));
    ASSERT_TRUE(set_prefs(*b, "never", "<jid>sa@localhost</jid>"));
  }
  ASSERT_EQ(s.stop(), 0) << s.log();
  ASSERT_TRUE(s.start()) << s.error();
  auto a = connect("sa@localhost/r");
  auto b = connect("sb@localhost/r");
  auto c = connect("sc@localhost/r");
  a->send(chat("sb@localhost", "after", "after the restart"));
  c->send(chat("sb@localhost", "never", "not kept"));
  auto after = b->wait_for(by_id("after"));
  auto never = b->wait_for(by_id("never"));
  ASSERT_TRUE(after && never);
  EXPECT_EQ(stanza_ids(*after, "sb@localhost").size(), 1u) << after->raw;
  EXPECT_TRUE(stanza_ids(*never, "sb@localhost").empty()) << never->raw;
  auto all = query(*b, rsm(10));
  ASSERT_EQ(all.results.size(), 2u);
  EXPECT_EQ(all.body(0), "before the restart");
  EXPECT_EQ(all.body(1), "after the restart");
  EXPECT_EQ(all.ids()[1], stanza_ids(*after, "sb@localhost")[0]);
  EXPECT_EQ(s.stop(), 0) << s.log();
}

// Retention (XEP-0313 §3.2): with a retention of two seconds the purge timer runs every two
// seconds and the archive empties; a bounded poll, never a sleep.
TEST(MamRetentionTest, OldMessagesArePurged) {
  ServerOptions o = with_users({"ra", "rb"});
  o.module_options["mam"] = {{"retention", "2s"}};
  ServerProcess s(o);
  ASSERT_TRUE(s.start()) << s.error();
  StropheClient a("ra@localhost/phone", kPassword, s.c2s_port());
  StropheClient b("rb@localhost/desk", kPassword, s.c2s_port());
  ASSERT_TRUE(a.connect() && b.connect());
  ASSERT_TRUE(go_online(b));
  ASSERT_TRUE(b.wait_for(presence_from(b.jid())));
  a.send(chat("rb@localhost", "ret1", "short-lived"));
  ASSERT_TRUE(b.wait_for(by_id("ret1")));
  EXPECT_EQ(query(a, rsm(10)).results.size(), 1u);
  EXPECT_TRUE(poll_until([&] { return query(a, rsm(10)).results.empty(); }))
      << "the archive kept a message past its retention";
  EXPECT_TRUE(query(b, rsm(10)).results.empty());
  EXPECT_NE(s.log().find("purged"), std::string::npos);
}

// Options are checked when the module loads: a bad one keeps the server from starting.
TEST(MamOptionsTest, BadOptionsAreRefused) {
  for (const auto& bad : std::vector<std::map<std::string, std::string>>{
           {{"default_mode", "sometimes"}},
           {{"retention", "-5s"}},
           {{"default_page_size", "100"}, {"max_page_size", "10"}},
           {{"max_page", "10"}}}) {
    ServerOptions o;
    o.module_options["mam"] = bad;
    ServerProcess s(o);
    EXPECT_FALSE(s.start()) << bad.begin()->first;
    EXPECT_NE(s.log().find("mam"), std::string::npos) << s.log();
  }
}

}  // namespace
}  // namespace parley::it
