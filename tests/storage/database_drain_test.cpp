// Database::drain on both backends: work that running work queues (a continuation, such as
// offline storage after the archive decided about a message) still runs during a graceful
// shutdown, whichever worker it lands on; only work posted after drain() returned is refused.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>

#include "test_database.h"

namespace parley::storage {
namespace {

using testing::TestDatabase;

class DrainContract : public testing::BackendTest {};

PARLEY_BACKENDS(DrainContract);

TEST_P(DrainContract, ContinuationsQueuedByRunningWorkStillRun) {
  DatabaseConfig config = db_->config();
  config.workers = 3;
  auto db = Database::open(config);
  constexpr int kChains = 20;
  constexpr int kHops = 50;
  std::atomic<int> hops{0};
  std::atomic<int> committed{0};
  // Each hop posts the next to another key (another worker), alternating post and write.
  std::function<void(int, int)> hop = [&](int chain, int n) {
    std::string key = "user" + std::to_string(chain * 1000 + n);
    auto next = [&, chain, n](Connection& c) {
      c.query("SELECT 1");
      ++hops;
      if (n + 1 < kHops) hop(chain, n + 1);
    };
    if (n % 2)
      db->write(key, next, [&](bool ok) { committed += ok; });
    else
      db->post(key, next);
  };
  for (int chain = 0; chain < kChains; ++chain) hop(chain, 0);
  db->drain();  // while the chains are still running
  EXPECT_EQ(hops.load(), kChains * kHops);
  EXPECT_EQ(committed.load(), kChains * kHops / 2);
  db->post("late", [&](Connection&) { ++hops; });  // after drain: refused, never run
  db->drain();
  EXPECT_EQ(hops.load(), kChains * kHops);
}

}  // namespace
}  // namespace parley::storage
