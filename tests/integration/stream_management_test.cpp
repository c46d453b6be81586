// XEP-0198 Stream Management against a real parleyd: enabling, acknowledgements both ways,
// resumption after a dropped connection (also on the other listener), what happens to
// unacknowledged stanzas when a session is not resumed, and dead-connection detection.
#include "common.h"
#include "sm_client.h"

namespace parley::it {
namespace {

class StreamManagementTest : public ServerSuite<StreamManagementTest> {
 public:
  static ServerOptions options() {
    ServerOptions o = with_users({"sa", "sb", "sc", "sd", "se", "sf", "sg", "sh", "si", "sj", "sk",
                                  "sl", "sm", "sn", "so", "sp"});
    o.modules.push_back("offline");
    o.modules.push_back("csi");
    // Short enough that the "not resumed in time" tests finish quickly; long enough that a
    // resumption in the other tests never races it under ASan.
    o.c2s = {{"resume_timeout", "3s"}, {"max_unacked_stanzas", "10"}};
    return o;
  }
};

std::string chat(const std::string& to, const std::string& id, const std::string& body = "hi") {
  return "<message to='" + to + "' id='" + id + "' type='chat'><body>" + body + "</body></message>";
}

auto message_id(const std::string& id) {
  return [id](const Node& n) { return n.name == "message" && n.attr("id") == id; };
}

int count_id(const std::vector<Node>& v, const std::string& id) {
  return static_cast<int>(std::count_if(v.begin(), v.end(), [&](const Node& n) {
    return n.name == "message" && n.attr("id") == id;
  }));
}

// A logged-in raw client with stream management enabled (resumable).
std::unique_ptr<SmClient> sm_login(uint16_t port, const std::string& user,
                                   const std::string& resource = "phone") {
  auto c = std::make_unique<SmClient>(port);
  if (c->login(user, kPassword, resource).empty()) return nullptr;
  auto e = c->enable();
  if (!e || e->name != "enabled") return nullptr;
  return c;
}

TEST_F(StreamManagementTest, OfferedOnlyAfterAuthentication) {
  RawClient c(port());
  ASSERT_TRUE(c.starttls());
  EXPECT_FALSE(c.features().child("sm", kNsSm)) << c.features().raw;  // §2
  ASSERT_TRUE(c.auth_scram("SCRAM-SHA-256", "sa", kPassword).success);
  ASSERT_TRUE(c.open_stream());
  EXPECT_TRUE(c.features().child("sm", kNsSm)) << c.features().raw;
}

TEST_F(StreamManagementTest, EnableNeedsABoundResourceAndWorksOnce) {
  SmClient c(port());
  ASSERT_TRUE(c.raw().starttls());
  ASSERT_TRUE(c.raw().auth_scram("SCRAM-SHA-256", "sa", kPassword).success);
  ASSERT_TRUE(c.raw().open_stream());
  // §3: the server enforces binding first.
  auto early = c.enable();
  ASSERT_TRUE(early);
  EXPECT_EQ(early->name, "failed");
  EXPECT_EQ(early->condition(kNsStanzas), "unexpected-request");
  ASSERT_EQ(c.raw().bind("once"), "sa@localhost/once");
  auto on = c.enable();
  ASSERT_TRUE(on);
  ASSERT_EQ(on->name, "enabled") << on->raw;
  EXPECT_EQ(on->attr("resume"), "true");
  EXPECT_GE(on->attr("id").size(), 16u);  // unguessable
  EXPECT_EQ(on->attr("max"), "3");        // the configured resume_timeout
  auto again = c.enable();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->name, "failed");
  EXPECT_EQ(again->condition(kNsStanzas), "unexpected-request");
}

TEST_F(StreamManagementTest, ClientsPreferredMaxIsHonouredWhenShorter) {
  SmClient c(port());
  ASSERT_FALSE(c.login("sa", kPassword, "short").empty());
  auto on = c.enable(true, "2");
  ASSERT_TRUE(on);
  EXPECT_EQ(on->attr("max"), "2");
}

TEST_F(StreamManagementTest, ServerAcknowledgesExactlyWhatItHandled) {
  auto a = sm_login(port(), "sb");
  ASSERT_TRUE(a);
  auto b = client("sc", "desk");
  ASSERT_TRUE(go_online(*b));
  a->send_stanza("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>");
  for (int i = 1; i <= 3; ++i) a->send_stanza(chat(b->jid(), "ack" + std::to_string(i)));
  a->request_ack();
  auto h = a->wait_acked(4);
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, 4u);
  for (int i = 1; i <= 3; ++i) EXPECT_TRUE(b->wait_for(message_id("ack" + std::to_string(i))));
  // A request with nothing new is answered with the same count (§4).
  a->request_ack();
  EXPECT_EQ(a->wait_acked(4), 4u);
}

