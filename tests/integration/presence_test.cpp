// Presence (RFC 6121 §4): initial presence and probes, unavailable on logout and on an abrupt
// disconnect, directed presence and its cleanup.
#include "common.h"

namespace parley::it {
namespace {

class PresenceTest : public ServerSuite<PresenceTest> {
 public:
  static ServerOptions options() {
    return with_users({"ia", "ib", "la", "lb", "da", "dx", "ra", "rb"});
  }
};

TEST_F(PresenceTest, InitialPresenceReachesContactsAndProbesAnswerTheNewcomer) {
  {
    auto a = client("ia", "setup");
    auto b = client("ib", "home");
    ASSERT_TRUE(a->connected() && b->connected());
    ASSERT_TRUE(go_online(*a) && go_online(*b));
    ASSERT_TRUE(subscribe_mutual(*a, *b));
    a->disconnect();
    ASSERT_TRUE(b->wait_for(presence_from("ia@localhost/setup", "unavailable")));

    // ib stays online; ia logs in later.
    auto a2 = client("ia", "later");
    ASSERT_TRUE(a2->connected());
    ASSERT_TRUE(go_online(*a2));
    // RFC 6121 §4.2.2: the contact receives the user's initial presence ...
    EXPECT_TRUE(b->wait_for(presence_from("ia@localhost/later")));
    // ... and §4.3: the server probes the contacts, so the user gets ib's current presence.
    EXPECT_TRUE(a2->wait_for(presence_from("ib@localhost/home")))
        << "the already-online contact's presence never reached the newcomer";
  }
}

// A session replaced under the same full JID (resource conflict, RFC 6120 §7.7.2.2) must not
// make contacts believe that resource went offline: the new session's presence stands.
TEST_F(PresenceTest, ReplacedSessionDoesNotHideTheNewSessionsPresence) {
  auto a = client("ra", "phone");
  auto b = client("rb", "watch");
  ASSERT_TRUE(a->connected() && b->connected());
  ASSERT_TRUE(go_online(*a) && go_online(*b));
  ASSERT_TRUE(subscribe_mutual(*a, *b));
  ASSERT_TRUE(b->wait_for(presence_from("ra@localhost/phone")));

  auto a2 = client("ra", "phone");
  ASSERT_TRUE(a2->connected());
  // The old connection is gone once the server has finished with it (and fired its close).
  ASSERT_TRUE(a->wait_disconnected());
  EXPECT_EQ(a->stream_error(), "conflict");
  ASSERT_TRUE(go_online(*a2));
  a2->send("<presence><status>marker</status></presence>");
  // Everything the server had to say to rb about ra/phone before the marker has arrived now.
  ASSERT_TRUE(b->wait_for([](const Node& n) {
    const Node* status = n.child("status");
    return presence_from("ra@localhost/phone")(n) && status && status->text == "marker";
  }));
  EXPECT_FALSE(b->has(presence_from("ra@localhost/phone", "unavailable")))
      << "the replaced session's unavailable hid the new session from its contacts";
}

TEST_F(PresenceTest, UnavailableOnLogoutAndOnAbruptDisconnect) {
  auto a = client("la", "one");
  auto b = client("lb", "watch");
  ASSERT_TRUE(a->connected() && b->connected());
  ASSERT_TRUE(go_online(*a) && go_online(*b));
  ASSERT_TRUE(subscribe_mutual(*a, *b));

  // RFC 6121 §4.5.2: a clean logout broadcasts unavailable presence.
  a->disconnect();
  EXPECT_TRUE(b->wait_for(presence_from("la@localhost/one", "unavailable")));

  // RFC 6121 §4.5.4 (and RFC 6120 §4.3.1): so does a connection that just dies.
  auto a2 = client("la", "two");
  ASSERT_TRUE(a2->connected());
  ASSERT_TRUE(go_online(*a2));
  ASSERT_TRUE(b->wait_for(presence_from("la@localhost/two")));
  a2->drop();
  EXPECT_TRUE(b->wait_for(presence_from("la@localhost/two", "unavailable")))
      << "no unavailable presence after an abrupt disconnect";
}

TEST_F(PresenceTest, DirectedPresenceToNonContactAndItsCleanup) {
  auto x = client("dx", "desk");
  ASSERT_TRUE(x->connected() && go_online(*x));
  {
    auto a = client("da", "roam");
    ASSERT_TRUE(a->connected() && go_online(*a));
    // RFC 6121 §4.6.2: directed presence reaches a non-contact.
    a->send("<presence to='dx@localhost/desk'><status>hi</status></presence>");
    auto p = x->wait_for(presence_from("da@localhost/roam"));
    ASSERT_TRUE(p) << "directed presence was not delivered";
    ASSERT_TRUE(p->child("status"));
    EXPECT_EQ(p->child("status")->text, "hi");
    // RFC 6121 §4.6.3: when the sender goes offline, the server tells entities that got
    // directed presence.
    a->drop();
  }
  EXPECT_TRUE(x->wait_for(presence_from("da@localhost/roam", "unavailable")))
      << "no unavailable presence to the directed-presence recipient";
}

}  // namespace
}  // namespace parley::it
