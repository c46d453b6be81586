// Configuration loading (DESIGN §7): yaml-cpp is confined to this file. Every value is read
// through a ConfigSection getter, which records the key; finish() then turns any key nobody
// asked for into an error with a "did you mean" hint, so a typo never silently becomes a default.
#include "core/config.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "jid/jid.h"
#include "sasl/mechanism.h"

namespace parley {

struct ConfigSection::Impl {
  YAML::Node node;  // a mapping, or null for an absent section
  std::string path;
  std::set<std::string> asked;  // every key a getter looked for, present or not
};

namespace {

std::string child_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

[[noreturn]] void fail_at(const std::string& path, const std::string& message) {
  throw ConfigError(path + ": " + message);
}

bool present(const YAML::Node& n) {
  return n.IsDefined() && !n.IsNull();
}

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// Digits only: no sign, no hex, no exponent; nullopt on overflow.
std::optional<uint64_t> parse_unsigned(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Splits "256KiB" / "30 s" into number and unit.
std::optional<std::pair<uint64_t, std::string>> number_and_unit(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  auto n = parse_unsigned(std::string_view(s).substr(0, i));
  if (!n) return std::nullopt;
  size_t u = i < s.size() && s[i] == ' ' ? i + 1 : i;
  return std::make_pair(*n, s.substr(u));
}

std::string resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty()) return p;
  std::filesystem::path path(p);
  if (path.is_absolute()) return p;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

ConfigSection make_section(YAML::Node node, std::string path) {
  auto impl = std::make_shared<ConfigSection::Impl>();
  impl->node = std::move(node);
  impl->path = std::move(path);
  return ConfigSection(std::move(impl));
}

}  // namespace

ConfigSection::ConfigSection() : impl_(std::make_shared<Impl>()) {}
ConfigSection::~ConfigSection() = default;
// Copies share the record of keys read, so a module may parse through one copy and the host
// call finish() on another.
ConfigSection::ConfigSection(const ConfigSection&) = default;
ConfigSection& ConfigSection::operator=(const ConfigSection&) = default;
ConfigSection::ConfigSection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

const std::string& ConfigSection::path() const {
  return impl_->path;
}

namespace {
// Looks a key up and remembers that someone asked for it.
YAML::Node lookup(ConfigSection::Impl& impl, const std::string& key) {
  impl.asked.insert(key);
  const YAML::Node& node = impl.node;  // const access: never inserts
  if (!node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  return node[key];
}

std::string scalar(const YAML::Node& v, const std::string& path, const std::string& what) {
  if (!v.IsScalar()) fail_at(path, "expected " + what);
  return v.Scalar();
}
}  // namespace

bool ConfigSection::has(const std::string& key) const {
  return present(lookup(*impl_, key));
}

std::string ConfigSection::string(const std::string& key, const std::string& fallback) const {
  YAML::Node v = lookup(*impl_, key);
  if (!present(v)) return fallback;
  return scalar(v, child_path(path(), key), "a string");
}

int64_t ConfigSection::integer(const std::string& key, int64_t fallback, int64_t min,
                               int64_t max) const {
  YAML::Node v = lookup(*impl_, key);
  if (!present(v)) return fallback;
  const std::string p = child_path(path(), key);
  std::string s = scalar(v, p, "an integer");
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size())
    fail_at(p, "expected an integer, got '" + s + "'");
  if (n < min || n > max)
    fail_at(p, "expected an integer between " + std::to_string(min) + " and " +
                   std::to_string(max) + ", got " + s);
  return n;
}

bool ConfigSection::boolean(const std::string& key, bool fallback) const {
  YAML::Node v = lookup(*impl_, key);
  if (!present(v)) return fallback;
  const std::string p = child_path(path(), key);
  std::string s = lower(scalar(v, p, "true or false"));
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  fail_at(p, "expected true or false, got '" + v.Scalar() + "'");
}

std::chrono::milliseconds ConfigSection::duration(const std::string& key,
                                                  std::chrono::milliseconds fallback) const {
  YAML::Node v = lookup(*impl_, key);
  if (!present(v)) return fallback;
  const std::string p = child_path(path(), key);
  const std::string msg = "expected a duration like 30s, 5m, 2h, 7d or 250ms";
  std::string s = scalar(v, p, msg);
  auto nu = number_and_unit(s);
  if (!nu) fail_at(p, msg + ", got '" + s + "'");
  static const std::pair<const char*, uint64_t> units[] = {
      {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  for (auto [unit, factor] : units) {
    if (nu->second != unit) continue;
    // Ten years is far beyond any sensible timeout and far below overflow.
    if (nu->first > 315'360'000'000ull / factor) fail_at(p, "duration too large: " + s);
    return std::chrono::milliseconds(static_cast<int64_t>(nu->first * factor));
  }
  fail_at(p, msg + ", got '" + s + "'");
}

uint64_t ConfigSection::bytes(const std::string& key, uint64_t fallback) const {
  YAML::Node v = lookup(*impl_, key);
  if (!present(v)) return fallback;
  const std::string p = child_path(path(), key);
  const std::string msg = "expected a size like 256KiB";
  std::string s = scalar(v, p, msg);
  auto nu = number_and_unit(s);
  if (!nu) fail_at(p, msg + ", got '" + s + "'");
  static const std::pair<const char*, uint64_t> units[] = {{"", 1},
                                                           {"B", 1},
                                                           {"KiB", 1ull << 10},
                                                           {"MiB", 1ull << 20},
                                                           {"GiB", 1ull << 30},
                                                           {"TiB", 1ull << 40}};
  for (auto [unit, factor] : units) {
    if (nu->second != unit) continue;
    if (nu->first > UINT64_MAX / factor) fail_at(p, "size too large: " + s);
    return nu->first * factor;
  }
  fail_at(p, msg + ", got '" + s + "'");
}

std::vector<std::string> ConfigSection::strings(const std::string& key) const {
  YAML::Node v = lookup(*impl_, key);
  std::vector<std::string> out;
  if (!present(v)) return out;
  const std::string p = child_path(path(), key);
  if (v.IsScalar()) return {v.Scalar()};
  if (!v.IsSequence()) fail_at(p, "expected a list of strings");
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(scalar(v[i], p + "[" + std::to_string(i) + "]", "a string"));
  return out;
}

std::string ConfigSection::one_of(const std::string& key, const std::string& fallback,
                                  const std::vector<std::string>& allowed) const {
  std::string s = string(key, fallback);
  if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) return s;
  std::string msg = "expected one of " + join(allowed) + ", got '" + s + "'";
  if (auto near = closest(s, allowed); !near.empty()) msg += " (did you mean '" + near + "'?)";
  fail_at(child_path(path(), key), msg);
}

ConfigSection ConfigSection::section(const std::string& key) const {
  YAML::Node v = lookup(*impl_, key);
  const std::string p = child_path(path(), key);
  if (!present(v)) return make_section(YAML::Node(), p);
  if (!v.IsMap()) fail_at(p, "expected a mapping");
  return make_section(v, p);
}

std::vector<ConfigSection> ConfigSection::sections(const std::string& key) const {
  YAML::Node v = lookup(*impl_, key);
  std::vector<ConfigSection> out;
  if (!present(v)) return out;
  const std::string p = child_path(path(), key);
  if (!v.IsSequence()) fail_at(p, "expected a list of mappings");
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string item = p + "[" + std::to_string(i) + "]";
    if (!v[i].IsMap()) fail_at(item, "expected a mapping");
    out.push_back(make_section(v[i], item));
  }
  return out;
}

std::map<std::string, std::string> ConfigSection::string_map(const std::string& key) const {
  YAML::Node v = lookup(*impl_, key);
  std::map<std::string, std::string> out;
  if (!present(v)) return out;
  const std::string p = child_path(path(), key);
  if (!v.IsMap()) fail_at(p, "expected a mapping of strings");
  for (const auto& kv : v) {
    std::string k = scalar(kv.first, p, "string keys");
    out[k] = present(kv.second) ? scalar(kv.second, child_path(p, k), "a string") : "";
  }
  return out;
}

void ConfigSection::finish() const {
  if (!impl_->node.IsMap()) return;
  std::vector<std::string> candidates(impl_->asked.begin(), impl_->asked.end());
  std::string errors;
  for (const auto& kv : impl_->node) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (impl_->asked.count(key)) continue;
    std::string msg = child_path(path(), key) + ": unknown key";
    if (auto near = closest(key, candidates); !near.empty())
      msg += " (did you mean '" + near + "'?)";
    errors += (errors.empty() ? "" : "; ") + msg;
  }
  if (!errors.empty()) throw ConfigError(errors);
}

// Levenshtein distance, case-insensitive; close enough = at most a third of the word (at least
// two edits allowed), and never a complete rewrite. Failing that, a candidate the word abbreviates.
std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string w = lower(word);
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const auto& candidate : candidates) {
    const std::string c = lower(candidate);
    std::vector<size_t> row(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= w.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= c.size(); ++j) {
        size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (w[i - 1] == c[j - 1] ? 0 : 1)});
        diagonal = above;
      }
    }
    if (row[c.size()] < best_distance) {
      best_distance = row[c.size()];
      best = candidate;
    }
  }
  const size_t limit = std::max<size_t>(2, w.size() / 3);
  if (!best.empty() && best_distance <= limit && best_distance < std::max(w.size(), best.size()))
    return best;
  // An abbreviation ("cert" for "certificate") is far in edits but obvious to a reader.
  if (w.size() >= 3)
    for (const auto& candidate : candidates)
      if (lower(candidate).rfind(w, 0) == 0) return candidate;
  return {};
}

