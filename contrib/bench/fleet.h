// parley-bench: what the scenarios share: a fleet of sessions logging in with bounded
// concurrency, running the io_context until a condition or a deadline, CPU readings.
#pragma once

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
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
