// parley-bench scenarios: idle (memory per session, login rate), chat (closed-loop throughput,
// latency), latency (open loop at a fixed rate, optionally sampling RSS for a soak), day (a
// mixed messenger day: idle users, bursts, abrupt disconnects and resumption, presence) and
// fanout (one XEP-0045 room: deliveries per second and per server CPU-second, latency).
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

struct LatencyOptions {
  unsigned pairs = 100;
  double rate = 1000;       // messages per second over all pairs, on a fixed schedule
  double duration_s = 10;   // of sending
  double sample_rss_s = 0;  // > 0: server RSS every so many seconds (soak)
  double warmup_s = -1;     // RSS drift is measured from here; < 0: a tenth of the duration
  double drain_s = 10;      // after the last send, at most this long for the last deliveries
};

struct DayOptions {
  unsigned sessions = 1000;
  double duration_s = 60;
  double active_pct = 1;   // % of online users starting a burst of messages per second
  unsigned burst_min = 1;  // messages per burst, uniform in [min, max], to one other user
  unsigned burst_max = 5;
  double burst_gap_s = 2;      // pause before each further message of a burst: 0 .. gap
  double reconnect_pct = 0.2;  // % of users per second losing their connection abruptly
  double offline_s = 5;        // time until they connect again: 0.1 s .. offline_s
  double presence_pct = 0.5;   // % of users per second changing presence (away / back)
  double sample_rss_s = 0;     // > 0: server RSS every so many seconds
  double drain_s = 15;         // at the end: at most this long for reconnects and deliveries
  unsigned seed = 1;
};

struct FanoutOptions {
  unsigned occupants = 1000;
  unsigned senders = 10;           // occupants that send, spread over the sessions
  unsigned messages = 100;         // per sender
  unsigned window = 2;             // closed loop: messages per sender not yet at everyone
  double rate = 0;                 // > 0: open loop, messages per second over all senders
  std::string room = "bench";      // the room's local part
  std::string service;             // the MUC service; empty: groups.<host>
  unsigned join_concurrency = 50;  // joins in flight at once
  double drain_s = 15;             // open loop: after the last send, for the last deliveries
};

int run_idle(const CommonOptions& common, const IdleOptions& options);
int run_chat(const CommonOptions& common, const ChatOptions& options);
int run_latency(const CommonOptions& common, const LatencyOptions& options);
int run_day(const CommonOptions& common, const DayOptions& options);
int run_fanout(const CommonOptions& common, const FanoutOptions& options);

// /proc/<pid>/status VmRSS in KiB; -1 when unreadable.
long server_rss_kib(pid_t pid);
// utime + stime of /proc/<pid>/stat, in seconds; -1 when unreadable.
double server_cpu_s(pid_t pid);
// Value at quantile q (0..1) of sorted samples.
int64_t percentile(const std::vector<int64_t>& sorted, double q);

}  // namespace parley::bench
