// XEP-0045 multi-user chat (modules/muc) on groups.localhost, driven by libstrophe clients
// (and slixmpp's XEP-0045 plugin): service discovery, creating a room (locked until the owner
// configures it), joining with the XEP's presence order and status codes, nick conflicts,
// messages with the room's stanza-id and XEP-0421 occupant-ids, history on join, the subject,
// private messages, nick changes, leaving (by presence or by the session ending), one nick
// from several devices, and XEP-0410 self-pings.
//
// Absence is asserted with an ordering sentinel, never with a wait: a room handles what it is
// sent in order, so once a later stanza from the room has arrived, an earlier one would have.
#include <algorithm>
#include <set>
#include <thread>

#include "muc_common.h"

namespace parley::it {
namespace {

const std::string kDiscoInfo = "http://jabber.org/protocol/disco#info";
const std::string kDiscoItems = "http://jabber.org/protocol/disco#items";
const std::string kSid = "urn:xmpp:sid:0";
const std::string kOccupantId = "urn:xmpp:occupant-id:0";
const std::string kDelay = "urn:xmpp:delay";

std::string occupant_id(const Node& stanza) {
  const Node* o = stanza.child("occupant-id", kOccupantId);
  return o ? o->attr("id") : "";
}

class MucTest : public ServerSuite<MucTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"alice", "bob", "carol", "dave", "erin", "frank"});
    o.modules.push_back("muc");
    return o;
  }

  // Sends the join presence and waits for the room's answer to it: the self-presence (status
  // 110) or an error presence from the room.
  static std::optional<Node> join(StropheClient& c, const std::string& room,
                                  const std::string& nick, const std::string& x_children = "") {
    c.send("<presence to='" + room + "/" + nick + "'><x xmlns='" + kMuc + "'>" + x_children +
           "</x></presence>");
    return c.wait_for([&](const Node& n) {
      return n.name == "presence" && bare_of(n.attr("from")) == room &&
             (n.attr("type") == "error" || has_status(n, 110));
    });
  }

  // Waits for the subject message every join ends with (§7.2.15).
  static std::optional<Node> subject(StropheClient& c, const std::string& room) {
    return c.wait_for([&](const Node& n) {
      return n.name == "message" && bare_of(n.attr("from")) == room && n.child("subject") &&
             !n.child("body");
    });
  }

  static std::optional<Node> owner_iq(StropheClient& c, const std::string& room,
                                      const std::string& type, const std::string& inner) {
    return c.iq("<iq type='" + type + "' to='" + room + "' id='" + c.next_id() +
                "'><query xmlns='" + kMucOwner + "'>" + inner + "</query></iq>");
  }

  // Creates `room` as an instant room (§10.1.2) with `c` as its owner, joined as `nick`.
  static void create_instant(StropheClient& c, const std::string& room, const std::string& nick) {
    auto self = join(c, room, nick);
    ASSERT_TRUE(self) << "no answer to the join of a new room";
    ASSERT_NE(self->attr("type"), "error") << self->raw;
    ASSERT_TRUE(has_status(*self, 201)) << "a new room says 201: " << self->raw;
    auto r = owner_iq(c, room, "set", "<x xmlns='jabber:x:data' type='submit'/>");
    ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");
    ASSERT_TRUE(subject(c, room));
  }

  static std::optional<Node> groupchat_from(StropheClient& c, const std::string& from,
                                            const std::string& body) {
    return c.wait_for([&](const Node& n) {
      const Node* b = n.child("body");
      return n.name == "message" && n.attr("type") == "groupchat" && n.attr("from") == from && b &&
             b->text == body;
    });
  }

  static void say(StropheClient& c, const std::string& room, const std::string& body,
                  const std::string& extra = "") {
    c.send("<message to='" + room + "' type='groupchat' id='" + c.next_id() + "'><body>" + body +
           "</body>" + extra + "</message>");
  }
};

TEST_F(MucTest, TheServiceIsDiscoverable) {
  auto alice = client("alice", "disco");
  auto items = alice->iq("<iq type='get' to='" + kHost + "' id='i1'><query xmlns='" + kDiscoItems +
                         "'/></iq>");
  ASSERT_TRUE(items && items->attr("type") == "result");
  bool listed = false;
  for (const Node* i : items->child("query", kDiscoItems)->all("item"))
    listed = listed || i->attr("jid") == kMucService;
  EXPECT_TRUE(listed) << "the host's disco#items lists " << kMucService << ": " << items->raw;

  auto info = alice->iq("<iq type='get' to='" + kMucService + "' id='i2'><query xmlns='" +
                        kDiscoInfo + "'/></iq>");
  ASSERT_TRUE(info && info->attr("type") == "result") << (info ? info->raw : "no reply");
  const Node* q = info->child("query", kDiscoInfo);
  ASSERT_TRUE(q);
  const Node* identity = q->child("identity");
  ASSERT_TRUE(identity);
  EXPECT_EQ(identity->attr("category"), "conference");
  EXPECT_EQ(identity->attr("type"), "text");
  std::set<std::string> features;
  for (const Node* f : q->all("feature")) features.insert(f->attr("var"));
  EXPECT_TRUE(features.count(kMuc));
  EXPECT_TRUE(features.count(kOccupantId));

  // Something the service does not do is service-unavailable, not silence.
  auto odd = alice->iq("<iq type='get' to='" + kMucService +
                       "' id='i3'><query xmlns='urn:example:nothing'/></iq>");
  ASSERT_TRUE(odd);
  EXPECT_EQ(stanza_error(*odd), "service-unavailable");
}

