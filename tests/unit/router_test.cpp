// Routing rules (RFC 6120 §10, RFC 6121 §8.5): the pure delivery rules, and the router with its
// default handlers on a Server that is constructed but not started (no storage, no network),
// with fake sessions that record what they are given.
#include "router/router.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "core/module.h"
#include "core/module_host.h"
#include "core/server.h"
#include "fake_session.h"
#include "router/continuation.h"
#include "router/delivery.h"
#include "router/stanza_events.h"
#include "xml/stanza.h"

namespace parley {
namespace {

using parley::testing::FakeSession;

using namespace delivery;

// ---- The pure rules ----

TEST(DeliveryRules, MessageTypes) {
  EXPECT_EQ(message_type(""), MessageType::Normal);
  EXPECT_EQ(message_type("normal"), MessageType::Normal);
  EXPECT_EQ(message_type("bogus"), MessageType::Normal);  // RFC 6121 §5.2.2
  EXPECT_EQ(message_type("chat"), MessageType::Chat);
  EXPECT_EQ(message_type("groupchat"), MessageType::Groupchat);
  EXPECT_EQ(message_type("headline"), MessageType::Headline);
  EXPECT_EQ(message_type("error"), MessageType::Error);
}

TEST(DeliveryRules, ChatGoesToAllOfTheHighestNonNegativePriority) {
  std::vector<Resource> r{{5, true}, {10, true}, {10, true}, {20, false}, {-1, true}};
  for (auto type : {MessageType::Chat, MessageType::Normal}) {
    auto plan = bare_message(type, r);
    EXPECT_EQ(plan.action, Action::Deliver);
    EXPECT_EQ(plan.targets, (std::vector<size_t>{1, 2}));
  }
}

TEST(DeliveryRules, NegativePriorityNeverGetsBareMessages) {
  std::vector<Resource> r{{-1, true}, {-128, true}};
  EXPECT_EQ(bare_message(MessageType::Chat, r).action, Action::Bounce);
  EXPECT_EQ(bare_message(MessageType::Headline, r).action, Action::Ignore);
}

TEST(DeliveryRules, NoAvailableResource) {
  std::vector<Resource> r{{10, false}};
  EXPECT_EQ(bare_message(MessageType::Normal, r).action, Action::Bounce);
  EXPECT_EQ(bare_message(MessageType::Chat, {}).action, Action::Bounce);
  EXPECT_EQ(bare_message(MessageType::Headline, r).action, Action::Ignore);
  EXPECT_EQ(bare_message(MessageType::Error, r).action, Action::Ignore);
  EXPECT_EQ(bare_message(MessageType::Groupchat, r).action, Action::Bounce);
}

TEST(DeliveryRules, HeadlineGoesToEveryNonNegativeAvailableResource) {
  std::vector<Resource> r{{0, true}, {3, true}, {-5, true}, {9, false}};
  auto plan = bare_message(MessageType::Headline, r);
  EXPECT_EQ(plan.action, Action::Deliver);
  EXPECT_EQ(plan.targets, (std::vector<size_t>{0, 1}));
}

TEST(DeliveryRules, GroupchatAndErrorToBareWithResources) {
  std::vector<Resource> r{{1, true}};
  EXPECT_EQ(bare_message(MessageType::Groupchat, r).action, Action::Bounce);
  EXPECT_EQ(bare_message(MessageType::Error, r).action, Action::Ignore);
}

TEST(DeliveryRules, FullJid) {
  for (auto t : {MessageType::Normal, MessageType::Chat, MessageType::Headline,
                 MessageType::Groupchat, MessageType::Error})
    EXPECT_EQ(full_message(t, true), FullAction::Deliver);
  EXPECT_EQ(full_message(MessageType::Normal, false), FullAction::AsBare);
  EXPECT_EQ(full_message(MessageType::Chat, false), FullAction::AsBare);
  EXPECT_EQ(full_message(MessageType::Headline, false), FullAction::AsBare);
  EXPECT_EQ(full_message(MessageType::Groupchat, false), FullAction::Bounce);
  EXPECT_EQ(full_message(MessageType::Error, false), FullAction::Ignore);
}

TEST(DeliveryRules, Priority) {
  EXPECT_EQ(parse_priority(""), 0);
  EXPECT_EQ(parse_priority("5"), 5);
  EXPECT_EQ(parse_priority(" -128 "), -128);
  EXPECT_EQ(parse_priority("127"), 127);
  EXPECT_EQ(parse_priority("128"), 0);
  EXPECT_EQ(parse_priority("-129"), 0);
  EXPECT_EQ(parse_priority("+3"), 3);
  EXPECT_EQ(parse_priority("3x"), 0);
  EXPECT_EQ(parse_priority("99999999999999999999"), 0);
}

// ---- The router on a real (unstarted) server ----

Config test_config() {
  Config c;
  VirtualHost h;
  h.domain = "example.com";
  c.hosts.push_back(h);
  return c;
}

std::string error_condition(const xml::Element& e) {
  const auto* err = e.child("error");
  if (!err) return {};
  for (const auto* c : err->children())
    if (c->xmlns() == stanza::kStanzasNs && c->name() != "text") return c->name();
  return {};
}

class RouterTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeSession> add(const std::string& jid, int priority, bool available) {
    auto s = std::make_shared<FakeSession>(jid);
    s->priority = priority;
    s->available = available;
    server.sessions().add(s);
    return s;
  }
  static std::shared_ptr<xml::Element> message(std::string_view to, std::string_view type = {}) {
    auto m = std::make_shared<xml::Element>("message", std::string(stanza::kClientNs));
    if (!to.empty()) m->set("to", to);
    if (!type.empty()) m->set("type", type);
    m->set("id", "m1");
    m->text_child("body", "hi");
    return m;
  }
  static std::shared_ptr<xml::Element> iq(std::string_view to, std::string_view type,
                                          std::string_view ns) {
    auto q = std::make_shared<xml::Element>("iq", std::string(stanza::kClientNs));
    if (!to.empty()) q->set("to", to);
    q->set("type", type);
    q->set("id", "q1");
    if (!ns.empty()) q->add("query", std::string(ns));
    return q;
  }

