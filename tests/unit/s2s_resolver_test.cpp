// Federation DNS (server/s2s/resolver.h): RFC 2782 ordering of SRV records, and lookups against
// a real dnsmasq on loopback: SRV priorities, _xmpps-server (XEP-0368), the fallback to the
// domain on 5269 (RFC 6120 §3.2.2), AAAA before A, NXDOMAIN, "." targets, a server that never
// answers, static routes, and destroying the resolver with lookups pending.
#include "s2s/resolver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace parley::s2s {
namespace {

using namespace std::chrono_literals;

// ---- order_srv ----

SrvRecord rec(std::string target, uint16_t priority, uint16_t weight, uint16_t port = 5269) {
  return {std::move(target), port, priority, weight, false};
}

TEST(S2sResolverOrder, PrioritiesAscend) {
  std::mt19937 rng(1);
  for (int run = 0; run < 50; ++run) {
    auto out =
        order_srv({rec("c", 30, 1), rec("a", 10, 5), rec("b", 20, 0), rec("a2", 10, 5)}, rng);
    ASSERT_EQ(out.size(), 4u);
    for (size_t i = 1; i < out.size(); ++i) EXPECT_LE(out[i - 1].priority, out[i].priority);
    EXPECT_EQ(out[2].target, "b");
    EXPECT_EQ(out[3].target, "c");
  }
}

TEST(S2sResolverOrder, WeightsShapeTheDistribution) {
  // Weights 1:3 — the heavier record should come first about 3/4 of the time.
  std::mt19937 rng(42);
  constexpr int kRuns = 4000;
  int heavy_first = 0;
  for (int run = 0; run < kRuns; ++run) {
    auto out = order_srv({rec("light", 10, 10), rec("heavy", 10, 30)}, rng);
    ASSERT_EQ(out.size(), 2u);
    if (out[0].target == "heavy") ++heavy_first;
  }
  double share = static_cast<double>(heavy_first) / kRuns;
  EXPECT_GT(share, 0.65);
  EXPECT_LT(share, 0.85);
}

TEST(S2sResolverOrder, WeightZeroStillAppears) {
  std::mt19937 rng(7);
  int zero_first = 0;
  for (int run = 0; run < 1000; ++run) {
    auto out = order_srv({rec("zero", 10, 0), rec("some", 10, 50), rec("more", 10, 50)}, rng);
    ASSERT_EQ(out.size(), 3u);
    std::vector<std::string> names{out[0].target, out[1].target, out[2].target};
    EXPECT_NE(std::find(names.begin(), names.end(), "zero"), names.end());
    if (out[0].target == "zero") ++zero_first;
  }
  // RFC 2782 gives a weight-0 record a very small chance to be first (1/101 here).
  EXPECT_LT(zero_first, 100);
  // All weights zero: every record is kept.
  auto out = order_srv({rec("x", 1, 0), rec("y", 1, 0)}, rng);
  EXPECT_EQ(out.size(), 2u);
}

TEST(S2sResolverOrder, DotMeansNotOffered) {
  std::mt19937 rng(3);
  bool not_offered = false;
  EXPECT_TRUE(order_srv({rec(".", 0, 0, 0)}, rng, &not_offered).empty());
  EXPECT_TRUE(not_offered);
  // c-ares expands the root name to "".
  not_offered = false;
  EXPECT_TRUE(order_srv({rec("", 0, 0, 0)}, rng, &not_offered).empty());
  EXPECT_TRUE(not_offered);
  // A "." for one service does not hide the other one's records.
  auto out = order_srv({rec(".", 0, 0, 0), rec("real", 5, 0)}, rng, &not_offered);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].target, "real");
  EXPECT_FALSE(not_offered);
  // No records at all is not "not offered": that is the fallback case.
  EXPECT_TRUE(order_srv({}, rng, &not_offered).empty());
  EXPECT_FALSE(not_offered);
}

// ---- against dnsmasq ----

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";

struct Result {
  std::vector<Endpoint> endpoints;
  std::string error;
  std::thread::id thread;
};

