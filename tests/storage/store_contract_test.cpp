// Storage contract (DESIGN §6, §9): the same tests against every backend. SQLite always runs;
// PostgreSQL runs when PARLEY_TEST_POSTGRESQL holds a connection string (contrib/testing/pg-start).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "im/roster_store.h"
#include "storage/account_store.h"
#include "storage/migrations.h"
#include "test_database.h"

namespace parley::storage {

// Readable parameter values in gtest's failure messages (found by ADL).
void PrintTo(Backend b, std::ostream* os) {
  *os << (b == Backend::SQLite ? "SQLite" : "PostgreSQL");
}

namespace {

using im::RosterItem;
using im::RosterStore;
using im::Subscription;
using im::SubscriptionRequest;
using testing::jid;
using testing::TestDatabase;

sasl::ScramKeys keys(std::string salt, uint32_t iterations, std::string stored,
                     std::string server) {
  return sasl::ScramKeys{std::move(salt), iterations, std::move(stored), std::move(server)};
}

void expect_keys_eq(const std::optional<sasl::ScramKeys>& a,
                    const std::optional<sasl::ScramKeys>& b) {
  ASSERT_EQ(a.has_value(), b.has_value());
  if (!a) return;
  EXPECT_EQ(a->salt, b->salt);
  EXPECT_EQ(a->iterations, b->iterations);
  EXPECT_EQ(a->stored_key, b->stored_key);
  EXPECT_EQ(a->server_key, b->server_key);
}

void expect_credentials_eq(const sasl::Credentials& a, const sasl::Credentials& b) {
  expect_keys_eq(a.sha1, b.sha1);
  expect_keys_eq(a.sha256, b.sha256);
  expect_keys_eq(a.sha512, b.sha512);
}

std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

sasl::Credentials sample_credentials() {
  sasl::Credentials c;
  c.sha1 = keys(std::string("\0salt\0", 6), 4096, std::string(20, '\0'), all_bytes().substr(0, 20));
  c.sha256 = keys(all_bytes(), 4294967295u, all_bytes().substr(100, 32), std::string(32, '\xff'));
  return c;  // sha512 deliberately absent
}

RosterItem roster_item(std::string_view contact, std::string name, Subscription s,
                       std::vector<std::string> groups = {}) {
  RosterItem item;
  item.jid = jid(contact);
  item.name = std::move(name);
  item.subscription = s;
  item.groups = std::move(groups);
  return item;
}

class StoreContract : public storage::testing::BackendTest {
 protected:
  const Jid alice_ = jid("alice@example.org");
  const Jid bob_ = jid("bob@example.org");
  const Jid carol_ = jid("carol@example.net");
};

PARLEY_BACKENDS(StoreContract);

// --- Connection --------------------------------------------------------------------------------

TEST_P(StoreContract, QueryReturnsTextNullAndIntegers) {
  auto rows = c_->query("SELECT '?', ?, ?, ?", {int64_t{-42}, std::string("x y"), nullptr});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].str(0), "?");  // a '?' inside a literal is not a placeholder
  EXPECT_EQ(rows[0].integer(1), -42);
  EXPECT_EQ(rows[0].str(2), "x y");
  EXPECT_TRUE(rows[0].is_null(3));
  EXPECT_EQ(rows[0].str(3), "");
  EXPECT_EQ(rows[0].integer(3), 0);
  EXPECT_THROW(rows[0].integer(2), DatabaseError);
}

TEST_P(StoreContract, SqlErrorsBecomeDatabaseError) {
  EXPECT_THROW(c_->query("SELECT no_such_column FROM accounts"), DatabaseError);
  EXPECT_THROW(c_->exec("INSERT INTO roster_versions (host, username, version) VALUES (?, ?, ?)",
                        {std::string("h"), nullptr, int64_t{1}}),
               DatabaseError);
  // The connection stays usable after an error.
  EXPECT_EQ(c_->query("SELECT 1").at(0).integer(0), 1);
}

