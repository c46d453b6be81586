// Storage contract for the archive module's store (XEP-0313, XEP-0441 preferences), on SQLite
// and, when PARLEY_TEST_POSTGRESQL is set, PostgreSQL. The store is compiled into the mam
// module, so the test builds its source directly.
#include <gtest/gtest.h>

#include <stdexcept>

#include "../../modules/mam/archive_store.cpp"  // NOLINT(bugprone-suspicious-include)
#include "test_database.h"

namespace parley::mam {
namespace {

using storage::Backend;
using storage::testing::jid;
using storage::testing::TestDatabase;

// Message n of a test archive: seq n * 1000 + 7 (so its time is n ms), id "m<n>".
NewMessage msg(int n, const std::string& with, Direction d = Direction::Incoming,
               const std::string& resource = "phone") {
  return {n * 1000 + 7,
          "m" + std::to_string(n),
          with,
          resource,
          d,
          "<message xmlns='jabber:client'><body>" + std::to_string(n) + "</body></message>"};
}

std::vector<std::string> ids(const Page& p) {
  std::vector<std::string> out;
  for (const auto& m : p.messages) out.push_back(m.id);
  return out;
}

std::vector<std::string> range(int from, int to) {  // "m<from>" .. "m<to>" inclusive
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back("m" + std::to_string(i));
  return out;
}

class ArchiveStoreContract : public storage::testing::BackendTest {
 protected:
  // alice's archive: m1..m10, odd ones with bob (received), even ones with carol (sent).
  void fill_alice(ArchiveStore& s) {
    for (int i = 1; i <= 10; ++i) {
      bool odd = i % 2 == 1;
      ASSERT_TRUE(s.append(alice_, msg(i, odd ? "bob@example.org" : "carol@example.org",
                                       odd ? Direction::Incoming : Direction::Outgoing)));
    }
  }

