// Federation DNS on c-ares (RFC 6120 §3.2, RFC 2782, XEP-0368). One thread owns the channel
// and runs poll() over the sockets c-ares reports through its socket-state callback (not
// ares_fds(), whose fd_set breaks on descriptors above FD_SETSIZE, common in a busy server),
// plus an eventfd that wakes it for new requests and at shutdown. A lookup is a Lookup object
// shared by its outstanding queries; it finishes once, on the last answer or at its deadline,
// and lives on until c-ares has called back every query that refers to it.
#include "s2s/resolver.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "core/log.h"

namespace parley::s2s {

namespace {

constexpr uint16_t kDefaultPort = 5269;  // RFC 6120 §3.2.2
constexpr const char* kStopped = "resolver stopped";

bool is_dot(const std::string& target) {
  return target.empty() || target == ".";
}

std::string ares_error(int status) {
  return ares_strerror(status);
}

}  // namespace

std::vector<SrvRecord> order_srv(std::vector<SrvRecord> records, std::mt19937& rng,
                                 bool* not_offered) {
  bool dot = false;
  std::erase_if(records, [&](const SrvRecord& r) { return is_dot(r.target) && (dot = true); });
  if (not_offered) *not_offered = dot && records.empty();

  std::stable_sort(records.begin(), records.end(),
                   [](const SrvRecord& a, const SrvRecord& b) { return a.priority < b.priority; });
  std::vector<SrvRecord> out;
  out.reserve(records.size());
  for (auto group = records.begin(); group != records.end();) {
    auto end = std::find_if(group, records.end(),
                            [&](const SrvRecord& r) { return r.priority != group->priority; });
    // RFC 2782: the records "in any order, except that all those with weight 0 are placed at
    // the beginning"; then repeatedly pick the first whose running weight sum reaches a
    // random number in [0, sum].
    std::vector<SrvRecord> left(std::make_move_iterator(group), std::make_move_iterator(end));
    std::shuffle(left.begin(), left.end(), rng);
    std::stable_partition(left.begin(), left.end(), [](const SrvRecord& r) { return !r.weight; });
    while (!left.empty()) {
      uint32_t sum = 0;
      for (const auto& r : left) sum += r.weight;
      uint32_t pick = std::uniform_int_distribution<uint32_t>(0, sum)(rng);
      uint32_t running = 0;
      auto chosen = left.begin();
      for (; chosen != left.end(); ++chosen) {
        running += chosen->weight;
        if (running >= pick) break;
      }
      out.push_back(std::move(*chosen));
      left.erase(chosen);
    }
    group = end;
  }
  return out;
}

namespace {

// One resolve() or resolve_host() call. Touched only on the resolver thread.
struct Lookup {
  uint64_t id = 0;
  std::string domain;
  Resolver::Done done;
  std::chrono::steady_clock::time_point deadline;
  bool finished = false;

  // SRV phase: both services, merged.
  int srv_pending = 0;
  std::vector<SrvRecord> srv;
  // Address phase: the records to connect to in order, and each distinct target's addresses.
  std::vector<SrvRecord> ordered;
  int addr_pending = 0;
  std::map<std::string, std::vector<boost::asio::ip::address>> addresses;
  std::string addr_error;
};

}  // namespace

struct Resolver::Impl {
  Options options;
  ares_channel channel = nullptr;
  int wake_fd = -1;
  std::thread thread;

  std::mutex mutex;  // guards requests, stop, closed
  std::deque<std::function<void()>> requests;
  bool stop = false;
  bool closed = false;  // the thread has drained its last requests

  // Resolver thread only.
  std::unordered_map<ares_socket_t, short> sockets;  // fd -> poll events
  std::map<uint64_t, std::shared_ptr<Lookup>> active;
  uint64_t next_id = 1;
  bool destroying = false;  // inside ares_destroy: callbacks must not start queries
  std::mt19937 rng{std::random_device{}()};

  // What a c-ares callback gets as its argument: the lookup and which query this is.
  struct Query {
    Impl* impl;
    std::shared_ptr<Lookup> lookup;
    bool direct_tls = false;  // SRV: which service
    std::string target;       // address lookups: which target
  };

  ~Impl() {
    if (channel) ares_destroy(channel);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd, &one, sizeof one);
  }

  // Queues `fn` for the resolver thread. Once that thread has gone, runs it here: it sees no
  // channel and fails its lookup with "resolver stopped".
  void post(std::function<void()> fn) {
    {
      std::lock_guard lock(mutex);
      if (!closed) {
        requests.push_back(std::move(fn));
        wake();
        return;
      }
    }
    fn();
  }

