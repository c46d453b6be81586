// parley-archive-bench: fills an XEP-0313 archive table with N messages over many owners and
// contacts, then measures 50-message pages of one conversation (a 'with' filter) as the mam
// module asks for them: the first page, a page in the middle (RSM after), the last page (RSM
// empty before). contrib/bench/README.md describes it; doc/PERFORMANCE.md has the figures.
//
//   parley-archive-bench --backend sqlite --sqlite PATH | --backend postgresql --pg CONN
//       [--rows 10000000] [--owners 5000] [--contacts 20] [--queries 3000] [--page 50]
//       [--batch 20000] [--seed 1]
//
// A database that already holds the rows asked for is reused (no refill).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "../../../modules/mam/archive_store.h"
#include "storage/database.h"

namespace {

using namespace parley;
using Clock = std::chrono::steady_clock;

std::map<std::string, std::string> parse_args(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || i + 1 >= argc)
      throw std::invalid_argument("bad argument " + key);
    args[key.substr(2)] = argv[++i];
  }
  return args;
}

int64_t num(std::map<std::string, std::string>& a, const std::string& k, int64_t fallback) {
  auto it = a.find(k);
  return it == a.end() ? fallback : std::stoll(it->second);
}

const std::string kHost = "bench.example";
std::string owner_name(int64_t o) {
  return "u" + std::to_string(o);
}
std::string contact_jid(int64_t o, int64_t c) {
  // Contacts are other accounts; (o, c) -> a stable peer.
  return "u" + std::to_string((o * 7919 + c * 104729 + 1) % 1000003) + "@" + kHost;
}

// Contact k of an owner is chosen with weight 1/(k+1): a few long conversations, many short.
class ContactPicker {
 public:
  explicit ContactPicker(int64_t contacts) {
    double sum = 0;
    for (int64_t k = 0; k < contacts; ++k) cumulative_.push_back(sum += 1.0 / double(k + 1));
  }
  int64_t pick(std::mt19937_64& rng) const {
    double r = std::uniform_real_distribution<double>(0, cumulative_.back())(rng);
    return std::lower_bound(cumulative_.begin(), cumulative_.end(), r) - cumulative_.begin();
  }

 private:
  std::vector<double> cumulative_;
};

void fill(storage::Connection& c, int64_t rows, int64_t owners, int64_t contacts, int64_t batch,
          uint64_t seed) {
  constexpr int kPerStatement = 100;
  std::string sql =
      "INSERT INTO archive_messages (host, username, seq, stanza_id, with_jid, with_resource, "
      "direction, created_at, stanza) VALUES ";
  for (int i = 0; i < kPerStatement; ++i)
    sql += i ? ", (?, ?, ?, ?, ?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?, ?, ?, ?, ?)";
  std::mt19937_64 rng(seed);
  ContactPicker picker(contacts);
  const std::string body(160, 'x');
  // Messages arrive in time order, owners interleaved, 1 ms apart on average from 2024-01-01.
  int64_t seq = 1704067200000000;
  auto started = Clock::now();
  storage::Params p;
  p.reserve(kPerStatement * 9);
  int64_t done = 0;
  c.begin();
  while (done < rows) {
    p.clear();
    for (int i = 0; i < kPerStatement; ++i) {
      int64_t o = std::uniform_int_distribution<int64_t>(0, owners - 1)(rng);
      int64_t k = picker.pick(rng);
      seq += 1 + static_cast<int64_t>(rng() % 1999);
      bool out = rng() & 1;
      std::string me = owner_name(o) + "@" + kHost;
      std::string with = contact_jid(o, k);
      std::string id = "b" + std::to_string(done + i);
      p.emplace_back(kHost);
      p.emplace_back(owner_name(o));
      p.emplace_back(seq);
      p.emplace_back(id);
      p.emplace_back(with);
      p.emplace_back(std::string("phone"));
      p.emplace_back(static_cast<int64_t>(out ? 1 : 0));
      p.emplace_back(seq / 1000);
      p.emplace_back("<message xmlns='jabber:client' from='" + (out ? me : with) + "/phone' to='" +
                     (out ? with : me) + "' type='chat' id='" + id + "'><body>" + body +
                     "</body></message>");
    }
    c.exec(sql, p);
    done += kPerStatement;
    if (done % batch == 0 || done >= rows) {
      c.commit();
      if (done % (batch * 25) == 0 || done >= rows) {
        double s = std::chrono::duration<double>(Clock::now() - started).count();
        std::fprintf(stderr, "  %lld rows, %.0f s, %.0f rows/s\n", static_cast<long long>(done), s,
                     double(done) / s);
      }
      if (done < rows) c.begin();
    }
  }
}

struct Stats {
  std::vector<double> ms;
  void add(Clock::duration d) {
    ms.push_back(std::chrono::duration<double, std::milli>(d).count());
  }
  double pct(double q) {
    std::sort(ms.begin(), ms.end());
    size_t i = std::min(ms.size() - 1, static_cast<size_t>(q * double(ms.size())));
    return ms[i];
  }
};

}  // namespace

