// XEP-0280 Message Carbons: sent and received copies to the user's other carbons-enabled
// devices by the rules of §6.1 (types, IM payloads, errors that answer a copied message,
// invitations and MUC private messages), the opt-outs (§9 <private/>, XEP-0334 no-copy),
// messages to one's own account and to other domains, and slixmpp's xep_0280 plugin.
#include "common.h"

namespace parley::it {
namespace {

constexpr const char* kCarbons = "urn:xmpp:carbons:2";
constexpr const char* kForward = "urn:xmpp:forward:0";

class CarbonsTest : public ServerSuite<CarbonsTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"ca", "cb", "cc", "cd", "ce", "cf", "cg", "ch", "ci", "cj", "ck"});
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
  bool found = false, rules = false;
  for (const Node* f : info->child("query")->all("feature")) {
    found = found || f->attr("var") == kCarbons;
    rules = rules || f->attr("var") == "urn:xmpp:carbons:rules:0";
  }
  EXPECT_TRUE(found) << info->raw;  // §3
  EXPECT_TRUE(rules) << info->raw;  // §6.2: the §6.1 rules, all of them
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
  // §9: the marker goes on with the message (its removal was dropped from the XEP: the
  // receiving server needs it too, see below).
  EXPECT_TRUE(delivered->child("private", kCarbons)) << delivered->raw;
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

// §9: the receiving server does not copy a <private/> message to the recipient's other devices
// either, nor one with the no-copy hint.
TEST_F(CarbonsTest, PrivateAndNoCopyAreNotCopiedOnTheReceivingSideEither) {
  auto phone = client("ce", "phone");
  auto laptop = client("ce", "laptop");
  auto bob = client("cb", "w");
  ASSERT_TRUE(phone->connected() && laptop->connected() && bob->connected());
  ASSERT_TRUE(enable_carbons(*phone) && enable_carbons(*laptop));
  bob->send(chat("ce@localhost/phone", "rp1", std::string("<private xmlns='") + kCarbons + "'/>"));
  bob->send(chat("ce@localhost/phone", "rn1", "<no-copy xmlns='urn:xmpp:hints'/>"));
  bob->send(chat("ce@localhost/phone", "rok"));
  ASSERT_TRUE(phone->wait_for(by_id("rp1")));
  ASSERT_TRUE(phone->wait_for(by_id("rn1")));
  ASSERT_TRUE(laptop->wait_for(carbon_of("received", "rok")));
  EXPECT_FALSE(laptop->has(carbon_of("received", "rp1")));
  EXPECT_FALSE(laptop->has(carbon_of("received", "rn1")));
}

// §6.1, one message of each kind from bob to the phone; the laptop shows which were copied.
// The last one is always eligible: every copy would have arrived before its copy.
TEST_F(CarbonsTest, EligibilityByTypeAndPayload) {
  auto phone = client("cf", "phone");
  auto laptop = client("cf", "laptop");
  auto bob = client("cb", "v");
  ASSERT_TRUE(phone->connected() && laptop->connected() && bob->connected());
  ASSERT_TRUE(enable_carbons(*laptop));  // the phone's own setting does not matter
  const std::string to = "cf@localhost/phone";
  struct Case {
    std::string id, stanza;
    bool copied;
  };
  std::vector<Case> cases = {
      {"t-normal", "<message to='" + to + "' id='t-normal'><body>hi</body></message>", true},
      {"t-receipt",
       "<message to='" + to +
           "' id='t-receipt'><received xmlns='urn:xmpp:receipts' id='x'/>"
           "</message>",
       true},
      {"t-marker",
       "<message to='" + to +
           "' id='t-marker'><displayed xmlns='urn:xmpp:chat-markers:0' "
           "id='x'/></message>",
       true},
      {"t-state",
       "<message to='" + to +
           "' id='t-state' type='chat'><composing "
           "xmlns='http://jabber.org/protocol/chatstates'/></message>",
       true},
      {"t-invite",
       "<message to='" + to +
           "' id='t-invite'><x xmlns='jabber:x:conference' "
           "jid='room@chat.example'/></message>",
       true},
      {"t-headline",
       "<message to='" + to + "' id='t-headline' type='headline'><body>news</body></message>",
       false},
      {"t-groupchat",
       "<message to='" + to + "' id='t-groupchat' type='groupchat'><body>room</body></message>",
       false},
      {"t-empty", "<message to='" + to + "' id='t-empty'><x xmlns='urn:example'/></message>",
       false},
      // From a full JID with MUC user data: a private message from an occupant.
      {"t-mucpm",
       "<message to='" + to +
           "' id='t-mucpm' type='chat'><body>psst</body>"
           "<x xmlns='http://jabber.org/protocol/muc#user'/></message>",
       false},
      // An error that answers nothing the phone sent.
      {"t-error",
       "<message to='" + to +
           "' id='t-error' type='error'><error type='cancel'>"
           "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
       false},
  };
  for (const auto& c : cases) bob->send(c.stanza);
  bob->send(chat(to, "t-last"));
  for (const auto& c : cases) ASSERT_TRUE(phone->wait_for(by_id(c.id))) << c.id;
  ASSERT_TRUE(laptop->wait_for(carbon_of("received", "t-last")));
  for (const auto& c : cases) EXPECT_EQ(laptop->has(carbon_of("received", c.id)), c.copied) << c.id;
}