TEST_F(StreamManagementTest, ServerRequestsAcksAndForgetsWhatTheClientAcknowledged) {
  auto a = sm_login(port(), "sd");
  ASSERT_TRUE(a);
  auto b = client("se", "desk");
  ASSERT_TRUE(b->connected());
  b->send(chat("sd@localhost/phone", "to-a-1"));
  settle(*b);  // libstrophe sends when its loop runs
  ASSERT_TRUE(a->wait_for(message_id("to-a-1")));
  // The server asks for an acknowledgement after what it sent (§4); auto-ack answers it.
  ASSERT_TRUE(a->wait_for([](const Node& n) { return n.is("r", kNsSm); }));
  EXPECT_GE(a->ack_requests(), 1u);
  // A client that acknowledges more than it was sent gets the §6 stream error.
  a->raw().send("<a xmlns='urn:xmpp:sm:3' h='" + std::to_string(a->handled() + 5) + "'/>");
  auto err = a->wait_for([](const Node& n) { return n.is("error", kNsStream); });
  ASSERT_TRUE(err);
  EXPECT_EQ(err->condition(kNsStreams), "undefined-condition") << err->raw;
  const Node* detail = err->child("handled-count-too-high", kNsSm);
  ASSERT_TRUE(detail) << err->raw;
  EXPECT_EQ(detail->attr("h"), std::to_string(a->handled() + 5));
  EXPECT_EQ(detail->attr("send-count"), std::to_string(a->handled()));
}

// §5: the connection drops; stanzas sent meanwhile wait; the client resumes on the other
// listener (direct TLS) and gets exactly what it had not acknowledged, once; both counters
// carry over; its contacts never saw it go offline.
TEST_F(StreamManagementTest, ResumesOnAnotherListenerWithExactCounts) {
  auto a = sm_login(port(), "sf");
  ASSERT_TRUE(a);
  a->set_auto_ack(false);
  auto b = client("sg", "desk");
  ASSERT_TRUE(b->connected());
  // Directed presence: b would get unavailable if the session ended (RFC 6121 §4.6.3).
  a->send_stanza("<presence to='" + b->jid() + "'/>");
  ASSERT_TRUE(b->wait_for(presence_from("sf@localhost/phone")));
  b->send(chat("sf@localhost/phone", "m1"));
  settle(*b);  // libstrophe sends when its loop runs
  ASSERT_TRUE(a->wait_for(message_id("m1")));
  a->send_ack();  // m1 is acknowledged...
  b->send(chat("sf@localhost/phone", "m2"));
  settle(*b);                                  // libstrophe sends when its loop runs
  ASSERT_TRUE(a->wait_for(message_id("m2")));  // ...m2 is received but not acknowledged
  a->send_stanza(chat(b->jid(), "from-a-1"));
  ASSERT_TRUE(b->wait_for(message_id("from-a-1")));
  const uint32_t a_handled = a->handled();
  const uint32_t a_sent = a->sent();
  const std::string id = a->sm_id();
  a->drop();
  b->send(chat("sf@localhost/phone", "m3"));  // while the connection is gone
  settle(*b);

  SmClient again(server().direct_tls_port(), /*direct_tls=*/true);
  auto r = again.resume("sf", kPassword, id, a_handled);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->name, "resumed") << r->raw;
  EXPECT_EQ(r->attr("previd"), id);
  EXPECT_EQ(r->attr("h"), std::to_string(a_sent));  // everything a sent was handled
  // m3 arrives (sent while away); m2 does not come twice: a's h covered it.
  ASSERT_TRUE(again.wait_for(message_id("m3")));
  EXPECT_EQ(count_id(again.received(), "m1"), 0);
  EXPECT_EQ(count_id(again.received(), "m2"), 0);
  // Counters go on from the old stream.
  again.send_stanza(chat(b->jid(), "from-a-2"));
  again.request_ack();
  EXPECT_EQ(again.wait_acked(a_sent + 1), a_sent + 1);
  auto last = b->wait_for(message_id("from-a-2"));
  ASSERT_TRUE(last);
  EXPECT_EQ(last->attr("from"), "sf@localhost/phone");
  EXPECT_FALSE(b->has(presence_from("sf@localhost/phone", "unavailable")));
}

