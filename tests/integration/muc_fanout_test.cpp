// MUC fan-out (modules/muc, doc/modules/muc.md "Fan-out"): what a room broadcasts is serialized
// once and each occupant session gets those bytes with its own 'to' spliced in, straight from
// the room. These tests pin what that path must keep from the routed, per-recipient one: every
// copy addressed to its recipient (also one whose resource needs escaping), the real JID only
// in moderators' presence, stream management keeping fan-out copies for resumption, a room's
// domain blocked with XEP-0191 reaching nothing, and client state indication holding an
// inactive occupant's room presence (with its 'to') as it holds any presence.
//
// Absence is asserted with an ordering sentinel, never with a wait (see muc_test.cpp).
#include "muc_common.h"
#include "sm_client.h"

namespace parley::it {
namespace {

class MucFanoutTest : public ServerSuite<MucFanoutTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"fa", "fb", "fc", "fd", "fe", "ff", "fg", "fh", "fi", "fj"});
    o.modules.push_back("muc");
    o.modules.push_back("blocking");
    o.modules.push_back("csi");
    o.c2s = {{"resume_timeout", "10s"}};
    return o;
  }
};

std::string join_xml(const std::string& room, const std::string& nick) {
  return "<presence to='" + room + "/" + nick + "'><x xmlns='" + kMuc +
         "'><history maxstanzas='0'/></x></presence>";
}

auto self_presence(const std::string& room) {
  return [room](const Node& n) {
    return n.name == "presence" && bare_of(n.attr("from")) == room &&
           (n.attr("type") == "error" || has_status(n, 110));
  };
}

auto subject_from(const std::string& room) {
  return [room](const Node& n) {
    return n.name == "message" && bare_of(n.attr("from")) == room && n.child("subject") &&
           !n.child("body");
  };
}

auto groupchat(const std::string& from, const std::string& body) {
  return [from, body](const Node& n) {
    const Node* b = n.child("body");
    return n.name == "message" && n.attr("type") == "groupchat" && n.attr("from") == from && b &&
           b->text == body;
  };
}

auto presence_of(const std::string& from, const std::string& show = "") {
  return [from, show](const Node& n) {
    if (n.name != "presence" || n.attr("from") != from || !n.attr("type").empty()) return false;
    const Node* s = n.child("show");
    return show.empty() || (s && s->text == show);
  };
}

// `c` creates `room` as an instant room and is its owner, joined as `nick`.
void create_instant(StropheClient& c, const std::string& room, const std::string& nick) {
  c.send(join_xml(room, nick));
  auto self = c.wait_for(self_presence(room));
  ASSERT_TRUE(self && self->attr("type") != "error" && has_status(*self, 201))
      << (self ? self->raw : "no self-presence");
  auto r = c.iq("<iq type='set' to='" + room + "' id='" + c.next_id() + "'><query xmlns='" +
                kMucOwner + "'><x xmlns='jabber:x:data' type='submit'/></query></iq>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");
  ASSERT_TRUE(c.wait_for(subject_from(room)));
}

void join(StropheClient& c, const std::string& room, const std::string& nick) {
  c.send(join_xml(room, nick));
  auto self = c.wait_for(self_presence(room));
  ASSERT_TRUE(self && self->attr("type") != "error") << (self ? self->raw : "no self-presence");
  ASSERT_TRUE(c.wait_for(subject_from(room)));
}

void say(StropheClient& c, const std::string& room, const std::string& body) {
  c.send("<message to='" + room + "' type='groupchat' id='" + c.next_id() + "'><body>" + body +
         "</body></message>");
  settle(c);
}

