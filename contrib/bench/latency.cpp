// parley-bench latency: open-loop time to delivery at a fixed rate. Message k of the run is due
// at t0 + k / rate on pair k mod P, whether or not earlier messages have arrived; its body is
// that INTENDED send time, so a server (or generator) that stalls is charged for every message
// that should have gone out meanwhile (no coordinated omission). How late the generator itself
// was is measured too: lag = actual send time - intended send time.
#include <cstdio>
#include <iostream>

#include "contrib/bench/fleet.h"
#include "contrib/bench/histogram.h"
#include "contrib/bench/scenarios.h"

namespace parley::bench {

namespace {

// Sustained generator lateness above this makes the figures the generator's, not the server's.
constexpr int64_t kBehindUs = 1000;

}  // namespace

int run_latency(const CommonOptions& common, const LatencyOptions& options) {
  asio::io_context io(1);
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(common.timeout_s));
  const unsigned sessions = options.pairs * 2;
  const double warmup_s =
      options.warmup_s >= 0 ? options.warmup_s : std::min(60.0, options.duration_s / 10);
  Fleet fleet(io, common, 0, sessions);
  std::cout << "latency: opening " << sessions << " sessions\n";
  if (!log_in_fleet(io, fleet, sessions, "latency", deadline, common.server_pid)) return 1;
  std::string stopped;                          // why the run ended early, if it did
  run_for(io, std::chrono::milliseconds(500));  // let the logins' aftermath settle

