// SQLite backend (DESIGN §6): the embedded default. One sqlite3 handle per worker; the file is in
// WAL mode so readers on other workers never block the writer.
#include <sqlite3.h>

#include <cctype>
#include <filesystem>
#include <string>
#include <unordered_map>

#include "core/log.h"
#include "storage/backend.h"

namespace parley::storage::detail {
namespace {

// How long a writer waits for another connection's write lock before giving up (SQLITE_BUSY).
constexpr int kBusyTimeoutMs = 5000;

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(const std::string& path) {
    make_parent_directory(path);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw DatabaseError("sqlite: cannot open " + path + ": " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    // WAL: concurrent readers with one writer; NORMAL is durable across application crashes
    // and only loses the last commits on power loss, which is the documented WAL trade-off.
    // foreign_keys is per connection and off by default in SQLite. A 16 MiB page cache per
    // connection (the default is 2 MiB) holds the hot ends of the archive's indexes; the
    // database file is read through a memory map rather than copied in with read().
    run_script(
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "PRAGMA foreign_keys=ON;"
        "PRAGMA cache_size=-16384;"
        "PRAGMA mmap_size=268435456;");
  }

  ~SqliteConnection() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Backend backend() const override { return Backend::SQLite; }

  int64_t exec(std::string_view sql, const Params& params) override {
    sqlite3_stmt* stmt = prepare(sql, params.empty());
    if (!stmt) {  // multi-statement script without parameters (migrations)
      run_script(std::string(sql));
      return sqlite3_changes64(db_);
    }
    Reset reset{stmt};
    bind(stmt, params);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) fail(sql);
    return sqlite3_changes64(db_);
  }

  Rows query(std::string_view sql, const Params& params) override {
    sqlite3_stmt* stmt = prepare(sql, false);
    Reset reset{stmt};
    bind(stmt, params);
    Rows rows;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      int n = sqlite3_column_count(stmt);
      std::vector<std::optional<std::string>> cols;
      cols.reserve(n);
      for (int i = 0; i < n; ++i) {
        if (sqlite3_column_type(stmt, i) == SQLITE_NULL) {
          cols.emplace_back(std::nullopt);
          continue;
        }
        // column_text converts integers to decimal text; bytes() is read after text() so it
        // measures the converted value (sqlite3 docs, "Result Values From A Query").
        auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
        int len = sqlite3_column_bytes(stmt, i);
        cols.emplace_back(std::string(p ? p : "", p ? len : 0));
      }
      rows.emplace_back(std::move(cols));
    }
    if (rc != SQLITE_DONE) fail(sql);
    return rows;
  }

  // Nested begin() calls become savepoints so a store may run its own transaction inside a
  // caller's. The outer one is BEGIN IMMEDIATE: taking the write lock up front avoids the
  // SQLITE_BUSY a deferred read transaction gets when it later tries to write while another
  // connection holds the lock (busy_timeout cannot help there).
  // Through the statement cache: a group commit opens one savepoint per write.
  void begin() override {
    if (depth_ == 0)
      exec("BEGIN IMMEDIATE", {});
    else
      exec(savepoint_sql("SAVEPOINT parley_", depth_), {});
    ++depth_;
  }

  void commit() override {
    if (depth_ == 0) throw DatabaseError("sqlite: commit without begin");
    if (depth_ == 1)
      exec("COMMIT", {});
    else
      exec(savepoint_sql("RELEASE parley_", depth_ - 1), {});
    --depth_;
  }

  void rollback() override {
    if (depth_ == 0) return;
    --depth_;
    try {
      if (depth_ == 0) {
        // Some errors (SQLITE_FULL, SQLITE_IOERR, ...) already rolled the transaction back.
        if (!sqlite3_get_autocommit(db_)) run_script("ROLLBACK");
      } else {
        std::string sp = "parley_" + std::to_string(depth_);
        run_script("ROLLBACK TO " + sp + "; RELEASE " + sp);
      }
    } catch (const DatabaseError& e) {
      PLOG(Error, "storage") << "rollback failed: " << e.what();
    }
  }

 private:
  static std::string savepoint_sql(const char* verb, int depth) {
    return verb + std::to_string(depth);
  }

  struct Reset {
    sqlite3_stmt* stmt;
    ~Reset() {
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
    }
  };

  static void make_parent_directory(const std::string& path) {
    if (path.empty() || path == ":memory:" || path.starts_with("file:")) return;
    auto parent = std::filesystem::path(path).parent_path();
    if (parent.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw DatabaseError("sqlite: cannot create " + parent.string() + ": " + ec.message());
  }

  // Returns the cached statement for sql; nullptr when sql holds several statements and
  // allow_script is set (the caller then runs it with sqlite3_exec).
  sqlite3_stmt* prepare(std::string_view sql, bool allow_script) {
    std::string key(sql);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) fail(sql);
    bool more = false;
    for (const char* p = tail; p && p < key.data() + key.size(); ++p)
      if (!std::isspace(static_cast<unsigned char>(*p)) && *p != ';') more = true;
    if (more || !stmt) {
      sqlite3_finalize(stmt);
      if (allow_script) return nullptr;
      throw DatabaseError("sqlite: expected exactly one statement: " + key);
    }
    cache_.emplace(std::move(key), stmt);
    return stmt;
  }

  void bind(sqlite3_stmt* stmt, const Params& params) {
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt))
      throw DatabaseError("sqlite: " + std::to_string(params.size()) + " parameters for " +
                          std::to_string(sqlite3_bind_parameter_count(stmt)) + " placeholders in " +
                          sqlite3_sql(stmt));
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i) + 1;
      int rc;
      if (auto* n = std::get_if<int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(stmt, idx, *n);
      } else if (auto* s = std::get_if<std::string>(&params[i])) {
        // SQLITE_STATIC: params outlive the step loop; the Reset guard unbinds afterwards.
        rc = sqlite3_bind_text64(stmt, idx, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(stmt, idx);
      }
      if (rc != SQLITE_OK) fail(sqlite3_sql(stmt));
    }
  }

  void run_script(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      throw DatabaseError("sqlite: " + msg + " (" + sqlite3_errstr(sqlite3_extended_errcode(db_)) +
                          ")");
    }
  }

  [[noreturn]] void fail(std::string_view sql) {
    int code = sqlite3_extended_errcode(db_);
    throw DatabaseError("sqlite: " + std::string(sqlite3_errmsg(db_)) + " (" +
                        sqlite3_errstr(code) + ", code " + std::to_string(code) +
                        ") in: " + std::string(sql.substr(0, 200)));
  }

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  int depth_ = 0;
};

}  // namespace

std::unique_ptr<Connection> open_sqlite(const std::string& path) {
  return std::make_unique<SqliteConnection>(path);
}

}  // namespace parley::storage::detail
