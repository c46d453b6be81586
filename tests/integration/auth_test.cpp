// SASL authentication (RFC 6120 §6): SCRAM (RFC 5802, RFC 7677) with and without channel
// binding (RFC 9266 tls-exporter, RFC 5929 tls-server-end-point, XEP-0440), PLAIN over TLS,
// nothing before STARTTLS (RFC 6120 §5.3.1), and throttling of repeated failures.
#include <openssl/ssl.h>

#include "common.h"

namespace parley::it {
namespace {

class AuthTest : public ServerSuite<AuthTest> {
 public:
  static ServerOptions options() { return with_users({"alice", "wrongpw"}); }

  // A connection that has negotiated TLS (optionally bounded to one TLS version).
  static std::unique_ptr<RawClient> tls_client(int tls_version = 0) {
    auto c = std::make_unique<RawClient>(port());
    TlsOptions o;
    o.min_version = o.max_version = tls_version;
    EXPECT_TRUE(c->connected() && c->starttls(kHost, o)) << "STARTTLS failed: " << c->last().raw;
    return c;
  }
};

std::vector<std::string> mechanisms(const Node& features) {
  std::vector<std::string> out;
  if (const Node* m = features.child("mechanisms", kNsSasl))
    for (const Node* mech : m->all("mechanism")) out.push_back(mech->text);
  return out;
}

bool offers(const Node& features, const std::string& mech) {
  auto m = mechanisms(features);
  return std::find(m.begin(), m.end(), mech) != m.end();
}

TEST_F(AuthTest, ScramWithoutChannelBindingSucceeds) {
  for (std::string mech : {"SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"}) {
    SCOPED_TRACE(mech);
    auto c = tls_client();
    ASSERT_TRUE(offers(c->features(), mech)) << c->features().raw;
    auto r = c->auth_scram(mech, "alice", kPassword);
    ASSERT_TRUE(r.success) << r.condition << r.detail;
    // RFC 6120 §6.4.6: the stream restarts and binding is offered.
    ASSERT_TRUE(c->open_stream());
    EXPECT_TRUE(c->features().child("bind", kNsBind)) << c->features().raw;
    EXPECT_EQ(c->bind("scram"), "alice@localhost/scram");
  }
}

TEST_F(AuthTest, ScramPlusWithBothChannelBindingTypesSucceeds) {
  for (std::string mech : {"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-512-PLUS"}) {
    for (std::string cb : {"tls-exporter", "tls-server-end-point"}) {
      SCOPED_TRACE(mech + " " + cb);
      // tls-exporter is defined for TLS 1.3 (RFC 9266 §3).
      auto c = tls_client(TLS1_3_VERSION);
      ASSERT_TRUE(offers(c->features(), mech)) << c->features().raw;
      // XEP-0440: the server lists the channel-binding types it supports.
      const Node* cbs = c->features().child("sasl-channel-binding", kNsSaslCb);
      ASSERT_TRUE(cbs) << c->features().raw;
      std::vector<std::string> types;
      for (const Node* t : cbs->all("channel-binding")) types.push_back(t->attr("type"));
      EXPECT_NE(std::find(types.begin(), types.end(), "tls-exporter"), types.end());
      EXPECT_NE(std::find(types.begin(), types.end(), "tls-server-end-point"), types.end());
      auto r = c->auth_scram(mech, "alice", kPassword, cb);
      ASSERT_TRUE(r.success) << r.condition << r.detail;
      ASSERT_TRUE(c->open_stream());
      EXPECT_FALSE(c->bind().empty());
    }
  }
}

TEST_F(AuthTest, TlsServerEndPointBindingOverTls12) {
  auto c = tls_client(TLS1_2_VERSION);
  ASSERT_EQ(SSL_version(c->ssl()), TLS1_2_VERSION);
  auto r = c->auth_scram("SCRAM-SHA-256-PLUS", "alice", kPassword, "tls-server-end-point");
  EXPECT_TRUE(r.success) << r.condition << r.detail;
}

TEST_F(AuthTest, ChannelBindingDataMismatchIsRefused) {
  // Binding data from a different TLS connection (what a man in the middle would relay) must
  // fail authentication: that is what -PLUS protects against (RFC 5802 §6).
  auto other = tls_client(TLS1_3_VERSION);
  auto c = tls_client(TLS1_3_VERSION);
  c->set_channel_binding_override(other->channel_binding("tls-exporter"));
  auto r = c->auth_scram("SCRAM-SHA-256-PLUS", "alice", kPassword, "tls-exporter");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.condition, "not-authorized") << r.detail;
}

TEST_F(AuthTest, PlusOfferedButClientSaysNoBindingSupportWithY) {
  // RFC 5802 §6: "y" means "I could bind but think you cannot". The server advertised -PLUS,
  // so it must treat this as a downgrade attack and fail.
  auto c = tls_client(TLS1_3_VERSION);
  ASSERT_TRUE(offers(c->features(), "SCRAM-SHA-256-PLUS")) << c->features().raw;
  auto r = c->auth_scram("SCRAM-SHA-256", "alice", kPassword, "y");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.condition, "not-authorized") << r.detail;
}

