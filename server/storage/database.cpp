// Database pool (DESIGN §2, §6): blocking database work runs here, never on an I/O thread.
// Each worker owns one connection and one FIFO queue; work is routed by key so that everything
// for one account runs on one worker, in the order it was posted.
#include "storage/database.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "core/metrics.h"
#include "storage/backend.h"
#include "storage/migrations.h"

namespace parley::storage {

const std::string& Row::str(size_t i) const {
  static const std::string empty;
  const auto& c = cols_.at(i);
  return c ? *c : empty;
}

int64_t Row::integer(size_t i) const {
  const auto& c = cols_.at(i);
  if (!c) return 0;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(c->data(), c->data() + c->size(), v);
  if (ec != std::errc() || end != c->data() + c->size())
    throw DatabaseError("column " + std::to_string(i) + " is not an integer: " + c->substr(0, 40));
  return v;
}

namespace {

std::unique_ptr<Connection> open_one(const DatabaseConfig& config) {
  switch (config.backend) {
    case Backend::SQLite:
      return detail::open_sqlite(config.sqlite_path);
    case Backend::PostgreSQL:
      return detail::open_postgresql(config.postgresql);
  }
  throw DatabaseError("unknown database backend");
}

void migrate_logged(Connection& c) {
  int before = schema_version(c);
  int ran = migrate(c);
  if (ran > 0) {
    PLOG(Info, "storage") << "schema migrated from version " << before << " to "
                          << schema_version(c) << " (" << ran << " migrations)";
  }
}

// Writes joined into one transaction at most: bounds the time a batch holds the write lock.
constexpr size_t kMaxBatch = 256;

// What the pool counts, when the server gave it somewhere to (DESIGN §7).
struct PoolMetrics {
  explicit PoolMetrics(Metrics& m)
      : queued(m.get("parley_storage_queued", "", "gauge",
                     "Database work waiting for a worker, or running")),
        writes(m.get("parley_storage_writes_total", "", "counter",
                     "Message-path writes (offline storage, archive)")),
        commits(m.get("parley_storage_group_commits_total", "", "counter",
                      "Transactions the message-path writes were committed in")),
        commit_us(m.get("parley_storage_group_commit_microseconds_total", "", "counter",
                        "Time spent running and committing message-path writes")) {}
  Metric& queued;
  Metric& writes;
  Metric& commits;
  Metric& commit_us;
};

class Worker {
 public:
  struct Item {
    Database::Work work;
    Database::Done done;  // set for write(): joins the group commit
  };

  Worker(std::unique_ptr<Connection> c, PoolMetrics* metrics)
      : conn_(std::move(c)), metrics_(metrics) {}

  void start(unsigned index) {
    thread_ = std::thread([this, index] { run(index); });
  }

  // False once stopping: the work is refused rather than silently never run.
  bool push(Item item) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
      queue_.push_back(std::move(item));
    }
    if (metrics_) metrics_->queued.inc();
    cv_.notify_one();
    return true;
  }

  // Until the queue is empty and nothing is running (work may queue more work).
  void wait_idle() {
    std::unique_lock lock(mutex_);
    idle_cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
  }
  bool idle() {
    std::lock_guard lock(mutex_);
    return queue_.empty() && !busy_;
  }

