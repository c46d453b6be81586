#include "core/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <thread>
#include <unordered_map>

#include "c2s/auth_throttle.h"
#include "core/control.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/module_host.h"
#include "im/im.h"
#include "net/listener.h"
#include "net/tls.h"
#include "router/router.h"
#include "s2s/s2s.h"
#include "storage/database.h"

namespace asio = boost::asio;

namespace parley {

struct Server::Impl {
  // A server that runs one I/O thread tells Asio so: handlers it posts from that thread then
  // go to a thread-private queue, with no lock and no wake-up of the reactor (an epoll_ctl).
  Impl(Server& server, unsigned threads)
      : io(threads == 1 ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT),
        work(asio::make_work_guard(io)),
        router(server),
        modules(server) {}

  struct PendingIq {
    std::string to;  // the entity we asked: the response must come from it
    std::function<void(const xml::Element*)> callback;
    std::shared_ptr<asio::steady_timer> timer;
  };

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  Router router;
  Metrics metrics;
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<TlsContexts> tls;
  std::unique_ptr<AuthThrottle> throttle;
  std::unique_ptr<Im> im;
  ModuleHost modules;
  std::unique_ptr<s2s::S2s> s2s;
  std::unique_ptr<Listeners> listeners;
  std::unique_ptr<ControlSocket> control;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};

  std::mutex iq_mutex;
  std::unordered_map<std::string, PendingIq> pending_iqs;
  std::atomic<uint64_t> next_iq_id{1};
};

Server::Server(Config config)
    : config_(std::move(config)),
      started_at_(std::chrono::system_clock::now()),
      impl_(std::make_unique<Impl>(*this, io_threads())) {
  impl_->throttle = std::make_unique<AuthThrottle>(config_.c2s);
}

Server::~Server() {
  // Modules hold registrations into the registries owned here: unload them first, once the
  // storage work that may call back into them has run.
  if (impl_->db) impl_->db->settle();
  impl_->modules.unload_all();
  impl_->im.reset();
  if (impl_->db) impl_->db->drain();
}

asio::io_context& Server::io() {
  return impl_->io;
}
Router& Server::router() {
  return impl_->router;
}
storage::Database& Server::db() {
  return *impl_->db;
}
Metrics& Server::metrics() {
  return impl_->metrics;
}
ModuleHost& Server::modules() {
  return impl_->modules;
}
TlsContexts& Server::tls() {
  return *impl_->tls;
}
AuthThrottle& Server::auth_throttle() {
  return *impl_->throttle;
}
s2s::S2s* Server::s2s() {
  return impl_->s2s.get();
}

bool Server::is_admin(const Jid& jid) const {
  auto bare = jid.bare_str();
  return std::any_of(config_.admins.begin(), config_.admins.end(),
                     [&](const std::string& a) { return a == bare; });
}

void Server::start() {
  if (auto level = log::parse_level(config_.log_level)) log::set_level(*level);
  if (!config_.log_file.empty() && !log::set_file(config_.log_file))
    throw std::runtime_error("log.file: cannot open " + config_.log_file);

  impl_->db = storage::Database::open(config_.database, &impl_->metrics);
  impl_->tls = std::make_unique<TlsContexts>(config_);
  impl_->im = std::make_unique<Im>(*this);
  impl_->modules.load_all(config_.modules);
  if (config_.s2s.enabled) {
    impl_->s2s = std::make_unique<s2s::S2s>(*this);
    impl_->s2s->start();
  }
  impl_->listeners = std::make_unique<Listeners>(*this);
  impl_->listeners->start();
  impl_->control = std::make_unique<ControlSocket>(*this);
  impl_->control->start();

  std::string hosts;
  for (const auto& h : config_.hosts) hosts += (hosts.empty() ? "" : ", ") + h.domain;
  PLOG(Info, "server") << "Parley " << PARLEY_VERSION << " serving " << hosts << " with "
                       << impl_->modules.names().size() << " modules";
}

unsigned Server::io_threads() const {
  return config_.threads ? config_.threads : std::max(1u, std::thread::hardware_concurrency());
}

