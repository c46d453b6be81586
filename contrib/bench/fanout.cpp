// parley-bench fanout: one group chat room (XEP-0045) with N occupants, S of them sending
// groupchat messages, each of which the room delivers to all N occupants (the senders' own
// copies included). The first session creates the room as an instant room (§10.1.2), the others
// join it without history (§7.2.14, maxstanzas='0'), a bounded number at a time. Then either a
// closed loop (a window of W messages per sender still short of a delivery to some occupant) or
// an open loop (R messages per second in total on a fixed schedule). Every delivery is counted
// per message and checked per occupant and sender for order, so a lost, duplicated or reordered
// delivery is found exactly; the body carries the send time, sender and number ("T S K"), read
// with a scan of the body and no parsing of the rest, since the generator receives N stanzas per
// message sent and its core must not be the limit.
#include <cstdio>
#include <iostream>

#include "contrib/bench/fleet.h"
#include "contrib/bench/histogram.h"
#include "contrib/bench/scenarios.h"

namespace parley::bench {

namespace {

constexpr std::string_view kMucNs = "http://jabber.org/protocol/muc";
// Nothing delivered for this long during the messages, or no join for this long: the run ends.
constexpr auto kStall = std::chrono::seconds(15);
constexpr auto kJoinStall = std::chrono::seconds(30);

// A MUC status code (XEP-0045 §15.6: 110 self-presence, 201 new room) in a presence, by a
// plain scan for code='NNN': the generator receives about N² presences during the joins.
bool has_code(std::string_view el, std::string_view code) {
  for (size_t at = el.find("code="); at != std::string_view::npos; at = el.find("code=", at + 5)) {
    size_t v = at + 5;
    if (v + code.size() + 2 > el.size()) return false;
    char q = el[v];
    if ((q == '\'' || q == '"') && el.substr(v + 1, code.size()) == code &&
        el[v + 1 + code.size()] == q)
      return true;
  }
  return false;
}

// The body "T S K": the (intended) send time in µs on the generator's steady clock, the
// sender's index and its message number.
struct Stamp {
  int64_t t;
  int64_t sender;
  int64_t seq;
};

std::optional<Stamp> body_stamp(std::string_view el) {
  size_t open = el.find("<body");
  if (open == std::string_view::npos) return std::nullopt;
  size_t gt = el.find('>', open);
  if (gt == std::string_view::npos || el[gt - 1] == '/') return std::nullopt;
  const char* p = el.data() + gt + 1;
  const char* end = el.data() + el.size();
  Stamp s{};
  int64_t* fields[] = {&s.t, &s.sender, &s.seq};
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (p >= end || *p != ' ') return std::nullopt;
      ++p;
    }
    auto [next, ec] = std::from_chars(p, end, *fields[i]);
    if (ec != std::errc()) return std::nullopt;
    p = next;
  }
  return s;
}

}  // namespace

