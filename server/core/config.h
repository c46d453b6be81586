// Configuration (DESIGN §7): YAML, validated once into typed structs. Errors name the key path
// ("c2s.max_stanza_bytes: expected an integer") and unknown keys suggest the closest known one.
// yaml-cpp stays out of this header: module configs read a ConfigSection.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/database.h"

namespace parley {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A read-only view of one mapping in the configuration, with typed getters that record every
// key read, so finish() can reject unknown keys. Getters throw ConfigError naming the path.
class ConfigSection {
 public:
  ConfigSection();  // an empty section (all defaults)
  ~ConfigSection();
  ConfigSection(const ConfigSection&);
  ConfigSection& operator=(const ConfigSection&);

  const std::string& path() const;  // e.g. "modules.register"
  bool has(const std::string& key) const;
  std::string string(const std::string& key, const std::string& fallback) const;
  int64_t integer(const std::string& key, int64_t fallback, int64_t min = INT64_MIN,
                  int64_t max = INT64_MAX) const;
  bool boolean(const std::string& key, bool fallback) const;
  // "30s", "5m", "2h", "7d", "250ms" or a plain number of seconds.
  std::chrono::milliseconds duration(const std::string& key,
                                     std::chrono::milliseconds fallback) const;
  // "256KiB", "10MiB" or a plain number of bytes.
  uint64_t bytes(const std::string& key, uint64_t fallback) const;
  std::vector<std::string> strings(const std::string& key) const;  // a list (or one string)
  // A value out of a fixed set, e.g. one_of("on_conflict", "replace", {"replace", "reject"}).
  std::string one_of(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& allowed) const;
  ConfigSection section(const std::string& key) const;                // empty when absent
  std::vector<ConfigSection> sections(const std::string& key) const;  // a list of mappings
  std::map<std::string, std::string> string_map(const std::string& key) const;
  // Throws if the section holds a key no getter asked for ("did you mean ...?").
  void finish() const;

  struct Impl;
  explicit ConfigSection(std::shared_ptr<Impl> impl);

 private:
  std::shared_ptr<Impl> impl_;
};

// Closest candidate by edit distance, for "did you mean" messages; empty when none is close.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

struct VirtualHost {
  std::string domain;
  std::string certificate;  // PEM chain; empty = the global one
  std::string private_key;
};

struct ListenerConfig {
  // c2s (STARTTLS) or c2s_direct_tls (XEP-0368); s2s (STARTTLS, 5269) or s2s_direct_tls
  // (XEP-0368, 5270) for federation.
  std::string type = "c2s";
  std::string address = "::";
  uint16_t port = 5222;
};

struct C2sConfig {
  bool require_tls = true;
  uint64_t max_stanza_bytes = 256 * 1024;
  std::chrono::milliseconds auth_timeout{30'000};  // to finish SASL after connecting
  // Dead connections: a client that sent nothing (whitespace counts) for ping_interval is
  // asked for a sign of life (an XEP-0198 <r/>, or an XEP-0199 ping); silence for
  // ping_timeout after that means the connection is gone.
  std::chrono::milliseconds ping_interval{120'000};
  std::chrono::milliseconds ping_timeout{30'000};
  // A session quiet this long frees its XML parser state (~10 KB) until its next byte: most
  // of a messenger's connections are idle most of the time.
  std::chrono::milliseconds compact_after{10'000};
  // XEP-0198 stream management: offered at all; how long a session whose connection was lost
  // waits for the client to resume it; how many unacknowledged stanzas a session may hold.
  bool stream_management = true;
  std::chrono::milliseconds resume_timeout{300'000};
  unsigned max_unacked_stanzas = 1000;
  uint64_t max_send_queue_bytes = 1024 * 1024;
  std::string on_conflict = "replace";     // resource conflict: replace | reject
  std::vector<std::string> mechanisms;     // empty = all supported
  unsigned scram_iterations = 4096;        // for newly stored credentials
  unsigned auth_failures_per_ip = 10;      // per window before throttling
  unsigned auth_failures_per_account = 5;  // per window before throttling
  std::chrono::milliseconds auth_failure_window{60'000};
};

// Federation (RFC 6120 server-to-server streams, XEP-0220 dialback, XEP-0178 SASL EXTERNAL).
struct S2sConfig {
  bool enabled = true;
  // Streams without TLS are refused both ways; dialback on a stream without TLS only with
  // allow_plaintext_dialback (never on the open network: anyone on the path can read and forge).
  bool require_encryption = true;
  bool allow_plaintext_dialback = false;
  // Peers whose certificate does not verify may still authenticate with dialback (XEP-0220),
  // as most of the federated network does; false = certificate authentication only.
  bool allow_dialback = true;
  // XEP-0288: one connection carries both directions when the peer offers it and its
  // certificate proves its domain.
  bool bidi = true;
  std::vector<std::string> ca_files;  // trusted in addition to the system store
  bool system_trust = true;           // /etc/ssl/certs
  // Static routes, "domain" -> "host:port" (or "tls://host:port" for direct TLS): no DNS.
  std::map<std::string, std::string> routes;
  std::vector<std::string> dns_servers;  // "ip[:port]"; empty = /etc/resolv.conf
  std::vector<std::string> blocked_domains;
  std::chrono::milliseconds connect_timeout{10'000};  // DNS, TCP, TLS and authentication
  std::chrono::milliseconds idle_timeout{600'000};    // a link nothing crosses is closed
  uint64_t max_stanza_bytes = 256 * 1024;
  uint64_t max_queue_bytes = 4 * 1024 * 1024;  // per link, waiting to be written
  unsigned max_queued_stanzas = 1000;          // per link, while it is being set up
  unsigned max_incoming_per_domain = 10;       // incoming streams one remote domain may hold
};

struct Config {
  std::string source_path;  // the file it came from
  std::vector<VirtualHost> hosts;
  std::string certificate;  // default PEM chain for hosts without their own
  std::string private_key;
  std::vector<ListenerConfig> listeners;
  std::string data_dir = "data";
  storage::DatabaseConfig database;
  std::string log_level = "info";
  std::string log_file;     // empty = stderr
  unsigned threads = 0;     // 0 = one per core
  std::string modules_dir;  // empty = <bin>/../lib/parley/modules
  std::vector<std::string> modules;
  std::map<std::string, ConfigSection> module_config;  // "modules_config.<name>" sections
  std::vector<std::string> admins;                     // bare JIDs
  std::string control_socket;                          // empty = <data_dir>/parleyd.sock
  C2sConfig c2s;
  S2sConfig s2s;

  bool is_local(std::string_view domain) const;
  const VirtualHost* host(std::string_view domain) const;
};

// Loads and validates; throws ConfigError with a path-named message. Relative paths in the
// file (data_dir, certificates) are resolved against the file's directory.
Config load_config(const std::string& path);
Config parse_config(const std::string& yaml_text, const std::string& base_dir = ".");

}  // namespace parley