// Runs one lookup and waits for its callback, bounded.
template <typename Start>
Result wait_for(Start start, std::chrono::milliseconds bound = 10s) {
  auto promise = std::make_shared<std::promise<Result>>();
  auto future = promise->get_future();
  start([promise](std::vector<Endpoint> endpoints, std::string error) {
    promise->set_value({std::move(endpoints), std::move(error), std::this_thread::get_id()});
  });
  if (future.wait_for(bound) != std::future_status::ready) {
    ADD_FAILURE() << "no callback within " << bound.count() << " ms";
    return {{}, "no callback", {}};
  }
  return future.get();
}

Result resolve(Resolver& r, const std::string& domain) {
  return wait_for([&](Resolver::Done done) { r.resolve(domain, std::move(done)); });
}

std::string str(const Endpoint& e) {
  std::string s = e.address.address().is_v6() ? "[" + e.address.address().to_string() + "]"
                                              : e.address.address().to_string();
  return s + ":" + std::to_string(e.address.port()) + (e.direct_tls ? " tls" : "");
}

std::vector<std::string> strs(const std::vector<Endpoint>& endpoints) {
  std::vector<std::string> out;
  for (const auto& e : endpoints) out.push_back(str(e));
  return out;
}

// A UDP socket on 127.0.0.1 that never answers; also how a free port is found.
struct UdpHole {
  int fd = -1;
  uint16_t port = 0;
  UdpHole() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return;
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
  }
  ~UdpHole() {
    if (fd >= 0) ::close(fd);
  }
};

class S2sResolverDns : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::access(kDnsmasq, X_OK) != 0) return;
    for (int attempt = 0; attempt < 3 && pid_ <= 0; ++attempt) start_dnsmasq();
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  void SetUp() override {
    if (::access(kDnsmasq, X_OK) != 0) GTEST_SKIP() << kDnsmasq << " not installed (dnsmasq-base)";
    ASSERT_GT(pid_, 0) << "dnsmasq did not start or answer";
    resolver_ = std::make_unique<Resolver>(options());
  }

  static Resolver::Options options(std::chrono::milliseconds timeout = 3000ms) {
    Resolver::Options o;
    o.servers = {"127.0.0.1:" + std::to_string(port_)};
    o.timeout = timeout;
    return o;
  }

  static void start_dnsmasq() {
    uint16_t port = UdpHole().port;  // free now; dnsmasq binds it right after
    std::vector<std::string> args = {
        kDnsmasq,
        "--no-daemon",
        "--port=" + std::to_string(port),
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "--conf-file=/dev/null",
        "--pid-file=",
        "--local=/test/",  // NXDOMAIN for the rest of .test
        // a.test: two targets, two priorities.
        "--srv-host=_xmpp-server._tcp.a.test,srv1.a.test,5270,10,5",
        "--srv-host=_xmpp-server._tcp.a.test,srv2.a.test,5271,20,5",
        "--host-record=srv1.a.test,127.0.0.5",
        "--host-record=srv2.a.test,127.0.0.7",
        // tls.test: direct TLS at a better priority than STARTTLS.
        "--srv-host=_xmpps-server._tcp.tls.test,srv3.tls.test,5223,5,0",
        "--srv-host=_xmpp-server._tcp.tls.test,srv1.a.test,5270,10,0",
        "--host-record=srv3.tls.test,127.0.0.8",
        // b.test: no SRV, an A record.
        "--host-record=b.test,127.0.0.6",
        // dual.test: AAAA and A.
        "--host-record=dual.test,127.0.0.9,::9",
        // dot.test: "." — decidedly not offered, although the domain has an address.
        "--srv-host=_xmpp-server._tcp.dot.test",
        "--host-record=dot.test,127.0.0.10",
        // gone.test: SRV to a target without addresses.
        "--srv-host=_xmpp-server._tcp.gone.test,nowhere.gone.test,5269,0,0",
    };
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return;
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test run leaves no dnsmasq behind
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    port_ = port;
    // Ready when it answers; bounded.
    Resolver probe(options(200ms));
    auto until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid) break;  // exited (port taken?)
      auto r = wait_for([&](Resolver::Done d) { probe.resolve_host("b.test", 1, false, d); });
      if (r.error.empty()) return;
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid_ = -1;
  }

  static inline pid_t pid_ = -1;
  static inline uint16_t port_ = 0;
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(S2sResolverDns, SrvPrioritiesInOrder) {
  auto r = resolve(*resolver_, "a.test");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(strs(r.endpoints), (std::vector<std::string>{"127.0.0.5:5270", "127.0.0.7:5271"}));
  ASSERT_EQ(r.endpoints.size(), 2u);
  EXPECT_EQ(r.endpoints[0].host, "srv1.a.test");
  EXPECT_EQ(r.endpoints[1].host, "srv2.a.test");
  EXPECT_NE(r.thread, std::this_thread::get_id());
}

