// XEP-0198 bookkeeping: counters, the unacknowledged queue, out-of-order handling, wrap-around.
#include <gtest/gtest.h>

#include "c2s/stream_management.h"

namespace parley::c2s {
namespace {

StreamManagement::Unacked stanza(const std::string& id) {
  auto e = std::make_shared<xml::Element>("message", "jabber:client");
  e->set("id", id);
  return {e, std::make_shared<const std::string>("<message id='" + id + "'/>"), 0};
}

std::vector<std::string> ids(const std::vector<StreamManagement::Unacked>& v) {
  std::vector<std::string> out;
  for (const auto& u : v) out.emplace_back(u.stanza->get("id"));
  return out;
}

TEST(StreamManagement, AcknowledgeDropsWhatHCovers) {
  StreamManagement sm;
  for (const char* id : {"a", "b", "c", "d"}) sm.sent(stanza(id));
  EXPECT_EQ(sm.sent_count(), 4u);
  EXPECT_EQ(sm.unacked(), 4u);
  EXPECT_TRUE(sm.acknowledge(2));
  EXPECT_EQ(sm.unacked(), 2u);
  EXPECT_TRUE(sm.acknowledge(2));  // the same h again changes nothing
  EXPECT_EQ(sm.unacked(), 2u);
  EXPECT_EQ(ids(sm.take_unacked()), (std::vector<std::string>{"c", "d"}));
}

TEST(StreamManagement, HigherThanSentIsRefusedAndChangesNothing) {
  StreamManagement sm;
  sm.sent(stanza("a"));
  sm.sent(stanza("b"));
  EXPECT_FALSE(sm.acknowledge(3));
  EXPECT_EQ(sm.unacked(), 2u);
  EXPECT_EQ(sm.acknowledged(), 0u);
}

TEST(StreamManagement, TakeUnackedRewindsTheCounterForRetransmission) {
  StreamManagement sm;
  for (const char* id : {"a", "b", "c"}) sm.sent(stanza(id));
  ASSERT_TRUE(sm.acknowledge(1));
  auto rest = sm.take_unacked();
  EXPECT_EQ(sm.sent_count(), 1u);  // the client said h=1: b and c are sent again as 2 and 3
  for (auto& u : rest) sm.sent(std::move(u));
  EXPECT_EQ(sm.sent_count(), 3u);
  EXPECT_TRUE(sm.acknowledge(3));
  EXPECT_EQ(sm.unacked(), 0u);
}

TEST(StreamManagement, CountersWrapAtTwoToTheThirtySecond) {
  StreamManagement sm(0xFFFFFFFEu);
  for (const char* id : {"a", "b", "c", "d"}) sm.sent(stanza(id));
  EXPECT_EQ(sm.sent_count(), 2u);   // 2^32-2 + 4, modulo 2^32
  EXPECT_FALSE(sm.acknowledge(3));  // one more than was sent
  EXPECT_TRUE(sm.acknowledge(0));   // a and b: 2^32-1, then 0
  EXPECT_EQ(ids(sm.take_unacked()), (std::vector<std::string>{"c", "d"}));

  StreamManagement in(0xFFFFFFFFu);
  uint32_t first = in.received(), second = in.received();
  EXPECT_EQ(first, 0u);
  EXPECT_EQ(second, 1u);
  in.handled(second);
  in.handled(first);
  EXPECT_EQ(in.handled_count(), 1u);
  EXPECT_TRUE(in.all_handled());
}

TEST(StreamManagement, HandledCountsOnlyAnUnbrokenPrefix) {
  StreamManagement sm;
  uint32_t a = sm.received(), b = sm.received(), c = sm.received();
  EXPECT_EQ(sm.handled_count(), 0u);
  sm.handled(b);  // b finished first (a waits for a database commit)
  sm.handled(c);
  EXPECT_EQ(sm.handled_count(), 0u);
  EXPECT_FALSE(sm.all_handled());
  sm.handled(a);
  EXPECT_EQ(sm.handled_count(), 3u);
  EXPECT_TRUE(sm.all_handled());
  sm.handled(a);  // a second report is ignored
  EXPECT_EQ(sm.handled_count(), 3u);
}

TEST(StreamManagement, ParseH) {
  EXPECT_EQ(StreamManagement::parse_h("0"), 0u);
  EXPECT_EQ(StreamManagement::parse_h("4294967295"), 4294967295u);
  EXPECT_FALSE(StreamManagement::parse_h("4294967296"));
  EXPECT_FALSE(StreamManagement::parse_h("-1"));
  EXPECT_FALSE(StreamManagement::parse_h(""));
  EXPECT_FALSE(StreamManagement::parse_h("1x"));
  EXPECT_FALSE(StreamManagement::parse_h(" 1"));
}

}  // namespace
}  // namespace parley::c2s
