// parley-bench scenarios: idle (memory per session, login rate) and chat (throughput, latency).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "contrib/bench/client.h"

namespace parley::bench {

struct CommonOptions {
  ClientOptions client;
  std::string prefix = "bench";
  unsigned concurrency = 200;  // logins in flight at once
  unsigned sources = 8;        // source addresses 127.0.0.2 .. 127.0.0.(1+sources)
  pid_t server_pid = 0;        // 0: no server memory/CPU figures
  double timeout_s = 300;      // the whole scenario, logins included
};

struct IdleOptions {
  unsigned sessions = 1000;
  double hold_s = 5;  // after the last login, before measuring memory
};

struct ChatOptions {
  unsigned pairs = 100;
  unsigned messages = 100;  // per pair, A -> B
  unsigned window = 10;     // messages in flight per pair
};

int run_idle(const CommonOptions& common, const IdleOptions& options);
int run_chat(const CommonOptions& common, const ChatOptions& options);

// /proc/<pid>/status VmRSS in KiB; -1 when unreadable.
long server_rss_kib(pid_t pid);
// utime + stime of /proc/<pid>/stat, in seconds; -1 when unreadable.
double server_cpu_s(pid_t pid);
// Value at quantile q (0..1) of sorted samples.
int64_t percentile(const std::vector<int64_t>& sorted, double q);

}  // namespace parley::bench
