// TLS after the handshake (net/tls13_records.h): a TLS 1.3 connection is carried by Parley's
// own record layer once OpenSSL has finished the handshake, a TLS 1.2 one stays on OpenSSL.
// Real OpenSSL clients against a real parleyd: key updates, stanzas spanning many records,
// channel binding computed before the handover, close_notify.
#include <openssl/ssl.h>

#include "common.h"
#include "sm_client.h"

namespace parley::it {
namespace {

class TlsTest : public ServerSuite<TlsTest> {
 public:
  static ServerOptions options() { return with_users({"alice"}); }
};

bool ping(RawClient& c, const std::string& id) {
  c.send("<iq type='get' id='" + id + "' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  auto pong = c.wait_for_id(id);
  return pong && pong->attr("type") == "result";
}

// Direct TLS with the given versions, SCRAM-SHA-256-PLUS with tls-exporter where the version
// allows it, bind.
void login(RawClient& c, int version, const std::string& resource) {
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.tls_handshake(
      {.sni = kHost, .alpn = {"xmpp-client"}, .min_version = version, .max_version = version}));
  ASSERT_EQ(SSL_version(c.ssl()), version);
  ASSERT_TRUE(c.open_stream());
  auto auth = c.auth_scram("SCRAM-SHA-256-PLUS", "alice", kPassword, "tls-exporter");
  ASSERT_TRUE(auth.success) << auth.condition << " " << auth.detail;
  ASSERT_TRUE(c.open_stream());
  ASSERT_EQ(c.bind(resource), "alice@localhost/" + resource);
}

TEST_F(TlsTest, Tls13KeyUpdatesAreAnsweredAndFollowed) {
  RawClient c(server().direct_tls_port());
  login(c, TLS1_3_VERSION, "ku");
  ASSERT_TRUE(ping(c, "before"));
  // The client asks the server to update its keys too (RFC 8446 §4.6.3): the answer must come
  // under the server's new key, and the client's own data under its new key.
  ASSERT_EQ(SSL_key_update(c.ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
  ASSERT_TRUE(ping(c, "after-requested"));
  ASSERT_EQ(SSL_key_update(c.ssl(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  ASSERT_TRUE(ping(c, "after-not-requested"));
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(SSL_key_update(c.ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
    ASSERT_TRUE(ping(c, "again-" + std::to_string(i)));
  }
}

TEST_F(TlsTest, LargeStanzasSpanManyRecordsBothWays) {
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2");
    RawClient c(server().direct_tls_port());
    login(c, version, "big");
    // To our own full JID: the server reads ~60 KB (4 records or more) and writes it back.
    std::string body(60000, 'x');
    for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
    c.send("<message to='alice@localhost/big' type='chat' id='m1'><body>" + body +
           "</body></message>");
    auto echo = c.wait_for_id("m1");
    ASSERT_TRUE(echo);
    ASSERT_TRUE(echo->child("body"));
    EXPECT_EQ(echo->child("body")->text, body);
    EXPECT_TRUE(ping(c, "still-there"));
  }
}

TEST_F(TlsTest, CloseNotifyAfterTheStreamCloseIsAnOrderlyEnd) {
  RawClient c(server().direct_tls_port());
  login(c, TLS1_3_VERSION, "bye");
  c.send("</stream:stream>");
  EXPECT_TRUE(c.wait_eof());
  EXPECT_TRUE(c.stream_closed());
  // The server is still fine for the next client.
  RawClient d(server().direct_tls_port());
  login(d, TLS1_3_VERSION, "next");
  EXPECT_TRUE(ping(d, "next"));
}

// c2s.compact_after: a quiet session frees its XML parser and TLS state is already small; the
// next stanza must parse exactly as before (the stream header is replayed into a new parser),
// and the session compacts again once it is quiet again.
long compactions(const ServerProcess& s) {
  auto m = s.ctl({"metrics"});
  static const std::string kLine = "\nparley_c2s_compactions_total ";
  auto at = m.output.find(kLine);
  return at == std::string::npos ? -1 : std::stol(m.output.substr(at + kLine.size()));
}

TEST(CompactTest, QuietSessionsFreeTheirParserAndParseOnAfterwards) {
  ServerOptions o = with_users({"alice"});
  o.c2s = {{"compact_after", "100ms"}};
  auto server = start_server(o);
  ASSERT_TRUE(server);
  {
    RawClient c(server->direct_tls_port());
    login(c, TLS1_3_VERSION, "quiet");
    ASSERT_TRUE(poll_until([&] { return compactions(*server) >= 1; }))
        << "no compaction: " << compactions(*server);
    // Compacted, the session waits for data (its next timer is the ping, minutes away), so
    // the count stays put until the stanza below wakes it.
    long before = compactions(*server);
    // A stanza after compaction parses in the restored stream: namespaces and all.
    c.send(
        "<message to='alice@localhost/quiet' type='chat' id='after'><body>still here</body>"
        "<active xmlns='http://jabber.org/protocol/chatstates'/></message>");
    auto echo = c.wait_for_id("after");
    ASSERT_TRUE(echo);
    EXPECT_EQ(echo->child("body")->text, "still here");
    EXPECT_TRUE(echo->child("active", "http://jabber.org/protocol/chatstates"));
    // Quiet again: compacted again.
    ASSERT_TRUE(poll_until([&] { return compactions(*server) > before; }));
    ASSERT_TRUE(ping(c, "again"));
    // And the stream still closes in order.
    c.send("</stream:stream>");
    EXPECT_TRUE(c.wait_eof());
    EXPECT_TRUE(c.stream_closed());
  }
  stop_server(server);
}

// A session whose connection dropped waits for resumption (XEP-0198) without a connection:
// it frees its parser at once instead of after compact_after, and still resumes.
TEST(CompactTest, HibernatingSessionsCompactAtOnceAndStillResume) {
  ServerOptions o = with_users({"alice"});
  o.c2s = {{"compact_after", "1h"}};
  auto server = start_server(o);
  ASSERT_TRUE(server);
  {
    std::string previd;
    {
      SmClient c(server->c2s_port());
      ASSERT_EQ(c.login("alice", kPassword, "phone"), "alice@localhost/phone");
      ASSERT_TRUE(c.enable());
      previd = c.sm_id();
      ASSERT_FALSE(previd.empty());
      EXPECT_EQ(compactions(*server), 0);
      c.drop();
    }
    ASSERT_TRUE(poll_until([&] { return compactions(*server) >= 1; }))
        << "the hibernating session did not compact";
    SmClient back(server->c2s_port());
    auto resumed = back.resume("alice", kPassword, previd, 0);
    ASSERT_TRUE(resumed) << "no answer to <resume/>";
    EXPECT_EQ(resumed->name, "resumed") << resumed->raw;
  }
  stop_server(server);
}

}  // namespace
}  // namespace parley::it
