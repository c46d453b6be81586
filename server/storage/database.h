// Database access (DESIGN §6). One interface, two backends: SQLite (embedded default, WAL) and
// PostgreSQL (libpqxx). SQL is written once with '?' placeholders; the PostgreSQL backend
// rewrites them to $1..$n. Work runs on a pool of worker threads, one connection each, never on
// an I/O thread. Work posted with the same key (e.g. a bare JID) runs on the same worker in
// order, so read-modify-write sequences for one account never interleave.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace parley {
class Metric;
class Metrics;
}  // namespace parley

namespace parley::storage {

enum class Backend { SQLite, PostgreSQL };

struct DatabaseConfig {
  Backend backend = Backend::SQLite;
  std::string sqlite_path = "data/parley.db";
  std::string postgresql;  // libpq connection string, e.g. "host=/tmp dbname=parley"
  unsigned workers = 2;
  // Apply pending migrations in open()/connect(). `parleyctl db status` and the migration tests
  // turn it off to look at (or migrate) a database themselves.
  bool migrate = true;
};

using Param = std::variant<std::nullptr_t, int64_t, std::string>;
using Params = std::vector<Param>;

class Row {
 public:
  explicit Row(std::vector<std::optional<std::string>> cols) : cols_(std::move(cols)) {}
  size_t size() const { return cols_.size(); }
  bool is_null(size_t i) const { return !cols_.at(i).has_value(); }
  const std::string& str(size_t i) const;  // "" for NULL
  int64_t integer(size_t i) const;         // 0 for NULL
  std::optional<std::string> opt(size_t i) const { return cols_.at(i); }

 private:
  std::vector<std::optional<std::string>> cols_;
};
using Rows = std::vector<Row>;

struct DatabaseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One connection, used by one worker thread at a time.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Backend backend() const = 0;
  // Statement without results; returns the number of affected rows.
  virtual int64_t exec(std::string_view sql, const Params& params = {}) = 0;
  virtual Rows query(std::string_view sql, const Params& params = {}) = 0;
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  // Runs fn in a transaction; rolls back and rethrows on exception.
  template <class F>
  auto transaction(F&& fn) {
    begin();
    try {
      if constexpr (std::is_void_v<decltype(fn())>) {
        fn();
        commit();
      } else {
        auto r = fn();
        commit();
        return r;
      }
    } catch (...) {
      rollback();
      throw;
    }
  }
};

// Opens a single connection (parleyctl, tests) and applies pending migrations if asked.
std::unique_ptr<Connection> connect(const DatabaseConfig& config);

class Database {
 public:
  using Work = std::function<void(Connection&)>;

  // Connects `workers` connections and migrates the schema. Throws DatabaseError. With
  // `metrics`, the pool counts its work there (queue depth, writes, group commits, commit time).
  static std::unique_ptr<Database> open(const DatabaseConfig& config, Metrics* metrics = nullptr);
  virtual ~Database() = default;

  // Queue work on a worker chosen by key (same key = same worker, FIFO). Exceptions thrown by
  // the work are logged; work that must report errors catches them itself.
  virtual void post(std::string_view key, Work work) = 0;
  // A write on the message path (offline storage, archive), with group commit (DESIGN §6):
  // consecutive writes queued on one worker share one transaction. `done(true)` runs once the
  // shared transaction has committed; `done(false)` when this write threw (it alone is lost,
  // and logged) or the commit failed. When a write of the batch throws, the batch is rolled
  // back and run again with a savepoint around each write, so `work` may run twice: it must
  // only touch the database, and leave other effects (delivering, replying) to `done`. Same
  // key = same worker and order as post(). `done` runs on the worker thread, in order, before
  // the worker's next job, and must not block.
  using Done = std::function<void(bool committed)>;
  virtual void write(std::string_view key, Work work, Done done) = 0;
  // Waits until every queued item has run, including what running items queue meanwhile; the
  // workers go on (shutdown settles storage while modules, whose callbacks the work may call,
  // are still loaded).
  virtual void settle() = 0;
  // settle(), then stop the workers (graceful shutdown). Work posted after it is refused.
  virtual void drain() = 0;
  virtual Backend backend() const = 0;
  virtual unsigned workers() const = 0;
};

}  // namespace parley::storage
