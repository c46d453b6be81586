// XEP-0045 owner and admin use cases of modules/muc, driven by libstrophe clients against a
// real parleyd: kicking (§8.2), banning and the outcast list (§9.1, §9.2), voice in a moderated
// room (§8.3, §8.4), members-only rooms and the member list (§9.3-§9.5), password-protected
// rooms (§7.2.6), the room size (§7.2.10), destruction with an alternate venue (§10.9),
// mediated (§7.8.2) and direct (XEP-0249) invitations, and the last owner (§10.6).
//
// Absence is asserted with an ordering sentinel, never with a wait: a room handles what it is
// sent in order, so once a later stanza from the room has arrived, an earlier one would have.
#include <algorithm>
#include <functional>
#include <map>

#include "muc_common.h"

namespace parley::it {
namespace {

const std::string kConference = "jabber:x:conference";

// The JIDs listed in a muc#admin result.
std::vector<std::string> listed_jids(const Node& result) {
  std::vector<std::string> jids;
  const Node* q = result.child("query", kMucAdmin);
  if (!q) return jids;
  for (const Node* i : q->all("item", kMucAdmin)) jids.push_back(i->attr("jid"));
  return jids;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

class MucAdminTest : public ServerSuite<MucAdminTest> {
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

  // Joins and waits for the whole join (self-presence, then the subject); fails on an error.
  static void enter(StropheClient& c, const std::string& room, const std::string& nick,
                    const std::string& x_children = "") {
    auto self = join(c, room, nick, x_children);
    ASSERT_TRUE(self) << nick << " got no answer to the join";
    ASSERT_NE(self->attr("type"), "error") << self->raw;
    ASSERT_TRUE(subject(c, room));
  }

  static std::optional<Node> owner_iq(StropheClient& c, const std::string& room,
                                      const std::string& type, const std::string& inner) {
    return c.iq("<iq type='" + type + "' to='" + room + "' id='" + c.next_id() +
                "'><query xmlns='" + kMucOwner + "'>" + inner + "</query></iq>");
  }

  static std::optional<Node> admin_iq(StropheClient& c, const std::string& room,
                                      const std::string& type, const std::string& item) {
    return c.iq("<iq type='" + type + "' to='" + room + "' id='" + c.next_id() +
                "'><query xmlns='" + kMucAdmin + "'>" + item + "</query></iq>");
  }

  // Creates `room` as an instant room (§10.1.2) with `c` as its owner, joined as `nick`.
  static void create_instant(StropheClient& c, const std::string& room, const std::string& nick) {
    create_configured(c, room, nick, "<x xmlns='jabber:x:data' type='submit'/>");
  }

  // Creates `room` with `c` as its owner, joined as `nick`, and submits `form` (§10.1.3).
  static void create_configured(StropheClient& c, const std::string& room, const std::string& nick,
                                const std::string& form) {
    auto self = join(c, room, nick);
    ASSERT_TRUE(self) << "no answer to the join of a new room";
    ASSERT_NE(self->attr("type"), "error") << self->raw;
    ASSERT_TRUE(has_status(*self, 201)) << "a new room says 201: " << self->raw;
    auto r = owner_iq(c, room, "set", form);
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
                  const std::string& id = "") {
    c.send("<message to='" + room + "' type='groupchat' id='" + (id.empty() ? c.next_id() : id) +
           "'><body>" + body + "</body></message>");
  }

  static std::function<bool(const Node&)> body_is(const std::string& body) {
    return [body](const Node& n) {
      const Node* b = n.child("body");
      return n.name == "message" && b && b->text == body;
    };
  }
};

TEST_F(MucAdminTest, AModeratorKicksAParticipantWith307AndAParticipantMayNot) {
  auto alice = client("alice", "kick");
  auto bob = client("bob", "kick");
  auto carol = client("carol", "kick");
  const std::string room = room_jid("kick");
  create_instant(*alice, room, "Alice");
  enter(*bob, room, "Bob");
  enter(*carol, room, "Carol");

  // §8.2: kicking is for moderators; Carol is a participant.
  auto refused = admin_iq(*carol, room, "set", "<item nick='Bob' role='none'/>");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->attr("type"), "error");
  EXPECT_EQ(stanza_error(*refused), "forbidden") << refused->raw;

  auto r =
      admin_iq(*alice, room, "set", "<item nick='Bob' role='none'><reason>Be nice</reason></item>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");

  // The first unavailable Bob hears is the kick: Carol's attempt changed nothing.
  auto self = bob->wait_for(presence_from(room + "/Bob", "unavailable"));
  ASSERT_TRUE(self) << "the kicked occupant is told";
  EXPECT_TRUE(has_status(*self, 307)) << self->raw;
  EXPECT_TRUE(has_status(*self, 110)) << self->raw;
  const Node* item = item_of(*self);
  ASSERT_TRUE(item) << self->raw;
  EXPECT_EQ(item->attr("role"), "none");
  const Node* reason = item->child("reason", kMucUser);
  ASSERT_TRUE(reason) << self->raw;
  EXPECT_EQ(reason->text, "Be nice");
  const Node* actor = item->child("actor", kMucUser);
  ASSERT_TRUE(actor) << self->raw;
  EXPECT_EQ(actor->attr("nick"), "Alice");

  for (auto* c : {alice.get(), carol.get()}) {
    auto seen = c->wait_for(presence_from(room + "/Bob", "unavailable"));
    ASSERT_TRUE(seen) << "the others see the kick";
    EXPECT_TRUE(has_status(*seen, 307)) << seen->raw;
    EXPECT_FALSE(has_status(*seen, 110)) << seen->raw;
  }

  // Bob is out: what the room says now does not reach him.
  say(*alice, room, "after the kick");
  ASSERT_TRUE(groupchat_from(*carol, room + "/Alice", "after the kick"));
  bob->send("<message to='" + room + "' type='groupchat' id='kicked1'><body>still here?</body>" +
            "</message>");
  auto bounced = bob->wait_for([](const Node& n) { return n.attr("id") == "kicked1"; });
  ASSERT_TRUE(bounced);
  EXPECT_EQ(stanza_error(*bounced), "not-acceptable") << bounced->raw;
  EXPECT_FALSE(bob->has(body_is("after the kick")));
}

TEST_F(MucAdminTest, AnOwnerBansAUserWho301LeavesCannotRejoinAndIsOnTheOutcastList) {
  auto alice = client("alice", "ban");
  auto bob = client("bob", "ban");
  auto carol = client("carol", "ban");
  const std::string room = room_jid("ban");
  create_instant(*alice, room, "Alice");
  enter(*bob, room, "Bob");
  enter(*carol, room, "Carol");

  auto r = admin_iq(
      *alice, room, "set",
      "<item affiliation='outcast' jid='" + bob->bare() + "'><reason>Spam</reason></item>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");

  auto self = bob->wait_for(presence_from(room + "/Bob", "unavailable"));
  ASSERT_TRUE(self) << "the banned occupant is told";
  EXPECT_TRUE(has_status(*self, 301)) << self->raw;
  EXPECT_TRUE(has_status(*self, 110)) << self->raw;
  const Node* item = item_of(*self);
  ASSERT_TRUE(item) << self->raw;
  EXPECT_EQ(item->attr("affiliation"), "outcast");
  EXPECT_EQ(item->attr("role"), "none");
  ASSERT_TRUE(item->child("reason", kMucUser)) << self->raw;
  EXPECT_EQ(item->child("reason", kMucUser)->text, "Spam");

  auto seen = carol->wait_for(presence_from(room + "/Bob", "unavailable"));
  ASSERT_TRUE(seen);
  EXPECT_TRUE(has_status(*seen, 301)) << seen->raw;

  // §7.2.8: a banned user cannot enter, under any nick.
  auto again = join(*bob, room, "Robert");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attr("type"), "error");
  EXPECT_EQ(stanza_error(*again), "forbidden") << again->raw;