int main(int argc, char** argv) {
  try {
    auto args = parse_args(argc, argv);
    storage::DatabaseConfig config;
    const std::string backend = args.count("backend") ? args["backend"] : "sqlite";
    if (backend == "sqlite") {
      config.backend = storage::Backend::SQLite;
      config.sqlite_path = args.count("sqlite") ? args["sqlite"] : "archive-bench.db";
    } else if (backend == "postgresql") {
      config.backend = storage::Backend::PostgreSQL;
      if (!args.count("pg")) throw std::invalid_argument("--pg CONNINFO is required");
      config.postgresql = args["pg"];
    } else {
      throw std::invalid_argument("--backend sqlite|postgresql");
    }
    const int64_t rows = num(args, "rows", 10'000'000);
    const int64_t owners = num(args, "owners", 5000);
    const int64_t contacts = num(args, "contacts", 20);
    const int64_t queries = num(args, "queries", 3000);
    const int64_t page = num(args, "page", 50);
    const int64_t batch = num(args, "batch", 20000);
    const uint64_t seed = static_cast<uint64_t>(num(args, "seed", 1));
    if (rows % 100 != 0 || batch % 100 != 0)
      throw std::invalid_argument("--rows and --batch are multiples of 100");

    auto c = storage::connect(config);
    int64_t have = c->query("SELECT COUNT(*) FROM archive_messages").at(0).integer(0);
    std::cout << "backend " << backend << ", " << have << " rows present\n";
    if (have < rows) {
      if (have > 0) throw std::runtime_error("a partly filled archive: drop it first");
      auto t0 = Clock::now();
      fill(*c, rows, owners, contacts, batch, seed);
      if (config.backend == storage::Backend::PostgreSQL) c->exec("ANALYZE archive_messages");
      double s = std::chrono::duration<double>(Clock::now() - t0).count();
      std::cout << "filled " << rows << " rows in " << s << " s (" << double(rows) / s
                << " rows/s)\n";
    }

    // Samples: a random owner and one of its contacts that has at least one message.
    std::mt19937_64 rng(seed + 1);
    mam::ArchiveStore store(*c);
    struct Sample {
      Jid owner;
      std::string with, middle;
      int64_t count;
    };
    std::vector<Sample> samples;
    while (static_cast<int64_t>(samples.size()) < queries) {
      int64_t o = std::uniform_int_distribution<int64_t>(0, owners - 1)(rng);
      int64_t k = std::uniform_int_distribution<int64_t>(0, contacts - 1)(rng);
      auto owner = Jid::parse(owner_name(o) + "@" + kHost);
      std::string with = contact_jid(o, k);
      storage::Params p{kHost, owner_name(o), with};
      int64_t n = c->query(
                       "SELECT COUNT(*) FROM archive_messages WHERE host = ? AND "
                       "username = ? AND with_jid = ?",
                       p)
                      .at(0)
                      .integer(0);
      if (n == 0) continue;
      p.emplace_back(n / 2);
      std::string middle = c->query(
                                "SELECT stanza_id FROM archive_messages WHERE host = ? AND "
                                "username = ? AND with_jid = ? ORDER BY seq LIMIT 1 OFFSET ?",
                                p)
                               .at(0)
                               .str(0);
      samples.push_back({*owner, with, middle, n});
    }
    std::vector<int64_t> sizes;
    for (const auto& s : samples) sizes.push_back(s.count);
    std::sort(sizes.begin(), sizes.end());
    std::cout << samples.size() << " conversations sampled: messages per conversation p50 "
              << sizes[sizes.size() / 2] << ", max " << sizes.back() << "\n";

    Stats first, middle, last;
    int64_t returned = 0;
    for (const auto& s : samples) {
      mam::Filter f;
      f.with = s.with;
      auto t = Clock::now();
      returned += static_cast<int64_t>(store.query(s.owner, f, {page, {}, {}, {}}).messages.size());
      first.add(Clock::now() - t);
      t = Clock::now();
      returned +=
          static_cast<int64_t>(store.query(s.owner, f, {page, s.middle, {}, {}}).messages.size());
      middle.add(Clock::now() - t);
      t = Clock::now();
      returned += static_cast<int64_t>(store.query(s.owner, f, {page, {}, "", {}}).messages.size());
      last.add(Clock::now() - t);
    }
    std::printf("%-8s %8s %8s %8s %8s   (ms per page of up to %lld, %lld messages returned)\n",
                "page", "p50", "p90", "p99", "max", static_cast<long long>(page),
                static_cast<long long>(returned));
    for (auto& [name, st] : std::vector<std::pair<const char*, Stats*>>{
             {"first", &first}, {"middle", &middle}, {"last", &last}})
      std::printf("%-8s %8.2f %8.2f %8.2f %8.2f\n", name, st->pct(0.5), st->pct(0.9), st->pct(0.99),
                  st->pct(1.0));
    std::printf(
        "{\"backend\":\"%s\",\"rows\":%lld,\"queries\":%lld,\"first_p50\":%.3f,"
        "\"first_p99\":%.3f,\"middle_p50\":%.3f,\"middle_p99\":%.3f,\"last_p50\":%.3f,"
        "\"last_p99\":%.3f}\n",
        backend.c_str(), static_cast<long long>(rows), static_cast<long long>(queries),
        first.pct(0.5), first.pct(0.99), middle.pct(0.5), middle.pct(0.99), last.pct(0.5),
        last.pct(0.99));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "parley-archive-bench: " << e.what() << "\n";
    return 1;
  }
}
