// Configuration loader: defaults, every validation error names its key path, unknown keys get a
// suggestion, durations and sizes, module sections, path resolution.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/config.h"

using namespace parley;
using namespace std::chrono_literals;

namespace {

// The message of the ConfigError parse_config throws, or "" when it does not throw.
std::string error_of(const std::string& yaml, const std::string& base_dir = ".") {
  try {
    parse_config(yaml, base_dir);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONFIG_ERROR(yaml, text)                                              \
  do {                                                                               \
    std::string message = error_of(yaml);                                            \
    EXPECT_NE(message.find(text), std::string::npos)                                 \
        << "yaml: " << (yaml) << "\nerror: '" << message << "'\nwanted: " << (text); \
  } while (0)

}  // namespace

TEST(Config, Defaults) {
  Config c = parse_config("hosts: [localhost]");
  ASSERT_EQ(c.hosts.size(), 1u);
  EXPECT_EQ(c.hosts[0].domain, "localhost");
  EXPECT_EQ(c.hosts[0].certificate, "");
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].type, "c2s");
  EXPECT_EQ(c.listeners[0].address, "::");
  EXPECT_EQ(c.listeners[0].port, 5222);
  EXPECT_EQ(c.listeners[1].type, "c2s_direct_tls");
  EXPECT_EQ(c.listeners[1].port, 5223);
  EXPECT_EQ(c.data_dir, "data");
  EXPECT_EQ(c.database.backend, storage::Backend::SQLite);
  EXPECT_EQ(c.database.sqlite_path, "data/parley.db");
  EXPECT_EQ(c.database.workers, 2u);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.log_file, "");
  EXPECT_EQ(c.threads, 0u);
  EXPECT_TRUE(c.modules.empty());
  EXPECT_TRUE(c.module_config.empty());
  EXPECT_TRUE(c.admins.empty());
  EXPECT_EQ(c.control_socket, "");
  EXPECT_TRUE(c.c2s.require_tls);
  EXPECT_EQ(c.c2s.max_stanza_bytes, 256u * 1024);
  EXPECT_EQ(c.c2s.auth_timeout, 30s);
  EXPECT_EQ(c.c2s.ping_interval, 120s);
  EXPECT_EQ(c.c2s.ping_timeout, 30s);
  EXPECT_TRUE(c.c2s.stream_management);
  EXPECT_EQ(c.c2s.resume_timeout, 300s);
  EXPECT_EQ(c.c2s.max_unacked_stanzas, 1000u);
  EXPECT_EQ(c.c2s.on_conflict, "replace");
  EXPECT_TRUE(c.c2s.mechanisms.empty());
  EXPECT_EQ(c.c2s.scram_iterations, 4096u);
  EXPECT_TRUE(c.is_local("localhost"));
  EXPECT_FALSE(c.is_local("example.org"));
  EXPECT_EQ(c.host("localhost"), &c.hosts[0]);
  EXPECT_EQ(c.host("example.org"), nullptr);
}

