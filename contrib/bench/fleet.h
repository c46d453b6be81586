// parley-bench: what the scenarios share: a fleet of sessions logging in with bounded
// concurrency, running the io_context until a condition or a deadline, CPU readings.
#pragma once

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contrib/bench/scenarios.h"

namespace parley::bench {

// This process's CPU time (user + system): tells whether the generator, not the server, was
// the bottleneck of a run.
inline double own_cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

inline bool server_alive(pid_t pid) {
  return pid <= 0 || ::kill(pid, 0) == 0;
}

inline double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Opens sessions prefix<first> .. prefix<first+count-1>, at most `concurrency` logins at once.
class Fleet {
 public:
  Fleet(asio::io_context& io, const CommonOptions& common, unsigned first, unsigned count)
      : io_(io), common_(common), tls_(make_client_tls()), first_(first), count_(count) {
    clients_.resize(count);
  }

  void start(std::function<void()> all_done) {
    all_done_ = std::move(all_done);
    started_ = segment_start_ = Clock::now();
    for (unsigned i = 0; i < std::min(common_.concurrency, count_); ++i) launch();
  }

  std::shared_ptr<Client>& client(unsigned i) { return clients_[i]; }
  unsigned ready() const { return ready_; }
  unsigned failed() const { return failed_; }
  unsigned dropped() const { return dropped_; }
  Clock::duration login_span() const { return last_ready_ - started_; }
  const std::map<std::string, unsigned>& errors() const { return errors_; }
  std::vector<int64_t> login_times_us() const {
    std::vector<int64_t> v;
    for (const auto& c : clients_)
      if (c && (c->ready() || c->finished()) && c->login_time().count() > 0)
        v.push_back(std::chrono::duration_cast<std::chrono::microseconds>(c->login_time()).count());
    std::sort(v.begin(), v.end());
    return v;
  }
  void close_all() {
    for (auto& c : clients_)
      if (c) c->close();
  }
  unsigned open() const {
    unsigned n = 0;
    for (const auto& c : clients_)
      if (c && !c->finished()) ++n;
    return n;
  }

  // A new, not yet started connection for session i (a reconnect replaces client(i) with it).
  std::shared_ptr<Client> make(unsigned i) {
    // Spread over several source addresses: each (source, destination) pair has its own
    // ephemeral port range, so 10k+ connections stay clear of the ~28k-port limit.
    asio::ip::address_v4::bytes_type b{127, 0, 0,
                                       static_cast<unsigned char>(2 + i % common_.sources)};
    return std::make_shared<Client>(io_, tls_, common_.client,
                                    common_.prefix + std::to_string(first_ + i),
                                    asio::ip::address_v4(b));
  }

 private:
  void launch() {
    if (next_ >= count_) return;
    unsigned i = next_++;
    auto c = make(i);
    clients_[i] = c;
    c->on_closed([this](Client&, const std::string& why) {
      ++dropped_;
      ++errors_["dropped: " + why];
    });
    c->start([this](Client&, bool ok, const std::string& error) {
      if (ok) {
        ++ready_;
        last_ready_ = Clock::now();
        // Progress per 1000 logins: a login rate that falls as sessions accumulate means
        // per-login work that grows with the number of sessions.
        if (ready_ % 1000 == 0 && count_ >= 2000) {
          double span = seconds(last_ready_ - segment_start_);
          std::cout << "  " << ready_ << " ready, last 1000 at "
                    << static_cast<long>(span > 0 ? 1000 / span : 0) << " logins/s\n";
          segment_start_ = last_ready_;
        }
      } else {
        ++failed_;
        ++errors_[error];
      }
      if (ready_ + failed_ == count_) {
        if (all_done_) asio::post(io_, std::move(all_done_));
      } else {
        launch();
      }
    });
  }

