// XEP-0352 Client State Indication: what may wait and how held stanzas coalesce
// (modules/csi/client_state.h), and the module on a real (unstarted) server with fake
// sessions: <inactive/>, holding, urgent stanzas releasing, <active/>, and a state moved to a
// new connection by stream resumption. The module comes from PARLEY_MODULE_DIR (set by CTest).
#include "modules/csi/client_state.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "core/module_host.h"
#include "core/server.h"
#include "fake_session.h"
#include "router/stanza_events.h"
#include "xml/stanza.h"

namespace parley {
namespace {

using parley::testing::FakeSession;

using csi::classify;
using csi::Kind;

std::shared_ptr<xml::Element> stanza(std::string_view name, std::string_view from,
                                     std::string_view type = {}) {
  auto s = std::make_shared<xml::Element>(std::string(name), std::string(stanza::kClientNs));
  s->set("from", from);
  if (!type.empty()) s->set("type", type);
  return s;
}

std::shared_ptr<xml::Element> chat_state(std::string_view from, std::string_view state) {
  auto m = stanza("message", from, "chat");
  m->add(std::string(state), std::string(csi::kChatStatesNs));
  return m;
}

std::shared_ptr<xml::Element> presence(std::string_view from, std::string_view show = {}) {
  auto p = stanza("presence", from);
  if (!show.empty()) p->text_child("show", show);
  return p;
}

TEST(CsiClassify, PresenceUpdatesMayWait) {
  auto c = classify(presence("romeo@montague.example/orchard").get());
  EXPECT_EQ(c.kind, Kind::Presence);
  EXPECT_EQ(c.key, "romeo@montague.example/orchard");
  EXPECT_EQ(
      classify(stanza("presence", "romeo@montague.example/orchard", "unavailable").get()).kind,
      Kind::Presence);
  // What needs the user does not wait.
  for (const char* type : {"subscribe", "subscribed", "unsubscribe", "unsubscribed", "error"})
    EXPECT_EQ(classify(stanza("presence", "romeo@montague.example", type).get()).kind, Kind::Urgent)
        << type;
}

TEST(CsiClassify, OnlyChatStatesMayWait) {
  auto c = classify(chat_state("romeo@montague.example/orchard", "composing").get());
  EXPECT_EQ(c.kind, Kind::ChatState);
  EXPECT_EQ(c.key, "romeo@montague.example/orchard");
  // With a thread, hints, ids and a delay it is still only a chat state.
  auto m = chat_state("romeo@montague.example/orchard", "paused");
  m->text_child("thread", "t1");
  m->add("no-store", "urn:xmpp:hints");
  m->add("stanza-id", "urn:xmpp:sid:0").set("id", "s1");
  m->add("delay", "urn:xmpp:delay").set("stamp", "2026-01-01T00:00:00Z");
  EXPECT_EQ(classify(m.get()).kind, Kind::ChatState);
  // A body, a receipt or a marker is news.
  auto body = chat_state("romeo@montague.example/orchard", "active");
  body->text_child("body", "hi");
  EXPECT_EQ(classify(body.get()).kind, Kind::Urgent);
  auto receipt = chat_state("romeo@montague.example/orchard", "active");
  receipt->add("received", "urn:xmpp:receipts").set("id", "m1");
  EXPECT_EQ(classify(receipt.get()).kind, Kind::Urgent);
  auto marker = stanza("message", "romeo@montague.example/orchard", "chat");
  marker->add("displayed", "urn:xmpp:chat-markers:0").set("id", "m1");
  EXPECT_EQ(classify(marker.get()).kind, Kind::Urgent);
  auto error = chat_state("romeo@montague.example/orchard", "composing");
  error->set("type", "error");
  EXPECT_EQ(classify(error.get()).kind, Kind::Urgent);
  EXPECT_EQ(classify(stanza("message", "romeo@montague.example/orchard", "chat").get()).kind,
            Kind::Urgent);  // an empty message: nothing to say it may wait
}

TEST(CsiClassify, CarbonsOfChatStatesMayWaitPerConversation) {
  auto wrap = [](std::string_view kind, std::shared_ptr<xml::Element> inner) {
    auto m = stanza("message", "juliet@capulet.example", "chat");
    m->add(std::string(kind), std::string(csi::kCarbonsNs))
        .add("forwarded", std::string(csi::kForwardNs))
        .add(*inner);
    return m;
  };
  auto received = wrap("received", chat_state("romeo@montague.example/orchard", "composing"));
  auto c = classify(received.get());
  EXPECT_EQ(c.kind, Kind::ChatState);
  EXPECT_EQ(c.key, "received\nromeo@montague.example/orchard");
  auto inner = chat_state("juliet@capulet.example/phone", "composing");
  inner->set("to", "nurse@capulet.example");
  auto sent = wrap("sent", inner);
  c = classify(sent.get());
  EXPECT_EQ(c.kind, Kind::ChatState);
  EXPECT_EQ(c.key, "sent\nnurse@capulet.example");
  auto body = chat_state("romeo@montague.example/orchard", "active");
  body->text_child("body", "hi");
  EXPECT_EQ(classify(wrap("received", body).get()).kind, Kind::Urgent);
}

TEST(CsiClassify, IqsAndUnknownBytesDoNotWait) {
  EXPECT_EQ(classify(stanza("iq", "montague.example", "result").get()).kind, Kind::Urgent);
  EXPECT_EQ(classify(stanza("iq", "romeo@montague.example/orchard", "get").get()).kind,
            Kind::Urgent);
  EXPECT_EQ(classify(nullptr).kind, Kind::Urgent);  // pre-serialized fan-out bytes
}

TEST(CsiHeld, KeepsTheLatestPerSenderAndKindInOrderOfArrival) {
  csi::Held h;
  auto a1 = presence("a@x/1", "away"), b1 = presence("b@x/1"), a2 = presence("a@x/1", "xa");
  auto a_typing = chat_state("a@x/1", "composing"), c1 = presence("c@x/1");
  auto a_paused = chat_state("a@x/1", "paused");
  ASSERT_TRUE(h.hold(Kind::Presence, "a@x/1", a1));
  ASSERT_TRUE(h.hold(Kind::Presence, "b@x/1", b1));
  ASSERT_TRUE(h.hold(Kind::Presence, "a@x/1", a2));
  ASSERT_TRUE(h.hold(Kind::ChatState, "a@x/1", a_typing));
  ASSERT_TRUE(h.hold(Kind::Presence, "c@x/1", c1));
  ASSERT_TRUE(h.hold(Kind::ChatState, "a@x/1", a_paused));
  EXPECT_EQ(h.contacts(), 3u);
  EXPECT_EQ(h.take(), (std::vector<csi::Stanza>{b1, a2, c1, a_paused}));
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.contacts(), 0u);
}

TEST(CsiHeld, OneContactTooManyIsRefused) {
  csi::Held h(2);
  ASSERT_TRUE(h.hold(Kind::Presence, "a", presence("a")));
  ASSERT_TRUE(h.hold(Kind::Presence, "b", presence("b")));
  EXPECT_TRUE(h.hold(Kind::ChatState, "a", chat_state("a", "composing")));  // a known sender
  EXPECT_TRUE(h.hold(Kind::Presence, "b", presence("b", "away")));          // replaced
  EXPECT_FALSE(h.hold(Kind::Presence, "c", presence("c")));
  EXPECT_EQ(h.size(), 3u);
}

// ---- The module, on a server that is not started ----

class CsiModule : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("PARLEY_MODULE_DIR");
    if (!dir || !*dir || !std::filesystem::exists(std::filesystem::path(dir) / "csi.so"))
      GTEST_SKIP() << "PARLEY_MODULE_DIR has no csi.so (CTest sets it to the built modules)";
    Config c;
    c.hosts.push_back({"capulet.example", "", ""});
    c.modules_dir = dir;
    server_ = std::make_unique<Server>(std::move(c));
    server_->modules().load_all({"csi"});
  }
  void TearDown() override {
    if (server_) server_->modules().unload_all();
  }

  std::shared_ptr<FakeSession> session(const std::string& j) {
    auto s = std::make_shared<FakeSession>(j, server_.get());
    return s;
  }
  bool nonza(const std::shared_ptr<FakeSession>& s, std::string_view name) {
    xml::Element e(std::string(name), std::string(csi::kNs));
    ClientNonza event{*server_, s, e};
    return server_->hooks().fire(event).stopped;
  }

  std::unique_ptr<Server> server_;
};

