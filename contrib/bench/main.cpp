// parley-bench: load generator for Parley (contrib/bench/README.md).
//   parley-bench setup --config CONF --count N --password PW [--prefix bench]
//   parley-bench idle --sessions N [common options]
//   parley-bench chat --pairs P --messages M [--window W] [common options]
//   parley-bench latency --pairs P --rate R --duration S [--sample-rss S] [common options]
//   parley-bench day --sessions N --duration S [mix options] [common options]
//   parley-bench fanout --occupants N --senders S --messages M [--window W | --rate R]
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include "contrib/bench/scenarios.h"
#include "core/config.h"
#include "jid/jid.h"
#include "sasl/credentials.h"
#include "storage/account_store.h"
#include "storage/database.h"

namespace {

using namespace parley;

void usage() {
  std::cerr
      << "usage: parley-bench COMMAND [OPTIONS]\n"
         "  setup --config CONF --count N --password PW [--prefix bench]\n"
         "      create accounts <prefix>0..<prefix>N-1 at the first host, in the database\n"
         "  idle --sessions N [--hold S]\n"
         "      open N sessions and hold them: login rate, server memory per session\n"
         "  chat --pairs P --messages M [--window W]\n"
         "      2P sessions; each pair sends M messages A->B: messages/s, time to delivery\n"
         "  latency --pairs P --rate R --duration S [--sample-rss S] [--warmup S] [--drain S]\n"
         "      2P sessions; R messages/s in total on a fixed schedule (open loop): time to\n"
         "      delivery from the intended send time; with --sample-rss, server RSS drift\n"
         "  day --sessions N --duration S [--active PCT] [--burst MIN-MAX] [--burst-gap S]\n"
         "      [--reconnect PCT] [--offline S] [--presence PCT] [--sample-rss S] [--seed N]\n"
         "      a messenger day: bursts to random users, abrupt disconnects and reconnects\n"
         "      (resumption with --sm on), presence changes\n"
         "  fanout [--occupants 1000] [--senders 10] [--messages 100] [--window 2] [--rate R]\n"
         "      [--room bench] [--service groups.<host>] [--join-concurrency 50] [--drain 15]\n"
         "      one group chat room (XEP-0045) with N occupants, S of them sending M messages\n"
         "      each (closed loop with W per sender in flight, or R/s in total, open loop):\n"
         "      deliveries/s and per server CPU-second, time to delivery, join time, memory\n"
         "common options (idle, chat, latency, day, fanout):\n"
         "  --host DOMAIN (localhost)  --port N (5223, direct TLS)  --address IP (127.0.0.1)\n"
         "  --password PW  --prefix bench  --concurrency 200  --sources 8\n"
         "  --server-pid PID (for server RSS/CPU)  --timeout S (300)\n"
         "  --sm on|off (off): XEP-0198 stream management with resumption, acks answered\n";
}

// "--key value" pairs after the command.
std::map<std::string, std::string> parse_args(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 2; i < argc; ++i) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || i + 1 >= argc)
      throw std::invalid_argument("bad argument " + key);
    args[key.substr(2)] = argv[++i];
  }
  return args;
}

std::string take(std::map<std::string, std::string>& args, const std::string& key,
                 const std::string& fallback = {}) {
  auto it = args.find(key);
  if (it == args.end()) {
    if (fallback.empty()) throw std::invalid_argument("missing --" + key);
    return fallback;
  }
  std::string v = it->second;
  args.erase(it);
  return v;
}

unsigned take_uint(std::map<std::string, std::string>& args, const std::string& key,
                   const std::string& fallback = {}) {
  return static_cast<unsigned>(std::stoul(take(args, key, fallback)));
}

// Raises the open-file limit to the hard limit: every session is a socket.
void raise_nofile() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  ::getrlimit(RLIMIT_NOFILE, &rl);
  std::cout << "open file limit: " << rl.rlim_cur << '\n';
}

