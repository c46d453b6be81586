// s2s TLS: the names read from certificates made by the test CA, the RFC 6125 identity rules,
// and real handshakes between S2sTls::connect() and S2sTls::accept() over a socketpair (and
// through Transport over loopback TCP): trust, SNI, ALPN, untrusted, expired and absent peer
// certificates.
#include "s2s/tls.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "../common/test_ca.h"
#include "core/config.h"
#include "net/transport.h"

namespace parley::s2s {
namespace {

using parley::testca::CertSpec;
using parley::testca::make_ca;
using parley::testca::make_cert;
using parley::testca::TestCa;

std::string make_temp_dir() {
  std::string dir = (std::filesystem::temp_directory_path() / "parley-s2stls-XXXXXX").string();
  if (!::mkdtemp(dir.data())) throw std::runtime_error("mkdtemp failed");
  return dir;
}

// The names of a certificate file, as describe() reads them.
PeerCertificate describe_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) throw std::runtime_error("cannot open " + path);
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  PeerCertificate out = describe(x);
  X509_free(x);
  return out;
}

PeerCertificate names(const std::vector<std::string>& dns, const std::vector<std::string>& srv,
                      const std::vector<std::string>& xmpp, const std::string& cn) {
  PeerCertificate c;
  c.present = true;
  c.has_san = !dns.empty() || !srv.empty() || !xmpp.empty();
  c.dns_ids = dns;
  c.srv_ids = srv;
  c.xmpp_addrs = xmpp;
  c.common_name = cn;
  return c;
}

// Both ends of a socketpair, non-blocking.
struct Wire {
  int client = -1, server = -1;
  Wire() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) throw std::runtime_error("socketpair");
    client = fds[0];
    server = fds[1];
    for (int fd : fds) ::fcntl(fd, F_SETFL, O_NONBLOCK);
  }
  ~Wire() {
    ::close(client);
    ::close(server);
  }
};

// Alternating non-blocking handshake steps on both ends until both finished; false when either
// failed. The socketpair holds every flight, so no step ever has to wait.
bool handshake(SSL* client, SSL* server) {
  bool client_done = false, server_done = false;
  for (int i = 0; i < 100 && !(client_done && server_done); ++i) {
    if (!client_done) {
      int r = SSL_do_handshake(client);
      client_done = r == 1;
      int e = SSL_get_error(client, r);
      if (!client_done && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return false;
    }
    if (!server_done) {
      int r = SSL_do_handshake(server);
      server_done = r == 1;
      int e = SSL_get_error(server, r);
      if (!server_done && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return false;
    }
  }
  return client_done && server_done;
}

std::string alpn_of(SSL* ssl) {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &p, &len);
  return p ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

Config config_for(const std::string& domain, const std::pair<std::string, std::string>& files) {
  Config c;
  c.certificate = files.first;
  c.private_key = files.second;
  c.hosts.push_back({domain, "", ""});
  return c;
}

class S2sTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(make_temp_dir());
    ca_ = new TestCa(make_ca(*dir_));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete ca_;
    delete dir_;
  }

  std::pair<std::string, std::string> cert(const std::string& stem, const CertSpec& spec,
                                           bool self_signed = false) {
    return make_cert(*dir_, stem, spec, self_signed ? nullptr : ca_);
  }
  TlsOptions trust_ca() const { return TlsOptions{{ca_->cert_path}, false}; }

  static std::string* dir_;
  static TestCa* ca_;
};
std::string* S2sTlsTest::dir_ = nullptr;
TestCa* S2sTlsTest::ca_ = nullptr;

// --- names and identities ---

TEST_F(S2sTlsTest, DescribeReadsEveryNameType) {
  CertSpec spec;
  spec.dns_ids = {"XMPP.Example.org", "*.muc.example.org"};
  spec.srv_ids = {"_xmpp-server.Example.ORG"};
  spec.xmpp_addrs = {"Example.org"};
  spec.common_name = "CN.example.org";
  auto c = describe_file(cert("names", spec).first);
  EXPECT_TRUE(c.present);
  EXPECT_FALSE(c.trusted);
  EXPECT_TRUE(c.has_san);
  EXPECT_EQ(c.dns_ids, (std::vector<std::string>{"xmpp.example.org", "*.muc.example.org"}));
  EXPECT_EQ(c.srv_ids, std::vector<std::string>{"_xmpp-server.example.org"});
  EXPECT_EQ(c.xmpp_addrs, std::vector<std::string>{"Example.org"});
  EXPECT_EQ(c.common_name, "cn.example.org");
}

