// The blocking module's list cache (modules/blocking/blocklist_cache.h): lists are held while an
// account is online, and once a stanza of an account is deferred to its database worker every
// later one is too, until the deferred ones are settled (so stanzas keep their order).
#include "modules/blocking/blocklist_cache.h"

#include <gtest/gtest.h>

namespace parley::blocking {
namespace {

ListPtr list_of(std::initializer_list<std::string_view> jids) {
  auto l = std::make_shared<List>();
  for (auto j : jids) l->push_back(*Jid::parse(j));
  return l;
}

const std::string kJuliet = "juliet@capulet.example";

TEST(BlockingCache, NothingHeldDefers) {
  Cache c;
  EXPECT_FALSE(c.holds(kJuliet));
  EXPECT_EQ(c.ready_or_defer(kJuliet), nullptr);
  EXPECT_EQ(c.find(kJuliet), nullptr);
}

TEST(BlockingCache, AHeldListIsReady) {
  Cache c;
  auto l = list_of({"romeo@montague.example"});
  c.store(kJuliet, l, true);
  EXPECT_TRUE(c.holds(kJuliet));
  EXPECT_EQ(c.ready_or_defer(kJuliet), l);
  EXPECT_EQ(c.find(kJuliet), l);
  EXPECT_TRUE(c.anyone_blocks());
}

TEST(BlockingCache, WhileOneStanzaIsDeferredLaterOnesAreToo) {
  Cache c;
  ASSERT_EQ(c.ready_or_defer(kJuliet), nullptr);  // deferred: nothing held yet
  // The load at login finishes while that stanza still waits on the worker.
  c.store(kJuliet, list_of({}), true);
  EXPECT_EQ(c.ready_or_defer(kJuliet), nullptr) << "would overtake the deferred stanza";
  // Each deferred stanza is settled once, in order, on the worker.
  auto l = list_of({"romeo@montague.example"});
  c.settle(kJuliet, l, true);
  EXPECT_TRUE(c.holds(kJuliet));
  c.settle(kJuliet, l, true);
  EXPECT_EQ(c.ready_or_defer(kJuliet), l);
}

TEST(BlockingCache, OfflineAccountsAreNotHeld) {
  Cache c;
  c.store(kJuliet, list_of({"romeo@montague.example"}), false);
  EXPECT_FALSE(c.holds(kJuliet));
  ASSERT_EQ(c.ready_or_defer(kJuliet), nullptr);
  c.settle(kJuliet, list_of({"romeo@montague.example"}), false);
  EXPECT_FALSE(c.holds(kJuliet));
  EXPECT_FALSE(c.anyone_blocks());
}

TEST(BlockingCache, TheLastSessionClosingDropsTheList) {
  Cache c;
  c.store(kJuliet, list_of({"romeo@montague.example"}), true);
  ASSERT_EQ(c.ready_or_defer("nurse@capulet.example"), nullptr);
  c.evict(kJuliet);
  EXPECT_FALSE(c.holds(kJuliet));
  EXPECT_FALSE(c.anyone_blocks());
  // A deferred stanza of an account that went offline meanwhile settles without holding.
  c.store("nurse@capulet.example", list_of({"tybalt@capulet.example"}), true);
  c.evict("nurse@capulet.example");
  c.settle("nurse@capulet.example", list_of({"tybalt@capulet.example"}), false);
  EXPECT_FALSE(c.holds("nurse@capulet.example"));
}

TEST(BlockingCache, OnlyNonEmptyListsCountAsBlocking) {
  Cache c;
  c.store(kJuliet, list_of({}), true);
  EXPECT_FALSE(c.anyone_blocks());
  c.store(kJuliet, list_of({"romeo@montague.example"}), true);
  EXPECT_TRUE(c.anyone_blocks());
  c.store(kJuliet, list_of({}), true);
  EXPECT_FALSE(c.anyone_blocks());
}

}  // namespace
}  // namespace parley::blocking
