#include "harness.h"

#include "../common/test_ca.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace parley::it {

namespace {

std::mutex g_live_mutex;
std::vector<const ServerProcess*> g_live;

// The inside of a YAML double-quoted scalar.
std::string yaml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// fork + exec with stdin from /dev/null, stdout/stderr to `out_fd`. The child dies with us
// (PR_SET_PDEATHSIG) so a crashed test run never leaves a server behind.
pid_t spawn(const std::vector<std::string>& argv, int out_fd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out_fd, 1);
    ::dup2(out_fd, 2);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

// Waits for `pid` up to `bound`; returns the waitpid status, or nullopt if still running.
std::optional<int> wait_bounded(pid_t pid, std::chrono::milliseconds bound) {
  auto end = Clock::now() + bound;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return 0;
    if (Clock::now() > end) return std::nullopt;
    std::this_thread::sleep_for(10ms);  // polling a child's exit, bounded above
  }
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

bool port_accepts(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

bool poll_until(const std::function<bool()>& cond, std::chrono::milliseconds bound) {
  auto end = Clock::now() + bound;
  while (!cond()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(50ms);  // re-ask; the bound decides failure
  }
  return true;
}

std::string bin_dir() {
  return env_or("PARLEY_BIN_DIR", "build/bin");
}
std::string source_dir() {
  return env_or("PARLEY_SOURCE_DIR", ".");
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "parley-it-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (std::getenv("PARLEY_IT_KEEP")) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("bind to a free port failed");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

void make_certificate(const std::string& domain, const std::string& cert_path,
                      const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw std::runtime_error("EC key generation failed");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x),
                   static_cast<long>(std::hash<std::string>{}(domain)&0x7fffffff));
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 7 * 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(domain.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  std::string san = "DNS:" + domain;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(x, key, EVP_sha256());

  FILE* f = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds bound) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  pid_t pid = spawn(argv, fds[1]);
  ::close(fds[1]);
  CommandResult r;
  auto end = Clock::now() + bound;
  char buf[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    r.output.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  auto status = wait_bounded(
      pid, std::max<std::chrono::milliseconds>(
               std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()), 100ms));
  if (!status) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    r.output += "\n[killed: exceeded its time bound]";
    r.exit_code = -1;
    return r;
  }
  r.exit_code = decode_status(*status);
  return r;
}

ServerProcess::ServerProcess(ServerOptions options) : options_(std::move(options)) {
  config_path_ = dir_.path() + "/parley.yaml";
  log_path_ = dir_.path() + "/parleyd.log";
  std::lock_guard lock(g_live_mutex);
  g_live.push_back(this);
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::lock_guard lock(g_live_mutex);
  g_live.erase(std::remove(g_live.begin(), g_live.end(), this), g_live.end());
}

std::vector<const ServerProcess*> ServerProcess::live() {
  std::lock_guard lock(g_live_mutex);
  return g_live;
}

std::string ServerProcess::cert_path(const std::string& domain) const {
  return dir_.path() + "/" + domain + ".crt";
}