TEST_F(MucTest, ANewRoomIsLockedUntilItsOwnerAcceptsTheInstantConfiguration) {
  auto alice = client("alice", "lock");
  auto bob = client("bob", "lock");
  const std::string room = room_jid("locked");

  auto self = join(*alice, room, "Alice");
  ASSERT_TRUE(self);
  ASSERT_NE(self->attr("type"), "error") << self->raw;
  EXPECT_TRUE(has_status(*self, 201)) << self->raw;
  EXPECT_TRUE(has_status(*self, 110));
  const Node* item = item_of(*self);
  ASSERT_TRUE(item) << self->raw;
  EXPECT_EQ(item->attr("affiliation"), "owner");
  EXPECT_EQ(item->attr("role"), "moderator");

  // §10.1.1: nobody else enters a locked room.
  auto refused = join(*bob, room, "Bob");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->attr("type"), "error");
  EXPECT_EQ(stanza_error(*refused), "item-not-found") << refused->raw;

  auto r = owner_iq(*alice, room, "set", "<x xmlns='jabber:x:data' type='submit'/>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");
  auto entered = join(*bob, room, "Bob");
  ASSERT_TRUE(entered);
  EXPECT_NE(entered->attr("type"), "error") << entered->raw;
  EXPECT_FALSE(has_status(*entered, 201));
}

TEST_F(MucTest, AJoinSeesTheOccupantsFirstThenItselfAndTheSubjectLast) {
  auto alice = client("alice", "order");
  auto bob = client("bob", "order");
  const std::string room = room_jid("order");
  create_instant(*alice, room, "Alice");

  auto self = join(*bob, room, "Bob");
  ASSERT_TRUE(self);
  ASSERT_NE(self->attr("type"), "error") << self->raw;
  const Node* mine = item_of(*self);
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->attr("affiliation"), "none");
  EXPECT_EQ(mine->attr("role"), "participant");
  // Alice's presence came before Bob's own (§7.2.3), and his own is the last presence.
  auto& got = bob->received();
  auto pos = [&](const std::function<bool(const Node&)>& pred) {
    return std::find_if(got.begin(), got.end(), pred) - got.begin();
  };
  auto alice_at = pos([&](const Node& n) {
    return n.name == "presence" && n.attr("from") == room + "/Alice" && n.attr("type").empty();
  });
  auto self_at = pos([&](const Node& n) { return n.raw == self->raw; });
  ASSERT_LT(alice_at, static_cast<long>(got.size())) << "Bob never saw Alice's presence";
  EXPECT_LT(alice_at, self_at);
  const Node* alice_item = nullptr;
  for (const auto& n : got)
    if (n.attr("from") == room + "/Alice" && n.name == "presence") alice_item = item_of(n);
  ASSERT_TRUE(alice_item);
  EXPECT_EQ(alice_item->attr("affiliation"), "owner");
  // Semi-anonymous by default: a participant does not see real JIDs.
  EXPECT_FALSE(alice_item->has_attr("jid"));

  auto s = subject(*bob, room);
  ASSERT_TRUE(s) << "a join ends with the subject, even an empty one";
  EXPECT_EQ(s->attr("type"), "groupchat");

  // The others see the newcomer; the moderator sees the real JID.
  auto seen = alice->wait_for(
      [&](const Node& n) { return n.name == "presence" && n.attr("from") == room + "/Bob"; });
  ASSERT_TRUE(seen);
  ASSERT_TRUE(item_of(*seen));
  EXPECT_EQ(bare_of(item_of(*seen)->attr("jid")), bob->bare());
  EXPECT_FALSE(has_status(*seen, 110));
}

TEST_F(MucTest, AnOccupiedNickIsAConflict) {
  auto alice = client("alice", "conflict");
  auto carol = client("carol", "conflict");
  const std::string room = room_jid("conflict");
  create_instant(*alice, room, "Alice");
  auto r = join(*carol, room, "Alice");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr("type"), "error");
  EXPECT_EQ(stanza_error(*r), "conflict") << r->raw;
  // The nick is still free for the taking under another name.
  auto ok = join(*carol, room, "Carol");
  ASSERT_TRUE(ok);
  EXPECT_NE(ok->attr("type"), "error") << ok->raw;
}

TEST_F(MucTest, GroupchatReachesEveryOccupantWithTheRoomsStanzaIdAndOccupantId) {
  auto alice = client("alice", "chat");
  auto bob = client("bob", "chat");
  const std::string room = room_jid("chat");
  create_instant(*alice, room, "Alice");
  ASSERT_TRUE(join(*bob, room, "Bob"));
  ASSERT_TRUE(subject(*bob, room));

  // A forged stanza-id claiming to be the room's and a forged occupant-id do not survive.
  say(*bob, room, "hello room",
      "<stanza-id xmlns='" + kSid + "' by='" + room + "' id='forged'/><occupant-id xmlns='" +
          kOccupantId + "' id='forged'/>");
  auto at_alice = groupchat_from(*alice, room + "/Bob", "hello room");
  auto at_bob = groupchat_from(*bob, room + "/Bob", "hello room");  // reflected to the sender
  ASSERT_TRUE(at_alice);
  ASSERT_TRUE(at_bob);
  std::vector<std::string> ids;
  for (const Node* sid : at_alice->all("stanza-id", kSid)) {
    EXPECT_EQ(sid->attr("by"), room);
    ids.push_back(sid->attr("id"));
  }
  ASSERT_EQ(ids.size(), 1u) << "one stanza-id by the room: " << at_alice->raw;
  EXPECT_NE(ids[0], "forged");
  const Node* bob_sid = at_bob->child("stanza-id", kSid);
  ASSERT_TRUE(bob_sid);
  EXPECT_EQ(bob_sid->attr("id"), ids[0]) << "every occupant sees the same id";

  ASSERT_EQ(at_alice->all("occupant-id", kOccupantId).size(), 1u) << at_alice->raw;
  std::string bob_oid = occupant_id(*at_alice);
  EXPECT_FALSE(bob_oid.empty());
  EXPECT_NE(bob_oid, "forged");
  EXPECT_EQ(occupant_id(*at_bob), bob_oid);

  // Alice's occupant-id is another one, and the same in her messages and her presence.
  say(*alice, room, "hi bob");
  auto from_alice = groupchat_from(*bob, room + "/Alice", "hi bob");
  ASSERT_TRUE(from_alice);
  EXPECT_NE(occupant_id(*from_alice), bob_oid);
  std::string alice_presence_oid;
  for (const auto& n : bob->received())
    if (n.name == "presence" && n.attr("from") == room + "/Alice")
      alice_presence_oid = occupant_id(n);
  EXPECT_EQ(alice_presence_oid, occupant_id(*from_alice));
}

