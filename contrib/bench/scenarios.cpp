// parley-bench scenarios. Everything runs on one io_context in one thread: the generator is
// pinned to its own core and must not compete with the server for the other one.
#include "contrib/bench/scenarios.h"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "contrib/bench/fleet.h"

namespace parley::bench {

long server_rss_kib(pid_t pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

double server_cpu_s(pid_t pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = all.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return -1;
  std::istringstream fields(all.substr(paren + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {  // field 3 is the state; 14 utime, 15 stime (proc(5))
    if (i == 14) utime = std::stoull(f);
    if (i == 15) {
      stime = std::stoull(f);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int64_t percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

int run_idle(const CommonOptions& common, const IdleOptions& options) {
  asio::io_context io(1);
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(common.timeout_s));
  long rss_before = server_rss_kib(common.server_pid);
  double cpu_before = server_cpu_s(common.server_pid);
  double own_before = own_cpu_s();
  Fleet fleet(io, common, 0, options.sessions);
  bool done = false;
  std::cout << "idle: opening " << options.sessions << " sessions (" << common.concurrency
            << " logins in flight)\n";
  fleet.start([&] { done = true; });
  std::string stopped = run_until(io, done, deadline, common.server_pid);
  double login_s = seconds(fleet.login_span());
  double cpu_login = server_cpu_s(common.server_pid) - cpu_before;
  double own_login = own_cpu_s() - own_before;
  double rate = login_s > 0 ? fleet.ready() / login_s : 0;
  auto login_us = fleet.login_times_us();
  std::cout << "  ready " << fleet.ready() << ", failed " << fleet.failed() << " in " << login_s
            << " s: " << static_cast<long>(rate) << " logins/s\n"
            << "  login time p50 " << percentile(login_us, 0.5) / 1000.0 << " ms, p99 "
            << percentile(login_us, 0.99) / 1000.0 << " ms, max "
            << percentile(login_us, 1.0) / 1000.0 << " ms\n";
  if (common.server_pid > 0 && fleet.ready() > 0)
    std::cout << "  server CPU " << cpu_login << " s for the logins ("
              << cpu_login * 1e6 / fleet.ready() << " us per login, "
              << (login_s > 0 ? 100 * cpu_login / login_s : 0) << "% of one core)\n";
  std::cout << "  generator CPU " << own_login << " s ("
            << (login_s > 0 ? 100 * own_login / login_s : 0) << "% of one core)\n";
  // Hold: the server has nothing to do; let lazily freed buffers settle before measuring.
  if (stopped.empty()) {
    std::cout << "  holding " << options.hold_s << " s\n";
    run_for(io, std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(options.hold_s)));
  }
  long rss_after = server_rss_kib(common.server_pid);
  unsigned held = fleet.ready() - fleet.dropped();
  double per_session_kib =
      held > 0 && rss_after >= 0 ? static_cast<double>(rss_after - rss_before) / held : 0;
  double cpu_idle = server_cpu_s(common.server_pid) - cpu_before - cpu_login;
  if (common.server_pid > 0)
    std::cout << "  server RSS before " << rss_before << " KiB, with " << held << " sessions "
              << rss_after << " KiB: " << per_session_kib << " KiB per session\n"
              << "  server CPU while holding: " << cpu_idle << " s\n";
  if (fleet.dropped()) std::cout << "  DROPPED while idle: " << fleet.dropped() << '\n';
  close_fleet(io, fleet);
  run_for(io, std::chrono::seconds(2));
  long rss_closed = server_rss_kib(common.server_pid);
  if (common.server_pid > 0)
    std::cout << "  server RSS after closing all sessions: " << rss_closed << " KiB\n";
  if (!stopped.empty()) std::cout << "  STOPPED EARLY: " << stopped << '\n';
  print_errors(fleet);
  std::printf(
      "{\"scenario\":\"idle\",\"sessions\":%u,\"ready\":%u,\"failed\":%u,\"dropped\":%u,"
      "\"login_seconds\":%.3f,\"logins_per_second\":%.1f,\"login_p50_ms\":%.2f,"
      "\"login_p99_ms\":%.2f,\"server_cpu_us_per_login\":%.1f,\"generator_cpu_busy\":%.2f,"
      "\"rss_before_kib\":%ld,"
      "\"rss_after_kib\":%ld,\"rss_per_session_kib\":%.2f,\"rss_after_close_kib\":%ld,"
      "\"stopped\":\"%s\"}\n",
      options.sessions, fleet.ready(), fleet.failed(), fleet.dropped(), login_s, rate,
      percentile(login_us, 0.5) / 1000.0, percentile(login_us, 0.99) / 1000.0,
      fleet.ready() ? cpu_login * 1e6 / fleet.ready() : 0.0,
      login_s > 0 ? own_login / login_s : 0.0, rss_before, rss_after, per_session_kib, rss_closed,
      stopped.c_str());
  std::fflush(stdout);
  return fleet.ready() == options.sessions && fleet.dropped() == 0 && stopped.empty() ? 0 : 1;
}

int run_chat(const CommonOptions& common, const ChatOptions& options) {
  asio::io_context io(1);
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(common.timeout_s));
  unsigned sessions = options.pairs * 2;
  Fleet fleet(io, common, 0, sessions);
  std::cout << "chat: opening " << sessions << " sessions\n";
  if (!log_in_fleet(io, fleet, sessions, "chat", deadline, common.server_pid)) return 1;
  std::string stopped;  // why the run ended early, if it did

  // Pair p: A = session 2p sends to B = session 2p+1, at most `window` messages in flight.
  // With stream management, A asks for an acknowledgement after every batch (as mobile
  // clients do) and a message counts as done once the server's <a h/> covers it: the "sent"
  // tick, which Parley gives only after the message is durably handled (archive commit).
  struct Pair {
    unsigned sent = 0, received = 0, acked = 0;
    uint32_t base = 0;             // A's XEP-0198 count before its first message
    std::vector<int64_t> sent_us;  // per message, when it was sent
  };
  std::vector<Pair> pairs(options.pairs);
  const bool acks = fleet.client(0)->sm_enabled();
  std::vector<int64_t> latency_us, ack_us;
  latency_us.reserve(static_cast<size_t>(options.pairs) * options.messages);
  if (acks) ack_us.reserve(latency_us.capacity());
  uint64_t total = static_cast<uint64_t>(options.pairs) * options.messages, received = 0, acked = 0;
  unsigned bad = 0;
  Clock::time_point last_receive = Clock::now(), last_ack = last_receive;
  std::string batch;  // reused: the generator must not spend its core on allocations
  auto send_next = [&](unsigned p) {
    Pair& pair = pairs[p];
    Client& a = *fleet.client(2 * p);
    const std::string& to = fleet.client(2 * p + 1)->full_jid();
    batch.clear();
    unsigned n = 0;
    if (pair.sent == 0) {
      pair.base = a.sm_sent();
      if (acks) pair.sent_us.resize(options.messages);
    }
    while (pair.sent < options.messages && pair.sent - pair.received < options.window) {
      // The body is the send time in microseconds; B computes time-to-delivery from it.
      int64_t t = now_us();
      batch += "<message type='chat' to='";
      batch += to;
      batch += "' id='m";
      append_number(batch, pair.sent);
      batch += "'><body>";
      append_number(batch, t);
      batch += "</body></message>";
      if (acks) pair.sent_us[pair.sent] = t;
      ++pair.sent;
      ++n;
    }
    if (n == 0) return;
    if (acks) batch += "<r xmlns='urn:xmpp:sm:3'/>";
    a.send_stanzas(batch, n);
  };
  for (unsigned p = 0; p < options.pairs; ++p) {
    fleet.client(2 * p + 1)->on_stanza([&, p](Client&, std::string_view el) {
      if (element_name(el) != "message") return;
      auto stamp = body_number(el);  // parsed in place, no copies
      if (!stamp || attr_view(el, "type") != "chat") {
        ++bad;  // e.g. an error bounce instead of delivery
        return;
      }
      latency_us.push_back(now_us() - *stamp);
      ++pairs[p].received;
      ++received;
      last_receive = Clock::now();
      send_next(p);
    });
    fleet.client(2 * p)->on_stanza([&](Client&, std::string_view el) {
      if (element_name(el) == "message") ++bad;  // a bounce to the sender
    });
    fleet.client(2 * p)->on_ack([&, p](Client&, uint32_t h) {
      Pair& pair = pairs[p];
      if (pair.sent == 0) return;
      int64_t t = now_us();
      uint32_t covered = std::min<uint32_t>(h - pair.base, pair.sent);
      // Counted as they come: summing over every pair on each <a/> cost O(pairs) per ack.
      for (; pair.acked < covered; ++pair.acked, ++acked)
        ack_us.push_back(t - pair.sent_us[pair.acked]);
      last_ack = Clock::now();
    });
  }
  double cpu_before = server_cpu_s(common.server_pid);
  double own_before = own_cpu_s();
  long rss_before = server_rss_kib(common.server_pid);
  std::cout << "  sending " << options.messages << " messages per pair over " << options.pairs
            << " pairs (window " << options.window << ")\n";
  auto start = Clock::now();
  for (unsigned p = 0; p < options.pairs; ++p) send_next(p);
  // Stop when everything arrived (and was acknowledged), at the deadline, or when delivery
  // stalls for 15 s.
  while (received < total || (acks && acked < total)) {
    io.run_for(std::chrono::milliseconds(100));
    if (io.stopped()) io.restart();
    if (Clock::now() > deadline) {
      stopped = "timeout";
      break;
    }
    if (Clock::now() - std::max(last_receive, last_ack) > std::chrono::seconds(15)) {
      stopped = "stalled: nothing delivered for 15 s";
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
  double elapsed = seconds(last_receive - start);
  double acked_elapsed = acks ? seconds(last_ack - start) : 0;
  double cpu = server_cpu_s(common.server_pid) - cpu_before;
  double own = own_cpu_s() - own_before;
  long rss_after = server_rss_kib(common.server_pid);
  std::sort(latency_us.begin(), latency_us.end());
  std::sort(ack_us.begin(), ack_us.end());
  double rate = elapsed > 0 ? static_cast<double>(received) / elapsed : 0;
  double acked_rate = acked_elapsed > 0 ? static_cast<double>(acked) / acked_elapsed : 0;
  auto ms = [&](double q) { return percentile(latency_us, q) / 1000.0; };
  auto ack_ms = [&](double q) { return ack_us.empty() ? 0.0 : percentile(ack_us, q) / 1000.0; };
  std::cout << "  delivered " << received << " of " << total << " in " << elapsed
            << " s: " << static_cast<long>(rate) << " messages/s\n"
            << "  time to delivery p50 " << ms(0.5) << " ms, p90 " << ms(0.9) << " ms, p99 "
            << ms(0.99) << " ms, p99.9 " << ms(0.999) << " ms, max " << ms(1.0) << " ms\n";
  if (acks)
    std::cout << "  acknowledged " << acked << " in " << acked_elapsed
              << " s: " << static_cast<long>(acked_rate) << " messages/s durably handled\n"
              << "  time to the server's ack p50 " << ack_ms(0.5) << " ms, p99 " << ack_ms(0.99)
              << " ms, max " << ack_ms(1.0) << " ms\n";
  // Server CPU over the whole run (acknowledgements included: the work behind them is done).
  const double span = std::max(elapsed, acked_elapsed);
  if (common.server_pid > 0)
    std::cout << "  server CPU " << cpu << " s (" << (received ? cpu * 1e6 / received : 0)
              << " us per message), RSS " << rss_before << " -> " << rss_after << " KiB\n";
  std::cout << "  busy: server " << (span > 0 ? 100 * cpu / span : 0)
            << "% of one core (all its threads), generator " << (span > 0 ? 100 * own / span : 0)
            << "%\n";
  if (bad) std::cout << "  UNEXPECTED: " << bad << " non-chat messages (bounces?)\n";
  if (!stopped.empty()) std::cout << "  STOPPED EARLY: " << stopped << '\n';
  close_fleet(io, fleet);
  print_errors(fleet);
  std::printf(
      "{\"scenario\":\"chat\",\"pairs\":%u,\"messages_per_pair\":%u,\"window\":%u,"
      "\"delivered\":%llu,\"expected\":%llu,\"seconds\":%.3f,\"messages_per_second\":%.1f,"
      "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
      "\"acked\":%llu,\"acked_seconds\":%.3f,\"acked_per_second\":%.1f,\"ack_p50_ms\":%.3f,"
      "\"ack_p99_ms\":%.3f,\"ack_max_ms\":%.3f,"
      "\"server_cpu_us_per_message\":%.2f,\"server_cpu_busy\":%.2f,\"generator_cpu_busy\":%.2f,"
      "\"bounces\":%u,\"stopped\":\"%s\"}\n",
      options.pairs, options.messages, options.window, static_cast<unsigned long long>(received),
      static_cast<unsigned long long>(total), elapsed, rate, ms(0.5), ms(0.9), ms(0.99), ms(0.999),
      ms(1.0), static_cast<unsigned long long>(acked), acked_elapsed, acked_rate, ack_ms(0.5),
      ack_ms(0.99), ack_ms(1.0), received ? cpu * 1e6 / static_cast<double>(received) : 0.0,
      span > 0 ? cpu / span : 0.0, span > 0 ? own / span : 0.0, bad, stopped.c_str());
  std::fflush(stdout);
  return received == total && (!acks || acked == total) && stopped.empty() && bad == 0 ? 0 : 1;
}

}  // namespace parley::bench