bool Config::is_local(std::string_view domain) const {
  return host(domain) != nullptr;
}

const VirtualHost* Config::host(std::string_view domain) const {
  for (const auto& h : hosts)
    if (h.domain == domain) return &h;
  return nullptr;
}

namespace {

std::string domain_or_fail(const std::string& raw, const std::string& path) {
  auto d = Jid::prep_domain(lower(raw));
  if (raw.empty() || !d) fail_at(path, "invalid domain '" + raw + "'");
  return *d;
}

// hosts: a list of domains or {domain, certificate, private_key} mappings.
void parse_hosts(ConfigSection::Impl& top, Config& c, const std::string& base_dir) {
  YAML::Node given = lookup(top, "hosts");
  if (!present(given)) fail_at("hosts", "at least one host is required");
  // Copy-construct, never assign: assigning a yaml-cpp Node overwrites the node it refers to.
  YAML::Node v = given.IsScalar() ? YAML::Node(std::vector<std::string>{given.Scalar()}) : given;
  if (!v.IsSequence() || v.size() == 0) fail_at("hosts", "expected a list of domains");
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = "hosts[" + std::to_string(i) + "]";
    VirtualHost h;
    if (v[i].IsScalar()) {
      h.domain = domain_or_fail(v[i].Scalar(), p);
    } else if (v[i].IsMap()) {
      ConfigSection item = make_section(v[i], p);
      if (!item.has("domain")) fail_at(p + ".domain", "required");
      h.domain = domain_or_fail(item.string("domain", ""), p + ".domain");
      h.certificate = resolve(base_dir, item.string("certificate", ""));
      // One PEM file may hold both the chain and the key.
      h.private_key = resolve(base_dir, item.string("private_key", h.certificate));
      item.finish();
    } else {
      fail_at(p, "expected a domain or a mapping with a domain");
    }
    if (c.host(h.domain)) fail_at(p, "duplicate host '" + h.domain + "'");
    c.hosts.push_back(std::move(h));
  }
}

