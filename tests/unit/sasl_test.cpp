// SASL mechanisms: RFC 5802 §5 and RFC 7677 §3 vectors through the server side, a SHA-512 round
// trip, channel binding (RFC 5802 §6), malformed input and PLAIN (RFC 4616).
#include <gtest/gtest.h>

#include "core/base64.h"
#include "sasl/credentials.h"
#include "sasl/mechanism.h"
#include "sasl/scram.h"

using namespace parley;
using namespace parley::sasl;
using Status = Step::Status;

namespace {

std::string b64d(std::string_view s) {
  return base64_decode(s).value();
}

Credentials creds_for(Hash h, std::string_view password, std::string_view salt, uint32_t i) {
  Credentials c;
  ScramKeys k = derive(h, password, salt, i);
  if (h == Hash::Sha1) c.sha1 = k;
  if (h == Hash::Sha256) c.sha256 = k;
  if (h == Hash::Sha512) c.sha512 = k;
  return c;
}

ChannelBindings tls_with_bindings() {
  ChannelBindings cb;
  cb.tls = true;
  cb.tls_exporter = std::string(32, 'E');
  cb.tls_server_end_point = std::string(32, 'S');
  return cb;
}

// A minimal SCRAM client (RFC 5802 §3) to drive the server through a whole exchange.
struct Client {
  Client(Hash h, std::string pw) : hash(h), password(std::move(pw)) {}
  Hash hash;
  std::string password;
  std::string gs2_header = "n,,";
  std::string cb_data;
  std::string nonce = "clientnonce123";
  std::string user = "juliet";
  std::string first_bare;
  std::string auth_message;
  std::string salted;

  std::string first() {
    first_bare = "n=" + user + ",r=" + nonce;
    return gs2_header + first_bare;
  }
  std::string final_for(const std::string& server_first) {
    // r=...,s=...,i=...
    auto r = server_first.substr(2, server_first.find(",s=") - 2);
    auto s_pos = server_first.find(",s=") + 3;
    auto i_pos = server_first.find(",i=");
    std::string salt = b64d(server_first.substr(s_pos, i_pos - s_pos));
    uint32_t iters = std::stoul(server_first.substr(i_pos + 3));
    salted = crypto::pbkdf2(hash, password, salt, iters);
    std::string without_proof = "c=" + base64_encode(gs2_header + cb_data) + ",r=" + r;
    auth_message = first_bare + "," + server_first + "," + without_proof;
    std::string client_key = crypto::hmac(hash, salted, "Client Key");
    std::string sig = crypto::hmac(hash, crypto::hash(hash, client_key), auth_message);
    for (size_t i = 0; i < sig.size(); ++i) client_key[i] ^= sig[i];
    return without_proof + ",p=" + base64_encode(client_key);
  }
  std::string expected_server_final() {
    std::string server_key = crypto::hmac(hash, salted, "Server Key");
    return "v=" + base64_encode(crypto::hmac(hash, server_key, auth_message));
  }
};

// Runs start + resume and returns the server-first message (or the failure step's condition).
Step first_round(Mechanism& m, const std::string& client_first,
                 const std::optional<Credentials>& c) {
  Step s = m.start(client_first);
  if (s.status != Status::NeedCredentials) return s;
  return m.resume(c);
}

}  // namespace