TEST_F(CsiModule, AdvertisedAfterAuthentication) {
  auto features = server_->features().stream_features(StreamStage::PostAuth);
  ASSERT_EQ(features.size(), 1u);
  EXPECT_EQ(features[0].name(), "csi");
  EXPECT_EQ(features[0].xmlns(), csi::kNs);
  EXPECT_TRUE(server_->features().stream_features(StreamStage::PreAuth).empty());
}

TEST_F(CsiModule, HoldsWhileInactiveAndReleasesBeforeWhatIsUrgent) {
  auto s = session("juliet@capulet.example/phone");
  auto p1 = presence("romeo@montague.example/orchard", "away");
  s->deliver(p1);  // active: straight through
  EXPECT_EQ(s->take_stanzas(), (std::vector<csi::Stanza>{p1}));

  ASSERT_TRUE(nonza(s, "inactive"));
  auto p2 = presence("romeo@montague.example/orchard", "xa");
  auto n1 = presence("nurse@capulet.example/kitchen");
  auto p3 = presence("romeo@montague.example/orchard", "dnd");
  auto typing = chat_state("romeo@montague.example/orchard", "composing");
  for (const auto& x : {p2, n1, p3, typing}) s->deliver(x);
  EXPECT_TRUE(s->take_stanzas().empty());
  auto body = stanza("message", "romeo@montague.example/orchard", "chat");
  body->text_child("body", "hi");
  s->deliver(body);
  EXPECT_EQ(s->take_stanzas(), (std::vector<csi::Stanza>{n1, p3, typing, body}));
  // Still inactive: holding again.
  auto p4 = presence("nurse@capulet.example/kitchen", "away");
  s->deliver(p4);
  EXPECT_TRUE(s->take_stanzas().empty());
  auto pong = stanza("iq", "capulet.example", "result");
  s->deliver(pong);
  EXPECT_EQ(s->take_stanzas(), (std::vector<csi::Stanza>{p4, pong}));
}