void parse_listeners(const ConfigSection& top, Config& c) {
  if (!top.has("listeners")) {
    c.listeners = {ListenerConfig{"c2s", "::", 5222}, ListenerConfig{"c2s_direct_tls", "::", 5223}};
    return;
  }
  auto items = top.sections("listeners");
  if (items.empty()) fail_at("listeners", "at least one listener is required");
  for (const auto& item : items) {
    ListenerConfig l;
    l.type = item.one_of("type", "c2s", {"c2s", "c2s_direct_tls", "s2s", "s2s_direct_tls"});
    l.address = item.string("address", "::");
    unsigned char buf[16];
    if (inet_pton(AF_INET6, l.address.c_str(), buf) != 1 &&
        inet_pton(AF_INET, l.address.c_str(), buf) != 1)
      fail_at(item.path() + ".address", "expected an IP address, got '" + l.address + "'");
    uint16_t default_port = l.type == "c2s_direct_tls"   ? 5223
                            : l.type == "s2s"            ? 5269
                            : l.type == "s2s_direct_tls" ? 5270
                                                         : 5222;
    l.port = static_cast<uint16_t>(item.integer("port", default_port, 1, 65535));
    item.finish();
    for (const auto& other : c.listeners)
      if (other.address == l.address && other.port == l.port)
        fail_at(item.path(),
                "another listener already uses " + l.address + " port " + std::to_string(l.port));
    c.listeners.push_back(std::move(l));
  }
}

