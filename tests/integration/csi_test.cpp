// XEP-0352 Client State Indication (modules/csi): a raw client that says <inactive/> gets its
// contacts' presence updates and chat states held and coalesced (the latest per sender, in
// order) until a message with a body, a receipt, a marker or an IQ comes, or until it says
// <active/>; the feature is offered after authentication; a bounded number of contacts is
// held. Holding shows in what arrives: had nothing been held, every intermediate update would
// arrive too.
#include "common.h"

namespace parley::it {
namespace {

constexpr int kMaxContacts = 3;

class CsiTest : public ServerSuite<CsiTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"ia", "ib", "ic", "id", "ie", "sa", "sb"});
    o.modules.push_back("csi");
    o.module_options["csi"]["max_contacts"] = std::to_string(kMaxContacts);
    return o;
  }
};

// The user, on a raw stream, available, with its own presence echo read.
struct User {
  RawClient raw;
  std::string jid;
  explicit User(uint16_t port, const std::string& resource) : raw(port) {
    jid = raw.login("ia", kPassword, resource);
    if (jid.empty()) return;
    raw.send("<presence/>");
    raw.wait_for([&](const Node& n) { return n.name == "presence" && n.attr("from") == jid; });
  }
  // <inactive/>, in force once the ping after it is answered (§5.1: in order).
  bool inactive() {
    raw.send(
        "<inactive xmlns='urn:xmpp:csi:0'/><iq type='get' id='in-ping' to='localhost'>"
        "<ping xmlns='urn:xmpp:ping'/></iq>");
    return raw.wait_for_id("in-ping").has_value();
  }
  // Everything that arrives up to and including the first element matching `last`.
  std::vector<Node> until(const std::function<bool(const Node&)>& last) {
    std::vector<Node> out;
    while (auto n = raw.next_element()) {
      out.push_back(*n);
      if (last(*n)) break;
    }
    return out;
  }
};

void send(StropheClient& c, const std::string& xml) {
  c.send(xml);
  settle(c);
}

std::string presence(const std::string& to, const std::string& show) {
  return "<presence to='" + to + "'>" + (show.empty() ? "" : "<show>" + show + "</show>") +
         "</presence>";
}

std::string state(const std::string& to, const std::string& s) {
  return "<message to='" + to + "' type='chat'><" + s +
         " xmlns='http://jabber.org/protocol/chatstates'/></message>";
}

auto by_id(const std::string& id) {
  return [id](const Node& n) { return n.attr("id") == id; };
}

// "presence <from> <show>" / "state <from> <state>" / "message <from> <id>" / "iq <id>".
std::vector<std::string> summary(const std::vector<Node>& nodes) {
  std::vector<std::string> out;
  for (const auto& n : nodes) {
    std::string who = bare_of(n.attr("from"));
    if (n.name == "presence") {
      out.push_back("presence " + who + " " +
                    (n.attr("type").empty() ? (n.child("show") ? n.child("show")->text : "-")
                                            : n.attr("type")));
    } else if (n.name == "message") {
      const Node* s = nullptr;
      for (const auto& c : n.children)
        if (c.ns == "http://jabber.org/protocol/chatstates") s = &c;
      if (s && !n.child("body"))
        out.push_back("state " + who + " " + s->name);
      else
        out.push_back("message " + who + " " + n.attr("id"));
    } else {
      out.push_back(n.name + " " + n.attr("id"));
    }
  }
  return out;
}

using Seen = std::vector<std::string>;

TEST_F(CsiTest, OfferedAfterAuthentication) {
  RawClient c(port());
  ASSERT_TRUE(c.open_stream());
  EXPECT_FALSE(c.features().child("csi", "urn:xmpp:csi:0")) << c.features().raw;
  RawClient u(port());
  ASSERT_FALSE(u.login("ia", kPassword, "feat").empty());
  EXPECT_TRUE(u.features().child("csi", "urn:xmpp:csi:0")) << u.features().raw;  // §4.1
}

TEST_F(CsiTest, PresenceIsCoalescedUntilAMessageWithABody) {
  User u(port(), "p1");
  auto b = client("ib", "r"), c = client("ic", "r"), d = client("id", "r");
  ASSERT_FALSE(u.jid.empty());
  ASSERT_TRUE(b->connected() && c->connected() && d->connected());
  ASSERT_TRUE(u.inactive());
  send(*b, presence(u.jid, "away"));
  send(*c, presence(u.jid, "dnd"));
  send(*b, presence(u.jid, "xa"));
  send(*d, presence(u.jid, "chat"));
  send(*c, presence(u.jid, ""));
  send(*b, presence(u.jid, "dnd"));
  send(*b, "<message to='" + u.jid + "' id='body1' type='chat'><body>hi</body></message>");
  EXPECT_EQ(summary(u.until(by_id("body1"))),
            (Seen{"presence id@localhost chat", "presence ic@localhost -",
                  "presence ib@localhost dnd", "message ib@localhost body1"}));
}