  Server server{test_config()};
  Router& router = server.router();
};

TEST_F(RouterTest, ChatToBareGoesToHighestPriorityOnly) {
  auto juliet_low = add("juliet@example.com/low", 1, true);
  auto juliet_high = add("juliet@example.com/high", 10, true);
  auto juliet_neg = add("juliet@example.com/neg", -1, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com", "chat"));
  auto got = juliet_high->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].get("from"), "romeo@example.com/orchard");  // stamped by the router
  EXPECT_TRUE(juliet_low->take().empty());
  EXPECT_TRUE(juliet_neg->take().empty());
  EXPECT_TRUE(romeo->take().empty());
}

TEST_F(RouterTest, ChatToBareWithoutAvailableResourceIsServiceUnavailable) {
  auto juliet = add("juliet@example.com/balcony", 5, false);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com", "chat"));
  EXPECT_TRUE(juliet->take().empty());
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].get("type"), "error");
  EXPECT_EQ(got[0].get("from"), "juliet@example.com");
  EXPECT_EQ(error_condition(got[0]), "service-unavailable");
}

TEST_F(RouterTest, ErrorMessagesAreNeverAnswered) {
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("nobody@example.com", "error"));
  router.from_client(romeo, message("nobody@elsewhere.example", "error"));
  EXPECT_TRUE(romeo->take().empty());
}

