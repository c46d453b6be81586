// The bundled modules seen from a client: disco (XEP-0030), ping (XEP-0199), version
// (XEP-0092), time (XEP-0202), last (XEP-0012), vcard (XEP-0054), private (XEP-0049) and
// register (XEP-0077).
#include "common.h"

namespace parley::it {
namespace {

class ModuleTest : public ServerSuite<ModuleTest> {
 public:
  static ServerOptions options() {
    ServerOptions o = with_users({"mo1", "mo2", "mo3", "taken", "pwchange"});
    o.allow_registration = true;
    return o;
  }
};

std::optional<Node> server_iq(StropheClient& c, const std::string& type, const std::string& payload,
                              const std::string& to = kHost) {
  std::string to_attr = to.empty() ? "" : " to='" + to + "'";
  return c.iq("<iq type='" + type + "' id='" + c.next_id() + "'" + to_attr + ">" + payload +
              "</iq>");
}

TEST_F(ModuleTest, DiscoInfoListsEveryLoadedModulesFeatures) {
  auto c = client("mo1", "disco");
  ASSERT_TRUE(c->connected());
  auto r = server_iq(*c, "get", "<query xmlns='http://jabber.org/protocol/disco#info'/>");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->attr("type"), "result") << r->raw;
  const Node* q = r->child("query", "http://jabber.org/protocol/disco#info");
  ASSERT_TRUE(q);
  const Node* identity = q->child("identity");
  ASSERT_TRUE(identity) << r->raw;
  EXPECT_EQ(identity->attr("category"), "server");  // XEP-0030 §3.1, registry: server/im
  EXPECT_EQ(identity->attr("type"), "im");
  std::vector<std::string> features;
  for (const Node* f : q->all("feature")) features.push_back(f->attr("var"));
  for (const char* want :
       {"http://jabber.org/protocol/disco#info", "urn:xmpp:ping", "jabber:iq:version",
        "urn:xmpp:time", "jabber:iq:last", "vcard-temp", "jabber:iq:register"})
    EXPECT_NE(std::find(features.begin(), features.end(), want), features.end())
        << "missing feature " << want << " in " << r->raw;

  // XEP-0049 private storage is a service of the account (the IQ goes to the user's own bare
  // JID), so it may be listed there rather than on the server (XEP-0030 §3.1): either is fine,
  // but it must be discoverable.
  auto acct = server_iq(*c, "get", "<query xmlns='http://jabber.org/protocol/disco#info'/>",
                        "mo1@localhost");
  ASSERT_TRUE(acct);
  ASSERT_EQ(acct->attr("type"), "result") << acct->raw;
  std::vector<std::string> account_features;
  for (const Node* f :
       acct->child("query", "http://jabber.org/protocol/disco#info")->all("feature"))
    account_features.push_back(f->attr("var"));
  auto listed = [](const std::vector<std::string>& v, const char* var) {
    return std::find(v.begin(), v.end(), var) != v.end();
  };
  EXPECT_TRUE(listed(features, "jabber:iq:private") ||
              listed(account_features, "jabber:iq:private"))
      << "jabber:iq:private is not discoverable: server " << r->raw << "\naccount " << acct->raw;
}

// A second, independent client library (slixmpp) logs in and pings the server: the scaffolding
// the slixmpp scenario tests are built on.
TEST_F(ModuleTest, SlixmppClientLogsInAndPings) {
  auto r = run_slixmpp(server(), "smoke.py", {"--jid", "mo3@" + kHost}, kPassword);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"pinged\": true"), std::string::npos) << r.output;
}