TEST(Config, FullFile) {
  const char* yaml = R"(
hosts:
  - domain: Localhost
    certificate: certs/localhost.crt
    private_key: certs/localhost.key
  - example.org
  - domain: example.net
    certificate: /abs/net.pem
certificate: certs/default.crt
private_key: certs/default.key
listeners:
  - {type: c2s, address: "127.0.0.1", port: 15222}
  - {type: c2s_direct_tls, port: 15223}
data_dir: /var/lib/parley
storage: {backend: postgresql, postgresql: "host=/tmp dbname=parley", workers: 4}
log: {level: debug, file: logs/parley.log}
threads: 3
modules_dir: mods
modules: [disco, ping, register]
modules_config:
  ping: {interval: 5m}
  register: {allow: true}
admins: [ "admin@localhost" ]
control_socket: run/parley.sock
c2s:
  require_tls: false
  max_stanza_bytes: 1MiB
  auth_timeout: 45
  ping_interval: 2h
  ping_timeout: 10s
  stream_management: false
  resume_timeout: 1m
  max_unacked_stanzas: 50
  max_send_queue_bytes: 4MiB
  on_conflict: reject
  mechanisms: [SCRAM-SHA-256-PLUS, scram-sha-256, PLAIN]
  scram_iterations: 10000
  auth_failures_per_ip: 20
  auth_failures_per_account: 3
  auth_failure_window: 250ms
)";
  Config c = parse_config(yaml, "/etc/parley");
  ASSERT_EQ(c.hosts.size(), 3u);
  EXPECT_EQ(c.hosts[0].domain, "localhost");
  EXPECT_EQ(c.hosts[0].certificate, "/etc/parley/certs/localhost.crt");
  EXPECT_EQ(c.hosts[0].private_key, "/etc/parley/certs/localhost.key");
  EXPECT_EQ(c.hosts[1].domain, "example.org");
  EXPECT_EQ(c.hosts[1].certificate, "");
  EXPECT_EQ(c.hosts[2].certificate, "/abs/net.pem");
  EXPECT_EQ(c.hosts[2].private_key, "/abs/net.pem");  // one PEM with chain and key
  EXPECT_EQ(c.certificate, "/etc/parley/certs/default.crt");
  EXPECT_EQ(c.private_key, "/etc/parley/certs/default.key");
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].address, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].port, 15222);
  EXPECT_EQ(c.listeners[1].type, "c2s_direct_tls");
  EXPECT_EQ(c.listeners[1].address, "::");
  EXPECT_EQ(c.listeners[1].port, 15223);
  EXPECT_EQ(c.data_dir, "/var/lib/parley");
  EXPECT_EQ(c.database.backend, storage::Backend::PostgreSQL);
  EXPECT_EQ(c.database.postgresql, "host=/tmp dbname=parley");
  EXPECT_EQ(c.database.sqlite_path, "/var/lib/parley/parley.db");
  EXPECT_EQ(c.database.workers, 4u);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_file, "/etc/parley/logs/parley.log");
  EXPECT_EQ(c.threads, 3u);
  EXPECT_EQ(c.modules_dir, "/etc/parley/mods");
  EXPECT_EQ(c.modules, (std::vector<std::string>{"disco", "ping", "register"}));
  ASSERT_EQ(c.module_config.size(), 3u);
  EXPECT_EQ(c.module_config.at("ping").path(), "modules_config.ping");
  EXPECT_EQ(c.module_config.at("ping").duration("interval", 1s), 5min);
  EXPECT_TRUE(c.module_config.at("register").boolean("allow", false));
  EXPECT_EQ(c.module_config.at("disco").path(), "modules_config.disco");
  EXPECT_FALSE(c.module_config.at("disco").has("anything"));
  EXPECT_EQ(c.admins, std::vector<std::string>{"admin@localhost"});
  EXPECT_EQ(c.control_socket, "/etc/parley/run/parley.sock");
  EXPECT_FALSE(c.c2s.require_tls);
  EXPECT_EQ(c.c2s.max_stanza_bytes, 1024u * 1024);
  EXPECT_EQ(c.c2s.auth_timeout, 45s);
  EXPECT_EQ(c.c2s.ping_interval, 2h);
  EXPECT_EQ(c.c2s.ping_timeout, 10s);
  EXPECT_FALSE(c.c2s.stream_management);
  EXPECT_EQ(c.c2s.resume_timeout, 60s);
  EXPECT_EQ(c.c2s.max_unacked_stanzas, 50u);
  EXPECT_EQ(c.c2s.max_send_queue_bytes, 4u * 1024 * 1024);
  EXPECT_EQ(c.c2s.on_conflict, "reject");
  EXPECT_EQ(c.c2s.mechanisms,
            (std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN"}));
  EXPECT_EQ(c.c2s.scram_iterations, 10000u);
  EXPECT_EQ(c.c2s.auth_failures_per_ip, 20u);
  EXPECT_EQ(c.c2s.auth_failures_per_account, 3u);
  EXPECT_EQ(c.c2s.auth_failure_window, 250ms);
  EXPECT_TRUE(c.is_local("example.net"));
}

TEST(Config, HostsErrors) {
  EXPECT_CONFIG_ERROR("threads: 1", "hosts: at least one host");
  EXPECT_CONFIG_ERROR("", "hosts: at least one host");
  EXPECT_CONFIG_ERROR("hosts: []", "hosts:");
  EXPECT_CONFIG_ERROR("hosts: [\"exa mple.org\"]", "hosts[0]: invalid domain");
  EXPECT_CONFIG_ERROR("hosts: [\"a@b\"]", "hosts[0]: invalid domain");
  EXPECT_CONFIG_ERROR("hosts: [localhost, LOCALHOST]", "hosts[1]: duplicate host 'localhost'");
  EXPECT_CONFIG_ERROR("hosts: [{certificate: x}]", "hosts[0].domain: required");
  EXPECT_CONFIG_ERROR("hosts: [{domain: a.org, cert: x}]",
                      "hosts[0].cert: unknown key (did you mean 'certificate'?)");
  EXPECT_CONFIG_ERROR("hosts: [[a]]", "hosts[0]: expected a domain");
  EXPECT_EQ(parse_config("hosts: single.example").hosts.at(0).domain, "single.example");
}

TEST(Config, ListenerErrors) {
  const std::string h = "hosts: [localhost]\n";
  EXPECT_CONFIG_ERROR(h + "listeners: [{port: 0}]",
                      "listeners[0].port: expected an integer between 1 and 65535");
  EXPECT_CONFIG_ERROR(h + "listeners: [{port: 65536}]", "listeners[0].port:");
  EXPECT_CONFIG_ERROR(h + "listeners: [{port: 5222}, {port: abc}]",
                      "listeners[1].port: expected an integer");
  EXPECT_CONFIG_ERROR(
      h + "listeners: [{type: bosh}]",
      "listeners[0].type: expected one of c2s, c2s_direct_tls, s2s, s2s_direct_tls");
  // Federation listeners default to 5269 and 5270.
  auto f = parse_config(h + "listeners: [{type: s2s}, {type: s2s_direct_tls}]");
  EXPECT_EQ(f.listeners.at(0).port, 5269);
  EXPECT_EQ(f.listeners.at(1).port, 5270);
  EXPECT_CONFIG_ERROR(h + "listeners: [{address: localhost}]",
                      "listeners[0].address: expected an IP address");
  EXPECT_CONFIG_ERROR(h + "listeners: [{port: 5222}, {port: 5222}]",
                      "listeners[1]: another listener");
  EXPECT_CONFIG_ERROR(h + "listeners: []", "listeners: at least one listener");
  EXPECT_CONFIG_ERROR(h + "listeners: {port: 1}", "listeners: expected a list");
  EXPECT_CONFIG_ERROR(h + "listeners: [{prot: 5222}]",
                      "listeners[0].prot: unknown key (did you mean 'port'?)");
}

TEST(Config, StorageAndLogErrors) {
  const std::string h = "hosts: [localhost]\n";
  EXPECT_CONFIG_ERROR(h + "storage: {backend: mysql}",
                      "storage.backend: expected one of sqlite, postgresql");
  EXPECT_CONFIG_ERROR(h + "storage: {backend: postgresq}", "(did you mean 'postgresql'?)");
  EXPECT_CONFIG_ERROR(h + "storage: {backend: postgresql}",
                      "storage.postgresql: a connection string");
  EXPECT_CONFIG_ERROR(h + "storage: {workers: 0}", "storage.workers:");
  EXPECT_CONFIG_ERROR(h + "storage: sqlite", "storage: expected a mapping");
  EXPECT_CONFIG_ERROR(h + "log: {level: verbose}", "log.level: expected one of");
  EXPECT_CONFIG_ERROR(h + "threads: -1", "threads: expected an integer between 0 and 1024");
  Config c = parse_config(h + "storage: {sqlite_path: db/x.db}\ndata_dir: /d", "/base");
  EXPECT_EQ(c.database.sqlite_path, "/base/db/x.db");
}

TEST(Config, S2s) {
  const std::string h = "hosts: [localhost]\n";
  auto d = parse_config(h);
  EXPECT_TRUE(d.s2s.enabled);
  EXPECT_TRUE(d.s2s.require_encryption);
  EXPECT_TRUE(d.s2s.allow_dialback);
  EXPECT_FALSE(d.s2s.allow_plaintext_dialback);
  auto c = parse_config(h + "s2s:\n  routes: { Peer.Example: \"127.0.0.3:5269\", tls.example: "
                            "\"tls://[::1]:5270\" }\n  blocked_domains: [Spam.Example]\n"
                            "  ca_files: [ca.pem]\n  idle_timeout: 1m\n  bidi: false\n",
                        "/etc/parley");
  EXPECT_EQ(c.s2s.routes.at("peer.example"), "127.0.0.3:5269");  // the domain is normalized
  EXPECT_EQ(c.s2s.routes.at("tls.example"), "tls://[::1]:5270");
  EXPECT_EQ(c.s2s.blocked_domains, std::vector<std::string>{"spam.example"});
  EXPECT_EQ(c.s2s.ca_files, std::vector<std::string>{"/etc/parley/ca.pem"});
  EXPECT_EQ(c.s2s.idle_timeout, std::chrono::minutes(1));
  EXPECT_FALSE(c.s2s.bidi);

  EXPECT_CONFIG_ERROR(h + "s2s: {routes: {peer.example: \"127.0.0.3\"}}",
                      "s2s.routes.peer.example: expected host:port");
  EXPECT_CONFIG_ERROR(h + "s2s: {routes: {peer.example: \"127.0.0.3:http\"}}",
                      "s2s.routes.peer.example: expected host:port");
  EXPECT_CONFIG_ERROR(h + "s2s: {routes: {\"u@peer.example\": \"127.0.0.3:5269\"}}",
                      "s2s.routes: 'u@peer.example' is not a domain");
  EXPECT_CONFIG_ERROR(h + "s2s: {blocked_domains: [\"a@b\"]}",
                      "s2s.blocked_domains: 'a@b' is not a domain");
  EXPECT_CONFIG_ERROR(h + "s2s: {connect_timeout: 0s}",
                      "s2s.connect_timeout: must be longer than zero");
  EXPECT_CONFIG_ERROR(h + "s2s: {max_stanza_bytes: 1KiB}",
                      "s2s.max_stanza_bytes: must be at least 10000");
  EXPECT_CONFIG_ERROR(h + "s2s: {max_queue_bytes: 20000}", "s2s.max_queue_bytes: must be at least");
  EXPECT_CONFIG_ERROR(h + "s2s: {allow_dialbak: true}",
                      "s2s.allow_dialbak: unknown key (did you mean 'allow_dialback'?)");
}

TEST(Config, C2sErrors) {
  const std::string h = "hosts: [localhost]\n";
  EXPECT_CONFIG_ERROR(h + "c2s: {on_conflict: kick}",
                      "c2s.on_conflict: expected one of replace, reject");
  EXPECT_CONFIG_ERROR(h + "c2s: {max_stanza_bytes: lots}",
                      "c2s.max_stanza_bytes: expected a size like 256KiB");
  EXPECT_CONFIG_ERROR(h + "c2s: {max_stanza_bytes: 10MB}",
                      "c2s.max_stanza_bytes: expected a size like 256KiB");
  EXPECT_CONFIG_ERROR(h + "c2s: {max_stanza_bytes: 1KiB}",
                      "c2s.max_stanza_bytes: must be at least 10000");
  EXPECT_CONFIG_ERROR(h + "c2s: {max_stanza_bytes: 99999999999999999999}", "c2s.max_stanza_bytes:");
  EXPECT_CONFIG_ERROR(h + "c2s: {max_stanza_bytes: 17000000TiB}",
                      "c2s.max_stanza_bytes: size too large");
  EXPECT_CONFIG_ERROR(h + "c2s: {max_send_queue_bytes: 20000}",
                      "c2s.max_send_queue_bytes: must be at least");
  EXPECT_CONFIG_ERROR(h + "c2s: {auth_timeout: 5x}",
                      "c2s.auth_timeout: expected a duration like 30s");
  EXPECT_CONFIG_ERROR(h + "c2s: {auth_timeout: -1s}", "c2s.auth_timeout: expected a duration");
  EXPECT_CONFIG_ERROR(h + "c2s: {auth_timeout: 1.5h}", "c2s.auth_timeout: expected a duration");
  EXPECT_CONFIG_ERROR(h + "c2s: {auth_timeout: s}", "c2s.auth_timeout: expected a duration");
  EXPECT_CONFIG_ERROR(h + "c2s: {ping_timeout: 0s}", "c2s.ping_timeout: must be longer than zero");
  EXPECT_CONFIG_ERROR(h + "c2s: {ping_interval: 99999999999d}",
                      "c2s.ping_interval: duration too large");
  EXPECT_CONFIG_ERROR(h + "c2s: {require_tls: maybe}", "c2s.require_tls: expected true or false");
  EXPECT_CONFIG_ERROR(h + "c2s: {requre_tls: true}",
                      "c2s.requre_tls: unknown key (did you mean 'require_tls'?)");
  EXPECT_CONFIG_ERROR(
      h + "c2s: {mechanisms: [SCRAM-SHA-265]}",
      "c2s.mechanisms[0]: unknown SASL mechanism 'SCRAM-SHA-265' (did you mean 'SCRAM-SHA-256'?)");
  EXPECT_CONFIG_ERROR(h + "c2s: {scram_iterations: 100}",
                      "c2s.scram_iterations: expected an integer between 4096");
  EXPECT_CONFIG_ERROR(h + "c2s: {auth_failures_per_ip: 0}", "c2s.auth_failures_per_ip:");
  EXPECT_CONFIG_ERROR(h + "c2s: {auth_failure_window: 0}", "c2s.auth_failure_window:");
  EXPECT_CONFIG_ERROR(h + "c2s: {on_conflict: [a]}", "c2s.on_conflict: expected a string");
}

TEST(Config, DurationsAndSizes) {
  auto c2s = [](const std::string& body) {
    return parse_config("hosts: [localhost]\nc2s: {" + body + "}").c2s;
  };
  EXPECT_EQ(c2s("auth_timeout: 30s").auth_timeout, 30s);
  EXPECT_EQ(c2s("auth_timeout: 5m").auth_timeout, 5min);
  EXPECT_EQ(c2s("auth_timeout: 2h").auth_timeout, 2h);
  EXPECT_EQ(c2s("auth_timeout: 7d").auth_timeout, 7 * 24h);
  EXPECT_EQ(c2s("auth_timeout: 250ms").auth_timeout, 250ms);
  EXPECT_EQ(c2s("auth_timeout: 12").auth_timeout, 12s);
  EXPECT_EQ(c2s("auth_timeout: \"3 s\"").auth_timeout, 3s);
  EXPECT_EQ(c2s("max_stanza_bytes: 256KiB").max_stanza_bytes, 262144u);
  EXPECT_EQ(c2s("max_stanza_bytes: 10MiB, max_send_queue_bytes: 1GiB").max_stanza_bytes,
            10u * 1024 * 1024);
  EXPECT_EQ(c2s("max_stanza_bytes: 10MiB, max_send_queue_bytes: 1GiB").max_send_queue_bytes,
            1024u * 1024 * 1024);
  EXPECT_EQ(c2s("max_stanza_bytes: 20000").max_stanza_bytes, 20000u);
  EXPECT_EQ(c2s("max_stanza_bytes: 20000B").max_stanza_bytes, 20000u);
}

TEST(Config, ModulesAndAdmins) {
  const std::string h = "hosts: [localhost]\n";
  EXPECT_CONFIG_ERROR(h + "modules: [ping]\nmodules_config: {muc: {}}",
                      "modules_config.muc: module 'muc' is not listed in modules");
  EXPECT_CONFIG_ERROR(h + "modules: [ping]\nmodules_config: {pnig: {}}", "(did you mean 'ping'?)");
  EXPECT_CONFIG_ERROR(h + "modules: [ping]\nmodules_config: {ping: 5}",
                      "modules_config.ping: expected a mapping");
  EXPECT_CONFIG_ERROR(h + "modules: [\"../evil\"]", "modules[0]: invalid module name");
  EXPECT_CONFIG_ERROR(h + "modules: [ping, ping]", "modules[1]: module 'ping' is listed twice");
  EXPECT_CONFIG_ERROR(h + "modules: {ping: 1}", "modules: expected a list of strings");
  EXPECT_CONFIG_ERROR(h + "admins: [example.org]", "admins[0]: expected a bare JID");
  EXPECT_CONFIG_ERROR(h + "admins: [\"a@b/c\"]", "admins[0]: expected a bare JID");
  EXPECT_CONFIG_ERROR(h + "admins: [ok@localhost, \"@@\"]", "admins[1]: expected a bare JID");
  EXPECT_EQ(parse_config(h + "admins: Admin@LocalHost").admins,
            std::vector<std::string>{"admin@localhost"});

  // A module's section rejects keys the module did not read, naming the full path.
  Config c =
      parse_config(h + "modules: [ping]\nmodules_config:\n  ping: {interval: 1m, intervall: 2}");
  const ConfigSection& ping = c.module_config.at("ping");
  EXPECT_EQ(ping.duration("interval", 0s), 60s);
  try {
    ping.finish();
    FAIL() << "finish() accepted an unknown key";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "modules_config.ping.intervall: unknown key (did you mean 'interval'?)");
  }
  // Copies share the record of keys read.
  ConfigSection copy = ping;
  EXPECT_EQ(copy.integer("intervall", 0), 2);
  EXPECT_NO_THROW(ping.finish());
}

