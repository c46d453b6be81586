// Listening sockets (DESIGN §8, RFC 6120 §3, XEP-0368): one acceptor per configured listener,
// type c2s (plain TCP + STARTTLS, default port 5222) or c2s_direct_tls (TLS from the first
// byte, ALPN "xmpp-client", default port 5223), each accepted socket becoming a ClientSession;
// or s2s (5269) / s2s_direct_tls (5270), whose sockets go to federation (s2s/s2s.h).
// Asio stays out of this header (pimpl).
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace parley {

class Server;

class Listeners {
 public:
  explicit Listeners(Server& server);
  ~Listeners();
  Listeners(const Listeners&) = delete;
  Listeners& operator=(const Listeners&) = delete;

  // Binds every configured listener and starts accepting. Throws std::runtime_error naming
  // address:port on failure (port in use, bad address).
  void start();
  // Closes the acceptors; live connections continue.
  void stop_accepting();
  // Sends a stream error with `condition` (e.g. "system-shutdown") to every live connection,
  // bound or not, and closes them.
  void close_all(std::string_view condition);
  // Live client connections (negotiating or bound).
  size_t connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace parley
