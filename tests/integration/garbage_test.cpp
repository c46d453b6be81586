// Misbehaving clients (DESIGN §8, RFC 6120 §4.9, §13.12): random bytes before and after
// authentication, a megabyte without markup, deeply nested elements. Each gets a stream error
// and the connection closed, and the server keeps serving everyone else.
#include <random>

#include "common.h"

namespace parley::it {
namespace {

class GarbageTest : public ServerSuite<GarbageTest> {
 public:
  static ServerOptions options() { return with_users({"g1", "g2"}); }

 protected:
  // A fresh client can still log in and get an answer.
  void expect_healthy() {
    RawClient c(port());
    ASSERT_FALSE(c.login("g2", kPassword).empty()) << "the server stopped serving new clients";
    c.send("<iq type='get' id='alive' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    auto r = c.wait_for_id("alive");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->attr("type"), "result");
  }
};

// Deterministic "random" bytes: a failure must be reproducible. A NUL is never allowed in
// XML, so the sequence starts with one to make the error certain.
std::string noise(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out(1, '\0');
  while (out.size() < n) out += static_cast<char>(rng() & 0xff);
  return out;
}

TEST_F(GarbageTest, RandomBytesInsteadOfAStreamHeader) {
  RawClient c(port());
  c.send(noise(4096, 1));
  // RFC 6120 §4.9.1.1: the server opens its own stream, then sends the error.
  EXPECT_EQ(c.stream_error(), "not-well-formed");
  EXPECT_TRUE(c.wait_eof());
  expect_healthy();
}

TEST_F(GarbageTest, RandomBytesAfterTheStreamHeader) {
  RawClient c(port());
  ASSERT_TRUE(c.open_stream());
  c.send(noise(4096, 2));
  EXPECT_EQ(c.stream_error(), "not-well-formed");
  EXPECT_TRUE(c.wait_eof());
  expect_healthy();
}

TEST_F(GarbageTest, RandomBytesAfterAuthentication) {
  RawClient c(port());
  ASSERT_FALSE(c.login("g1", kPassword, "noise").empty());
  c.send(noise(4096, 3));
  EXPECT_EQ(c.stream_error(), "not-well-formed");
  EXPECT_TRUE(c.wait_eof());
  expect_healthy();
}

TEST_F(GarbageTest, RandomBytesAsTlsHandshake) {
  RawClient c(port());
  ASSERT_TRUE(c.open_stream());
  c.send("<starttls xmlns='" + kNsTls + "'/>");
  auto proceed = c.next_element();
  ASSERT_TRUE(proceed && proceed->is("proceed", kNsTls));
  c.send(noise(4096, 4));  // not a ClientHello
  EXPECT_TRUE(c.wait_eof()) << "the server kept a connection with a broken TLS handshake";
  expect_healthy();
}

TEST_F(GarbageTest, MegabyteWithoutMarkupAfterAuthentication) {
  RawClient c(port());
  ASSERT_FALSE(c.login("g1", kPassword, "mega").empty());
  c.send_flood(std::string(1 << 20, 'a'));
  // Character data between stanzas is not allowed (RFC 6120 §11.7: only whitespace); a
  // megabyte of it must end the stream rather than be buffered. The exact defined
  // condition depends on which check fires first.
  std::string cond = c.stream_error();
  EXPECT_TRUE(cond == "policy-violation" || cond == "not-well-formed" || cond == "bad-format")
      << "stream error was '" << cond << "'";
  EXPECT_TRUE(c.wait_eof());
  expect_healthy();
}

TEST_F(GarbageTest, ThousandsOfNestedElements) {
  RawClient c(port());
  ASSERT_FALSE(c.login("g1", kPassword, "deep").empty());
  std::string deep = "<message to='g2@localhost'>";
  for (int i = 0; i < 10000; ++i) deep += "<a>";
  c.send_flood(deep);
  // A depth limit is a policy (RFC 6120 §4.9.3.18).
  EXPECT_EQ(c.stream_error(), "policy-violation");
  EXPECT_TRUE(c.wait_eof());
  expect_healthy();
}

TEST_F(GarbageTest, ManyBadClientsAtOnce) {
  // Several misbehaving connections open at the same time, closed in different states.
  std::vector<std::unique_ptr<RawClient>> bad;
  for (int i = 0; i < 20; ++i) {
    auto c = std::make_unique<RawClient>(port());
    if (i % 3 == 0) c->send(noise(512, 100 + i));
    if (i % 3 == 1)
      c->send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream=");
    bad.push_back(std::move(c));
  }
  for (size_t i = 0; i < bad.size(); ++i)
    if (i % 2 == 0) bad[i]->drop();
  expect_healthy();
}

}  // namespace
}  // namespace parley::it