TEST(Config, UnknownTopLevelKeysAndBadYaml) {
  EXPECT_CONFIG_ERROR("hosts: [localhost]\nlistners: []",
                      "listners: unknown key (did you mean 'listeners'?)");
  std::string far = error_of("hosts: [localhost]\nzzzzzzzz: 1");
  EXPECT_NE(far.find("zzzzzzzz: unknown key"), std::string::npos) << far;
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
  // All unknown keys are reported at once.
  std::string two = error_of("hosts: [localhost]\nthreds: 1\ndata_dri: x");
  EXPECT_NE(two.find("threds"), std::string::npos);
  EXPECT_NE(two.find("data_dri"), std::string::npos);
  EXPECT_CONFIG_ERROR("hosts: [localhost", "invalid YAML");
  EXPECT_CONFIG_ERROR("- a\n- b", "expected a mapping at the top level");
  EXPECT_NE(error_of("hosts: &a [*a]"), "");  // a ConfigError, not a crash
}

TEST(Config, SectionGetters) {
  Config c = parse_config(R"(
hosts: [localhost]
modules: [m]
modules_config:
  m:
    name: hello
    count: 7
    flag: yes
    one: single
    many: [a, b]
    map: {x: "1", y: two}
    list: [{k: 1}, {k: 2}]
    nested: {inner: 5}
    bad_list: [1, [2]]
)");
  const ConfigSection& m = c.module_config.at("m");
  EXPECT_TRUE(m.has("name"));
  EXPECT_FALSE(m.has("absent"));
  EXPECT_EQ(m.string("name", ""), "hello");
  EXPECT_EQ(m.string("absent", "fallback"), "fallback");
  EXPECT_EQ(m.integer("count", 0, 0, 10), 7);
  EXPECT_THROW(m.integer("count", 0, 8, 10), ConfigError);
  EXPECT_THROW(m.integer("name", 0), ConfigError);
  EXPECT_TRUE(m.boolean("flag", false));
  EXPECT_EQ(m.strings("one"), std::vector<std::string>{"single"});
  EXPECT_EQ(m.strings("many"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(m.strings("absent2").empty());
  EXPECT_EQ(m.string_map("map"), (std::map<std::string, std::string>{{"x", "1"}, {"y", "two"}}));
  auto list = m.sections("list");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].path(), "modules_config.m.list[1]");
  EXPECT_EQ(list[1].integer("k", 0), 2);
  ConfigSection nested = m.section("nested");
  EXPECT_EQ(nested.path(), "modules_config.m.nested");
  EXPECT_EQ(nested.integer("inner", 0), 5);
  EXPECT_THROW(m.section("name"), ConfigError);
  try {
    m.strings("bad_list");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "modules_config.m.bad_list[1]: expected a string");
  }
  EXPECT_EQ(m.one_of("one", "x", {"single", "double"}), "single");
  EXPECT_THROW(m.one_of("name", "x", {"single"}), ConfigError);
  EXPECT_NO_THROW(m.finish());

  ConfigSection empty;
  EXPECT_EQ(empty.integer("x", 3), 3);
  EXPECT_EQ(empty.duration("x", 5s), 5s);
  EXPECT_EQ(empty.bytes("x", 9), 9u);
  EXPECT_FALSE(empty.section("x").has("y"));
  EXPECT_NO_THROW(empty.finish());
}