TEST_F(MucTest, SomeoneWhoIsNotInTheRoomCannotSpeakInIt) {
  auto alice = client("alice", "outsider");
  auto erin = client("erin", "outsider");
  const std::string room = room_jid("outsider");
  create_instant(*alice, room, "Alice");
  erin->send("<message to='" + room +
             "' type='groupchat' id='out1'><body>let me in</body></message>");
  auto r = erin->wait_for([](const Node& n) { return n.attr("id") == "out1"; });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr("type"), "error");
  EXPECT_EQ(stanza_error(*r), "not-acceptable") << r->raw;
  // Alice never got it: her own next message arrives with nothing from Erin before it.
  say(*alice, room, "sentinel");
  ASSERT_TRUE(groupchat_from(*alice, room + "/Alice", "sentinel"));
  EXPECT_FALSE(alice->has([](const Node& n) {
    const Node* b = n.child("body");
    return b && b->text == "let me in";
  }));
}

TEST_F(MucTest, HistoryOnJoinHonoursMaxstanzasAndCarriesTheRoomsDelay) {
  auto alice = client("alice", "history");
  const std::string room = room_jid("history");
  create_instant(*alice, room, "Alice");
  for (int i = 1; i <= 4; ++i) {
    say(*alice, room, "line " + std::to_string(i));
    ASSERT_TRUE(groupchat_from(*alice, room + "/Alice", "line " + std::to_string(i)));
  }
  auto dave = client("dave", "history");
  ASSERT_TRUE(join(*dave, room, "Dave", "<history maxstanzas='2'/>"));
  auto s = subject(*dave, room);
  ASSERT_TRUE(s);
  std::vector<std::string> bodies;
  for (const auto& n : dave->received()) {
    const Node* b = n.child("body");
    if (n.name != "message" || !b) continue;
    bodies.push_back(b->text);
    const Node* delay = n.child("delay", kDelay);
    ASSERT_TRUE(delay) << "history carries <delay/>: " << n.raw;
    EXPECT_EQ(delay->attr("from"), room);
    EXPECT_FALSE(delay->attr("stamp").empty());
    EXPECT_EQ(n.attr("from"), room + "/Alice");
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"line 3", "line 4"}));

  // maxstanzas='0' asks for none.
  auto frank = client("frank", "history");
  ASSERT_TRUE(join(*frank, room, "Frank", "<history maxstanzas='0'/>"));
  ASSERT_TRUE(subject(*frank, room));
  EXPECT_FALSE(frank->has([](const Node& n) { return n.name == "message" && n.child("body"); }));
}

// §7.2.15's other limits, as clients send them: maxchars counts the serialized stanzas (one
// that does not fit is not sent), since is a date, seconds a look-back.
TEST_F(MucTest, HistoryOnJoinHonoursMaxcharsSinceAndSeconds) {
  auto alice = client("alice", "history2");
  const std::string room = room_jid("history2");
  create_instant(*alice, room, "Alice");
  for (int i = 1; i <= 3; ++i) {
    say(*alice, room, "entry " + std::to_string(i));
    ASSERT_TRUE(groupchat_from(*alice, room + "/Alice", "entry " + std::to_string(i)));
  }
  auto bodies_for = [&](const std::string& user, const std::string& nick,
                        const std::string& history) {
    auto c = client(user, "h-" + nick);
    EXPECT_TRUE(join(*c, room, nick, history));
    EXPECT_TRUE(subject(*c, room));
    std::vector<std::string> bodies;
    for (const auto& n : c->received())
      if (const Node* b = n.child("body"); n.name == "message" && b) bodies.push_back(b->text);
    return bodies;
  };
  // maxchars='0': nothing; a large maxchars: everything.
  EXPECT_TRUE(bodies_for("bob", "Zero", "<history maxchars='0'/>").empty());
  EXPECT_EQ(bodies_for("carol", "All", "<history maxchars='100000'/>"),
            (std::vector<std::string>{"entry 1", "entry 2", "entry 3"}));
  // since a date in the future: nothing; since long ago: everything.
  EXPECT_TRUE(bodies_for("dave", "Later", "<history since='2200-01-01T00:00:00Z'/>").empty());
  EXPECT_EQ(bodies_for("erin", "Early", "<history since='2000-01-01T00:00:00Z'/>").size(), 3u);
  // seconds: the last hour holds all three.
  EXPECT_EQ(bodies_for("frank", "Hour", "<history seconds='3600'/>").size(), 3u);
}

TEST_F(MucTest, TheSubjectSetByAModeratorReachesEveryoneAndLaterJoiners) {
  auto alice = client("alice", "subject");
  auto bob = client("bob", "subject");
  const std::string room = room_jid("subject");
  create_instant(*alice, room, "Alice");
  ASSERT_TRUE(join(*bob, room, "Bob"));
  ASSERT_TRUE(subject(*bob, room));
  alice->send("<message to='" + room + "' type='groupchat'><subject>Plans</subject></message>");
  auto at_bob = bob->wait_for([&](const Node& n) {
    const Node* s = n.child("subject");
    return n.name == "message" && s && s->text == "Plans";
  });
  ASSERT_TRUE(at_bob);
  EXPECT_EQ(at_bob->attr("from"), room + "/Alice");

  auto carol = client("carol", "subject");
  ASSERT_TRUE(join(*carol, room, "Carol"));
  auto s = subject(*carol, room);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->child("subject")->text, "Plans");
}