TEST_F(RouterTest, ChatToUnknownFullJidIsTreatedAsBare) {
  auto juliet = add("juliet@example.com/balcony", 0, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com/gone", "chat"));
  EXPECT_EQ(juliet->take().size(), 1u);
  router.from_client(romeo, message("juliet@example.com/gone", "groupchat"));
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(error_condition(got[0]), "service-unavailable");
  EXPECT_TRUE(juliet->take().empty());
}

TEST_F(RouterTest, MessageToFullJidReachesThatResourceEvenAtNegativePriority) {
  auto juliet = add("juliet@example.com/balcony", -5, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com/balcony", "chat"));
  EXPECT_EQ(juliet->take().size(), 1u);
}

TEST_F(RouterTest, MessageWithoutToGoesToTheSendersBareJid) {
  auto other = add("romeo@example.com/phone", 3, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message(""));
  EXPECT_EQ(other->take().size(), 1u);
  EXPECT_TRUE(romeo->take().empty());
}

TEST_F(RouterTest, MalformedToIsJidMalformed) {
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("@@bad@"));
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(error_condition(got[0]), "jid-malformed");
  EXPECT_EQ(got[0].get("from"), "example.com");
}

TEST_F(RouterTest, RemoteDomainIsRemoteServerNotFoundWithoutS2s) {
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("someone@elsewhere.example", "chat"));
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(error_condition(got[0]), "remote-server-not-found");
}

TEST_F(RouterTest, StanzasToAComponentDomainGoToItsHandler) {
  std::vector<std::string> seen;
  auto reg = server.components().add("groups.example.com", [&](StanzaToComponent& e) {
    seen.push_back(e.stanza->name() + " " + e.from.str() + " -> " + e.to.str());
  });
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("Room@Groups.Example.com/Nick", "groupchat"));
  auto p = std::make_shared<xml::Element>("presence", "jabber:client");
  p->set("to", "room@groups.example.com/romeo");
  router.from_client(romeo, p);
  router.from_client(romeo,
                     iq("groups.example.com", "get", "http://jabber.org/protocol/disco#info"));
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "message romeo@example.com/orchard -> room@groups.example.com/Nick",
                      "presence romeo@example.com/orchard -> room@groups.example.com/romeo",
                      "iq romeo@example.com/orchard -> groups.example.com"}));
  EXPECT_TRUE(romeo->take().empty());
  EXPECT_THROW((void)server.components().add("groups.example.com", [](StanzaToComponent&) {}),
               std::invalid_argument);

  // Once released, the domain is remote again (and without s2s, not found).
  reg.reset();
  router.from_client(romeo, message("room@groups.example.com", "groupchat"));
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(error_condition(got[0]), "remote-server-not-found");
  EXPECT_EQ(seen.size(), 3u);
}

TEST_F(RouterTest, IqToFullJid) {
  auto juliet = add("juliet@example.com/balcony", 0, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, iq("juliet@example.com/balcony", "get", "urn:example"));
  EXPECT_EQ(juliet->take().size(), 1u);
  router.from_client(romeo, iq("juliet@example.com/gone", "get", "urn:example"));
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(error_condition(got[0]), "service-unavailable");
  router.from_client(romeo, iq("juliet@example.com/gone", "result", ""));
  EXPECT_TRUE(romeo->take().empty());
}

TEST_F(RouterTest, IqToSelfDispatchesAndRepliesFromTheBareJid) {
  auto reg = server.iq().add("urn:example", "query", IqType::Get, IqScope::Self,
                             [](const IqRequest& r) { r.reply(); });
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, iq("", "get", "urn:example"));
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].get("type"), "result");
  EXPECT_EQ(got[0].get("id"), "q1");
  EXPECT_EQ(got[0].get("from"), "romeo@example.com");
  EXPECT_EQ(got[0].get("to"), "romeo@example.com/orchard");
}

TEST_F(RouterTest, IqNobodyHandlesIsServiceUnavailable) {
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, iq("example.com", "get", "urn:nobody"));
  router.from_client(romeo, iq("", "set", "urn:nobody"));
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(error_condition(got[0]), "service-unavailable");
  EXPECT_EQ(got[0].get("from"), "example.com");
  EXPECT_EQ(error_condition(got[1]), "service-unavailable");
  EXPECT_EQ(got[1].get("from"), "romeo@example.com");
}