TEST_F(CsiTest, ChatStatesAreHeldAndAReceiptReleasesThem) {
  User u(port(), "p2");
  auto b = client("ib", "r"), c = client("ic", "r"), d = client("id", "r");
  ASSERT_FALSE(u.jid.empty());
  ASSERT_TRUE(b->connected() && c->connected() && d->connected());
  ASSERT_TRUE(u.inactive());
  send(*b, state(u.jid, "composing"));
  send(*c, state(u.jid, "composing"));
  send(*b, state(u.jid, "paused"));
  send(*c, presence(u.jid, "away"));  // a presence and a chat state of one sender: both kept
  send(*d, "<message to='" + u.jid +
               "' id='rcpt1'><received xmlns='urn:xmpp:receipts' id='m1'/>"
               "</message>");
  EXPECT_EQ(summary(u.until(by_id("rcpt1"))),
            (Seen{"state ic@localhost composing", "state ib@localhost paused",
                  "presence ic@localhost away", "message id@localhost rcpt1"}));
}

TEST_F(CsiTest, AChatMarkerReleases) {
  User u(port(), "p3");
  auto b = client("ib", "r"), c = client("ic", "r");
  ASSERT_FALSE(u.jid.empty());
  ASSERT_TRUE(b->connected() && c->connected());
  ASSERT_TRUE(u.inactive());
  send(*b, presence(u.jid, "away"));
  send(*b, presence(u.jid, "xa"));
  send(*c, state(u.jid, "composing"));
  send(*c, "<message to='" + u.jid +
               "' id='mk1' type='chat'>"
               "<displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/></message>");
  EXPECT_EQ(summary(u.until(by_id("mk1"))),
            (Seen{"presence ib@localhost xa", "state ic@localhost composing",
                  "message ic@localhost mk1"}));
}

// IQs are never held: a contact's request and the answer to the user's own request arrive at
// once, after what was held.
TEST_F(CsiTest, IqsAreNotHeld) {
  User u(port(), "p4");
  auto b = client("ib", "r"), c = client("ic", "r");
  ASSERT_FALSE(u.jid.empty());
  ASSERT_TRUE(b->connected() && c->connected());
  ASSERT_TRUE(u.inactive());
  send(*b, presence(u.jid, "away"));
  send(*b, presence(u.jid, "xa"));
  send(*c, "<iq type='get' id='ver1' to='" + u.jid + "'><query xmlns='jabber:iq:version'/></iq>");
  EXPECT_EQ(summary(u.until(by_id("ver1"))), (Seen{"presence ib@localhost xa", "iq ver1"}));
  send(*b, presence(u.jid, "dnd"));
  u.raw.send("<iq type='get' id='own1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_EQ(summary(u.until(by_id("own1"))), (Seen{"presence ib@localhost dnd", "iq own1"}));
}

// <active/> flushes what was held before anything the client sends after it is answered
// (§5.1), and from then on nothing is held.
TEST_F(CsiTest, ActiveFlushesInOrderBeforeTheNextAnswer) {
  User u(port(), "p5");
  auto b = client("ib", "r"), c = client("ic", "r");
  ASSERT_FALSE(u.jid.empty());
  ASSERT_TRUE(b->connected() && c->connected());
  ASSERT_TRUE(u.inactive());
  send(*b, presence(u.jid, "away"));
  send(*c, presence(u.jid, "away"));
  send(*b, presence(u.jid, "xa"));
  u.raw.send(
      "<active xmlns='urn:xmpp:csi:0'/><iq type='get' id='act1' to='localhost'>"
      "<ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_EQ(summary(u.until(by_id("act1"))),
            (Seen{"presence ic@localhost away", "presence ib@localhost xa", "iq act1"}));
  send(*b, presence(u.jid, "dnd"));
  send(*b, presence(u.jid, "chat"));
  send(*b, "<message to='" + u.jid + "' id='act2' type='chat'><body>hi</body></message>");
  EXPECT_EQ(summary(u.until(by_id("act2"))),
            (Seen{"presence ib@localhost dnd", "presence ib@localhost chat",
                  "message ib@localhost act2"}));
}

// max_contacts: one sender too many releases everything held, that one included.
TEST_F(CsiTest, OneContactTooManyFlushes) {
  User u(port(), "p6");
  auto b = client("ib", "r"), c = client("ic", "r"), d = client("id", "r"), e = client("ie", "r");
  ASSERT_FALSE(u.jid.empty());
  ASSERT_TRUE(b->connected() && c->connected() && d->connected() && e->connected());
  ASSERT_TRUE(u.inactive());
  send(*b, presence(u.jid, "away"));
  send(*b, presence(u.jid, "xa"));
  send(*c, presence(u.jid, "away"));
  send(*d, presence(u.jid, "away"));
  static_assert(kMaxContacts == 3);
  send(*e, presence(u.jid, "dnd"));
  EXPECT_EQ(
      summary(u.until([](const Node& n) { return bare_of(n.attr("from")) == "ie@localhost"; })),
      (Seen{"presence ib@localhost xa", "presence ic@localhost away", "presence id@localhost away",
            "presence ie@localhost dnd"}));
  // Still inactive: held again.
  send(*b, presence(u.jid, "away"));
  send(*b, presence(u.jid, "chat"));
  send(*b, "<message to='" + u.jid + "' id='lim1' type='chat'><body>hi</body></message>");
  EXPECT_EQ(summary(u.until(by_id("lim1"))),
            (Seen{"presence ib@localhost chat", "message ib@localhost lim1"}));
}

// slixmpp's XEP-0352 plugin sees the feature, says inactive and active, and gets the held
// presence coalesced.
TEST_F(CsiTest, SlixmppCsiPlugin) {
  auto r = run_slixmpp(server(), "csi.py", {"--user", "sa@" + kHost, "--contact", "sb@" + kHost},
                       kPassword);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"coalesced\": true"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace parley::it