  // §9.2: the ban list.
  auto list = admin_iq(*alice, room, "get", "<item affiliation='outcast'/>");
  ASSERT_TRUE(list && list->attr("type") == "result") << (list ? list->raw : "no reply");
  auto jids = listed_jids(*list);
  EXPECT_EQ(jids, (std::vector<std::string>{bob->bare()})) << list->raw;
  const Node* listed = list->child("query", kMucAdmin)->child("item", kMucAdmin);
  EXPECT_EQ(listed->attr("affiliation"), "outcast");

  // Lists are for admins and owners.
  auto not_yours = admin_iq(*carol, room, "get", "<item affiliation='outcast'/>");
  ASSERT_TRUE(not_yours);
  EXPECT_EQ(stanza_error(*not_yours), "forbidden") << not_yours->raw;
}

TEST_F(MucAdminTest, AVisitorInAModeratedRoomSpeaksOnceAModeratorGrantsVoice) {
  auto alice = client("alice", "voice");
  auto dave = client("dave", "voice");
  const std::string room = room_jid("voice");
  create_configured(*alice, room, "Alice", config_form({{"moderatedroom", "1"}}));

  auto self = join(*dave, room, "Dave");
  ASSERT_TRUE(self);
  ASSERT_NE(self->attr("type"), "error") << self->raw;
  ASSERT_TRUE(item_of(*self)) << self->raw;
  EXPECT_EQ(item_of(*self)->attr("role"), "visitor") << self->raw;
  ASSERT_TRUE(subject(*dave, room));

  // §7.4: a visitor has no voice.
  say(*dave, room, "may I?", "mute1");
  auto refused = dave->wait_for([](const Node& n) { return n.attr("id") == "mute1"; });
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->attr("type"), "error");
  EXPECT_EQ(stanza_error(*refused), "forbidden") << refused->raw;
  say(*alice, room, "sentinel");
  ASSERT_TRUE(groupchat_from(*alice, room + "/Alice", "sentinel"));
  EXPECT_FALSE(alice->has(body_is("may I?"))) << "a visitor's message was broadcast";