// Unacknowledged stanzas in the queue when the connection dropped are sent again, counted
// from the client's 'h'.
TEST_F(StreamManagementTest, UnacknowledgedStanzasAreRetransmittedOnResume) {
  auto a = sm_login(port(), "sh");
  ASSERT_TRUE(a);
  a->set_auto_ack(false);
  auto b = client("si", "desk");
  ASSERT_TRUE(b->connected());
  for (int i = 1; i <= 3; ++i) b->send(chat("sh@localhost/phone", "u" + std::to_string(i)));
  settle(*b);  // libstrophe sends when its loop runs
  ASSERT_TRUE(a->wait_for(message_id("u3")));
  const std::string id = a->sm_id();
  a->drop();
  // The client claims only the first of the three: u2 and u3 come again.
  SmClient again(port());
  auto r = again.resume("sh", kPassword, id, a->handled() - 2);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->name, "resumed") << r->raw;
  ASSERT_TRUE(again.wait_for(message_id("u3")));
  EXPECT_EQ(count_id(again.received(), "u1"), 0);
  EXPECT_EQ(count_id(again.received(), "u2"), 1);
  EXPECT_EQ(count_id(again.received(), "u3"), 1);
  EXPECT_EQ(again.handled(), a->handled());
}

TEST_F(StreamManagementTest, ResumptionIsRefusedForUnknownIdsAndOtherAccounts) {
  auto a = sm_login(port(), "sj");
  ASSERT_TRUE(a);
  const std::string id = a->sm_id();
  a->drop();
  // Another account cannot take the session over (XEP-0198 §9), nor can a made-up id.
  SmClient thief(port());
  auto stolen = thief.resume("sk", kPassword, id, 0);
  ASSERT_TRUE(stolen);
  EXPECT_EQ(stolen->name, "failed");
  EXPECT_EQ(stolen->condition(kNsStanzas), "item-not-found");
  // §5: after a failed resumption the client may bind on the same stream.
  EXPECT_EQ(thief.raw().bind("fresh"), "sk@localhost/fresh");
  SmClient unknown(port());
  auto none = unknown.resume("sj", kPassword, "no-such-session", 0);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->condition(kNsStanzas), "item-not-found");
  // The owner still can.
  SmClient owner(port());
  auto ok = owner.resume("sj", kPassword, id, 0);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->name, "resumed") << ok->raw;
}

TEST_F(StreamManagementTest, OldStreamStillOpenIsClosedWithConflict) {
  auto a = sm_login(port(), "sl");
  ASSERT_TRUE(a);
  SmClient again(port());
  auto r = again.resume("sl", kPassword, a->sm_id(), a->handled());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "resumed") << r->raw;
  EXPECT_EQ(a->raw().stream_error(), "conflict");  // §5
}