int run_fanout(const CommonOptions& common, const FanoutOptions& options) {
  asio::io_context io(1);
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(common.timeout_s));
  const pid_t pid = common.server_pid;
  const unsigned n = options.occupants, senders = options.senders;
  const std::string service =
      options.service.empty() ? "groups." + common.client.domain : options.service;
  const std::string room = options.room + "@" + service;
  const bool open_loop = options.rate > 0;
  Fleet fleet(io, common, 0, n);
  std::cout << "fanout: opening " << n << " sessions\n";
  if (!log_in_fleet(io, fleet, n, "fanout", deadline, pid)) return 1;
  run_for(io, std::chrono::milliseconds(300));  // let the logins' aftermath settle

  // ---- Joins: session 0 creates the room, then the others join, a bounded number at a time.
  long rss_before_join = server_rss_kib(pid);
  double cpu_before_join = server_cpu_s(pid);
  std::vector<Clock::time_point> join_sent(n);
  std::vector<char> joined(n, 0);
  std::vector<int64_t> join_us;
  join_us.reserve(n);
  uint64_t presences = 0;
  unsigned joins = 0, next_join = 0, join_errors = 0;
  bool created = false;
  std::string join_error, stopped;
  Clock::time_point join_start = Clock::now(), last_join = join_start;
  auto send_join = [&](unsigned i) {
    join_sent[i] = Clock::now();
    std::string p = "<presence to='" + room + "/n" + std::to_string(i) + "'><x xmlns='";
    p += kMucNs;
    p += i == 0 ? "'/></presence>" : "'><history maxstanzas='0'/></x></presence>";
    fleet.client(i)->send_stanzas(p, 1);
  };
  auto joined_one = [&](unsigned i) {
    joined[i] = 1;
    ++joins;
    last_join = Clock::now();
    join_us.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(last_join - join_sent[i]).count());
    unsigned more = i == 0 ? options.join_concurrency : 1;  // the room exists: open the gates
    for (unsigned k = 0; k < more && next_join < n; ++k) send_join(next_join++);
  };
  for (unsigned i = 0; i < n; ++i) {
    fleet.client(i)->on_presence([&, i](Client&, std::string_view el) {
      ++presences;
      if (joined[i] || (i == 0 && created)) return;
      if (attr_view(el, "type") == "error") {
        ++join_errors;
        if (join_error.empty()) join_error = std::string(el.substr(0, 400));
        return;
      }
      if (!has_code(el, "110")) return;  // another occupant's presence
      if (i == 0 && has_code(el, "201")) {
        // A new room, locked until its owner configures it (§10.1.2): accept the defaults.
        created = true;
        fleet.client(0)->send_stanzas("<iq type='set' id='fanout-create' to='" + room +
                                          "'><query xmlns='http://jabber.org/protocol/"
                                          "muc#owner'><x xmlns='jabber:x:data' "
                                          "type='submit'/></query></iq>",
                                      1);
        return;
      }
      joined_one(i);
    });
  }
  fleet.client(0)->on_stanza([&](Client&, std::string_view el) {
    if (element_name(el) != "iq" || attr_view(el, "id") != "fanout-create" || joined[0]) return;
    if (attr_view(el, "type") == "result") return joined_one(0);
    ++join_errors;
    if (join_error.empty()) join_error = std::string(el.substr(0, 400));
  });
  std::cout << "  joining " << room << " (" << options.join_concurrency << " joins in flight)\n";
  next_join = 1;
  send_join(0);
  while (joins < n) {
    io.run_for(std::chrono::milliseconds(100));
    if (io.stopped()) io.restart();
    auto now = Clock::now();
    if (join_errors) stopped = "join refused: " + join_error;
    if (now > deadline) stopped = "timeout during the joins";
    if (now - last_join > kJoinStall) stopped = "no join answered for 30 s";
    if (!server_alive(pid)) stopped = "server process is gone";
    if (fleet.dropped() > 0) stopped = "sessions dropped during the joins";
    if (!stopped.empty()) break;
  }
  double join_s = seconds(last_join - join_start);
  double join_cpu = server_cpu_s(pid) - cpu_before_join;
  // Every occupant ends up with the presence of every occupant, its own included: N² in all.
  // For information only (a server may send fewer in large rooms), so a short bounded wait.
  const uint64_t presences_expected = static_cast<uint64_t>(n) * n;
  for (int k = 0; k < 30 && stopped.empty() && presences < presences_expected; ++k)
    run_for(io, std::chrono::milliseconds(100));
  run_for(io, std::chrono::milliseconds(300));
  long rss_after_join = server_rss_kib(pid);
  std::sort(join_us.begin(), join_us.end());
  double per_occupant_kib =
      rss_before_join >= 0 && rss_after_join >= 0 && joins > 0
          ? static_cast<double>(rss_after_join - rss_before_join) / static_cast<double>(joins)
          : 0;
  std::cout << "  joined " << joins << " of " << n << " in " << join_s << " s ("
            << static_cast<long>(join_s > 0 ? joins / join_s : 0) << " joins/s), join time p50 "
            << percentile(join_us, 0.5) / 1000.0 << " ms, p99 "
            << percentile(join_us, 0.99) / 1000.0 << " ms; " << presences
            << " presences received (N² = " << presences_expected << ")\n";
  if (pid > 0)
    std::cout << "  server CPU " << join_cpu << " s for the joins, RSS " << rss_before_join
              << " -> " << rss_after_join << " KiB: " << per_occupant_kib << " KiB per occupant\n";
  if (!stopped.empty()) {
    std::cout << "  STOPPED EARLY: " << stopped << '\n';
    print_errors(fleet);
    close_fleet(io, fleet);
    std::printf(
        "{\"scenario\":\"fanout\",\"error\":\"join\",\"occupants\":%u,\"joined\":%u,"
        "\"join_presences\":%llu}\n",
        n, joins, static_cast<unsigned long long>(presences));
    std::fflush(stdout);
    return 1;
  }

  // ---- Messages. Sender s is session s*N/S (spread over the sessions and source addresses).
  const uint32_t per_sender = options.messages;
  const uint64_t total_messages = static_cast<uint64_t>(senders) * per_sender;
  const uint64_t expected = total_messages * n;
  std::vector<unsigned> sender_session(senders);
  for (unsigned s = 0; s < senders; ++s)
    sender_session[s] = static_cast<unsigned>(static_cast<uint64_t>(s) * n / senders);
  std::vector<uint32_t> sent(senders, 0), done(senders, 0);
  std::vector<uint32_t> count(total_messages, 0);                       // deliveries per message
  std::vector<uint32_t> next_seq(static_cast<size_t>(n) * senders, 0);  // per occupant, sender
  Histogram latency, complete;
  uint64_t delivered = 0, messages_sent = 0, messages_complete = 0, duplicates = 0,
           out_of_order = 0, other_messages = 0, late_presences = 0;
  unsigned bad = 0;
  std::string batch;  // reused: no allocation per message
  batch.reserve(4096);
  const std::string head = "<message type='groupchat' to='" + room + "' id='f";
  auto append_message = [&](unsigned s, int64_t t) {
    batch += head;
    append_number(batch, s);
    batch += '-';
    append_number(batch, sent[s]);
    batch += "'><body>";
    append_number(batch, t);
    batch += ' ';
    append_number(batch, s);
    batch += ' ';
    append_number(batch, sent[s]);
    batch += "</body></message>";
    ++sent[s];
    ++messages_sent;
  };
  // Closed loop: up to `window` messages of sender s not yet delivered to every occupant.
  auto send_next = [&](unsigned s) {
    batch.clear();
    unsigned k = 0;
    while (sent[s] < per_sender && sent[s] - done[s] < options.window) {
      append_message(s, now_us());
      ++k;
    }
    if (k) fleet.client(sender_session[s])->send_stanzas(batch, k);
  };
  Clock::time_point first_send{}, last_send{}, last_delivery = Clock::now();
  for (unsigned i = 0; i < n; ++i) {
    fleet.client(i)->on_presence([&](Client&, std::string_view) { ++late_presences; });
    fleet.client(i)->on_stanza([&, i](Client&, std::string_view el) {
      if (element_name(el) != "message") return;
      std::string_view type = attr_view(el, "type");
      if (type != "groupchat") {
        if (type == "error")
          ++bad;  // a bounce
        else
          ++other_messages;
        return;
      }
      auto stamp = body_stamp(el);
      if (!stamp) {
        ++other_messages;  // the subject, or something else without our stamp
        return;
      }
      if (stamp->sender < 0 || stamp->sender >= static_cast<int64_t>(senders) || stamp->seq < 0 ||
          stamp->seq >= static_cast<int64_t>(per_sender)) {
        ++bad;
        return;
      }
      int64_t now = now_us();
      latency.add(now - stamp->t);
      ++delivered;
      last_delivery = Clock::now();
      auto s = static_cast<unsigned>(stamp->sender);
      auto seq = static_cast<uint32_t>(stamp->seq);
      uint32_t& expect = next_seq[static_cast<size_t>(i) * senders + s];
      if (seq != expect) ++out_of_order;  // a gap (lost or reordered) or a repeat
      if (seq >= expect) expect = seq + 1;
      uint32_t& c = count[static_cast<size_t>(s) * per_sender + seq];
      if (++c == n) {
        complete.add(now - stamp->t);
        ++messages_complete;
        ++done[s];
        if (!open_loop) send_next(s);
      } else if (c > n) {
        ++duplicates;
      }
    });
  }

  double cpu_before = server_cpu_s(pid);
  double own_before = own_cpu_s();
  double server_wait_before = runqueue_wait_s(pid), own_wait_before = runqueue_wait_s(0);
  asio::steady_timer timer(io);
  bool sending = true;
  Clock::time_point t0 = Clock::now() + std::chrono::milliseconds(20);
  auto due = [&](uint64_t k) {
    return t0 + std::chrono::nanoseconds(
                    static_cast<int64_t>(static_cast<double>(k) * 1e9 / options.rate));
  };
  Histogram lag;
  std::function<void()> tick = [&] {
    auto now = Clock::now();
    int64_t now_stamp =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    // Everything due by now; message k goes to sender k mod S.
    while (messages_sent < total_messages && due(messages_sent) <= now) {
      int64_t intended = std::chrono::duration_cast<std::chrono::microseconds>(
                             due(messages_sent).time_since_epoch())
                             .count();
      lag.add(now_stamp - intended);
      auto s = static_cast<unsigned>(messages_sent % senders);
      batch.clear();
      append_message(s, intended);
      fleet.client(sender_session[s])->send_stanzas(batch, 1);
    }
    last_send = now;
    if (messages_sent >= total_messages) {
      sending = false;
      return;
    }
    timer.expires_at(due(messages_sent));
    timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) tick();
    });
  };
  if (open_loop) {
    std::cout << "  " << total_messages << " messages at " << options.rate << "/s over " << senders
              << " senders (open loop), " << expected << " deliveries expected\n";
    first_send = t0;
    timer.expires_at(t0);
    timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) tick();
    });
  } else {
    std::cout << "  " << per_sender << " messages from each of " << senders
              << " senders (closed loop, window " << options.window << " per sender), " << expected
              << " deliveries expected\n";
    first_send = Clock::now();
    for (unsigned s = 0; s < senders; ++s) send_next(s);
    sending = false;
    last_send = Clock::now();
  }
  Clock::time_point drain_end{};
  while (delivered < expected || sending) {
    io.run_for(std::chrono::milliseconds(100));
    if (io.stopped()) io.restart();
    auto now = Clock::now();
    if (open_loop && !sending && drain_end == Clock::time_point{})
      drain_end = now + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(options.drain_s));
    if (now > deadline) stopped = "timeout";
    if (!sending && now - std::max(last_delivery, last_send) > kStall)
      stopped = "stalled: nothing delivered for 15 s";
    if (drain_end != Clock::time_point{} && now > drain_end)
      stopped = "undelivered messages after the drain time";
    if (!server_alive(pid)) stopped = "server process is gone";
    if (fleet.dropped() > 0) stopped = "sessions dropped";
    if (!stopped.empty()) break;
  }
  timer.cancel();
  // Anything beyond the expected (duplicates) would arrive right after: a short look.
  if (stopped.empty()) run_for(io, std::chrono::milliseconds(200));
  double span = seconds(last_delivery - first_send);
  double cpu = server_cpu_s(pid) - cpu_before;
  double own = own_cpu_s() - own_before;
  double server_wait = pid > 0 ? runqueue_wait_s(pid) - server_wait_before : 0;
  double own_wait = runqueue_wait_s(0) - own_wait_before;
  long rss_after = server_rss_kib(pid);
  uint64_t missing = 0;
  for (uint64_t m = 0; m < total_messages; ++m)
    if (count[m] < n) missing += n - count[m];
  double rate = span > 0 ? static_cast<double>(delivered) / span : 0;
  double msg_rate = span > 0 ? static_cast<double>(messages_complete) / span : 0;
  double us_per_delivery = delivered && pid > 0 ? cpu * 1e6 / static_cast<double>(delivered) : 0;
  double per_cpu_s = cpu > 0 ? static_cast<double>(delivered) / cpu : 0;
  auto ms = [&](double q) { return latency.quantile_ms(q); };
  std::cout << "  delivered " << delivered << " of " << expected << " in " << span
            << " s: " << static_cast<long>(rate) << " deliveries/s (" << static_cast<long>(msg_rate)
            << " messages/s to all " << n << ")\n"
            << "  time to delivery p50 " << ms(0.5) << " ms, p90 " << ms(0.9) << " ms, p99 "
            << ms(0.99) << " ms, p99.9 " << ms(0.999) << " ms, max " << latency.max_ms() << " ms\n"
            << "  time until a message reached all occupants p50 " << complete.quantile_ms(0.5)
            << " ms, p99 " << complete.quantile_ms(0.99) << " ms, max " << complete.max_ms()
            << " ms\n";
  if (open_loop)
    std::cout << "  generator lag behind schedule p99 " << lag.quantile_ms(0.99) << " ms, max "
              << lag.max_ms() << " ms\n";
  if (pid > 0)
    std::cout << "  server CPU " << cpu << " s: " << us_per_delivery << " us per delivery, "
              << static_cast<long>(per_cpu_s) << " deliveries per server CPU-second ("
              << (span > 0 ? 100 * cpu / span : 0) << "% of one core); RSS " << rss_after
              << " KiB\n";
  std::cout << "  generator CPU " << own << " s ("
            << (delivered ? own * 1e6 / static_cast<double>(delivered) : 0) << " us per delivery, "
            << (span > 0 ? 100 * own / span : 0) << "% of one core); waited for a CPU: server "
            << 1000 * server_wait << " ms, generator " << 1000 * own_wait << " ms\n";
  if (missing || duplicates || out_of_order || bad)
    std::cout << "  DELIVERY ERRORS: " << missing << " missing, " << duplicates << " duplicated, "
              << out_of_order << " out of order, " << bad << " bounces or foreign messages\n";
  if (late_presences || other_messages)
    std::cout << "  also received: " << late_presences << " presences, " << other_messages
              << " other messages\n";
  if (!stopped.empty()) std::cout << "  STOPPED EARLY: " << stopped << '\n';
  print_errors(fleet);
  close_fleet(io, fleet);
  std::printf(
      "{\"scenario\":\"fanout\",\"occupants\":%u,\"senders\":%u,\"messages_per_sender\":%u,"
      "\"window\":%u,\"rate\":%.1f,\"messages\":%llu,\"expected\":%llu,\"delivered\":%llu,"
      "\"missing\":%llu,\"duplicates\":%llu,\"out_of_order\":%llu,\"bounces\":%u,"
      "\"seconds\":%.3f,\"deliveries_per_second\":%.1f,\"messages_per_second\":%.1f,"
      "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
      "\"complete_p50_ms\":%.3f,\"complete_p99_ms\":%.3f,\"complete_max_ms\":%.3f,"
      "\"lag_p99_ms\":%.3f,\"server_cpu_us_per_delivery\":%.3f,"
      "\"deliveries_per_server_cpu_second\":%.0f,\"server_cpu_busy\":%.2f,"
      "\"generator_cpu_busy\":%.2f,\"generator_cpu_us_per_delivery\":%.3f,\"server_cpu_wait_ms\":%."
      "1f,\"generator_cpu_wait_ms\":%.1f,"
      "\"join_seconds\":%.3f,\"join_p50_ms\":%.2f,\"join_p99_ms\":%.2f,"
      "\"join_presences\":%llu,\"join_presences_expected\":%llu,\"server_cpu_s_joins\":%.3f,"
      "\"rss_before_join_kib\":%ld,\"rss_after_join_kib\":%ld,\"rss_per_occupant_kib\":%.2f,"
      "\"rss_after_kib\":%ld,\"stopped\":\"%s\"}\n",
      n, senders, per_sender, options.window, options.rate,
      static_cast<unsigned long long>(messages_sent), static_cast<unsigned long long>(expected),
      static_cast<unsigned long long>(delivered), static_cast<unsigned long long>(missing),
      static_cast<unsigned long long>(duplicates), static_cast<unsigned long long>(out_of_order),
      bad, span, rate, msg_rate, ms(0.5), ms(0.9), ms(0.99), ms(0.999), latency.max_ms(),
      complete.quantile_ms(0.5), complete.quantile_ms(0.99), complete.max_ms(),
      lag.quantile_ms(0.99), us_per_delivery, per_cpu_s, span > 0 ? cpu / span : 0.0,
      span > 0 ? own / span : 0.0, delivered ? own * 1e6 / static_cast<double>(delivered) : 0.0,
      1000 * server_wait, 1000 * own_wait, join_s, percentile(join_us, 0.5) / 1000.0,
      percentile(join_us, 0.99) / 1000.0, static_cast<unsigned long long>(presences),
      static_cast<unsigned long long>(presences_expected), join_cpu, rss_before_join,
      rss_after_join, per_occupant_kib, rss_after, stopped.c_str());
  std::fflush(stdout);
  return delivered == expected && missing == 0 && duplicates == 0 && out_of_order == 0 &&
                 bad == 0 && stopped.empty() && messages_sent == total_messages
             ? 0
             : 1;
}

}  // namespace parley::bench