// Every copy of a groupchat and of a presence carries its own recipient's full JID as 'to',
// for several devices of one occupant and for a resource that must be escaped; the joiner's
// real JID is in the moderator's copy of its presence only (semi-anonymous room).
TEST_F(MucFanoutTest, EveryCopyIsAddressedToItsRecipient) {
  const std::string room = room_jid("addressed");
  auto owner = client("fa", "desk");
  auto phone = client("fb", "phone"), laptop = client("fb", "laptop");
  ASSERT_TRUE(owner->connected() && phone->connected() && laptop->connected());
  create_instant(*owner, room, "owner");
  join(*phone, room, "b");
  join(*laptop, room, "b");
  RawClient odd(port());
  const std::string odd_jid = odd.login("fc", kPassword, "it's <odd> & \"quoted\"");
  ASSERT_EQ(odd_jid, "fc@" + kHost + "/it's <odd> & \"quoted\"");
  odd.send(join_xml(room, "c"));
  ASSERT_TRUE(odd.wait_for(self_presence(room)));
  ASSERT_TRUE(odd.wait_for(subject_from(room)));

  // A presence broadcast: c's presence reached everyone, each addressed to them.
  auto at_owner = owner->wait_for(presence_of(room + "/c"));
  auto at_phone = phone->wait_for(presence_of(room + "/c"));
  auto at_laptop = laptop->wait_for(presence_of(room + "/c"));
  ASSERT_TRUE(at_owner && at_phone && at_laptop);
  EXPECT_EQ(at_owner->attr("to"), owner->jid());
  EXPECT_EQ(at_phone->attr("to"), phone->jid());
  EXPECT_EQ(at_laptop->attr("to"), laptop->jid());
  ASSERT_TRUE(item_of(*at_owner) && item_of(*at_phone));
  EXPECT_EQ(item_of(*at_owner)->attr("jid"), odd_jid);  // the owner is a moderator
  EXPECT_EQ(item_of(*at_phone)->attr("jid"), "");       // a participant sees no real JID
  EXPECT_FALSE(has_status(*at_owner, 110));

  say(*owner, room, "to each their own");
  for (StropheClient* c : {owner.get(), phone.get(), laptop.get()}) {
    auto m = c->wait_for(groupchat(room + "/owner", "to each their own"));
    ASSERT_TRUE(m) << c->jid();
    EXPECT_EQ(m->attr("to"), c->jid());
  }
  auto m = odd.wait_for(groupchat(room + "/owner", "to each their own"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->attr("to"), odd_jid);
  EXPECT_TRUE(m->child("body"));
}

// XEP-0198: a groupchat the room sent while the occupant's connection was gone, and one it got
// but never acknowledged, both come on resumption, addressed to it; nothing comes twice.
TEST_F(MucFanoutTest, AResumedOccupantGetsTheGroupchatItMissed) {
  const std::string room = room_jid("resumed");
  auto owner = client("fd", "desk");
  ASSERT_TRUE(owner->connected());
  create_instant(*owner, room, "owner");
  auto a = std::make_unique<SmClient>(port());
  const std::string jid = a->login("fe", kPassword, "phone");
  ASSERT_FALSE(jid.empty());
  auto enabled = a->enable();
  ASSERT_TRUE(enabled && enabled->name == "enabled");
  a->send_stanza(join_xml(room, "e"));
  ASSERT_TRUE(a->wait_for(self_presence(room)));
  ASSERT_TRUE(a->wait_for(subject_from(room)));
  a->send_ack();
  a->set_auto_ack(false);

  say(*owner, room, "seen");
  ASSERT_TRUE(a->wait_for(groupchat(room + "/owner", "seen")));
  a->send_ack();
  say(*owner, room, "unacknowledged");
  ASSERT_TRUE(a->wait_for(groupchat(room + "/owner", "unacknowledged")));
  const uint32_t acked = a->handled() - 1;  // the client claims all but the last
  const std::string id = a->sm_id();
  a->drop();
  say(*owner, room, "while away");
  ASSERT_TRUE(owner->wait_for(groupchat(room + "/owner", "while away")));

  SmClient again(port());
  auto r = again.resume("fe", kPassword, id, acked);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->name, "resumed") << r->raw;
  auto missed = again.wait_for(groupchat(room + "/owner", "while away"));
  ASSERT_TRUE(missed);
  EXPECT_EQ(missed->attr("to"), jid);
  auto count = [&](const std::string& body) {
    const auto& v = again.received();
    return std::count_if(v.begin(), v.end(), groupchat(room + "/owner", body));
  };
  EXPECT_EQ(count("seen"), 0);
  EXPECT_EQ(count("unacknowledged"), 1);
  EXPECT_EQ(count("while away"), 1);
  // Still an occupant: the room's traffic goes on reaching the resumed stream.
  say(*owner, room, "after");
  auto after = again.wait_for(groupchat(room + "/owner", "after"));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->attr("to"), jid);
}