void Server::run() {
  unsigned n = io_threads();
  for (unsigned i = 1; i < n; ++i) impl_->threads.emplace_back([this] { impl_->io.run(); });
  impl_->io.run();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

void Server::stop() {
  if (impl_->stopping.exchange(true)) return;
  asio::post(impl_->io, [this] {
    PLOG(Info, "server") << "shutting down";
    if (impl_->control) impl_->control->stop();
    if (impl_->listeners) impl_->listeners->stop_accepting();
    // Modules say goodbye first (ServerStopping): the clients are closed once the last copy of
    // `hold` is gone, or after a bound if a module keeps one.
    auto once = std::make_shared<std::atomic<bool>>(false);
    auto bound = std::make_shared<asio::steady_timer>(impl_->io, std::chrono::seconds(2));
    auto close = [this, once, bound] {
      if (once->exchange(true)) return;
      bound->cancel();
      asio::post(impl_->io, [this] { close_clients(); });
    };
    std::shared_ptr<const void> hold(nullptr, [close](const void*) { close(); });
    bound->async_wait([close](const boost::system::error_code& ec) {
      if (ec != asio::error::operation_aborted) close();
    });
    ServerStopping event{*this, std::move(hold)};
    try {
      hooks_.fire(event);
    } catch (const std::exception& e) {
      PLOG(Error, "server") << "a shutdown handler failed: " << e.what();
    }
  });
}

void Server::close_clients() {
  if (impl_->listeners) impl_->listeners->close_all("system-shutdown");
  if (impl_->s2s) impl_->s2s->close_all("system-shutdown");
  // Wait (bounded) for sessions to say goodbye so their SessionClosed work reaches storage.
  auto timer = std::make_shared<asio::steady_timer>(impl_->io);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto poll = std::make_shared<std::function<void()>>();
  *poll = [this, timer, deadline, poll] {
    bool done =
        (!impl_->listeners || impl_->listeners->connections() == 0) &&
        (!impl_->s2s || (impl_->s2s->incoming_links() == 0 && impl_->s2s->outgoing_links() == 0));
    if (done || std::chrono::steady_clock::now() >= deadline) {
      // Storage work still queued (offline storage of what sessions left unacknowledged)
      // runs while the modules it calls back into are loaded; then they go, then storage.
      if (impl_->db) impl_->db->settle();
      impl_->modules.unload_all();
      if (impl_->db) impl_->db->drain();
      impl_->work.reset();
      impl_->io.stop();
      *poll = nullptr;  // break the self-reference
      return;
    }
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait([poll](const boost::system::error_code&) {
      if (*poll) (*poll)();
    });
  };
  (*poll)();
}

void Server::reload_tls() {
  asio::post(impl_->io, [this] {
    if (impl_->tls) impl_->tls->reload();
    if (impl_->s2s) impl_->s2s->reload_tls();
  });
}

void Server::send_iq(xml::Element iq, std::chrono::milliseconds timeout,
                     std::function<void(const xml::Element*)> callback) {
  std::string id = "parley-" + std::to_string(impl_->next_iq_id++);
  iq.set("id", id);
  auto timer = std::make_shared<asio::steady_timer>(impl_->io, timeout);
  {
    std::lock_guard lock(impl_->iq_mutex);
    impl_->pending_iqs[id] = {std::string(iq.get("to")), std::move(callback), timer};
  }
  timer->async_wait([this, id](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the response arrived
    std::function<void(const xml::Element*)> cb;
    {
      std::lock_guard lock(impl_->iq_mutex);
      auto it = impl_->pending_iqs.find(id);
      if (it == impl_->pending_iqs.end()) return;
      cb = std::move(it->second.callback);
      impl_->pending_iqs.erase(it);
    }
    cb(nullptr);
  });
  impl_->router.route(std::move(iq));
}

bool Server::take_iq_response(const xml::Element& response) {
  auto type = response.get("type");
  if (type != "result" && type != "error") return false;
  std::function<void(const xml::Element*)> cb;
  {
    std::lock_guard lock(impl_->iq_mutex);
    auto it = impl_->pending_iqs.find(std::string(response.get("id")));
    // Only the entity we asked may answer (a client cannot cancel another's ping).
    if (it == impl_->pending_iqs.end() || it->second.to != response.get("from")) return false;
    cb = std::move(it->second.callback);
    it->second.timer->cancel();
    impl_->pending_iqs.erase(it);
  }
  cb(&response);
  return true;
}

Registration Server::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(impl_->io, delay);
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) fn();
  });
  return Registration([timer] { timer->cancel(); });
}

Registration Server::every(std::chrono::milliseconds period, std::function<void()> fn) {
  struct Repeat {
    asio::steady_timer timer;
    std::function<void()> fn;
    std::chrono::milliseconds period;
    bool cancelled = false;
  };
  auto r = std::make_shared<Repeat>(Repeat{asio::steady_timer(impl_->io), std::move(fn), period});
  auto arm = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak_arm = arm;
  *arm = [r, weak_arm] {
    r->timer.expires_after(r->period);
    r->timer.async_wait([r, weak_arm](const boost::system::error_code& ec) {
      if (ec || r->cancelled) return;
      r->fn();
      if (auto again = weak_arm.lock()) (*again)();
    });
  };
  (*arm)();
  // The registration owns the re-arm closure; dropping it stops the cycle.
  return Registration([r, arm] {
    r->cancelled = true;
    r->timer.cancel();
  });
}

}  // namespace parley