TEST_F(S2sTlsTest, ExactDnsId) {
  CertSpec spec;
  spec.dns_ids = {"example.org", "Other.Example.NET"};
  auto c = describe_file(cert("exact", spec).first);
  EXPECT_TRUE(identifies(c, "example.org"));
  EXPECT_TRUE(identifies(c, "EXAMPLE.org"));
  EXPECT_TRUE(identifies(c, "other.example.net"));
  EXPECT_TRUE(identifies(c, "example.org."));
  EXPECT_FALSE(identifies(c, "example.com"));
  EXPECT_FALSE(identifies(c, "a.example.org"));
  EXPECT_FALSE(identifies(c, "org"));
  EXPECT_FALSE(identifies(c, ""));
}

TEST_F(S2sTlsTest, WildcardOnlyAsTheWholeLeftMostLabel) {
  CertSpec spec;
  spec.dns_ids = {"*.Example.org"};
  auto c = describe_file(cert("wildcard", spec).first);
  EXPECT_TRUE(identifies(c, "a.example.org"));
  EXPECT_TRUE(identifies(c, "Conference.EXAMPLE.org"));
  EXPECT_FALSE(identifies(c, "example.org"));
  EXPECT_FALSE(identifies(c, "a.b.example.org"));
  EXPECT_FALSE(identifies(c, ".example.org"));
  EXPECT_FALSE(identifies(c, "a.example.net"));
  EXPECT_FALSE(identifies(c, "*.example.org"));  // a domain is no pattern

  EXPECT_FALSE(identifies(names({"f*.example.org"}, {}, {}, ""), "foo.example.org"));
  EXPECT_FALSE(identifies(names({"*foo.example.org"}, {}, {}, ""), "afoo.example.org"));
  EXPECT_FALSE(identifies(names({"a.*.example.org"}, {}, {}, ""), "a.b.example.org"));
  EXPECT_FALSE(identifies(names({"*.org"}, {}, {}, ""), "example.org"));
  EXPECT_FALSE(identifies(names({"*"}, {}, {}, ""), "example"));
  EXPECT_FALSE(identifies(names({"*.*.example.org"}, {}, {}, ""), "a.b.example.org"));
}

TEST_F(S2sTlsTest, SrvIds) {
  CertSpec spec;
  spec.srv_ids = {"_xmpp-server.example.org", "_XMPPS-Server.example.net",
                  "_xmpp-client.example.com"};
  auto c = describe_file(cert("srv", spec).first);
  EXPECT_TRUE(c.dns_ids.empty());
  EXPECT_TRUE(identifies(c, "example.org"));
  EXPECT_TRUE(identifies(c, "Example.ORG"));
  EXPECT_TRUE(identifies(c, "example.net"));
  EXPECT_FALSE(identifies(c, "example.com"));  // a client's SRV-ID does not name a server
  EXPECT_FALSE(identifies(c, "a.example.org"));
  EXPECT_FALSE(identifies(c, "_xmpp-server.example.org"));
}

TEST_F(S2sTlsTest, XmppAddr) {
  CertSpec spec;
  spec.xmpp_addrs = {"Example.org"};
  auto c = describe_file(cert("xmppaddr", spec).first);
  EXPECT_TRUE(identifies(c, "example.org"));
  EXPECT_TRUE(identifies(c, "EXAMPLE.ORG"));
  EXPECT_FALSE(identifies(c, "a.example.org"));
  EXPECT_FALSE(identifies(names({}, {}, {"*.example.org"}, ""), "a.example.org"));
}

TEST_F(S2sTlsTest, CommonNameOnlyWithoutSubjectAltName) {
  CertSpec spec;
  spec.common_name = "Example.org";
  auto c = describe_file(cert("cn-only", spec).first);
  EXPECT_FALSE(c.has_san);
  EXPECT_TRUE(identifies(c, "example.org"));
  EXPECT_FALSE(identifies(c, "a.example.org"));
  spec.common_name = "*.example.org";
  auto w = describe_file(cert("cn-wildcard", spec).first);
  EXPECT_TRUE(identifies(w, "a.example.org"));
  EXPECT_FALSE(identifies(w, "example.org"));
}