TEST_F(RouterTest, IqToHostWithResourceIsTheHost) {
  bool called = false;
  auto reg =
      server.iq().add("urn:example", "query", IqType::Get, IqScope::Host, [&](const IqRequest& r) {
        called = true;
        EXPECT_EQ(r.to().str(), "example.com");
        r.reply();
      });
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, iq("example.com/res", "get", "urn:example"));
  EXPECT_TRUE(called);
  ASSERT_EQ(romeo->take().size(), 1u);
}

TEST_F(RouterTest, IqHandlerThrowingIsInternalServerError) {
  auto reg = server.iq().add("urn:example", "query", IqType::Get, IqScope::Host,
                             [](const IqRequest&) { throw std::runtime_error("boom"); });
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, iq("example.com", "get", "urn:example"));
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(error_condition(got[0]), "internal-server-error");
}

TEST_F(RouterTest, IqHandlerReplyingThenThrowingAnswersOnce) {
  auto reg =
      server.iq().add("urn:example", "query", IqType::Get, IqScope::Host, [](const IqRequest& r) {
        r.reply();
        throw std::runtime_error("late");
      });
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, iq("example.com", "get", "urn:example"));
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].get("type"), "result");
}

TEST_F(RouterTest, IqWithoutExactlyOneChildIsBadRequest) {
  auto romeo = add("romeo@example.com/orchard", 0, true);
  auto two = iq("example.com", "get", "urn:example");
  two->add("extra", "urn:example");
  router.from_client(romeo, two);
  router.from_client(romeo, iq("example.com", "get", ""));
  router.from_client(romeo, iq("example.com", "bogus", "urn:example"));
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 3u);
  for (const auto& e : got) EXPECT_EQ(error_condition(e), "bad-request");
}

