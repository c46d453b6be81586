// Storage contract for the offline module's store (XEP-0160), on SQLite and, when
// PARLEY_TEST_POSTGRESQL is set, PostgreSQL. The store is compiled into the offline module, so
// the test builds its source directly.
#include <gtest/gtest.h>

#include <stdexcept>

#include "../../modules/offline/offline_store.cpp"  // NOLINT(bugprone-suspicious-include)
#include "test_database.h"

namespace parley::offline {
namespace {

using storage::Backend;
using storage::Connection;
using storage::testing::jid;
using storage::testing::TestDatabase;

class OfflineStoreContract : public storage::testing::BackendTest {
 protected:
  const Jid alice_ = jid("alice@example.org");
  const Jid bob_ = jid("bob@example.org");
  const Jid other_host_bob_ = jid("bob@example.net");
};

PARLEY_BACKENDS(OfflineStoreContract);

TEST_P(OfflineStoreContract, PutLoadsInArrivalOrderWithTimestamps) {
  OfflineStore s(*c_);
  // Receipt times deliberately out of order: arrival order wins.
  ASSERT_EQ(s.put(bob_, 3000, "<message>one</message>", 10), OfflineStore::Put::Stored);
  ASSERT_EQ(s.put(bob_, 1000, "<message>two \xc3\xa9</message>", 10), OfflineStore::Put::Stored);
  ASSERT_EQ(s.put(bob_, 2000, "<message>three</message>", 10), OfflineStore::Put::Stored);
  ASSERT_EQ(s.put(alice_, 5, "<message>for alice</message>", 10), OfflineStore::Put::Stored);
  ASSERT_EQ(s.put(other_host_bob_, 5, "<message>other host</message>", 10),
            OfflineStore::Put::Stored);

  auto got = s.load(bob_);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].stanza, "<message>one</message>");
  EXPECT_EQ(got[0].received_at, 3000);
  EXPECT_EQ(got[1].stanza, "<message>two \xc3\xa9</message>");
  EXPECT_EQ(got[1].received_at, 1000);
  EXPECT_EQ(got[2].stanza, "<message>three</message>");
  EXPECT_LT(got[0].id, got[1].id);
  EXPECT_LT(got[1].id, got[2].id);
  EXPECT_EQ(s.count(bob_), 3);
  EXPECT_EQ(s.count(alice_), 1);
  EXPECT_EQ(s.count(other_host_bob_), 1);
  EXPECT_TRUE(s.load(jid("nobody@example.org")).empty());
}

TEST_P(OfflineStoreContract, RemoveUpToKeepsLaterMessages) {
  OfflineStore s(*c_);
  ASSERT_EQ(s.put(bob_, 1, "a", 10), OfflineStore::Put::Stored);
  ASSERT_EQ(s.put(bob_, 2, "b", 10), OfflineStore::Put::Stored);
  ASSERT_EQ(s.put(alice_, 2, "x", 10), OfflineStore::Put::Stored);
  auto delivered = s.load(bob_);
  ASSERT_EQ(s.put(bob_, 3, "c", 10), OfflineStore::Put::Stored);  // arrived during delivery
  EXPECT_EQ(s.remove_up_to(bob_, delivered.back().id), 2);
  auto left = s.load(bob_);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].stanza, "c");
  EXPECT_EQ(s.count(alice_), 1);  // other accounts untouched
}

TEST_P(OfflineStoreContract, RemoveAll) {
  OfflineStore s(*c_);
  ASSERT_EQ(s.put(bob_, 1, "a", 10), OfflineStore::Put::Stored);
  ASSERT_EQ(s.put(bob_, 2, "b", 10), OfflineStore::Put::Stored);
  ASSERT_EQ(s.put(alice_, 2, "x", 10), OfflineStore::Put::Stored);
  EXPECT_EQ(s.remove_all(bob_), 2);
  EXPECT_EQ(s.count(bob_), 0);
  EXPECT_EQ(s.count(alice_), 1);
  EXPECT_EQ(s.remove_all(bob_), 0);
}

TEST_P(OfflineStoreContract, QuotaIsPerAccount) {
  OfflineStore s(*c_);
  EXPECT_EQ(s.put(bob_, 1, "a", 2), OfflineStore::Put::Stored);
  EXPECT_EQ(s.put(bob_, 2, "b", 2), OfflineStore::Put::Stored);
  EXPECT_EQ(s.put(bob_, 3, "c", 2), OfflineStore::Put::Full);  // full
  EXPECT_EQ(s.count(bob_), 2);
  EXPECT_EQ(s.put(alice_, 3, "x", 2),
            OfflineStore::Put::Stored);  // another account has its own quota
  // Delivery frees space.
  s.remove_up_to(bob_, s.load(bob_).front().id);
  EXPECT_EQ(s.put(bob_, 4, "d", 2), OfflineStore::Put::Stored);
  auto got = s.load(bob_);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].stanza, "b");
  EXPECT_EQ(got[1].stanza, "d");
}

TEST_P(OfflineStoreContract, SameStanzaIdIsKeptOncePerAccount) {
  OfflineStore s(*c_);
  EXPECT_EQ(s.put(bob_, 1, "first", 10, "sid-1"), OfflineStore::Put::Stored);
  EXPECT_EQ(s.put(bob_, 2, "resent", 10, "sid-1"), OfflineStore::Put::Duplicate);
  EXPECT_EQ(s.put(bob_, 3, "other", 10, "sid-2"), OfflineStore::Put::Stored);
  EXPECT_EQ(s.put(alice_, 4, "same id, other account", 10, "sid-1"), OfflineStore::Put::Stored);
  // Messages without an id are never taken for duplicates.
  EXPECT_EQ(s.put(bob_, 5, "no id", 10), OfflineStore::Put::Stored);
  EXPECT_EQ(s.put(bob_, 6, "no id again", 10), OfflineStore::Put::Stored);
  auto got = s.load(bob_);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].stanza, "first");
  EXPECT_EQ(got[1].stanza, "other");
  // Once delivered (deleted), the id may be stored again.
  s.remove_all(bob_);
  EXPECT_EQ(s.put(bob_, 7, "again", 10, "sid-1"), OfflineStore::Put::Stored);
}

TEST_P(OfflineStoreContract, PurgeOlderThan) {
  OfflineStore s(*c_);
  ASSERT_EQ(s.put(bob_, 1000, "old", 10), OfflineStore::Put::Stored);
  ASSERT_EQ(s.put(alice_, 1500, "old too", 10), OfflineStore::Put::Stored);
  ASSERT_EQ(s.put(bob_, 2000, "at the limit", 10), OfflineStore::Put::Stored);
  ASSERT_EQ(s.put(bob_, 3000, "new", 10), OfflineStore::Put::Stored);
  EXPECT_EQ(s.purge_older_than(2000), 2);
  auto got = s.load(bob_);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].stanza, "at the limit");
  EXPECT_EQ(got[1].stanza, "new");
  EXPECT_EQ(s.count(alice_), 0);
  EXPECT_EQ(s.purge_older_than(2000), 0);
}

}  // namespace
}  // namespace parley::offline