TEST_F(S2sTlsTest, CommonNameIgnoredWhenThereAreSans) {
  CertSpec spec;
  spec.common_name = "example.org";
  spec.dns_ids = {"other.example.net"};
  auto c = describe_file(cert("cn-and-san", spec).first);
  EXPECT_EQ(c.common_name, "example.org");
  EXPECT_FALSE(identifies(c, "example.org"));
  EXPECT_TRUE(identifies(c, "other.example.net"));
  EXPECT_FALSE(identifies(names({}, {"_xmpp-server.x.net"}, {}, "example.org"), "example.org"));
  EXPECT_FALSE(identifies(names({}, {}, {"x.net"}, "example.org"), "example.org"));
  // A subjectAltName of another type only (has_san, no XMPP names) still rules the CN out.
  PeerCertificate other;
  other.has_san = true;
  other.common_name = "example.org";
  EXPECT_FALSE(identifies(other, "example.org"));
}

TEST_F(S2sTlsTest, NullCertificateIsAbsent) {
  EXPECT_FALSE(describe(nullptr).present);
  EXPECT_FALSE(inspect_peer(nullptr).present);
}

// --- handshakes ---

TEST_F(S2sTlsTest, BothSidesTrustAndIdentifyEachOther) {
  CertSpec a, b;
  a.dns_ids = {"a.example"};
  b.srv_ids = {"_xmpp-server.b.example"};
  b.dns_ids = {"b.example"};
  Config config_a = config_for("a.example", cert("a", a));
  Config config_b = config_for("b.example", cert("b", b));
  S2sTls tls_a(config_a, trust_ca()), tls_b(config_b, trust_ca());

  Wire wire;
  TlsConnection client = tls_a.connect("a.example", "b.example", true);
  TlsConnection server = tls_b.accept();
  SSL_set_fd(client.native(), wire.client);
  SSL_set_fd(server.native(), wire.server);
  ASSERT_TRUE(handshake(client.native(), server.native()));

  PeerCertificate seen_by_b = inspect_peer(server.native());
  EXPECT_TRUE(seen_by_b.present);
  EXPECT_TRUE(seen_by_b.trusted) << seen_by_b.error;
  EXPECT_TRUE(seen_by_b.error.empty());
  EXPECT_TRUE(identifies(seen_by_b, "a.example"));
  EXPECT_FALSE(identifies(seen_by_b, "b.example"));
  PeerCertificate seen_by_a = inspect_peer(client.native());
  EXPECT_TRUE(seen_by_a.present);
  EXPECT_TRUE(seen_by_a.trusted) << seen_by_a.error;
  EXPECT_TRUE(identifies(seen_by_a, "b.example"));

  EXPECT_EQ(alpn_of(server.native()), "xmpp-server");
  EXPECT_EQ(alpn_of(client.native()), "xmpp-server");
  EXPECT_STREQ(SSL_get_servername(server.native(), TLSEXT_NAMETYPE_host_name), "b.example");
  EXPECT_GE(SSL_version(client.native()), TLS1_2_VERSION);

  // Channel bindings on the connecting side name the same (the server's) certificate.
  auto cb_client = channel_bindings(client.native());
  auto cb_server = channel_bindings(server.native());
  EXPECT_FALSE(cb_client.tls_server_end_point.empty());
  EXPECT_EQ(cb_client.tls_server_end_point, cb_server.tls_server_end_point);
  EXPECT_EQ(cb_client.tls_exporter, cb_server.tls_exporter);
}

TEST_F(S2sTlsTest, SniPicksTheLocalDomainsCertificateAndNoAlpnWithoutDirectTls) {
  CertSpec a, b, b2;
  a.dns_ids = {"a.example"};
  b.dns_ids = {"b.example"};
  b2.xmpp_addrs = {"b2.example"};
  Config config_a = config_for("a.example", cert("a", a));
  Config config_b = config_for("b.example", cert("b", b));
  auto b2_files = cert("b2", b2);
  config_b.hosts.push_back({"b2.example", b2_files.first, b2_files.second});
  config_b.hosts.push_back({"b3.example", "", ""});
  S2sTls tls_a(config_a, trust_ca()), tls_b(config_b, trust_ca());
  EXPECT_EQ(tls_b.size(), 2u);

  for (const char* domain : {"b2.example", "B2.Example", "b3.example", "unknown.example"}) {
    Wire wire;
    TlsConnection client = tls_a.connect("a.example", domain, false);
    TlsConnection server = tls_b.accept();
    SSL_set_fd(client.native(), wire.client);
    SSL_set_fd(server.native(), wire.server);
    ASSERT_TRUE(handshake(client.native(), server.native())) << domain;
    PeerCertificate seen = inspect_peer(client.native());
    EXPECT_TRUE(seen.trusted) << domain << ": " << seen.error;
    bool b2_cert =
        std::string_view(domain) == "b2.example" || std::string_view(domain) == "B2.Example";
    EXPECT_EQ(identifies(seen, "b2.example"), b2_cert) << domain;
    EXPECT_EQ(identifies(seen, "b.example"), !b2_cert) << domain;
    EXPECT_EQ(alpn_of(server.native()), "") << domain;
  }
}