  // §8.3: the moderator grants voice.
  auto r = admin_iq(*alice, room, "set", "<item nick='Dave' role='participant'/>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");
  auto voiced = dave->wait_for([&](const Node& n) {
    const Node* i = item_of(n);
    return n.name == "presence" && n.attr("from") == room + "/Dave" && n.attr("type").empty() &&
           i && i->attr("role") == "participant";
  });
  ASSERT_TRUE(voiced) << "Dave is told he has voice";
  EXPECT_TRUE(has_status(*voiced, 110)) << voiced->raw;
  auto at_alice = alice->wait_for([&](const Node& n) {
    const Node* i = item_of(n);
    return n.name == "presence" && n.attr("from") == room + "/Dave" && n.attr("type").empty() &&
           i && i->attr("role") == "participant";
  });
  ASSERT_TRUE(at_alice) << "the room sees Dave's new role";

  say(*dave, room, "thank you");
  EXPECT_TRUE(groupchat_from(*alice, room + "/Dave", "thank you"));
  EXPECT_TRUE(groupchat_from(*dave, room + "/Dave", "thank you"));

  // §8.4: and revokes it.
  auto back = admin_iq(*alice, room, "set", "<item nick='Dave' role='visitor'/>");
  ASSERT_TRUE(back && back->attr("type") == "result") << (back ? back->raw : "no reply");
  ASSERT_TRUE(dave->wait_for([&](const Node& n) {
    const Node* i = item_of(n);
    return n.name == "presence" && n.attr("from") == room + "/Dave" && i &&
           i->attr("role") == "visitor";
  }));
  say(*dave, room, "again?", "mute2");
  auto again = dave->wait_for([](const Node& n) { return n.attr("id") == "mute2"; });
  ASSERT_TRUE(again);
  EXPECT_EQ(stanza_error(*again), "forbidden") << again->raw;
}