TEST_F(ModuleTest, PingVersionTime) {
  auto c = client("mo1", "pvt");
  ASSERT_TRUE(c->connected());
  auto ping = server_iq(*c, "get", "<ping xmlns='urn:xmpp:ping'/>");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->attr("type"), "result") << ping->raw;  // XEP-0199 §4.2
  EXPECT_EQ(ping->attr("from"), kHost);

  auto version = server_iq(*c, "get", "<query xmlns='jabber:iq:version'/>");
  ASSERT_TRUE(version);
  ASSERT_EQ(version->attr("type"), "result") << version->raw;
  const Node* vq = version->child("query", "jabber:iq:version");
  ASSERT_TRUE(vq && vq->child("name") && vq->child("version")) << version->raw;  // XEP-0092 §2
  EXPECT_FALSE(vq->child("name")->text.empty());
  EXPECT_FALSE(vq->child("version")->text.empty());

  auto time = server_iq(*c, "get", "<time xmlns='urn:xmpp:time'/>");
  ASSERT_TRUE(time);
  ASSERT_EQ(time->attr("type"), "result") << time->raw;
  const Node* t = time->child("time", "urn:xmpp:time");
  ASSERT_TRUE(t && t->child("tzo") && t->child("utc")) << time->raw;  // XEP-0202 §4
  const std::string& utc = t->child("utc")->text;
  // XEP-0082 DateTime in UTC: CCYY-MM-DDThh:mm:ss[.sss]Z
  ASSERT_GE(utc.size(), 20u) << utc;
  EXPECT_EQ(utc[4], '-');
  EXPECT_EQ(utc[10], 'T');
  EXPECT_EQ(utc.back(), 'Z');

  // A set of a get-only protocol is refused, not ignored.
  auto bad = server_iq(*c, "set", "<query xmlns='jabber:iq:version'/>");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->attr("type"), "error") << bad->raw;
}

TEST_F(ModuleTest, LastActivity) {
  // Server uptime (XEP-0012 §5).
  auto a = client("mo1", "last");
  ASSERT_TRUE(a->connected() && go_online(*a));
  auto up = server_iq(*a, "get", "<query xmlns='jabber:iq:last'/>");
  ASSERT_TRUE(up);
  ASSERT_EQ(up->attr("type"), "result") << up->raw;
  const Node* q = up->child("query", "jabber:iq:last");
  ASSERT_TRUE(q && q->has_attr("seconds")) << up->raw;
  EXPECT_GE(std::stol(q->attr("seconds")), 0);

  // A contact's last logout (XEP-0012 §4): mo1 is subscribed to mo2.
  {
    auto b = client("mo2", "gone");
    ASSERT_TRUE(b->connected() && go_online(*b));
    ASSERT_TRUE(subscribe(*a, *b));
    b->send("<presence type='unavailable'><status>off to bed</status></presence>");
    b->disconnect();
  }
  ASSERT_TRUE(a->wait_for(presence_from("mo2@localhost/gone", "unavailable")));
  auto seen = server_iq(*a, "get", "<query xmlns='jabber:iq:last'/>", "mo2@localhost");
  ASSERT_TRUE(seen);
  ASSERT_EQ(seen->attr("type"), "result") << seen->raw;
  const Node* sq = seen->child("query", "jabber:iq:last");
  ASSERT_TRUE(sq && sq->has_attr("seconds")) << seen->raw;
  EXPECT_GE(std::stol(sq->attr("seconds")), 0);
  EXPECT_EQ(sq->text, "off to bed") << seen->raw;

  // Someone without a subscription may not know (XEP-0012 §4: forbidden).
  auto c = client("mo3", "nosy");
  ASSERT_TRUE(c->connected());
  auto denied = server_iq(*c, "get", "<query xmlns='jabber:iq:last'/>", "mo2@localhost");
  ASSERT_TRUE(denied);
  EXPECT_EQ(stanza_error(*denied), "forbidden") << denied->raw;
}

