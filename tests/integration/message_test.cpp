// Stanza routing (RFC 6121 §8, RFC 6120 §8.3): full and bare JID delivery with priorities,
// negative priority, and the errors for offline, nonexistent, malformed and remote addresses.
#include "common.h"

namespace parley::it {
namespace {

class MessageTest : public ServerSuite<MessageTest> {
 public:
  static ServerOptions options() { return with_users({"ma", "mb", "mc", "md", "me"}); }
};

auto by_id(const std::string& id) {
  return [id](const Node& n) { return n.attr("id") == id; };
}

std::string message(const std::string& to, const std::string& id, const std::string& body = "hi") {
  return "<message to='" + to + "' id='" + id + "' type='chat'><body>" + body + "</body></message>";
}

TEST_F(MessageTest, ToFullJid) {
  auto a = client("ma", "a");
  auto b = client("mb", "b");
  ASSERT_TRUE(a->connected() && b->connected());
  a->send(message("mb@localhost/b", "full1", "hello full"));
  auto m = b->wait_for(by_id("full1"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->attr("from"), "ma@localhost/a");
  ASSERT_TRUE(m->child("body"));
  EXPECT_EQ(m->child("body")->text, "hello full");
}

TEST_F(MessageTest, BareJidGoesToTheHighestPriorityResource) {
  auto a = client("ma", "s");
  auto lo = client("mc", "lo");
  auto hi = client("mc", "hi");
  ASSERT_TRUE(a->connected() && lo->connected() && hi->connected());
  ASSERT_TRUE(go_online(*lo, 1));
  ASSERT_TRUE(go_online(*hi, 5));
  // Each gets its own presence broadcast back (RFC 6121 §4.2.2): both are available now.
  ASSERT_TRUE(lo->wait_for(presence_from("mc@localhost/lo")));
  ASSERT_TRUE(hi->wait_for(presence_from("mc@localhost/hi")));

  a->send(message("mc@localhost", "bare1"));
  // RFC 6121 §8.5.2.1.1: the highest-priority available resource gets it.
  EXPECT_TRUE(hi->wait_for(by_id("bare1")));
  // A marker to the low-priority resource, sent after: if the bare message had gone there
  // too it would have arrived first.
  a->send(message("mc@localhost/lo", "marker1"));
  ASSERT_TRUE(lo->wait_for(by_id("marker1")));
  EXPECT_FALSE(lo->has(by_id("bare1"))) << "the lower-priority resource also got the message";
}

TEST_F(MessageTest, NegativePriorityResourceGetsNoBareJidMessages) {
  auto a = client("ma", "n");
  auto neg = client("md", "neg");
  ASSERT_TRUE(a->connected() && neg->connected());
  ASSERT_TRUE(go_online(*neg, -1));
  ASSERT_TRUE(neg->wait_for(presence_from("md@localhost/neg")));
  // RFC 6121 §8.5.2.1.1 / §4.7.2.3: a negative priority never receives bare-JID messages;
  // with no other resource the account counts as offline: no offline storage yet, so
  // service-unavailable (RFC 6121 §8.5.2.2.1).
  a->send(message("md@localhost", "neg1"));
  auto err = a->wait_for(by_id("neg1"));
  ASSERT_TRUE(err);
  EXPECT_EQ(stanza_error(*err), "service-unavailable") << err->raw;
  a->send(message("md@localhost/neg", "marker2"));
  ASSERT_TRUE(neg->wait_for(by_id("marker2")));
  EXPECT_FALSE(neg->has(by_id("neg1")));

  // With a non-negative resource as well, that one gets it.
  auto pos = client("md", "pos");
  ASSERT_TRUE(pos->connected() && go_online(*pos, 0));
  ASSERT_TRUE(pos->wait_for(presence_from("md@localhost/pos")));
  a->send(message("md@localhost", "neg2"));
  EXPECT_TRUE(pos->wait_for(by_id("neg2")));
  a->send(message("md@localhost/neg", "marker3"));
  ASSERT_TRUE(neg->wait_for(by_id("marker3")));
  EXPECT_FALSE(neg->has(by_id("neg2")));
}

TEST_F(MessageTest, ToOfflineExistingUserIsServiceUnavailable) {
  auto a = client("ma", "off");
  ASSERT_TRUE(a->connected());
  a->send(message("me@localhost", "off1"));
  auto err = a->wait_for(by_id("off1"));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->attr("type"), "error");
  EXPECT_EQ(stanza_error(*err), "service-unavailable") << err->raw;  // RFC 6121 §8.5.2.2.1
  EXPECT_EQ(err->attr("from"), "me@localhost") << err->raw;
}

TEST_F(MessageTest, ToNonexistentUserIsServiceUnavailable) {
  auto a = client("ma", "nx");
  ASSERT_TRUE(a->connected());
  a->send(message("nobody@localhost", "nx1"));
  auto err = a->wait_for(by_id("nx1"));
  ASSERT_TRUE(err);
  EXPECT_EQ(stanza_error(*err), "service-unavailable") << err->raw;  // RFC 6121 §8.5.1
}

TEST_F(MessageTest, IqToUnavailableFullJidIsServiceUnavailable) {
  auto a = client("ma", "iq");
  ASSERT_TRUE(a->connected());
  auto r = a->iq(
      "<iq type='get' id='iq1' to='mb@localhost/nowhere'>"
      "<query xmlns='jabber:iq:version'/></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "service-unavailable") << r->raw;  // RFC 6121 §8.5.3.2.2
}

TEST_F(MessageTest, MalformedToIsJidMalformed) {
  auto a = client("ma", "bad");
  ASSERT_TRUE(a->connected());
  a->send(message("@localhost", "bad1"));
  auto err = a->wait_for(by_id("bad1"));
  ASSERT_TRUE(err) << "no error for an invalid 'to'";
  EXPECT_EQ(stanza_error(*err), "jid-malformed") << err->raw;  // RFC 6120 §8.3.3.8
  // The session survives.
  auto r = a->iq("<iq type='get' id='ok' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr("type"), "result");
}

TEST_F(MessageTest, UnknownIqPayloadToServerIsServiceUnavailable) {
  auto a = client("ma", "unk");
  ASSERT_TRUE(a->connected());
  auto r = a->iq("<iq type='get' id='u1' to='localhost'><query xmlns='urn:example:unknown'/></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr("type"), "error");
  EXPECT_EQ(stanza_error(*r), "service-unavailable") << r->raw;  // RFC 6120 §8.4
  // Also without 'to' (addressed to the account) and to the bare JID.
  auto r2 = a->iq("<iq type='set' id='u2'><query xmlns='urn:example:unknown'/></iq>");
  ASSERT_TRUE(r2);
  EXPECT_EQ(stanza_error(*r2), "service-unavailable") << r2->raw;
}

TEST_F(MessageTest, RemoteDomainIsRemoteServerNotFound) {
  auto a = client("ma", "far");
  ASSERT_TRUE(a->connected());
  // .invalid never resolves (RFC 2606), so no federation attempt can succeed.
  a->send(message("someone@nowhere.invalid", "far1"));
  auto err = a->wait_for(by_id("far1"), deadline(30s));
  ASSERT_TRUE(err);
  EXPECT_EQ(stanza_error(*err), "remote-server-not-found") << err->raw;  // RFC 6120 §8.3.3.16
}

TEST_F(MessageTest, SecondVirtualHostIsLocal) {
  // A message to an account-less JID on the other local host is answered locally, not as remote.
  auto a = client("ma", "vh");
  ASSERT_TRUE(a->connected());
  a->send(message("nobody@" + kHost2, "vh1"));
  auto err = a->wait_for(by_id("vh1"));
  ASSERT_TRUE(err);
  EXPECT_EQ(stanza_error(*err), "service-unavailable") << err->raw;
}

}  // namespace
}  // namespace parley::it