  asio::io_context& io_;
  const CommonOptions& common_;
  asio::ssl::context tls_;
  unsigned first_, count_, next_ = 0, ready_ = 0, failed_ = 0, dropped_ = 0;
  std::vector<std::shared_ptr<Client>> clients_;
  std::function<void()> all_done_;
  Clock::time_point started_, last_ready_, segment_start_;
  std::map<std::string, unsigned> errors_;
};

// Time the threads of process `pid` (0: this process) spent runnable but waiting for a CPU,
// in seconds (the second field of /proc/<pid>/task/*/schedstat); -1 when unreadable. On a
// shared machine it tells a latency spike caused by the neighbours from one of the server.
inline double runqueue_wait_s(pid_t pid) {
  std::string dir = "/proc/" + (pid > 0 ? std::to_string(pid) : std::string("self")) + "/task";
  std::error_code ec;
  double total = 0;
  bool any = false;
  for (const auto& task : std::filesystem::directory_iterator(dir, ec)) {
    std::ifstream in(task.path() / "schedstat");
    unsigned long long run = 0, wait = 0;
    if (in >> run >> wait) {
      total += static_cast<double>(wait) / 1e9;
      any = true;
    }
  }
  return any ? total : -1;
}

// The value of attribute `name` in an element's start tag, without allocating (the per-message
// paths of the open-loop scenarios); empty when absent.
inline std::string_view attr_view(std::string_view el, std::string_view name) {
  std::string_view tag = el.substr(0, el.find('>'));
  for (size_t at = tag.find(name); at != std::string_view::npos; at = tag.find(name, at + 1)) {
    if (at == 0 || (tag[at - 1] != ' ' && tag[at - 1] != '\t' && tag[at - 1] != '\n')) continue;
    size_t q = at + name.size();
    while (q < tag.size() && tag[q] == ' ') ++q;
    if (q >= tag.size() || tag[q] != '=') continue;
    ++q;
    while (q < tag.size() && tag[q] == ' ') ++q;
    if (q >= tag.size() || (tag[q] != '\'' && tag[q] != '"')) continue;
    size_t close = tag.find(tag[q], q + 1);
    if (close == std::string_view::npos) return {};
    return tag.substr(q + 1, close - q - 1);
  }
  return {};
}

// The decimal number at the start of `text` (after `skip` characters); nullopt if none.
inline std::optional<int64_t> leading_number(std::string_view text, size_t skip = 0) {
  if (text.size() <= skip) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data() + skip, text.data() + text.size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

// The number a message's <body> starts with, without allocating.
inline std::optional<int64_t> body_number(std::string_view el) {
  size_t open = el.find("<body");
  if (open == std::string_view::npos) return std::nullopt;
  size_t gt = el.find('>', open);
  if (gt == std::string_view::npos || el[gt - 1] == '/') return std::nullopt;
  return leading_number(el, gt + 1);
}

// Appends the decimal form of v (std::to_chars: no temporary string).
inline void append_number(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// The server's VmRSS every `every` seconds while a scenario runs (a soak: is memory flat?),
// and once more at the end. Drift is measured from the first sample after the warm-up, when
// the server's caches and the allocator's arenas have filled, to the last one.
class RssSampler {
 public:
  struct Sample {
    double t;  // seconds since start()
    long rss_kib;
  };
  RssSampler(asio::io_context& io, pid_t pid, double every_s, double warmup_s)
      : timer_(io), pid_(pid), every_s_(every_s), warmup_s_(warmup_s) {}

  bool enabled() const { return every_s_ > 0 && pid_ > 0; }
  // `note` adds to each progress line (e.g. the latency of the last interval).
  void start(std::function<std::string()> note) {
    if (!enabled()) return;
    note_ = std::move(note);
    started_ = Clock::now();
    take();
    arm(1);
  }
  void finish() {
    if (!enabled() || finished_) return;
    finished_ = true;
    timer_.cancel();
    take();
  }
  const std::vector<Sample>& samples() const { return samples_; }
  // The first sample at or after the warm-up (the last one if the run was shorter).
  const Sample* warm() const {
    for (const auto& s : samples_)
      if (s.t >= warmup_s_) return &s;
    return samples_.empty() ? nullptr : &samples_.back();
  }
  double drift_pct() const {
    const Sample* w = warm();
    if (!w || w->rss_kib <= 0) return 0;
    return 100.0 * static_cast<double>(samples_.back().rss_kib - w->rss_kib) /
           static_cast<double>(w->rss_kib);
  }
  long min_kib() const {
    long m = -1;
    for (const auto& s : samples_)
      if (m < 0 || s.rss_kib < m) m = s.rss_kib;
    return m;
  }
  long max_kib() const {
    long m = -1;
    for (const auto& s : samples_) m = std::max(m, s.rss_kib);
    return m;
  }
  void print(std::ostream& out) const {
    if (samples_.empty()) return;
    const Sample* w = warm();
    out << "  server RSS: first " << samples_.front().rss_kib << " KiB, after the " << warmup_s_
        << " s warm-up " << w->rss_kib << " KiB (t=" << w->t << " s), last "
        << samples_.back().rss_kib << " KiB, min " << min_kib() << ", max " << max_kib()
        << "; drift " << drift_pct() << "% (" << (std::abs(drift_pct()) <= 3 ? "within" : "OUTSIDE")
        << " +-3%)\n";
  }
  // ",\"rss_...\":..." for a scenario's JSON line; empty when not sampling.
  std::string json() const {
    if (samples_.empty()) return {};
    char head[320];
    std::snprintf(head, sizeof head,
                  ",\"rss_sample_s\":%.1f,\"rss_warmup_s\":%.1f,\"rss_first_kib\":%ld,"
                  "\"rss_warm_kib\":%ld,\"rss_last_kib\":%ld,\"rss_min_kib\":%ld,"
                  "\"rss_max_kib\":%ld,\"rss_drift_pct\":%.2f,\"rss_samples_kib\":[",
                  every_s_, warmup_s_, samples_.front().rss_kib, warm()->rss_kib,
                  samples_.back().rss_kib, min_kib(), max_kib(), drift_pct());
    std::string j = head;
    for (size_t i = 0; i < samples_.size(); ++i)
      j += (i ? "," : "") + std::to_string(samples_[i].rss_kib);
    return j + "]";
  }

 private:
  void take() {
    double t = seconds(Clock::now() - started_);
    samples_.push_back({t, server_rss_kib(pid_)});
    // How long each process waited for a CPU since the last sample (neighbours at work).
    double server_wait = runqueue_wait_s(pid_), own_wait = runqueue_wait_s(0);
    char waits[96] = "";
    if (samples_.size() > 1 && server_wait >= 0 && own_wait >= 0)
      std::snprintf(waits, sizeof waits, "; waited for a CPU: server %.0f ms, generator %.0f ms",
                    1000 * (server_wait - server_wait_), 1000 * (own_wait - own_wait_));
    server_wait_ = server_wait;
    own_wait_ = own_wait;
    std::cout << "  t=" << static_cast<long>(t + 0.5) << " s: server RSS "
              << samples_.back().rss_kib << " KiB"
              << (note_ && samples_.size() > 1 ? note_() : std::string()) << waits
              << std::endl;  // flushed: a soak's progress, live through a pipe
  }
  void arm(unsigned n) {
    timer_.expires_at(started_ + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(every_s_ * n)));
    timer_.async_wait([this, n](boost::system::error_code ec) {
      if (ec || finished_) return;
      take();
      arm(n + 1);
    });
  }
  asio::steady_timer timer_;
  pid_t pid_;
  double every_s_, warmup_s_;
  Clock::time_point started_;
  std::function<std::string()> note_;
  std::vector<Sample> samples_;
  bool finished_ = false;
  double server_wait_ = 0, own_wait_ = 0;
};

inline void print_errors(const Fleet& fleet) {
  for (const auto& [what, n] : fleet.errors())
    std::cout << "  error x" << n << ": " << what << '\n';
}

// Runs the io_context until `done` is true, the deadline passes, or the server dies.
// Returns a reason when it stopped early.
inline std::string run_until(asio::io_context& io, const bool& done, Clock::time_point deadline,
                             pid_t pid) {
  while (!done) {
    io.run_for(std::chrono::milliseconds(100));
    if (io.stopped()) io.restart();
    if (Clock::now() > deadline) return "timeout";
    if (!server_alive(pid)) return "server process is gone";
  }
  return {};
}

// Logs the whole fleet in (fleet.start) and runs until every session is ready. False, with the
// reason, the errors and the scenario's error JSON line printed, when that fails.
inline bool log_in_fleet(asio::io_context& io, Fleet& fleet, unsigned sessions,
                         const char* scenario, Clock::time_point deadline, pid_t pid) {
  bool done = false;
  fleet.start([&] { done = true; });
  std::string stopped = run_until(io, done, deadline, pid);
  if (stopped.empty() && fleet.ready() == sessions) return true;
  std::cout << "  only " << fleet.ready() << " of " << sessions << " sessions logged in"
            << (stopped.empty() ? "" : " (" + stopped + ")") << '\n';
  print_errors(fleet);
  std::printf("{\"scenario\":\"%s\",\"error\":\"login\",\"ready\":%u}\n", scenario, fleet.ready());
  return false;
}

inline void run_for(asio::io_context& io, Clock::duration d) {
  io.restart();
  io.run_for(d);
  io.restart();
}

// Closes every session and waits (bounded) for the server to answer the close.
inline void close_fleet(asio::io_context& io, Fleet& fleet) {
  fleet.close_all();
  auto end = Clock::now() + std::chrono::seconds(30);
  while (fleet.open() > 0 && Clock::now() < end) run_for(io, std::chrono::milliseconds(100));
  run_for(io, std::chrono::milliseconds(100));
}

}  // namespace parley::bench
