// Moderation in rooms (modules/muc/moderation.cpp), driven by libstrophe clients: XEP-0425
// moderated retraction (the retraction from the room to everyone, the tombstone in the room's
// XEP-0313 archive and in the join history, forbidden for participants, item-not-found for an
// unknown id), XEP-0424 self-retraction, and per-occupant flood limits.
//
// Absence is asserted with an ordering sentinel, never with a wait: a room handles what it is
// sent in order, so once a later stanza from the room has arrived, an earlier one would have.
#include "muc_common.h"

namespace parley::it {
namespace {

const std::string kSid = "urn:xmpp:sid:0";
const std::string kMam = "urn:xmpp:mam:2";
const std::string kForward = "urn:xmpp:forward:0";
const std::string kModerate = "urn:xmpp:message-moderate:1";
const std::string kRetract = "urn:xmpp:message-retract:1";

bool self_presence(const Node& n) {
  const Node* x = n.child("x", kMucUser);
  if (!x) return false;
  for (const Node* s : x->all("status"))
    if (s->attr("code") == "110") return true;
  return false;
}

// Joins and waits for the subject, the last thing of a join.
void enter(StropheClient& c, const std::string& room, const std::string& nick) {
  c.send("<presence to='" + room + "/" + nick + "'><x xmlns='" + kMuc + "'/></presence>");
  auto self = c.wait_for([&](const Node& n) {
    return n.name == "presence" && bare_of(n.attr("from")) == room &&
           (n.attr("type") == "error" || self_presence(n));
  });
  ASSERT_TRUE(self) << "no answer to the join";
  ASSERT_NE(self->attr("type"), "error") << self->raw;
  ASSERT_TRUE(c.wait_for([&](const Node& n) {
    return n.name == "message" && bare_of(n.attr("from")) == room && n.child("subject") &&
           !n.child("body");
  }));
}

void create_instant(StropheClient& c, const std::string& room, const std::string& nick) {
  c.send("<presence to='" + room + "/" + nick + "'><x xmlns='" + kMuc + "'/></presence>");
  ASSERT_TRUE(c.wait_for([&](const Node& n) { return n.name == "presence" && self_presence(n); }));
  auto r = c.iq("<iq type='set' to='" + room + "' id='" + c.next_id() + "'><query xmlns='" +
                kMucOwner + "'><x xmlns='jabber:x:data' type='submit'/></query></iq>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");
  ASSERT_TRUE(c.wait_for([&](const Node& n) { return n.name == "message" && n.child("subject"); }));
}

void say(StropheClient& c, const std::string& room, const std::string& body,
         const std::string& extra = "", const std::string& id = "") {
  c.send("<message to='" + room + "' type='groupchat' id='" + (id.empty() ? c.next_id() : id) +
         "'><body>" + body + "</body>" + extra + "</message>");
}

std::optional<Node> groupchat_from(StropheClient& c, const std::string& from,
                                   const std::string& body) {
  return c.wait_for([&](const Node& n) {
    const Node* b = n.child("body");
    return n.name == "message" && n.attr("type") == "groupchat" && n.attr("from") == from && b &&
           b->text == body;
  });
}

std::string stanza_id(const Node& m) {
  const Node* s = m.child("stanza-id", kSid);
  return s ? s->attr("id") : "";
}

std::optional<Node> moderate(StropheClient& c, const std::string& room, const std::string& id,
                             const std::string& reason = "spam") {
  return c.iq("<iq type='set' to='" + room + "' id='" + c.next_id() + "'><moderate xmlns='" +
              kModerate + "' id='" + id + "'><retract xmlns='" + kRetract + "'/><reason>" + reason +
              "</reason></moderate></iq>");
}

// The archived messages of `room` as `c` reads them: (archive id, forwarded message).
std::vector<std::pair<std::string, Node>> archive_of(StropheClient& c, const std::string& room) {
  const std::string qid = c.next_id();
  auto r = c.iq("<iq type='set' to='" + room + "' id='" + qid + "'><query xmlns='" + kMam +
                "' queryid='" + qid + "'/></iq>");
  EXPECT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "no reply");
  std::vector<std::pair<std::string, Node>> got;
  for (const auto& n : c.received()) {
    const Node* res = n.child("result", kMam);
    if (!res || res->attr("queryid") != qid) continue;
    const Node* fwd = res->child("forwarded", kForward);
    const Node* msg = fwd ? fwd->child("message") : nullptr;
    if (msg) got.emplace_back(res->attr("id"), *msg);
  }
  return got;
}

class MucModerationTest : public ServerSuite<MucModerationTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"alice", "bob", "carol", "dave"});
    o.modules.push_back("muc");
    return o;
  }
};

