// parleyctl: the administration tool. Account commands work on the database directly (the
// server need not run); session commands talk to the running parleyd over its control socket.
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/control.h"
#include "jid/jid.h"
#include "sasl/credentials.h"
#include "storage/account_store.h"
#include "storage/database.h"
#include "storage/migrations.h"

namespace {

using namespace parley;

void usage(std::ostream& out) {
  out << "usage: parleyctl [-c FILE] COMMAND [ARGS]\n"
         "accounts (work whether or not parleyd runs):\n"
         "  adduser JID [--password PW | --random]   create an account (asks for a password)\n"
         "  passwd JID [--password PW | --random]    change a password\n"
         "  deluser JID                              delete an account and all its data\n"
         "  users [DOMAIN]                           list accounts\n"
         "  db migrate                               apply pending schema migrations\n"
         "running server:\n"
         "  status                                   is parleyd running; uptime, sessions\n"
         "  sessions                                 list connected sessions\n"
         "  kick JID                                 disconnect a session (full JID) or all of\n"
         "                                           an account's sessions (bare JID)\n"
         "  metrics                                  counters in Prometheus text format\n";
}

std::string default_config() {
  if (const char* env = std::getenv("PARLEY_CONFIG")) return env;
  if (std::filesystem::exists("/etc/parley/parley.yaml")) return "/etc/parley/parley.yaml";
  return "conf/parley.yaml";
}

// Sends one command to parleyd; nullopt when it is not running.
std::optional<std::string> control(const Config& config, const std::string& line) {
  std::string path = control_socket_path(config);
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ::close(fd);
    return std::nullopt;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  std::string msg = line + "\n";
  if (::write(fd, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) {
    ::close(fd);
    return std::nullopt;
  }
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) reply.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return reply;
}

std::string random_password() {
  static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  std::string out;
  for (unsigned char b : bytes) out += alphabet[b % (sizeof alphabet - 1)];
  return out;
}

std::string read_password() {
  bool tty = ::isatty(STDIN_FILENO);
  termios old{};
  if (tty) {
    std::cerr << "Password: " << std::flush;
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string pw;
  std::getline(std::cin, pw);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << '\n';
  }
  return pw;
}

// Resolves --password / --random / prompt. Returns the prepared password and whether to print it.
std::optional<std::pair<std::string, bool>> password_arg(const std::vector<std::string>& args,
                                                         size_t from) {
  std::string pw;
  bool print = false;
  if (args.size() > from + 1 && args[from] == "--password") {
    pw = args[from + 1];
  } else if (args.size() > from && args[from] == "--random") {
    pw = random_password();
    print = true;
  } else {
    pw = read_password();
  }
  auto prepared = sasl::prep_password(pw);
  if (!prepared || prepared->empty()) {
    std::cerr << "error: the password is empty or contains characters that are not allowed\n";
    return std::nullopt;
  }
  return std::make_pair(*prepared, print);
}

std::optional<Jid> account_jid(const Config& config, const std::string& text) {
  auto jid = Jid::parse(text);
  if (!jid || !jid->has_local() || jid->has_resource()) {
    std::cerr << "error: '" << text << "' is not an account JID (user@domain)\n";
    return std::nullopt;
  }
  if (!config.is_local(jid->domain())) {
    std::cerr << "error: " << jid->domain() << " is not a host of this server\n";
    return std::nullopt;
  }
  return jid;
}

int run(const Config& config, const std::vector<std::string>& args) {
  const std::string& cmd = args[0];
  if (cmd == "status" || cmd == "sessions" || cmd == "metrics" || cmd == "kick") {
    std::string line = cmd;
    if (cmd == "kick") {
      if (args.size() != 2) return usage(std::cerr), 2;
      line += " " + args[1];
    }
    auto reply = control(config, line);
    if (!reply) {
      std::cout << "parleyd is not running (no control socket at " << control_socket_path(config)
                << ")\n";
      return cmd == "status" ? 3 : 1;
    }
    std::cout << *reply;
    return reply->rfind("error:", 0) == 0 ? 1 : 0;
  }

  auto db = storage::connect(config.database);
  storage::AccountStore accounts(*db);
  if (cmd == "db" && args.size() == 2 && args[1] == "migrate") {
    std::cout << "schema at version " << storage::schema_version(*db) << '\n';
    return 0;
  }
  if ((cmd == "adduser" || cmd == "passwd") && args.size() >= 2) {
    auto jid = account_jid(config, args[1]);
    if (!jid) return 1;
    auto pw = password_arg(args, 2);
    if (!pw) return 1;
    auto creds = sasl::derive(pw->first, config.c2s.scram_iterations);
    if (cmd == "adduser") {
      if (!accounts.create(*jid, creds)) {
        std::cerr << "error: " << jid->str() << " already exists\n";
        return 1;
      }
      std::cout << "created " << jid->str() << '\n';
    } else {
      if (!accounts.set_credentials(*jid, creds)) {
        std::cerr << "error: no account " << jid->str() << '\n';
        return 1;
      }
      std::cout << "password changed for " << jid->str() << '\n';
    }
    if (pw->second) std::cout << "password: " << pw->first << '\n';
    return 0;
  }
  if (cmd == "deluser" && args.size() == 2) {
    auto jid = account_jid(config, args[1]);
    if (!jid) return 1;
    if (!accounts.remove(*jid)) {
      std::cerr << "error: no account " << jid->str() << '\n';
      return 1;
    }
    control(config, "account-deleted " + jid->str());  // ends its sessions if parleyd runs
    std::cout << "deleted " << jid->str() << '\n';
    return 0;
  }
  if (cmd == "users") {
    for (const auto& host : config.hosts) {
      if (args.size() == 2 && args[1] != host.domain) continue;
      for (const auto& u : accounts.list(host.domain)) std::cout << u << '@' << host.domain << '\n';
    }
    return 0;
  }
  usage(std::cerr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = default_config();
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc)
      config_path = argv[++i];
    else if (a == "-h" || a == "--help")
      return usage(std::cout), 0;
    else
      args.push_back(a);
  }
  if (args.empty()) return usage(std::cerr), 2;
  try {
    auto config = parley::load_config(config_path);
    return run(config, args);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