  // Pair p: A = session 2p sends to B = session 2p+1. The start of each stanza is built once.
  std::vector<std::string> prefix(options.pairs);
  for (unsigned p = 0; p < options.pairs; ++p)
    prefix[p] =
        "<message type='chat' to='" + xml_escape(fleet.client(2 * p + 1)->full_jid()) + "' id='l";
  const uint64_t total = static_cast<uint64_t>(options.rate * options.duration_s);
  Histogram latency, interval, lag;
  uint64_t sent = 0, received = 0, interval_received = 0;
  int64_t interval_lag = 0;  // the generator's worst lateness since the last sample
  unsigned bad = 0;
  std::string stanza;
  stanza.reserve(256);
  asio::steady_timer timer(io);
  Clock::time_point t0 = Clock::now() + std::chrono::milliseconds(20), last_send, last_receive;
  auto due = [&](uint64_t k) {
    return t0 + std::chrono::nanoseconds(
                    static_cast<int64_t>(static_cast<double>(k) * 1e9 / options.rate));
  };
  bool sending = true;
  std::function<void()> tick = [&] {
    auto now = Clock::now();
    auto us = [](Clock::time_point t) {
      return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
    };
    int64_t now_stamp = us(now);
    // Everything due by now, each on its own pair: a late wake-up sends the backlog at once.
    while (sent < total && due(sent) <= now) {
      int64_t intended_us = us(due(sent));
      lag.add(now_stamp - intended_us);
      interval_lag = std::max(interval_lag, now_stamp - intended_us);
      unsigned p = static_cast<unsigned>(sent % options.pairs);
      stanza.assign(prefix[p]);
      append_number(stanza, static_cast<int64_t>(sent));
      stanza += "'><body>";
      append_number(stanza, intended_us);
      stanza += "</body></message>";
      fleet.client(2 * p)->send_stanzas(stanza, 1);
      ++sent;
    }
    last_send = now;
    if (sent >= total) {
      sending = false;
      return;
    }
    timer.expires_at(due(sent));
    timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) tick();
    });
  };
  for (unsigned p = 0; p < options.pairs; ++p) {
    fleet.client(2 * p + 1)->on_stanza([&](Client&, std::string_view el) {
      if (element_name(el) != "message") return;
      auto stamp = body_number(el);
      if (!stamp || attr_view(el, "type") == "error") {
        ++bad;  // e.g. an error bounce instead of delivery
        return;
      }
      int64_t d = now_us() - *stamp;
      latency.add(d);
      interval.add(d);
      ++received;
      ++interval_received;
      last_receive = Clock::now();
    });
    fleet.client(2 * p)->on_stanza([&](Client&, std::string_view el) {
      if (element_name(el) == "message") ++bad;  // a bounce to the sender
    });
  }

  RssSampler rss(io, common.server_pid, options.sample_rss_s, warmup_s);
  double cpu_before = server_cpu_s(common.server_pid);
  double own_before = own_cpu_s();
  double server_wait_before = runqueue_wait_s(common.server_pid),
         own_wait_before = runqueue_wait_s(0);
  std::cout << "  " << total << " messages at " << options.rate << "/s over " << options.pairs
            << " pairs for " << options.duration_s << " s (open loop, latency from the intended "
            << "send time)\n";
  timer.expires_at(t0);
  timer.async_wait([&](boost::system::error_code ec) {
    if (!ec) tick();
  });
  rss.start([&] {
    char line[200];
    std::snprintf(line, sizeof line,
                  "; last interval %llu delivered, p99 %.3f ms, max %.3f ms, generator lag max "
                  "%.3f ms",
                  static_cast<unsigned long long>(interval_received), interval.quantile_ms(0.99),
                  interval.max_ms(), static_cast<double>(interval_lag) / 1000);
    interval.clear();
    interval_received = 0;
    interval_lag = 0;
    return std::string(line);
  });
  Clock::time_point drain_end{};
  while (sending || received < sent) {
    io.run_for(std::chrono::milliseconds(100));
    if (io.stopped()) io.restart();
    auto now = Clock::now();
    if (!sending && drain_end == Clock::time_point{}) {
      drain_end = now + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(options.drain_s));
      rss.finish();  // the end of the load
    }
    if (now > deadline) {
      stopped = "timeout";
      break;
    }
    if (drain_end != Clock::time_point{} && now > drain_end) {
      stopped = "undelivered messages after the drain time";
      break;
    }
    if (!server_alive(common.server_pid)) {
      stopped = "server process is gone";
      break;
    }
    if (fleet.dropped() > 0) {
      stopped = "sessions dropped";
      break;
    }
  }
  timer.cancel();
  rss.finish();
  double send_span = seconds(last_send - t0);
  double span = seconds(std::max(last_receive, last_send) - t0);
  double cpu = server_cpu_s(common.server_pid) - cpu_before;
  double own = own_cpu_s() - own_before;
  // Time runnable but without a CPU: the machine's other load, not the server's work.
  double server_wait =
      common.server_pid > 0 ? runqueue_wait_s(common.server_pid) - server_wait_before : 0;
  double own_wait = runqueue_wait_s(0) - own_wait_before;
  double sent_rate = send_span > 0 ? static_cast<double>(sent) / send_span : 0;
  double delivered_rate = span > 0 ? static_cast<double>(received) / span : 0;
  bool behind = lag.quantile(0.99) > kBehindUs;
  auto ms = [&](double q) { return latency.quantile_ms(q); };
  std::cout << "  sent " << sent << " of " << total << " in " << send_span << " s ("
            << static_cast<long>(sent_rate) << "/s), delivered " << received << " ("
            << static_cast<long>(delivered_rate) << "/s)\n"
            << "  time to delivery p50 " << ms(0.5) << " ms, p90 " << ms(0.9) << " ms, p99 "
            << ms(0.99) << " ms, p99.9 " << ms(0.999) << " ms, max " << latency.max_ms() << " ms\n"
            << "  generator lag behind schedule p50 " << lag.quantile_ms(0.5) << " ms, p99 "
            << lag.quantile_ms(0.99) << " ms, max " << lag.max_ms() << " ms"
            << (behind ? ": BEHIND SCHEDULE, the figures include the generator's own delay" : "")
            << '\n';
  if (common.server_pid > 0)
    std::cout << "  server CPU " << cpu << " s ("
              << (received ? cpu * 1e6 / static_cast<double>(received) : 0) << " us per message, "
              << (span > 0 ? 100 * cpu / span : 0) << "% of one core)\n";
  std::cout << "  generator CPU " << own << " s (" << (span > 0 ? 100 * own / span : 0)
            << "% of one core)\n"
            << "  waited for a CPU (other load on the machine): server " << 1000 * server_wait
            << " ms, generator " << 1000 * own_wait << " ms\n";
  rss.print(std::cout);
  if (bad) std::cout << "  UNEXPECTED: " << bad << " bounces or non-chat messages\n";
  if (!stopped.empty()) std::cout << "  STOPPED EARLY: " << stopped << '\n';
  close_fleet(io, fleet);
  print_errors(fleet);
  std::printf(
      "{\"scenario\":\"latency\",\"pairs\":%u,\"rate\":%.1f,\"duration_s\":%.1f,"
      "\"expected\":%llu,\"sent\":%llu,\"delivered\":%llu,\"sent_per_second\":%.1f,"
      "\"delivered_per_second\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
      "\"p999_ms\":%.3f,\"max_ms\":%.3f,\"lag_p50_ms\":%.3f,\"lag_p99_ms\":%.3f,"
      "\"lag_max_ms\":%.3f,\"behind_schedule\":%s,\"server_cpu_us_per_message\":%.2f,"
      "\"server_cpu_busy\":%.2f,\"generator_cpu_busy\":%.2f,\"server_cpu_wait_ms\":%.1f,"
      "\"generator_cpu_wait_ms\":%.1f,\"bounces\":%u%s,"
      "\"stopped\":\"%s\"}\n",
      options.pairs, options.rate, options.duration_s, static_cast<unsigned long long>(total),
      static_cast<unsigned long long>(sent), static_cast<unsigned long long>(received), sent_rate,
      delivered_rate, ms(0.5), ms(0.9), ms(0.99), ms(0.999), latency.max_ms(), lag.quantile_ms(0.5),
      lag.quantile_ms(0.99), lag.max_ms(), behind ? "true" : "false",
      received ? cpu * 1e6 / static_cast<double>(received) : 0.0, span > 0 ? cpu / span : 0.0,
      span > 0 ? own / span : 0.0, 1000 * server_wait, 1000 * own_wait, bad, rss.json().c_str(),
      stopped.c_str());
  std::fflush(stdout);
  return sent == total && received == total && stopped.empty() && bad == 0 ? 0 : 1;
}

}  // namespace parley::bench
