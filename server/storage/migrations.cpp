// Migration runner. Each migration runs in its own transaction together with its
// schema_version row, so a crash leaves the schema at a recorded version, never in between.
// Several processes may start at once (a cluster on one PostgreSQL, parleyctl next to parleyd):
// every step first takes a lock that serializes them and re-reads the version under it.
#include "storage/migrations.h"

#include "core/log.h"
#include "storage/database.h"

namespace parley::storage {
namespace {

// Arbitrary constant naming "the parley schema" for pg_advisory_xact_lock.
constexpr int64_t kMigrationLockKey = 0x7061726c6579;  // "parley"

const std::vector<Migration>& migrations_for(const Connection& c) {
  return c.backend() == Backend::SQLite ? schema_sqlite() : schema_postgresql();
}

// On SQLite, begin() is BEGIN IMMEDIATE, which already holds the database write lock.
void lock(Connection& c) {
  if (c.backend() == Backend::PostgreSQL)
    c.query("SELECT pg_advisory_xact_lock(?)", {kMigrationLockKey});
}

void create_version_table(Connection& c) {
  c.transaction([&] {
    lock(c);
    if (c.backend() == Backend::SQLite)
      c.exec(
          "CREATE TABLE IF NOT EXISTS schema_version ("
          " version INTEGER PRIMARY KEY,"
          " name TEXT NOT NULL,"
          " applied_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s','now') AS INTEGER)))");
    else
      c.exec(
          "CREATE TABLE IF NOT EXISTS schema_version ("
          " version INTEGER PRIMARY KEY,"
          " name TEXT NOT NULL,"
          " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
  });
}

int recorded_version(Connection& c) {
  auto rows = c.query("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  return rows.empty() ? 0 : static_cast<int>(rows[0].integer(0));
}

}  // namespace

int schema_version(Connection& c) {
  bool exists;
  if (c.backend() == Backend::SQLite)
    exists = !c.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                      {std::string("schema_version")})
                  .empty();
  else
    exists = c.query("SELECT to_regclass(?) IS NOT NULL", {std::string("schema_version")})
                 .at(0)
                 .str(0) == "t";
  return exists ? recorded_version(c) : 0;
}

int migrate(Connection& c) {
  const auto& migrations = migrations_for(c);
  create_version_table(c);
  int ran = 0;
  for (const Migration& m : migrations) {
    bool applied = c.transaction([&] {
      lock(c);
      if (recorded_version(c) >= m.version) return false;
      c.exec(m.sql);
      c.exec("INSERT INTO schema_version (version, name) VALUES (?, ?)",
             {int64_t{m.version}, std::string(m.name)});
      return true;
    });
    if (applied) {
      PLOG(Info, "storage") << "applied migration " << m.name;
      ++ran;
    }
  }
  int current = recorded_version(c);
  if (!migrations.empty() && current > migrations.back().version) {
    PLOG(Warn, "storage") << "database schema version " << current
                          << " is newer than this build knows (" << migrations.back().version
                          << ")";
  }
  return ran;
}

}  // namespace parley::storage