TEST_F(MucTest, PrivateMessagesGoBetweenOccupantsUnderTheirNicks) {
  auto alice = client("alice", "pm");
  auto bob = client("bob", "pm");
  const std::string room = room_jid("pm");
  create_instant(*alice, room, "Alice");
  ASSERT_TRUE(join(*bob, room, "Bob"));
  bob->send("<message to='" + room + "/Alice' type='chat' id='pm1'><body>psst</body></message>");
  auto got = alice->wait_for([](const Node& n) {
    const Node* b = n.child("body");
    return n.name == "message" && b && b->text == "psst";
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->attr("from"), room + "/Bob");
  EXPECT_EQ(got->attr("type"), "chat");
  EXPECT_TRUE(got->child("x", kMucUser)) << got->raw;
  EXPECT_EQ(got->raw.find(bob->bare()), std::string::npos)
      << "the real JID stays hidden in a semi-anonymous room: " << got->raw;

  bob->send("<message to='" + room + "/Nobody' type='chat' id='pm2'><body>hello?</body></message>");
  auto err = bob->wait_for([](const Node& n) { return n.attr("id") == "pm2"; });
  ASSERT_TRUE(err);
  EXPECT_EQ(stanza_error(*err), "item-not-found") << err->raw;

  auto erin = client("erin", "pm");
  erin->send("<message to='" + room + "/Alice' type='chat' id='pm3'><body>hi</body></message>");
  auto refused = erin->wait_for([](const Node& n) { return n.attr("id") == "pm3"; });
  ASSERT_TRUE(refused);
  EXPECT_EQ(stanza_error(*refused), "not-acceptable") << refused->raw;
}

TEST_F(MucTest, ANickChangeIsUnavailableWith303ThenTheNewNick) {
  auto alice = client("alice", "nick");
  auto bob = client("bob", "nick");
  const std::string room = room_jid("nick");
  create_instant(*alice, room, "Alice");
  ASSERT_TRUE(join(*bob, room, "Bob"));
  ASSERT_TRUE(subject(*bob, room));
  bob->send("<presence to='" + room + "/Bobby'/>");
  auto gone = alice->wait_for([&](const Node& n) {
    return n.name == "presence" && n.attr("from") == room + "/Bob" &&
           n.attr("type") == "unavailable";
  });
  ASSERT_TRUE(gone);
  EXPECT_TRUE(has_status(*gone, 303)) << gone->raw;
  ASSERT_TRUE(item_of(*gone));
  EXPECT_EQ(item_of(*gone)->attr("nick"), "Bobby");
  auto back = alice->wait_for([&](const Node& n) {
    return n.name == "presence" && n.attr("from") == room + "/Bobby" && n.attr("type").empty();
  });
  ASSERT_TRUE(back);
  // Bob's own copies say 110 too.
  auto own = bob->wait_for([&](const Node& n) {
    return n.name == "presence" && n.attr("from") == room + "/Bobby" && has_status(n, 110);
  });
  ASSERT_TRUE(own);

  // A change to a nick in use is a conflict, and Bob stays Bobby.
  bob->send("<presence to='" + room + "/Alice'/>");
  auto conflict = bob->wait_for(
      [&](const Node& n) { return n.name == "presence" && n.attr("type") == "error"; });
  ASSERT_TRUE(conflict);
  EXPECT_EQ(stanza_error(*conflict), "conflict");
  say(*bob, room, "still bobby");
  ASSERT_TRUE(groupchat_from(*alice, room + "/Bobby", "still bobby"));
}

TEST_F(MucTest, LeavingByPresenceOrByTheSessionEndingIsBroadcast) {
  auto alice = client("alice", "leave");
  auto bob = client("bob", "leave");
  auto carol = client("carol", "leave");
  const std::string room = room_jid("leave");
  create_instant(*alice, room, "Alice");
  ASSERT_TRUE(join(*bob, room, "Bob"));
  ASSERT_TRUE(join(*carol, room, "Carol"));

  bob->send("<presence to='" + room + "/Bob' type='unavailable'/>");
  auto self = bob->wait_for([&](const Node& n) {
    return n.attr("from") == room + "/Bob" && n.attr("type") == "unavailable";
  });
  ASSERT_TRUE(self);
  EXPECT_TRUE(has_status(*self, 110));
  ASSERT_TRUE(alice->wait_for([&](const Node& n) {
    return n.attr("from") == room + "/Bob" && n.attr("type") == "unavailable";
  }));

  // Carol's connection drops without a word: the server says unavailable for her (RFC 6121
  // §4.6.3), and the room tells the others.
  carol->drop();
  auto carol_gone = alice->wait_for([&](const Node& n) {
    return n.attr("from") == room + "/Carol" && n.attr("type") == "unavailable";
  });
  ASSERT_TRUE(carol_gone);

  // Gone means gone: Bob cannot speak, and a message reaches no one who left.
  say(*bob, room, "am I here?");
  auto refused =
      bob->wait_for([](const Node& n) { return n.name == "message" && n.attr("type") == "error"; });
  ASSERT_TRUE(refused);
  EXPECT_EQ(stanza_error(*refused), "not-acceptable");
}

TEST_F(MucTest, OneNickFromTwoDevicesIsOneOccupantAndBothDevicesGetTheRoom) {
  auto alice = client("alice", "multi");
  auto phone = client("bob", "phone");
  auto laptop = client("bob", "laptop");
  const std::string room = room_jid("multi");
  create_instant(*alice, room, "Alice");
  ASSERT_TRUE(join(*phone, room, "Bob"));
  ASSERT_TRUE(alice->wait_for([&](const Node& n) { return n.attr("from") == room + "/Bob"; }));
  auto second = join(*laptop, room, "Bob");
  ASSERT_TRUE(second);
  EXPECT_NE(second->attr("type"), "error") << "the same user may join from a second device under "
                                              "the same nick (§7.2.6): "
                                           << second->raw;

  say(*alice, room, "to both");
  ASSERT_TRUE(groupchat_from(*phone, room + "/Alice", "to both"));
  ASSERT_TRUE(groupchat_from(*laptop, room + "/Alice", "to both"));

  // The phone leaves; Bob is still in the room on the laptop, so nobody saw him go.
  phone->send("<presence to='" + room + "/Bob' type='unavailable'/>");
  ASSERT_TRUE(phone->wait_for([&](const Node& n) {
    return n.attr("from") == room + "/Bob" && n.attr("type") == "unavailable";
  }));
  say(*laptop, room, "still here");
  ASSERT_TRUE(groupchat_from(*alice, room + "/Bob", "still here"));
  EXPECT_FALSE(alice->has([&](const Node& n) {
    return n.attr("from") == room + "/Bob" && n.attr("type") == "unavailable";
  }));
}

TEST_F(MucTest, ASelfPingSaysWhetherThisSessionIsStillJoined) {
  auto alice = client("alice", "ping");
  const std::string room = room_jid("ping");
  create_instant(*alice, room, "Alice");
  auto joined = alice->iq("<iq type='get' to='" + room +
                          "/Alice' id='sp1'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->attr("type"), "result") << joined->raw;

  auto bob = client("bob", "ping");
  auto outside =
      bob->iq("<iq type='get' to='" + room + "/Alice' id='sp2'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(outside);
  EXPECT_EQ(outside->attr("type"), "error");
  EXPECT_EQ(stanza_error(*outside), "not-acceptable") << outside->raw;
}

TEST_F(MucTest, ATemporaryRoomEndsWithItsLastOccupant) {
  auto alice = client("alice", "temp");
  const std::string room = room_jid("temporary");
  create_instant(*alice, room, "Alice");
  alice->send("<presence to='" + room + "/Alice' type='unavailable'/>");
  ASSERT_TRUE(alice->wait_for([&](const Node& n) {
    return n.attr("from") == room + "/Alice" && n.attr("type") == "unavailable";
  }));
  // Joining again creates it anew.
  auto again = join(*alice, room, "Alice");
  ASSERT_TRUE(again);
  EXPECT_TRUE(has_status(*again, 201)) << again->raw;
}

TEST_F(MucTest, TheRoomsArchiveHoldsWhatWasSaidUnderTheLiveStanzaIds) {
  auto alice = client("alice", "mam");
  const std::string room = room_jid("archived");
  auto self = join(*alice, room, "Alice");
  ASSERT_TRUE(self && has_status(*self, 201));
  EXPECT_TRUE(has_status(*self, 170)) << "new rooms are archived by default: " << self->raw;
  ASSERT_TRUE(owner_iq(*alice, room, "set", "<x xmlns='jabber:x:data' type='submit'/>"));
  auto info = alice->iq("<iq type='get' to='" + room + "' id='ri'><query xmlns='" + kDiscoInfo +
                        "'/></iq>");
  ASSERT_TRUE(info && info->attr("type") == "result");
  bool mam = false;
  for (const Node* f : info->child("query", kDiscoInfo)->all("feature"))
    mam = mam || f->attr("var") == "urn:xmpp:mam:2";
  EXPECT_TRUE(mam) << info->raw;

  std::vector<std::string> live_ids;
  for (int i = 1; i <= 3; ++i) {
    say(*alice, room, "said " + std::to_string(i));
    auto m = groupchat_from(*alice, room + "/Alice", "said " + std::to_string(i));
    ASSERT_TRUE(m && m->child("stanza-id", kSid));
    live_ids.push_back(m->child("stanza-id", kSid)->attr("id"));
  }

  // Bob never joined: an open room's archive is readable by anyone (XEP-0313 §6), a page at a
  // time (XEP-0059).
  auto bob = client("bob", "mam");
  auto page = [&](const std::string& qid, const std::string& rsm) {
    return bob->iq("<iq type='set' to='" + room + "' id='" + qid +
                   "'><query xmlns='urn:xmpp:mam:2' queryid='" + qid +
                   "'><set xmlns='http://jabber.org/protocol/rsm'>" + rsm + "</set></query></iq>");
  };
  auto results = [&](const std::string& qid) {
    std::vector<std::pair<std::string, std::string>> got;  // archive id, body
    for (const auto& n : bob->received()) {
      const Node* r = n.child("result", "urn:xmpp:mam:2");
      if (!r || r->attr("queryid") != qid) continue;
      EXPECT_EQ(n.attr("from"), room);
      const Node* fwd = r->child("forwarded", "urn:xmpp:forward:0");
      const Node* msg = fwd ? fwd->child("message") : nullptr;
      EXPECT_TRUE(msg && msg->attr("from") == room + "/Alice") << n.raw;
      EXPECT_TRUE(fwd && fwd->child("delay", kDelay)) << n.raw;
      const Node* body = msg ? msg->child("body") : nullptr;
      got.emplace_back(r->attr("id"), body ? body->text : "");
    }
    return got;
  };
  auto first = page("q1", "<max>2</max>");
  ASSERT_TRUE(first && first->attr("type") == "result") << (first ? first->raw : "no reply");
  auto got = results("q1");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(live_ids[0], std::string("said 1")));
  EXPECT_EQ(got[1], std::make_pair(live_ids[1], std::string("said 2")));
  const Node* fin = first->child("fin", "urn:xmpp:mam:2");
  ASSERT_TRUE(fin);
  EXPECT_NE(fin->attr("complete"), "true");

  auto rest = page("q2", "<max>2</max><after>" + live_ids[1] + "</after>");
  ASSERT_TRUE(rest && rest->attr("type") == "result");
  got = results("q2");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], std::make_pair(live_ids[2], std::string("said 3")));
  EXPECT_EQ(rest->child("fin", "urn:xmpp:mam:2")->attr("complete"), "true");

  // Members-only: someone who is not a member reads nothing.
  auto r = owner_iq(*alice, room, "set",
                    "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"
                    "http://jabber.org/protocol/muc#roomconfig</value></field><field "
                    "var='muc#roomconfig_membersonly'><value>1</value></field></x>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");
  auto refused = page("q3", "<max>2</max>");
  ASSERT_TRUE(refused);
  EXPECT_EQ(stanza_error(*refused), "forbidden") << refused->raw;
}