TEST_F(S2sTlsTest, UntrustedSelfSignedClientCertificateStillCompletes) {
  CertSpec a, b;
  a.dns_ids = {"a.example"};
  b.dns_ids = {"b.example"};
  Config config_a = config_for("a.example", cert("a-self", a, true));
  Config config_b = config_for("b.example", cert("b", b));
  S2sTls tls_a(config_a, trust_ca()), tls_b(config_b, trust_ca());

  Wire wire;
  TlsConnection client = tls_a.connect("a.example", "b.example", true);
  TlsConnection server = tls_b.accept();
  SSL_set_fd(client.native(), wire.client);
  SSL_set_fd(server.native(), wire.server);
  ASSERT_TRUE(handshake(client.native(), server.native()));
  PeerCertificate seen_by_b = inspect_peer(server.native());
  EXPECT_TRUE(seen_by_b.present);
  EXPECT_FALSE(seen_by_b.trusted);
  EXPECT_FALSE(seen_by_b.error.empty());
  EXPECT_TRUE(identifies(seen_by_b, "a.example"));  // names are read all the same
  EXPECT_TRUE(inspect_peer(client.native()).trusted);

  // The same certificate pinned in ca_files is trusted.
  S2sTls pinned(config_b, TlsOptions{{config_a.certificate}, false});
  Wire wire2;
  TlsConnection client2 = tls_a.connect("a.example", "b.example", true);
  TlsConnection server2 = pinned.accept();
  SSL_set_fd(client2.native(), wire2.client);
  SSL_set_fd(server2.native(), wire2.server);
  ASSERT_TRUE(handshake(client2.native(), server2.native()));
  PeerCertificate seen = inspect_peer(server2.native());
  EXPECT_TRUE(seen.trusted) << seen.error;
}

TEST_F(S2sTlsTest, PinnedLeafCertificateIsTrustedWithoutItsCa) {
  CertSpec a, b;
  a.dns_ids = {"a.example"};
  b.dns_ids = {"b.example"};
  Config config_a = config_for("a.example", cert("a", a));
  Config config_b = config_for("b.example", cert("b", b));
  S2sTls tls_a(config_a, trust_ca());
  S2sTls tls_b(config_b, TlsOptions{{config_a.certificate}, false});  // a's own, not the CA

  Wire wire;
  TlsConnection client = tls_a.connect("a.example", "b.example", true);
  TlsConnection server = tls_b.accept();
  SSL_set_fd(client.native(), wire.client);
  SSL_set_fd(server.native(), wire.server);
  ASSERT_TRUE(handshake(client.native(), server.native()));
  PeerCertificate seen = inspect_peer(server.native());
  EXPECT_TRUE(seen.trusted) << seen.error;
}

TEST_F(S2sTlsTest, UntrustedServerCertificateStillCompletes) {
  CertSpec a, b;
  a.dns_ids = {"a.example"};
  b.dns_ids = {"b.example"};
  Config config_a = config_for("a.example", cert("a", a));
  Config config_b = config_for("b.example", cert("b", b));
  S2sTls tls_a(config_a, TlsOptions{{}, false}), tls_b(config_b, trust_ca());  // a trusts none

  Wire wire;
  TlsConnection client = tls_a.connect("a.example", "b.example", false);
  TlsConnection server = tls_b.accept();
  SSL_set_fd(client.native(), wire.client);
  SSL_set_fd(server.native(), wire.server);
  ASSERT_TRUE(handshake(client.native(), server.native()));
  PeerCertificate seen_by_a = inspect_peer(client.native());
  EXPECT_TRUE(seen_by_a.present);
  EXPECT_FALSE(seen_by_a.trusted);
  EXPECT_FALSE(seen_by_a.error.empty());
  EXPECT_TRUE(inspect_peer(server.native()).trusted);
}