TEST_P(StoreContract, TransactionRollsBackOnException) {
  UserDataStore data(*c_);
  EXPECT_THROW(c_->transaction([&] {
    data.set(alice_, "s", "k", "v");
    throw std::runtime_error("abort");
  }),
               std::runtime_error);
  EXPECT_FALSE(data.get(alice_, "s", "k"));

  // A store's own transaction nests inside the caller's (savepoint); the inner failure rolls
  // back only its part.
  c_->transaction([&] {
    data.set(alice_, "s", "outer", "1");
    EXPECT_THROW(c_->transaction([&] {
      data.set(alice_, "s", "inner", "2");
      throw std::runtime_error("inner");
    }),
                 std::runtime_error);
  });
  EXPECT_EQ(data.get(alice_, "s", "outer"), "1");
  EXPECT_FALSE(data.get(alice_, "s", "inner"));
}

// --- Accounts ----------------------------------------------------------------------------------

TEST_P(StoreContract, AccountCreateRejectsDuplicate) {
  AccountStore accounts(*c_);
  EXPECT_FALSE(accounts.exists(alice_));
  EXPECT_TRUE(accounts.create(alice_, sample_credentials()));
  EXPECT_TRUE(accounts.exists(alice_));
  EXPECT_FALSE(accounts.create(alice_, sasl::Credentials{}));
  // The failed create did not overwrite the credentials.
  expect_credentials_eq(*accounts.credentials(alice_), sample_credentials());
  EXPECT_FALSE(accounts.exists(bob_));
  EXPECT_FALSE(accounts.credentials(bob_));
}

TEST_P(StoreContract, CredentialsRoundTripExactBytes) {
  AccountStore accounts(*c_);
  auto creds = sample_credentials();
  ASSERT_TRUE(accounts.create(alice_, creds));
  auto got = accounts.credentials(alice_);
  ASSERT_TRUE(got);
  expect_credentials_eq(*got, creds);
  EXPECT_EQ(got->sha1->salt.size(), 6u);  // embedded NULs survive
  EXPECT_FALSE(got->sha512);
}

TEST_P(StoreContract, SetCredentialsReplacesAll) {
  AccountStore accounts(*c_);
  ASSERT_TRUE(accounts.create(alice_, sample_credentials()));
  sasl::Credentials next;
  next.sha512 = keys("new salt", 10000, std::string(64, 'a'), std::string(64, '\0'));
  EXPECT_TRUE(accounts.set_credentials(alice_, next));
  expect_credentials_eq(*accounts.credentials(alice_), next);
  EXPECT_FALSE(accounts.set_credentials(bob_, next));
  EXPECT_FALSE(accounts.exists(bob_));
}

TEST_P(StoreContract, ListAndCountPerHost) {
  AccountStore accounts(*c_);
  for (auto name : {"zed@example.org", "Alice@example.org", "bob@example.org", "bob@example.net"})
    ASSERT_TRUE(accounts.create(jid(name), sasl::Credentials{}));
  EXPECT_EQ(accounts.list("example.org"), (std::vector<std::string>{"alice", "bob", "zed"}));
  EXPECT_EQ(accounts.list("example.net"), (std::vector<std::string>{"bob"}));
  EXPECT_TRUE(accounts.list("example.com").empty());
  EXPECT_EQ(accounts.count("example.org"), 3);
  EXPECT_EQ(accounts.count("example.net"), 1);
  EXPECT_EQ(accounts.count("example.com"), 0);
}