TEST_F(ModuleTest, VcardSetGetOwnAndOthers) {
  auto a = client("mo1", "vc");
  auto c = client("mo3", "vc");
  ASSERT_TRUE(a->connected() && c->connected());
  auto set = server_iq(
      *a, "set", "<vCard xmlns='vcard-temp'><FN>Mo One</FN><NICKNAME>mo</NICKNAME></vCard>", "");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->attr("type"), "result") << set->raw;  // XEP-0054 §3.2

  auto own = server_iq(*a, "get", "<vCard xmlns='vcard-temp'/>", "");
  ASSERT_TRUE(own);
  const Node* v = own->child("vCard", "vcard-temp");
  ASSERT_TRUE(v && v->child("FN")) << own->raw;
  EXPECT_EQ(v->child("FN")->text, "Mo One");

  auto other = server_iq(*c, "get", "<vCard xmlns='vcard-temp'/>", "mo1@localhost");
  ASSERT_TRUE(other);
  ASSERT_EQ(other->attr("type"), "result") << other->raw;  // XEP-0054 §3.3
  EXPECT_EQ(other->attr("from"), "mo1@localhost");
  const Node* ov = other->child("vCard", "vcard-temp");
  ASSERT_TRUE(ov && ov->child("NICKNAME")) << other->raw;
  EXPECT_EQ(ov->child("NICKNAME")->text, "mo");

  // Nobody may set another's vCard.
  auto forged =
      server_iq(*c, "set", "<vCard xmlns='vcard-temp'><FN>Evil</FN></vCard>", "mo1@localhost");
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->attr("type"), "error") << forged->raw;
}

TEST_F(ModuleTest, PrivateStorageIsPerAccount) {
  auto a = client("mo1", "priv");
  auto c = client("mo3", "priv");
  ASSERT_TRUE(a->connected() && c->connected());
  auto set = server_iq(*a, "set",
                       "<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'>"
                       "<nick>Hamlet</nick></prefs></query>",
                       "");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->attr("type"), "result") << set->raw;  // XEP-0049 §2.1

  auto get = server_iq(
      *a, "get", "<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'/></query>", "");
  ASSERT_TRUE(get);
  ASSERT_EQ(get->attr("type"), "result") << get->raw;
  const Node* nick = get->find("nick");
  ASSERT_TRUE(nick) << get->raw;
  EXPECT_EQ(nick->text, "Hamlet");

  // Another account's private storage is off limits (XEP-0049 §2.3: forbidden).
  auto other = server_iq(
      *c, "get", "<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'/></query>",
      "mo1@localhost");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->attr("type"), "error") << other->raw;
  EXPECT_EQ(stanza_error(*other), "forbidden") << other->raw;
  EXPECT_EQ(other->find("nick"), nullptr) << "another account's data leaked: " << other->raw;
}

// XEP-0077 §3.1 over the unauthenticated (but encrypted) stream.
std::optional<Node> register_iq(RawClient& c, const std::string& type, const std::string& body,
                                const std::string& id) {
  c.send("<iq type='" + type + "' id='" + id + "'><query xmlns='jabber:iq:register'>" + body +
         "</query></iq>");
  return c.wait_for_id(id);
}

TEST_F(ModuleTest, InBandRegistrationWhenAllowed) {
  {
    RawClient c(port());
    ASSERT_TRUE(c.starttls());
    EXPECT_TRUE(c.features().child("register", "http://jabber.org/features/iq-register"))
        << c.features().raw;  // XEP-0077 §4
    auto form = register_iq(c, "get", "", "r1");
    ASSERT_TRUE(form);
    ASSERT_EQ(form->attr("type"), "result") << form->raw;
    const Node* q = form->child("query", "jabber:iq:register");
    ASSERT_TRUE(q && q->child("username") && q->child("password")) << form->raw;

    auto done =
        register_iq(c, "set", "<username>newbie</username><password>n3w-pass</password>", "r2");
    ASSERT_TRUE(done);
    EXPECT_EQ(done->attr("type"), "result") << done->raw;

    // An existing name is a conflict (XEP-0077 §3.1).
    auto dup =
        register_iq(c, "set", "<username>taken</username><password>whatever1</password>", "r3");
    ASSERT_TRUE(dup);
    EXPECT_EQ(stanza_error(*dup), "conflict") << dup->raw;
  }
  RawClient login(port());
  EXPECT_EQ(login.login("newbie", "n3w-pass", "first"), "newbie@localhost/first");
  auto users = server().ctl({"users", kHost});
  EXPECT_NE(users.output.find("newbie@localhost"), std::string::npos) << users.output;
}