TEST_F(MucAdminTest, AVisitorAsksForVoiceAndTheModeratorApprovesTheForm) {
  auto alice = client("alice", "ask");
  auto dave = client("dave", "ask");
  const std::string room = room_jid("askvoice");
  const std::string request_ns = "http://jabber.org/protocol/muc#request";
  create_configured(*alice, room, "Alice", config_form({{"moderatedroom", "1"}}));
  enter(*dave, room, "Dave");

  // §7.13: the visitor asks.
  dave->send("<message to='" + room + "' id='ask1'><x xmlns='jabber:x:data' type='submit'>" +
             "<field var='FORM_TYPE'><value>" + request_ns + "</value></field>" +
             "<field var='muc#role' type='list-single'><value>participant</value></field>" +
             "</x></message>");
  // §8.6: the moderator gets the approval form from the room.
  auto form = alice->wait_for([&](const Node& n) {
    const Node* x = n.child("x", "jabber:x:data");
    return n.name == "message" && n.attr("from") == room && x && x->attr("type") == "form";
  });
  ASSERT_TRUE(form) << "the moderator got no approval form";
  std::map<std::string, std::string> fields;
  for (const Node* f : form->child("x", "jabber:x:data")->all("field")) {
    const Node* v = f->child("value");
    fields[f->attr("var")] = v ? v->text : "";
  }
  EXPECT_EQ(fields["FORM_TYPE"], request_ns) << form->raw;
  EXPECT_EQ(fields["muc#role"], "participant") << form->raw;
  EXPECT_EQ(bare_of(fields["muc#jid"]), "dave@" + kHost) << form->raw;
  EXPECT_EQ(fields["muc#roomnick"], "Dave") << form->raw;
  EXPECT_EQ(fields["muc#request_allow"], "false") << form->raw;

  // The moderator approves: Dave is a participant and speaks.
  alice->send("<message to='" + room + "' id='ok1'><x xmlns='jabber:x:data' type='submit'>" +
              "<field var='FORM_TYPE'><value>" + request_ns + "</value></field>" +
              "<field var='muc#role'><value>participant</value></field>" +
              "<field var='muc#jid'><value>" + fields["muc#jid"] + "</value></field>" +
              "<field var='muc#roomnick'><value>Dave</value></field>" +
              "<field var='muc#request_allow'><value>true</value></field></x></message>");
  auto voiced = dave->wait_for([&](const Node& n) {
    const Node* i = item_of(n);
    return n.name == "presence" && n.attr("from") == room + "/Dave" && n.attr("type").empty() &&
           i && i->attr("role") == "participant";
  });
  ASSERT_TRUE(voiced) << "Dave is told he has voice";
  EXPECT_TRUE(has_status(*voiced, 110)) << voiced->raw;
  say(*dave, room, "thank you");
  EXPECT_TRUE(groupchat_from(*alice, room + "/Dave", "thank you"));
  EXPECT_TRUE(groupchat_from(*dave, room + "/Dave", "thank you"));
}