TEST_P(StoreContract, RemoveDeletesEverythingOfTheAccountOnly) {
  AccountStore accounts(*c_);
  UserDataStore data(*c_);
  RosterStore roster(*c_);
  for (const Jid* who : {&alice_, &bob_}) {
    ASSERT_TRUE(accounts.create(*who, sample_credentials()));
    roster.put(*who, roster_item("carol@example.net", "Carol", Subscription::Both, {"Friends"}));
    roster.add_request(*who, {carol_, "<presence type='subscribe'/>"});
    data.set(*who, "vcard", "", "<vCard/>");
  }
  EXPECT_TRUE(accounts.remove(alice_));
  EXPECT_FALSE(accounts.exists(alice_));
  EXPECT_FALSE(accounts.credentials(alice_));
  EXPECT_TRUE(roster.items(alice_).empty());
  EXPECT_EQ(roster.version(alice_), 0);
  EXPECT_TRUE(roster.requests(alice_).empty());
  EXPECT_FALSE(data.get(alice_, "vcard", ""));
  EXPECT_EQ(
      c_->query("SELECT COUNT(*) FROM roster_groups WHERE username = 'alice'").at(0).integer(0), 0);
  // bob is untouched
  EXPECT_TRUE(accounts.exists(bob_));
  ASSERT_EQ(roster.items(bob_).size(), 1u);
  EXPECT_EQ(roster.items(bob_)[0].groups, (std::vector<std::string>{"Friends"}));
  EXPECT_TRUE(roster.has_request(bob_, carol_));
  EXPECT_EQ(data.get(bob_, "vcard", ""), "<vCard/>");

  EXPECT_FALSE(accounts.remove(alice_));
  // The name can be registered again, starting from nothing.
  EXPECT_TRUE(accounts.create(alice_, sasl::Credentials{}));
  EXPECT_TRUE(roster.items(alice_).empty());
}

// --- User data ---------------------------------------------------------------------------------

TEST_P(StoreContract, UserDataGetSetOverwriteRemove) {
  UserDataStore data(*c_);
  EXPECT_FALSE(data.get(alice_, "private", "storage:bookmarks"));
  data.set(alice_, "private", "storage:bookmarks", "<storage xmlns='storage:bookmarks'/>");
  data.set(alice_, "private", "other", "");
  data.set(alice_, "last", "storage:bookmarks", "1700000000");
  data.set(bob_, "private", "storage:bookmarks", "bob's");
  EXPECT_EQ(data.get(alice_, "private", "storage:bookmarks"),
            "<storage xmlns='storage:bookmarks'/>");
  EXPECT_EQ(data.get(alice_, "private", "other"), "");  // empty value is not "missing"
  EXPECT_EQ(data.get(alice_, "last", "storage:bookmarks"), "1700000000");

  data.set(alice_, "private", "storage:bookmarks", "Grüße, 世界 🎉");
  EXPECT_EQ(data.get(alice_, "private", "storage:bookmarks"), "Grüße, 世界 🎉");
  EXPECT_EQ(data.get(bob_, "private", "storage:bookmarks"), "bob's");

  EXPECT_TRUE(data.remove(alice_, "private", "storage:bookmarks"));
  EXPECT_FALSE(data.remove(alice_, "private", "storage:bookmarks"));
  EXPECT_FALSE(data.get(alice_, "private", "storage:bookmarks"));
  EXPECT_EQ(data.get(alice_, "last", "storage:bookmarks"), "1700000000");
  EXPECT_EQ(data.get(bob_, "private", "storage:bookmarks"), "bob's");
}

// --- Roster ------------------------------------------------------------------------------------

TEST_P(StoreContract, RosterPutUpdateRemove) {
  RosterStore roster(*c_);
  EXPECT_TRUE(roster.items(alice_).empty());
  EXPECT_EQ(roster.version(alice_), 0);
  EXPECT_FALSE(roster.item(alice_, bob_));

  int64_t v1 = roster.put(alice_, roster_item("bob@example.org", "Bob", Subscription::To, {"A"}));
  EXPECT_GT(v1, 0);
  RosterItem carol = roster_item("carol@example.net", "", Subscription::None);
  carol.ask = true;
  int64_t v2 = roster.put(alice_, carol);
  EXPECT_GT(v2, v1);
  EXPECT_EQ(roster.version(alice_), v2);

  auto items = roster.items(alice_);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].jid, bob_);
  EXPECT_EQ(items[0].name, "Bob");
  EXPECT_EQ(items[0].subscription, Subscription::To);
  EXPECT_FALSE(items[0].ask);
  EXPECT_EQ(items[0].groups, (std::vector<std::string>{"A"}));
  EXPECT_EQ(items[1].jid, carol_);
  EXPECT_TRUE(items[1].ask);
  EXPECT_FALSE(items[1].approved);
  EXPECT_TRUE(items[1].groups.empty());

  // Update replaces every field, groups included.
  RosterItem bob2 = roster_item("bob@example.org", "Robert", Subscription::Both, {"B", "C"});
  bob2.approved = true;
  int64_t v3 = roster.put(alice_, bob2);
  EXPECT_GT(v3, v2);
  auto got = roster.item(alice_, bob_);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->name, "Robert");
  EXPECT_EQ(got->subscription, Subscription::Both);
  EXPECT_TRUE(got->approved);
  EXPECT_EQ(got->groups, (std::vector<std::string>{"B", "C"}));
  EXPECT_EQ(roster.items(alice_).size(), 2u);

  int64_t v4 = roster.remove(alice_, bob_);
  EXPECT_GT(v4, v3);
  EXPECT_FALSE(roster.item(alice_, bob_));
  ASSERT_EQ(roster.items(alice_).size(), 1u);
  // Removing what is not there changes nothing, the version included.
  EXPECT_EQ(roster.remove(alice_, bob_), v4);
  EXPECT_EQ(roster.version(alice_), v4);

  // Rosters are per user.
  EXPECT_TRUE(roster.items(bob_).empty());
  EXPECT_EQ(roster.version(bob_), 0);
}