// XEP-0191: an occupant who blocks the room's domain gets none of the room's broadcasts
// (groupchat, presence) from then on; the others still do.
TEST_F(MucFanoutTest, AnOccupantWhoBlockedTheRoomsDomainGetsNothing) {
  const std::string room = room_jid("blocked");
  auto owner = client("ff", "desk"), blocker = client("fg", "desk"), last = client("fh", "desk");
  ASSERT_TRUE(owner->connected() && blocker->connected() && last->connected());
  create_instant(*owner, room, "owner");
  join(*blocker, room, "blocker");
  join(*last, room, "last");  // after the blocker in the room's order
  auto r = blocker->iq("<iq type='set' id='" + blocker->next_id() +
                       "'><block xmlns='urn:xmpp:blocking'><item jid='" + kMucService +
                       "'/></block></iq>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");

  owner->send("<presence to='" + room + "/owner'><show>away</show></presence>");
  settle(*owner);
  ASSERT_TRUE(last->wait_for(presence_of(room + "/owner", "away")));
  say(*owner, room, "not for the blocker");
  ASSERT_TRUE(last->wait_for(groupchat(room + "/owner", "not for the blocker")));
  // The room handed the blocker its copies before `last` got its own; a chat sent now comes
  // after them on the blocker's stream.
  owner->send("<message to='" + blocker->jid() + "' type='chat' id='sentinel'><body>s</body>" +
              "</message>");
  settle(*owner);
  ASSERT_TRUE(blocker->wait_for([](const Node& n) { return n.attr("id") == "sentinel"; }));
  EXPECT_FALSE(blocker->has(groupchat(room + "/owner", "not for the blocker")));
  EXPECT_FALSE(blocker->has(presence_of(room + "/owner", "away")));
}

// XEP-0352: while an occupant is inactive, the room's presence broadcasts are held and
// coalesced per occupant like any presence, and come (addressed to it) before the next
// groupchat with a body, which is urgent.
TEST_F(MucFanoutTest, AnInactiveOccupantsRoomPresenceIsHeldAsCsiSays) {
  const std::string room = room_jid("inactive");
  auto owner = client("fi", "desk");
  ASSERT_TRUE(owner->connected());
  create_instant(*owner, room, "owner");
  RawClient u(port());
  const std::string jid = u.login("fj", kPassword, "phone");
  ASSERT_FALSE(jid.empty());
  u.send(join_xml(room, "u"));
  ASSERT_TRUE(u.wait_for(self_presence(room)));
  ASSERT_TRUE(u.wait_for(subject_from(room)));
  u.send(
      "<inactive xmlns='urn:xmpp:csi:0'/><iq type='get' id='in-ping' to='localhost'>"
      "<ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(u.wait_for_id("in-ping"));

  for (const char* show : {"away", "xa", "dnd"}) {
    owner->send("<presence to='" + room + "/owner'><show>" + show + "</show></presence>");
    settle(*owner);
    ASSERT_TRUE(owner->wait_for(presence_of(room + "/owner", show)));
  }
  say(*owner, room, "urgent");
  std::vector<Node> seen;
  while (auto n = u.next_element()) {
    seen.push_back(*n);
    if (groupchat(room + "/owner", "urgent")(*n)) break;
  }
  ASSERT_EQ(seen.size(), 2u) << "held presence, then the message; got " << seen.size();
  EXPECT_EQ(seen[0].name, "presence");
  EXPECT_EQ(seen[0].attr("from"), room + "/owner");
  ASSERT_TRUE(seen[0].child("show"));
  EXPECT_EQ(seen[0].child("show")->text, "dnd");  // only the latest
  EXPECT_EQ(seen[0].attr("to"), jid);             // held with its 'to'
  EXPECT_EQ(seen[1].attr("to"), jid);
}

}  // namespace
}  // namespace parley::it
