// Where a remote domain accepts server-to-server streams (RFC 6120 §3.2): SRV records for
// _xmpps-server._tcp (direct TLS, XEP-0368) and _xmpp-server._tcp (STARTTLS), ordered as RFC 2782
// says, each target's AAAA and A records, and the fallback to the domain itself on port 5269
// when neither SRV name exists (RFC 6120 §3.2.2). Also plain host lookups for static routes.
// DNS runs on c-ares in one thread the Resolver owns, never on an I/O thread (DESIGN §2).
// Thread-safe: resolve() and resolve_host() may be called from any thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace parley::s2s {

struct SrvRecord {
  std::string target;
  uint16_t port = 0;
  uint16_t priority = 0;
  uint16_t weight = 0;
  bool direct_tls = false;  // from _xmpps-server
};

// One place to connect to, in the order to try (RFC 6120 §3.2.1, XEP-0368).
struct Endpoint {
  boost::asio::ip::tcp::endpoint address;
  std::string host;  // SRV target or the domain
  bool direct_tls = false;
};

// RFC 2782 ordering of the merged records of both services: ascending priority, weighted random
// within a priority (weight 0 records still appear, most likely last). A target of "." (which
// c-ares hands over as "") means the service is decidedly not available: such records are
// dropped, and when nothing else is left the result is empty and `*not_offered` is set.
std::vector<SrvRecord> order_srv(std::vector<SrvRecord> records, std::mt19937& rng,
                                 bool* not_offered = nullptr);

class Resolver {
 public:
  struct Options {
    std::vector<std::string> servers;  // "ip" or "ip:port" ("[ip6]:port"); empty = resolv.conf
    std::chrono::milliseconds timeout{5000};  // whole lookup bound
  };

  // Throws std::runtime_error when c-ares cannot start or a server address is malformed.
  explicit Resolver(Options options);
  // Stops the resolver thread; pending lookups get the error "resolver stopped". Must not be
  // called from a callback.
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // `error` is non-empty exactly when `endpoints` is empty.
  using Done = std::function<void(std::vector<Endpoint> endpoints, std::string error)>;

  // Finds where `domain` (an A-label / ASCII domain, already normalized) accepts s2s streams:
  // both SRV names queried concurrently, ordered with order_srv, each target's addresses (IPv6
  // first, then IPv4); with no SRV records at all, the domain itself on 5269 (STARTTLS). Only
  // "." records: error "service not offered". `done` runs exactly once, on the resolver's
  // thread (callers post to their strand), at the latest after Options::timeout.
  void resolve(std::string domain, Done done);
  // A static route (s2s.routes): an IP literal ("127.0.0.3", "::1", "[::1]") needs no DNS, a
  // host name gets its AAAA and A records. Same callback contract as resolve().
  void resolve_host(std::string host, uint16_t port, bool direct_tls, Done done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::s2s