void parse_storage(const ConfigSection& top, Config& c, const std::string& base_dir) {
  ConfigSection s = top.section("storage");
  std::string backend = s.one_of("backend", "sqlite", {"sqlite", "postgresql"});
  c.database.backend =
      backend == "postgresql" ? storage::Backend::PostgreSQL : storage::Backend::SQLite;
  std::string sqlite = s.string("sqlite_path", "");
  c.database.sqlite_path = sqlite.empty()
                               ? (std::filesystem::path(c.data_dir) / "parley.db").string()
                               : resolve(base_dir, sqlite);
  c.database.postgresql = s.string("postgresql", "");
  if (c.database.backend == storage::Backend::PostgreSQL && c.database.postgresql.empty())
    fail_at("storage.postgresql",
            "a connection string (e.g. \"host=/run/postgresql dbname=parley\") is required "
            "when backend is postgresql");
  c.database.workers = static_cast<unsigned>(s.integer("workers", 2, 1, 256));
  s.finish();
}

// Module names become file names (lib<name>.so): keep them to a safe alphabet.
bool module_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char ch : n)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
      return false;
  return true;
}

void parse_modules(ConfigSection::Impl& top_impl, const ConfigSection& top, Config& c) {
  c.modules = top.strings("modules");
  for (size_t i = 0; i < c.modules.size(); ++i) {
    const std::string p = "modules[" + std::to_string(i) + "]";
    if (!module_name(c.modules[i])) fail_at(p, "invalid module name '" + c.modules[i] + "'");
    if (std::find(c.modules.begin(), c.modules.begin() + i, c.modules[i]) != c.modules.begin() + i)
      fail_at(p, "module '" + c.modules[i] + "' is listed twice");
  }
  YAML::Node mc = lookup(top_impl, "modules_config");
  if (present(mc)) {
    if (!mc.IsMap()) fail_at("modules_config", "expected a mapping of module name to settings");
    for (const auto& kv : mc) {
      std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      const std::string p = "modules_config." + name;
      if (std::find(c.modules.begin(), c.modules.end(), name) == c.modules.end()) {
        std::string msg = "module '" + name + "' is not listed in modules";
        if (auto near = closest(name, c.modules); !near.empty())
          msg += " (did you mean '" + near + "'?)";
        fail_at(p, msg);
      }
      if (present(kv.second) && !kv.second.IsMap()) fail_at(p, "expected a mapping");
      c.module_config.emplace(name, make_section(kv.second, p));
    }
  }
  // Every listed module gets a section (empty = defaults) that names its path in errors.
  for (const auto& name : c.modules)
    if (!c.module_config.count(name))
      c.module_config.emplace(name, make_section(YAML::Node(), "modules_config." + name));
}

// A duration that must be longer than zero (timeouts, intervals).
std::chrono::milliseconds positive_duration(const ConfigSection& s, const char* key,
                                            std::chrono::milliseconds fallback) {
  auto d = s.duration(key, fallback);
  if (d.count() <= 0) fail_at(s.path() + "." + key, "must be longer than zero");
  return d;
}