TEST_F(AuthTest, WrongPasswordIsNotAuthorized) {
  auto c = tls_client();
  auto r = c->auth_scram("SCRAM-SHA-256", "wrongpw", "not-the-password");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.condition, "not-authorized") << r.detail;  // RFC 6120 §6.5.10

  auto p = tls_client();
  auto rp = p->auth_plain("wrongpw", "not-the-password");
  EXPECT_FALSE(rp.success);
  EXPECT_EQ(rp.condition, "not-authorized") << rp.detail;
}

TEST_F(AuthTest, UnknownUserIsNotAuthorized) {
  auto c = tls_client();
  auto r = c->auth_scram("SCRAM-SHA-256", "nosuchuser", kPassword);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.condition, "not-authorized") << r.detail;
}

TEST_F(AuthTest, PlainOverTlsSucceeds) {
  auto c = tls_client();
  ASSERT_TRUE(offers(c->features(), "PLAIN")) << c->features().raw;
  auto r = c->auth_plain("alice", kPassword);
  ASSERT_TRUE(r.success) << r.condition << r.detail;
  ASSERT_TRUE(c->open_stream());
  EXPECT_EQ(c->bind("plain"), "alice@localhost/plain");
}

TEST_F(AuthTest, NoMechanismsAndNoAuthBeforeStarttls) {
  RawClient c(port());
  ASSERT_TRUE(c.open_stream()) << c.last().raw;
  // RFC 6120 §5.3.1: with TLS required, only STARTTLS (marked required) is offered.
  ASSERT_TRUE(c.features().child("starttls", kNsTls)) << c.features().raw;
  EXPECT_TRUE(c.features().child("starttls", kNsTls)->child("required")) << c.features().raw;
  EXPECT_TRUE(mechanisms(c.features()).empty()) << c.features().raw;

  // Authenticating anyway must not succeed: a SASL <failure/> (encryption-required,
  // RFC 6120 §6.5.3) or a stream error are both refusals; <success/> would be a bug.
  std::string plain = std::string("\0alice\0", 7) + kPassword;
  c.send("<auth xmlns='" + kNsSasl + "' mechanism='PLAIN'>" + base64_encode(plain) + "</auth>");
  auto reply = c.next_element();
  ASSERT_TRUE(reply) << "no reply to <auth/> before STARTTLS";
  EXPECT_FALSE(reply->is("success", kNsSasl)) << reply->raw;
  EXPECT_TRUE(reply->is("failure", kNsSasl) || reply->is("error", kNsStream)) << reply->raw;
}

// Throttling needs its own server with small limits.
TEST(AuthThrottleTest, RepeatedFailuresRefuseEvenTheCorrectPassword) {
  ServerOptions o = with_users({"victim", "bystander", "u1", "u2", "u3", "u4"});
  o.c2s = {{"auth_failures_per_account", "3"},
           {"auth_failures_per_ip", "6"},
           {"auth_failure_window", "60s"}};
  auto server = start_server(o);
  ASSERT_TRUE(server);
  auto attempt = [&](const std::string& user, const std::string& pw) {
    RawClient c(server->c2s_port());
    EXPECT_TRUE(c.starttls());
    return c.auth_scram("SCRAM-SHA-256", user, pw);
  };
  for (int i = 0; i < 3; ++i) {
    auto r = attempt("victim", "wrong");
    EXPECT_EQ(r.condition, "not-authorized") << "attempt " << i << r.detail;
  }
  // Per account: after 3 failures within the window the right password is refused as well.
  auto r = attempt("victim", kPassword);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.condition, "not-authorized") << r.detail;

  // Another account from the same address is not affected yet (3-4 failures < 6).
  EXPECT_TRUE(attempt("bystander", kPassword).success);

  // Per address: spread failures over accounts (none reaches its own limit) ...
  for (const char* u : {"u1", "u1", "u2", "u2", "u3", "u3"}) attempt(u, "wrong");
  // ... and now even a fresh account with the right password is refused from this address.
  auto blocked = attempt("u4", kPassword);
  EXPECT_FALSE(blocked.success);
  EXPECT_EQ(blocked.condition, "not-authorized") << blocked.detail;
  stop_server(server);
}

}  // namespace
}  // namespace parley::it