TEST_F(MucModerationTest, AModeratorRetractsAMessageForEveryoneAndTheArchiveKeepsATombstone) {
  auto alice = client("alice", "mod");
  auto bob = client("bob", "mod");
  const std::string room = room_jid("moderated");
  create_instant(*alice, room, "Alice");
  enter(*bob, room, "Bob");

  auto info = alice->iq("<iq type='get' to='" + room + "' id='ri'><query xmlns='" +
                        "http://jabber.org/protocol/disco#info'/></iq>");
  ASSERT_TRUE(info);
  EXPECT_NE(info->raw.find(kModerate), std::string::npos) << info->raw;

  say(*bob, room, "DM me for free magic potions!");
  auto spam = groupchat_from(*alice, room + "/Bob", "DM me for free magic potions!");
  ASSERT_TRUE(spam);
  const std::string id = stanza_id(*spam);
  ASSERT_FALSE(id.empty()) << spam->raw;
  say(*bob, room, "a fine day");
  ASSERT_TRUE(groupchat_from(*alice, room + "/Bob", "a fine day"));

  // A participant may not moderate; an id the room never gave is not found.
  auto refused = moderate(*bob, room, id);
  ASSERT_TRUE(refused);
  EXPECT_EQ(stanza_error(*refused), "forbidden") << refused->raw;
  auto unknown = moderate(*alice, room, "no-such-id");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(stanza_error(*unknown), "item-not-found") << unknown->raw;

  auto ok = moderate(*alice, room, id, "potions are not allowed");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->attr("type"), "result") << ok->raw;
  // Everyone gets the retraction, from the room itself.
  for (StropheClient* c : {alice.get(), bob.get()}) {
    auto r = c->wait_for([&](const Node& n) {
      const Node* rt = n.child("retract", kRetract);
      return n.name == "message" && rt && rt->attr("id") == id;
    });
    ASSERT_TRUE(r) << "no retraction";
    EXPECT_EQ(r->attr("from"), room);
    const Node* mod = r->child("retract", kRetract)->child("moderated", kModerate);
    ASSERT_TRUE(mod) << r->raw;
    EXPECT_EQ(mod->attr("by"), room + "/Alice");
    EXPECT_EQ(r->child("retract", kRetract)->child("reason", kRetract)->text,
              "potions are not allowed");
  }

  // The archive (read by Carol, who never joined) has the tombstone, not the body, and the
  // retraction after it.
  auto carol = client("carol", "mod");
  auto archived = archive_of(*carol, room);
  bool tombstone = false, retraction = false;
  for (const auto& [aid, m] : archived) {
    const Node* body = m.child("body");
    EXPECT_FALSE(body && body->text == "DM me for free magic potions!") << m.raw;
    if (aid == id) {
      tombstone = true;
      EXPECT_EQ(m.attr("from"), room + "/Bob");
      const Node* rd = m.child("retracted", kRetract);
      ASSERT_TRUE(rd) << m.raw;
      EXPECT_TRUE(rd->child("moderated", kModerate)) << m.raw;
    }
    const Node* rt = m.child("retract", kRetract);
    if (rt && rt->attr("id") == id) retraction = true;
  }
  EXPECT_TRUE(tombstone);
  EXPECT_TRUE(retraction);
  EXPECT_EQ(archived.size(), 3u);  // the tombstone, "a fine day", the retraction

  // A joiner's history has the other message but not the retracted body. The join ends with
  // the subject, after all history.
  auto dave = client("dave", "mod");
  enter(*dave, room, "Dave");
  EXPECT_TRUE(dave->has([](const Node& n) {
    const Node* b = n.child("body");
    return b && b->text == "a fine day";
  }));
  EXPECT_FALSE(dave->has([](const Node& n) {
    const Node* b = n.child("body");
    return b && b->text == "DM me for free magic potions!";
  }));
}

