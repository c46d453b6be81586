// Integration test harness: a real parleyd on loopback with a throwaway data directory, two
// virtual hosts with their own self-signed ECDSA P-256 certificates, and accounts created with
// parleyctl. Deadlines here are failure bounds (a broken server must not hang the suite), never
// the thing a test asserts.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace parley::it {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// How long a test waits for an event before it counts as a failure. Generous: the suite also
// runs under AddressSanitizer on a loaded 2-core machine.
inline constexpr std::chrono::milliseconds kEventBound = 10s;

inline Clock::time_point deadline(std::chrono::milliseconds d = kEventBound) {
  return Clock::now() + d;
}

// Polls `cond` until it holds or the bound passes (for state only visible by asking, like
// `parleyctl sessions`). Returns whether it held.
bool poll_until(const std::function<bool()>& cond, std::chrono::milliseconds bound = kEventBound);

std::string bin_dir();     // $PARLEY_BIN_DIR
std::string source_dir();  // $PARLEY_SOURCE_DIR

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A loopback TCP port nobody listens on right now.
uint16_t free_port();

// Writes a self-signed ECDSA P-256 certificate for `domain` (CN and SAN dNSName) and its key.
void make_certificate(const std::string& domain, const std::string& cert_path,
                      const std::string& key_path);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs a program (argv[0] is a path), bounded; kills it past the bound.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds bound = 30s);

inline const std::string kHost = "localhost";
inline const std::string kHost2 = "example.test";

struct ServerOptions {
  // Accounts to create before start: bare JID -> password.
  std::vector<std::pair<std::string, std::string>> accounts;
  // Extra keys under "c2s:" (e.g. {"auth_timeout", "1s"}).
  std::map<std::string, std::string> c2s;
  std::vector<std::string> modules = {"disco", "ping",    "version",  "time", "last",
                                      "vcard", "private", "register", "mam"};
  bool allow_registration = false;
  // Keys under "modules_config: <module>:" for any module, e.g. {{"offline", {{"max_messages",
  // "3"}}}}. Values are written as given (YAML).
  std::map<std::string, std::map<std::string, std::string>> module_options;
  std::string log_level = "info";
  // A libpq connection string: the server stores everything in PostgreSQL instead of SQLite
  // (see storage::testing::TestDatabase for a fresh schema per test).
  std::string postgresql;

  // Federation. The virtual hosts (default kHost and kHost2); certificates signed by the CA
  // whose PEM certificate and key are given (default: self-signed, which no peer trusts); an
  // s2s listener on s2s_address:s2s_port (port 0 = a free one) when the address is set; lines
  // written under "s2s:" (e.g. "allow_dialback: false"). Without federation lines the server
  // resolves through a closed local port, so lookups fail at once instead of timing out.
  std::vector<std::string> hosts;
  std::string ca_cert, ca_key;
  std::string s2s_address;
  uint16_t s2s_port = 0;
  uint16_t s2s_direct_tls_port = 0;  // another s2s listener, TLS from the first byte (XEP-0368)
  std::vector<std::string> s2s;
};

class ServerProcess {
 public:
  explicit ServerProcess(ServerOptions options = {});
  ~ServerProcess();  // kills a still-running server and removes the temp dir
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Writes the config, creates the accounts and starts parleyd; returns once the c2s port
  // accepts connections. Returns false (with the reason in error()) when it does not come up.
  bool start();
  // SIGTERM, wait (bounded) for exit. Returns the exit status (0 = clean), -1 if it had to be
  // killed, or the negated signal number if a signal ended it.
  int stop();
  // SIGKILL: the process dies at once, in the middle of whatever it was doing (crash tests).
  // start() afterwards brings it back on the same data directory and ports.
  void kill_now();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  uint16_t c2s_port() const { return c2s_port_; }
  uint16_t direct_tls_port() const { return tls_port_; }
  uint16_t s2s_port() const { return s2s_port_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& dir() const { return dir_.path(); }
  std::string cert_path(const std::string& domain) const;
  const std::string& error() const { return error_; }
  std::string log() const;  // what parleyd wrote to stderr
  // The modules the next start() loads: a restart on the same data with a module added (a
  // module that takes over data another one kept).
  void set_modules(std::vector<std::string> modules) { options_.modules = std::move(modules); }

  CommandResult ctl(const std::vector<std::string>& args) const;  // parleyctl -c CONF args...
  bool add_user(const std::string& jid, const std::string& password) const;
  // JIDs `parleyctl sessions` lists right now.
  std::vector<std::string> sessions() const;

  // Every live ServerProcess, so a failing test can print their logs.
  static std::vector<const ServerProcess*> live();

 private:
  void write_config();

  ServerOptions options_;
  TempDir dir_;
  std::string config_path_;
  std::string log_path_;
  uint16_t c2s_port_ = 0;
  uint16_t tls_port_ = 0;
  uint16_t s2s_port_ = 0;
  pid_t pid_ = -1;
  bool accounts_created_ = false;  // a restart keeps the data directory and its accounts
  std::string error_;
};

// Runs tests/integration/slixmpp/<script> with Debian's python3 and slixmpp against `server`
// (adds --port and --password; `args` come after). The script exits 0 when all its checks
// held; its output says what it saw.
class ServerProcess;
CommandResult run_slixmpp(const ServerProcess& server, const std::string& script,
                          const std::vector<std::string>& args, const std::string& password,
                          std::chrono::milliseconds bound = 60s);

// Writes `yaml` as a config file and runs `parleyd --check-config` on it.
CommandResult check_config(const std::string& dir, const std::string& yaml);

}  // namespace parley::it