TEST_F(CsiModule, ActiveDeliversWhatWasHeld) {
  auto s = session("juliet@capulet.example/phone");
  ASSERT_TRUE(nonza(s, "inactive"));
  auto p = presence("romeo@montague.example/orchard");
  s->deliver(p);
  EXPECT_TRUE(s->take_stanzas().empty());
  ASSERT_TRUE(nonza(s, "active"));
  EXPECT_EQ(s->take_stanzas(), (std::vector<csi::Stanza>{p}));
  auto q = presence("romeo@montague.example/orchard", "away");
  s->deliver(q);
  EXPECT_EQ(s->take_stanzas(), (std::vector<csi::Stanza>{q}));
  // <active/> on a session that never was inactive, and twice, is fine (§4.2: no answer).
  auto fresh = session("juliet@capulet.example/laptop");
  EXPECT_TRUE(nonza(fresh, "active"));
  EXPECT_TRUE(nonza(s, "active"));
  EXPECT_TRUE(fresh->take_stanzas().empty());
}

TEST_F(CsiModule, OtherElementsAreNotCsi) {
  auto s = session("juliet@capulet.example/phone");
  EXPECT_FALSE(nonza(s, "csi"));  // the core then ends the stream (unsupported-stanza-type)
  xml::Element other("inactive", "urn:example:other");
  ClientNonza event{*server_, s, other};
  EXPECT_FALSE(server_->hooks().fire(event).stopped);
}

TEST_F(CsiModule, ResumedStreamStartsActive) {
  auto old_connection = session("juliet@capulet.example/phone");
  ASSERT_TRUE(nonza(old_connection, "inactive"));
  auto p = presence("romeo@montague.example/orchard");
  old_connection->deliver(p);
  EXPECT_TRUE(old_connection->take_stanzas().empty());

  auto resumed = session("juliet@capulet.example/phone");
  resumed->resume_from(*old_connection);
  // §5.2: the first stanza for the new connection finds it active; what the old one held goes
  // out first.
  auto q = presence("nurse@capulet.example/kitchen");
  resumed->deliver(q);
  EXPECT_EQ(resumed->take_stanzas(), (std::vector<csi::Stanza>{p, q}));
}

TEST_F(CsiModule, ResumedSessionFlushesAtOnce) {
  auto old_connection = session("juliet@capulet.example/phone");
  ASSERT_TRUE(nonza(old_connection, "inactive"));
  auto p = presence("romeo@montague.example/orchard");
  old_connection->deliver(p);
  auto resumed = session("juliet@capulet.example/phone");
  resumed->resume_from(*old_connection);
  SessionResumed event{*server_, resumed, old_connection};
  server_->hooks().fire(event);
  EXPECT_EQ(resumed->take_stanzas(), (std::vector<csi::Stanza>{p}));
}

}  // namespace
}  // namespace parley