TEST_F(S2sTlsTest, ExpiredCertificateIsNotTrusted) {
  CertSpec a, b;
  a.dns_ids = {"a.example"};
  a.expired = true;
  b.dns_ids = {"b.example"};
  Config config_a = config_for("a.example", cert("a-expired", a));
  Config config_b = config_for("b.example", cert("b", b));
  S2sTls tls_a(config_a, trust_ca()), tls_b(config_b, trust_ca());

  Wire wire;
  TlsConnection client = tls_a.connect("a.example", "b.example", true);
  TlsConnection server = tls_b.accept();
  SSL_set_fd(client.native(), wire.client);
  SSL_set_fd(server.native(), wire.server);
  ASSERT_TRUE(handshake(client.native(), server.native()));
  PeerCertificate seen = inspect_peer(server.native());
  EXPECT_TRUE(seen.present);
  EXPECT_FALSE(seen.trusted);
  EXPECT_NE(seen.error.find("expired"), std::string::npos) << seen.error;
}

TEST_F(S2sTlsTest, ServerAuthOnlyCertificateIsTrustedAsClientCertificate) {
  CertSpec a, b;
  a.dns_ids = {"a.example"};
  a.client_auth = false;  // as public CAs issue server certificates now
  b.dns_ids = {"b.example"};
  Config config_a = config_for("a.example", cert("a-serverauth", a));
  Config config_b = config_for("b.example", cert("b", b));
  S2sTls tls_a(config_a, trust_ca()), tls_b(config_b, trust_ca());

  Wire wire;
  TlsConnection client = tls_a.connect("a.example", "b.example", true);
  TlsConnection server = tls_b.accept();
  SSL_set_fd(client.native(), wire.client);
  SSL_set_fd(server.native(), wire.server);
  ASSERT_TRUE(handshake(client.native(), server.native()));
  PeerCertificate seen = inspect_peer(server.native());
  EXPECT_TRUE(seen.trusted) << seen.error;
}

TEST_F(S2sTlsTest, PeerWithoutClientCertificate) {
  CertSpec b;
  b.dns_ids = {"b.example"};
  Config config_b = config_for("b.example", cert("b", b));
  S2sTls tls_b(config_b, trust_ca());

  SSL_CTX* plain = SSL_CTX_new(TLS_client_method());
  SSL* client = SSL_new(plain);
  SSL_set_connect_state(client);
  SSL_set_tlsext_host_name(client, "b.example");
  Wire wire;
  TlsConnection server = tls_b.accept();
  SSL_set_fd(client, wire.client);
  SSL_set_fd(server.native(), wire.server);
  EXPECT_TRUE(handshake(client, server.native()));
  PeerCertificate seen = inspect_peer(server.native());
  EXPECT_FALSE(seen.present);
  EXPECT_FALSE(seen.trusted);
  EXPECT_FALSE(identifies(seen, "a.example"));
  SSL_free(client);
  SSL_CTX_free(plain);
}

