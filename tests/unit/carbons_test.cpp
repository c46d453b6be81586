// XEP-0280 Message Carbons: the §6.1 eligibility rules (modules/carbons/eligibility.h), and the
// module's XEP-0198 handlers on a real (unstarted) server with fake sessions: a carbon is
// never redelivered, and an unacknowledged eligible message skips the devices that already
// had a copy. The module comes from PARLEY_MODULE_DIR (set by CTest).
#include "modules/carbons/eligibility.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "core/module_host.h"
#include "core/server.h"
#include "fake_session.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "xml/stanza.h"

namespace parley {
namespace {

using parley::testing::FakeSession;

using carbons::Direction;
using carbons::eligible;

std::shared_ptr<xml::Element> message(std::string_view type, std::string_view payload_name = "",
                                      std::string_view payload_ns = "") {
  auto m = std::make_shared<xml::Element>("message", std::string(stanza::kClientNs));
  if (!type.empty()) m->set("type", type);
  m->set("id", "m1");
  if (!payload_name.empty()) m->add(std::string(payload_name), std::string(payload_ns));
  return m;
}

Jid jid(std::string_view s) {
  return *Jid::parse(s);
}

const Jid kPeer = jid("juliet@capulet.example/balcony");

bool sent(const xml::Element& m, bool answers = false) {
  return eligible(m, Direction::Sent, kPeer, answers);
}
bool received(const xml::Element& m, const Jid& from = kPeer, bool answers = false) {
  return eligible(m, Direction::Received, from, answers);
}

TEST(CarbonsEligibility, ChatAlwaysNormalWithABody) {
  EXPECT_TRUE(sent(*message("chat")));
  EXPECT_TRUE(received(*message("chat")));
  EXPECT_TRUE(received(*message("chat", "body", "jabber:client")));
  EXPECT_TRUE(received(*message("normal", "body", "jabber:client")));
  EXPECT_TRUE(received(*message("", "body", "jabber:client")));       // no type = normal
  EXPECT_TRUE(received(*message("bogus", "body", "jabber:client")));  // RFC 6121 §5.2.2
  EXPECT_FALSE(received(*message("normal")));
  EXPECT_FALSE(received(*message("normal", "x", "urn:example:other")));
}

TEST(CarbonsEligibility, ImPayloadsOfAnyNonGroupchatType) {
  for (auto [name, ns] : {std::pair{"request", "urn:xmpp:receipts"},
                          {"received", "urn:xmpp:receipts"},
                          {"composing", "http://jabber.org/protocol/chatstates"},
                          {"displayed", "urn:xmpp:chat-markers:0"},
                          {"markable", "urn:xmpp:chat-markers:0"}}) {
    EXPECT_TRUE(received(*message("normal", name, ns))) << name;
    EXPECT_TRUE(sent(*message("", name, ns))) << name;
    EXPECT_TRUE(received(*message("headline", name, ns))) << name;
    EXPECT_FALSE(received(*message("groupchat", name, ns))) << name;
  }
}

TEST(CarbonsEligibility, HeadlineAndGroupchatAreNot) {
  EXPECT_FALSE(received(*message("headline", "body", "jabber:client")));
  EXPECT_FALSE(received(*message("groupchat", "body", "jabber:client")));
  EXPECT_FALSE(sent(*message("groupchat", "body", "jabber:client")));
}

TEST(CarbonsEligibility, PrivateAndNoCopyOptOut) {
  auto m = message("chat", "body", "jabber:client");
  m->add("private", "urn:xmpp:carbons:2");
  EXPECT_FALSE(sent(*m));
  EXPECT_FALSE(received(*m));  // §9: the receiving server does not copy it either
  auto h = message("chat", "body", "jabber:client");
  h->add("no-copy", "urn:xmpp:hints");
  EXPECT_FALSE(sent(*h));
  EXPECT_FALSE(received(*h));
  auto both = message("chat");
  both->add("private", "urn:xmpp:carbons:2");
  both->add("no-copy", "urn:xmpp:hints");
  EXPECT_FALSE(sent(*both));
}

TEST(CarbonsEligibility, ErrorsOnlyWhenTheyAnswerAnEligibleMessage) {
  auto e = message("error", "body", "jabber:client");
  EXPECT_FALSE(received(*e));
  EXPECT_TRUE(received(*e, kPeer, /*answers=*/true));
  EXPECT_FALSE(sent(*e));
  EXPECT_TRUE(sent(*e, true));
  // "answers" means nothing for other types.
  EXPECT_FALSE(received(*message("headline", "body", "jabber:client"), kPeer, true));
}

TEST(CarbonsEligibility, CarbonsAreNeverCopiedAgain) {
  for (const char* kind : {"sent", "received"}) {
    auto m = message("chat", kind, "urn:xmpp:carbons:2");
    EXPECT_TRUE(carbons::is_carbon(*m));
    EXPECT_FALSE(received(*m)) << kind;
    EXPECT_FALSE(sent(*m)) << kind;
  }
  EXPECT_FALSE(carbons::is_carbon(*message("chat")));
}

TEST(CarbonsEligibility, MucRules) {
  // §6.1: invitations are copied, direct (XEP-0249) and mediated (XEP-0045).
  EXPECT_TRUE(received(*message("", "x", "jabber:x:conference"), jid("juliet@capulet.example")));
  EXPECT_TRUE(sent(*message("normal", "x", "jabber:x:conference")));
  auto mediated = message("");
  mediated->add("x", "http://jabber.org/protocol/muc#user").add("invite");
  EXPECT_TRUE(received(*mediated, jid("room@chat.capulet.example")));
  EXPECT_TRUE(sent(*mediated));
  // A private message from an occupant (a full JID) is not; one to an occupant is.
  auto pm = message("chat", "x", "http://jabber.org/protocol/muc#user");
  EXPECT_FALSE(received(*pm, jid("room@chat.capulet.example/nurse")));
  EXPECT_TRUE(sent(*pm));
  EXPECT_TRUE(received(*pm, jid("room@chat.capulet.example")));  // from the room itself
}

// ---- The XEP-0198 handlers, on a server that is not started ----

class CarbonsUndelivered : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("PARLEY_MODULE_DIR");
    if (!dir || !*dir || !std::filesystem::exists(std::filesystem::path(dir) / "carbons.so"))
      GTEST_SKIP() << "PARLEY_MODULE_DIR has no carbons.so (CTest sets it to the built modules)";
    Config c;
    c.hosts.push_back({"montague.example", "", ""});
    c.modules_dir = dir;
    server_ = std::make_unique<Server>(std::move(c));
    server_->modules().load_all({"carbons"});
  }
  void TearDown() override {
    if (server_) server_->modules().unload_all();
  }

