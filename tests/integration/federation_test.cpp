// Federation (RFC 6120 server-to-server streams): real parleyd processes on their own loopback
// addresses and domains, with a private certificate authority, talking over real TLS.
//   a.test (127.0.0.2) and b.test (127.0.0.3): CA-signed certificates, so SASL EXTERNAL
//     (XEP-0178) both ways; a.test also hosts groups.a.test (MUC).
//   c.test (127.0.0.4): a self-signed certificate nobody trusts, and it trusts nobody: Server
//     Dialback (XEP-0220) both ways, each side asking the other's authoritative server.
//   e.test (127.0.0.5): certificates only (allow_dialback: false), which c.test cannot meet.
// Routes are static (s2s.routes); the DNS resolver has tests of its own.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "../common/test_ca.h"
#include "common.h"

namespace parley::it {
namespace {

const std::string kNsServer = "jabber:server";
const std::string kNsDialback = "jabber:server:dialback";

struct Peer {
  std::string domain;
  std::string address;
  uint16_t port = 0;
};

class FederationTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_dir_ = new TempDir;
    ca_ = parley::testca::make_ca(ca_dir_->path());
    a_ = {"a.test", "127.0.0.2", free_port()};
    b_ = {"b.test", "127.0.0.3", free_port()};
    c_ = {"c.test", "127.0.0.4", free_port()};
    e_ = {"e.test", "127.0.0.5", free_port()};
    // Accepts TCP and never says a word: for remote-server-timeout.
    silent_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    ::bind(silent_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::listen(silent_fd_, 16);
    socklen_t len = sizeof sa;
    ::getsockname(silent_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    silent_port_ = ntohs(sa.sin_port);
    closed_port_ = free_port();
    b_tls_port_ = free_port();
    fake_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    sa.sin_port = 0;
    ::bind(fake_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::listen(fake_fd_, 4);
    len = sizeof sa;
    ::getsockname(fake_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    fake_port_ = ntohs(sa.sin_port);

    auto route = [](const Peer& p) {
      return "\"" + p.domain + "\": \"" + p.address + ":" + std::to_string(p.port) + "\"";
    };
    std::string routes = "routes: { " + route(a_) + ", \"groups.a.test\": \"" + a_.address + ":" +
                         std::to_string(a_.port) + "\", " + route(b_) + ", " + route(c_) + ", " +
                         route(e_) +
                         ", \"dead.test\": \"127.0.0.1:" + std::to_string(closed_port_) +
                         "\", \"silent.test\": \"127.0.0.1:" + std::to_string(silent_port_) +
                         "\", \"fake.test\": \"127.0.0.1:" + std::to_string(fake_port_) + "\" }";
    std::vector<std::string> common = {
        routes, "system_trust: false", "connect_timeout: 3s", "blocked_domains: [\"blocked.test\"]",
        "dns_servers: [\"127.0.0.1:" + std::to_string(closed_port_) + "\"]"};
    auto options = [&](const Peer& p, bool signed_cert, std::vector<std::string> users) {
      ServerOptions o;
      o.hosts = {p.domain};
      if (signed_cert) {
        o.ca_cert = ca_.cert_path;
        o.ca_key = ca_.key_path;
      }
      o.s2s_address = p.address;
      o.s2s_port = p.port;
      o.s2s = common;
      // The CA's servers trust it; c.test trusts nobody, so it has to use dialback both ways.
      if (signed_cert) o.s2s.push_back("ca_files: [\"" + ca_.cert_path + "\"]");
      for (const auto& u : users) o.accounts.emplace_back(u + "@" + p.domain, kPassword);
      return o;
    };
    auto oa = options(a_, true, {"alice", "anna", "amy"});
    oa.modules.push_back("muc");
    oa.modules.push_back("carbons");
    oa.s2s.push_back("max_incoming_per_domain: 2");
    oa.module_options["muc"] = {{"domain", "groups.a.test"}};
    auto ob = options(b_, true, {"bob", "bert", "bea"});
    ob.s2s_direct_tls_port = b_tls_port_;
    auto oc = options(c_, false, {"carol", "cleo"});
    // Links that carry nothing close soon; and b.test is reached over direct TLS (XEP-0368).
    oc.s2s.push_back("idle_timeout: 1s");
    for (auto& line : oc.s2s)
      if (line.starts_with("routes:"))
        line.replace(line.find(b_.address + ":" + std::to_string(b_.port)),
                     (b_.address + ":" + std::to_string(b_.port)).size(),
                     "tls://" + b_.address + ":" + std::to_string(b_tls_port_));
    auto oe = options(e_, true, {"erin"});
    oe.s2s.push_back("allow_dialback: false");
    a_server_ = start_server(oa).release();
    b_server_ = start_server(ob).release();
    c_server_ = start_server(oc).release();
    e_server_ = start_server(oe).release();
  }

  static void TearDownTestSuite() {
    for (ServerProcess** s : {&a_server_, &b_server_, &c_server_, &e_server_}) {
      std::unique_ptr<ServerProcess> owned(*s);
      stop_server(owned);
      *s = nullptr;
    }
    ::close(silent_fd_);
    ::close(fake_fd_);
    delete ca_dir_;
  }

  void SetUp() override {
    ASSERT_TRUE(a_server_ && b_server_ && c_server_ && e_server_) << "a server did not start";
  }

  static std::unique_ptr<StropheClient> client(ServerProcess& server, const std::string& jid) {
    auto c = std::make_unique<StropheClient>(jid, kPassword, server.c2s_port());
    c->connect();
    return c;
  }

  static inline TempDir* ca_dir_ = nullptr;
  static inline parley::testca::TestCa ca_;
  static inline Peer a_, b_, c_, e_;
  static inline ServerProcess *a_server_ = nullptr, *b_server_ = nullptr, *c_server_ = nullptr,
                              *e_server_ = nullptr;
  static inline int silent_fd_ = -1;
  static inline uint16_t silent_port_ = 0, closed_port_ = 0, b_tls_port_ = 0;
  static inline int fake_fd_ = -1;  // a "server" the test itself plays (fake.test)
  static inline uint16_t fake_port_ = 0;
};

std::string chat(const std::string& to, const std::string& id, const std::string& body) {
  return "<message to='" + to + "' id='" + id + "' type='chat'><body>" + body + "</body></message>";
}

auto with_id(const std::string& id) {
  return [id](const Node& n) { return n.attr("id") == id; };
}

TEST_F(FederationTest, MessagesBothWaysWithCertificates) {
  auto alice = client(*a_server_, "alice@a.test/laptop");
  auto bob = client(*b_server_, "bob@b.test/phone");
  ASSERT_TRUE(alice->connected() && bob->connected());

  alice->send(chat("bob@b.test/phone", "ab1", "hello from a"));
  auto m = bob->wait_for(with_id("ab1"));
  ASSERT_TRUE(m) << b_server_->log();
  EXPECT_EQ(m->attr("from"), "alice@a.test/laptop");
  ASSERT_TRUE(m->child("body"));
  EXPECT_EQ(m->child("body")->text, "hello from a");
  // Delivered to the client in its own namespace, not the server stream's (RFC 6120 §4.8.3).
  EXPECT_EQ(m->raw.find("jabber:server"), std::string::npos) << m->raw;

  bob->send(chat("alice@a.test/laptop", "ba1", "hello from b"));
  auto r = alice->wait_for(with_id("ba1"));
  ASSERT_TRUE(r) << a_server_->log();
  EXPECT_EQ(r->attr("from"), "bob@b.test/phone");

  // Each side proved itself with its certificate (XEP-0178), not with dialback, and, as each
  // trusts the other's, one connection carries both directions (XEP-0288): b.test's reply took
  // the stream a.test opened.
  EXPECT_NE(b_server_->log().find("authenticated as a.test (SASL EXTERNAL, bidirectional)"),
            std::string::npos)
      << b_server_->log();
  EXPECT_NE(a_server_->log().find("outgoing link a.test -> b.test ready (SASL EXTERNAL, "
                                  "bidirectional"),
            std::string::npos)
      << a_server_->log();
  EXPECT_EQ(b_server_->log().find("outgoing link b.test -> a.test ready"), std::string::npos)
      << b_server_->log();

  // Order is kept on a link (RFC 6120 §10.1).
  for (int i = 0; i < 20; ++i)
    alice->send(chat("bob@b.test/phone", "seq" + std::to_string(i), std::to_string(i)));
  for (int i = 0; i < 20; ++i) {
    auto n = bob->wait_for([](const Node& x) { return x.attr("id").starts_with("seq"); });
    ASSERT_TRUE(n);
    EXPECT_EQ(n->attr("id"), "seq" + std::to_string(i));
  }
}

TEST_F(FederationTest, PresenceSubscriptionWithARemoteContact) {
  auto anna = client(*a_server_, "anna@a.test/desk");
  auto bert = client(*b_server_, "bert@b.test/desk");
  ASSERT_TRUE(anna->connected() && bert->connected());
  ASSERT_TRUE(go_online(*anna) && go_online(*bert));
  // RFC 6121 §3.1: the request crosses, the approval comes back, anna's roster says "to"
  // and bert's current presence follows.
  ASSERT_TRUE(subscribe(*anna, *bert)) << a_server_->log();
  EXPECT_TRUE(anna->wait_for(presence_from("bert@b.test/desk"))) << a_server_->log();

  // And the other way: now both.
  ASSERT_TRUE(subscribe(*bert, *anna)) << b_server_->log();
  EXPECT_TRUE(bert->wait_for(presence_from("anna@a.test/desk")));

  // Going offline reaches the remote contact (RFC 6121 §4.5.2).
  bert->send("<presence type='unavailable'/>");
  EXPECT_TRUE(anna->wait_for(presence_from("bert@b.test/desk", "unavailable")));
}

TEST_F(FederationTest, IqsToARemoteServerAndAccount) {
  auto alice = client(*a_server_, "alice@a.test/iq");
  auto bob = client(*b_server_, "bob@b.test/iq");
  ASSERT_TRUE(alice->connected() && bob->connected());
  // The remote server itself answers (XEP-0092 from its version module).
  auto v = alice->iq("<iq type='get' id='v1' to='b.test'><query xmlns='jabber:iq:version'/></iq>");
  ASSERT_TRUE(v) << a_server_->log();
  EXPECT_EQ(v->attr("type"), "result") << v->raw;
  EXPECT_EQ(v->attr("from"), "b.test");
  ASSERT_TRUE(v->child("query", "jabber:iq:version"));

  // An IQ to a remote full JID reaches the client, and its answer comes back.
  alice->send("<iq type='get' id='q1' to='bob@b.test/iq'><query xmlns='urn:example:q'/></iq>");
  auto q = bob->wait_for(with_id("q1"));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->attr("from"), "alice@a.test/iq");
  bob->send("<iq type='result' id='q1' to='alice@a.test/iq'/>");
  auto res = alice->wait_for(with_id("q1"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->attr("type"), "result");

  // Errors travel too: no such account there (RFC 6121 §8.5.1).
  alice->send(chat("nobody@b.test", "nb1", "anyone?"));
  auto err = alice->wait_for(with_id("nb1"));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->attr("type"), "error");
  EXPECT_EQ(stanza_error(*err), "service-unavailable") << err->raw;
}

TEST_F(FederationTest, UnreachableDomainsBounce) {
  auto alice = client(*a_server_, "alice@a.test/far");
  ASSERT_TRUE(alice->connected());
  // Connection refused: remote-server-not-found (RFC 6120 §8.3.3.16).
  alice->send(chat("x@dead.test", "dead1", "hello?"));
  auto dead = alice->wait_for(with_id("dead1"));
  ASSERT_TRUE(dead);
  EXPECT_EQ(stanza_error(*dead), "remote-server-not-found") << dead->raw;
  EXPECT_EQ(dead->attr("from"), "x@dead.test");

  // A server that accepts and never speaks: remote-server-timeout once connect_timeout (3 s)
  // is over (RFC 6120 §8.3.3.17). Several stanzas wait together and all bounce.
  for (int i = 0; i < 3; ++i)
    alice->send(chat("x@silent.test", "silent" + std::to_string(i), "anyone?"));
  for (int i = 0; i < 3; ++i) {
    auto t = alice->wait_for(with_id("silent" + std::to_string(i)));
    ASSERT_TRUE(t);
    EXPECT_EQ(stanza_error(*t), "remote-server-timeout") << t->raw;
  }

  // No route and no DNS answer.
  alice->send(chat("x@nowhere.test", "nw1", "hello?"));
  auto nw = alice->wait_for(with_id("nw1"));
  ASSERT_TRUE(nw);
  EXPECT_EQ(stanza_error(*nw), "remote-server-not-found") << nw->raw;

  // A blocked domain is never contacted.
  alice->send(chat("x@blocked.test", "bl1", "hello?"));
  auto bl = alice->wait_for(with_id("bl1"));
  ASSERT_TRUE(bl);
  EXPECT_EQ(stanza_error(*bl), "remote-server-not-found") << bl->raw;
}

TEST_F(FederationTest, DialbackBothWaysWithoutTrustedCertificates) {
  auto carol = client(*c_server_, "carol@c.test/home");
  auto bob = client(*b_server_, "bob@b.test/db");
  ASSERT_TRUE(carol->connected() && bob->connected());
  carol->send(chat("bob@b.test/db", "cb1", "over dialback"));
  auto m = bob->wait_for(with_id("cb1"));
  ASSERT_TRUE(m) << c_server_->log() << b_server_->log();
  EXPECT_EQ(m->attr("from"), "carol@c.test/home");
  bob->send(chat("carol@c.test/home", "bc1", "and back"));
  auto r = carol->wait_for(with_id("bc1"));
  ASSERT_TRUE(r) << c_server_->log() << b_server_->log();
  // c.test reached b.test on its direct TLS port.
  EXPECT_NE(c_server_->log().find("ready (dialback, TLSv1.3, " + b_.address + ":" +
                                  std::to_string(b_tls_port_) + ")"),
            std::string::npos)
      << c_server_->log();
  // Each receiving server verified the key with the other's authoritative server.
  EXPECT_NE(b_server_->log().find("authenticated as c.test (dialback)"), std::string::npos)
      << b_server_->log();
  EXPECT_NE(c_server_->log().find("authenticated as b.test (dialback)"), std::string::npos)
      << c_server_->log();
}

TEST_F(FederationTest, SubscriptionsAndIqsOverDialback) {
  auto cleo = client(*c_server_, "cleo@c.test/home");
  auto bea = client(*b_server_, "bea@b.test/home");
  ASSERT_TRUE(cleo->connected() && bea->connected());
  ASSERT_TRUE(go_online(*cleo) && go_online(*bea));
  ASSERT_TRUE(subscribe(*cleo, *bea)) << c_server_->log();
  EXPECT_TRUE(cleo->wait_for(presence_from("bea@b.test/home")));
  auto v = cleo->iq("<iq type='get' id='cv1' to='b.test'><query xmlns='jabber:iq:version'/></iq>");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->attr("type"), "result") << v->raw;
}

TEST_F(FederationTest, IdleLinksCloseAndComeBack) {
  auto carol = client(*c_server_, "carol@c.test/idle");
  auto bob = client(*b_server_, "bob@b.test/idle");
  ASSERT_TRUE(carol->connected() && bob->connected());
  carol->send(chat("bob@b.test/idle", "i1", "before"));
  ASSERT_TRUE(bob->wait_for(with_id("i1")));
  // c.test's idle_timeout is 1 s: its outgoing link goes away by itself.
  auto outgoing = [&] {
    auto m = c_server_->ctl({"metrics"}).output;
    auto at = m.find("\nparley_s2s_outgoing_links ");
    return at == std::string::npos ? -1 : std::stoi(m.substr(at + 27));
  };
  EXPECT_TRUE(poll_until([&] { return outgoing() == 0; })) << c_server_->ctl({"metrics"}).output;
  // ...and the next stanza sets up a new one.
  carol->send(chat("bob@b.test/idle", "i2", "after"));
  EXPECT_TRUE(bob->wait_for(with_id("i2"))) << c_server_->log();
}

TEST_F(FederationTest, CarbonsAndArchiveForRemoteConversations) {
  auto amy = client(*a_server_, "amy@a.test/phone");
  auto laptop = client(*a_server_, "amy@a.test/laptop");
  auto bob = client(*b_server_, "bob@b.test/arch");
  ASSERT_TRUE(amy->connected() && laptop->connected() && bob->connected());
  auto on = laptop->iq("<iq type='set' id='cb1'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
  ASSERT_TRUE(on && on->attr("type") == "result");
  ASSERT_TRUE(go_online(*amy) && go_online(*laptop));
  amy->send(chat("bob@b.test/arch", "ar1", "to the archive"));
  ASSERT_TRUE(bob->wait_for(with_id("ar1")));
  // XEP-0280: the other device sees what amy sent to a remote contact, and the reply.
  auto carbon = [](const std::string& kind) {
    return [kind](const Node& n) {
      return n.name == "message" && n.child(kind, "urn:xmpp:carbons:2");
    };
  };
  EXPECT_TRUE(laptop->wait_for(carbon("sent")));
  bob->send(chat("amy@a.test/phone", "ar2", "archived reply"));
  ASSERT_TRUE(amy->wait_for(with_id("ar2")));
  EXPECT_TRUE(laptop->wait_for(carbon("received")));
  // XEP-0313: amy's archive holds both, with the remote contact as the other party.
  auto fin = amy->iq(
      "<iq type='set' id='mq1'><query xmlns='urn:xmpp:mam:2' queryid='fq'>"
      "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
      "<value>urn:xmpp:mam:2</value></field><field var='with'><value>bob@b.test"
      "</value></field></x></query></iq>");
  ASSERT_TRUE(fin && fin->attr("type") == "result") << (fin ? fin->raw : "");
  std::vector<std::string> bodies;
  while (auto r = amy->wait_for(
             [](const Node& n) {
               const Node* res = n.child("result", "urn:xmpp:mam:2");
               return n.name == "message" && res && res->attr("queryid") == "fq";
             },
             deadline(1s))) {
    const Node* res = r->child("result", "urn:xmpp:mam:2");
    const Node* fwd = res ? res->child("forwarded", "urn:xmpp:forward:0") : nullptr;
    const Node* m = fwd ? fwd->child("message") : nullptr;
    if (m && m->child("body")) bodies.push_back(m->child("body")->text);
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"to the archive", "archived reply"}));
}

TEST_F(FederationTest, CertificatesOnlyServerRefusesDialback) {
  auto carol = client(*c_server_, "carol@c.test/strict");
  ASSERT_TRUE(carol->connected());
  carol->send(chat("erin@e.test", "ce1", "let me in"));
  auto err = carol->wait_for(with_id("ce1"));
  ASSERT_TRUE(err) << c_server_->log();
  EXPECT_EQ(stanza_error(*err), "remote-server-not-found") << err->raw;
  EXPECT_EQ(e_server_->log().find("authenticated as c.test"), std::string::npos)
      << e_server_->log();
}

TEST_F(FederationTest, RemoteOccupantInARoom) {
  auto alice = client(*a_server_, "alice@a.test/muc");
  auto bob = client(*b_server_, "bob@b.test/muc");
  ASSERT_TRUE(alice->connected() && bob->connected());
  const std::string room = "fed@groups.a.test";
  alice->send("<presence to='" + room +
              "/alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
  ASSERT_TRUE(alice->wait_for(presence_from(room + "/alice")));
  auto made = alice->iq("<iq type='set' id='cfg1' to='" + room +
                        "'><query xmlns='http://jabber.org/protocol/muc#owner'><x "
                        "xmlns='jabber:x:data' type='submit'/></query></iq>");
  ASSERT_TRUE(made && made->attr("type") == "result");

  // A user of another server joins: presence crosses to the room's service and back.
  bob->send("<presence to='" + room +
            "/bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
  ASSERT_TRUE(bob->wait_for(presence_from(room + "/alice"))) << a_server_->log();
  ASSERT_TRUE(bob->wait_for(presence_from(room + "/bob")));
  ASSERT_TRUE(alice->wait_for(presence_from(room + "/bob")));

  alice->send("<message to='" + room + "' type='groupchat' id='g1'><body>welcome</body></message>");
  auto g = bob->wait_for(with_id("g1"));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->attr("from"), room + "/alice");
  bob->send("<message to='" + room + "' type='groupchat' id='g2'><body>thanks</body></message>");
  auto g2 = alice->wait_for(with_id("g2"));
  ASSERT_TRUE(g2);
  EXPECT_EQ(g2->attr("from"), room + "/bob");
}

// A peer (or anyone on the path) that answers our stream with an unsolicited dialback 'valid'
// and no TLS must not get a single stanza: the link is not ready, and the message bounces.
TEST_F(FederationTest, AForgedDialbackSuccessGetsNothing) {
  std::string seen;
  std::thread fake([&] {
    pollfd p{fake_fd_, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) return;
    int fd = ::accept(fake_fd_, nullptr, nullptr);
    if (fd < 0) return;
    const std::string lie =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
        "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
        "from='fake.test' to='a.test' id='x1' version='1.0'>"
        "<db:result from='fake.test' to='a.test' type='valid'/>"
        "<stream:features/>";
    (void)!::write(fd, lie.data(), lie.size());
    // Everything a.test writes until it gives up and closes.
    char buf[4096];
    pollfd q{fd, POLLIN, 0};
    while (::poll(&q, 1, 8000) > 0) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      seen.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
  });
  auto alice = client(*a_server_, "alice@a.test/fake");
  ASSERT_TRUE(alice->connected());
  alice->send(chat("x@fake.test", "fk1", "secret words"));
  auto err = alice->wait_for(with_id("fk1"));
  fake.join();
  ASSERT_TRUE(err);
  EXPECT_EQ(stanza_error(*err), "remote-server-not-found") << err->raw;
  EXPECT_EQ(seen.find("secret words"), std::string::npos) << seen;
  EXPECT_NE(seen.find("<stream:stream"), std::string::npos) << seen;
}

// ---- Raw streams: what a misbehaving or lying server gets ----

void send_s2s_header(RawClient& raw, const std::string& from, const std::string& to) {
  raw.send(
      "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
      "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
      "from='" +
      from + "' to='" + to + "' version='1.0'>");
}

// Opens a server stream from `from` to `to` and returns the features (or nullopt).
std::optional<Node> open_s2s(RawClient& raw, const std::string& from, const std::string& to) {
  send_s2s_header(raw, from, to);
  auto f = raw.next_element();
  if (!f || !f->is("features", kNsStream)) return std::nullopt;
  return f;
}

TEST_F(FederationTest, StreamToAnUnknownHostIsHostUnknown) {
  RawClient raw(a_.port, a_.address);
  ASSERT_TRUE(raw.connected());
  send_s2s_header(raw, "b.test", "not-here.test");
  EXPECT_EQ(raw.stream_error(), "host-unknown");
  EXPECT_TRUE(raw.wait_eof());
}

TEST_F(FederationTest, ABlockedDomainIsRefused) {
  RawClient raw(a_.port, a_.address);
  ASSERT_TRUE(raw.connected());
  send_s2s_header(raw, "blocked.test", "a.test");
  EXPECT_EQ(raw.stream_error(), "policy-violation");
}

TEST_F(FederationTest, StanzasBeforeAuthenticationAreNotAuthorized) {
  RawClient raw(a_.port, a_.address);
  ASSERT_TRUE(raw.connected());
  auto f = open_s2s(raw, "b.test", "a.test");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->child("starttls", kNsTls));
  raw.send("<message from='bob@b.test' to='alice@a.test'><body>spoof</body></message>");
  EXPECT_EQ(raw.stream_error(), "not-authorized");
}

TEST_F(FederationTest, AForgedDialbackKeyIsInvalid) {
  RawClient raw(a_.port, a_.address);
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(open_s2s(raw, "b.test", "a.test"));
  raw.send("<starttls xmlns='" + kNsTls + "'/>");
  auto p = raw.next_element();
  ASSERT_TRUE(p && p->is("proceed", kNsTls));
  TlsOptions sni;
  sni.sni = "a.test";
  ASSERT_TRUE(raw.tls_handshake(sni));
  raw.restart_stream();
  auto f = open_s2s(raw, "b.test", "a.test");
  ASSERT_TRUE(f);
  // No certificate, so no EXTERNAL; dialback is offered.
  EXPECT_FALSE(f->child("mechanisms", kNsSasl));
  EXPECT_TRUE(f->child("dialback", "urn:xmpp:features:dialback"));
  // a.test asks b.test's authoritative server, which never made this key.
  raw.send("<db:result from='b.test' to='a.test'>0123456789abcdef</db:result>");
  auto r = raw.wait_for([](const Node& n) { return n.name == "result"; }, deadline());
  ASSERT_TRUE(r) << a_server_->log();
  EXPECT_EQ(r->attr("type"), "invalid") << r->raw;
  raw.send("<message from='bob@b.test' to='alice@a.test'><body>spoof</body></message>");
  EXPECT_EQ(raw.stream_error(), "not-authorized");
}

TEST_F(FederationTest, AnAuthenticatedServerCannotSpeakForAnotherDomain) {
  // A certificate for evil.test from the trusted CA: it may be evil.test, nothing else.
  parley::testca::CertSpec spec;
  spec.dns_ids = {"evil.test"};
  auto [cert, key] = parley::testca::make_cert(ca_dir_->path(), "evil.test", spec, &ca_);
  RawClient raw(a_.port, a_.address);
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(open_s2s(raw, "evil.test", "a.test"));
  raw.send("<starttls xmlns='" + kNsTls + "'/>");
  auto p = raw.next_element();
  ASSERT_TRUE(p && p->is("proceed", kNsTls));
  TlsOptions tls;
  tls.sni = "a.test";
  tls.cert_file = cert;
  tls.key_file = key;
  ASSERT_TRUE(raw.tls_handshake(tls));
  raw.restart_stream();
  auto f = open_s2s(raw, "evil.test", "a.test");
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->child("mechanisms", kNsSasl)) << "EXTERNAL offered for a valid certificate";
  // XEP-0288: this stream may carry a.test's stanzas to evil.test too.
  ASSERT_TRUE(f->child("bidi", "urn:xmpp:features:bidi"));
  raw.send("<bidi xmlns='urn:xmpp:bidi'/>");
  // Claiming another domain than the certificate's fails (XEP-0178 §3).
  raw.send("<auth xmlns='" + kNsSasl + "' mechanism='EXTERNAL'>" +
           "Yi50ZXN0" /* b.test */ "</auth>");
  auto no = raw.next_element();
  ASSERT_TRUE(no);
  EXPECT_TRUE(no->is("failure", kNsSasl)) << no->raw;
  raw.send("<auth xmlns='" + kNsSasl + "' mechanism='EXTERNAL'>=</auth>");
  auto ok = raw.next_element();
  ASSERT_TRUE(ok && ok->is("success", kNsSasl)) << (ok ? ok->raw : "nothing");
  raw.restart_stream();
  ASSERT_TRUE(open_s2s(raw, "evil.test", "a.test"));
  // As evil.test it may talk to alice; speaking as bob@b.test ends the stream (RFC 6120
  // §4.9.3.9), and alice only ever sees the first.
  auto alice = client(*a_server_, "alice@a.test/evil");
  ASSERT_TRUE(alice->connected());
  raw.send("<message from='mallory@evil.test' to='alice@a.test/evil' id='e1' type='chat'/>");
  ASSERT_TRUE(alice->wait_for(with_id("e1"))) << a_server_->log();
  // Her answer comes back on the same stream instead of a connection of its own.
  alice->send(chat("mallory@evil.test", "e1r", "who are you?"));
  // (libstrophe writes while it is being pumped: a ping round trip gets the message out.)
  ASSERT_TRUE(alice->iq("<iq type='get' id='p1' to='a.test'><ping xmlns='urn:xmpp:ping'/></iq>"));
  auto back = raw.wait_for(with_id("e1r"));
  ASSERT_TRUE(back) << a_server_->log();
  EXPECT_EQ(back->attr("from"), "alice@a.test/evil");
  raw.send("<message from='bob@b.test' to='alice@a.test/evil' id='e2'/>");
  EXPECT_EQ(raw.stream_error(), "invalid-from");
  alice->send(chat("alice@a.test/evil", "after", "marker"));
  ASSERT_TRUE(alice->wait_for(with_id("after")));
  EXPECT_FALSE(alice->has(with_id("e2")));
}