TEST_F(MucAdminTest, AMembersOnlyRoomAdmitsMembersListsThemAndRemovesAnExMemberWith321) {
  auto alice = client("alice", "members");
  auto erin = client("erin", "members");
  const std::string room = room_jid("members");
  create_configured(*alice, room, "Alice", config_form({{"membersonly", "1"}}));

  auto refused = join(*erin, room, "Erin");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->attr("type"), "error");
  EXPECT_EQ(stanza_error(*refused), "registration-required") << refused->raw;

  auto r = admin_iq(*alice, room, "set", "<item affiliation='member' jid='" + erin->bare() + "'/>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");

  auto self = join(*erin, room, "Erin");
  ASSERT_TRUE(self);
  ASSERT_NE(self->attr("type"), "error") << self->raw;
  ASSERT_TRUE(item_of(*self));
  EXPECT_EQ(item_of(*self)->attr("affiliation"), "member");
  EXPECT_EQ(item_of(*self)->attr("role"), "participant");
  ASSERT_TRUE(subject(*erin, room));

  // §9.5: the member list.
  auto list = admin_iq(*alice, room, "get", "<item affiliation='member'/>");
  ASSERT_TRUE(list && list->attr("type") == "result") << (list ? list->raw : "no reply");
  EXPECT_EQ(listed_jids(*list), (std::vector<std::string>{erin->bare()})) << list->raw;

  // §9.4: removing the membership removes a joined member from a members-only room.
  auto gone =
      admin_iq(*alice, room, "set", "<item affiliation='none' jid='" + erin->bare() + "'/>");
  ASSERT_TRUE(gone && gone->attr("type") == "result") << (gone ? gone->raw : "no reply");
  auto out = erin->wait_for(presence_from(room + "/Erin", "unavailable"));
  ASSERT_TRUE(out) << "the ex-member is removed";
  EXPECT_TRUE(has_status(*out, 321)) << out->raw;
  EXPECT_TRUE(has_status(*out, 110)) << out->raw;
  auto seen = alice->wait_for(presence_from(room + "/Erin", "unavailable"));
  ASSERT_TRUE(seen);
  EXPECT_TRUE(has_status(*seen, 321)) << seen->raw;

  auto empty = admin_iq(*alice, room, "get", "<item affiliation='member'/>");
  ASSERT_TRUE(empty && empty->attr("type") == "result");
  EXPECT_TRUE(listed_jids(*empty).empty()) << empty->raw;
  auto again = join(*erin, room, "Erin");
  ASSERT_TRUE(again);
  EXPECT_EQ(stanza_error(*again), "registration-required") << again->raw;
}

TEST_F(MucAdminTest, APasswordProtectedRoomAdmitsOnlyTheRightPassword) {
  auto alice = client("alice", "password");
  auto bob = client("bob", "password");
  const std::string room = room_jid("password");
  create_configured(*alice, room, "Alice",
                    config_form({{"passwordprotectedroom", "1"}, {"roomsecret", "sesame"}}));

  auto none = join(*bob, room, "Bob");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->attr("type"), "error");
  EXPECT_EQ(stanza_error(*none), "not-authorized") << none->raw;

  auto wrong = join(*bob, room, "Bob", "<password>open</password>");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->attr("type"), "error");
  EXPECT_EQ(stanza_error(*wrong), "not-authorized") << wrong->raw;

  auto right = join(*bob, room, "Bob", "<password>sesame</password>");
  ASSERT_TRUE(right);
  EXPECT_NE(right->attr("type"), "error") << right->raw;
  ASSERT_TRUE(subject(*bob, room));
  EXPECT_TRUE(alice->wait_for(presence_from(room + "/Bob")));
}

TEST_F(MucAdminTest, AFullRoomRefusesTheNextJoinWithServiceUnavailable) {
  auto alice = client("alice", "size");
  auto bob = client("bob", "size");
  auto carol = client("carol", "size");
  const std::string room = room_jid("size");
  create_configured(*alice, room, "Alice", config_form({{"maxusers", "2"}}));
  enter(*bob, room, "Bob");

  auto full = join(*carol, room, "Carol");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->attr("type"), "error");
  EXPECT_EQ(stanza_error(*full), "service-unavailable") << full->raw;
  const Node* error = full->child("error");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->attr("type"), "wait") << full->raw;

  // A place frees up when Bob leaves.
  bob->send("<presence to='" + room + "/Bob' type='unavailable'/>");
  ASSERT_TRUE(alice->wait_for(presence_from(room + "/Bob", "unavailable")));
  auto now = join(*carol, room, "Carol");
  ASSERT_TRUE(now);
  EXPECT_NE(now->attr("type"), "error") << now->raw;
}