TEST_F(RouterTest, FailingEventHandlerAnswersInternalServerError) {
  auto token = server.hooks().on<MessageToBare>(
      0, [](MessageToBare&) -> Flow { throw std::runtime_error("boom"); });
  auto juliet = add("juliet@example.com/balcony", 0, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com", "chat"));
  EXPECT_TRUE(juliet->take().empty());
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(error_condition(got[0]), "internal-server-error");
}

TEST_F(RouterTest, StanzaFromClientStopEndsRouting) {
  auto token = server.hooks().on<StanzaFromClient>(priority::kFirst,
                                                   [](StanzaFromClient&) { return Flow::Stop; });
  auto juliet = add("juliet@example.com/balcony", 0, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com", "chat"));
  EXPECT_TRUE(juliet->take().empty());
  EXPECT_TRUE(romeo->take().empty());
}

TEST_F(RouterTest, ClassifiesTargets) {
  std::vector<std::string> seen;
  auto t1 = server.hooks().on<MessageToHost>(0, [&](MessageToHost& e) {
    seen.push_back("host " + e.to.str());
    return Flow::Stop;
  });
  auto t2 = server.hooks().on<PresenceToBare>(0, [&](PresenceToBare& e) {
    seen.push_back("bare " + e.to.str());
    return Flow::Stop;
  });
  auto t3 = server.hooks().on<StanzaToRemote>(0, [&](StanzaToRemote& e) {
    seen.push_back("remote " + e.to.str());
    return Flow::Stop;
  });
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("example.com/motd"));
  // Presence without 'to' is the broadcast, fired to the sender's own bare JID.
  router.from_client(romeo, std::make_shared<xml::Element>("presence", "jabber:client"));
  router.from_client(romeo, message("x@Elsewhere.Example"));
  EXPECT_EQ(seen, (std::vector<std::string>{"host example.com/motd", "bare romeo@example.com",
                                            "remote x@elsewhere.example"}));
}

TEST_F(RouterTest, PresenceFromContactToBareGoesToAvailableResources) {
  auto juliet = add("juliet@example.com/balcony", -1, true);
  auto juliet_away = add("juliet@example.com/off", 0, false);
  xml::Element p("presence", "jabber:client");
  p.set("from", "romeo@example.com/orchard");
  p.set("to", "juliet@example.com");
  router.route(p);
  EXPECT_EQ(juliet->take().size(), 1u);
  EXPECT_TRUE(juliet_away->take().empty());
}

TEST_F(RouterTest, PresenceToMissingFullJidIsIgnored) {
  auto romeo = add("romeo@example.com/orchard", 0, true);
  auto p = std::make_shared<xml::Element>("presence", "jabber:client");
  p->set("to", "juliet@example.com/none");
  router.from_client(romeo, p);
  EXPECT_TRUE(romeo->take().empty());
}

// ---- A handler that has to wait (router/continuation.h) ----

// Counts the calls of handlers placed around the one that suspends.
struct Calls {
  std::atomic<int> above{0}, below{0};
};

class SuspensionTest : public RouterTest {
 protected:
  // A handler of E at `priority` that suspends every stanza, and counting handlers above and
  // below it.
  template <class E>
  void suspend_at(int priority) {
    tokens.push_back(server.hooks().on<E>(priority + 1, [this](E&) {
      ++calls.above;
      return Flow::Continue;
    }));
    tokens.push_back(server.hooks().on<E>(priority, [this](E& e) {
      std::lock_guard lock(mutex);
      waiting.push_back(suspend(e));
      return Flow::Stop;
    }));
    tokens.push_back(server.hooks().on<E>(priority - 1, [this](E&) {
      ++calls.below;
      return Flow::Continue;
    }));
  }
  Continuation take() {
    std::lock_guard lock(mutex);
    EXPECT_EQ(waiting.size(), 1u);
    Continuation c = waiting.front();
    waiting.erase(waiting.begin());
    return c;
  }
  size_t suspended() {
    std::lock_guard lock(mutex);
    return waiting.size();
  }

  std::vector<HookToken> tokens;
  Calls calls;
  std::mutex mutex;
  std::vector<Continuation> waiting;
};

TEST_F(SuspensionTest, AStanzaFromAClientIsRoutedWhenResumedAndEarlierHandlersRunOnce) {
  suspend_at<StanzaFromClient>(priority::kFilter);
  auto juliet = add("juliet@example.com/balcony", 0, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com", "chat"));
  EXPECT_TRUE(juliet->take().empty()) << "routed before it was resumed";
  EXPECT_EQ(calls.above, 1);
  EXPECT_EQ(calls.below, 0);

  Continuation c = take();
  EXPECT_EQ(c.event().stanza->get("from"), "romeo@example.com/orchard");
  c.resume();
  EXPECT_EQ(calls.above, 1) << "a handler above the suspended one ran again";
  EXPECT_EQ(calls.below, 1);
  auto got = juliet->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].child_text("body"), "hi");
  EXPECT_TRUE(romeo->take().empty());
}