TEST(Config, Closest) {
  std::vector<std::string> keys{"listeners", "hosts", "data_dir", "port"};
  EXPECT_EQ(closest("listners", keys), "listeners");
  EXPECT_EQ(closest("HOSTS", keys), "hosts");
  EXPECT_EQ(closest("prot", keys), "port");
  EXPECT_EQ(closest("datadir", keys), "data_dir");
  EXPECT_EQ(closest("xyz", keys), "");
  EXPECT_EQ(closest("list", keys), "listeners");  // abbreviation
  EXPECT_EQ(closest("li", keys), "");
  EXPECT_EQ(closest("anything", {}), "");
}

TEST(Config, LoadFileResolvesRelativePaths) {
  auto dir =
      std::filesystem::temp_directory_path() / ("parley_config_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = dir / "parley.yaml";
  std::ofstream(file) << "hosts: [{domain: localhost, certificate: certs/localhost.crt}]\n"
                         "data_dir: data\n";
  Config c = load_config(file.string());
  EXPECT_EQ(c.source_path, file.string());
  EXPECT_EQ(c.data_dir, (dir / "data").string());
  EXPECT_EQ(c.database.sqlite_path, (dir / "data" / "parley.db").string());
  EXPECT_EQ(c.hosts.at(0).certificate, (dir / "certs" / "localhost.crt").string());

  std::ofstream(file) << "hosts: [localhost]\nc2s: {auth_timeout: never}\n";
  try {
    load_config(file.string());
    FAIL();
  } catch (const ConfigError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(file.string() + ": c2s.auth_timeout:"), std::string::npos) << what;
  }
  std::filesystem::remove_all(dir);
  EXPECT_THROW(load_config((dir / "missing.yaml").string()), ConfigError);
}
