// The muc module in a real parleyd (the module's own checks; the XEP-0045 suite is
// muc_test.cpp): the service on groups.localhost in disco, a room created, unlocked and used
// by two clients, self-pings, and a session that ends leaving its rooms.
#include "common.h"

namespace parley::it {
namespace {

const std::string kService = "groups." + kHost;
constexpr const char* kMuc = "http://jabber.org/protocol/muc";
constexpr const char* kMucUser = "http://jabber.org/protocol/muc#user";
constexpr const char* kDiscoInfo = "http://jabber.org/protocol/disco#info";
constexpr const char* kDiscoItems = "http://jabber.org/protocol/disco#items";

class MucModuleTest : public ServerSuite<MucModuleTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"ma", "mb", "mc", "md", "me", "mf"});
    o.modules.push_back("muc");
    return o;
  }
};

std::vector<std::string> status_codes(const Node& n) {
  std::vector<std::string> out;
  if (const Node* x = n.child("x", kMucUser))
    for (const Node* s : x->all("status")) out.push_back(s->attr("code"));
  return out;
}

bool has_code(const Node& n, const std::string& code) {
  auto c = status_codes(n);
  return std::find(c.begin(), c.end(), code) != c.end();
}

// Joins room/nick and waits for the self-presence (status 110) and the subject.
std::optional<Node> join(StropheClient& c, const std::string& room, const std::string& nick) {
  c.send("<presence to='" + room + "/" + nick + "'><x xmlns='" + kMuc + "'/></presence>");
  auto self = c.wait_for([&](const Node& n) {
    return n.name == "presence" && n.attr("from") == room + "/" + nick &&
           (has_code(n, "110") || n.attr("type") == "error");
  });
  if (!self || self->attr("type") == "error") return self;
  auto subject = c.wait_for(
      [&](const Node& n) { return n.name == "message" && n.child("subject") && !n.child("body"); });
  EXPECT_TRUE(subject) << "no subject after joining " << room;
  return self;
}

bool instant(StropheClient& c, const std::string& room) {
  auto r = c.iq("<iq type='set' id='" + c.next_id() + "' to='" + room +
                "'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' "
                "type='submit'/></query></iq>");
  return r && r->attr("type") == "result";
}

TEST_F(MucModuleTest, TheServiceIsDiscoverable) {
  auto a = client("ma");
  auto items =
      a->iq("<iq type='get' id='i1' to='" + kHost + "'><query xmlns='" + kDiscoItems + "'/></iq>");
  ASSERT_TRUE(items);
  bool listed = false;
  for (const Node* i : items->child("query", kDiscoItems)->all("item"))
    listed |= i->attr("jid") == kService;
  EXPECT_TRUE(listed) << items->raw;

  auto info = a->iq("<iq type='get' id='i2' to='" + kService + "'><query xmlns='" + kDiscoInfo +
                    "'/></iq>");
  ASSERT_TRUE(info && info->attr("type") == "result") << (info ? info->raw : "no answer");
  const Node* q = info->child("query", kDiscoInfo);
  ASSERT_TRUE(q->child("identity"));
  EXPECT_EQ(q->child("identity")->attr("category"), "conference");
  bool muc = false;
  for (const Node* f : q->all("feature")) muc |= f->attr("var") == kMuc;
  EXPECT_TRUE(muc);

  auto ping =
      a->iq("<iq type='get' id='i3' to='" + kService + "'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->attr("type"), "result");
  auto other =
      a->iq("<iq type='get' id='i4' to='" + kService + "'><query xmlns='jabber:iq:version'/></iq>");
  ASSERT_TRUE(other);
  EXPECT_EQ(stanza_error(*other), "service-unavailable");
}

TEST_F(MucModuleTest, CreateUnlockTalkAndLeave) {
  const std::string room = "coven@" + kService;
  auto a = client("mb", "desk");
  auto b = client("mc", "phone");
  auto self = join(*a, room, "first");
  ASSERT_TRUE(self);
  EXPECT_TRUE(has_code(*self, "201")) << self->raw;
  // Locked until configured.
  b->send("<presence to='" + room + "/second'><x xmlns='" + kMuc + "'/></presence>");
  auto refused = b->wait_for(presence_from(room + "/second", "error"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(stanza_error(*refused), "item-not-found");
  ASSERT_TRUE(instant(*a, room));
  ASSERT_TRUE(join(*b, room, "second"));
  EXPECT_TRUE(a->wait_for(presence_from(room + "/second")));

  // Public rooms are listed.
  auto items = b->iq("<iq type='get' id='l1' to='" + kService + "'><query xmlns='" + kDiscoItems +
                     "'/></iq>");
  ASSERT_TRUE(items && items->find("item")) << (items ? items->raw : "no answer");
  EXPECT_EQ(items->find("item")->attr("jid"), room);

  b->send("<message type='groupchat' to='" + room + "' id='g1'><body>hail</body></message>");
  for (auto* c : {a.get(), b.get()}) {
    auto m = c->wait_for(message_from(room + "/second"));
    ASSERT_TRUE(m);
    ASSERT_TRUE(m->child("body"));
    EXPECT_EQ(m->child("body")->text, "hail");
    ASSERT_TRUE(m->child("stanza-id", "urn:xmpp:sid:0"));
    EXPECT_EQ(m->child("stanza-id", "urn:xmpp:sid:0")->attr("by"), room);
    EXPECT_TRUE(m->child("occupant-id", "urn:xmpp:occupant-id:0"));
  }

  // XEP-0410 self-ping.
  auto pong =
      b->iq("<iq type='get' id='p1' to='" + room + "/second'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->attr("type"), "result");

  // The session ends: the core sends unavailable to the room, which tells the others.
  b->disconnect();
  auto gone = a->wait_for(presence_from(room + "/second", "unavailable"));
  EXPECT_TRUE(gone);
  auto after = client("mc", "phone");
  auto stale = after->iq("<iq type='get' id='p2' to='" + room +
                         "/second'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(stale);
  EXPECT_EQ(stanza_error(*stale), "not-acceptable");
}

TEST_F(MucModuleTest, MessagesToMissingRoomsAndStrangers) {
  auto a = client("md");
  a->send("<message type='groupchat' to='nowhere@" + kService +
          "' id='x'><body>?</body></message>");
  auto err =
      a->wait_for([](const Node& n) { return n.name == "message" && n.attr("type") == "error"; });
  ASSERT_TRUE(err);
  EXPECT_EQ(stanza_error(*err), "item-not-found");
}

}  // namespace
}  // namespace parley::it
