// What gives a messenger its ticks (doc/TICKS.md): XEP-0184 receipts, XEP-0333 chat markers and
// XEP-0085 chat states are routed unchanged, reach the sender's and the recipient's other
// devices as carbons (XEP-0280), and what offline storage keeps of them.
#include "common.h"

namespace parley::it {
namespace {

constexpr const char* kCarbons = "urn:xmpp:carbons:2";
constexpr const char* kForward = "urn:xmpp:forward:0";

class TicksTest : public ServerSuite<TicksTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"ta", "tb", "tc", "td"});
    o.modules.push_back("carbons");
    o.modules.push_back("offline");
    return o;
  }
};

bool enable_carbons(StropheClient& c) {
  auto r = c.iq("<iq type='set' id='" + c.next_id() + "'><enable xmlns='" + kCarbons + "'/></iq>");
  return r && r->attr("type") == "result";
}

auto by_id(const std::string& id) {
  return [id](const Node& n) { return n.name == "message" && n.attr("id") == id; };
}

// The message a carbon of kind `kind` wraps, if `n` is one for message `id`.
const Node* carbon_inner(const Node& n, const std::string& kind, const std::string& id) {
  if (n.name != "message" || n.attr("from") != bare_of(n.attr("to"))) return nullptr;
  const Node* w = n.child(kind, kCarbons);
  const Node* f = w ? w->child("forwarded", kForward) : nullptr;
  const Node* m = f ? f->child("message", kNsClient) : nullptr;
  return m && m->attr("id") == id ? m : nullptr;
}

auto carbon_of(const std::string& kind, const std::string& id) {
  return [kind, id](const Node& n) { return carbon_inner(n, kind, id) != nullptr; };
}

// `got` is `sent` as the client wrote it, plus the 'from' the server stamps (RFC 6120
// §8.1.2.1) and, on the message itself, the <stanza-id/> an archive adds (XEP-0359 §3; the
// client's own <origin-id/> must stay): same name, namespace, attributes, text and children,
// all the way down.
::testing::AssertionResult unchanged(const Node& sent, const Node& got, bool top = true) {
  auto fail = [&](const std::string& what) {
    return ::testing::AssertionFailure() << what << " differs in <" << sent.name << "/>";
  };
  if (sent.name != got.name || sent.ns != got.ns) return fail("name or namespace");
  auto attrs = got.attrs;
  if (top) attrs.erase("from");
  if (attrs != sent.attrs) return fail("attributes");
  if (sent.text != got.text) return fail("text");
  std::vector<const Node*> children;
  for (const auto& c : got.children)
    if (!top || !c.is("stanza-id", "urn:xmpp:sid:0")) children.push_back(&c);
  if (sent.children.size() != children.size()) return fail("children");
  for (size_t i = 0; i < sent.children.size(); ++i)
    if (auto r = unchanged(sent.children[i], *children[i], false); !r) return r;
  return ::testing::AssertionSuccess();
}

// Sends `xml` from `from` and checks that `to` gets it unchanged, that `to_other` (the
// recipient's other device) gets a <received/> carbon of it and `from_other` (the sender's) a
// <sent/> carbon, both with the original inside unchanged.
void expect_routed_and_copied(StropheClient& from, StropheClient& from_other, StropheClient& to,
                              StropheClient& to_other, const std::string& id,
                              const std::string& xml) {
  Node sent = parse_element(xml);
  from.send(xml);
  auto got = to.wait_for(by_id(id));
  ASSERT_TRUE(got) << id << " not delivered";
  EXPECT_EQ(got->attr("from"), from.jid());
  EXPECT_TRUE(unchanged(sent, *got)) << got->raw;
  auto received = to_other.wait_for(carbon_of("received", id));
  ASSERT_TRUE(received) << "no received carbon of " << id;
  EXPECT_TRUE(unchanged(sent, *carbon_inner(*received, "received", id))) << received->raw;
  auto copy = from_other.wait_for(carbon_of("sent", id));
  ASSERT_TRUE(copy) << "no sent carbon of " << id;
  EXPECT_TRUE(unchanged(sent, *carbon_inner(*copy, "sent", id))) << copy->raw;
}

