// XEP-0163 across federation: two parleyd with the pep module on their own loopback addresses
// and domains, certificates from a private CA (SASL EXTERNAL both ways, as in
// federation_test.cpp, whose addresses 127.0.0.2-5 this suite leaves alone):
//   pa.test (127.0.0.6) and pb.test (127.0.0.7).
// A remote contact's presence and caps arrive over s2s, the publisher's server asks the remote
// client for its disco#info over s2s, and notifications and items go back the same way.
#include "../common/test_ca.h"
#include "pep_common.h"

namespace parley::it {
namespace {

struct Peer {
  std::string domain;
  std::string address;
  uint16_t port = 0;
};

class PepFederationTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_dir_ = new TempDir;
    ca_ = parley::testca::make_ca(ca_dir_->path());
    a_ = {"pa.test", "127.0.0.6", free_port()};
    b_ = {"pb.test", "127.0.0.7", free_port()};
    auto route = [](const Peer& p) {
      return "\"" + p.domain + "\": \"" + p.address + ":" + std::to_string(p.port) + "\"";
    };
    const std::vector<std::string> s2s = {
        "routes: { " + route(a_) + ", " + route(b_) + " }", "system_trust: false",
        "connect_timeout: 3s", "dns_servers: [\"127.0.0.1:" + std::to_string(free_port()) + "\"]",
        "ca_files: [\"" + ca_.cert_path + "\"]"};
    auto options = [&](const Peer& p, const std::vector<std::string>& users) {
      ServerOptions o;
      o.hosts = {p.domain};
      o.ca_cert = ca_.cert_path;
      o.ca_key = ca_.key_path;
      o.s2s_address = p.address;
      o.s2s_port = p.port;
      o.s2s = s2s;
      for (const auto& u : users) o.accounts.emplace_back(u + "@" + p.domain, kPassword);
      o.modules.push_back("pep");
      return o;
    };
    a_server_ = start_server(options(a_, {"alice", "amy"})).release();
    b_server_ = start_server(options(b_, {"bob", "bea"})).release();
  }

  static void TearDownTestSuite() {
    for (ServerProcess** s : {&a_server_, &b_server_}) {
      std::unique_ptr<ServerProcess> owned(*s);
      stop_server(owned);
      *s = nullptr;
    }
    delete ca_dir_;
  }

  void SetUp() override { ASSERT_TRUE(a_server_ && b_server_) << "a server did not start"; }

  static std::unique_ptr<StropheClient> client(ServerProcess& server, const std::string& jid) {
    auto c = std::make_unique<StropheClient>(jid, kPassword, server.c2s_port());
    c->connect();
    return c;
  }

  static inline TempDir* ca_dir_ = nullptr;
  static inline parley::testca::TestCa ca_;
  static inline Peer a_, b_;
  static inline ServerProcess *a_server_ = nullptr, *b_server_ = nullptr;
};

// A contact on another server, subscribed both ways, whose caps carry +notify: the
// publisher's server asks its client for the unknown ver over s2s, sends it the last item, then
// notifies it of the next publication.
TEST_F(PepFederationTest, ARemoteContactGetsTheLastItemAndNotifications) {
  auto alice = client(*a_server_, "alice@pa.test/desk");
  auto bob = client(*b_server_, "bob@pb.test/phone");
  ASSERT_TRUE(alice->connected() && bob->connected());
  ASSERT_TRUE(go_online(*alice) && go_online(*bob));
  ASSERT_TRUE(subscribe_mutual(*alice, *bob)) << a_server_->log() << b_server_->log();
  const std::string node = "urn:parley:it:federated";
  ASSERT_TRUE(is_result(publish(*alice, node, "f0", entry("across"))));

  ClientCaps caps = caps_for({node}, "federated");
  ASSERT_TRUE(online_with_caps(*bob, caps));
  // bob's own server asks too (for his own resources' last items); this is alice's.
  auto query = bob->wait_for(
      [](const Node& n) { return disco_info_query()(n) && n.attr("from").ends_with("pa.test"); });
  ASSERT_TRUE(query) << "pa.test asks bob's client for its caps: " << a_server_->log();
  EXPECT_TRUE(query->attr("from").ends_with("pa.test")) << query->raw;
  EXPECT_EQ(query->child("query", kDiscoInfo)->attr("node"), kCapsNode + "#" + caps.ver());

  auto last = bob->wait_for(item_event("alice@pa.test", node, "f0"));
  ASSERT_TRUE(last) << "the last item crosses to the remote contact: " << a_server_->log();
  EXPECT_EQ(last->attr("to"), bob->jid());
  EXPECT_EQ(entry_text(event_items(*last, "alice@pa.test", node), "f0"), "across") << last->raw;

  ASSERT_TRUE(is_result(publish(*alice, node, "f1", entry("and again"))));
  auto note = bob->wait_for(item_event("alice@pa.test", node, "f1"));
  ASSERT_TRUE(note) << a_server_->log();
  EXPECT_EQ(note->attr("type"), "headline");
  EXPECT_EQ(entry_text(event_items(*note, "alice@pa.test", node), "f1"), "and again");
  EXPECT_TRUE(alice->wait_for(item_event("alice@pa.test", node, "f1")));

  // Unavailable over s2s ends it: the next publication reaches alice only, and bob's next
  // available presence brings it as the last item, once.
  bob->send("<presence type='unavailable'/>");
  ASSERT_TRUE(alice->wait_for(presence_from(bob->jid(), "unavailable")));
  ASSERT_TRUE(is_result(publish(*alice, node, "f2", entry("while away"))));
  ASSERT_TRUE(alice->wait_for(item_event("alice@pa.test", node, "f2")));
  bob->send(caps_presence(caps.ver()));
  EXPECT_TRUE(bob->wait_for(item_event("alice@pa.test", node, "f2")));
  EXPECT_EQ(count_received(*bob, item_event("alice@pa.test", node, "f2")), 1);
}

// Someone on another server with no subscription reads an open node (an OMEMO bundle's case)
// and is refused a presence-access one.
TEST_F(PepFederationTest, ARemoteStrangerReadsAnOpenNodeOnly) {
  auto amy = client(*a_server_, "amy@pa.test/desk");
  auto bea = client(*b_server_, "bea@pb.test/desk");
  ASSERT_TRUE(amy->connected() && bea->connected());
  const std::string open = "urn:parley:it:federated-open";
  const std::string closed = "urn:parley:it:federated-presence";
  ASSERT_TRUE(is_result(
      publish(*amy, open, "b1", entry("public key"), {{"pubsub#access_model", {"open"}}})));
  ASSERT_TRUE(is_result(publish(*amy, closed, "p1", entry("contacts only"))));

  auto r = get_item(*bea, "amy@pa.test", open, "b1");
  ASSERT_TRUE(is_result(r)) << raw(r) << a_server_->log();
  EXPECT_EQ(r->attr("from"), "amy@pa.test");
  EXPECT_EQ(entry_text(items_of(*r), "b1"), "public key") << r->raw;

  auto no = get_items(*bea, "amy@pa.test", closed);
  ASSERT_TRUE(no);
  EXPECT_EQ(stanza_error(*no), "not-authorized") << no->raw;
  EXPECT_EQ(pubsub_error(*no), "presence-subscription-required") << no->raw;
}

}  // namespace
}  // namespace parley::it
