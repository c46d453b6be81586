// XML streams (RFC 6120 §4, §5, §11; XEP-0368): direct TLS with ALPN and SNI, stream errors
// for bad headers and restricted XML, limits, clean and abrupt closes, the auth timeout.
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common.h"

namespace parley::it {
namespace {

class StreamTest : public ServerSuite<StreamTest> {
 public:
  static ServerOptions options() { return with_users({"alice", "bob"}); }
};

std::string common_name(X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return buf;
}

std::vector<std::string> dns_names(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS)
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                       static_cast<size_t>(ASN1_STRING_length(n->d.dNSName)));
  }
  GENERAL_NAMES_free(names);
  return out;
}

TEST_F(StreamTest, DirectTlsWithAlpnAndSniPicksEachHostsCertificate) {
  for (const std::string& domain : {kHost, kHost2}) {
    SCOPED_TRACE(domain);
    RawClient c(server().direct_tls_port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.tls_handshake({.sni = domain, .alpn = {"xmpp-client"}}));
    EXPECT_EQ(c.alpn_selected(), "xmpp-client");  // XEP-0368 §3
    X509* cert = c.peer_certificate();
    ASSERT_TRUE(cert);
    EXPECT_EQ(common_name(cert), domain);
    auto sans = dns_names(cert);
    EXPECT_NE(std::find(sans.begin(), sans.end(), domain), sans.end());
    // Already encrypted: SASL is offered at once, STARTTLS is not.
    ASSERT_TRUE(c.open_stream(domain)) << c.last().raw;
    EXPECT_FALSE(c.features().child("starttls", kNsTls)) << c.features().raw;
    EXPECT_TRUE(c.features().child("mechanisms", kNsSasl)) << c.features().raw;
  }
  // And a full login over direct TLS works.
  RawClient c(server().direct_tls_port());
  ASSERT_TRUE(c.tls_handshake({.sni = kHost, .alpn = {"xmpp-client"}}));
  ASSERT_TRUE(c.open_stream());
  ASSERT_TRUE(c.auth_scram("SCRAM-SHA-256", "alice", kPassword).success);
  ASSERT_TRUE(c.open_stream());
  EXPECT_EQ(c.bind("direct"), "alice@localhost/direct");
}

TEST_F(StreamTest, StarttlsUsesTheRequestedHostsCertificate) {
  RawClient c(port());
  ASSERT_TRUE(c.starttls(kHost2));
  EXPECT_EQ(common_name(c.peer_certificate()), kHost2);
}

TEST_F(StreamTest, UnknownDomainIsHostUnknown) {
  RawClient c(port());
  EXPECT_FALSE(c.open_stream("unknown.invalid"));
  EXPECT_EQ(c.stream_error(), "host-unknown");  // RFC 6120 §4.9.3.6
  EXPECT_TRUE(c.wait_eof());
}

TEST_F(StreamTest, WrongStreamNamespaceIsInvalidNamespace) {
  RawClient c(port());
  c.send_stream_header(kHost, kNsClient, "http://example.com/not-streams");
  EXPECT_EQ(c.stream_error(), "invalid-namespace");  // RFC 6120 §4.9.3.10
  EXPECT_TRUE(c.wait_eof());

  RawClient d(port());
  d.send_stream_header(kHost, "jabber:not-client");
  EXPECT_EQ(d.stream_error(), "invalid-namespace");  // RFC 6120 §4.8.3
}