// muc#roomconfig_presencebroadcast: in a room that broadcasts only moderators' presence, a
// joiner sees the owner but not a participant, a participant's join reaches nobody, and
// messages still reach everyone.
TEST_F(MucTest, ARoomBroadcastingOnlyModeratorsHidesParticipantsButNotTheirMessages) {
  auto alice = client("alice", "bcast");
  auto bob = client("bob", "bcast");
  auto carol = client("carol", "bcast");
  const std::string room = room_jid("quiet");
  auto self = join(*alice, room, "Alice");
  ASSERT_TRUE(self && has_status(*self, 201));
  auto r = owner_iq(*alice, room, "set",
                    "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"
                    "http://jabber.org/protocol/muc#roomconfig</value></field><field "
                    "var='muc#roomconfig_presencebroadcast'><value>moderator</value></field></x>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");
  // The owner form says so.
  auto form = owner_iq(*alice, room, "get", "");
  ASSERT_TRUE(form && form->attr("type") == "result");
  EXPECT_NE(form->raw.find("muc#roomconfig_presencebroadcast"), std::string::npos) << form->raw;

  auto bob_self = join(*bob, room, "Bob");
  ASSERT_TRUE(bob_self && bob_self->attr("type") != "error");
  EXPECT_TRUE(bob->has(presence_from(room + "/Alice"))) << "the owner's presence is broadcast";
  auto carol_self = join(*carol, room, "Carol");
  ASSERT_TRUE(carol_self && carol_self->attr("type") != "error");
  ASSERT_TRUE(subject(*carol, room));
  EXPECT_TRUE(carol->has(presence_from(room + "/Alice")));

  say(*bob, room, "from bob");
  ASSERT_TRUE(groupchat_from(*alice, room + "/Bob", "from bob"));
  ASSERT_TRUE(groupchat_from(*carol, room + "/Bob", "from bob"));
  // Sentinel: the room handles in order, so once Alice's own later message has come back to
  // each of them, any presence of Bob or Carol would have come before it.
  say(*alice, room, "sentinel");
  for (auto* c : {alice.get(), bob.get(), carol.get()})
    ASSERT_TRUE(groupchat_from(*c, room + "/Alice", "sentinel"));
  EXPECT_FALSE(alice->has(presence_from(room + "/Bob"))) << "a participant's join is not broadcast";
  EXPECT_FALSE(alice->has(presence_from(room + "/Carol")));
  EXPECT_FALSE(carol->has(presence_from(room + "/Bob"))) << "the joiner got a hidden occupant";
  EXPECT_FALSE(bob->has(presence_from(room + "/Carol")));
}