TEST_F(S2sResolverDns, XmppsServerIsDirectTls) {
  auto r = resolve(*resolver_, "tls.test");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(strs(r.endpoints), (std::vector<std::string>{"127.0.0.8:5223 tls", "127.0.0.5:5270"}));
}

TEST_F(S2sResolverDns, NoSrvFallsBackToTheDomain) {
  auto r = resolve(*resolver_, "b.test");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(strs(r.endpoints), (std::vector<std::string>{"127.0.0.6:5269"}));
  ASSERT_EQ(r.endpoints.size(), 1u);
  EXPECT_EQ(r.endpoints[0].host, "b.test");
  // A trailing dot is the same domain.
  EXPECT_EQ(strs(resolve(*resolver_, "b.test.").endpoints), strs(r.endpoints));
}

TEST_F(S2sResolverDns, AaaaThenA) {
  auto r = resolve(*resolver_, "dual.test");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(strs(r.endpoints), (std::vector<std::string>{"[::9]:5269", "127.0.0.9:5269"}));
}

TEST_F(S2sResolverDns, NxdomainIsAnError) {
  auto r = resolve(*resolver_, "nx.test");
  EXPECT_TRUE(r.endpoints.empty());
  EXPECT_NE(r.error, "");
  EXPECT_NE(r.error.find("nx.test"), std::string::npos) << r.error;
}

TEST_F(S2sResolverDns, SrvTargetWithoutAddressIsAnError) {
  auto r = resolve(*resolver_, "gone.test");
  EXPECT_TRUE(r.endpoints.empty());
  EXPECT_NE(r.error.find("nowhere.gone.test"), std::string::npos) << r.error;
}

TEST_F(S2sResolverDns, DotTargetIsNotOffered) {
  auto r = resolve(*resolver_, "dot.test");
  EXPECT_TRUE(r.endpoints.empty());
  EXPECT_EQ(r.error, "service not offered");
}

TEST_F(S2sResolverDns, ResolveHost) {
  auto literal = wait_for(
      [&](Resolver::Done d) { resolver_->resolve_host("127.0.0.3", 5269, false, std::move(d)); });
  EXPECT_EQ(literal.error, "");
  EXPECT_EQ(strs(literal.endpoints), (std::vector<std::string>{"127.0.0.3:5269"}));
  EXPECT_NE(literal.thread, std::this_thread::get_id());

  auto v6 = wait_for(
      [&](Resolver::Done d) { resolver_->resolve_host("[::1]", 5270, true, std::move(d)); });
  EXPECT_EQ(strs(v6.endpoints), (std::vector<std::string>{"[::1]:5270 tls"}));

  auto name = wait_for(
      [&](Resolver::Done d) { resolver_->resolve_host("dual.test", 5270, false, std::move(d)); });
  EXPECT_EQ(name.error, "");
  EXPECT_EQ(strs(name.endpoints), (std::vector<std::string>{"[::9]:5270", "127.0.0.9:5270"}));
  ASSERT_FALSE(name.endpoints.empty());
  EXPECT_EQ(name.endpoints[0].host, "dual.test");

  auto missing = wait_for(
      [&](Resolver::Done d) { resolver_->resolve_host("nx.test", 5270, false, std::move(d)); });
  EXPECT_TRUE(missing.endpoints.empty());
  EXPECT_NE(missing.error, "");
}