  std::shared_ptr<FakeSession> online(const std::string& j, bool carbons) {
    auto s = std::make_shared<FakeSession>(j);
    s->available = true;
    server_->sessions().add(s);
    if (carbons) {
      auto iq = std::make_shared<xml::Element>("iq", std::string(stanza::kClientNs));
      iq->set("type", "set").set("id", "c1");
      iq->add("enable", "urn:xmpp:carbons:2");
      server_->router().from_client(s, iq);
      auto reply = s->take();
      EXPECT_EQ(reply.size(), 1u);
      if (!reply.empty()) {
        EXPECT_EQ(reply[0].get("type"), "result");
      }
    }
    return s;
  }

  // The session that ended: no longer registered (stanza_events.h).
  Fired undelivered(const std::shared_ptr<xml::Element>& m) {
    auto gone = std::make_shared<FakeSession>("romeo@montague.example/gone");
    MessageUndelivered e{*server_, gone, m};
    return server_->hooks().fire(e);
  }

  std::unique_ptr<Server> server_;
};

std::shared_ptr<xml::Element> chat_from_juliet() {
  auto m = message("chat", "body", "jabber:client");
  m->set("from", "juliet@capulet.example/balcony").set("to", "romeo@montague.example/gone");
  return m;
}

TEST_F(CarbonsUndelivered, ACarbonIsNeverRedelivered) {
  auto laptop = online("romeo@montague.example/laptop", true);
  auto phone = online("romeo@montague.example/phone", false);
  auto copy = std::make_shared<xml::Element>("message", std::string(stanza::kClientNs));
  copy->set("type", "chat").set("from", "romeo@montague.example");
  copy->set("to", "romeo@montague.example/gone");
  copy->add("received", "urn:xmpp:carbons:2").add("forwarded", "urn:xmpp:forward:0");
  EXPECT_TRUE(undelivered(copy).stopped);
  EXPECT_TRUE(laptop->take().empty());
  EXPECT_TRUE(phone->take().empty());
}

TEST_F(CarbonsUndelivered, DevicesWithACopyAreSkipped) {
  auto laptop = online("romeo@montague.example/laptop", true);
  auto phone = online("romeo@montague.example/phone", false);
  undelivered(chat_from_juliet());
  // The laptop had a <received/> copy already; the phone, without carbons, gets the message.
  EXPECT_TRUE(laptop->take().empty());
  auto got = phone->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].get("from"), "juliet@capulet.example/balcony");
  EXPECT_FALSE(got[0].child("received", "urn:xmpp:carbons:2"));
}

TEST_F(CarbonsUndelivered, AMessageThatWasNotCopiedGoesToCarbonsDevicesToo) {
  auto laptop = online("romeo@montague.example/laptop", true);
  auto m = chat_from_juliet();
  m->add("private", "urn:xmpp:carbons:2");  // never copied: the laptop has no copy of it
  undelivered(m);
  EXPECT_EQ(laptop->take().size(), 1u);
}

TEST_F(CarbonsUndelivered, TheSendingDeviceOfAMessageToSelfIsSkipped) {
  auto laptop = online("romeo@montague.example/laptop", false);
  auto phone = online("romeo@montague.example/phone", false);
  auto m = message("chat", "body", "jabber:client");
  m->set("from", "romeo@montague.example/laptop").set("to", "romeo@montague.example/gone");
  undelivered(m);
  EXPECT_TRUE(laptop->take().empty());
  EXPECT_EQ(phone->take().size(), 1u);
}

}  // namespace
}  // namespace parley