TEST_F(SuspensionTest, ResumesOnAnotherThread) {
  suspend_at<MessageToBare>(priority::kFilter);
  auto juliet = add("juliet@example.com/balcony", 0, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com", "chat"));
  Continuation c = take();
  std::thread worker([c] { c.resume(); });
  worker.join();
  EXPECT_EQ(calls.above, 1);
  EXPECT_EQ(calls.below, 1);
  EXPECT_EQ(juliet->take().size(), 1u);  // the default handler, after the resumed ones
}

TEST_F(SuspensionTest, ResumedRoutedEventsEndWithTheDefaultHandlersAnswer) {
  suspend_at<MessageToBare>(priority::kFilter);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com", "chat"));  // nobody online
  take().resume();
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(error_condition(got[0]), "service-unavailable");  // RFC 6121 §8.5.2.2.1
}

TEST_F(SuspensionTest, AHandlerThatStopsAfterTheResumptionEndsTheWay) {
  suspend_at<StanzaFromClient>(priority::kFilter);
  tokens.push_back(server.hooks().on<StanzaFromClient>(
      priority::kNormal, [](StanzaFromClient&) { return Flow::Stop; }));
  auto juliet = add("juliet@example.com/balcony", 0, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com", "chat"));
  take().resume();
  EXPECT_EQ(calls.below, 1);
  EXPECT_TRUE(juliet->take().empty()) << "dispatched although a later handler stopped it";
  EXPECT_TRUE(romeo->take().empty());
}

TEST_F(SuspensionTest, AHandlerThatThrowsAfterTheResumptionAnswersInternalServerError) {
  suspend_at<StanzaFromClient>(priority::kFilter);
  tokens.push_back(server.hooks().on<StanzaFromClient>(
      priority::kNormal, [](StanzaFromClient&) -> Flow { throw std::runtime_error("late"); }));
  auto juliet = add("juliet@example.com/balcony", 0, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com", "chat"));
  take().resume();
  EXPECT_TRUE(juliet->take().empty());
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(error_condition(got[0]), "internal-server-error");

  // The same after a routed event's suspension, and only where a reply is due.
  tokens.clear();
  suspend_at<PresenceToBare>(priority::kFilter);
  suspend_at<MessageToBare>(priority::kFilter);
  tokens.push_back(server.hooks().on<MessageToBare>(
      priority::kNormal, [](MessageToBare&) -> Flow { throw std::runtime_error("late"); }));
  tokens.push_back(server.hooks().on<PresenceToBare>(
      priority::kNormal, [](PresenceToBare&) -> Flow { throw std::runtime_error("late"); }));
  router.from_client(romeo, message("juliet@example.com", "chat"));
  take().resume();
  got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(error_condition(got[0]), "internal-server-error");
  auto presence = std::make_shared<xml::Element>("presence", std::string(stanza::kClientNs));
  presence->set("to", "juliet@example.com");
  router.from_client(romeo, presence);
  take().resume();
  EXPECT_TRUE(romeo->take().empty()) << "presence is never answered with an error";
}

TEST_F(SuspensionTest, FailAnswersAsIfTheHandlerHadThrown) {
  suspend_at<StanzaFromClient>(priority::kFilter);
  auto juliet = add("juliet@example.com/balcony", 0, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com", "chat"));
  take().fail();
  EXPECT_EQ(calls.below, 0);
  EXPECT_TRUE(juliet->take().empty());
  auto got = romeo->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(error_condition(got[0]), "internal-server-error");
  router.from_client(romeo, message("juliet@example.com", "error"));
  take().fail();
  EXPECT_TRUE(romeo->take().empty()) << "an error was answered";
}

TEST_F(SuspensionTest, OnlyTheFirstResumeOrFailCounts) {
  suspend_at<StanzaFromClient>(priority::kFilter);
  auto juliet = add("juliet@example.com/balcony", 0, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com", "chat"));
  Continuation c = take();
  Continuation copy = c;
  c.resume();
  copy.resume();
  c.fail();
  EXPECT_EQ(calls.below, 1);
  EXPECT_EQ(juliet->take().size(), 1u);
  EXPECT_TRUE(romeo->take().empty());
}

TEST_F(SuspensionTest, TheInFlightTokenIsHeldUntilTheWayIsFinished) {
  suspend_at<StanzaFromClient>(priority::kFilter);
  auto juliet = add("juliet@example.com/balcony", 0, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  router.from_client(romeo, message("juliet@example.com", "chat"), std::move(token));
  EXPECT_FALSE(watch.expired()) << "XEP-0198 would count a stanza still waiting as handled";
  Continuation c = take();
  bool held_while_running = false;
  tokens.push_back(server.hooks().on<MessageToBare>(priority::kNormal, [&](MessageToBare& e) {
    held_while_running = e.in_flight != nullptr && !watch.expired();
    return Flow::Continue;
  }));
  c.resume();
  EXPECT_TRUE(held_while_running) << "the resumed handlers did not get the token";
  EXPECT_TRUE(watch.expired()) << "the continuation kept the token after the way was finished";
  EXPECT_EQ(juliet->take().size(), 1u);
}

TEST_F(SuspensionTest, TwoHandlersOfOneChainCanEachWait) {
  // As blocking (kFilter) and the archive (kStamp) both do for an offline account.
  suspend_at<MessageToBare>(priority::kFilter);
  suspend_at<MessageToBare>(priority::kStamp);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  auto juliet = add("juliet@example.com/balcony", 0, true);
  router.from_client(romeo, message("juliet@example.com", "chat"));
  EXPECT_EQ(calls.above, 1);
  take().resume();  // the filter's
  EXPECT_EQ(suspended(), 1u);
  EXPECT_EQ(calls.above, 2);  // the archive's "above" handler, once
  EXPECT_EQ(calls.below, 1);  // the filter's "below" handler, once
  EXPECT_TRUE(juliet->take().empty());
  take().resume();  // the archive's
  EXPECT_EQ(calls.above, 2);
  EXPECT_EQ(calls.below, 2);
  EXPECT_EQ(juliet->take().size(), 1u);
}

TEST_F(SuspensionTest, ASuspensionInsideTheBareJidFallbackResumesThere) {
  // RFC 6121 §8.5.3.2.1: the default handler of MessageToFull fires MessageToBare for an
  // offline resource; a handler of that nested event suspends it.
  suspend_at<MessageToBare>(priority::kStamp);
  int full_below = 0;
  tokens.push_back(server.hooks().on<MessageToFull>(priority::kNormal, [&](MessageToFull&) {
    ++full_below;
    return Flow::Continue;
  }));
  auto juliet = add("juliet@example.com/balcony", 0, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com/gone", "chat"));
  EXPECT_EQ(full_below, 1);
  Continuation c = take();
  EXPECT_EQ(c.event().to.str(), "juliet@example.com");
  c.resume();
  EXPECT_EQ(full_below, 1) << "MessageToFull ran again";
  EXPECT_EQ(calls.below, 1);
  EXPECT_EQ(juliet->take().size(), 1u);
}

TEST_F(SuspensionTest, AModuleUnloadedMeanwhileIsNotCalled) {
  suspend_at<StanzaFromClient>(priority::kFilter);
  auto late = std::make_unique<ModuleContext>(server, server.modules(), "late");
  int late_calls = 0;
  late->on<StanzaFromClient>(priority::kNormal, [&](StanzaFromClient&) {
    ++late_calls;
    return Flow::Continue;
  });
  auto juliet = add("juliet@example.com/balcony", 0, true);
  auto romeo = add("romeo@example.com/orchard", 0, true);
  router.from_client(romeo, message("juliet@example.com", "chat"));
  Continuation c = take();
  late.reset();  // unloads: its registrations go
  c.resume();
  EXPECT_EQ(late_calls, 0);
  EXPECT_EQ(calls.below, 1);
  EXPECT_EQ(juliet->take().size(), 1u) << "the router's own steps still ran";
}

TEST_F(SuspensionTest, SuspendOnlyInsideAHandlerOfThatEvent) {
  auto romeo = add("romeo@example.com/orchard", 0, true);
  StanzaFromClient outside{{server, message("juliet@example.com"), romeo->jid(),
                            *Jid::parse("juliet@example.com"), romeo}};
  EXPECT_THROW(suspend(outside), std::logic_error);
  // Inside a handler of another event (a StanzaFromClient handler that is handed a
  // MessageToBare it did not get from Hooks).
  bool threw = false;
  tokens.push_back(server.hooks().on<StanzaFromClient>(0, [&](StanzaFromClient& e) {
    MessageToBare other{{e.server, e.stanza, e.from, e.to, e.origin}};
    try {
      suspend(other);
    } catch (const std::logic_error&) {
      threw = true;
    }
    return Flow::Stop;
  }));
  router.from_client(romeo, message("juliet@example.com"));
  EXPECT_TRUE(threw);
}

}  // namespace
}  // namespace parley
