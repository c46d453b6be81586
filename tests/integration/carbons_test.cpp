// XEP-0280 Message Carbons: sent and received copies to the user's other carbons-enabled
// devices, and the messages that are never copied (§6, §8, XEP-0334 no-copy).
#include "common.h"

namespace parley::it {
namespace {

constexpr const char* kCarbons = "urn:xmpp:carbons:2";
constexpr const char* kForward = "urn:xmpp:forward:0";

class CarbonsTest : public ServerSuite<CarbonsTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"ca", "cb", "cc", "cd"});
    o.modules.push_back("carbons");
    return o;
  }
};

bool enable_carbons(StropheClient& c, bool on = true) {
  auto r = c.iq(std::string("<iq type='set' id='cb-") + (on ? "on" : "off") + "'><" +
                (on ? "enable" : "disable") + " xmlns='" + kCarbons + "'/></iq>");
  return r && r->attr("type") == "result";
}

// A carbon of kind `kind` ("sent" / "received") wrapping the message with this id.
auto carbon_of(const std::string& kind, const std::string& id) {
  return [kind, id](const Node& n) {
    if (n.name != "message") return false;
    const Node* wrapper = n.child(kind, kCarbons);
    if (!wrapper) return false;
    const Node* fwd = wrapper->child("forwarded", kForward);
    const Node* inner = fwd ? fwd->child("message") : nullptr;
    return inner && inner->attr("id") == id;
  };
}

auto by_id(const std::string& id) {
  return [id](const Node& n) { return n.name == "message" && n.attr("id") == id; };
}

std::string chat(const std::string& to, const std::string& id, const std::string& extra = "") {
  return "<message to='" + to + "' id='" + id + "' type='chat'><body>hi</body>" + extra +
         "</message>";
}

TEST_F(CarbonsTest, ServerAdvertisesCarbons) {
  auto a = client("ca", "disco");
  ASSERT_TRUE(a->connected());
  auto info = a->iq(
      "<iq type='get' to='localhost' id='d1'><query "
      "xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  ASSERT_TRUE(info);
  bool found = false;
  for (const Node* f : info->child("query")->all("feature"))
    found = found || f->attr("var") == kCarbons;
  EXPECT_TRUE(found) << info->raw;
}

TEST_F(CarbonsTest, SentAndReceivedCopiesReachTheOtherDevice) {
  auto phone = client("ca", "phone");
  auto laptop = client("ca", "laptop");
  auto bob = client("cb", "b");
  ASSERT_TRUE(phone->connected() && laptop->connected() && bob->connected());
  ASSERT_TRUE(enable_carbons(*phone) && enable_carbons(*laptop));

  // Received: bob writes to the phone; the laptop gets a <received/> copy from the bare JID.
  bob->send(chat("ca@localhost/phone", "r1"));
  ASSERT_TRUE(phone->wait_for(by_id("r1")));
  auto received = laptop->wait_for(carbon_of("received", "r1"));
  ASSERT_TRUE(received);
  EXPECT_EQ(received->attr("from"), "ca@localhost");
  EXPECT_EQ(received->attr("to"), "ca@localhost/laptop");
  const Node* inner = received->find("message");
  ASSERT_TRUE(inner);
  EXPECT_EQ(inner->attr("from"), "cb@localhost/b");
  EXPECT_EQ(inner->ns, "jabber:client");

  // Sent: the phone writes to bob; the laptop gets a <sent/> copy, the phone none.
  phone->send(chat("cb@localhost/b", "s1"));
  ASSERT_TRUE(bob->wait_for(by_id("s1")));
  auto sent = laptop->wait_for(carbon_of("sent", "s1"));
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->find("message")->attr("to"), "cb@localhost/b");
  // A marker after: had the phone got a copy of its own message, it would have come first.
  bob->send(chat("ca@localhost/phone", "m1"));
  ASSERT_TRUE(phone->wait_for(by_id("m1")));
  EXPECT_FALSE(phone->has(carbon_of("sent", "s1")));
}

