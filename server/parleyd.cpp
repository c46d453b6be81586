// parleyd: the Parley XMPP server daemon.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "core/config.h"
#include "core/log.h"
#include "core/server.h"

#ifdef PARLEY_JEMALLOC
// jemalloc's defaults, read at its start (the MALLOC_CONF environment variable still wins):
// a background thread returns freed pages to the kernel within about a second even while the
// server is idle, instead of after 10 s and only when something allocates.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
#endif

namespace {

void usage(std::ostream& out) {
  out << "usage: parleyd [-c FILE] [--check-config] [--version]\n"
         "  -c, --config FILE   configuration (default: $PARLEY_CONFIG, /etc/parley/parley.yaml,\n"
         "                      or conf/parley.yaml)\n"
         "  --check-config      validate the configuration and exit\n";
}

std::string default_config() {
  if (const char* env = std::getenv("PARLEY_CONFIG")) return env;
  if (std::filesystem::exists("/etc/parley/parley.yaml")) return "/etc/parley/parley.yaml";
  return "conf/parley.yaml";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = default_config();
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--check-config") {
      check_only = true;
    } else if (a == "--version") {
      std::cout << "parleyd " << PARLEY_VERSION << '\n';
      return 0;
    } else if (a == "-h" || a == "--help") {
      usage(std::cout);
      return 0;
    } else {
      usage(std::cerr);
      return 2;
    }
  }

  parley::Config config;
  try {
    config = parley::load_config(config_path);
  } catch (const std::exception& e) {
    std::cerr << config_path << ": " << e.what() << '\n';
    return 1;
  }
  if (check_only) {
    std::cout << config_path << ": ok\n";
    return 0;
  }

  std::signal(SIGPIPE, SIG_IGN);
  try {
    parley::Server server(std::move(config));
    server.start();
    boost::asio::signal_set signals(server.io(), SIGTERM, SIGINT, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int sig) {
          if (ec) return;
          if (sig == SIGHUP) {
            PLOG(Info, "server") << "SIGHUP: reopening logs and reloading certificates";
            parley::log::reopen();
            server.reload_tls();
            signals.async_wait(on_signal);
          } else {
            server.stop();
          }
        };
    signals.async_wait(on_signal);
    server.run();
    PLOG(Info, "server") << "stopped";
  } catch (const std::exception& e) {
    PLOG(Error, "server") << e.what();
    return 1;
  }
  return 0;
}
