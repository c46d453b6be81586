// XEP-0160 offline messages (modules/offline): kept while the recipient has no available
// resource of non-negative priority, delivered in order with an XEP-0203 <delay/> at the next
// available presence, kept across a restart, bounded by a per-account quota.
#include "common.h"

namespace parley::it {
namespace {

constexpr int kQuota = 4;

ServerOptions offline_options() {
  auto o = with_users({"oa", "ob", "oc", "od", "oe", "of", "og", "oh"});
  o.modules.push_back("offline");
  o.module_options["offline"] = {{"max_messages", std::to_string(kQuota)}, {"retention", "30d"}};
  return o;
}

class OfflineTest : public ServerSuite<OfflineTest> {
 public:
  static ServerOptions options() { return offline_options(); }
};

auto by_id(const std::string& id) {
  return [id](const Node& n) { return n.attr("id") == id; };
}

std::string chat(const std::string& to, const std::string& id, const std::string& body,
                 const std::string& extra = "") {
  return "<message to='" + to + "' id='" + id + "' type='chat'><body>" + body + "</body>" + extra +
         "</message>";
}

// The message with `id`, checked to carry the server's <delay/> (XEP-0203).
void expect_delayed(const std::optional<Node>& m, const std::string& from,
                    const std::string& body) {
  ASSERT_TRUE(m) << "offline message not delivered";
  EXPECT_EQ(m->attr("from"), from) << m->raw;
  ASSERT_TRUE(m->child("body")) << m->raw;
  EXPECT_EQ(m->child("body")->text, body);
  const Node* delay = m->child("delay", "urn:xmpp:delay");
  ASSERT_TRUE(delay) << "no XEP-0203 delay: " << m->raw;
  EXPECT_EQ(delay->attr("from"), "localhost") << m->raw;
  // XEP-0082 DateTime in UTC.
  std::string stamp = delay->attr("stamp");
  ASSERT_GE(stamp.size(), 20u) << m->raw;
  EXPECT_EQ(stamp[4], '-');
  EXPECT_EQ(stamp[10], 'T');
  EXPECT_EQ(stamp.back(), 'Z') << stamp;
}

// Index of the first received message with `id`, or -1.
int position(const StropheClient& c, const std::string& id) {
  const auto& r = c.received();
  for (size_t i = 0; i < r.size(); ++i)
    if (r[i].name == "message" && r[i].attr("id") == id) return static_cast<int>(i);
  return -1;
}

TEST_F(OfflineTest, AdvertisesMsgoffline) {
  auto c = client("oa", "disco");
  ASSERT_TRUE(c->connected());
  auto r = c->iq(
      "<iq type='get' id='d1' to='localhost'>"
      "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  ASSERT_TRUE(r);
  bool found = false;
  if (const Node* q = r->child("query", "http://jabber.org/protocol/disco#info"))
    for (const Node* f : q->all("feature")) found |= f->attr("var") == "msgoffline";
  EXPECT_TRUE(found) << r->raw;
}

TEST_F(OfflineTest, DeliveredInOrderWithDelayOnceAtInitialPresence) {
  auto a = client("oa", "send");
  ASSERT_TRUE(a->connected());
  for (int i = 1; i <= 3; ++i)
    a->send(chat("ob@localhost", "ord" + std::to_string(i), "msg " + std::to_string(i)));
  settle(*a);
  EXPECT_FALSE(a->has([](const Node& n) { return n.attr("type") == "error"; }))
      << "a stored message was bounced";

  auto b = client("ob", "phone");
  ASSERT_TRUE(b->connected());
  // Nothing before initial presence (XEP-0160 §3: delivered when the user becomes available).
  settle(*b);
  EXPECT_EQ(position(*b, "ord1"), -1);
  ASSERT_TRUE(go_online(*b));
  for (int i = 1; i <= 3; ++i)
    expect_delayed(b->wait_for(by_id("ord" + std::to_string(i))), "oa@localhost/send",
                   "msg " + std::to_string(i));
  EXPECT_LT(position(*b, "ord1"), position(*b, "ord2"));
  EXPECT_LT(position(*b, "ord2"), position(*b, "ord3"));

  // Another presence update on the same session does not deliver again.
  b->send("<presence><show>away</show></presence>");
  ASSERT_TRUE(b->wait_for([](const Node& n) {
    return n.name == "presence" && n.child("show") && n.child("show")->text == "away";
  }));
  settle(*b);
  int copies = 0;
  for (const auto& n : b->received()) copies += n.attr("id") == "ord1";
  EXPECT_EQ(copies, 1);
  b->disconnect();

  // A second login finds nothing left.
  auto b2 = client("ob", "laptop");
  ASSERT_TRUE(b2->connected() && go_online(*b2));
  ASSERT_TRUE(b2->wait_for(presence_from("ob@localhost/laptop")));
  a->send(chat("ob@localhost/laptop", "live1", "live"));
  ASSERT_TRUE(b2->wait_for(by_id("live1")));
  EXPECT_EQ(position(*b2, "ord1"), -1);
  EXPECT_EQ(position(*b2, "ord3"), -1);
}

TEST_F(OfflineTest, ChatStateOnlyAndNoStoreHintAreNotStored) {
  auto a = client("oa", "hints");
  ASSERT_TRUE(a->connected());
  a->send(
      "<message to='oc@localhost' id='cs1' type='chat'>"
      "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
  a->send(chat("oc@localhost", "ns1", "ephemeral", "<no-store xmlns='urn:xmpp:hints'/>"));
  // A receipt without a body is kept (XEP-0184).
  a->send(
      "<message to='oc@localhost' id='rcpt1'>"
      "<received xmlns='urn:xmpp:receipts' id='orig1'/></message>");
  a->send(chat("oc@localhost", "keep1", "kept",
               "<active xmlns='http://jabber.org/protocol/chatstates'/>"));
  // What is not stored gets the default answer (RFC 6121 §8.5.2.2.1).
  auto e1 = a->wait_for(by_id("cs1"));
  ASSERT_TRUE(e1);
  EXPECT_EQ(stanza_error(*e1), "service-unavailable") << e1->raw;
  auto e2 = a->wait_for(by_id("ns1"));
  ASSERT_TRUE(e2);
  EXPECT_EQ(stanza_error(*e2), "service-unavailable") << e2->raw;
  settle(*a);
  EXPECT_FALSE(a->has(by_id("rcpt1")));
  EXPECT_FALSE(a->has(by_id("keep1")));

  auto c = client("oc", "r");
  ASSERT_TRUE(c->connected() && go_online(*c));
  auto receipt = c->wait_for(by_id("rcpt1"));
  ASSERT_TRUE(receipt);
  EXPECT_TRUE(receipt->child("received", "urn:xmpp:receipts"));
  EXPECT_TRUE(receipt->child("delay", "urn:xmpp:delay"));
  expect_delayed(c->wait_for(by_id("keep1")), "oa@localhost/hints", "kept");
  // Stored in order: anything stored before keep1 would have arrived before it.
  EXPECT_EQ(position(*c, "cs1"), -1);
  EXPECT_EQ(position(*c, "ns1"), -1);
}

TEST_F(OfflineTest, HeadlineAndGroupchatAreNotStored) {
  auto a = client("oa", "types");
  ASSERT_TRUE(a->connected());
  a->send("<message to='od@localhost' id='hl1' type='headline'><body>news</body></message>");
  a->send("<message to='od@localhost' id='gc1' type='groupchat'><body>room</body></message>");
  a->send("<message to='od@localhost' id='nm1'><body>normal</body></message>");
  settle(*a);
  auto c = client("od", "r");
  ASSERT_TRUE(c->connected() && go_online(*c));
  expect_delayed(c->wait_for(by_id("nm1")), "oa@localhost/types", "normal");
  EXPECT_EQ(position(*c, "hl1"), -1);
  EXPECT_EQ(position(*c, "gc1"), -1);
}

TEST_F(OfflineTest, FullStorageBouncesServiceUnavailable) {
  auto a = client("oa", "quota");
  ASSERT_TRUE(a->connected());
  for (int i = 1; i <= kQuota; ++i)
    a->send(chat("oe@localhost", "q" + std::to_string(i), "q" + std::to_string(i)));
  a->send(chat("oe@localhost", "over", "one too many"));
  auto err = a->wait_for(by_id("over"));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->attr("type"), "error");
  EXPECT_EQ(stanza_error(*err), "service-unavailable") << err->raw;
  for (int i = 1; i <= kQuota; ++i) EXPECT_FALSE(a->has(by_id("q" + std::to_string(i))));

  // The stored ones arrive; afterwards there is room again.
  auto c = client("oe", "r");
  ASSERT_TRUE(c->connected() && go_online(*c));
  for (int i = 1; i <= kQuota; ++i) ASSERT_TRUE(c->wait_for(by_id("q" + std::to_string(i))));
  EXPECT_EQ(position(*c, "over"), -1);
}

TEST_F(OfflineTest, NonexistentAccountIsServiceUnavailable) {
  auto a = client("oa", "nx");
  ASSERT_TRUE(a->connected());
  a->send(chat("nobody@localhost", "nx1", "hello?"));
  auto err = a->wait_for(by_id("nx1"));
  ASSERT_TRUE(err);
  EXPECT_EQ(stanza_error(*err), "service-unavailable") << err->raw;  // RFC 6121 §8.5.1
}

TEST_F(OfflineTest, NegativePriorityWaitsForNonNegative) {
  auto a = client("oa", "neg");
  ASSERT_TRUE(a->connected());
  a->send(chat("of@localhost", "before1", "before login"));
  settle(*a);

  auto f = client("of", "r");
  ASSERT_TRUE(f->connected() && go_online(*f, -1));
  ASSERT_TRUE(f->wait_for(presence_from("of@localhost/r")));
  // Stored while only a negative-priority resource is online.
  a->send(chat("of@localhost", "during1", "while negative"));
  settle(*a);
  EXPECT_FALSE(a->has(by_id("during1"))) << "bounced instead of stored";
  a->send(chat("of@localhost/r", "mark1", "marker"));
  ASSERT_TRUE(f->wait_for(by_id("mark1")));
  EXPECT_EQ(position(*f, "before1"), -1) << "delivered to a negative-priority resource";
  EXPECT_EQ(position(*f, "during1"), -1) << "delivered to a negative-priority resource";

  f->send("<presence><priority>1</priority></presence>");
  expect_delayed(f->wait_for(by_id("before1")), "oa@localhost/neg", "before login");
  expect_delayed(f->wait_for(by_id("during1")), "oa@localhost/neg", "while negative");
  EXPECT_LT(position(*f, "before1"), position(*f, "during1"));

  // Back to negative, a new message is stored, and priority >= 0 again delivers it once more.
  f->send("<presence><priority>-5</priority></presence>");
  ASSERT_TRUE(f->wait_for([](const Node& n) {
    return n.name == "presence" && n.child("priority") && n.child("priority")->text == "-5";
  }));
  a->send(chat("of@localhost", "again1", "negative again"));
  settle(*a);
  EXPECT_FALSE(a->has(by_id("again1")));
  f->send("<presence><priority>0</priority></presence>");
  expect_delayed(f->wait_for(by_id("again1")), "oa@localhost/neg", "negative again");
}

TEST(OfflineRestart, MessagesSurviveARestart) {
  ServerProcess s(offline_options());
  ASSERT_TRUE(s.start()) << s.error();
  {
    StropheClient a("oa@localhost/r", kPassword, s.c2s_port());
    ASSERT_TRUE(a.connect());
    a.send(chat("og@localhost", "rs1", "first"));
    a.send(chat("og@localhost", "rs2", "second"));
    settle(a);
    a.disconnect();
  }
  ASSERT_EQ(s.stop(), 0) << s.log();
  ASSERT_TRUE(s.start()) << s.error();
  StropheClient g("og@localhost/r", kPassword, s.c2s_port());
  ASSERT_TRUE(g.connect());
  ASSERT_TRUE(go_online(g));
  expect_delayed(g.wait_for(by_id("rs1")), "oa@localhost/r", "first");
  expect_delayed(g.wait_for(by_id("rs2")), "oa@localhost/r", "second");
  EXPECT_LT(position(g, "rs1"), position(g, "rs2"));
  g.disconnect();
  EXPECT_EQ(s.stop(), 0) << s.log();
}

}  // namespace
}  // namespace parley::it