TEST_F(S2sResolverDns, ManyConcurrentLookups) {
  std::vector<std::future<Result>> results;
  std::vector<std::shared_ptr<std::promise<Result>>> promises;
  const std::vector<std::string> domains = {"a.test", "b.test", "nx.test", "dual.test"};
  for (int i = 0; i < 40; ++i) {
    auto p = std::make_shared<std::promise<Result>>();
    results.push_back(p->get_future());
    resolver_->resolve(domains[i % domains.size()], [p](auto endpoints, auto error) {
      p->set_value({std::move(endpoints), std::move(error), std::this_thread::get_id()});
    });
  }
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_EQ(results[i].wait_for(10s), std::future_status::ready);
    auto r = results[i].get();
    EXPECT_EQ(r.endpoints.empty(), domains[i % domains.size()] == "nx.test") << r.error;
    EXPECT_EQ(r.endpoints.empty(), !r.error.empty());
  }
}

TEST(S2sResolverTimeout, ServerThatNeverAnswers) {
  UdpHole hole;
  ASSERT_NE(hole.port, 0);
  Resolver::Options o;
  o.servers = {"127.0.0.1:" + std::to_string(hole.port)};
  o.timeout = 400ms;
  Resolver resolver(o);
  auto start = std::chrono::steady_clock::now();
  auto r = resolve(resolver, "a.test");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.endpoints.empty());
  EXPECT_NE(r.error, "");
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 2s) << "bound was 400 ms";
}

TEST(S2sResolverTimeout, BadServerAddressThrows) {
  Resolver::Options o;
  o.servers = {"not an address"};
  EXPECT_THROW(Resolver{o}, std::runtime_error);
}

TEST(S2sResolverShutdown, PendingLookupsGetAnError) {
  UdpHole hole;
  ASSERT_NE(hole.port, 0);
  Resolver::Options o;
  o.servers = {"127.0.0.1:" + std::to_string(hole.port)};
  o.timeout = 30s;
  std::vector<std::future<Result>> results;
  auto add = [&] {
    auto p = std::make_shared<std::promise<Result>>();
    results.push_back(p->get_future());
    return [p](std::vector<Endpoint> endpoints, std::string error) {
      p->set_value({std::move(endpoints), std::move(error), std::this_thread::get_id()});
    };
  };
  {
    Resolver resolver(o);
    resolver.resolve("a.test", add());
    resolver.resolve_host("peer.test", 5269, false, add());
    resolver.resolve("b.test", add());
    // Requests start in order and an IP literal finishes at once: once it has, the lookups
    // above are waiting on the silent server.
    auto literal = wait_for(
        [&](Resolver::Done d) { resolver.resolve_host("127.0.0.1", 1, false, std::move(d)); });
    EXPECT_EQ(literal.error, "");
    // These may still be queued when the destructor runs; they must be failed too.
    resolver.resolve("c.test", add());
    resolver.resolve_host("peer.test", 5269, false, add());
  }
  for (auto& f : results) {
    ASSERT_EQ(f.wait_for(0s), std::future_status::ready) << "callback not run by ~Resolver";
    auto r = f.get();
    EXPECT_TRUE(r.endpoints.empty());
    EXPECT_EQ(r.error, "resolver stopped");
  }
}

TEST(S2sResolverShutdown, CallbackMayStartAnotherLookup) {
  Resolver::Options o;
  o.servers = {"127.0.0.1:1"};
  Resolver resolver(o);
  auto second = std::make_shared<std::promise<Result>>();
  auto future = second->get_future();
  resolver.resolve_host("127.0.0.2", 5269, false, [&resolver, second](auto, auto) {
    resolver.resolve_host("::1", 5269, false, [second](auto endpoints, auto error) {
      second->set_value({std::move(endpoints), std::move(error), std::this_thread::get_id()});
    });
  });
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(strs(future.get().endpoints), (std::vector<std::string>{"[::1]:5269"}));
}

}  // namespace
}  // namespace parley::s2s