  // c-ares is C: nothing may unwind through it.
  static void deliver(Done& done, std::vector<Endpoint> endpoints, std::string error) {
    if (!done) return;
    try {
      done(std::move(endpoints), std::move(error));
    } catch (const std::exception& e) {
      PLOG(Error, "s2s") << "resolver callback threw: " << e.what();
    } catch (...) {
      PLOG(Error, "s2s") << "resolver callback threw";
    }
  }

  // The trampolines c-ares calls; they own the Query from then on.
  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable);
  static void on_srv(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  static void on_addr(void* arg, int status, int timeouts, ares_addrinfo* res);

  void run();
  std::shared_ptr<Lookup> start(std::string domain, Done done);
  void finish(Lookup& l, std::vector<Endpoint> endpoints, std::string error);
  void begin_srv(std::shared_ptr<Lookup> l);
  void srv_done(Query& q, int status, unsigned char* abuf, int alen);
  void begin_addresses(const std::shared_ptr<Lookup>& l);
  void addr_done(Query& q, int status, ares_addrinfo* res);
  void addresses_complete(Lookup& l);
  void expire();
};

void Resolver::Impl::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
  auto& sockets = static_cast<Impl*>(data)->sockets;
  if (!readable && !writable) {
    sockets.erase(fd);
  } else {
    sockets[fd] = static_cast<short>((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
  }
}

void Resolver::Impl::on_srv(void* arg, int status, int, unsigned char* abuf, int alen) {
  std::unique_ptr<Query> q(static_cast<Query*>(arg));
  q->impl->srv_done(*q, status, abuf, alen);
}

void Resolver::Impl::on_addr(void* arg, int status, int, ares_addrinfo* res) {
  std::unique_ptr<Query> q(static_cast<Query*>(arg));
  std::unique_ptr<ares_addrinfo, decltype(&ares_freeaddrinfo)> owned(res, ares_freeaddrinfo);
  q->impl->addr_done(*q, status, res);
}

namespace {

std::string join_servers(const std::vector<std::string>& servers) {
  std::string csv;
  for (const auto& s : servers) {
    if (!csv.empty()) csv += ',';
    csv += s;
  }
  return csv;
}

}  // namespace

std::shared_ptr<Lookup> Resolver::Impl::start(std::string domain, Done done) {
  auto l = std::make_shared<Lookup>();
  l->id = next_id++;
  l->domain = std::move(domain);
  l->done = std::move(done);
  l->deadline = std::chrono::steady_clock::now() + options.timeout;
  active.emplace(l->id, l);
  return l;
}

void Resolver::Impl::finish(Lookup& l, std::vector<Endpoint> endpoints, std::string error) {
  if (l.finished) return;
  l.finished = true;
  auto done = std::move(l.done);
  active.erase(l.id);  // the caller holds `l` through a Query or a copy of the pointer
  if (endpoints.empty() && error.empty()) error = "no addresses";
  if (!endpoints.empty()) error.clear();
  deliver(done, std::move(endpoints), std::move(error));
}

void Resolver::Impl::begin_srv(std::shared_ptr<Lookup> l) {
  std::string domain = l->domain;
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (domain.empty()) return finish(*l, {}, "empty domain");
  l->srv_pending = 2;
  for (bool tls : {true, false}) {
    std::string name = (tls ? "_xmpps-server._tcp." : "_xmpp-server._tcp.") + domain;
    auto* q = new Query{this, l, tls, {}};
    // May call back before returning.
    ares_query(channel, name.c_str(), ns_c_in, ns_t_srv, on_srv, q);
  }
}

void Resolver::Impl::srv_done(Query& q, int status, unsigned char* abuf, int alen) {
  Lookup& l = *q.lookup;
  if (destroying || l.finished) return;
  if (status == ARES_SUCCESS) {
    ares_srv_reply* reply = nullptr;
    if (ares_parse_srv_reply(abuf, alen, &reply) == ARES_SUCCESS) {
      for (auto* r = reply; r; r = r->next)
        l.srv.push_back({r->host ? r->host : "", r->port, r->priority, r->weight, q.direct_tls});
    }
    ares_free_data(reply);
  } else if (status != ARES_ENOTFOUND && status != ARES_ENODATA) {
    PLOG(Debug, "s2s") << "SRV " << (q.direct_tls ? "_xmpps-server" : "_xmpp-server") << " for "
                       << l.domain << ": " << ares_error(status);
  }
  if (--l.srv_pending > 0) return;

  bool not_offered = false;
  l.ordered = order_srv(std::move(l.srv), rng, &not_offered);
  if (not_offered) return finish(l, {}, "service not offered");
  if (l.ordered.empty()) {
    // RFC 6120 §3.2.2: no SRV records, so the domain itself on the default port.
    std::string host = l.domain;
    if (!host.empty() && host.back() == '.') host.pop_back();
    l.ordered.push_back({host, kDefaultPort, 0, 0, false});
  }
  begin_addresses(q.lookup);
}

void Resolver::Impl::begin_addresses(const std::shared_ptr<Lookup>& l) {
  std::vector<std::string> targets;
  for (const auto& r : l->ordered) {
    if (l->addresses.try_emplace(r.target).second) targets.push_back(r.target);
  }
  l->addr_pending = static_cast<int>(targets.size());
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = ARES_AI_NOSORT;  // the RFC 6724 sort connects sockets; we order by family
  for (const auto& target : targets) {
    auto* q = new Query{this, l, false, target};
    // May call back before returning (an IP literal, /etc/hosts).
    ares_getaddrinfo(channel, target.c_str(), nullptr, &hints, on_addr, q);
  }
}

void Resolver::Impl::addr_done(Query& q, int status, ares_addrinfo* res) {
  Lookup& l = *q.lookup;
  if (destroying || l.finished) return;
  if (status == ARES_SUCCESS && res) {
    std::vector<boost::asio::ip::address> v6, v4;
    for (auto* n = res->nodes; n; n = n->ai_next) {
      if (n->ai_family == AF_INET6 && n->ai_addrlen >= sizeof(sockaddr_in6)) {
        sockaddr_in6 sa;
        std::memcpy(&sa, n->ai_addr, sizeof sa);
        boost::asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), &sa.sin6_addr, b.size());
        v6.push_back(boost::asio::ip::address_v6(b, sa.sin6_scope_id));
      } else if (n->ai_family == AF_INET && n->ai_addrlen >= sizeof(sockaddr_in)) {
        sockaddr_in sa;
        std::memcpy(&sa, n->ai_addr, sizeof sa);
        v4.push_back(boost::asio::ip::address_v4(ntohl(sa.sin_addr.s_addr)));
      }
    }
    auto& out = l.addresses[q.target];
    for (auto* list : {&v6, &v4}) {
      for (auto& a : *list) {
        if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
      }
    }
  } else {
    l.addr_error = q.target + ": " + ares_error(status);
  }
  if (--l.addr_pending == 0) addresses_complete(l);
}