TEST_F(CarbonsTest, PrivateNoCopyAndUnsuitableTypesAreNotCopied) {
  auto phone = client("cc", "phone");
  auto laptop = client("cc", "laptop");
  auto bob = client("cb", "x");
  ASSERT_TRUE(phone->connected() && laptop->connected() && bob->connected());
  ASSERT_TRUE(enable_carbons(*phone) && enable_carbons(*laptop));

  phone->send(chat("cb@localhost/x", "p1", std::string("<private xmlns='") + kCarbons + "'/>"));
  auto delivered = bob->wait_for(by_id("p1"));
  ASSERT_TRUE(delivered);
  // §8: the <private/> marker is removed before the message goes on.
  EXPECT_FALSE(delivered->child("private", kCarbons)) << delivered->raw;
  phone->send(chat("cb@localhost/x", "n1", "<no-copy xmlns='urn:xmpp:hints'/>"));
  ASSERT_TRUE(bob->wait_for(by_id("n1")));
  bob->send("<message to='cc@localhost/phone' id='h1' type='headline'><body>news</body></message>");
  ASSERT_TRUE(phone->wait_for(by_id("h1")));
  // A normal message without IM payload (e.g. a bare invitation) is not copied either.
  bob->send("<message to='cc@localhost/phone' id='e1'><x xmlns='urn:example'/></message>");
  ASSERT_TRUE(phone->wait_for(by_id("e1")));

  // Marker: an eligible message; its carbon arrives after any the others would have made.
  phone->send(chat("cb@localhost/x", "ok1"));
  ASSERT_TRUE(laptop->wait_for(carbon_of("sent", "ok1")));
  for (const char* id : {"p1", "n1"}) EXPECT_FALSE(laptop->has(carbon_of("sent", id))) << id;
  for (const char* id : {"h1", "e1"}) EXPECT_FALSE(laptop->has(carbon_of("received", id))) << id;
}

TEST_F(CarbonsTest, DisabledOrNeverEnabledDevicesGetNothing) {
  auto phone = client("cd", "phone");
  auto laptop = client("cd", "laptop");
  auto tablet = client("cd", "tablet");
  auto bob = client("cb", "y");
  ASSERT_TRUE(phone->connected() && laptop->connected() && tablet->connected() && bob->connected());
  ASSERT_TRUE(enable_carbons(*laptop) && enable_carbons(*laptop, false));
  ASSERT_TRUE(enable_carbons(*tablet));

  bob->send(chat("cd@localhost/phone", "d1"));
  ASSERT_TRUE(phone->wait_for(by_id("d1")));
  ASSERT_TRUE(tablet->wait_for(carbon_of("received", "d1")));
  // The laptop turned carbons off again; a later direct message is the marker.
  bob->send(chat("cd@localhost/laptop", "d2"));
  ASSERT_TRUE(laptop->wait_for(by_id("d2")));
  EXPECT_FALSE(laptop->has(carbon_of("received", "d1")));
  // And the phone, which never enabled carbons, gets no copy of what went to the laptop.
  ASSERT_TRUE(tablet->wait_for(carbon_of("received", "d2")));
  bob->send(chat("cd@localhost/phone", "d3"));
  ASSERT_TRUE(phone->wait_for(by_id("d3")));
  EXPECT_FALSE(phone->has(carbon_of("received", "d2")));
}

TEST_F(CarbonsTest, BareJidMessageIsCopiedOnlyToDevicesThatDidNotGetIt) {
  auto hi = client("ca", "hi");
  auto lo = client("ca", "lo");
  auto bob = client("cb", "z");
  ASSERT_TRUE(hi->connected() && lo->connected() && bob->connected());
  ASSERT_TRUE(enable_carbons(*hi) && enable_carbons(*lo));
  ASSERT_TRUE(go_online(*hi, 5));
  ASSERT_TRUE(go_online(*lo, 1));
  ASSERT_TRUE(lo->wait_for(presence_from("ca@localhost/hi")));
  ASSERT_TRUE(hi->wait_for(presence_from("ca@localhost/lo")));

  bob->send(chat("ca@localhost", "b1"));
  ASSERT_TRUE(hi->wait_for(by_id("b1")));
  ASSERT_TRUE(lo->wait_for(carbon_of("received", "b1")));
  // The device that got the message itself gets no carbon of it.
  bob->send(chat("ca@localhost/hi", "b2"));
  ASSERT_TRUE(hi->wait_for(by_id("b2")));
  EXPECT_FALSE(hi->has(carbon_of("received", "b1")));
}

}  // namespace
}  // namespace parley::it