TEST_P(StoreContract, RosterVersionStrictlyIncreases) {
  RosterStore roster(*c_);
  int64_t last = roster.version(alice_);
  for (int i = 0; i < 20; ++i) {
    int64_t v = i % 3 == 2 ? roster.remove(alice_, bob_)
                           : roster.put(alice_, roster_item("bob@example.org", std::to_string(i),
                                                            Subscription::None));
    if (i % 3 == 2) {
      EXPECT_GT(v, last) << "remove of an existing item must bump the version";
    } else {
      EXPECT_GT(v, last);
    }
    EXPECT_EQ(roster.version(alice_), v);
    last = v;
  }
}

TEST_P(StoreContract, RosterGroupsRoundTripAnyText) {
  RosterStore roster(*c_);
  std::vector<std::string> groups = {"Famille 👪", "a,b",         "line\nbreak", "semi;colon",
                                     "quote\"'",  "back\\slash", "[\"json\"]",  " spaced ",
                                     "Ünïcödé",   "日本語",      "tab\there"};
  roster.put(alice_,
             roster_item("bob@example.org", "Bob ⚡, \"the\" builder", Subscription::From, groups));
  auto got = roster.item(alice_, bob_);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->groups, groups);  // order kept too
  EXPECT_EQ(got->name, "Bob ⚡, \"the\" builder");
  ASSERT_EQ(roster.items(alice_).size(), 1u);
  EXPECT_EQ(roster.items(alice_)[0].groups, groups);

  // A duplicate group is stored once rather than failing the write.
  roster.put(alice_, roster_item("bob@example.org", "", Subscription::From, {"x", "y", "x"}));
  EXPECT_EQ(roster.item(alice_, bob_)->groups, (std::vector<std::string>{"x", "y"}));
}

TEST_P(StoreContract, SubscriptionRequests) {
  RosterStore roster(*c_);
  EXPECT_TRUE(roster.requests(alice_).empty());
  EXPECT_FALSE(roster.has_request(alice_, bob_));

  roster.add_request(alice_, {carol_, "<presence from='carol@example.net' type='subscribe'/>"});
  roster.add_request(alice_, {bob_, "<presence type='subscribe'>first</presence>"});
  roster.add_request(alice_, {bob_, "<presence type='subscribe'>second</presence>"});
  EXPECT_TRUE(roster.has_request(alice_, bob_));
  EXPECT_FALSE(roster.has_request(bob_, alice_));

  auto reqs = roster.requests(alice_);
  ASSERT_EQ(reqs.size(), 2u);  // the second request from bob replaced the first
  EXPECT_EQ(reqs[0].from, bob_);
  EXPECT_EQ(reqs[0].stanza, "<presence type='subscribe'>second</presence>");
  EXPECT_EQ(reqs[1].from, carol_);

  EXPECT_TRUE(roster.remove_request(alice_, bob_));
  EXPECT_FALSE(roster.remove_request(alice_, bob_));
  EXPECT_FALSE(roster.has_request(alice_, bob_));
  ASSERT_EQ(roster.requests(alice_).size(), 1u);
  // Requests are not roster changes.
  EXPECT_EQ(roster.version(alice_), 0);
}