void Resolver::Impl::addresses_complete(Lookup& l) {
  std::vector<Endpoint> endpoints;
  for (const auto& r : l.ordered) {
    for (const auto& a : l.addresses[r.target]) {
      Endpoint e{{a, r.port}, r.target, r.direct_tls};
      bool dup = std::any_of(endpoints.begin(), endpoints.end(), [&](const Endpoint& x) {
        return x.address == e.address && x.direct_tls == e.direct_tls;
      });
      if (!dup) endpoints.push_back(std::move(e));
    }
  }
  std::string error = l.addr_error.empty() ? l.domain + ": no addresses" : l.addr_error;
  finish(l, std::move(endpoints), std::move(error));
}

void Resolver::Impl::expire() {
  auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<Lookup>> late;
  for (auto& [id, l] : active) {
    if (l->deadline <= now) late.push_back(l);
  }
  for (auto& l : late) finish(*l, {}, l->domain + ": timed out");
}

void Resolver::Impl::run() {
  std::vector<pollfd> fds;
  for (;;) {
    std::deque<std::function<void()>> batch;
    bool stopping;
    {
      std::lock_guard lock(mutex);
      stopping = stop;
      if (!stopping) batch.swap(requests);
    }
    if (stopping) break;
    for (auto& fn : batch) fn();
    batch.clear();

    // Sleep until a socket is ready, c-ares has a retransmission due, a lookup's deadline
    // passes or a request arrives.
    auto now = std::chrono::steady_clock::now();
    auto wait = std::chrono::milliseconds(-1);
    for (auto& [id, l] : active) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(l->deadline - now);
      left = std::max(left, std::chrono::milliseconds(0));
      if (wait.count() < 0 || left < wait) wait = left;
    }
    timeval tv;
    if (timeval* t = ares_timeout(channel, nullptr, &tv)) {
      auto ares_wait = std::chrono::milliseconds(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
      if (wait.count() < 0 || ares_wait < wait) wait = ares_wait;
    }

    fds.clear();
    fds.push_back({wake_fd, POLLIN, 0});
    for (auto [fd, events] : sockets) fds.push_back({fd, events, 0});
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    if (n < 0 && errno != EINTR) {
      PLOG(Error, "s2s") << "resolver poll: " << std::strerror(errno);
      continue;
    }
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(wake_fd, &count, sizeof count);
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      short re = fds[i].revents;
      if (!re) continue;
      ares_socket_t rfd = (re & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD;
      ares_socket_t wfd = (re & (POLLOUT | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD;
      ares_process_fd(channel, rfd, wfd);
    }
    ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
    expire();
  }

  // Shutdown: c-ares calls every outstanding query back with ARES_EDESTRUCTION; then every
  // lookup that has not finished, and every request not started yet, gets the error.
  destroying = true;
  ares_destroy(channel);
  channel = nullptr;
  destroying = false;
  while (!active.empty()) {
    auto l = active.begin()->second;
    finish(*l, {}, kStopped);
  }
  std::deque<std::function<void()>> rest;
  {
    std::lock_guard lock(mutex);
    closed = true;
    rest.swap(requests);
  }
  // Requests are closures that start lookups; with `closed` set and no channel, run them in
  // stopped mode: they fail at once.
  for (auto& fn : rest) fn();
}

Resolver::Resolver(Options options) : impl_(std::make_unique<Impl>()) {
  static std::once_flag once;
  static int init_status = ARES_SUCCESS;
  std::call_once(once, [] { init_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (init_status != ARES_SUCCESS) throw std::runtime_error("c-ares: " + ares_error(init_status));

  Impl& impl = *impl_;
  impl.options = std::move(options);
  if (impl.options.timeout.count() <= 0) impl.options.timeout = std::chrono::milliseconds(1);

  ares_options opts{};
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_DOMAINS | ARES_OPT_SOCK_STATE_CB;
  // Two tries per server; c-ares doubles the timeout on the second round, so the two fit in
  // about three quarters of the bound, leaving room for the address lookups. The deadline in
  // expire() is the hard bound.
  opts.timeout = std::max<int>(1, static_cast<int>(impl.options.timeout.count() / 4));
  opts.tries = 2;
  opts.domains = nullptr;  // names are absolute: no search list
  opts.ndomains = 0;
  opts.sock_state_cb = Impl::on_sock_state;
  opts.sock_state_cb_data = &impl;
  int status = ares_init_options(&impl.channel, &opts, mask);
  if (status != ARES_SUCCESS) {
    impl.channel = nullptr;
    throw std::runtime_error("c-ares init: " + ares_error(status));
  }
  if (!impl.options.servers.empty()) {
    std::string csv = join_servers(impl.options.servers);
    status = ares_set_servers_ports_csv(impl.channel, csv.c_str());
    if (status != ARES_SUCCESS)
      throw std::runtime_error("DNS servers \"" + csv + "\": " + ares_error(status));
  }
  impl.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl.wake_fd < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  impl.thread = std::thread([&impl] { impl.run(); });
}

Resolver::~Resolver() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stop = true;
  }
  impl_->wake();
  impl_->thread.join();
}

void Resolver::resolve(std::string domain, Done done) {
  Impl* impl = impl_.get();
  auto fn = [impl, domain = std::move(domain), done = std::move(done)]() mutable {
    if (!impl->channel) return Impl::deliver(done, {}, kStopped);
    impl->begin_srv(impl->start(std::move(domain), std::move(done)));
  };
  impl->post(std::move(fn));
}

void Resolver::resolve_host(std::string host, uint16_t port, bool direct_tls, Done done) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  Impl* impl = impl_.get();
  auto fn = [impl, host = std::move(host), port, direct_tls, done = std::move(done)]() mutable {
    if (!impl->channel) return Impl::deliver(done, {}, kStopped);
    boost::system::error_code ec;
    auto literal = boost::asio::ip::make_address(host, ec);
    if (!ec) {
      return Impl::deliver(done, {Endpoint{{literal, port}, host, direct_tls}}, {});
    }
    auto l = impl->start(host, std::move(done));
    l->ordered.push_back({host, port, 0, 0, direct_tls});
    impl->begin_addresses(l);
  };
  impl->post(std::move(fn));
}

}  // namespace parley::s2s