TEST_F(MucTest, SlixmppCreatesJoinsAndChatsWithItsMucPlugin) {
  auto r = run_slixmpp(
      server(), "muc.py",
      {"--user", "erin@" + kHost, "--other", "frank@" + kHost, "--room", room_jid("slixroom")},
      kPassword);
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// A server shutting down takes everyone out of its rooms with status 332 (XEP-0045 status
// codes) before it closes their streams.
TEST(MucShutdown, OccupantsAreToldTheServiceIsGoingWith332) {
  auto o = with_users({"alice", "bob"});
  o.modules.push_back("muc");
  ServerProcess s(o);
  ASSERT_TRUE(s.start()) << s.error();
  const std::string room = room_jid("closing");
  auto login = [&](const std::string& user) {
    auto c = std::make_unique<StropheClient>(user + "@" + kHost + "/shut", kPassword, s.c2s_port());
    c->connect();
    return c;
  };
  auto alice = login("alice");
  auto bob = login("bob");
  MucTest::create_instant(*alice, room, "Alice");
  ASSERT_TRUE(MucTest::join(*bob, room, "Bob"));
  ASSERT_TRUE(MucTest::subject(*bob, room));
  ASSERT_EQ(s.stop(), 0) << s.log();
  for (auto* c : {alice.get(), bob.get()}) {
    const std::string nick = c == alice.get() ? "Alice" : "Bob";
    auto gone = c->wait_for([&](const Node& n) {
      return n.name == "presence" && n.attr("from") == room + "/" + nick &&
             n.attr("type") == "unavailable" && has_status(n, 332) && has_status(n, 110);
    });
    EXPECT_TRUE(gone) << nick << " was not told the room is going";
    EXPECT_TRUE(c->wait_disconnected());
  }
}

// §10.1.3 persistent rooms, on both backends: the settings, subject and affiliations survive
// a restart, the room is found again on first use (it is not loaded at start), public ones are
// listed by the service even before anyone touched them, occupant ids stay the same, and a
// destroyed room is gone from the store.
class MucPersistence : public BackendServerTest {};
PARLEY_BACKENDS(MucPersistence);

TEST_P(MucPersistence, APersistentRoomSurvivesARestartAndLoadsOnFirstUse) {
  auto o = with_users({"alice", "bob", "carol"}, backend_options());
  o.modules.push_back("muc");
  ServerProcess s(o);
  ASSERT_TRUE(s.start()) << s.error();
  const std::string room = room_jid("kept");
  const std::string gone = room_jid("destroyed");
  auto login = [&](const std::string& user, const std::string& res) {
    auto c =
        std::make_unique<StropheClient>(user + "@" + kHost + "/" + res, kPassword, s.c2s_port());
    c->connect();
    return c;
  };
  std::string bob_oid;
  {
    auto alice = login("alice", "one");
    auto bob = login("bob", "one");
    ASSERT_TRUE(MucTest::join(*alice, room, "Alice"));
    auto r = MucTest::owner_iq(*alice, room, "set",
                               config_form({{"roomname", "Kept Room"},
                                            {"persistentroom", "1"},
                                            {"publicroom", "1"},
                                            {"membersonly", "1"}}));
    ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");
    auto m = alice->iq("<iq type='set' to='" + room + "' id='aff1'><query xmlns='" + kMucAdmin +
                       "'><item affiliation='member' jid='bob@" + kHost + "'/></query></iq>");
    ASSERT_TRUE(m && m->attr("type") == "result") << (m ? m->raw : "no reply");
    alice->send("<message to='" + room + "' type='groupchat'><subject>Kept</subject></message>");
    ASSERT_TRUE(alice->wait_for([](const Node& n) {
      const Node* sub = n.child("subject");
      return sub && sub->text == "Kept";
    }));
    auto self = MucTest::join(*bob, room, "Bob");
    ASSERT_TRUE(self && self->attr("type") != "error") << (self ? self->raw : "no reply");
    bob_oid = occupant_id(*self);
    ASSERT_FALSE(bob_oid.empty());

    // A second persistent room, destroyed (§10.9): it must not come back.
    ASSERT_TRUE(MucTest::join(*alice, gone, "Alice"));
    ASSERT_TRUE(MucTest::owner_iq(*alice, gone, "set", config_form({{"persistentroom", "1"}})));
    auto d = MucTest::owner_iq(*alice, gone, "set", "<destroy><reason>done</reason></destroy>");
    ASSERT_TRUE(d && d->attr("type") == "result") << (d ? d->raw : "no reply");
  }
  ASSERT_EQ(s.stop(), 0) << s.log();
  ASSERT_TRUE(s.start()) << s.error();

  auto carol = login("carol", "two");
  // Listed before anyone used it since the restart.
  auto items = carol->iq("<iq type='get' to='" + kMucService + "' id='l1'><query xmlns='" +
                         kDiscoItems + "'/></iq>");
  ASSERT_TRUE(items && items->attr("type") == "result");
  bool listed = false;
  for (const Node* i : items->child("query", kDiscoItems)->all("item"))
    listed = listed || (i->attr("jid") == room && i->attr("name") == "Kept Room");
  EXPECT_TRUE(listed) << items->raw;

  // Members-only survived: Carol is not a member.
  auto refused = MucTest::join(*carol, room, "Carol");
  ASSERT_TRUE(refused);
  EXPECT_EQ(stanza_error(*refused), "registration-required") << refused->raw;

  auto bob = login("bob", "two");
  auto self = MucTest::join(*bob, room, "Bob");
  ASSERT_TRUE(self && self->attr("type") != "error") << (self ? self->raw : "no reply");
  EXPECT_FALSE(has_status(*self, 201)) << "the room was not created anew: " << self->raw;
  ASSERT_TRUE(item_of(*self));
  EXPECT_EQ(item_of(*self)->attr("affiliation"), "member");
  EXPECT_EQ(occupant_id(*self), bob_oid) << "XEP-0421: the same id after a restart";
  auto subj = MucTest::subject(*bob, room);
  ASSERT_TRUE(subj);
  EXPECT_EQ(subj->child("subject")->text, "Kept");

  // The destroyed room is new again for whoever joins it.
  auto again = MucTest::join(*bob, gone, "Bob");
  ASSERT_TRUE(again);
  EXPECT_TRUE(has_status(*again, 201)) << again->raw;
  EXPECT_EQ(s.stop(), 0) << s.log();
}

// Members who are not joined (issue 5): in a members-only room every group message also goes
// to each member with no session in the room, as an offline message when the member has no
// available resource — delivered at login, in order, with the room's stanza-id and <delay/>.
// A member who is online but not joined gets nothing (the archive is there when they open the
// room); a non-member gets nothing.
class MucMembersTest : public ServerSuite<MucMembersTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"owner", "asleep", "online", "outsider"});
    o.modules.push_back("offline");
    o.modules.push_back("muc");
    return o;
  }
};

