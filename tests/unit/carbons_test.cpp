// XEP-0280 Message Carbons: the §6.1 eligibility rules (modules/carbons/eligibility.h).
#include "modules/carbons/eligibility.h"

#include <gtest/gtest.h>

#include "xml/stanza.h"

namespace parley {
namespace {

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

}  // namespace
}  // namespace parley