void ServerProcess::write_config() {
  if (c2s_port_ == 0) {  // a restart keeps its ports
    c2s_port_ = free_port();
    do tls_port_ = free_port();
    while (tls_port_ == c2s_port_);
  }
  if (!options_.s2s_address.empty() && s2s_port_ == 0)
    s2s_port_ = options_.s2s_port ? options_.s2s_port : free_port();
  const std::vector<std::string> hosts =
      options_.hosts.empty() ? std::vector<std::string>{kHost, kHost2} : options_.hosts;
  for (const auto& d : hosts) {
    std::string key = dir_.path() + "/" + d + ".key";
    if (options_.ca_cert.empty())
      make_certificate(d, cert_path(d), key);
    else {  // names the host and its services (groups.<host>, ...)
      parley::testca::TestCa ca{options_.ca_cert, options_.ca_key};
      parley::testca::CertSpec spec;
      spec.dns_ids = {d, "*." + d};
      parley::testca::make_cert(dir_.path(), d, spec, &ca);
    }
  }

  std::ostringstream y;
  y << "# Written by the integration test harness.\n"
       "hosts:\n";
  for (const auto& d : hosts)
    y << "  - domain: " << d << "\n    certificate: " << d << ".crt\n    private_key: " << d
      << ".key\n";
  y << "certificate: " << hosts.front() << ".crt\nprivate_key: " << hosts.front() << ".key\n"
    << "data_dir: data\n"
    << "listeners:\n"
    << "  - { type: c2s, address: \"127.0.0.1\", port: " << c2s_port_ << " }\n"
    << "  - { type: c2s_direct_tls, address: \"127.0.0.1\", port: " << tls_port_ << " }\n";
  if (s2s_port_)
    y << "  - { type: s2s, address: \"" << options_.s2s_address << "\", port: " << s2s_port_
      << " }\n";
  if (options_.s2s_direct_tls_port)
    y << "  - { type: s2s_direct_tls, address: \"" << options_.s2s_address
      << "\", port: " << options_.s2s_direct_tls_port << " }\n";
  y << "s2s:\n";
  if (options_.s2s.empty()) y << "  dns_servers: [\"127.0.0.1:" << free_port() << "\"]\n";
  for (const auto& line : options_.s2s) y << "  " << line << "\n";
  y << (options_.postgresql.empty()
            ? std::string("storage:\n  backend: sqlite\n  workers: 2\n")
            : "storage:\n  backend: postgresql\n  workers: 2\n  postgresql: \"" +
                  yaml_escape(options_.postgresql) + "\"\n")
    << "log:\n  level: " << options_.log_level << "\n"
    << "threads: 2\n";
  if (!options_.c2s.empty()) {
    y << "c2s:\n";
    for (const auto& [k, v] : options_.c2s) y << "  " << k << ": " << v << "\n";
  }
  y << "modules:\n";
  for (const auto& m : options_.modules) y << "  - " << m << "\n";
  auto loaded = [&](const char* m) {
    return std::find(options_.modules.begin(), options_.modules.end(), m) != options_.modules.end();
  };
  std::ostringstream modules_config;
  if (loaded("register"))
    modules_config << "  register:\n    allow_registration: "
                   << (options_.allow_registration ? "true" : "false") << "\n";
  for (const auto& [module, keys] : options_.module_options) {
    modules_config << "  " << module << ":\n";
    for (const auto& [k, v] : keys) modules_config << "    " << k << ": " << v << "\n";
  }
  if (!modules_config.str().empty()) y << "modules_config:\n" << modules_config.str();
  std::ofstream(config_path_) << y.str();
}

bool ServerProcess::start() {
  write_config();
  for (const auto& [jid, pw] :
       accounts_created_ ? decltype(options_.accounts){} : options_.accounts) {
    if (!add_user(jid, pw)) {
      error_ = "parleyctl adduser " + jid + " failed";
      return false;
    }
  }
  accounts_created_ = true;
  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  pid_ = spawn({bin_dir() + "/parleyd", "-c", config_path_}, log_fd);
  ::close(log_fd);
  // Readiness: the c2s port accepts TCP (bounded; a server that never listens fails here).
  auto end = Clock::now() + 20s;
  while (Clock::now() < end) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "parleyd exited during start-up (status " + std::to_string(decode_status(status)) +
               ")\n" + log();
      return false;
    }
    if (port_accepts(c2s_port_)) return true;
    std::this_thread::sleep_for(50ms);
  }
  error_ = "parleyd did not accept connections on port " + std::to_string(c2s_port_) +
           " within 20 s\n" + log();
  return false;
}

void ServerProcess::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int ServerProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto status = wait_bounded(pid_, 20s);
  int code;
  if (!status) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    code = -1;
  } else {
    code = decode_status(*status);
  }
  pid_ = -1;
  return code;
}

std::string ServerProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult ServerProcess::ctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {bin_dir() + "/parleyctl", "-c", config_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

bool ServerProcess::add_user(const std::string& jid, const std::string& password) const {
  auto r = ctl({"adduser", jid, "--password", password});
  if (r.exit_code != 0)
    std::fprintf(stderr, "parleyctl adduser %s: %s\n", jid.c_str(), r.output.c_str());
  return r.exit_code == 0;
}

std::vector<std::string> ServerProcess::sessions() const {
  auto r = ctl({"sessions"});
  std::vector<std::string> out;
  std::istringstream in(r.output);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.find(' ');
    if (!line.empty()) out.push_back(line.substr(0, sp));
  }
  return out;
}

CommandResult run_slixmpp(const ServerProcess& server, const std::string& script,
                          const std::vector<std::string>& args, const std::string& password,
                          std::chrono::milliseconds bound) {
  // -B: no __pycache__ written into the source tree.
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   "-B",
                                   source_dir() + "/tests/integration/slixmpp/" + script,
                                   "--port",
                                   std::to_string(server.c2s_port()),
                                   "--password",
                                   password};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, bound);
}

CommandResult check_config(const std::string& dir, const std::string& yaml) {
  std::string path = dir + "/check.yaml";
  std::ofstream(path) << yaml;
  return run_command({bin_dir() + "/parleyd", "-c", path, "--check-config"});
}

}  // namespace parley::it