  void stop_and_join() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run(unsigned index) {
    std::vector<Item> batch;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and everything has run
        // Group commit: every write queued behind the first one joins its transaction, so a
        // burst costs one commit, and the writes that arrived while the last commit ran wait
        // no longer than it took.
        do {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        } while (batch.front().done && batch.size() < kMaxBatch && !queue_.empty() &&
                 queue_.front().done);
        busy_ = true;
      }
      if (batch.front().done)
        run_writes(index, batch);
      else
        run_one(index, batch.front().work);
      if (metrics_) metrics_->queued.dec(static_cast<int64_t>(batch.size()));
      {
        std::lock_guard lock(mutex_);
        busy_ = false;
      }
      idle_cv_.notify_all();
    }
  }

  void run_one(unsigned index, const Database::Work& work) {
    try {
      work(*conn_);
    } catch (const std::exception& e) {
      PLOG(Error, "storage") << "worker " << index << ": " << e.what();
    } catch (...) {
      PLOG(Error, "storage") << "worker " << index << ": unknown exception";
    }
  }

  // One transaction for the whole batch. The fast path runs the writes back to back; only
  // when one of them throws is the batch rolled back and run again with a savepoint around
  // each write, so that the failing one alone is lost (Database::write: work may run twice).
  void run_writes(unsigned index, std::vector<Item>& batch) {
    std::vector<bool> ok(batch.size(), false);
    bool committed = false;
    auto started = std::chrono::steady_clock::now();
    try {
      conn_->begin();
      for (auto& item : batch) item.work(*conn_);
      conn_->commit();
      committed = true;
      ok.assign(batch.size(), true);
    } catch (const std::exception&) {
      conn_->rollback();
    }
    if (!committed) {
      try {
        conn_->begin();
        for (size_t i = 0; i < batch.size(); ++i) {
          try {
            conn_->transaction([&] { batch[i].work(*conn_); });  // a savepoint each
            ok[i] = true;
          } catch (const std::exception& e) {
            PLOG(Error, "storage") << "worker " << index << ": write failed: " << e.what();
          }
        }
        conn_->commit();
        committed = true;
      } catch (const std::exception& e) {
        conn_->rollback();
        PLOG(Error, "storage") << "worker " << index << ": commit of " << batch.size()
                               << " writes failed: " << e.what();
      }
    }
    if (metrics_) {
      metrics_->writes.inc(static_cast<int64_t>(batch.size()));
      metrics_->commits.inc();
      metrics_->commit_us.inc(std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::steady_clock::now() - started)
                                  .count());
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      try {
        batch[i].done(committed && ok[i]);
      } catch (const std::exception& e) {
        PLOG(Error, "storage") << "worker " << index << ": after commit: " << e.what();
      }
    }
  }

  std::unique_ptr<Connection> conn_;
  PoolMetrics* metrics_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<Item> queue_;
  bool busy_ = false;
  bool stopping_ = false;
};

class Pool final : public Database {
 public:
  Pool(Backend backend, std::vector<std::unique_ptr<Worker>> workers,
       std::unique_ptr<PoolMetrics> metrics)
      : backend_(backend), metrics_(std::move(metrics)), workers_(std::move(workers)) {
    for (unsigned i = 0; i < workers_.size(); ++i) workers_[i]->start(i);
  }
  ~Pool() override { drain(); }

  void post(std::string_view key, Work work) override {
    if (!worker(key).push({std::move(work), nullptr})) {
      PLOG(Error, "storage") << "work posted after drain() was dropped";
    }
  }

  void write(std::string_view key, Work work, Done done) override {
    if (!done) done = [](bool) {};
    if (!worker(key).push({std::move(work), done})) {
      PLOG(Error, "storage") << "write posted after drain() was dropped";
      done(false);
    }
  }

  void settle() override {
    // Work that queued work posts (offline storage after an archive decision, a delivery after
    // a store) still runs: settled only once all workers are idle at the same time.
    for (bool settled = false; !settled;) {
      for (auto& w : workers_) w->wait_idle();
      settled = std::all_of(workers_.begin(), workers_.end(), [](auto& w) { return w->idle(); });
    }
  }

  void drain() override {
    std::lock_guard lock(drain_mutex_);
    settle();
    for (auto& w : workers_) w->stop_and_join();
  }

  Backend backend() const override { return backend_; }
  unsigned workers() const override { return static_cast<unsigned>(workers_.size()); }

 private:
  Worker& worker(std::string_view key) {
    size_t n = workers_.size();
    size_t i = key.empty() ? next_.fetch_add(1, std::memory_order_relaxed) % n
                           : std::hash<std::string_view>{}(key) % n;
    return *workers_[i];
  }

  Backend backend_;
  std::unique_ptr<PoolMetrics> metrics_;  // declared before the workers that point to it
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<size_t> next_{0};
  std::mutex drain_mutex_;
};

}  // namespace

std::unique_ptr<Connection> connect(const DatabaseConfig& config) {
  auto c = open_one(config);
  if (config.migrate) migrate_logged(*c);
  return c;
}

std::unique_ptr<Database> Database::open(const DatabaseConfig& config, Metrics* metrics) {
  unsigned n = config.workers ? config.workers : 1;
  auto counters = metrics ? std::make_unique<PoolMetrics>(*metrics) : nullptr;
  std::vector<std::unique_ptr<Worker>> workers;
  workers.reserve(n);
  // Migrate on the first connection before any other exists, so no worker ever sees a
  // half-migrated schema.
  workers.push_back(std::make_unique<Worker>(connect(config), counters.get()));
  for (unsigned i = 1; i < n; ++i)
    workers.push_back(std::make_unique<Worker>(open_one(config), counters.get()));
  PLOG(Info, "storage") << "database open: "
                        << (config.backend == Backend::SQLite ? "sqlite " + config.sqlite_path
                                                              : std::string("postgresql"))
                        << ", " << n << " workers";
  return std::make_unique<Pool>(config.backend, std::move(workers), std::move(counters));
}

}  // namespace parley::storage
