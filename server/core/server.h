// The server: owns the io_context, the registries and the module host, and is the handle every
// part (and every module, through ModuleContext) reaches the rest by.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/events.h"
#include "core/features.h"
#include "router/components.h"
#include "router/iq.h"
#include "router/registry.h"

namespace boost::asio {
class io_context;
}

namespace parley {

namespace storage {
class Database;
}
class Router;
class ModuleHost;
class Metrics;
class Listeners;
class TlsContexts;
class AuthThrottle;
namespace s2s {
class S2s;
}

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens storage, loads modules, binds listeners. Throws on failure (bad certificate, port in
  // use, unknown module). Then run() blocks until stop() (SIGTERM) finished a graceful shutdown.
  void start();
  void run();
  void stop();        // thread-safe: system-shutdown to clients, storage drained
  void reload_tls();  // SIGHUP: reread certificates

  boost::asio::io_context& io();
  unsigned io_threads() const;  // config threads, or one per core
  const Config& config() const { return config_; }
  Hooks& hooks() { return hooks_; }
  IqRouter& iq() { return iq_; }
  Features& features() { return features_; }
  Components& components() { return components_; }
  SessionRegistry& sessions() { return sessions_; }
  Router& router();
  storage::Database& db();
  Metrics& metrics();
  ModuleHost& modules();
  TlsContexts& tls();
  AuthThrottle& auth_throttle();
  // Federation (server/s2s/); null when s2s.enabled is false.
  s2s::S2s* s2s();
  std::chrono::system_clock::time_point started_at() const { return started_at_; }
  bool is_local(std::string_view domain) const { return config_.is_local(domain); }
  bool is_admin(const Jid& jid) const;

  // A server-originated IQ get/set (e.g. a ping to a client). The callback runs once with the
  // response, or with nullptr on timeout. `iq` must have to/from set; an id is assigned.
  void send_iq(xml::Element iq, std::chrono::milliseconds timeout,
               std::function<void(const xml::Element* response)> callback);
  // Called by the router for every IQ result/error addressed to the server itself; true if it
  // answered a pending send_iq.
  bool take_iq_response(const xml::Element& response);

  // Runs fn after `delay` on the io_context; returns a registration that cancels it.
  [[nodiscard]] Registration after(std::chrono::milliseconds delay, std::function<void()> fn);
  [[nodiscard]] Registration every(std::chrono::milliseconds period, std::function<void()> fn);

 private:
  void close_clients();  // stop(), once the modules said goodbye (ServerStopping)
  struct Impl;
  Config config_;
  Hooks hooks_;
  IqRouter iq_;
  Features features_;
  Components components_;
  SessionRegistry sessions_;
  std::chrono::system_clock::time_point started_at_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley
