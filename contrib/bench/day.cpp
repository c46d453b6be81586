// parley-bench day: a messenger's day in miniature. N users log in and stay; every second a few
// start a burst of messages to another user, a few lose their connection abruptly (a phone in
// a tunnel) and come back a little later — resuming the session with XEP-0198 when stream
// management is on, logging in afresh otherwise — and a few change presence. Every message
// carries its number; the run checks that each one was delivered (or, without stream
// management, bounced or lost with a recipient's connection: counted apart, not failures).
#include <cstdio>
#include <iostream>
#include <queue>
#include <random>

#include "contrib/bench/fleet.h"
#include "contrib/bench/histogram.h"
#include "contrib/bench/scenarios.h"

namespace parley::bench {

namespace {

constexpr auto kTick = std::chrono::milliseconds(10);  // event resolution
constexpr unsigned kActivityTicks = 10;                // new bursts etc. every 100 ms

struct Msg {
  int64_t sent_us;
  uint32_t from, to;
  uint32_t to_epoch;  // the recipient's connection count when it was sent
  bool to_away;       // the recipient was not online (in the generator's view) then
  uint8_t state = 0;  // 0 in flight, 1 delivered, 2 bounced
};

enum class UserState : uint8_t { Online, Offline, Connecting };

struct User {
  UserState state = UserState::Connecting;
  uint32_t epoch = 0;        // connections lost so far
  unsigned outstanding = 0;  // messages sent, neither delivered nor bounced yet
  unsigned burst_left = 0;   // messages still to send in the current burst...
  uint32_t burst_to = 0;     // ...and to whom
  bool away = false;
  std::string full_jid;  // as bound (and resumed)
  std::string sm_id;     // the lost connection's XEP-0198 session...
  uint32_t h = 0;        // ...and the stanzas it had received
};

enum class EventKind : uint8_t { BurstMessage, Reconnect };

struct Event {
  Clock::time_point at;
  uint32_t user;
  EventKind kind;
  bool operator>(const Event& o) const { return at > o.at; }
};

class Day {
 public:
  Day(asio::io_context& io, const CommonOptions& common, const DayOptions& o, Fleet& fleet)
      : common_(common),
        o_(o),
        fleet_(fleet),
        sm_(common.client.stream_management),
        users_(o.sessions),
        rng_(o.seed),
        timer_(io) {
    stanza_.reserve(512);
  }

  // All sessions are logged in: take them over and start the day.
  void start() {
    for (uint32_t u = 0; u < users_.size(); ++u) {
      Client& c = *fleet_.client(u);
      attach(u, c);
      users_[u].state = UserState::Online;
      users_[u].full_jid = c.full_jid();
    }
    started_ = Clock::now();
    end_ = started_ + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(o_.duration_s));
    arm(1);
  }

  // For the RSS sampler's progress lines: what the last interval delivered, and how fast.
  std::string interval_note() {
    char line[200];
    std::snprintf(line, sizeof line,
                  "; last interval %llu delivered, p99 %.3f ms, max %.3f ms; %u reconnects",
                  static_cast<unsigned long long>(interval_.count()), interval_.quantile_ms(0.99),
                  interval_.max_ms(), resumed_ + resume_failed_ + fresh_logins_);
    interval_.clear();
    return line;
  }
  bool stopping() const { return stopping_; }
  // Users online and no message that could still arrive.
  bool settled() {
    for (const auto& u : users_)
      if (u.state != UserState::Online) return false;
    while (first_open_ < msgs_.size() && msgs_[first_open_].state != 0) ++first_open_;
    for (size_t i = first_open_; i < msgs_.size(); ++i)
      if (msgs_[i].state == 0 && !excused(msgs_[i])) return false;
    return true;
  }
  void stop_timer() {
    stopped_ = true;
    timer_.cancel();
  }
  int report(const std::string& stopped, double cpu_s, double own_s, long rss_start, long rss_end,
             const RssSampler& rss);

 private:
  // Without stream management a message to a user who was not connected, or who lost the
  // connection before it arrived, may bounce or vanish with the connection: not a loss.
  bool excused(const Msg& m) const {
    return !sm_ && (m.to_away || users_[m.to].epoch != m.to_epoch);
  }

  void attach(uint32_t u, Client& c) {
    c.on_stanza([this, u](Client&, std::string_view el) { on_stanza(u, el); });
    c.on_closed([this, u](Client& c, const std::string& why) {
      // The server ended an established session: a failure, but the user comes back.
      ++dropped_;
      ++errors_["dropped: " + why];
      lose_connection(u, c);
    });
  }

  void on_stanza(uint32_t u, std::string_view el) {
    if (element_name(el) != "message") return;
    auto id = attr_view(el, "id");
    std::optional<int64_t> n;
    if (id.size() > 1 && id[0] == 'd') n = leading_number(id, 1);
    if (!n || *n < 0 || static_cast<size_t>(*n) >= msgs_.size()) {
      ++unknown_;
      return;
    }
    Msg& m = msgs_[static_cast<size_t>(*n)];
    bool bounce = attr_view(el, "type") == "error";
    if ((bounce ? m.from : m.to) != u) {
      ++unknown_;
      return;
    }
    if (m.state != 0) {
      ++duplicates_;
      return;
    }
    m.state = bounce ? 2 : 1;
    --users_[m.from].outstanding;
    if (bounce) {
      ++bounced_;
      return;
    }
    ++delivered_;
    int64_t d = now_us() - m.sent_us;
    all_.add(d);
    interval_.add(d);
    (m.to_away || users_[u].epoch != m.to_epoch ? after_reconnect_ : direct_).add(d);
  }

  template <class Pred>
  std::optional<uint32_t> pick(Pred ok) {
    std::uniform_int_distribution<uint32_t> any(0, static_cast<uint32_t>(users_.size() - 1));
    for (int tries = 0; tries < 16; ++tries)
      if (uint32_t u = any(rng_); ok(u)) return u;
    return std::nullopt;
  }

  double uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng_);
  }

  void schedule(Clock::time_point at, uint32_t u, EventKind kind) { events_.push({at, u, kind}); }

  void start_burst() {
    auto u = pick([&](uint32_t i) {
      return users_[i].state == UserState::Online && users_[i].burst_left == 0;
    });
    if (!u) return;
    // Usually to someone online; now and then nobody online was found: to anyone.
    auto v = pick([&](uint32_t i) { return i != *u && users_[i].state == UserState::Online; });
    if (!v) v = (*u + 1) % static_cast<uint32_t>(users_.size());
    User& s = users_[*u];
    s.burst_left = std::uniform_int_distribution<unsigned>(o_.burst_min, o_.burst_max)(rng_);
    s.burst_to = *v;
    ++bursts_;
    send_burst_message(*u);
  }

  void send_burst_message(uint32_t u) {
    User& s = users_[u];
    if (stopping_ || s.state != UserState::Online) {
      s.burst_left = 0;
      return;
    }
    const User& r = users_[s.burst_to];
    size_t n = msgs_.size();
    stanza_.assign("<message type='chat' to='");
    stanza_ += xml_escape(r.full_jid);
    stanza_ += "' id='d";
    append_number(stanza_, static_cast<int64_t>(n));
    stanza_ += "'><body>";
    append_number(stanza_, static_cast<int64_t>(n));
    stanza_ += " a message of a messenger day</body></message>";
    msgs_.push_back(
        {now_us(), u, s.burst_to, r.epoch, r.state != UserState::Online, static_cast<uint8_t>(0)});
    ++s.outstanding;
    fleet_.client(u)->send_stanzas(stanza_, 1);
    if (--s.burst_left > 0)
      schedule(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(uniform(0, o_.burst_gap_s))),
               u, EventKind::BurstMessage);
  }

  void disconnect() {
    // Someone who is not in the middle of a conversation of their own: what they sent has
    // arrived (the generator does not resend a lost connection's unacknowledged stanzas).
    auto u = pick([&](uint32_t i) {
      const User& s = users_[i];
      return s.state == UserState::Online && s.burst_left == 0 && s.outstanding == 0;
    });
    if (!u) return;
    ++disconnects_;
    Client& c = *fleet_.client(*u);
    lose_connection(*u, c);
    c.abort();
  }

  void lose_connection(uint32_t u, Client& c) {
    User& s = users_[u];
    s.sm_id = c.sm_id();
    s.h = c.sm_handled();
    ++s.epoch;
    s.state = UserState::Offline;
    s.burst_left = 0;
    double wait = std::max(0.1, uniform(0.1, std::max(0.1, o_.offline_s)));
    schedule(Clock::now() +
                 std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait)),
             u, EventKind::Reconnect);
  }

  void reconnect(uint32_t u) {
    User& s = users_[u];
    auto c = fleet_.make(u);
    bool resume = sm_ && !s.sm_id.empty();
    if (resume) c->resume_from(s.sm_id, s.h, s.full_jid);
    attach(u, *c);
    fleet_.client(u) = c;
    s.state = UserState::Connecting;
    c->start([this, u, resume](Client& c, bool ok, const std::string& error) {
      User& s = users_[u];
      if (!ok) {
        ++reconnect_failures_;
        ++errors_["reconnect: " + error];
        s.state = UserState::Offline;
        schedule(Clock::now() + std::chrono::seconds(1), u, EventKind::Reconnect);
        return;
      }
      s.state = UserState::Online;
      s.full_jid = c.full_jid();
      if (!resume)
        ++fresh_logins_;
      else if (c.resumed())
        ++resumed_;
      else
        ++resume_failed_;
      if (!c.resumed()) s.away = false;  // a fresh session starts available
      reconnect_us_.push_back(
          std::chrono::duration_cast<std::chrono::microseconds>(c.login_time()).count());
    });
  }

  void change_presence() {
    auto u = pick([&](uint32_t i) { return users_[i].state == UserState::Online; });
    if (!u) return;
    User& s = users_[*u];
    s.away = !s.away;
    fleet_.client(*u)->send_stanzas(
        s.away ? "<presence><show>away</show><status>in a meeting</status></presence>"
               : "<presence/>",
        1);
    ++presences_;
  }

  void arm(uint64_t n) {
    timer_.expires_at(started_ + n * kTick);
    timer_.async_wait([this, n](boost::system::error_code ec) {
      if (ec || stopped_) return;
      tick(n);
      arm(n + 1);
    });
  }

  void tick(uint64_t n) {
    auto now = Clock::now();
    if (!stopping_ && now >= end_) stopping_ = true;
    if (!stopping_ && n % kActivityTicks == 0) {
      // Fractional rates add up from one step to the next.
      const double step = static_cast<double>(users_.size()) / 100 *
                          std::chrono::duration<double>(kTick).count() * kActivityTicks;
      burst_due_ += o_.active_pct * step;
      reconnect_due_ += o_.reconnect_pct * step;
      presence_due_ += o_.presence_pct * step;
      for (; burst_due_ >= 1; burst_due_ -= 1) start_burst();
      for (; reconnect_due_ >= 1; reconnect_due_ -= 1) disconnect();
      for (; presence_due_ >= 1; presence_due_ -= 1) change_presence();
    }
    while (!events_.empty() && events_.top().at <= now) {
      Event e = events_.top();
      events_.pop();
      if (e.kind == EventKind::BurstMessage)
        send_burst_message(e.user);
      else
        reconnect(e.user);
    }
  }

  const CommonOptions& common_;
  const DayOptions& o_;
  Fleet& fleet_;
  const bool sm_;
  std::vector<User> users_;
  std::vector<Msg> msgs_;
  size_t first_open_ = 0;
  std::mt19937 rng_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  asio::steady_timer timer_;
  Clock::time_point started_, end_;
  bool stopping_ = false, stopped_ = false;
  double burst_due_ = 0, reconnect_due_ = 0, presence_due_ = 0;
  std::string stanza_;
  Histogram all_, direct_, after_reconnect_, interval_;
  std::vector<int64_t> reconnect_us_;
  uint64_t delivered_ = 0, bounced_ = 0, duplicates_ = 0, unknown_ = 0;
  unsigned bursts_ = 0, disconnects_ = 0, resumed_ = 0, resume_failed_ = 0, fresh_logins_ = 0,
           reconnect_failures_ = 0, dropped_ = 0, presences_ = 0;
  std::map<std::string, unsigned> errors_;
};