void parse_c2s(const ConfigSection& top, Config& c) {
  ConfigSection s = top.section("c2s");
  C2sConfig& x = c.c2s;
  x.require_tls = s.boolean("require_tls", x.require_tls);
  x.max_stanza_bytes = s.bytes("max_stanza_bytes", x.max_stanza_bytes);
  // RFC 6120 §13.12 item 4: a server must accept stanzas of at least 10000 bytes.
  if (x.max_stanza_bytes < 10000)
    fail_at("c2s.max_stanza_bytes", "must be at least 10000 bytes (RFC 6120 §13.12)");
  auto positive = [&](const char* key, std::chrono::milliseconds fallback) {
    return positive_duration(s, key, fallback);
  };
  x.auth_timeout = positive("auth_timeout", x.auth_timeout);
  x.ping_interval = positive("ping_interval", x.ping_interval);
  x.ping_timeout = positive("ping_timeout", x.ping_timeout);
  x.compact_after = positive("compact_after", x.compact_after);
  x.stream_management = s.boolean("stream_management", x.stream_management);
  x.resume_timeout = positive("resume_timeout", x.resume_timeout);
  x.max_unacked_stanzas =
      static_cast<unsigned>(s.integer("max_unacked_stanzas", x.max_unacked_stanzas, 10, 1'000'000));
  x.max_send_queue_bytes = s.bytes("max_send_queue_bytes", x.max_send_queue_bytes);
  if (x.max_send_queue_bytes < x.max_stanza_bytes)
    fail_at("c2s.max_send_queue_bytes", "must be at least c2s.max_stanza_bytes");
  x.on_conflict = s.one_of("on_conflict", x.on_conflict, {"replace", "reject"});

  sasl::ChannelBindings all;
  all.tls = true;
  all.tls_exporter = all.tls_server_end_point = "x";
  const std::vector<std::string> known = sasl::offered(all, {});
  auto mechanisms = s.strings("mechanisms");
  for (size_t i = 0; i < mechanisms.size(); ++i) {
    std::string upper = mechanisms[i];
    for (auto& ch : upper)
      if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    if (std::find(known.begin(), known.end(), upper) == known.end()) {
      std::string msg = "unknown SASL mechanism '" + mechanisms[i] + "'";
      if (auto near = closest(upper, known); !near.empty())
        msg += " (did you mean '" + near + "'?)";
      fail_at("c2s.mechanisms[" + std::to_string(i) + "]", msg);
    }
    x.mechanisms.push_back(upper);
  }
  // RFC 7677 §4: at least 4096 iterations.
  x.scram_iterations =
      static_cast<unsigned>(s.integer("scram_iterations", x.scram_iterations, 4096, 10'000'000));
  x.auth_failures_per_ip = static_cast<unsigned>(
      s.integer("auth_failures_per_ip", x.auth_failures_per_ip, 1, 1'000'000));
  x.auth_failures_per_account = static_cast<unsigned>(
      s.integer("auth_failures_per_account", x.auth_failures_per_account, 1, 1'000'000));
  x.auth_failure_window = positive("auth_failure_window", x.auth_failure_window);
  s.finish();
}