// Not resumed in time: the session ends, its contacts see it go, and the message it never
// acknowledged is stored offline with its first delivery time (XEP-0198 §4, XEP-0203).
TEST_F(StreamManagementTest, UnresumedSessionEndsAndUnacknowledgedMessagesGoOffline) {
  auto a = sm_login(port(), "sm");
  ASSERT_TRUE(a);
  a->set_auto_ack(false);
  auto b = client("sn", "desk");
  ASSERT_TRUE(b->connected());
  a->send_stanza("<presence to='" + b->jid() + "'/>");
  ASSERT_TRUE(b->wait_for(presence_from("sm@localhost/phone")));
  b->send(chat("sm@localhost/phone", "lost-1", "first"));
  b->send("<message to='sm@localhost/phone' id='head' type='headline'><body>x</body></message>");
  b->send("<iq to='sm@localhost/phone' type='get' id='q1'><query xmlns='jabber:iq:version'/></iq>");
  settle(*b);  // libstrophe sends when its loop runs
  ASSERT_TRUE(a->wait_for(message_id("head")));
  a->drop();
  // resume_timeout later the session ends: b hears it, and b's unanswered IQ gets an error.
  ASSERT_TRUE(b->wait_for(presence_from("sm@localhost/phone", "unavailable"), deadline(15s)));
  auto iq_error = b->wait_for([](const Node& n) { return n.attr("id") == "q1"; });
  ASSERT_TRUE(iq_error);
  EXPECT_EQ(stanza_error(*iq_error), "service-unavailable") << iq_error->raw;
  b->send(chat("sm@localhost", "later", "second"));
  settle(*b);

  auto fresh = client("sm", "laptop");
  ASSERT_TRUE(go_online(*fresh));
  auto first = fresh->wait_for(message_id("lost-1"));
  ASSERT_TRUE(first) << "the unacknowledged message was lost";
  EXPECT_TRUE(first->child("delay", "urn:xmpp:delay")) << first->raw;
  auto second = fresh->wait_for(message_id("later"));
  ASSERT_TRUE(second);
  // Headlines are not kept (XEP-0160 §3) and the resumption id is gone.
  EXPECT_FALSE(fresh->has(message_id("head")));
  SmClient late(port());
  auto r = late.resume("sm", kPassword, a->sm_id(), 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "failed");
}

// A clean close (</stream:stream>) ends the session at once (XEP-0198 §5): nothing waits
// for a resumption and what was not acknowledged goes to another resource that is online.
TEST_F(StreamManagementTest, CleanCloseEndsTheSessionAndReroutesToAnotherResource) {
  auto a = sm_login(port(), "so", "phone");
  ASSERT_TRUE(a);
  a->set_auto_ack(false);
  auto desk = client("so", "desk");
  ASSERT_TRUE(go_online(*desk));
  auto b = client("sp", "desk");
  ASSERT_TRUE(b->connected());
  b->send(chat("so@localhost/phone", "to-phone"));
  settle(*b);  // libstrophe sends when its loop runs
  ASSERT_TRUE(a->wait_for(message_id("to-phone")));
  a->raw().send("</stream:stream>");
  ASSERT_TRUE(a->raw().wait_eof());
  auto moved = desk->wait_for(message_id("to-phone"));
  ASSERT_TRUE(moved) << "the unacknowledged message did not reach the other resource";
  EXPECT_TRUE(moved->child("delay", "urn:xmpp:delay")) << moved->raw;
  SmClient late(port());
  auto r = late.resume("so", kPassword, a->sm_id(), 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "failed");
}

TEST_F(StreamManagementTest, TooManyUnacknowledgedStanzasEndTheSession) {
  auto a = sm_login(port(), "sa", "greedy");
  ASSERT_TRUE(a);
  a->set_auto_ack(false);
  auto b = client("sb", "flood");
  ASSERT_TRUE(b->connected());
  for (int i = 0; i < 12; ++i) b->send(chat("sa@localhost/greedy", "f" + std::to_string(i)));
  settle(*b);  // libstrophe sends when its loop runs
  auto err = a->wait_for([](const Node& n) { return n.is("error", kNsStream); });
  ASSERT_TRUE(err);
  EXPECT_EQ(err->condition(kNsStreams), "policy-violation");
  // None of them is lost: they wait offline.
  auto fresh = client("sa", "later");
  ASSERT_TRUE(go_online(*fresh));
  for (int i = 0; i < 12; ++i)
    EXPECT_TRUE(fresh->wait_for(message_id("f" + std::to_string(i)))) << i;
}

