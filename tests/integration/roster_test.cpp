// Rosters and subscriptions (RFC 6121 §2, §3), roster versioning (RFC 6121 §2.6, XEP-0237)
// and pre-approval (RFC 6121 §3.4). Each test uses its own pair of accounts.
#include "common.h"

namespace parley::it {
namespace {

class RosterTest : public ServerSuite<RosterTest> {
 public:
  static ServerOptions options() {
    return with_users({"empty", "pusher", "sa", "sb", "rm", "oa", "ob", "pa", "pb"});
  }
};

TEST_F(RosterTest, VersioningAndPreApprovalAreAdvertised) {
  RawClient c(port());
  ASSERT_FALSE(c.login("empty", kPassword).empty());
  // The features of the post-authentication stream (RFC 6121 §2.6.1, §3.4.1).
  EXPECT_TRUE(c.features().child("ver", "urn:xmpp:features:rosterver")) << c.features().raw;
  EXPECT_TRUE(c.features().child("sub", "urn:xmpp:features:pre-approval")) << c.features().raw;
}

TEST_F(RosterTest, EmptyRosterWithVersion) {
  auto c = client("empty");
  ASSERT_TRUE(c->connected());
  auto r = get_roster(*c, " ver=''");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->attr("type"), "result") << r->raw;
  const Node* q = r->child("query", "jabber:iq:roster");
  ASSERT_TRUE(q) << "an empty ver asks for the full roster: " << r->raw;  // RFC 6121 §2.6.3
  EXPECT_TRUE(q->children.empty()) << r->raw;
  EXPECT_TRUE(q->has_attr("ver")) << r->raw;
}

TEST_F(RosterTest, RosterSetIsPushedToInterestedResourcesWithVersion) {
  auto a = client("pusher", "a");
  auto b = client("pusher", "b");
  ASSERT_TRUE(a->connected() && b->connected());
  ASSERT_TRUE(get_roster(*a));
  ASSERT_TRUE(get_roster(*b));

  std::string id = a->next_id();
  auto r = a->iq("<iq type='set' id='" + id +
                 "'><query xmlns='jabber:iq:roster'>"
                 "<item jid='friend@localhost' name='Friend'><group>Pals</group></item>"
                 "</query></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr("type"), "result") << r->raw;

  // RFC 6121 §2.3.2: a push to every interested resource, including the one that set it.
  std::string ver;
  for (auto* c : {a.get(), b.get()}) {
    auto push = c->wait_for(roster_push_for("friend@localhost"));
    ASSERT_TRUE(push) << "no roster push to " << c->jid();
    const Node* item = roster_item(*push, "friend@localhost");
    EXPECT_EQ(item->attr("name"), "Friend");
    EXPECT_EQ(item->attr("subscription"), "none");
    ASSERT_TRUE(item->child("group"));
    EXPECT_EQ(item->child("group")->text, "Pals");
    const Node* q = push->child("query", "jabber:iq:roster");
    EXPECT_TRUE(q->has_attr("ver")) << push->raw;  // RFC 6121 §2.6.2
    ver = q->attr("ver");
    // The push is an IQ set: the client acknowledges it.
    c->send("<iq type='result' id='" + push->attr("id") + "'/>");
  }

  // XEP-0237 / RFC 6121 §2.6.3: asking with the current version returns no roster.
  auto same = get_roster(*a, " ver='" + xml_escape(ver) + "'");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->attr("type"), "result");
  const Node* q = same->child("query", "jabber:iq:roster");
  EXPECT_TRUE(!q || q->children.empty()) << "unchanged roster was sent again: " << same->raw;

  // A full get shows the item.
  auto full = get_roster(*a);
  ASSERT_TRUE(full && roster_item(*full, "friend@localhost")) << (full ? full->raw : "");
}

TEST_F(RosterTest, SubscribeApproveMutualAndUnsubscribe) {
  auto a = client("sa", "r");
  auto b = client("sb", "r");
  ASSERT_TRUE(a->connected() && b->connected());
  ASSERT_TRUE(go_online(*a));
  ASSERT_TRUE(go_online(*b));

  // RFC 6121 §3.1.2: the user's roster shows the pending request.
  a->send("<presence to='sb@localhost' type='subscribe'/>");
  auto pending = a->wait_for(roster_push_for("sb@localhost"));
  ASSERT_TRUE(pending);
  EXPECT_EQ(roster_item(*pending, "sb@localhost")->attr("ask"), "subscribe") << pending->raw;
  // RFC 6121 §3.1.3: the contact receives the request from the user's bare JID.
  ASSERT_TRUE(b->wait_for(presence_from("sa@localhost", "subscribe")));

  b->send("<presence to='sa@localhost' type='subscribed'/>");
  // RFC 6121 §3.1.5: the user gets 'subscribed', a push with subscription 'to', and the
  // contact's current presence.
  ASSERT_TRUE(a->wait_for(presence_from("sb@localhost", "subscribed")));
  auto to = a->wait_for([](const Node& n) {
    return roster_push_for("sb@localhost")(n) &&
           roster_item(n, "sb@localhost")->attr("subscription") == "to";
  });
  ASSERT_TRUE(to) << "no roster push with subscription='to'";
  ASSERT_TRUE(a->wait_for(presence_from("sb@localhost/r")))
      << "the contact's presence did not follow the approval";
  // The contact's side: subscription 'from' (RFC 6121 §3.1.6 push).
  ASSERT_TRUE(b->wait_for([](const Node& n) {
    return roster_push_for("sa@localhost")(n) &&
           roster_item(n, "sa@localhost")->attr("subscription") == "from";
  }));

  // Mutual.
  ASSERT_TRUE(subscribe(*b, *a));
  for (auto& [c, contact] :
       {std::pair{a.get(), "sb@localhost"}, std::pair{b.get(), "sa@localhost"}}) {
    auto roster = get_roster(*c);
    ASSERT_TRUE(roster);
    const Node* item = roster_item(*roster, contact);
    ASSERT_TRUE(item) << roster->raw;
    EXPECT_EQ(item->attr("subscription"), "both") << roster->raw;
  }

  // RFC 6121 §3.3.3: after unsubscribing, the user receives unavailable presence from each of
  // the contact's available resources.
  a->send("<presence to='sb@localhost' type='unsubscribe'/>");
  EXPECT_TRUE(a->wait_for(presence_from("sb@localhost/r", "unavailable")));
  auto from = a->wait_for([](const Node& n) {
    return roster_push_for("sb@localhost")(n) &&
           roster_item(n, "sb@localhost")->attr("subscription") == "from";
  });
  EXPECT_TRUE(from) << "the user's roster does not show subscription='from'";
  EXPECT_TRUE(b->wait_for(presence_from("sa@localhost", "unsubscribe")));
}

TEST_F(RosterTest, RemovingAnItemThatDoesNotExistIsItemNotFound) {
  auto c = client("rm");
  ASSERT_TRUE(c->connected());
  auto r = c->iq(
      "<iq type='set' id='rm1'><query xmlns='jabber:iq:roster'>"
      "<item jid='nobody@localhost' subscription='remove'/></query></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr("type"), "error") << r->raw;
  EXPECT_EQ(stanza_error(*r), "item-not-found") << r->raw;  // RFC 6121 §2.5.3
}

TEST_F(RosterTest, SubscriptionRequestToOfflineUserIsDeliveredAtLogin) {
  auto a = client("oa");
  ASSERT_TRUE(a->connected());
  ASSERT_TRUE(go_online(*a));
  a->send("<presence to='ob@localhost' type='subscribe'/>");
  // Wait until the server has processed it (the roster push to the user), then log in.
  ASSERT_TRUE(a->wait_for(roster_push_for("ob@localhost")));
  auto b = client("ob");
  ASSERT_TRUE(b->connected());
  ASSERT_TRUE(go_online(*b));
  // RFC 6121 §3.1.3: stored and delivered when the contact becomes available.
  EXPECT_TRUE(b->wait_for(presence_from("oa@localhost", "subscribe")));
}

TEST_F(RosterTest, PreApprovedSubscriptionIsApprovedAutomatically) {
  auto a = client("pa");
  auto b = client("pb");
  ASSERT_TRUE(a->connected() && b->connected());
  ASSERT_TRUE(go_online(*a));
  ASSERT_TRUE(go_online(*b));
  // RFC 6121 §3.4: the contact approves before being asked: a push with approved='true'.
  b->send("<presence to='pa@localhost' type='subscribed'/>");
  auto push = b->wait_for(roster_push_for("pa@localhost"));
  ASSERT_TRUE(push) << "no roster push for the pre-approval";
  EXPECT_EQ(roster_item(*push, "pa@localhost")->attr("approved"), "true") << push->raw;

  a->send("<presence to='pb@localhost' type='subscribe'/>");
  // The contact's server approves on its own (RFC 6121 §3.4.2).
  EXPECT_TRUE(a->wait_for(presence_from("pb@localhost", "subscribed")));
  EXPECT_TRUE(a->wait_for([](const Node& n) {
    return roster_push_for("pb@localhost")(n) &&
           roster_item(n, "pb@localhost")->attr("subscription") == "to";
  }));
  // A marker sent after the request: once it arrives, a forwarded request would have too.
  a->send("<message to='pb@localhost' id='marker' type='chat'><body>m</body></message>");
  ASSERT_TRUE(b->wait_for([](const Node& n) { return n.attr("id") == "marker"; }));
  EXPECT_FALSE(b->has(presence_from("pa@localhost", "subscribe")))
      << "a pre-approved request was still shown to the contact";
}

}  // namespace
}  // namespace parley::it
