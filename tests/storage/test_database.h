// A throwaway database for one storage contract test: a fresh SQLite file in a temporary
// directory, or a fresh schema on the PostgreSQL server named by PARLEY_TEST_POSTGRESQL
// (contrib/testing/pg-start prints a suitable connection string).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "storage/database.h"

namespace parley::storage::testing {

class TestDatabase {
 public:
  // Why `backend` cannot be tested here (PostgreSQL without PARLEY_TEST_POSTGRESQL), or nullopt.
  static std::optional<std::string> unavailable(Backend backend);
  // PARLEY_TEST_POSTGRESQL_REQUIRED=1: a missing PostgreSQL is a failure, not a skip.
  static bool postgresql_required();

  explicit TestDatabase(Backend backend);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // Points at the fresh database; migrate is on. Copy it to change workers or migrate.
  const DatabaseConfig& config() const { return config_; }

 private:
  DatabaseConfig config_;
  std::string dir_;     // SQLite: temporary directory
  std::string schema_;  // PostgreSQL: schema created for this test
  std::unique_ptr<Connection> admin_;
};

}  // namespace parley::storage::testing
