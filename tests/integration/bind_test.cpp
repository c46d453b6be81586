// Resource binding (RFC 6120 §7), the legacy session IQ, and 'from' stamping (RFC 6120 §8.1.2.1).
#include "common.h"

namespace parley::it {
namespace {

class BindTest : public ServerSuite<BindTest> {
 public:
  static ServerOptions options() { return with_users({"alice", "bob", "carol"}); }
};

TEST_F(BindTest, RequestedResourceIsUsed) {
  RawClient c(port());
  EXPECT_EQ(c.login("alice", kPassword, "desk"), "alice@localhost/desk");
}

TEST_F(BindTest, ServerGeneratesAResourceWhenNoneIsRequested) {
  RawClient c(port());
  std::string jid = c.login("alice", kPassword);
  ASSERT_EQ(jid.rfind("alice@localhost/", 0), 0u) << jid;
  EXPECT_FALSE(resource_of(jid).empty());  // RFC 6120 §7.6.1
  RawClient d(port());
  std::string jid2 = d.login("alice", kPassword);
  EXPECT_NE(jid, jid2) << "two generated resources collided";
}

TEST_F(BindTest, SameFullJidReplacesTheOldSessionWithConflict) {
  RawClient first(port());
  ASSERT_EQ(first.login("bob", kPassword, "phone"), "bob@localhost/phone");
  RawClient second(port());
  // on_conflict: replace (the default) — RFC 6120 §7.7.2.2 option 2: the new session gets
  // the resource and the old one ends with a <conflict/> stream error.
  ASSERT_EQ(second.login("bob", kPassword, "phone"), "bob@localhost/phone");
  EXPECT_EQ(first.stream_error(), "conflict");
  EXPECT_TRUE(first.wait_eof());
  // The new session is the live one.
  second.send("<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  auto r = second.wait_for_id("p");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr("type"), "result");
}

TEST_F(BindTest, LegacySessionIqGetsAResult) {
  RawClient c(port());
  ASSERT_FALSE(c.login("alice", kPassword, "legacy").empty());
  c.send("<iq type='set' id='sess'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
  auto r = c.wait_for_id("sess");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr("type"), "result") << r->raw;  // RFC 3921 §3, kept for old clients
}

TEST_F(BindTest, FromIsStampedWithTheSendersFullJid) {
  auto alice = client("alice", "stamp");
  auto carol = client("carol", "inbox");
  ASSERT_TRUE(alice->connected() && carol->connected());
  // A forged 'from' must not survive (RFC 6120 §8.1.2.1: the server stamps the full JID).
  alice->send(
      "<message to='carol@localhost/inbox' from='someone@else/x' id='m1' type='chat'>"
      "<body>forged</body></message>");
  auto m =
      carol->wait_for([](const Node& n) { return n.name == "message" && n.attr("id") == "m1"; });
  // Either the server rewrote 'from', or it refused the stanza; it must never arrive forged.
  if (m) {
    EXPECT_EQ(m->attr("from"), "alice@localhost/stamp");
  } else {
    auto err = alice->wait_for([](const Node& n) { return n.attr("id") == "m1"; });
    ADD_FAILURE() << "message with a forged from was not delivered with the real sender"
                  << (err ? ": " + err->raw : std::string());
  }
  alice->send(
      "<message to='carol@localhost/inbox' id='m2' type='chat'><body>plain</body></message>");
  auto m2 = carol->wait_for([](const Node& n) { return n.attr("id") == "m2"; });
  ASSERT_TRUE(m2);
  EXPECT_EQ(m2->attr("from"), "alice@localhost/stamp");
}

}  // namespace
}  // namespace parley::it