// --- Pool --------------------------------------------------------------------------------------

TEST_P(StoreContract, PoolRunsSameKeyInPostingOrderOnOneWorker) {
  DatabaseConfig config = db_->config();
  config.workers = 4;
  auto db = Database::open(config);
  ASSERT_EQ(db->workers(), 4u);

  constexpr int kThreads = 4, kPerThread = 250;
  std::mutex m;
  std::vector<std::pair<int, int>> seen;  // (posting thread, sequence)
  std::set<std::thread::id> worker_threads;
  std::atomic<int> running{0}, overlap{0};

  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        db->post(alice_.str(), [&, t, i](Connection& c) {
          if (running.fetch_add(1) != 0) overlap.fetch_add(1);
          // Read-modify-write that loses updates unless same-key work is serialized.
          UserDataStore data(c);
          auto v = data.get(alice_, "test", "counter");
          data.set(alice_, "test", "counter", std::to_string(v ? std::stoi(*v) + 1 : 1));
          {
            std::lock_guard lock(m);
            seen.emplace_back(t, i);
            worker_threads.insert(std::this_thread::get_id());
          }
          running.fetch_sub(1);
        });
      }
    });
  }
  for (auto& p : posters) p.join();
  db->drain();

  ASSERT_EQ(seen.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(worker_threads.size(), 1u);
  EXPECT_EQ(overlap.load(), 0);
  std::vector<int> next(kThreads, 0);
  for (auto [t, i] : seen) {
    EXPECT_EQ(i, next[t]) << "thread " << t << " out of order";
    next[t] = i + 1;
  }
  EXPECT_EQ(UserDataStore(*c_).get(alice_, "test", "counter"),
            std::to_string(kThreads * kPerThread));
}

TEST_P(StoreContract, PoolDrainRunsEverythingAndSurvivesThrowingWork) {
  DatabaseConfig config = db_->config();
  config.workers = 3;
  auto db = Database::open(config);
  std::atomic<int> ran{0};
  std::atomic<bool> after_throw{false};
  db->post("bob@example.org", [](Connection&) { throw std::runtime_error("expected in test"); });
  db->post("bob@example.org", [&](Connection& c) {
    c.query("SELECT 1");
    after_throw = true;
  });
  for (int i = 0; i < 300; ++i)
    db->post(i % 2 ? std::string() : "user" + std::to_string(i), [&](Connection&) { ++ran; });
  db->drain();
  EXPECT_EQ(ran.load(), 300);
  EXPECT_TRUE(after_throw.load());
  // After drain, posting is refused (logged), never run and never crashes.
  db->post("late", [&](Connection&) { ++ran; });
  db->drain();
  EXPECT_EQ(ran.load(), 300);
}

// Queues `count` writes behind a held worker so they form one batch; write `bad` (if any)
// fails. Returns the events: "w<i>" each time write i ran, "d<i>:<ok>" when it was told.
std::vector<std::string> run_batch(const DatabaseConfig& base, const Jid& owner, int count,
                                   int bad) {
  DatabaseConfig config = base;
  config.workers = 1;
  auto db = Database::open(config);
  std::mutex gate;
  gate.lock();
  db->post("", [&](Connection&) { std::lock_guard wait(gate); });
  std::mutex m;
  std::vector<std::string> events;
  for (int i = 0; i < count; ++i) {
    db->write(
        owner.str(),
        [&, i](Connection& c) {
          {
            std::lock_guard lock(m);
            events.push_back("w" + std::to_string(i));
          }
          UserDataStore(c).set(owner, "batch", std::to_string(i), "v");
          if (i == bad) c.exec("INSERT INTO no_such_table VALUES (1)");
        },
        [&, i](bool ok) {
          std::lock_guard lock(m);
          events.push_back("d" + std::to_string(i) + ":" + (ok ? "1" : "0"));
        });
  }
  gate.unlock();
  db->drain();
  return events;
}