TEST_F(MucMembersTest, AMemberWhoIsAwayGetsTheGroupMessagesAtLoginAndOthersNothing) {
  auto owner = client("owner", "desk");
  auto online = client("online", "desk");
  ASSERT_TRUE(go_online(*online));
  const std::string room = room_jid("family");
  ASSERT_TRUE(MucTest::join(*owner, room, "Owner"));
  auto r = MucTest::owner_iq(*owner, room, "set",
                             config_form({{"membersonly", "1"}, {"persistentroom", "1"}}));
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");
  for (const std::string who : {"asleep", "online"}) {
    auto m =
        owner->iq("<iq type='set' to='" + room + "' id='m-" + who + "'><query xmlns='" + kMucAdmin +
                  "'><item affiliation='member' jid='" + who + "@" + kHost + "'/></query></iq>");
    ASSERT_TRUE(m && m->attr("type") == "result") << (m ? m->raw : "no reply");
  }

  std::vector<std::string> ids;
  for (int i = 1; i <= 3; ++i) {
    MucTest::say(*owner, room, "news " + std::to_string(i));
    auto m = MucTest::groupchat_from(*owner, room + "/Owner", "news " + std::to_string(i));
    ASSERT_TRUE(m && m->child("stanza-id", kSid)) << (m ? m->raw : "no echo");
    ids.push_back(m->child("stanza-id", kSid)->attr("id"));
  }
  EXPECT_FALSE(owner->has([](const Node& n) { return n.attr("type") == "error"; }))
      << "the room got a bounce";

  // Online, not joined: nothing. Sentinel: an invitation the room sends after the messages.
  owner->send("<message to='" + room + "'><x xmlns='" + kMucUser + "'><invite to='online@" + kHost +
              "'/></x></message>");
  ASSERT_TRUE(online->wait_for([&](const Node& n) {
    const Node* x = n.child("x", kMucUser);
    return n.name == "message" && n.attr("from") == room && x && x->child("invite", kMucUser);
  }));
  EXPECT_FALSE(online->has([&](const Node& n) { return n.attr("type") == "groupchat"; }))
      << "an online member who is not joined got a group message";

  // Sentinels for the accounts that are away: a chat message stored after the group messages.
  for (const std::string who : {"asleep", "outsider"})
    owner->send("<message to='" + who + "@" + kHost + "' type='chat' id='after-" + who +
                "'><body>after</body></message>");
  settle(*owner);

  // Never logged in since being made a member: everything, in order, at initial presence.
  auto asleep = client("asleep", "phone");
  ASSERT_TRUE(go_online(*asleep));
  ASSERT_TRUE(asleep->wait_for([](const Node& n) { return n.attr("id") == "after-asleep"; }));
  std::vector<const Node*> got;
  for (const auto& n : asleep->received())
    if (n.name == "message" && n.attr("type") == "groupchat") got.push_back(&n);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < got.size(); ++i) {
    const Node& m = *got[i];
    EXPECT_EQ(m.attr("from"), room + "/Owner");
    ASSERT_TRUE(m.child("body"));
    EXPECT_EQ(m.child("body")->text, "news " + std::to_string(i + 1));
    const Node* sid = m.child("stanza-id", kSid);
    ASSERT_TRUE(sid) << m.raw;
    EXPECT_EQ(sid->attr("by"), room);
    EXPECT_EQ(sid->attr("id"), ids[i]);
    EXPECT_TRUE(m.child("delay", kDelay)) << m.raw;
  }
  // The member's own archive keeps the chat message, not the room's copies (the room's
  // archive has those).
  auto own =
      asleep->iq("<iq type='set' id='own'><query xmlns='urn:xmpp:mam:2' queryid='own'/></iq>");
  ASSERT_TRUE(own && own->attr("type") == "result") << (own ? own->raw : "no reply");
  std::vector<std::string> archived;
  for (const auto& n : asleep->received()) {
    const Node* res = n.child("result", "urn:xmpp:mam:2");
    const Node* fwd = res ? res->child("forwarded", "urn:xmpp:forward:0") : nullptr;
    const Node* msg = fwd ? fwd->child("message") : nullptr;
    if (res && res->attr("queryid") == "own" && msg) archived.push_back(msg->attr("type"));
  }
  EXPECT_EQ(archived, (std::vector<std::string>{"chat"}));

  // A non-member: nothing before its own sentinel.
  auto outsider = client("outsider", "phone");
  ASSERT_TRUE(go_online(*outsider));
  ASSERT_TRUE(outsider->wait_for([](const Node& n) { return n.attr("id") == "after-outsider"; }));
  EXPECT_FALSE(outsider->has([](const Node& n) { return n.attr("type") == "groupchat"; }));

  // The online member logs out: from then on the messages wait for it. (Unavailable first,
  // and a ping after it, so the server has seen it before the next message.)
  online->send("<presence type='unavailable'/>");
  settle(*online);
  online->disconnect();
  MucTest::say(*owner, room, "while you were out");
  ASSERT_TRUE(MucTest::groupchat_from(*owner, room + "/Owner", "while you were out"));
  auto back = client("online", "laptop");
  ASSERT_TRUE(go_online(*back));
  auto missed = back->wait_for([](const Node& n) {
    const Node* b = n.child("body");
    return n.attr("type") == "groupchat" && b && b->text == "while you were out";
  });
  ASSERT_TRUE(missed);
  EXPECT_TRUE(missed->child("delay", kDelay));
  EXPECT_EQ(missed->child("stanza-id", kSid)->attr("by"), room);
}