TEST(Scram, Rfc5802Sha1Vector) {
  Scram m(Hash::Sha1, false, {}, "3rfcNHYJY1ZVvWVs7j");
  Step s = m.start("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  ASSERT_EQ(s.status, Status::NeedCredentials);
  EXPECT_EQ(m.username(), "user");
  s = m.resume(creds_for(Hash::Sha1, "pencil", b64d("QSXCR+Q6sek8bf92"), 4096));
  ASSERT_EQ(s.status, Status::Challenge);
  EXPECT_EQ(s.data, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
  s = m.step("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  ASSERT_EQ(s.status, Status::Success) << s.text;
  EXPECT_EQ(s.data, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
}

TEST(Scram, Rfc7677Sha256Vector) {
  Scram m(Hash::Sha256, false, {}, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  Step s = m.start("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  ASSERT_EQ(s.status, Status::NeedCredentials);
  s = m.resume(creds_for(Hash::Sha256, "pencil", b64d("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096));
  ASSERT_EQ(s.status, Status::Challenge);
  EXPECT_EQ(s.data,
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
            "i=4096");
  s = m.step(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  ASSERT_EQ(s.status, Status::Success) << s.text;
  EXPECT_EQ(s.data, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  // A step after success is misuse and must not succeed again (no replay).
  EXPECT_EQ(m.step("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                   "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
                .status,
            Status::Failure);
}

TEST(Scram, Sha512RoundTripWithRandomNonce) {
  auto m = create("SCRAM-SHA-512", {});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name(), "SCRAM-SHA-512");
  Client c(Hash::Sha512, "secret");
  Step s = first_round(*m, c.first(), derive("secret", 4096));
  ASSERT_EQ(s.status, Status::Challenge);
  // The server nonce extends the client's and is random.
  ASSERT_EQ(s.data.rfind("r=" + c.nonce, 0), 0u);
  EXPECT_GT(s.data.find(",s="), 2 + c.nonce.size() + 16);
  std::string server_first = s.data;
  s = m->step(c.final_for(server_first));
  ASSERT_EQ(s.status, Status::Success) << s.text;
  EXPECT_EQ(s.data, c.expected_server_final());

  auto other = create("SCRAM-SHA-512", {});
  Step s2 = first_round(*other, c.first(), derive("secret", 4096));
  EXPECT_NE(s2.data.substr(0, s2.data.find(",s=")),
            server_first.substr(0, server_first.find(",s=")));
}

TEST(Scram, WrongPasswordIsNotAuthorized) {
  for (Hash h : {Hash::Sha1, Hash::Sha256, Hash::Sha512}) {
    Scram m(h, false, {});
    Client c(h, "wrong");
    Step s = first_round(m, c.first(), derive("right", 4096));
    ASSERT_EQ(s.status, Status::Challenge);
    s = m.step(c.final_for(s.data));
    EXPECT_EQ(s.status, Status::Failure);
    EXPECT_EQ(s.condition, "not-authorized");
  }
}

TEST(Scram, UnknownAccountLooksRealAndFailsAtProof) {
  Client c(Hash::Sha256, "pencil");
  Scram a(Hash::Sha256, false, {}, "NONCE");
  Step s = first_round(a, c.first(), std::nullopt);
  ASSERT_EQ(s.status, Status::Challenge);
  // Same shape as a real challenge: a 16-byte salt and the usual iteration count.
  auto s_pos = s.data.find(",s=") + 3;
  auto i_pos = s.data.find(",i=");
  EXPECT_EQ(b64d(s.data.substr(s_pos, i_pos - s_pos)).size(), 16u);
  EXPECT_EQ(s.data.substr(i_pos), ",i=4096");
  // The fake salt is stable per name, like a real one.
  Scram b(Hash::Sha256, false, {}, "NONCE");
  EXPECT_EQ(first_round(b, c.first(), std::nullopt).data, s.data);
  Step f = a.step(c.final_for(s.data));
  EXPECT_EQ(f.status, Status::Failure);
  EXPECT_EQ(f.condition, "not-authorized");
}

TEST(Scram, AccountWithoutKeysForThisHashFails) {
  Credentials only256 = creds_for(Hash::Sha256, "pencil", "saltsaltsaltsalt", 4096);
  Scram m(Hash::Sha1, false, {});
  Client c(Hash::Sha1, "pencil");
  Step s = first_round(m, c.first(), only256);
  ASSERT_EQ(s.status, Status::Challenge);
  EXPECT_EQ(m.step(c.final_for(s.data)).condition, "not-authorized");
}

TEST(Scram, EmptyInitialResponseGetsEmptyChallenge) {
  Scram m(Hash::Sha256, false, {});
  Step s = m.start("");
  ASSERT_EQ(s.status, Status::Challenge);
  EXPECT_TRUE(s.data.empty());
  Client c(Hash::Sha256, "pw");
  s = m.step(c.first());
  ASSERT_EQ(s.status, Status::NeedCredentials);
  s = m.resume(derive("pw", 4096));
  ASSERT_EQ(s.status, Status::Challenge);
  EXPECT_EQ(m.step(c.final_for(s.data)).status, Status::Success);
}

TEST(Scram, SaslnameDecodingAndAuthzid) {
  Scram m(Hash::Sha256, false, {});
  ASSERT_EQ(m.start("n,a=juliet@example.com,n=a=2Cb=3Dc,r=abc").status, Status::NeedCredentials);
  EXPECT_EQ(m.username(), "a,b=c");
  EXPECT_EQ(m.authzid(), "juliet@example.com");
  Scram n(Hash::Sha256, false, {});
  ASSERT_EQ(n.start("n,,n=juliet,r=abc").status, Status::NeedCredentials);
  EXPECT_EQ(n.authzid(), "");
}

TEST(Scram, MalformedClientFirst) {
  const char* bad[] = {
      "n",                          // no GS2 header
      "n,",                         // truncated GS2 header
      "x,,n=u,r=abc",               // unknown channel-binding flag
      "n,b=u,n=u,r=abc",            // authzid without "a="
      "n,a=,n=u,r=abc",             // empty authzid
      "n,,r=abc,n=u",               // attributes out of order
      "n,,n=,r=abc",                // empty username
      "n,,n=u=2Dx,r=abc",           // invalid saslname escape
      "n,,n=u=,r=abc",              // truncated escape
      "n,,n=u\x01,r=abc",           // control character
      "n,,n=u\xff,r=abc",           // invalid UTF-8
      "n,,n=u,r=",                  // empty nonce
      "n,,n=u,r=a\x7f",             // non-printable nonce
      "n,,n=u",                     // no nonce
      "n,,m=ext,n=u,r=abc",         // mandatory extension (RFC 5802 §5.1)
      "n,,n=u,r=abc,bogus",         // extension without "="
      "n,,n=u,r=abc,",              // trailing comma
      "p=tls-exporter,,n=u,r=abc",  // binding on a non-PLUS mechanism
      "p=,,n=u,r=abc",              // empty binding name
  };
  for (const char* msg : bad) {
    Scram m(Hash::Sha256, false, {});
    Step s = m.start(msg);
    EXPECT_EQ(s.status, Status::Failure) << msg;
    EXPECT_EQ(s.condition, "malformed-request") << msg;
    // Once failed, nothing moves it on.
    EXPECT_EQ(m.resume(derive("x", 1)).status, Status::Failure);
  }
  Scram big(Hash::Sha256, false, {});
  EXPECT_EQ(big.start("n,,n=u,r=" + std::string(10000, 'a')).status, Status::Failure);
}

TEST(Scram, MalformedClientFinal) {
  Client c(Hash::Sha256, "pencil");
  auto good = [&](Scram& m) {
    Step s = first_round(m, c.first(), creds_for(Hash::Sha256, "pencil", "0123456789abcdef", 4096));
    EXPECT_EQ(s.status, Status::Challenge);
    return c.final_for(s.data);
  };
  auto replace = [](std::string s, const std::string& from, const std::string& to) {
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  struct Case {
    std::function<std::string(const std::string&)> mutate;
    const char* condition;
  };
  std::vector<Case> cases = {
      {[&](const std::string& f) { return f.substr(0, f.find(",p=")); }, "malformed-request"},
      {[&](const std::string& f) { return replace(f, "c=biws", "c=b!ws"); }, "malformed-request"},
      {[&](const std::string& f) { return replace(f, "c=biws", "c=biw"); }, "malformed-request"},
      {[&](const std::string& f) { return replace(f, "c=biws", "c=eSws"); }, "not-authorized"},
      {[&](const std::string& f) { return replace(f, ",r=", ",r=x"); }, "not-authorized"},
      {[&](const std::string& f) { return replace(f, "c=biws,", ""); }, "malformed-request"},
      {[&](const std::string& f) { return f + ",x=1"; }, "malformed-request"},
      {[&](const std::string& f) { return f.substr(0, f.find(",p=")) + ",p=AAAA"; },
       "malformed-request"},
      {[&](const std::string& f) { return f.substr(0, f.size() - 6) + "AAAAA="; },
       "not-authorized"},
      {[&](const std::string&) { return std::string(); }, "malformed-request"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Scram m(Hash::Sha256, false, {});
    std::string correct = good(m);
    std::string msg = cases[i].mutate(correct);
    Step s = m.step(msg);
    EXPECT_EQ(s.status, Status::Failure) << i << ": " << msg;
    EXPECT_EQ(s.condition, cases[i].condition) << i << ": " << msg;
    // And the correct message cannot be played afterwards.
    EXPECT_EQ(m.step(correct).status, Status::Failure);
  }
  // An unchanged message still works (the harness itself is sound).
  Scram ok(Hash::Sha256, false, {});
  EXPECT_EQ(ok.step(good(ok)).status, Status::Success);
}

TEST(Scram, StateMachineMisuse) {
  Client c(Hash::Sha256, "pw");
  Scram a(Hash::Sha256, false, {});
  EXPECT_EQ(a.step(c.first()).status, Status::Failure);  // step before start
  Scram b(Hash::Sha256, false, {});
  EXPECT_EQ(b.resume(derive("pw", 4096)).status, Status::Failure);  // resume before start
  Scram d(Hash::Sha256, false, {});
  ASSERT_EQ(d.start(c.first()).status, Status::NeedCredentials);
  EXPECT_EQ(d.step("c=biws,r=x,p=AAAA").status, Status::Failure);  // step instead of resume
  Scram e(Hash::Sha256, false, {});
  ASSERT_EQ(e.start(c.first()).status, Status::NeedCredentials);
  ASSERT_EQ(e.resume(derive("pw", 4096)).status, Status::Challenge);
  EXPECT_EQ(e.resume(derive("pw", 4096)).status, Status::Failure);  // second resume
  EXPECT_EQ(e.start(c.first()).status, Status::Failure);            // restart
}

TEST(Scram, PlusWithBothBindingTypes) {
  ChannelBindings cb = tls_with_bindings();
  for (std::string type : {"tls-exporter", "tls-server-end-point"}) {
    auto m = create("SCRAM-SHA-256-PLUS", cb);
    ASSERT_TRUE(m);
    Client c(Hash::Sha256, "pw");
    c.gs2_header = "p=" + type + ",,";
    c.cb_data = type == "tls-exporter" ? cb.tls_exporter : cb.tls_server_end_point;
    Step s = first_round(*m, c.first(), derive("pw", 4096));
    ASSERT_EQ(s.status, Status::Challenge) << type;
    s = m->step(c.final_for(s.data));
    EXPECT_EQ(s.status, Status::Success) << type << " " << s.text;
    EXPECT_EQ(s.data, c.expected_server_final());
  }
}

TEST(Scram, PlusWithWrongBindingDataFails) {
  ChannelBindings cb = tls_with_bindings();
  for (std::string type : {"tls-exporter", "tls-server-end-point"}) {
    auto m = create("SCRAM-SHA-1-PLUS", cb);
    ASSERT_TRUE(m);
    Client c(Hash::Sha1, "pw");
    c.gs2_header = "p=" + type + ",,";
    c.cb_data = std::string(32, 'X');  // e.g. a man in the middle's TLS session
    Step s = first_round(*m, c.first(), derive("pw", 4096));
    ASSERT_EQ(s.status, Status::Challenge);
    s = m->step(c.final_for(s.data));
    EXPECT_EQ(s.status, Status::Failure);
    EXPECT_EQ(s.condition, "not-authorized");
  }
  // The other binding type's data does not pass either.
  auto m = create("SCRAM-SHA-512-PLUS", cb);
  Client c(Hash::Sha512, "pw");
  c.gs2_header = "p=tls-exporter,,";
  c.cb_data = cb.tls_server_end_point;
  Step s = first_round(*m, c.first(), derive("pw", 4096));
  EXPECT_EQ(m->step(c.final_for(s.data)).status, Status::Failure);
}

TEST(Scram, PlusRejectsWrongFlagsAndUnavailableTypes) {
  ChannelBindings only_endpoint;
  only_endpoint.tls = true;
  only_endpoint.tls_server_end_point = std::string(32, 'S');
  for (const char* msg :
       {"n,,n=u,r=abc", "y,,n=u,r=abc", "p=tls-exporter,,n=u,r=abc", "p=tls-unique,,n=u,r=abc"}) {
    auto m = create("SCRAM-SHA-256-PLUS", only_endpoint);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->start(msg).status, Status::Failure) << msg;
  }
  auto m = create("SCRAM-SHA-256-PLUS", only_endpoint);
  EXPECT_EQ(m->start("p=tls-server-end-point,,n=u,r=abc").status, Status::NeedCredentials);
}

TEST(Scram, DowngradeDetection) {
  // RFC 5802 §6: "y" means the client could bind but thinks we cannot. We offered -PLUS here.
  auto m = create("SCRAM-SHA-256", tls_with_bindings());
  ASSERT_TRUE(m);
  Step s = m->start("y,,n=u,r=abc");
  EXPECT_EQ(s.status, Status::Failure);
  EXPECT_EQ(s.condition, "not-authorized");
  // Without bindings we did not offer -PLUS, so "y" is honest and fine.
  ChannelBindings plain_tls;
  plain_tls.tls = true;
  auto n = create("SCRAM-SHA-256", plain_tls);
  EXPECT_EQ(n->start("y,,n=u,r=abc").status, Status::NeedCredentials);
  auto o = create("SCRAM-SHA-256", {});
  Client c(Hash::Sha256, "pw");
  c.gs2_header = "y,,";
  s = first_round(*o, c.first(), derive("pw", 4096));
  ASSERT_EQ(s.status, Status::Challenge);
  EXPECT_EQ(o->step(c.final_for(s.data)).status, Status::Success);
}

TEST(Mechanisms, OfferedAndCreate) {
  using V = std::vector<std::string>;
  EXPECT_EQ(offered({}, {}), (V{"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1"}));
  ChannelBindings tls;
  tls.tls = true;
  EXPECT_EQ(offered(tls, {}), (V{"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}));
  EXPECT_EQ(offered(tls_with_bindings(), {}),
            (V{"SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-512",
               "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}));
  EXPECT_EQ(offered(tls_with_bindings(), {"PLAIN", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1"}),
            (V{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1", "PLAIN"}));
  EXPECT_EQ(offered({}, {"PLAIN"}), V{});

  EXPECT_FALSE(create("PLAIN", {}));
  EXPECT_TRUE(create("PLAIN", tls));
  EXPECT_FALSE(create("SCRAM-SHA-256-PLUS", tls));
  EXPECT_FALSE(create("SCRAM-SHA-256-PLUS", {}));
  EXPECT_TRUE(create("SCRAM-SHA-256-PLUS", tls_with_bindings()));
  EXPECT_FALSE(create("SCRAM-MD5", tls_with_bindings()));
  EXPECT_FALSE(create("scram-sha-1", {}));
  for (const auto& name : offered(tls_with_bindings(), {}))
    EXPECT_EQ(create(name, tls_with_bindings())->name(), name);
}

TEST(Mechanisms, BindingTypes) {
  using V = std::vector<std::string>;
  EXPECT_EQ(ChannelBindings{}.types(), V{});
  EXPECT_EQ(tls_with_bindings().types(), (V{"tls-exporter", "tls-server-end-point"}));
  ChannelBindings no_tls = tls_with_bindings();
  no_tls.tls = false;
  EXPECT_EQ(no_tls.types(), V{});
}

TEST(Plain, Success) {
  ChannelBindings tls;
  tls.tls = true;
  auto m = create("PLAIN", tls);
  ASSERT_TRUE(m);
  Step s = m->start(std::string("\0juliet\0pass\xc2\xa0word", 18));
  ASSERT_EQ(s.status, Status::NeedCredentials);
  EXPECT_EQ(m->username(), "juliet");
  EXPECT_EQ(m->authzid(), "");
  Credentials c = derive("pass word", 4096);
  ASSERT_EQ(m->resume(c).status, Status::NeedPasswordCheck);
  std::string pw = m->take_password();
  EXPECT_EQ(pw, "pass word");  // prepared: the no-break space maps to U+0020
  s = m->finish_password_check(verify_password(c, pw));
  EXPECT_EQ(s.status, Status::Success);
  EXPECT_EQ(m->step("x").status, Status::Failure);
}

TEST(Plain, AuthzidAndChallengeFirst) {
  Plain m;
  ASSERT_EQ(m.start("").status, Status::Challenge);
  ASSERT_EQ(m.step(std::string("juliet@example.com\0juliet\0pw", 28)).status,
            Status::NeedCredentials);
  EXPECT_EQ(m.authzid(), "juliet@example.com");
  EXPECT_EQ(m.username(), "juliet");
}

TEST(Plain, Failures) {
  for (std::string msg :
       {std::string("juliet"), std::string("\0juliet", 7), std::string("\0\0pw", 4),
        std::string("\0juliet\0", 8), std::string("\0juliet\0pw\0", 11),
        std::string("\0jul\x01iet\0pw", 11), std::string("\0juliet\0pw\x01", 11)}) {
    Plain m;
    Step s = m.start(msg);
    EXPECT_EQ(s.status, Status::Failure);
    EXPECT_EQ(m.resume(Credentials{}).status, Status::Failure);
  }
  Plain wrong;
  ASSERT_EQ(wrong.start(std::string("\0juliet\0pw", 10)).status, Status::NeedCredentials);
  ASSERT_EQ(wrong.resume(derive("other", 4096)).status, Status::NeedPasswordCheck);
  EXPECT_EQ(wrong.finish_password_check(false).condition, "not-authorized");

  Plain unknown;
  ASSERT_EQ(unknown.start(std::string("\0nobody\0pw", 10)).status, Status::NeedCredentials);
  ASSERT_EQ(unknown.resume(std::nullopt).status, Status::NeedPasswordCheck);
  EXPECT_EQ(unknown.finish_password_check(true).status, Status::Failure);

  Plain early;
  EXPECT_EQ(early.finish_password_check(true).status, Status::Failure);
  EXPECT_EQ(early.take_password(), "");
}

TEST(Credentials, DeriveAndVerify) {
  Credentials c = derive("pencil", 4096);
  ASSERT_TRUE(c.sha1 && c.sha256 && c.sha512);
  EXPECT_EQ(c.sha1->salt.size(), 16u);
  EXPECT_NE(c.sha1->salt, c.sha256->salt);
  EXPECT_EQ(c.sha256->iterations, 4096u);
  EXPECT_EQ(c.sha1->stored_key.size(), 20u);
  EXPECT_EQ(c.sha256->server_key.size(), 32u);
  EXPECT_EQ(c.sha512->stored_key.size(), 64u);
  EXPECT_TRUE(verify_password(c, "pencil"));
  EXPECT_FALSE(verify_password(c, "pencil "));
  EXPECT_FALSE(verify_password(c, ""));
  EXPECT_FALSE(verify_password(Credentials{}, "pencil"));
  Credentials only1;
  only1.sha1 = c.sha1;
  EXPECT_TRUE(verify_password(only1, "pencil"));
  EXPECT_NE(derive("pencil", 4096).sha256->salt, c.sha256->salt);
  EXPECT_EQ(&c.get(Hash::Sha512), &c.sha512);
  EXPECT_EQ(to_string(Hash::Sha1), "SHA-1");
}

TEST(Credentials, PrepPassword) {
  EXPECT_EQ(prep_password("pencil"), "pencil");
  EXPECT_EQ(prep_password("a\xe2\x80\x83"
                          "b"),
            "a b");                                   // EM SPACE -> U+0020
  EXPECT_EQ(prep_password("e\xcc\x81"), "\xc3\xa9");  // NFC
  EXPECT_EQ(prep_password("Ab C"), "Ab C");           // no case mapping
  EXPECT_FALSE(prep_password(""));
  EXPECT_FALSE(prep_password("a\tb"));
  EXPECT_FALSE(prep_password(std::string("a\0b", 3)));
  EXPECT_FALSE(prep_password("a\xc2\x85"));     // C1 control (NEL)
  EXPECT_FALSE(prep_password("\xff"));          // ill-formed UTF-8
  EXPECT_FALSE(prep_password("\xed\xa0\x80"));  // encoded surrogate
}