// XEP-0352 §5.2: a resumed stream starts active, so what client state indication held for
// the old connection goes out right after <resumed/>, without waiting for something urgent.
TEST_F(StreamManagementTest, ResumedStreamGetsWhatWasHeldWhileInactive) {
  auto a = sm_login(port(), "sg", "pocket");
  ASSERT_TRUE(a);
  a->raw().send("<inactive xmlns='urn:xmpp:csi:0'/>");
  auto b = client("sh", "desk");
  ASSERT_TRUE(b->connected());
  b->send("<presence to='sg@localhost/pocket'><status>held</status></presence>");
  settle(*b);
  // Held: the presence reached a's session before a's <r/> (b settled first), and the <a/>
  // answering it, which is not a stanza and is never held, came without it. (A ping would not
  // do: its answer is urgent and releases what is held.)
  a->request_ack();
  ASSERT_TRUE(a->wait_acked(a->sent()));
  EXPECT_FALSE(
      std::any_of(a->received().begin(), a->received().end(), presence_from("sh@localhost/desk")));
  const std::string id = a->sm_id();
  const uint32_t h = a->handled();
  a->drop();
  SmClient again(port());
  auto r = again.resume("sg", kPassword, id, h);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->name, "resumed") << r->raw;
  auto p = again.wait_for(presence_from("sh@localhost/desk"));
  ASSERT_TRUE(p) << "what was held while inactive did not come after resumption";
  EXPECT_EQ(p->child("status")->text, "held");
}

// Real client libraries: libstrophe and slixmpp enable stream management themselves and
// resume after losing their connection.
TEST_F(StreamManagementTest, LibstropheResumesAfterALostConnection) {
  StropheClient a("sc@localhost/strophe", kPassword, port(), /*stream_management=*/true);
  ASSERT_TRUE(a.connect());
  auto b = client("sd", "desk");
  ASSERT_TRUE(b->connected());
  a.send("<presence to='" + b->jid() + "'/>");
  ASSERT_TRUE(b->wait_for(presence_from("sc@localhost/strophe")));
  a.drop();
  b->send(chat("sc@localhost/strophe", "while-away"));
  settle(*b);
  StropheClient back("sc@localhost/strophe", kPassword, port(), true);
  ASSERT_TRUE(back.connect_resuming(a));
  EXPECT_EQ(back.jid(), "sc@localhost/strophe");
  ASSERT_TRUE(back.wait_for(message_id("while-away"))) << "the queued message did not arrive";
  back.send(chat(b->jid(), "i-am-back"));
  ASSERT_TRUE(b->wait_for(message_id("i-am-back")));
  EXPECT_FALSE(b->has(presence_from("sc@localhost/strophe", "unavailable")));
}

TEST_F(StreamManagementTest, SlixmppResumesAfterALostConnection) {
  auto r = run_slixmpp(server(), "sm_resume.py", {"--a", "se@" + kHost, "--b", "sf@" + kHost},
                       kPassword);
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// Dead connections: a client that stops answering is noticed (an <r/> goes unanswered), its
// session waits for resumption, then ends; the unavailable presence goes out within
// ping_interval + ping_timeout + resume_timeout.
TEST(StreamManagementKeepalive, SilentClientIsDetectedAndItsSessionEnds) {
  ServerOptions o = with_users({"ka", "kb"});
  o.c2s = {{"ping_interval", "1s"}, {"ping_timeout", "500ms"}, {"resume_timeout", "1s"}};
  ServerProcess s(o);
  ASSERT_TRUE(s.start()) << s.error();
  SmClient a(s.c2s_port());
  ASSERT_FALSE(a.login("ka", kPassword, "phone").empty());
  ASSERT_TRUE(a.enable());
  // b answers every keepalive <r/> while it waits; a, a phone that lost its network while its
  // TCP connection looks open, reads nothing from here on.
  SmClient b(s.c2s_port());
  ASSERT_FALSE(b.login("kb", kPassword, "desk").empty());
  ASSERT_TRUE(b.enable());
  a.send_stanza("<presence to='kb@localhost/desk'/>");
  ASSERT_TRUE(b.wait_for(presence_from("ka@localhost/phone")));
  ASSERT_TRUE(b.wait_for(presence_from("ka@localhost/phone", "unavailable")))
      << "the dead session's unavailable presence never came";
  EXPECT_GE(b.ack_requests(), 1u);  // b was asked too, answered, and stayed
  // What a would have seen: the server's <r/>, then the connection-timeout stream error.
  a.set_auto_ack(false);
  ASSERT_TRUE(a.wait_for([](const Node& n) { return n.is("r", kNsSm); })) << "no keepalive <r/>";
  auto err = a.wait_for([](const Node& n) { return n.is("error", kNsStream); });
  ASSERT_TRUE(err);
  EXPECT_EQ(err->condition(kNsStreams), "connection-timeout");
  EXPECT_EQ(s.stop(), 0) << s.log();
}

}  // namespace
}  // namespace parley::it