TEST_P(StoreContract, WritesQueuedTogetherShareOneCommit) {
  constexpr int kWrites = 40;
  auto events = run_batch(db_->config(), alice_, kWrites, -1);
  ASSERT_EQ(events.size(), size_t{2 * kWrites});
  // Group commit: every write ran once, before anyone was told it committed.
  for (int i = 0; i < kWrites; ++i) EXPECT_EQ(events[i], "w" + std::to_string(i));
  for (int i = 0; i < kWrites; ++i) EXPECT_EQ(events[kWrites + i], "d" + std::to_string(i) + ":1");
  UserDataStore data(*c_);
  for (int i = 0; i < kWrites; ++i) EXPECT_TRUE(data.get(alice_, "batch", std::to_string(i))) << i;
}

TEST_P(StoreContract, AFailingWriteIsLostAloneAndTheOthersCommit) {
  constexpr int kWrites = 40, kBad = 17;
  auto events = run_batch(db_->config(), alice_, kWrites, kBad);
  // The batch ran up to the failure, then again with a savepoint around each write.
  std::vector<std::string> expected;
  for (int i = 0; i <= kBad; ++i) expected.push_back("w" + std::to_string(i));
  for (int i = 0; i < kWrites; ++i) expected.push_back("w" + std::to_string(i));
  for (int i = 0; i < kWrites; ++i)
    expected.push_back("d" + std::to_string(i) + ":" + (i == kBad ? "0" : "1"));
  EXPECT_EQ(events, expected);
  UserDataStore data(*c_);
  for (int i = 0; i < kWrites; ++i)
    EXPECT_EQ(data.get(alice_, "batch", std::to_string(i)).has_value(), i != kBad) << i;
}

TEST_P(StoreContract, WriteAfterDrainIsRefusedAndReported) {
  auto db = Database::open(db_->config());
  db->drain();
  std::optional<bool> result;
  db->write(
      alice_.str(), [](Connection&) {}, [&](bool ok) { result = ok; });
  EXPECT_EQ(result, std::optional<bool>(false));
}

// --- Migrations --------------------------------------------------------------------------------

TEST_P(StoreContract, MigrationsAreIdempotent) {
  // The fixture's connection already migrated its database; start from a second, fresh one.
  c_.reset();
  db_ = std::make_unique<TestDatabase>(GetParam());
  DatabaseConfig config = db_->config();
  config.migrate = false;
  auto c = connect(config);
  const auto& all = GetParam() == Backend::SQLite ? schema_sqlite() : schema_postgresql();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(schema_version(*c), 0);
  EXPECT_EQ(migrate(*c), static_cast<int>(all.size()));
  EXPECT_EQ(schema_version(*c), all.back().version);
  EXPECT_EQ(migrate(*c), 0);
  EXPECT_EQ(schema_version(*c), all.back().version);
  // A migrating open() of an up-to-date database is a no-op, and the schema is usable.
  auto again = connect(db_->config());
  EXPECT_EQ(migrate(*again), 0);
  EXPECT_TRUE(AccountStore(*again).create(alice_, sasl::Credentials{}));
}

TEST_P(StoreContract, ConcurrentMigrationsApplyEachOnce) {
  c_.reset();
  db_ = std::make_unique<TestDatabase>(GetParam());
  DatabaseConfig config = db_->config();
  config.migrate = false;
  constexpr int kRunners = 4;
  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < kRunners; ++i) conns.push_back(connect(config));
  std::atomic<int> total{0}, errors{0};
  std::vector<std::thread> threads;
  for (auto& c : conns)
    threads.emplace_back([&, conn = c.get()] {
      try {
        total += migrate(*conn);
      } catch (const DatabaseError& e) {
        ADD_FAILURE() << e.what();
        ++errors;
      }
    });
  for (auto& t : threads) t.join();
  const auto& all = GetParam() == Backend::SQLite ? schema_sqlite() : schema_postgresql();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(total.load(), static_cast<int>(all.size()));
  EXPECT_EQ(conns[0]->query("SELECT COUNT(*) FROM schema_version").at(0).integer(0),
            static_cast<int64_t>(all.size()));
}

}  // namespace
}  // namespace parley::storage