// Idle persistent rooms leave memory (idle_unload) and come back as they were, with their
// join history read from the room's archive.
TEST_P(MucPersistence, AnIdleRoomUnloadsAndComesBackWithItsHistory) {
  auto o = with_users({"alice", "bob"}, backend_options());
  o.modules.push_back("muc");
  o.module_options["muc"] = {{"idle_unload", "1s"}};
  ServerProcess s(o);
  ASSERT_TRUE(s.start()) << s.error();
  auto alice = std::make_unique<StropheClient>("alice@" + kHost + "/one", kPassword, s.c2s_port());
  alice->connect();
  const std::string room = room_jid("sleepy");
  ASSERT_TRUE(MucTest::join(*alice, room, "Alice"));
  auto r = MucTest::owner_iq(*alice, room, "set",
                             config_form({{"persistentroom", "1"}, {"roomname", "Sleepy"}}));
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");
  for (int i = 1; i <= 3; ++i) {
    MucTest::say(*alice, room, "said " + std::to_string(i));
    ASSERT_TRUE(MucTest::groupchat_from(*alice, room + "/Alice", "said " + std::to_string(i)));
  }
  alice->send("<presence to='" + room + "/Alice' type='unavailable'/>");
  ASSERT_TRUE(alice->wait_for(presence_from(room + "/Alice", "unavailable")));

  // The room is unloaded once idle (the metric counts it); polled, with a bound.
  auto unloaded = [&] {
    auto m = s.ctl({"metrics"});
    return m.output.find("parley_muc_rooms_unloaded_total 1") != std::string::npos;
  };
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!unloaded() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(unloaded()) << s.ctl({"metrics"}).output;

  auto bob = std::make_unique<StropheClient>("bob@" + kHost + "/one", kPassword, s.c2s_port());
  bob->connect();
  auto self = MucTest::join(*bob, room, "Bob");
  ASSERT_TRUE(self && self->attr("type") != "error") << (self ? self->raw : "no reply");
  EXPECT_FALSE(has_status(*self, 201)) << "the room was not created anew: " << self->raw;
  ASSERT_TRUE(MucTest::subject(*bob, room));
  std::vector<std::string> history;
  for (const auto& n : bob->received())
    if (n.name == "message" && n.child("body") && n.child("delay", kDelay)) {
      history.push_back(n.child("body")->text);
      EXPECT_EQ(n.child("delay", kDelay)->attr("from"), room);
      EXPECT_TRUE(n.child("stanza-id", kSid)) << n.raw;
    }
  EXPECT_EQ(history, (std::vector<std::string>{"said 1", "said 2", "said 3"}));
  // Still persistent and named as before.
  auto info =
      bob->iq("<iq type='get' to='" + room + "' id='ri'><query xmlns='" + kDiscoInfo + "'/></iq>");
  ASSERT_TRUE(info && info->attr("type") == "result");
  EXPECT_NE(info->raw.find("muc_persistent"), std::string::npos) << info->raw;
  EXPECT_NE(info->raw.find("Sleepy"), std::string::npos) << info->raw;
  EXPECT_EQ(s.stop(), 0) << s.log();
}

}  // namespace
}  // namespace parley::it
