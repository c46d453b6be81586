#include "core/control.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <filesystem>
#include <sstream>

#include "core/log.h"
#include "core/metrics.h"
#include "core/module_host.h"
#include "core/server.h"
#include "jid/jid.h"
#include "router/stanza_events.h"

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

namespace parley {

std::string control_socket_path(const Config& config) {
  if (!config.control_socket.empty()) return config.control_socket;
  return (std::filesystem::path(config.data_dir) / "parleyd.sock").string();
}

struct ControlSocket::Impl {
  explicit Impl(asio::io_context& io) : acceptor(io) {}
  local::acceptor acceptor;
};

ControlSocket::ControlSocket(Server& server)
    : server_(server),
      path_(control_socket_path(server.config())),
      impl_(std::make_unique<Impl>(server.io())) {}

ControlSocket::~ControlSocket() {
  stop();
}

void ControlSocket::start() {
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  ::unlink(path_.c_str());  // a stale socket from a previous run
  impl_->acceptor.open(local());
  impl_->acceptor.bind(local::endpoint(path_));
  ::chmod(path_.c_str(), 0600);
  impl_->acceptor.listen();
  auto accept = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = accept;
  *accept = [this, weak] {
    impl_->acceptor.async_accept([this, weak](boost::system::error_code ec, local::socket sock) {
      if (ec) return;  // closed
      auto s = std::make_shared<local::socket>(std::move(sock));
      auto buf = std::make_shared<asio::streambuf>(4096);
      asio::async_read_until(*s, *buf, '\n', [this, s, buf](boost::system::error_code ec, size_t) {
        if (ec) return;
        std::istream in(buf.get());
        std::string line;
        std::getline(in, line);
        auto reply = std::make_shared<std::string>(execute(line));
        asio::async_write(*s, asio::buffer(*reply), [s, reply](boost::system::error_code, size_t) {
          boost::system::error_code ignored;
          s->shutdown(local::socket::shutdown_both, ignored);
        });
      });
      if (auto again = weak.lock()) (*again)();
    });
  };
  accept_loop_ = accept;
  (*accept)();
}

void ControlSocket::stop() {
  if (impl_->acceptor.is_open()) {
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    ::unlink(path_.c_str());
  }
  accept_loop_.reset();
}

std::string ControlSocket::execute(const std::string& line) {
  std::istringstream in(line);
  std::string command, arg;
  in >> command >> arg;
  std::ostringstream out;
  if (command == "status") {
    auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now() - server_.started_at());
    out << "running\nversion " << PARLEY_VERSION << "\nuptime " << uptime.count() << "s\nsessions "
        << server_.sessions().size() << "\nmodules";
    for (const auto& m : server_.modules().names()) out << ' ' << m;
    out << '\n';
  } else if (command == "sessions") {
    for (const auto& s : server_.sessions().all())
      out << s->jid().str() << ' ' << s->remote_address() << (s->available ? " available" : "")
          << " priority=" << s->priority.load()
          << (s->detached ? " detached" : "")  // waiting for XEP-0198 resumption
          << '\n';
  } else if (command == "kick") {
    auto jid = Jid::parse(arg);
    if (!jid) return "error: invalid JID\n";
    int n = 0;
    auto targets = jid->is_bare() ? server_.sessions().resources(*jid)
                                  : std::vector<SessionPtr>{server_.sessions().find(*jid)};
    for (const auto& s : targets)
      if (s) {
        s->close("policy-violation", "Disconnected by the administrator");
        ++n;
      }
    PLOG(Info, "control") << "kicked " << n << " session(s) of " << jid->str();
    out << "kicked " << n << '\n';
  } else if (command == "account-deleted") {
    // parleyctl deluser removed the account from storage: let modules drop their state and
    // end its sessions.
    auto jid = Jid::parse(arg);
    if (!jid) return "error: invalid JID\n";
    AccountDeleted event{server_, jid->bare()};
    server_.hooks().fire(event);
    for (const auto& s : server_.sessions().resources(jid->bare()))
      s->close("not-authorized", "Account deleted");
    out << "ok\n";
  } else if (command == "metrics") {
    out << server_.metrics().prometheus();
  } else {
    return "error: unknown command '" + command +
           "' (status, sessions, kick <jid>, account-deleted <jid>, metrics)\n";
  }
  return out.str();
}

}  // namespace parley