TEST_F(S2sTlsTest, BadFilesThrowNamingTheFile) {
  CertSpec b;
  b.dns_ids = {"b.example"};
  Config config_b = config_for("b.example", cert("b", b));
  std::string missing = *dir_ + "/missing-ca.pem";
  try {
    S2sTls tls(config_b, TlsOptions{{missing}, false});
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  Config broken = config_b;
  broken.hosts.push_back({"c.example", *dir_ + "/missing.crt", *dir_ + "/missing.key"});
  try {
    S2sTls tls(broken, trust_ca());
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.crt"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW({ S2sTls tls(config_b, TlsOptions{}); });  // the system store, if any
  Config none;
  none.hosts.push_back({"b.example", "", ""});
  EXPECT_THROW({ S2sTls tls(none, trust_ca()); }, std::runtime_error);
}

TEST_F(S2sTlsTest, ReloadKeepsTheOldContextsOnFailureAndPicksUpNewFiles) {
  CertSpec a, b, renewed;
  a.dns_ids = {"a.example"};
  b.dns_ids = {"b.example"};
  renewed.dns_ids = {"b.example", "renewed.b.example"};
  Config config_a = config_for("a.example", cert("a", a));
  Config config_b = config_for("b.example", cert("b-old", b));
  S2sTls tls_a(config_a, trust_ca()), tls_b(config_b, trust_ca());

  auto served = [&] {
    Wire wire;
    TlsConnection client = tls_a.connect("a.example", "b.example", true);
    TlsConnection server = tls_b.accept();
    SSL_set_fd(client.native(), wire.client);
    SSL_set_fd(server.native(), wire.server);
    EXPECT_TRUE(handshake(client.native(), server.native()));
    return inspect_peer(client.native());
  };
  config_b.certificate = *dir_ + "/nonexistent.crt";
  tls_b.reload();  // logged, the old certificate stays
  EXPECT_TRUE(identifies(served(), "b.example"));
  EXPECT_FALSE(identifies(served(), "renewed.b.example"));

  auto files = cert("b-new", renewed);
  config_b.certificate = files.first;
  config_b.private_key = files.second;
  tls_b.reload();
  EXPECT_TRUE(identifies(served(), "renewed.b.example"));
}

// Transport in both roles: s2s connections stay on OpenSSL after the handshake (no TLS 1.3
// record layer takeover), so the peer's certificate can be read from native_ssl().
TEST_F(S2sTlsTest, TransportKeepsTheSslForInspection) {
  CertSpec a, b;
  a.dns_ids = {"a.example"};
  b.dns_ids = {"b.example"};
  Config config_a = config_for("a.example", cert("a", a));
  Config config_b = config_for("b.example", cert("b", b));
  S2sTls tls_a(config_a, trust_ca()), tls_b(config_b, trust_ca());

  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io,
                                   asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  asio::ip::tcp::socket out(io);
  out.connect(acceptor.local_endpoint());
  Transport client(std::move(out));
  Transport server(acceptor.accept());
  EXPECT_EQ(server.native_ssl(), nullptr);
  client.start_tls(tls_a.connect("a.example", "b.example", true));
  server.start_tls(tls_b.accept());

  using Io = Transport::Io;
  Io c = Io::WantRead, s = Io::WantRead;
  for (int i = 0; i < 100 && !(c == Io::Done && s == Io::Done); ++i) {
    if (c != Io::Done) c = client.handshake();
    if (s != Io::Done) s = server.handshake();
    ASSERT_NE(c, Io::Error) << client.error();
    ASSERT_NE(s, Io::Error) << server.error();
    if (c != Io::Done || s != Io::Done) {  // loopback TCP: wait for the other side's flight
      pollfd fds[2] = {{client.socket().native_handle(), POLLIN, 0},
                       {server.socket().native_handle(), POLLIN, 0}};
      ::poll(fds, 2, 1000);
    }
  }
  ASSERT_EQ(c, Io::Done);
  ASSERT_EQ(s, Io::Done);
  EXPECT_EQ(server.alpn(), "xmpp-server");
  ASSERT_NE(server.native_ssl(), nullptr);
  ASSERT_NE(client.native_ssl(), nullptr);
  PeerCertificate seen_by_b = inspect_peer(server.native_ssl());
  EXPECT_TRUE(seen_by_b.trusted) << seen_by_b.error;
  EXPECT_TRUE(identifies(seen_by_b, "a.example"));
  PeerCertificate seen_by_a = inspect_peer(client.native_ssl());
  EXPECT_TRUE(seen_by_a.trusted) << seen_by_a.error;
  EXPECT_TRUE(identifies(seen_by_a, "b.example"));
  auto cb = client.take_channel_bindings();
  EXPECT_TRUE(cb.tls);
  EXPECT_EQ(cb.tls_server_end_point, server.take_channel_bindings().tls_server_end_point);

  // And data still flows both ways on OpenSSL.
  const std::string hello = "<stream:stream>";
  asio::const_buffer buf(hello.data(), hello.size());
  size_t n = 0;
  ASSERT_EQ(client.write(&buf, 1, n), Io::Done);
  EXPECT_EQ(n, hello.size());
  char got[65536];
  Io r = Io::WantRead;
  for (int i = 0; i < 10 && r == Io::WantRead; ++i) {
    pollfd p{server.socket().native_handle(), POLLIN, 0};
    ::poll(&p, 1, 1000);
    r = server.read(got, sizeof got, n);
  }
  ASSERT_EQ(r, Io::Done);
  EXPECT_EQ(std::string(got, n), hello);
}

}  // namespace
}  // namespace parley::s2s
