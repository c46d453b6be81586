// A throwaway database for one storage contract test: a fresh SQLite file in a temporary
// directory, or a fresh schema on the PostgreSQL server named by PARLEY_TEST_POSTGRESQL
// (contrib/testing/pg-start prints a suitable connection string).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "jid/jid.h"
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

// A storage contract fixture: every test runs once per backend, each time on a fresh database
// with a connection to it in c_. Without PostgreSQL the PostgreSQL runs are skipped, or fail
// under PARLEY_TEST_POSTGRESQL_REQUIRED=1. Instantiate with PARLEY_BACKENDS(Suite).
class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Connection> c_;
};

// "SQLite" / "PostgreSQL", for test names.
std::string backend_name(const ::testing::TestParamInfo<Backend>& info);

// A JID the test knows to be valid.
Jid jid(std::string_view text);

}  // namespace parley::storage::testing

#define PARLEY_BACKENDS(Suite)                                                        \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite,                                           \
                           ::testing::Values(::parley::storage::Backend::SQLite,      \
                                             ::parley::storage::Backend::PostgreSQL), \
                           ::parley::storage::testing::backend_name)
