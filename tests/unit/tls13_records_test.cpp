// The TLS 1.3 record layer against OpenSSL's own client: a real handshake over a socketpair,
// then the server side is taken over and must interoperate record for record (sequence
// numbers after the session tickets, key updates, alerts, large and split records).
#include "net/tls13_records.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

namespace parley::tls13 {
namespace {

struct Pair {
  SSL_CTX* server_ctx = nullptr;
  SSL_CTX* client_ctx = nullptr;
  SSL* server = nullptr;
  SSL* client = nullptr;
  int server_fd = -1, client_fd = -1;

  ~Pair() {
    SSL_free(server);
    SSL_free(client);
    SSL_CTX_free(server_ctx);
    SSL_CTX_free(client_ctx);
    if (server_fd >= 0) ::close(server_fd);
    if (client_fd >= 0) ::close(client_fd);
  }
};

void self_signed(SSL_CTX* ctx) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_sign(x, key, EVP_sha256());
  SSL_CTX_use_certificate(ctx, x);
  SSL_CTX_use_PrivateKey(ctx, key);
  X509_free(x);
  EVP_PKEY_free(key);
}

// A finished handshake: the server prepared as the c2s contexts are, the client plain OpenSSL.
void handshake(Pair& p, const char* suite, int tickets = 2, int max_version = TLS1_3_VERSION) {
  p.server_ctx = SSL_CTX_new(TLS_server_method());
  self_signed(p.server_ctx);
  SSL_CTX_set_mode(p.server_ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_num_tickets(p.server_ctx, tickets);
  prepare(p.server_ctx);
  p.client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(p.client_ctx, max_version);
  if (suite) SSL_CTX_set_ciphersuites(p.client_ctx, suite);
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  p.server_fd = fds[0];
  p.client_fd = fds[1];
  for (int fd : fds) ::fcntl(fd, F_SETFL, O_NONBLOCK);
  p.server = SSL_new(p.server_ctx);
  SSL_set_fd(p.server, p.server_fd);
  SSL_set_accept_state(p.server);
  p.client = SSL_new(p.client_ctx);
  SSL_set_fd(p.client, p.client_fd);
  SSL_set_connect_state(p.client);
  bool server_done = false, client_done = false;
  for (int i = 0; i < 100 && !(server_done && client_done); ++i) {
    if (!client_done) client_done = SSL_do_handshake(p.client) == 1;
    if (!server_done) server_done = SSL_do_handshake(p.server) == 1;
  }
  ASSERT_TRUE(server_done && client_done);
}

// Everything the server's socket has received.
std::string drain(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void send_all(int fd, const std::string& bytes) {
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

// Reads from the client until `want` bytes of application data arrived.
std::string client_read(SSL* client, size_t want) {
  std::string out;
  char buf[65536];
  for (int i = 0; i < 1000 && out.size() < want; ++i) {
    size_t n = 0;
    if (SSL_read_ex(client, buf, sizeof buf, &n) == 1) out.append(buf, n);
  }
  return out;
}

// Feeds `wire` to the layer in pieces of `chunk` bytes, as the transport does: a partial record
// is kept and put in front of the next piece.
RecordLayer::Opened open_in_pieces(RecordLayer& layer, const std::string& wire, size_t chunk,
                                   std::string& plain, std::string& reply) {
  std::string pending;
  RecordLayer::Opened last;
  for (size_t at = 0; at < wire.size(); at += chunk) {
    pending += wire.substr(at, chunk);
    last = layer.open(pending.data(), pending.size(), reply);
    plain.append(pending.data(), last.plaintext);
    if (last.status != RecordLayer::Status::Ok) return last;
    pending.erase(0, last.consumed);
  }
  EXPECT_TRUE(pending.empty()) << pending.size() << " bytes of a partial record left";
  return last;
}

class Suites : public ::testing::TestWithParam<const char*> {};

TEST_P(Suites, ExchangesDataBothWaysAfterTakingOver) {
  Pair p;
  handshake(p, GetParam());
  auto layer = RecordLayer::take_over(p.server);
  ASSERT_TRUE(layer);
  SSL_free(p.server);  // what the transport does: only the layer is left
  p.server = nullptr;

  // Client to server, one record.
  ASSERT_EQ(SSL_write(p.client, "<stream:stream>", 15), 15);
  std::string wire = drain(p.server_fd), plain, reply;
  auto o = layer->open(wire.data(), wire.size(), reply);
  EXPECT_EQ(o.status, RecordLayer::Status::Ok);
  EXPECT_EQ(o.consumed, wire.size());
  EXPECT_EQ(std::string(wire.data(), o.plaintext), "<stream:stream>");
  EXPECT_TRUE(reply.empty());

  // Server to client: the first records under the application key come after the session
  // tickets, so this only decrypts if the sequence numbers were carried over exactly.
  std::string out;
  layer->seal("<features/>", out);
  send_all(p.server_fd, out);
  EXPECT_EQ(client_read(p.client, 11), "<features/>");

  // 100 KB from the server: several full records.
  std::string big(100000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  out.clear();
  layer->seal(big, out);
  EXPECT_GT(out.size(), big.size() + 6 * 22);
  send_all(p.server_fd, out);
  EXPECT_EQ(client_read(p.client, big.size()), big);

  // 50 KB from the client in one write, fed to the layer in odd-sized pieces.
  std::string up = big.substr(0, 50000);
  ASSERT_EQ(SSL_write(p.client, up.data(), static_cast<int>(up.size())), 50000);
  wire = drain(p.server_fd);
  plain.clear();
  o = open_in_pieces(*layer, wire, 997, plain, reply);
  EXPECT_EQ(o.status, RecordLayer::Status::Ok);
  EXPECT_EQ(plain, up);

  // Many small records both ways keep the sequence numbers in step.
  for (int i = 0; i < 200; ++i) {
    std::string m = "<message id='" + std::to_string(i) + "'/>";
    ASSERT_EQ(SSL_write(p.client, m.data(), static_cast<int>(m.size())),
              static_cast<int>(m.size()));
    out.clear();
    layer->seal(m, out);
    send_all(p.server_fd, out);
  }
  wire = drain(p.server_fd);
  plain.clear();
  o = open_in_pieces(*layer, wire, wire.size(), plain, reply);
  EXPECT_EQ(o.status, RecordLayer::Status::Ok);
  EXPECT_NE(plain.find("<message id='199'/>"), std::string::npos);
  EXPECT_NE(client_read(p.client, plain.size()).find("<message id='199'/>"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Tls13, Suites,
                         ::testing::Values("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                           "TLS_CHACHA20_POLY1305_SHA256"));

TEST(Tls13Records, WorksWithoutSessionTickets) {
  Pair p;
  handshake(p, nullptr, 0);
  auto layer = RecordLayer::take_over(p.server);
  ASSERT_TRUE(layer);
  std::string out;
  layer->seal("hello", out);
  send_all(p.server_fd, out);
  EXPECT_EQ(client_read(p.client, 5), "hello");
}

TEST(Tls13Records, AnswersAKeyUpdateAndFollowsTheNewKeys) {
  Pair p;
  handshake(p, nullptr);
  auto layer = RecordLayer::take_over(p.server);
  ASSERT_TRUE(layer);
  ASSERT_EQ(SSL_key_update(p.client, SSL_KEY_UPDATE_REQUESTED), 1);
  ASSERT_EQ(SSL_write(p.client, "after", 5), 5);  // sends the KeyUpdate, then the data
  std::string wire = drain(p.server_fd), reply;
  auto o = layer->open(wire.data(), wire.size(), reply);
  ASSERT_EQ(o.status, RecordLayer::Status::Ok);
  EXPECT_EQ(std::string(wire.data(), o.plaintext), "after");
  ASSERT_FALSE(reply.empty()) << "update_requested needs our own KeyUpdate";
  layer->seal("pong", reply);  // under the new write key, after the KeyUpdate
  send_all(p.server_fd, reply);
  EXPECT_EQ(client_read(p.client, 4), "pong");
  // And the client's next data, under its new key, still opens.
  ASSERT_EQ(SSL_write(p.client, "again", 5), 5);
  wire = drain(p.server_fd);
  reply.clear();
  o = layer->open(wire.data(), wire.size(), reply);
  ASSERT_EQ(o.status, RecordLayer::Status::Ok);
  EXPECT_EQ(std::string(wire.data(), o.plaintext), "again");
  EXPECT_TRUE(reply.empty());
}

TEST(Tls13Records, CloseNotifyEndsTheStreamAfterTheDataBeforeIt) {
  Pair p;
  handshake(p, nullptr);
  auto layer = RecordLayer::take_over(p.server);
  ASSERT_TRUE(layer);
  ASSERT_EQ(SSL_write(p.client, "</stream:stream>", 16), 16);
  SSL_shutdown(p.client);
  std::string wire = drain(p.server_fd), reply;
  auto o = layer->open(wire.data(), wire.size(), reply);
  EXPECT_EQ(o.status, RecordLayer::Status::Closed);
  EXPECT_EQ(std::string(wire.data(), o.plaintext), "</stream:stream>");
  // Ours reaches the client as a close_notify.
  std::string out;
  layer->seal_alert(0, out);
  send_all(p.server_fd, out);
  char c;
  EXPECT_LE(SSL_read(p.client, &c, 1), 0);
  EXPECT_EQ(SSL_get_error(p.client, 0), SSL_ERROR_ZERO_RETURN);
}

TEST(Tls13Records, ATamperedRecordIsBadRecordMac) {
  Pair p;
  handshake(p, nullptr);
  auto layer = RecordLayer::take_over(p.server);
  ASSERT_TRUE(layer);
  ASSERT_EQ(SSL_write(p.client, "hello", 5), 5);
  std::string wire = drain(p.server_fd), reply;
  wire[7] ^= 1;
  auto o = layer->open(wire.data(), wire.size(), reply);
  EXPECT_EQ(o.status, RecordLayer::Status::Error);
  EXPECT_EQ(o.plaintext, 0u);
  EXPECT_NE(layer->error().find("authentication"), std::string::npos);
  send_all(p.server_fd, reply);  // the client sees our bad_record_mac alert
  char c;
  EXPECT_LE(SSL_read(p.client, &c, 1), 0);
  EXPECT_EQ(SSL_get_error(p.client, 0), SSL_ERROR_SSL);
}

TEST(Tls13Records, RefusesWhatTls13ForbidsAfterTheHandshake) {
  auto layer = RecordLayer::from_secrets(1, std::string(32, 'c'), std::string(32, 's'));
  ASSERT_TRUE(layer);
  std::string reply;
  std::string ccs = std::string("\x14\x03\x03\x00\x01\x01", 6);
  EXPECT_EQ(layer->open(ccs.data(), ccs.size(), reply).status, RecordLayer::Status::Error);
  EXPECT_NE(layer->error().find("change_cipher_spec"), std::string::npos);

  layer = RecordLayer::from_secrets(1, std::string(32, 'c'), std::string(32, 's'));
  std::string huge = std::string("\x17\x03\x03\x41\x01", 5) + std::string(0x4101, 0);
  EXPECT_EQ(layer->open(huge.data(), huge.size(), reply).status, RecordLayer::Status::Error);
  EXPECT_NE(layer->error().find("longer"), std::string::npos);

  // A partial record is left for later, not an error.
  layer = RecordLayer::from_secrets(1, std::string(32, 'c'), std::string(32, 's'));
  std::string part = std::string("\x17\x03\x03\x00\x20", 5) + "abc";
  auto o = layer->open(part.data(), part.size(), reply);
  EXPECT_EQ(o.status, RecordLayer::Status::Ok);
  EXPECT_EQ(o.consumed, 0u);
}

TEST(Tls13Records, RefusesPostHandshakeMessagesOtherThanKeyUpdate) {
  // A peer layer (secrets swapped) writes what a client must not send: a NewSessionTicket.
  std::string c(32, 'c'), s(32, 's');
  auto server = RecordLayer::from_secrets(3, c, s);
  auto client = RecordLayer::from_secrets(3, s, c);
  std::string wire, reply;
  client->seal("ok", wire);
  client->seal_record(22, std::string("\x04\x00\x00\x00", 4), wire);
  auto o = server->open(wire.data(), wire.size(), reply);
  EXPECT_EQ(o.status, RecordLayer::Status::Error);
  EXPECT_EQ(std::string(wire.data(), o.plaintext), "ok");  // what came before still counts
  EXPECT_NE(server->error().find("unexpected handshake message 4"), std::string::npos);
  // The unexpected_message alert is sealed for the client.
  std::string alert;
  auto o2 = client->open(reply.data(), reply.size(), alert);
  EXPECT_EQ(o2.status, RecordLayer::Status::Error);
  EXPECT_NE(client->error().find("alert 10"), std::string::npos);
}

TEST(Tls13Records, Tls12StaysOnOpenSsl) {
  Pair p;
  handshake(p, nullptr, 2, TLS1_2_VERSION);
  EXPECT_FALSE(RecordLayer::take_over(p.server));
}

}  // namespace
}  // namespace parley::tls13