TEST_F(MucAdminTest, DestroyingARoomSendsEveryoneTheAlternateVenueAndTheNameIsFreeAgain) {
  auto alice = client("alice", "destroy");
  auto bob = client("bob", "destroy");
  auto erin = client("erin", "destroy");
  const std::string room = room_jid("destroy");
  const std::string venue = room_jid("other");
  create_instant(*alice, room, "Alice");
  enter(*bob, room, "Bob");

  auto r = owner_iq(*alice, room, "set",
                    "<destroy jid='" + venue + "'><reason>moved</reason></destroy>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");

  for (auto* c : {alice.get(), bob.get()}) {
    const std::string nick = c == alice.get() ? "Alice" : "Bob";
    auto gone = c->wait_for(presence_from(room + "/" + nick, "unavailable"));
    ASSERT_TRUE(gone) << nick << " was not told the room is gone";
    const Node* x = gone->child("x", kMucUser);
    ASSERT_TRUE(x) << gone->raw;
    const Node* d = x->child("destroy", kMucUser);
    ASSERT_TRUE(d) << gone->raw;
    EXPECT_EQ(d->attr("jid"), venue);
    const Node* reason = d->child("reason", kMucUser);
    ASSERT_TRUE(reason) << gone->raw;
    EXPECT_EQ(reason->text, "moved");
    ASSERT_TRUE(item_of(*gone));
    EXPECT_EQ(item_of(*gone)->attr("role"), "none");
  }

  // The room is gone: a message to it is item-not-found...
  erin->send("<message to='" + room +
             "' type='groupchat' id='late1'><body>hello?</body></message>");
  auto late = erin->wait_for([](const Node& n) { return n.attr("id") == "late1"; });
  ASSERT_TRUE(late);
  EXPECT_EQ(stanza_error(*late), "item-not-found") << late->raw;

  // ... and a join creates a new room, with a new owner.
  auto fresh = join(*bob, room, "Bob");
  ASSERT_TRUE(fresh);
  ASSERT_NE(fresh->attr("type"), "error") << fresh->raw;
  EXPECT_TRUE(has_status(*fresh, 201)) << fresh->raw;
  ASSERT_TRUE(item_of(*fresh));
  EXPECT_EQ(item_of(*fresh)->attr("affiliation"), "owner");
}

TEST_F(MucAdminTest, AMediatedInvitationIntoAMembersOnlyRoomMakesTheInviteeAMember) {
  auto alice = client("alice", "invite");
  auto frank = client("frank", "invite");
  ASSERT_TRUE(go_online(*frank));
  settle(*frank);
  const std::string room = room_jid("invite");
  create_configured(*alice, room, "Alice", config_form({{"membersonly", "1"}}));

  alice->send("<message to='" + room + "' id='inv1'><x xmlns='" + kMucUser + "'><invite to='" +
              frank->bare() + "'><reason>join us</reason></invite></x></message>");
  auto got = frank->wait_for([&](const Node& n) {
    const Node* x = n.child("x", kMucUser);
    return n.name == "message" && n.attr("from") == room && x && x->child("invite", kMucUser);
  });
  ASSERT_TRUE(got) << "the invitee gets the room's invitation";
  const Node* invite = got->child("x", kMucUser)->child("invite", kMucUser);
  EXPECT_EQ(bare_of(invite->attr("from")), alice->bare()) << got->raw;
  const Node* reason = invite->child("reason", kMucUser);
  ASSERT_TRUE(reason) << got->raw;
  EXPECT_EQ(reason->text, "join us");
  EXPECT_FALSE(alice->has([](const Node& n) { return n.attr("type") == "error"; }));

  auto self = join(*frank, room, "Frank");
  ASSERT_TRUE(self);
  ASSERT_NE(self->attr("type"), "error") << self->raw;
  ASSERT_TRUE(item_of(*self));
  EXPECT_EQ(item_of(*self)->attr("affiliation"), "member");
  auto list = admin_iq(*alice, room, "get", "<item affiliation='member'/>");
  ASSERT_TRUE(list && list->attr("type") == "result");
  EXPECT_TRUE(contains(listed_jids(*list), frank->bare())) << list->raw;
}

