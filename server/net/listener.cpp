#include "net/listener.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cerrno>
#include <stdexcept>
#include <vector>

#include "c2s/session.h"
#include "c2s/shared.h"
#include "core/log.h"
#include "core/server.h"
#include "s2s/s2s.h"

namespace parley {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Running out of descriptors or memory: accepting again at once would spin; wait a little.
bool is_resource_exhaustion(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec.value() == ENFILE;
}

}  // namespace

struct Listeners::Impl : std::enable_shared_from_this<Impl> {
  struct Acceptor {
    Acceptor(asio::io_context& io, bool tls, bool federation, std::string n)
        : strand(asio::make_strand(io)),
          acceptor(strand),
          backoff(strand),
          direct_tls(tls),
          s2s(federation),
          name(std::move(n)) {}
    asio::strand<asio::io_context::executor_type> strand;
    tcp::acceptor acceptor;
    asio::steady_timer backoff;
    bool direct_tls;
    bool s2s;          // server-to-server (federation) rather than clients
    std::string name;  // "[::]:5222 (c2s)" for logs
    bool stopped = false;
  };

  explicit Impl(Server& s) : server(s), shared(std::make_shared<c2s::Shared>(s)) {}

  void accept(Acceptor& a) {
    if (a.stopped) return;
    a.acceptor.async_accept(
        asio::make_strand(server.io()),
        [self = shared_from_this(), &a](const boost::system::error_code& ec, tcp::socket socket) {
          if (a.stopped || ec == asio::error::operation_aborted) return;
          if (ec) {
            if (is_resource_exhaustion(ec)) {
              PLOG(Warn, "net") << a.name << ": accept failed (" << ec.message()
                                << "), pausing 100ms";
              a.backoff.expires_after(std::chrono::milliseconds(100));
              a.backoff.async_wait([self, &a](const boost::system::error_code& e) {
                if (!e) self->accept(a);
              });
              return;
            }
            // Per-connection failures (the peer reset before we took it, ...) are routine.
            PLOG(Debug, "net") << a.name << ": accept failed: " << ec.message();
            self->accept(a);
            return;
          }
          try {
            if (a.s2s) {
              if (auto* federation = self->server.s2s())
                federation->accept(std::move(socket), a.direct_tls);
              self->accept(a);
              return;
            }
            auto session =
                std::make_shared<c2s::ClientSession>(self->shared, std::move(socket), a.direct_tls);
            session->start();
          } catch (const std::exception& e) {
            PLOG(Error, "net") << a.name << ": cannot start a session: " << e.what();
          }
          self->accept(a);
        });
  }

  Server& server;
  std::shared_ptr<c2s::Shared> shared;
  std::vector<std::unique_ptr<Acceptor>> acceptors;
};

Listeners::Listeners(Server& server) : impl_(std::make_shared<Impl>(server)) {}

Listeners::~Listeners() {
  stop_accepting();
}

void Listeners::start() {
  const auto& config = impl_->server.config();
  for (const auto& l : config.listeners) {
    bool direct_tls = l.type == "c2s_direct_tls" || l.type == "s2s_direct_tls";  // XEP-0368
    bool federation = l.type == "s2s" || l.type == "s2s_direct_tls";
    if (federation && !impl_->server.s2s()) {
      PLOG(Warn, "net") << "s2s.enabled is false: not listening on " << l.address << " port "
                        << l.port << " (" << l.type << ")";
      continue;
    }
    std::string where =
        (l.address.find(':') != std::string::npos ? "[" + l.address + "]" : l.address) + ":" +
        std::to_string(l.port);
    auto a = std::make_unique<Impl::Acceptor>(impl_->server.io(), direct_tls, federation,
                                              where + " (" + l.type + ")");
    boost::system::error_code ec;
    auto address = asio::ip::make_address(l.address, ec);
    if (ec) throw std::runtime_error("listener " + where + ": bad address: " + ec.message());
    tcp::endpoint endpoint(address, l.port);
    a->acceptor.open(endpoint.protocol(), ec);
    if (!ec) a->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    // "::" serves IPv4 too (dual stack), whatever the system's bindv6only default is.
    if (!ec && address.is_v6() && address.is_unspecified())
      a->acceptor.set_option(asio::ip::v6_only(false), ec);
    if (!ec) a->acceptor.bind(endpoint, ec);
    if (!ec) a->acceptor.listen(tcp::socket::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    PLOG(Info, "net") << "listening on " << a->name;
    impl_->acceptors.push_back(std::move(a));
  }
  if (impl_->acceptors.empty()) {
    PLOG(Warn, "net") << "no client listeners configured";
  }
  for (auto& a : impl_->acceptors) {
    Impl::Acceptor& ref = *a;
    asio::dispatch(ref.strand, [impl = impl_, &ref] { impl->accept(ref); });
  }
}

void Listeners::stop_accepting() {
  if (!impl_) return;
  for (auto& a : impl_->acceptors) {
    Impl::Acceptor& ref = *a;
    // The acceptor is not thread-safe: close it on its strand.
    asio::dispatch(ref.strand, [impl = impl_, &ref] {
      if (ref.stopped) return;
      ref.stopped = true;
      boost::system::error_code ec;
      ref.acceptor.close(ec);
      ref.backoff.cancel();
    });
  }
}

void Listeners::close_all(std::string_view condition) {
  for (const auto& session : impl_->shared->live()) session->close(condition);
}

size_t Listeners::connections() const {
  return impl_->shared->size();
}

}  // namespace parley