  const Jid alice_ = jid("alice@example.org");
  const Jid bob_ = jid("bob@example.org");
};

PARLEY_BACKENDS(ArchiveStoreContract);

TEST_P(ArchiveStoreContract, AppendsAndReadsBackEveryColumn) {
  ArchiveStore s(*c_);
  NewMessage m{
      1700000000123456,    "abc",
      "bob@example.org",   "desk",
      Direction::Outgoing, "<message xmlns='jabber:client'><body>caf\xc3\xa9</body></message>"};
  ASSERT_TRUE(s.append(alice_, m));
  auto page = s.query(alice_, {}, {});
  ASSERT_EQ(page.messages.size(), 1u);
  const auto& got = page.messages[0];
  EXPECT_EQ(got.seq, m.seq);
  EXPECT_EQ(got.id, "abc");
  EXPECT_EQ(got.with, "bob@example.org");
  EXPECT_EQ(got.with_resource, "desk");
  EXPECT_EQ(got.direction, Direction::Outgoing);
  EXPECT_EQ(got.timestamp, 1700000000123);  // seq / 1000
  EXPECT_EQ(got.stanza, m.stanza);
  EXPECT_FALSE(got.retracted_at);
  EXPECT_EQ(page.count, 1);
  EXPECT_TRUE(page.complete);
  EXPECT_EQ(s.count(alice_), 1);
  EXPECT_EQ(s.count(bob_), 0);  // archives are per account
}

TEST_P(ArchiveStoreContract, DuplicateIdIsIgnoredPerArchive) {
  ArchiveStore s(*c_);
  ASSERT_TRUE(s.append(alice_, msg(1, "bob@example.org")));
  NewMessage again = msg(2, "bob@example.org");
  again.id = "m1";  // a resent message: same id, later seq
  EXPECT_FALSE(s.append(alice_, again));
  EXPECT_EQ(s.count(alice_), 1);
  EXPECT_EQ(s.query(alice_, {}, {}).messages.at(0).seq, 1007);  // the first copy stays
  // The same id in another archive is another row (both sides of one conversation).
  EXPECT_TRUE(s.append(bob_, msg(1, "alice@example.org", Direction::Outgoing)));
  EXPECT_EQ(s.count(bob_), 1);
}

TEST_P(ArchiveStoreContract, PagesForwardsWithAfter) {
  ArchiveStore s(*c_);
  fill_alice(s);
  auto p1 = s.query(alice_, {}, {4, {}, {}, {}});
  EXPECT_EQ(ids(p1), range(1, 4));
  EXPECT_FALSE(p1.complete);
  EXPECT_EQ(p1.count, 10);
  EXPECT_EQ(p1.first_index, 0);
  auto p2 = s.query(alice_, {}, {4, "m4", {}, {}});
  EXPECT_EQ(ids(p2), range(5, 8));
  EXPECT_FALSE(p2.complete);
  EXPECT_EQ(p2.first_index, 4);
  auto p3 = s.query(alice_, {}, {4, "m8", {}, {}});
  EXPECT_EQ(ids(p3), range(9, 10));
  EXPECT_TRUE(p3.complete);
  EXPECT_EQ(p3.first_index, 8);
  EXPECT_EQ(p3.count, 10);
  // Exactly a full last page is complete too: nothing lies beyond it.
  auto exact = s.query(alice_, {}, {2, "m8", {}, {}});
  EXPECT_EQ(ids(exact), range(9, 10));
  EXPECT_TRUE(exact.complete);
  // After the newest message: an empty page, complete.
  auto after_end = s.query(alice_, {}, {4, "m10", {}, {}});
  EXPECT_TRUE(after_end.messages.empty());
  EXPECT_TRUE(after_end.complete);
  EXPECT_EQ(after_end.count, 10);
}

TEST_P(ArchiveStoreContract, PagesBackwardsWithBefore) {
  ArchiveStore s(*c_);
  fill_alice(s);
  // XEP-0313 §4.3.3: an empty <before/> is the last page, still in chronological order.
  auto last = s.query(alice_, {}, {4, {}, "", {}});
  EXPECT_EQ(ids(last), range(7, 10));
  EXPECT_FALSE(last.complete);
  EXPECT_EQ(last.first_index, 6);
  auto prev = s.query(alice_, {}, {4, {}, "m7", {}});
  EXPECT_EQ(ids(prev), range(3, 6));
  EXPECT_FALSE(prev.complete);
  EXPECT_EQ(prev.first_index, 2);
  auto first = s.query(alice_, {}, {4, {}, "m3", {}});
  EXPECT_EQ(ids(first), range(1, 2));
  EXPECT_TRUE(first.complete);  // reached the beginning
  EXPECT_EQ(first.first_index, 0);
  auto before_start = s.query(alice_, {}, {4, {}, "m1", {}});
  EXPECT_TRUE(before_start.messages.empty());
  EXPECT_TRUE(before_start.complete);
  // Last page of a short archive: everything, complete.
  auto all = s.query(alice_, {}, {50, {}, "", {}});
  EXPECT_EQ(ids(all), range(1, 10));
  EXPECT_TRUE(all.complete);
}

TEST_P(ArchiveStoreContract, EmptyArchiveAndCountOnlyPages) {
  ArchiveStore s(*c_);
  for (const PageRequest& r : {PageRequest{}, PageRequest{10, {}, "", {}}}) {
    auto p = s.query(alice_, {}, r);
    EXPECT_TRUE(p.messages.empty());
    EXPECT_TRUE(p.complete);
    EXPECT_EQ(p.count, 0);
  }
  EXPECT_FALSE(s.bounds(alice_));
  fill_alice(s);
  // XEP-0059 §2.6: max 0 is the count alone.
  auto count = s.query(alice_, {}, {0, {}, {}, {}});
  EXPECT_TRUE(count.messages.empty());
  EXPECT_EQ(count.count, 10);
  EXPECT_FALSE(count.complete);
}

TEST_P(ArchiveStoreContract, PageByIndex) {
  ArchiveStore s(*c_);
  fill_alice(s);
  auto p = s.query(alice_, {}, {3, {}, {}, 5});
  EXPECT_EQ(ids(p), range(6, 8));
  EXPECT_EQ(p.first_index, 5);
  EXPECT_FALSE(p.complete);
  auto beyond = s.query(alice_, {}, {3, {}, {}, 20});
  EXPECT_TRUE(beyond.messages.empty());  // XEP-0059 §2.5: past the end, an empty page
}

TEST_P(ArchiveStoreContract, FiltersByWithBareAndFull) {
  ArchiveStore s(*c_);
  fill_alice(s);
  ASSERT_TRUE(s.append(alice_, msg(11, "bob@example.org", Direction::Incoming, "desk")));
  Filter bob;
  bob.with = "bob@example.org";
  auto p = s.query(alice_, bob, {3, {}, {}, {}});
  EXPECT_EQ(ids(p), (std::vector<std::string>{"m1", "m3", "m5"}));
  EXPECT_EQ(p.count, 6);
  EXPECT_FALSE(p.complete);
  auto p2 = s.query(alice_, bob, {3, "m5", {}, {}});
  EXPECT_EQ(ids(p2), (std::vector<std::string>{"m7", "m9", "m11"}));
  EXPECT_TRUE(p2.complete);
  EXPECT_EQ(p2.first_index, 3);
  auto last = s.query(alice_, bob, {2, {}, "", {}});
  EXPECT_EQ(ids(last), (std::vector<std::string>{"m9", "m11"}));
  EXPECT_EQ(last.first_index, 4);
  // XEP-0313 §4.1.1: a full JID matches that resource only.
  Filter desk = bob;
  desk.with_resource = "desk";
  EXPECT_EQ(ids(s.query(alice_, desk, {})), (std::vector<std::string>{"m11"}));
  Filter nobody;
  nobody.with = "dave@example.org";
  auto none = s.query(alice_, nobody, {});
  EXPECT_TRUE(none.messages.empty());
  EXPECT_TRUE(none.complete);
  EXPECT_EQ(none.count, 0);
}

TEST_P(ArchiveStoreContract, FiltersByTimeInclusive) {
  ArchiveStore s(*c_);
  fill_alice(s);  // message n at n ms
  Filter f;
  f.start = 3;
  f.end = 6;
  EXPECT_EQ(ids(s.query(alice_, f, {})), range(3, 6));
  Filter from;
  from.start = 8;
  EXPECT_EQ(ids(s.query(alice_, from, {})), range(8, 10));
  Filter until;
  until.end = 2;
  EXPECT_EQ(ids(s.query(alice_, until, {})), range(1, 2));
  Filter empty;
  empty.start = 100;
  EXPECT_TRUE(s.query(alice_, empty, {}).messages.empty());
  // Combined with 'with' and paging.
  Filter carol;
  carol.with = "carol@example.org";
  carol.start = 3;
  auto p = s.query(alice_, carol, {2, {}, {}, {}});
  EXPECT_EQ(ids(p), (std::vector<std::string>{"m4", "m6"}));
  EXPECT_EQ(p.count, 4);
  EXPECT_FALSE(p.complete);
}

TEST_P(ArchiveStoreContract, FiltersByIds) {
  ArchiveStore s(*c_);
  fill_alice(s);
  Filter between;
  between.after_id = "m2";
  between.before_id = "m6";
  auto p = s.query(alice_, between, {});
  EXPECT_EQ(ids(p), range(3, 5));
  EXPECT_EQ(p.count, 3);
  // before-id does not reverse the direction (XEP-0313 §9): the first ones come first.
  Filter before;
  before.before_id = "m6";
  EXPECT_EQ(ids(s.query(alice_, before, {2, {}, {}, {}})), range(1, 2));
  Filter some;
  some.ids = {"m7", "m2", "m9"};
  EXPECT_EQ(ids(s.query(alice_, some, {})), (std::vector<std::string>{"m2", "m7", "m9"}));
  Filter one;
  one.ids = {"m4"};
  EXPECT_EQ(ids(s.query(alice_, one, {})), (std::vector<std::string>{"m4"}));
}

TEST_P(ArchiveStoreContract, UnknownIdsAreErrors) {
  ArchiveStore s(*c_);
  fill_alice(s);
  ASSERT_TRUE(s.append(bob_, msg(20, "alice@example.org")));
  auto unknown = [&](const Filter& f, const PageRequest& r) {
    try {
      s.query(alice_, f, r);
    } catch (const UnknownId& e) {
      return e.id;
    }
    return std::string();
  };
  EXPECT_EQ(unknown({}, {10, "nope", {}, {}}), "nope");
  EXPECT_EQ(unknown({}, {10, {}, "m20", {}}), "m20");  // in bob's archive, not alice's
  Filter after;
  after.after_id = "x";
  EXPECT_EQ(unknown(after, {}), "x");
  Filter before;
  before.before_id = "y";
  EXPECT_EQ(unknown(before, {}), "y");
  Filter some;
  some.ids = {"m1", "zz"};
  EXPECT_EQ(unknown(some, {}), "zz");
}

TEST_P(ArchiveStoreContract, BoundsAreTheOldestAndNewest) {
  ArchiveStore s(*c_);
  fill_alice(s);
  auto b = s.bounds(alice_);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first.id, "m1");
  EXPECT_EQ(b->first.timestamp, 1);
  EXPECT_EQ(b->second.id, "m10");
  EXPECT_EQ(b->second.timestamp, 10);
  EXPECT_FALSE(s.bounds(bob_));
}

TEST_P(ArchiveStoreContract, RetractKeepsTheRow) {
  ArchiveStore s(*c_);
  fill_alice(s);
  EXPECT_TRUE(s.retract(alice_, "m3", 99, "bob@example.org", "<message/>"));
  EXPECT_FALSE(s.retract(alice_, "m99", 99, "bob@example.org", "<message/>"));
  Filter three;
  three.ids = {"m3"};
  auto p = s.query(alice_, three, {});
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].retracted_at, 99);
  EXPECT_EQ(p.messages[0].retracted_by, "bob@example.org");
  EXPECT_EQ(p.messages[0].stanza, "<message/>");
  EXPECT_EQ(p.messages[0].timestamp, 3);
  EXPECT_EQ(s.count(alice_), 10);
}

TEST_P(ArchiveStoreContract, RetentionPurgesTheOldestEverywhere) {
  ArchiveStore s(*c_);
  fill_alice(s);
  ASSERT_TRUE(s.append(bob_, msg(2, "alice@example.org")));
  ASSERT_TRUE(s.append(bob_, msg(30, "alice@example.org")));
  EXPECT_EQ(s.purge_older_than(4), 4);  // alice m1..m3 and bob m2
  EXPECT_EQ(ids(s.query(alice_, {}, {})), range(4, 10));
  EXPECT_EQ(ids(s.query(bob_, {}, {})), (std::vector<std::string>{"m30"}));
  EXPECT_EQ(s.purge_older_than(4), 0);
}

TEST_P(ArchiveStoreContract, RemoveAllDropsArchiveAndPrefs) {
  ArchiveStore s(*c_);
  fill_alice(s);
  ASSERT_TRUE(s.append(bob_, msg(1, "alice@example.org")));
  s.set_prefs(alice_, {Mode::Never, {}, {}});
  s.set_prefs(bob_, {Mode::Roster, {}, {}});
  EXPECT_EQ(s.remove_all(alice_), 10);
  EXPECT_EQ(s.count(alice_), 0);
  EXPECT_FALSE(s.prefs(alice_));
  EXPECT_EQ(s.count(bob_), 1);
  EXPECT_TRUE(s.prefs(bob_));
  // Ids of a removed archive may come back (a new account under the same name).
  EXPECT_TRUE(s.append(alice_, msg(1, "bob@example.org")));
}