int Day::report(const std::string& stopped, double cpu_s, double own_s, long rss_start,
                long rss_end, const RssSampler& rss) {
  uint64_t lost = 0, excused_n = 0;
  for (const auto& m : msgs_)
    if (m.state == 0) ++(excused(m) ? excused_n : lost);
  unsigned offline = 0;
  for (const auto& u : users_)
    if (u.state != UserState::Online) ++offline;
  std::sort(reconnect_us_.begin(), reconnect_us_.end());
  const double d = o_.duration_s;
  auto ms = [](const Histogram& h, double q) { return h.quantile_ms(q); };
  std::cout << "  " << bursts_ << " bursts, " << msgs_.size() << " messages sent ("
            << static_cast<double>(msgs_.size()) / d << "/s), " << delivered_ << " delivered, "
            << bounced_ << " bounced, " << lost << " LOST"
            << (sm_ ? ""
                    : ", " + std::to_string(excused_n) +
                          " undelivered to a recipient that was offline or reconnected")
            << (duplicates_ ? ", " + std::to_string(duplicates_) + " DUPLICATES" : "")
            << (unknown_ ? ", " + std::to_string(unknown_) + " unexpected" : "") << '\n'
            << "  time to delivery p50 " << ms(all_, 0.5) << " ms, p90 " << ms(all_, 0.9)
            << " ms, p99 " << ms(all_, 0.99) << " ms, p99.9 " << ms(all_, 0.999) << " ms, max "
            << all_.max_ms() << " ms\n"
            << "    recipient online throughout (" << direct_.count() << "): p50 "
            << ms(direct_, 0.5) << " ms, p99 " << ms(direct_, 0.99) << " ms, max "
            << direct_.max_ms() << " ms\n"
            << "    recipient away or reconnecting (" << after_reconnect_.count() << "): p50 "
            << ms(after_reconnect_, 0.5) << " ms, p99 " << ms(after_reconnect_, 0.99) << " ms, max "
            << after_reconnect_.max_ms() << " ms\n"
            << "  " << disconnects_ << " abrupt disconnects; reconnects: " << resumed_
            << " resumed, " << resume_failed_ << " resumption refused (fresh session), "
            << fresh_logins_ << " fresh logins, " << reconnect_failures_ << " failed; "
            << "reconnect time p50 " << percentile(reconnect_us_, 0.5) / 1000.0 << " ms, max "
            << percentile(reconnect_us_, 1.0) / 1000.0 << " ms\n"
            << "  " << presences_ << " presence changes, " << dropped_
            << " sessions dropped by the server, " << offline << " users offline at the end\n";
  if (common_.server_pid > 0)
    std::cout << "  server CPU " << cpu_s << " s over " << d << " s: " << 1000 * cpu_s / d
              << " ms per second of the day (" << 100 * cpu_s / d << "% of one core)\n"
              << "  server RSS at the start " << rss_start << " KiB, at the end " << rss_end
              << " KiB\n";
  std::cout << "  generator CPU " << 100 * own_s / d << "% of one core\n";
  rss.print(std::cout);
  for (const auto& [what, n] : errors_) std::cout << "  error x" << n << ": " << what << '\n';
  if (!stopped.empty()) std::cout << "  STOPPED EARLY: " << stopped << '\n';
  std::printf(
      "{\"scenario\":\"day\",\"sessions\":%zu,\"duration_s\":%.1f,\"sm\":%s,\"active_pct\":%.3f,"
      "\"burst_min\":%u,\"burst_max\":%u,\"burst_gap_s\":%.2f,\"reconnect_pct\":%.3f,"
      "\"offline_s\":%.2f,\"presence_pct\":%.3f,\"bursts\":%u,\"sent\":%zu,\"delivered\":%llu,"
      "\"bounced\":%llu,\"lost\":%llu,\"undelivered_offline\":%llu,\"duplicates\":%llu,"
      "\"unexpected\":%llu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
      "\"max_ms\":%.3f,\"direct_p99_ms\":%.3f,\"reconnect_delivery_p99_ms\":%.3f,"
      "\"disconnects\":%u,\"resumed\":%u,\"resume_failed\":%u,\"fresh_logins\":%u,"
      "\"reconnect_failures\":%u,\"presences\":%u,\"dropped\":%u,"
      "\"server_cpu_ms_per_second\":%.2f,\"generator_cpu_busy\":%.3f,\"rss_start_kib\":%ld,"
      "\"rss_end_kib\":%ld%s,\"stopped\":\"%s\"}\n",
      users_.size(), d, sm_ ? "true" : "false", o_.active_pct, o_.burst_min, o_.burst_max,
      o_.burst_gap_s, o_.reconnect_pct, o_.offline_s, o_.presence_pct, bursts_, msgs_.size(),
      static_cast<unsigned long long>(delivered_), static_cast<unsigned long long>(bounced_),
      static_cast<unsigned long long>(lost), static_cast<unsigned long long>(excused_n),
      static_cast<unsigned long long>(duplicates_), static_cast<unsigned long long>(unknown_),
      ms(all_, 0.5), ms(all_, 0.9), ms(all_, 0.99), ms(all_, 0.999), all_.max_ms(),
      ms(direct_, 0.99), ms(after_reconnect_, 0.99), disconnects_, resumed_, resume_failed_,
      fresh_logins_, reconnect_failures_, presences_, dropped_, 1000 * cpu_s / d, own_s / d,
      rss_start, rss_end, rss.json().c_str(), stopped.c_str());
  std::fflush(stdout);
  return lost == 0 && dropped_ == 0 && reconnect_failures_ == 0 && offline == 0 && stopped.empty()
             ? 0
             : 1;
}

}  // namespace