// §6.1: an error is copied when it answers a message that was: here the bounce of a message
// to an account that does not exist, and a client's error reply to a message it got.
TEST_F(CarbonsTest, ErrorsAnsweringCopiedMessagesAreCopied) {
  auto phone = client("cg", "phone");
  auto laptop = client("cg", "laptop");
  auto bob = client("cb", "u");
  ASSERT_TRUE(phone->connected() && laptop->connected() && bob->connected());
  ASSERT_TRUE(enable_carbons(*laptop));

  phone->send(chat("nobody@localhost", "e-bounce"));
  auto bounce = phone->wait_for(by_id("e-bounce"));
  ASSERT_TRUE(bounce && bounce->attr("type") == "error");
  ASSERT_TRUE(laptop->wait_for(carbon_of("sent", "e-bounce")));
  auto copied = laptop->wait_for(carbon_of("received", "e-bounce"));
  ASSERT_TRUE(copied);
  EXPECT_EQ(copied->attr("type"), "error");
  EXPECT_EQ(copied->find("message")->attr("type"), "error");

  // Bob writes, the phone answers with an error: a sent carbon of the error.
  bob->send(chat("cg@localhost/phone", "e-in"));
  ASSERT_TRUE(phone->wait_for(by_id("e-in")));
  ASSERT_TRUE(laptop->wait_for(carbon_of("received", "e-in")));
  phone->send(
      "<message to='cb@localhost/u' id='e-in' type='error'><error type='cancel'>"
      "<not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
  ASSERT_TRUE(bob->wait_for(by_id("e-in")));
  ASSERT_TRUE(laptop->wait_for(carbon_of("sent", "e-in")));
  // An error that answers nothing is not.
  phone->send(
      "<message to='cb@localhost/u' id='e-none' type='error'><error type='cancel'>"
      "<not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
  ASSERT_TRUE(bob->wait_for(by_id("e-none")));
  phone->send(chat("cb@localhost/u", "e-last"));
  ASSERT_TRUE(laptop->wait_for(carbon_of("sent", "e-last")));
  EXPECT_FALSE(laptop->has(carbon_of("sent", "e-none")));
}

// §8: sent carbons whatever the destination: here a domain this server does not host (no
// server-to-server yet, so the message bounces, and the bounce is copied too).
TEST_F(CarbonsTest, SentCarbonsForOtherDomains) {
  auto phone = client("ch", "phone");
  auto laptop = client("ch", "laptop");
  ASSERT_TRUE(phone->connected() && laptop->connected());
  ASSERT_TRUE(enable_carbons(*laptop));
  phone->send(chat("juliet@capulet.example", "far1"));
  auto sent = laptop->wait_for(carbon_of("sent", "far1"));
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->find("message")->attr("to"), "juliet@capulet.example");
  auto bounce = phone->wait_for(by_id("far1"));
  ASSERT_TRUE(bounce);
  EXPECT_EQ(stanza_error(*bounce), "remote-server-not-found") << bounce->raw;
  ASSERT_TRUE(laptop->wait_for(carbon_of("received", "far1")));
}

// A message to the user's own bare JID reaches every carbons-enabled device exactly once: the
// highest-priority one gets it, the others a <received/> copy, the sender nothing.
TEST_F(CarbonsTest, MessageToOwnBareJidReachesEachDeviceOnce) {
  auto phone = client("ci", "phone");
  auto laptop = client("ci", "laptop");
  auto tablet = client("ci", "tablet");
  ASSERT_TRUE(phone->connected() && laptop->connected() && tablet->connected());
  for (auto* c : {phone.get(), laptop.get(), tablet.get()}) ASSERT_TRUE(enable_carbons(*c));
  ASSERT_TRUE(go_online(*laptop, 5));
  ASSERT_TRUE(go_online(*tablet, 1));
  ASSERT_TRUE(go_online(*phone, 0));
  ASSERT_TRUE(laptop->wait_for(presence_from("ci@localhost/phone")));
  ASSERT_TRUE(tablet->wait_for(presence_from("ci@localhost/phone")));

  phone->send(chat("ci@localhost", "self1"));
  auto got = laptop->wait_for(by_id("self1"));
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->child("received", kCarbons)) << got->raw;
  ASSERT_TRUE(tablet->wait_for(carbon_of("received", "self1")));
  // Markers on each device: copies of self1 would have come before them.
  phone->send(chat("ci@localhost/laptop", "mk-l"));
  phone->send(chat("ci@localhost/tablet", "mk-t"));
  ASSERT_TRUE(laptop->wait_for(by_id("mk-l")));
  ASSERT_TRUE(tablet->wait_for(by_id("mk-t")));
  auto self_copies = [](const StropheClient& c) {
    int n = 0;
    for (const auto& r : c.received())
      n += by_id("self1")(r) || carbon_of("sent", "self1")(r) || carbon_of("received", "self1")(r);
    return n;
  };
  EXPECT_EQ(self_copies(*laptop), 1);
  EXPECT_EQ(self_copies(*tablet), 1);
  EXPECT_EQ(self_copies(*phone), 0);
  // mk-l went from the phone to the laptop: the tablet has its copy, the phone none.
  ASSERT_TRUE(tablet->wait_for(carbon_of("received", "mk-l")));
  EXPECT_FALSE(phone->has(carbon_of("received", "mk-l")));
  EXPECT_FALSE(phone->has(carbon_of("sent", "mk-l")));
}

// slixmpp's XEP-0280 plugin: enable on two devices, see both kinds of copy with the right
// wrapper and the original inside.
TEST_F(CarbonsTest, SlixmppCarbonsPlugin) {
  auto r = run_slixmpp(server(), "carbons.py",
                       {"--user", "cj@" + kHost, "--contact", "ck@" + kHost}, kPassword);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"sent_carbon\": true"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"received_carbon\": true"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace parley::it