// §7.8.2: the invitee declines through the room, which tells the inviter.
TEST_F(MucAdminTest, ADeclinedInvitationReachesTheInviterFromTheRoom) {
  auto alice = client("alice", "decline");
  auto erin = client("erin", "decline");
  ASSERT_TRUE(go_online(*erin));  // the invitation goes to the bare JID: an available resource
  settle(*erin);
  const std::string room = room_jid("declined");
  create_configured(*alice, room, "Alice", config_form({{"membersonly", "1"}}));
  alice->send("<message to='" + room + "'><x xmlns='" + kMucUser + "'><invite to='" + erin->bare() +
              "'/></x></message>");
  ASSERT_TRUE(erin->wait_for([&](const Node& n) {
    const Node* x = n.child("x", kMucUser);
    return n.attr("from") == room && x && x->child("invite", kMucUser);
  }));
  erin->send("<message to='" + room + "'><x xmlns='" + kMucUser + "'><decline to='" + alice->jid() +
             "'><reason>busy</reason></decline></x></message>");
  auto got = alice->wait_for([&](const Node& n) {
    const Node* x = n.child("x", kMucUser);
    return n.name == "message" && n.attr("from") == room && x && x->child("decline", kMucUser);
  });
  ASSERT_TRUE(got) << "the inviter hears of the decline";
  const Node* decline = got->child("x", kMucUser)->child("decline", kMucUser);
  EXPECT_EQ(decline->attr("from"), erin->bare()) << got->raw;
  const Node* reason = decline->child("reason", kMucUser);
  ASSERT_TRUE(reason) << got->raw;
  EXPECT_EQ(reason->text, "busy");
}

TEST_F(MucAdminTest, ADirectInvitationIsRoutedUnchanged) {
  auto bob = client("bob", "direct");
  auto carol = client("carol", "direct");
  ASSERT_TRUE(go_online(*carol));
  settle(*carol);
  const std::string room = room_jid("direct");
  bob->send("<message to='" + carol->bare() + "' id='dinv1'><x xmlns='" + kConference + "' jid='" +
            room + "' reason='come and see' password='pw'/></message>");
  auto got = carol->wait_for([](const Node& n) { return n.attr("id") == "dinv1"; });
  ASSERT_TRUE(got) << "the direct invitation was not delivered";
  EXPECT_EQ(got->name, "message");
  EXPECT_NE(got->attr("type"), "error") << got->raw;
  EXPECT_EQ(bare_of(got->attr("from")), bob->bare()) << got->raw;
  const Node* x = got->child("x", kConference);
  ASSERT_TRUE(x) << got->raw;
  EXPECT_EQ(x->attr("jid"), room);
  EXPECT_EQ(x->attr("reason"), "come and see");
  EXPECT_EQ(x->attr("password"), "pw");
}

TEST_F(MucAdminTest, TheOnlyOwnerCannotStepDown) {
  auto alice = client("alice", "lastowner");
  const std::string room = room_jid("lastowner");
  create_instant(*alice, room, "Alice");

  auto r = admin_iq(*alice, room, "set", "<item affiliation='admin' jid='" + alice->bare() + "'/>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr("type"), "error");
  EXPECT_EQ(stanza_error(*r), "conflict") << r->raw;

  // Still the owner.
  auto owners = admin_iq(*alice, room, "get", "<item affiliation='owner'/>");
  ASSERT_TRUE(owners && owners->attr("type") == "result") << (owners ? owners->raw : "no reply");
  EXPECT_EQ(listed_jids(*owners), (std::vector<std::string>{alice->bare()})) << owners->raw;
}

}  // namespace
}  // namespace parley::it