TEST_F(TicksTest, ReceiptMarkerAndChatStateAreRoutedUnchangedAndCopied) {
  auto alice = client("ta", "phone"), alice_laptop = client("ta", "laptop");
  auto bob = client("tb", "phone"), bob_tablet = client("tb", "tablet");
  for (auto* c : {alice.get(), alice_laptop.get(), bob.get(), bob_tablet.get()}) {
    ASSERT_TRUE(c->connected());
    ASSERT_TRUE(enable_carbons(*c));
  }
  ASSERT_TRUE(go_online(*alice) && go_online(*alice_laptop));  // for the bare-JID chat state
  const std::string a = alice->jid(), b = bob->jid();

  // The message asks for a receipt (XEP-0184 §5) and is markable (XEP-0333 §4.1).
  expect_routed_and_copied(*alice, *alice_laptop, *bob, *bob_tablet, "m1",
                           "<message to='" + b +
                               "' id='m1' type='chat'><body>Hi Bob</body>"
                               "<request xmlns='urn:xmpp:receipts'/>"
                               "<markable xmlns='urn:xmpp:chat-markers:0'/>"
                               "<origin-id xmlns='urn:xmpp:sid:0' id='o-m1'/></message>");
  // Delivered: the receipt (XEP-0184 §4), a normal message without a body.
  expect_routed_and_copied(*bob, *bob_tablet, *alice, *alice_laptop, "r1",
                           "<message to='" + a +
                               "' id='r1'>"
                               "<received xmlns='urn:xmpp:receipts' id='m1'/></message>");
  // Read: the displayed marker (XEP-0333 §4.2).
  expect_routed_and_copied(*bob, *bob_tablet, *alice, *alice_laptop, "d1",
                           "<message to='" + a +
                               "' id='d1' type='chat'>"
                               "<displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/></message>");
  // Typing: a chat state (XEP-0085 §5.6), to the bare JID (delivered to both of Alice's
  // resources, as RFC 6121 §8.5.2.1.1 says: same priority, so no carbons on Alice's side).
  Node typing = parse_element(
      "<message to='ta@localhost' id='c1' type='chat'>"
      "<composing xmlns='http://jabber.org/protocol/chatstates'/>"
      "</message>");
  bob->send(
      "<message to='ta@localhost' id='c1' type='chat'>"
      "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
  for (auto* c : {alice.get(), alice_laptop.get()}) {
    auto got = c->wait_for(by_id("c1"));
    ASSERT_TRUE(got) << c->jid();
    EXPECT_TRUE(unchanged(typing, *got)) << got->raw;
  }
  auto copy = bob_tablet->wait_for(carbon_of("sent", "c1"));
  ASSERT_TRUE(copy);
  EXPECT_TRUE(unchanged(typing, *carbon_inner(*copy, "sent", "c1"))) << copy->raw;
  // And a chat state to a full JID is copied on the receiving side too.
  expect_routed_and_copied(*alice, *alice_laptop, *bob, *bob_tablet, "c2",
                           "<message to='" + b +
                               "' id='c2' type='chat'>"
                               "<paused xmlns='http://jabber.org/protocol/chatstates'/></message>");
}

// Offline storage (XEP-0160) keeps the message, its receipt and its marker, not the chat
// state: the ticks survive the recipient being away, typing does not.
TEST_F(TicksTest, OfflineStorageKeepsReceiptsAndMarkersButNotChatStates) {
  auto alice = client("tc", "phone");
  ASSERT_TRUE(alice->connected());
  alice->send(
      "<message to='td@localhost' id='o1' type='chat'><body>while you were out</body>"
      "<request xmlns='urn:xmpp:receipts'/></message>");
  alice->send(
      "<message to='td@localhost' id='o2'><received xmlns='urn:xmpp:receipts' id='x1'/>"
      "</message>");
  alice->send(
      "<message to='td@localhost' id='o3' type='chat'>"
      "<displayed xmlns='urn:xmpp:chat-markers:0' id='x1'/></message>");
  alice->send(
      "<message to='td@localhost' id='o4' type='chat'>"
      "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
  // The chat state is not kept: the sender learns it did not arrive (RFC 6121 §8.5.2.2.1).
  auto bounced = alice->wait_for(by_id("o4"));
  ASSERT_TRUE(bounced);
  EXPECT_EQ(stanza_error(*bounced), "service-unavailable") << bounced->raw;

  auto bob = client("td", "phone");
  ASSERT_TRUE(bob->connected() && go_online(*bob));
  for (const char* id : {"o1", "o2", "o3"}) {
    auto got = bob->wait_for(by_id(id));
    ASSERT_TRUE(got) << id;
    EXPECT_TRUE(got->child("delay", "urn:xmpp:delay")) << got->raw;  // XEP-0203
  }
  EXPECT_FALSE(bob->has(by_id("o4")));
}

}  // namespace
}  // namespace parley::it
