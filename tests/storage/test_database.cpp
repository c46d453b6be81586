#include "test_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace parley::storage::testing {
namespace {

const char* postgresql_conninfo() {
  const char* v = std::getenv("PARLEY_TEST_POSTGRESQL");
  return v && *v ? v : nullptr;
}

// Adds a search_path so every connection of this test lands in its own schema. Handles both
// libpq forms: "key=value ..." and "postgresql://...".
std::string with_search_path(const std::string& conninfo, const std::string& schema) {
  if (conninfo.find("://") != std::string::npos) {
    char sep = conninfo.find('?') == std::string::npos ? '?' : '&';
    return conninfo + sep + "options=-csearch_path%3D" + schema;
  }
  return conninfo + " options='-c search_path=" + schema + "'";
}

}  // namespace

std::optional<std::string> TestDatabase::unavailable(Backend backend) {
  if (backend == Backend::PostgreSQL && !postgresql_conninfo())
    return "PARLEY_TEST_POSTGRESQL is not set; start a server with contrib/testing/pg-start DIR "
           "and export its connection string to run the PostgreSQL contract tests";
  return std::nullopt;
}

bool TestDatabase::postgresql_required() {
  const char* v = std::getenv("PARLEY_TEST_POSTGRESQL_REQUIRED");
  return v && std::string(v) == "1";
}

TestDatabase::TestDatabase(Backend backend) {
  config_.backend = backend;
  config_.workers = 2;
  if (backend == Backend::SQLite) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "parley-storage-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw DatabaseError("mkdtemp failed");
    dir_ = tmpl;
    // A subdirectory that does not exist yet: the backend must create it.
    config_.sqlite_path = dir_ + "/data/parley.db";
    return;
  }
  static std::atomic<int> counter{0};
  schema_ = "parley_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  DatabaseConfig admin = config_;
  admin.postgresql = postgresql_conninfo();
  admin.migrate = false;
  admin_ = connect(admin);
  admin_->exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  admin_->exec("CREATE SCHEMA " + schema_);
  config_.postgresql = with_search_path(admin.postgresql, schema_);
}

TestDatabase::~TestDatabase() {
  try {
    if (admin_) admin_->exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  } catch (...) {
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void BackendTest::SetUp() {
  if (auto why = TestDatabase::unavailable(GetParam())) {
    if (TestDatabase::postgresql_required())
      FAIL() << *why << " (PARLEY_TEST_POSTGRESQL_REQUIRED=1)";
    GTEST_SKIP() << *why;
  }
  db_ = std::make_unique<TestDatabase>(GetParam());
  c_ = connect(db_->config());
}

void BackendTest::TearDown() {
  c_.reset();
  db_.reset();
}

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::SQLite ? "SQLite" : "PostgreSQL";
}

Jid jid(std::string_view text) {
  auto j = Jid::parse(text);
  if (!j) throw std::invalid_argument("bad test JID: " + std::string(text));
  return *j;
}

}  // namespace parley::storage::testing
