// Storage contract for the blocking module's store (XEP-0191), on SQLite and, when
// PARLEY_TEST_POSTGRESQL is set, PostgreSQL. The store is header-only, so the test includes it.
#include <gtest/gtest.h>

#include <stdexcept>

#include "modules/blocking/blocklist_store.h"
#include "test_database.h"

namespace parley::blocking {
namespace {

using storage::Backend;
using storage::Connection;
using storage::testing::jid;
using storage::testing::TestDatabase;

std::vector<std::string> strings(const std::vector<Jid>& jids) {
  std::vector<std::string> out;
  for (const auto& j : jids) out.push_back(j.str());
  return out;
}

class BlocklistStoreContract : public storage::testing::BackendTest {
 protected:
  const Jid juliet_ = jid("juliet@capulet.example");
  const Jid other_host_juliet_ = jid("juliet@montague.example");
  const Jid nurse_ = jid("nurse@capulet.example");
};

PARLEY_BACKENDS(BlocklistStoreContract);

TEST_P(BlocklistStoreContract, AnEmptyListHasNoItems) {
  BlocklistStore s(*c_);
  EXPECT_TRUE(s.items(juliet_).empty());
  EXPECT_EQ(s.clear(juliet_), 0);
  EXPECT_FALSE(s.remove(juliet_, jid("romeo@montague.example")));
}

// Every kind of item XEP-0191 §6 matches on: full JID, bare JID, domain/resource, domain.
TEST_P(BlocklistStoreContract, KeepsEveryKindOfJidInBytewiseOrder) {
  BlocklistStore s(*c_);
  EXPECT_TRUE(s.add(juliet_, jid("romeo@montague.example/orchard")));
  EXPECT_TRUE(s.add(juliet_, jid("tybalt@capulet.example")));
  EXPECT_TRUE(s.add(juliet_, jid("montague.example")));
  EXPECT_TRUE(s.add(juliet_, jid("montague.example/bot")));
  // Normalized when parsed (RFC 7622): stored and returned in that form, and the order is
  // bytewise on it on both backends (uppercase ASCII would sort first; é sorts last).
  EXPECT_TRUE(s.add(juliet_, jid("Zelda@Capulet.Example")));
  EXPECT_TRUE(s.add(juliet_, jid("\xc3\xa9lise@capulet.example")));
  EXPECT_EQ(strings(s.items(juliet_)),
            (std::vector<std::string>{"montague.example", "montague.example/bot",
                                      "romeo@montague.example/orchard", "tybalt@capulet.example",
                                      "zelda@capulet.example", "\xc3\xa9lise@capulet.example"}));
}

TEST_P(BlocklistStoreContract, AddingTwiceKeepsOneItem) {
  BlocklistStore s(*c_);
  EXPECT_TRUE(s.add(juliet_, jid("romeo@montague.example")));
  EXPECT_FALSE(s.add(juliet_, jid("romeo@montague.example")));
  EXPECT_FALSE(s.add(juliet_, jid("ROMEO@montague.example")));  // the same JID, normalized
  EXPECT_EQ(s.items(juliet_).size(), 1u);
}

TEST_P(BlocklistStoreContract, RemoveTakesOnlyThatItem) {
  BlocklistStore s(*c_);
  ASSERT_TRUE(s.add(juliet_, jid("romeo@montague.example")));
  ASSERT_TRUE(s.add(juliet_, jid("romeo@montague.example/orchard")));
  ASSERT_TRUE(s.add(juliet_, jid("montague.example")));
  // A bare JID item and a full JID item are different items (§6), so is the domain.
  EXPECT_TRUE(s.remove(juliet_, jid("romeo@montague.example")));
  EXPECT_FALSE(s.remove(juliet_, jid("romeo@montague.example")));
  EXPECT_EQ(strings(s.items(juliet_)),
            (std::vector<std::string>{"montague.example", "romeo@montague.example/orchard"}));
}

TEST_P(BlocklistStoreContract, ListsBelongToOneAccount) {
  BlocklistStore s(*c_);
  ASSERT_TRUE(s.add(juliet_, jid("romeo@montague.example")));
  ASSERT_TRUE(s.add(nurse_, jid("peter@capulet.example")));
  // The same local part on another host is another account.
  ASSERT_TRUE(s.add(other_host_juliet_, jid("tybalt@capulet.example")));
  EXPECT_EQ(strings(s.items(juliet_)), (std::vector<std::string>{"romeo@montague.example"}));
  EXPECT_EQ(strings(s.items(other_host_juliet_)),
            (std::vector<std::string>{"tybalt@capulet.example"}));
  EXPECT_FALSE(s.remove(nurse_, jid("romeo@montague.example")));
  EXPECT_EQ(s.items(juliet_).size(), 1u);
}

TEST_P(BlocklistStoreContract, ClearUnblocksEverythingOfOneAccount) {
  BlocklistStore s(*c_);
  ASSERT_TRUE(s.add(juliet_, jid("romeo@montague.example")));
  ASSERT_TRUE(s.add(juliet_, jid("montague.example")));
  ASSERT_TRUE(s.add(other_host_juliet_, jid("tybalt@capulet.example")));
  EXPECT_EQ(s.clear(juliet_), 2);
  EXPECT_TRUE(s.items(juliet_).empty());
  EXPECT_EQ(s.items(other_host_juliet_).size(), 1u);
  EXPECT_EQ(s.clear(juliet_), 0);
}

// Written inside a transaction by the module: a failed batch leaves the list as it was.
TEST_P(BlocklistStoreContract, ARolledBackBatchLeavesNoItems) {
  BlocklistStore s(*c_);
  ASSERT_TRUE(s.add(juliet_, jid("romeo@montague.example")));
  EXPECT_THROW(c_->transaction([&] {
    s.add(juliet_, jid("tybalt@capulet.example"));
    throw std::runtime_error("later item failed");
  }),
               std::runtime_error);
  EXPECT_EQ(strings(s.items(juliet_)), (std::vector<std::string>{"romeo@montague.example"}));
}

}  // namespace
}  // namespace parley::blocking