TEST_P(ArchiveStoreContract, PrefsRoundTrip) {
  ArchiveStore s(*c_);
  EXPECT_FALSE(s.prefs(alice_));
  Prefs p{Mode::Roster, {"romeo@montague.lit", "example.net"}, {"tybalt@capulet.lit/sword"}};
  s.set_prefs(alice_, p);
  EXPECT_EQ(s.prefs(alice_), p);
  Prefs q{Mode::Never, {}, {}};
  s.set_prefs(alice_, q);  // replaces, lists emptied
  EXPECT_EQ(s.prefs(alice_), q);
  EXPECT_FALSE(s.prefs(bob_));
  s.set_prefs(bob_, p);
  auto all = s.all_prefs();
  ASSERT_EQ(all.size(), 2u);
  std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  EXPECT_EQ(all[0].first, "alice@example.org");
  EXPECT_EQ(all[0].second, q);
  EXPECT_EQ(all[1].first, "bob@example.org");
  EXPECT_EQ(all[1].second, p);
}

TEST_P(ArchiveStoreContract, MaxSeqBoundsEveryArchive) {
  ArchiveStore s(*c_);
  EXPECT_EQ(s.max_seq(), 0);
  fill_alice(s);
  ASSERT_TRUE(s.append(bob_, msg(42, "alice@example.org")));
  EXPECT_GE(s.max_seq(), 42007);
  EXPECT_LT(s.max_seq(), 43000);
}

TEST(SequenceClockTest, IncreasesAndFollowsTheClock) {
  SequenceClock clock;
  EXPECT_EQ(clock.next(100), 100);
  EXPECT_EQ(clock.next(100), 101);  // same microsecond
  EXPECT_EQ(clock.next(50), 102);   // the clock went back: order still holds
  EXPECT_EQ(clock.next(1000), 1000);
  clock.advance_to(5000);  // what the database already holds
  EXPECT_EQ(clock.next(2000), 5001);
  clock.advance_to(10);
  EXPECT_EQ(clock.next(0), 5002);
  EXPECT_GT(clock.next(), 1600000000000000);  // microseconds since 1970
}

}  // namespace
}  // namespace parley::mam