int setup(std::map<std::string, std::string>& args) {
  Config config = load_config(take(args, "config"));
  std::string prefix = take(args, "prefix", "bench");
  unsigned count = take_uint(args, "count");
  auto password = sasl::prep_password(take(args, "password"));
  if (!args.empty()) throw std::invalid_argument("unknown option --" + args.begin()->first);
  if (!password || password->empty()) throw std::invalid_argument("unusable password");
  if (config.hosts.empty()) throw std::invalid_argument("the configuration has no hosts");
  const std::string& host = config.hosts.front().domain;
  auto start = std::chrono::steady_clock::now();
  // Credentials are derived ONCE and stored for every account, so all bench accounts share one
  // salt. Acceptable for throwaway benchmark accounts only: real accounts must each get their
  // own salt (RFC 5802 §9), which is what parleyctl does. The login cost on the server is the
  // same either way, since it never runs PBKDF2 for SCRAM.
  sasl::Credentials creds = sasl::derive(*password, config.c2s.scram_iterations);
  auto conn = storage::connect(config.database);
  storage::AccountStore accounts(*conn);
  unsigned created = 0, existing = 0;
  const unsigned batch = 1000;  // one transaction per batch: SQLite commits are the cost
  for (unsigned first = 0; first < count; first += batch) {
    conn->transaction([&] {
      for (unsigned i = first; i < std::min(count, first + batch); ++i) {
        auto jid = Jid::from_parts(prefix + std::to_string(i), host);
        if (!jid) throw std::invalid_argument("invalid account name " + prefix + std::to_string(i));
        if (accounts.create(*jid, creds))
          ++created;
        else
          ++existing;
      }
    });
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "setup: " << created << " accounts created, " << existing << " already there ("
            << prefix << "0.." << prefix << count - 1 << "@" << host << ") in " << s << " s\n";
  return 0;
}

bench::CommonOptions common_options(std::map<std::string, std::string>& args) {
  bench::CommonOptions c;
  c.client.domain = take(args, "host", "localhost");
  c.client.server = boost::asio::ip::tcp::endpoint(
      boost::asio::ip::make_address(take(args, "address", "127.0.0.1")),
      static_cast<unsigned short>(take_uint(args, "port", "5223")));
  c.client.password = take(args, "password", "bench-password");
  c.prefix = take(args, "prefix", "bench");
  c.concurrency = std::max(1u, take_uint(args, "concurrency", "200"));
  c.sources = std::clamp(take_uint(args, "sources", "8"), 1u, 250u);
  c.server_pid = static_cast<pid_t>(take_uint(args, "server-pid", "0"));
  c.timeout_s = std::stod(take(args, "timeout", "300"));
  c.client.stream_management = take(args, "sm", "off") == "on";
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
    usage();
    return 2;
  }
  std::string command = argv[1];
  try {
    auto args = parse_args(argc, argv);
    if (command == "setup") return setup(args);
    raise_nofile();
    auto common = common_options(args);
    if (command == "idle") {
      bench::IdleOptions o;
      o.sessions = take_uint(args, "sessions");
      o.hold_s = std::stod(take(args, "hold", "5"));
      if (!args.empty()) throw std::invalid_argument("unknown option --" + args.begin()->first);
      return bench::run_idle(common, o);
    }
    if (command == "chat") {
      bench::ChatOptions o;
      o.pairs = take_uint(args, "pairs");
      o.messages = take_uint(args, "messages");
      o.window = std::max(1u, take_uint(args, "window", "10"));
      if (!args.empty()) throw std::invalid_argument("unknown option --" + args.begin()->first);
      return bench::run_chat(common, o);
    }
    if (command == "latency") {
      bench::LatencyOptions o;
      o.pairs = std::max(1u, take_uint(args, "pairs"));
      o.rate = std::stod(take(args, "rate"));
      o.duration_s = std::stod(take(args, "duration"));
      o.sample_rss_s = std::stod(take(args, "sample-rss", "0"));
      o.warmup_s = std::stod(take(args, "warmup", "-1"));
      o.drain_s = std::stod(take(args, "drain", "10"));
      if (!args.empty()) throw std::invalid_argument("unknown option --" + args.begin()->first);
      if (o.rate <= 0 || o.duration_s <= 0) throw std::invalid_argument("--rate, --duration > 0");
      return bench::run_latency(common, o);
    }
    if (command == "day") {
      bench::DayOptions o;
      o.sessions = take_uint(args, "sessions");
      o.duration_s = std::stod(take(args, "duration"));
      o.active_pct = std::stod(take(args, "active", "1"));
      std::string burst = take(args, "burst", "1-5");
      size_t dash = burst.find('-');
      o.burst_min = static_cast<unsigned>(std::stoul(burst.substr(0, dash)));
      o.burst_max = dash == std::string::npos
                        ? o.burst_min
                        : static_cast<unsigned>(std::stoul(burst.substr(dash + 1)));
      o.burst_gap_s = std::stod(take(args, "burst-gap", "2"));
      o.reconnect_pct = std::stod(take(args, "reconnect", "0.2"));
      o.offline_s = std::stod(take(args, "offline", "5"));
      o.presence_pct = std::stod(take(args, "presence", "0.5"));
      o.sample_rss_s = std::stod(take(args, "sample-rss", "0"));
      o.drain_s = std::stod(take(args, "drain", "15"));
      o.seed = take_uint(args, "seed", "1");
      if (!args.empty()) throw std::invalid_argument("unknown option --" + args.begin()->first);
      if (o.sessions < 2 || o.burst_min < 1 || o.burst_max < o.burst_min)
        throw std::invalid_argument("--sessions >= 2 and --burst MIN-MAX with 1 <= MIN <= MAX");
      return bench::run_day(common, o);
    }
    if (command == "fanout") {
      bench::FanoutOptions o;
      o.occupants = take_uint(args, "occupants", "1000");
      o.senders = take_uint(args, "senders", "10");
      o.messages = take_uint(args, "messages", "100");
      o.window = std::max(1u, take_uint(args, "window", "2"));
      o.rate = std::stod(take(args, "rate", "0"));
      o.room = take(args, "room", "bench");
      o.service = take(args, "service", "groups." + common.client.domain);
      o.join_concurrency = std::max(1u, take_uint(args, "join-concurrency", "50"));
      o.drain_s = std::stod(take(args, "drain", "15"));
      if (!args.empty()) throw std::invalid_argument("unknown option --" + args.begin()->first);
      if (o.occupants < 1 || o.senders < 1 || o.senders > o.occupants || o.messages < 1 ||
          o.rate < 0)
        throw std::invalid_argument("--occupants >= --senders >= 1, --messages >= 1, --rate >= 0");
      return bench::run_fanout(common, o);
    }
    usage();
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "parley-bench: " << e.what() << '\n';
    return 2;
  }
}