// s2s.max_incoming_per_domain (2 on a.test): a third authenticated stream from the same domain
// is refused; when one closes, there is room again.
TEST_F(FederationTest, IncomingStreamsPerDomainAreLimited) {
  parley::testca::CertSpec spec;
  spec.dns_ids = {"many.test"};
  auto [cert, key] = parley::testca::make_cert(ca_dir_->path(), "many.test", spec, &ca_);
  // Returns the stream-level outcome of authenticating one more stream as many.test: "" when
  // it is in, or the stream error.
  auto open = [&](RawClient& raw) -> std::string {
    if (!raw.connected() || !open_s2s(raw, "many.test", "a.test")) return "no stream";
    raw.send("<starttls xmlns='" + kNsTls + "'/>");
    auto p = raw.next_element();
    if (!p || !p->is("proceed", kNsTls)) return "no proceed";
    TlsOptions tls;
    tls.sni = "a.test";
    tls.cert_file = cert;
    tls.key_file = key;
    if (!raw.tls_handshake(tls)) return "no TLS";
    raw.restart_stream();
    if (!open_s2s(raw, "many.test", "a.test")) return "no stream after TLS";
    raw.send("<auth xmlns='" + kNsSasl + "' mechanism='EXTERNAL'>=</auth>");
    auto r = raw.next_element();
    if (r && r->is("success", kNsSasl)) return "";
    if (r && r->is("error", kNsStream))  // the stream error itself
      return r->raw.find("policy-violation") != std::string::npos ? "policy-violation" : r->raw;
    return r ? r->raw : "nothing";
  };
  RawClient one(a_.port, a_.address), two(a_.port, a_.address), three(a_.port, a_.address);
  EXPECT_EQ(open(one), "");
  EXPECT_EQ(open(two), "");
  EXPECT_EQ(open(three), "policy-violation");
  one.send("</stream:stream>");
  EXPECT_TRUE(one.wait_eof());
  bool again = poll_until([&] {
    RawClient four(a_.port, a_.address);
    return open(four).empty();
  });
  EXPECT_TRUE(again) << a_server_->log();
}

}  // namespace
}  // namespace parley::it