void parse_s2s(const ConfigSection& top, Config& c, const std::string& base_dir) {
  ConfigSection s = top.section("s2s");
  S2sConfig& x = c.s2s;
  x.enabled = s.boolean("enabled", x.enabled);
  x.require_encryption = s.boolean("require_encryption", x.require_encryption);
  x.allow_plaintext_dialback = s.boolean("allow_plaintext_dialback", x.allow_plaintext_dialback);
  x.allow_dialback = s.boolean("allow_dialback", x.allow_dialback);
  x.bidi = s.boolean("bidi", x.bidi);
  for (const auto& f : s.strings("ca_files")) x.ca_files.push_back(resolve(base_dir, f));
  x.system_trust = s.boolean("system_trust", x.system_trust);
  for (const auto& [domain, target] : s.string_map("routes")) {
    auto d = Jid::parse(domain);
    if (!d || d->has_local() || d->has_resource())
      fail_at("s2s.routes", "'" + domain + "' is not a domain");
    std::string_view t = target;
    if (t.starts_with("tls://")) t.remove_prefix(6);
    auto colon = t.rfind(':');
    if (t.empty() || colon == std::string_view::npos || colon + 1 == t.size() ||
        t.find_first_not_of("0123456789", colon + 1) != std::string_view::npos)
      fail_at("s2s.routes." + domain, "expected host:port, got '" + target + "'");
    x.routes[std::string(d->domain())] = target;
  }
  x.dns_servers = s.strings("dns_servers");
  for (const auto& b : s.strings("blocked_domains")) {
    auto d = Jid::parse(b);
    if (!d || d->has_local() || d->has_resource())
      fail_at("s2s.blocked_domains", "'" + b + "' is not a domain");
    x.blocked_domains.emplace_back(d->domain());
  }
  auto positive = [&](const char* key, std::chrono::milliseconds fallback) {
    return positive_duration(s, key, fallback);
  };
  x.connect_timeout = positive("connect_timeout", x.connect_timeout);
  x.idle_timeout = positive("idle_timeout", x.idle_timeout);
  x.max_stanza_bytes = s.bytes("max_stanza_bytes", x.max_stanza_bytes);
  if (x.max_stanza_bytes < 10000)
    fail_at("s2s.max_stanza_bytes", "must be at least 10000 bytes (RFC 6120 §13.12)");
  x.max_queue_bytes = s.bytes("max_queue_bytes", x.max_queue_bytes);
  if (x.max_queue_bytes < x.max_stanza_bytes)
    fail_at("s2s.max_queue_bytes", "must be at least s2s.max_stanza_bytes");
  x.max_queued_stanzas =
      static_cast<unsigned>(s.integer("max_queued_stanzas", x.max_queued_stanzas, 1, 1'000'000));
  x.max_incoming_per_domain = static_cast<unsigned>(
      s.integer("max_incoming_per_domain", x.max_incoming_per_domain, 1, 10'000));
  s.finish();
}

Config parse(const std::string& yaml_text, const std::string& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(std::string("invalid YAML: ") + e.what());
  }
  if (present(root) && !root.IsMap()) throw ConfigError("expected a mapping at the top level");
  auto top_impl = std::make_shared<ConfigSection::Impl>();
  top_impl->node = root;
  ConfigSection top(top_impl);

  Config c;
  parse_hosts(*top_impl, c, base_dir);
  c.certificate = resolve(base_dir, top.string("certificate", ""));
  c.private_key = resolve(base_dir, top.string("private_key", c.certificate));
  parse_listeners(top, c);
  c.data_dir = resolve(base_dir, top.string("data_dir", "data"));
  if (c.data_dir.empty()) fail_at("data_dir", "must not be empty");
  parse_storage(top, c, base_dir);

  ConfigSection log = top.section("log");
  c.log_level = log.one_of("level", "info", {"debug", "info", "warn", "error", "off"});
  c.log_file = resolve(base_dir, log.string("file", ""));
  log.finish();

  c.threads = static_cast<unsigned>(top.integer("threads", 0, 0, 1024));
  c.modules_dir = resolve(base_dir, top.string("modules_dir", ""));
  parse_modules(*top_impl, top, c);

  auto admins = top.strings("admins");
  for (size_t i = 0; i < admins.size(); ++i) {
    auto jid = Jid::parse(admins[i]);
    if (!jid || !jid->has_local() || jid->has_resource())
      fail_at("admins[" + std::to_string(i) + "]",
              "expected a bare JID like admin@example.org, got '" + admins[i] + "'");
    c.admins.emplace_back(jid->bare_str());
  }
  c.control_socket = resolve(base_dir, top.string("control_socket", ""));
  parse_c2s(top, c);
  parse_s2s(top, c, base_dir);
  top.finish();
  return c;
}

}  // namespace

Config parse_config(const std::string& yaml_text, const std::string& base_dir) {
  try {
    return parse(yaml_text, base_dir);
  } catch (const YAML::Exception& e) {
    // Shapes yaml-cpp rejects while we walk the tree (e.g. an alias cycle).
    throw ConfigError(std::string("invalid configuration: ") + e.what());
  }
}

Config load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open the configuration file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read the configuration file");
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  try {
    Config c = parse_config(text.str(), base_dir.empty() ? "." : base_dir);
    c.source_path = path;
    return c;
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

}  // namespace parley