// RFC 6120 §11.1: DTDs, entity declarations, processing instructions and comments are
// restricted XML.
TEST_F(StreamTest, RestrictedXmlIsRefused) {
  const std::string header =
      "<stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' "
      "version='1.0'>";
  struct Case {
    const char* name;
    std::string bytes;
  };
  const std::vector<Case> cases = {
      {"DTD", "<?xml version='1.0'?><!DOCTYPE stream:stream SYSTEM 'x.dtd'>" + header},
      {"entity declaration",
       "<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY boom 'kaboom'>]>" + header},
      {"processing instruction", header + "<message><?evil stuff?></message>"},
      {"comment", header + "<!-- a comment -->"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    RawClient c(port());
    c.send(tc.bytes);
    EXPECT_EQ(c.stream_error(), "restricted-xml");
    EXPECT_TRUE(c.wait_eof());
  }
}

TEST_F(StreamTest, InvalidUtf8IsNotWellFormed) {
  RawClient c(port());
  ASSERT_TRUE(c.open_stream());
  c.send("<message to='bob@localhost'><body>\xff\xfe\xc0\x80</body></message>");
  EXPECT_EQ(c.stream_error(), "not-well-formed");  // RFC 6120 §4.9.3.13, §11.6
  EXPECT_TRUE(c.wait_eof());
}

TEST_F(StreamTest, NonStanzaAfterBindIsUnsupportedStanzaType) {
  RawClient c(port());
  ASSERT_EQ(c.login("alice", kPassword, "ust"), "alice@localhost/ust");
  c.send("<nonsense xmlns='jabber:client'/>");
  EXPECT_EQ(c.stream_error(), "unsupported-stanza-type");  // RFC 6120 §4.9.3.24
  EXPECT_TRUE(c.wait_eof());
}

TEST_F(StreamTest, CleanCloseIsAnswered) {
  RawClient c(port());
  ASSERT_FALSE(c.login("alice", kPassword, "close").empty());
  c.send("</stream:stream>");
  // RFC 6120 §4.4: the peer answers with its own closing tag, then closes TCP.
  EXPECT_FALSE(c.next_element());
  EXPECT_TRUE(c.stream_closed()) << "no </stream:stream> from the server";
  EXPECT_TRUE(c.wait_eof());
}

TEST_F(StreamTest, AbruptDisconnectMidStanzaLeavesServerHealthy) {
  {
    RawClient c(port());
    ASSERT_EQ(c.login("bob", kPassword, "dropme"), "bob@localhost/dropme");
    ASSERT_TRUE(poll_until([&] {
      auto s = server().sessions();
      return std::find(s.begin(), s.end(), "bob@localhost/dropme") != s.end();
    })) << "parleyctl sessions never listed the session";
    c.send("<message to='alice@localhost'><body>half a sta");
    c.drop();
  }
  // The session goes away once the server notices the closed socket.
  EXPECT_TRUE(poll_until([&] {
    auto s = server().sessions();
    return std::find(s.begin(), s.end(), "bob@localhost/dropme") == s.end();
  })) << "the dropped session is still listed";
  RawClient again(port());
  EXPECT_EQ(again.login("bob", kPassword, "dropme"), "bob@localhost/dropme");
}

TEST(StreamLimitTest, OversizedStanzaIsPolicyViolation) {
  ServerOptions o = with_users({"alice"});
  o.c2s = {{"max_stanza_bytes", "16KiB"}};  // RFC 6120 §13.12: at least 10000
  auto server = start_server(o);
  ASSERT_TRUE(server);
  {
    RawClient c(server->c2s_port());
    ASSERT_FALSE(c.login("alice", kPassword, "big").empty());
    // A stanza below the limit is fine ...
    c.send("<iq type='get' id='small' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    auto pong = c.wait_for_id("small");
    ASSERT_TRUE(pong) << "no reply to a small stanza";
    // ... one above it ends the stream (RFC 6120 §4.9.3.18, §13.12 item 4).
    c.send("<message to='alice@localhost'><body>" + std::string(32768, 'x') + "</body></message>");
    EXPECT_EQ(c.stream_error(), "policy-violation");
    EXPECT_TRUE(c.wait_eof());
  }
  stop_server(server);
}

TEST(StreamTimeoutTest, IdleUnauthenticatedConnectionGetsConnectionTimeout) {
  ServerOptions o = with_users({"alice"});
  o.c2s = {{"auth_timeout", "1s"}};
  auto server = start_server(o);
  ASSERT_TRUE(server);
  {
    // Bound before the idle one connects, so by the time that one times out this session is
    // older than auth_timeout: it must not be cut (the timeout is for negotiation only).
    RawClient ok(server->c2s_port());
    ASSERT_FALSE(ok.login("alice", kPassword, "stays").empty());

    RawClient c(server->c2s_port());
    ASSERT_TRUE(c.open_stream());
    // Say nothing more; the server must give up (RFC 6120 §4.9.3.4). The wait's bound is
    // far above the configured 1 s and only fails a server that never times out.
    EXPECT_EQ(c.stream_error(deadline(15s)), "connection-timeout");
    EXPECT_TRUE(c.wait_eof());

    ok.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    auto pong = ok.wait_for_id("p1");
    ASSERT_TRUE(pong) << "the bound session was closed: " << ok.last().raw;
    EXPECT_EQ(pong->attr("type"), "result");
  }
  stop_server(server);
}

}  // namespace
}  // namespace parley::it