TEST_F(MucModerationTest, AnOccupantsOwnRetractionIsRelayedAndTombstonesOnlyItsOwnMessage) {
  auto alice = client("alice", "self");
  auto bob = client("bob", "self");
  const std::string room = room_jid("selfretract");
  create_instant(*alice, room, "Alice");
  enter(*bob, room, "Bob");
  say(*bob, room, "wrong room, sorry");
  auto mine = groupchat_from(*bob, room + "/Bob", "wrong room, sorry");
  say(*alice, room, "hello");
  auto theirs = groupchat_from(*bob, room + "/Alice", "hello");
  ASSERT_TRUE(mine && theirs);
  const std::string fallback = "/me retracted a previous message";
  auto retract = [&](const std::string& id) {
    say(*bob, room, fallback,
        "<retract xmlns='" + kRetract + "' id='" + id +
            "'/><fallback xmlns='urn:xmpp:fallback:0' for='" + kRetract + "'/>");
    return id;
  };
  retract(stanza_id(*mine));
  auto relayed = alice->wait_for([&](const Node& n) {
    const Node* r = n.child("retract", kRetract);
    return n.attr("from") == room + "/Bob" && r && r->attr("id") == stanza_id(*mine);
  });
  ASSERT_TRUE(relayed) << "the retraction is relayed as any groupchat";
  ASSERT_TRUE(relayed->child("body"));
  EXPECT_EQ(relayed->child("body")->text, fallback);
  retract(stanza_id(*theirs));  // not Bob's to retract
  ASSERT_TRUE(alice->wait_for([&](const Node& n) {
    const Node* r = n.child("retract", kRetract);
    return r && r->attr("id") == stanza_id(*theirs);
  }));

  auto archived = archive_of(*alice, room);
  ASSERT_EQ(archived.size(), 4u);
  EXPECT_EQ(archived[0].first, stanza_id(*mine));
  EXPECT_FALSE(archived[0].second.child("body")) << archived[0].second.raw;
  EXPECT_TRUE(archived[0].second.child("retracted", kRetract)) << archived[0].second.raw;
  EXPECT_EQ(archived[1].first, stanza_id(*theirs));
  ASSERT_TRUE(archived[1].second.child("body"));
  EXPECT_EQ(archived[1].second.child("body")->text, "hello");
  EXPECT_TRUE(archived[2].second.child("retract", kRetract));  // both retractions are kept
  EXPECT_TRUE(archived[3].second.child("retract", kRetract));
}

// A tiny limit: two messages at once, then one every 100 seconds.
class MucFloodTest : public ServerSuite<MucFloodTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"alice", "bob"});
    o.modules.push_back("muc");
    o.module_options["muc"] = {{"flood_rate", "0.01"}, {"flood_burst", "2"}};
    return o;
  }
};

TEST_F(MucFloodTest, TheMessageOverTheLimitIsRefusedAndNobodySeesIt) {
  auto alice = client("alice", "flood");
  auto bob = client("bob", "flood");
  const std::string room = room_jid("flood");
  create_instant(*alice, room, "Alice");
  enter(*bob, room, "Bob");
  say(*bob, room, "one");
  say(*bob, room, "two");
  say(*bob, room, "three", "", "over");
  ASSERT_TRUE(groupchat_from(*alice, room + "/Bob", "one"));
  ASSERT_TRUE(groupchat_from(*alice, room + "/Bob", "two"));
  auto err = bob->wait_for([](const Node& n) { return n.attr("id") == "over"; });
  ASSERT_TRUE(err);
  EXPECT_EQ(err->attr("type"), "error") << err->raw;
  EXPECT_EQ(stanza_error(*err), "policy-violation") << err->raw;
  ASSERT_TRUE(err->child("error"));
  EXPECT_EQ(err->child("error")->attr("type"), "wait");
  // The owner (a moderator) is not limited; her message comes after Bob's third was refused,
  // so had the room relayed it, Alice would have it before this one.
  for (int i = 0; i < 3; ++i) say(*alice, room, "sentinel " + std::to_string(i));
  ASSERT_TRUE(groupchat_from(*alice, room + "/Alice", "sentinel 2"));
  EXPECT_FALSE(alice->has([](const Node& n) {
    const Node* b = n.child("body");
    return b && b->text == "three";
  }));
  EXPECT_FALSE(bob->has([](const Node& n) {
    const Node* b = n.child("body");
    return b && b->text == "three";
  }));
}

}  // namespace
}  // namespace parley::it