int run_day(const CommonOptions& common, const DayOptions& options) {
  asio::io_context io(1);
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(common.timeout_s));
  Fleet fleet(io, common, 0, options.sessions);
  std::cout << "day: opening " << options.sessions << " sessions (stream management "
            << (common.client.stream_management ? "on, reconnects resume" : "off") << ")\n";
  if (!log_in_fleet(io, fleet, options.sessions, "day", deadline, common.server_pid)) return 1;
  std::string stopped;                   // why the run ended early, if it did
  run_for(io, std::chrono::seconds(1));  // let the logins' aftermath settle
  std::cout << "  " << options.sessions << " online; a day of " << options.duration_s
            << " s: per second " << options.active_pct << "% start a burst of " << options.burst_min
            << "-" << options.burst_max << " messages, " << options.reconnect_pct
            << "% lose their connection (back within " << options.offline_s << " s), "
            << options.presence_pct << "% change presence\n";
  Day day(io, common, options, fleet);
  RssSampler rss(io, common.server_pid, options.sample_rss_s, options.duration_s / 10);
  long rss_start = server_rss_kib(common.server_pid);
  double cpu_before = server_cpu_s(common.server_pid);
  double own_before = own_cpu_s();
  day.start();
  rss.start([&] { return day.interval_note(); });
  double cpu = 0, own = 0;
  bool measured = false;
  Clock::time_point drain_end{};
  while (!day.stopping() || !day.settled()) {
    io.run_for(std::chrono::milliseconds(100));
    if (io.stopped()) io.restart();
    auto now = Clock::now();
    if (day.stopping() && !measured) {  // the day is over; what follows is the drain
      measured = true;
      cpu = server_cpu_s(common.server_pid) - cpu_before;
      own = own_cpu_s() - own_before;
      rss.finish();
      drain_end = now + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(options.drain_s));
    }
    if (now > deadline) {
      stopped = "timeout";
      break;
    }
    if (measured && now > drain_end) {
      stopped = "not settled after the drain time (users offline or messages in flight)";
      break;
    }
    if (!server_alive(common.server_pid)) {
      stopped = "server process is gone";
      break;
    }
  }
  if (!measured) {
    cpu = server_cpu_s(common.server_pid) - cpu_before;
    own = own_cpu_s() - own_before;
  }
  rss.finish();
  long rss_end = server_rss_kib(common.server_pid);
  day.stop_timer();
  int status = day.report(stopped, cpu, own, rss_start, rss_end, rss);
  close_fleet(io, fleet);
  return status;
}

}  // namespace parley::bench
