// State that must outlive the process: accounts, rosters, pending subscription requests,
// vCards, private XML and last logout times survive a restart of parleyd. Also parleyctl's
// account commands, the metrics it reports, and SIGHUP (certificates reloaded, logs reopened)
// without dropping the server.
#include <csignal>

#include "common.h"

namespace parley::it {
namespace {

std::unique_ptr<StropheClient> login(const ServerProcess& s, const std::string& user,
                                     const std::string& resource,
                                     const std::string& password = kPassword) {
  auto c =
      std::make_unique<StropheClient>(user + "@" + kHost + "/" + resource, password, s.c2s_port());
  c->connect();
  return c;
}

bool is_result(const std::optional<Node>& r) {
  return r && r->attr("type") == "result";
}

TEST(PersistenceTest, StateSurvivesARestart) {
  ServerProcess s(with_users({"pa", "pb", "pc"}));
  ASSERT_TRUE(s.start()) << s.error();
  {
    auto a = login(s, "pa", "one");
    auto b = login(s, "pb", "one");
    ASSERT_TRUE(a->connected() && b->connected());
    ASSERT_TRUE(go_online(*a) && go_online(*b));
    ASSERT_TRUE(subscribe_mutual(*a, *b));
    ASSERT_TRUE(
        is_result(a->iq("<iq type='set' id='v1'><vCard xmlns='vcard-temp'>"
                        "<FN>Persisted Alice</FN></vCard></iq>")));
    ASSERT_TRUE(
        is_result(a->iq("<iq type='set' id='p1'><query xmlns='jabber:iq:private'>"
                        "<note xmlns='urn:example:note'>kept</note></query></iq>")));
    // pc is offline: the request waits in storage (RFC 6121 §3.1.3).
    a->send("<presence to='pc@localhost' type='subscribe'/>");
    ASSERT_TRUE(a->wait_for(roster_push_for("pc@localhost")));
    b->send("<presence type='unavailable'><status>gone fishing</status></presence>");
    b->disconnect();
    ASSERT_TRUE(a->wait_for(presence_from("pb@localhost/one", "unavailable")));
    a->disconnect();
  }
  ASSERT_EQ(s.stop(), 0) << s.log();
  ASSERT_TRUE(s.start()) << s.error();

  auto a = login(s, "pa", "two");  // the account and its credentials survived
  ASSERT_TRUE(a->connected());
  auto roster = get_roster(*a);
  ASSERT_TRUE(is_result(roster));
  const Node* pb = roster_item(*roster, "pb@localhost");
  ASSERT_NE(pb, nullptr) << roster->raw;
  EXPECT_EQ(pb->attr("subscription"), "both");
  const Node* pc = roster_item(*roster, "pc@localhost");
  ASSERT_NE(pc, nullptr) << roster->raw;
  EXPECT_EQ(pc->attr("ask"), "subscribe");

  auto vcard = a->iq("<iq type='get' id='v2'><vCard xmlns='vcard-temp'/></iq>");
  ASSERT_TRUE(is_result(vcard));
  EXPECT_NE(vcard->raw.find("Persisted Alice"), std::string::npos) << vcard->raw;

  auto priv = a->iq(
      "<iq type='get' id='p2'><query xmlns='jabber:iq:private'>"
      "<note xmlns='urn:example:note'/></query></iq>");
  ASSERT_TRUE(is_result(priv));
  EXPECT_NE(priv->raw.find("kept"), std::string::npos) << priv->raw;

  // pb's last logout ("last seen", XEP-0012) was stored before the restart.
  auto last =
      a->iq("<iq type='get' id='l1' to='pb@localhost'><query xmlns='jabber:iq:last'/></iq>");
  ASSERT_TRUE(is_result(last)) << (last ? last->raw : "no reply");
  const Node* q = last->child("query", "jabber:iq:last");
  ASSERT_NE(q, nullptr);
  EXPECT_FALSE(q->attr("seconds").empty());
  EXPECT_EQ(q->text, "gone fishing");

  // The request stored for the offline pc is delivered when pc comes online.
  auto c = login(s, "pc", "one");
  ASSERT_TRUE(c->connected());
  ASSERT_TRUE(go_online(*c));
  EXPECT_TRUE(c->wait_for(presence_from("pa@localhost", "subscribe")));
  EXPECT_EQ(s.stop(), 0) << s.log();
}

TEST(PersistenceTest, ParleyctlManagesAccountsAndReportsMetrics) {
  ServerProcess s(with_users({"ua"}));
  ASSERT_TRUE(s.start()) << s.error();

  auto users = s.ctl({"users"});
  EXPECT_EQ(users.exit_code, 0) << users.output;
  EXPECT_NE(users.output.find("ua@localhost"), std::string::npos) << users.output;

  auto pw = s.ctl({"passwd", "ua@localhost", "--password", "n3w-Passw0rd"});
  ASSERT_EQ(pw.exit_code, 0) << pw.output;
  EXPECT_TRUE(RawClient(s.c2s_port()).login("ua", kPassword).empty()) << "old password accepted";
  RawClient live(s.c2s_port());
  ASSERT_EQ(live.login("ua", "n3w-Passw0rd", "live"), "ua@localhost/live");

  auto metrics = s.ctl({"metrics"});
  EXPECT_EQ(metrics.exit_code, 0);
  EXPECT_NE(metrics.output.find("parley_c2s_connections"), std::string::npos) << metrics.output;
  EXPECT_NE(metrics.output.find("result=\"success\""), std::string::npos) << metrics.output;
  EXPECT_NE(metrics.output.find("result=\"failure\""), std::string::npos) << metrics.output;

  // Deleting an account ends its sessions and its credentials.
  auto del = s.ctl({"deluser", "ua@localhost"});
  ASSERT_EQ(del.exit_code, 0) << del.output;
  EXPECT_TRUE(live.wait_eof());
  EXPECT_EQ(s.ctl({"users"}).output.find("ua@localhost"), std::string::npos);
  EXPECT_TRUE(RawClient(s.c2s_port()).login("ua", "n3w-Passw0rd").empty());
  EXPECT_NE(s.ctl({"deluser", "ua@localhost"}).exit_code, 0) << "deleting twice succeeded";
  EXPECT_EQ(s.stop(), 0) << s.log();
}

TEST(PersistenceTest, SighupKeepsServingWithReloadedCertificates) {
  ServerProcess s(with_users({"ha"}));
  ASSERT_TRUE(s.start()) << s.error();
  RawClient before(s.c2s_port());
  ASSERT_FALSE(before.login("ha", kPassword, "before").empty());
  ASSERT_EQ(::kill(s.pid(), SIGHUP), 0);
  ASSERT_TRUE(poll_until([&] {
    return s.log().find("reloading certificates") != std::string::npos;
  })) << s.log();
  // Existing sessions stay; new TLS logins work with the reloaded contexts.
  before.send("<iq type='get' id='hp' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  auto pong = before.wait_for_id("hp");
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->attr("type"), "result");
  EXPECT_EQ(RawClient(s.c2s_port()).login("ha", kPassword, "after"), "ha@localhost/after");
  EXPECT_EQ(s.stop(), 0) << s.log();
}

}  // namespace
}  // namespace parley::it