TEST(ModuleRegistrationOffTest, InBandRegistrationRefusedWhenNotAllowed) {
  auto server = start_server(with_users({"someone"}));  // allow_registration: false
  ASSERT_TRUE(server);
  {
    RawClient c(server->c2s_port());
    ASSERT_TRUE(c.starttls());
    auto r =
        register_iq(c, "set", "<username>intruder</username><password>pass-1234</password>", "r1");
    ASSERT_TRUE(r) << "no reply to a registration attempt";
    EXPECT_EQ(r->attr("type"), "error") << r->raw;
    std::string cond = stanza_error(*r);
    // XEP-0077 §3.1 / RFC 6120 §8.3.3: refused, whichever defined condition the server picks.
    EXPECT_TRUE(cond == "not-allowed" || cond == "service-unavailable" || cond == "forbidden")
        << r->raw;
  }
  auto users = server->ctl({"users"});
  EXPECT_EQ(users.output.find("intruder"), std::string::npos) << users.output;
  RawClient login(server->c2s_port());
  EXPECT_TRUE(login.login("intruder", "pass-1234").empty());
  stop_server(server);
}

TEST_F(ModuleTest, PasswordChangeThenLoginWithTheNewPassword) {
  {
    auto c = client("pwchange", "x");
    ASSERT_TRUE(c->connected());
    auto r = server_iq(*c, "set",
                       "<query xmlns='jabber:iq:register'><username>pwchange</username>"
                       "<password>brand-new-pw</password></query>",
                       "");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->attr("type"), "result") << r->raw;  // XEP-0077 §3.3
  }
  RawClient old_pw(port());
  ASSERT_TRUE(old_pw.starttls());
  EXPECT_FALSE(old_pw.auth_scram("SCRAM-SHA-256", "pwchange", kPassword).success);
  RawClient new_pw(port());
  EXPECT_EQ(new_pw.login("pwchange", "brand-new-pw", "again"), "pwchange@localhost/again");
  // Every hash's credentials were replaced, not only the one we tried.
  RawClient sha1(port());
  ASSERT_TRUE(sha1.starttls());
  EXPECT_TRUE(sha1.auth_scram("SCRAM-SHA-1", "pwchange", "brand-new-pw").success);
}

}  // namespace
}  // namespace parley::it

namespace parley::it {
namespace {

// XEP-0199 §4.3: the server pings quiet clients; one that stays silent is a dead connection
// and is closed, one that answers (even with an error, as a client without ping support does)
// stays.
TEST(ServerToClientPingTest, SilentClientIsClosedAnsweringClientStays) {
  ServerOptions o = with_users({"sp", "sq"});
  o.c2s = {{"ping_interval", "1s"}, {"ping_timeout", "500ms"}};
  ServerProcess s(o);
  ASSERT_TRUE(s.start()) << s.error();

  RawClient answering(s.c2s_port());
  ASSERT_EQ(answering.login("sp", kPassword, "alive"), "sp@localhost/alive");
  RawClient silent(s.c2s_port());
  ASSERT_EQ(silent.login("sq", kPassword, "dead"), "sq@localhost/dead");

  // Answer three pings in a row, the second one with an error.
  for (int i = 0; i < 3; ++i) {
    auto ping = answering.wait_for([](const Node& n) {
      return n.name == "iq" && n.attr("type") == "get" && n.child("ping", "urn:xmpp:ping");
    });
    ASSERT_TRUE(ping) << "no ping from the server";
    EXPECT_EQ(ping->attr("from"), "localhost");
    if (i == 1)
      answering.send("<iq type='error' id='" + ping->attr("id") +
                     "' to='localhost'><error type='cancel'><service-unavailable "
                     "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
    else
      answering.send("<iq type='result' id='" + ping->attr("id") + "' to='localhost'/>");
  }
  // By now the silent client has missed at least one ping by more than the timeout.
  EXPECT_EQ(silent.stream_error(), "connection-timeout");
  EXPECT_TRUE(silent.wait_eof());
  auto listed = s.sessions();
  EXPECT_NE(std::find(listed.begin(), listed.end(), "sp@localhost/alive"), listed.end());
  EXPECT_EQ(std::find(listed.begin(), listed.end(), "sq@localhost/dead"), listed.end());
  EXPECT_EQ(s.stop(), 0) << s.log();
}

}  // namespace
}  // namespace parley::it
