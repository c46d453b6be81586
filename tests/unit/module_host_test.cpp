// The module host (DESIGN §5): the ELF reader that checks a module's ABI signature before any
// of its code runs, loading real modules, and releasing everything a module registered.
// Module files come from PARLEY_MODULE_DIR (set by CTest); fixtures are copies made here.
#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/config.h"
#include "core/module.h"
#include "core/module_host.h"
#include "core/server.h"
#include "router/router.h"
#include "router/stanza_events.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using Bytes = std::string;

Bytes slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void spit(const fs::path& p, const Bytes& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Where a test's fixtures live; removed afterwards.
class ModuleFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("PARLEY_MODULE_DIR");
    if (!dir || !*dir)
      GTEST_SKIP() << "PARLEY_MODULE_DIR is not set (CTest sets it to the built modules)";
    modules_ = dir;
    if (!fs::exists(modules_ / "ping.so"))
      GTEST_SKIP() << "no ping.so in PARLEY_MODULE_DIR=" << dir << " (build the modules first)";
    std::random_device rd;
    tmp_ = fs::temp_directory_path() / ("parley-module-test-" + std::to_string(rd()));
    fs::create_directories(tmp_);
    ping_ = slurp(modules_ / "ping.so");
  }
  void TearDown() override {
    std::error_code ec;
    if (!tmp_.empty()) fs::remove_all(tmp_, ec);
  }

  std::optional<std::string> abi_of(const Bytes& data, const std::string& name = "fixture.so") {
    spit(tmp_ / name, data);
    return ModuleHost::read_abi((tmp_ / name).string());
  }

  // Section headers of the real module, to aim corruptions precisely.
  const Elf64_Ehdr& header() const { return *reinterpret_cast<const Elf64_Ehdr*>(ping_.data()); }
  Elf64_Shdr section(size_t i) const {
    Elf64_Shdr sh;
    std::memcpy(&sh, ping_.data() + header().e_shoff + i * sizeof sh, sizeof sh);
    return sh;
  }
  size_t section_index(std::string_view name) const {
    Elf64_Shdr names = section(header().e_shstrndx);
    for (size_t i = 0; i < header().e_shnum; ++i)
      if (name == ping_.c_str() + names.sh_offset + section(i).sh_name) return i;
    return SIZE_MAX;
  }
  template <class T>
  static void poke(Bytes& data, uint64_t offset, T value) {
    std::memcpy(data.data() + offset, &value, sizeof value);
  }
  uint64_t shdr_offset(size_t i) const { return header().e_shoff + i * sizeof(Elf64_Shdr); }

  fs::path modules_, tmp_;
  Bytes ping_;
};

TEST_F(ModuleFiles, ReadsTheAbiOfEveryBuiltModule) {
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(modules_)) {
    if (entry.path().extension() != ".so") continue;
    ++seen;
    auto abi = ModuleHost::read_abi(entry.path().string());
    ASSERT_TRUE(abi) << entry.path();
    EXPECT_EQ(*abi, ModuleHost::expected_abi()) << entry.path();
  }
  EXPECT_GT(seen, 0);
  EXPECT_NE(std::string(ModuleHost::expected_abi()).find("parley-module-abi=1;"),
            std::string::npos);
}

TEST_F(ModuleFiles, FilesThatAreNotModulesHaveNoAbi) {
  EXPECT_FALSE(ModuleHost::read_abi((tmp_ / "missing.so").string()));
  EXPECT_FALSE(abi_of(""));
  EXPECT_FALSE(abi_of("#!/bin/sh\necho not an ELF file\n"));
  EXPECT_FALSE(ModuleHost::read_abi(tmp_.string()));  // a directory
  // An ELF file without the section: this test program links libparley but is no module.
  EXPECT_FALSE(ModuleHost::read_abi("/proc/self/exe"));
  // A FIFO must be refused, not block the loader waiting for a writer.
  ASSERT_EQ(::mkfifo((tmp_ / "fifo.so").c_str(), 0600), 0);
  EXPECT_FALSE(ModuleHost::read_abi((tmp_ / "fifo.so").string()));
}

TEST_F(ModuleFiles, TruncatedModulesAreRefusedWhereverTheyAreCut) {
  // GNU ld puts the section header table last, so every truncation cuts it.
  uint64_t table_end = header().e_shoff + uint64_t{header().e_shnum} * sizeof(Elf64_Shdr);
  ASSERT_EQ(table_end, ping_.size());
  std::vector<size_t> sizes;
  for (size_t n = 0; n <= 256; ++n) sizes.push_back(n);
  for (size_t n = 257; n < ping_.size(); n += ping_.size() / 300) sizes.push_back(n);
  sizes.push_back(header().e_shoff);
  sizes.push_back(ping_.size() - 1);
  std::sort(sizes.rbegin(), sizes.rend());  // cut one file shorter and shorter
  fs::path file = tmp_ / "cut.so";
  spit(file, ping_);
  for (size_t n : sizes) {
    fs::resize_file(file, n);
    EXPECT_FALSE(ModuleHost::read_abi(file.string())) << "cut at " << n;
  }
}

TEST_F(ModuleFiles, CorruptHeadersAreRefusedWithoutReadingOutOfBounds) {
  size_t abi_index = section_index(".parley_abi");
  ASSERT_NE(abi_index, SIZE_MAX);
  const uint64_t names = shdr_offset(header().e_shstrndx);
  const uint64_t abi = shdr_offset(abi_index);
  const uint64_t kHuge = UINT64_MAX - 8;

  struct Case {
    const char* what;
    std::function<void(Bytes&)> corrupt;
  };
  std::vector<Case> cases = {
      {"32-bit class", [](Bytes& b) { b[EI_CLASS] = ELFCLASS32; }},
      {"bad magic", [](Bytes& b) { b[1] = 'X'; }},
      {"section table offset past the end",
       [&](Bytes& b) { poke<Elf64_Off>(b, offsetof(Elf64_Ehdr, e_shoff), kHuge); }},
      {"section table straddling the end",
       [&](Bytes& b) { poke<Elf64_Off>(b, offsetof(Elf64_Ehdr, e_shoff), b.size() - 10); }},
      {"no section table", [&](Bytes& b) { poke<Elf64_Off>(b, offsetof(Elf64_Ehdr, e_shoff), 0); }},
      {"section count too large",
       [&](Bytes& b) { poke<Elf64_Half>(b, offsetof(Elf64_Ehdr, e_shnum), 0xfeff); }},
      {"wrong section header size",
       [&](Bytes& b) { poke<Elf64_Half>(b, offsetof(Elf64_Ehdr, e_shentsize), 32); }},
      {"name table index out of range",
       [&](Bytes& b) { poke<Elf64_Half>(b, offsetof(Elf64_Ehdr, e_shstrndx), header().e_shnum); }},
      {"extended count in section 0 huge",
       [&](Bytes& b) {
         poke<Elf64_Half>(b, offsetof(Elf64_Ehdr, e_shnum), 0);
         poke<Elf64_Xword>(b, shdr_offset(0) + offsetof(Elf64_Shdr, sh_size), kHuge);
       }},
      {"name table offset past the end",
       [&](Bytes& b) { poke<Elf64_Off>(b, names + offsetof(Elf64_Shdr, sh_offset), kHuge); }},
      {"name table size wrapping around",
       [&](Bytes& b) { poke<Elf64_Xword>(b, names + offsetof(Elf64_Shdr, sh_size), kHuge); }},
      {"name table not a string table",
       [&](Bytes& b) { poke<Elf64_Word>(b, names + offsetof(Elf64_Shdr, sh_type), SHT_PROGBITS); }},
      {"abi section name outside the name table",
       [&](Bytes& b) { poke<Elf64_Word>(b, abi + offsetof(Elf64_Shdr, sh_name), 0xfffffff0u); }},
      {"abi section offset past the end",
       [&](Bytes& b) { poke<Elf64_Off>(b, abi + offsetof(Elf64_Shdr, sh_offset), kHuge); }},
      {"abi section size wrapping around",
       [&](Bytes& b) { poke<Elf64_Xword>(b, abi + offsetof(Elf64_Shdr, sh_size), kHuge); }},
      {"abi section too large",
       [&](Bytes& b) { poke<Elf64_Xword>(b, abi + offsetof(Elf64_Shdr, sh_size), 1u << 20); }},
      {"abi section without contents",
       [&](Bytes& b) { poke<Elf64_Word>(b, abi + offsetof(Elf64_Shdr, sh_type), SHT_NOBITS); }},
  };
  for (const auto& c : cases) {
    Bytes b = ping_;
    c.corrupt(b);
    EXPECT_FALSE(abi_of(b)) << c.what;
  }
}

TEST_F(ModuleFiles, AModuleWithoutTheSectionHasNoAbi) {
  Bytes b = ping_;
  size_t at = b.find(std::string(".parley_abi") + '\0');
  ASSERT_NE(at, Bytes::npos);
  b.replace(at, 11, ".parley_xyz");
  EXPECT_FALSE(abi_of(b));
}

TEST_F(ModuleFiles, TheAbiStringIsReadFromTheSection) {
  Bytes b = ping_;
  size_t at = b.find("parley-module-abi=1;");
  ASSERT_NE(at, Bytes::npos);
  b[at + 18] = '9';  // parley-module-abi=9
  auto abi = abi_of(b);
  ASSERT_TRUE(abi);
  EXPECT_EQ(abi->substr(0, 20), "parley-module-abi=9;");
  EXPECT_NE(*abi, ModuleHost::expected_abi());
}

// ---- Loading real modules into a Server that is not started (no storage, no listeners) ----

Config test_config(const fs::path& modules_dir) {
  Config c;
  c.hosts.push_back({"localhost", "", ""});
  c.modules_dir = modules_dir.string();
  return c;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST_F(ModuleFiles, LoadsModulesAndTheirRegistrationsGoAwayOnUnload) {
  Server server(test_config(modules_));
  ModuleHost& host = server.modules();
  host.load_all({"ping", "version", "disco"});
  EXPECT_EQ(host.names(), (std::vector<std::string>{"ping", "version", "disco"}));
  EXPECT_TRUE(host.loaded("disco"));

  auto features = server.features().list(FeatureScope::Host);
  EXPECT_TRUE(contains(features, "urn:xmpp:ping"));
  EXPECT_TRUE(contains(features, "jabber:iq:version"));
  EXPECT_TRUE(contains(features, "http://jabber.org/protocol/disco#info"));
  EXPECT_TRUE(contains(features, "http://jabber.org/protocol/disco#items"));
  auto ids = server.features().identities(FeatureScope::Host);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].category, "server");
  EXPECT_EQ(ids[0].type, "im");

  host.unload_all();
  EXPECT_TRUE(host.names().empty());
  EXPECT_TRUE(server.features().list(FeatureScope::Host).empty());
  EXPECT_TRUE(server.features().identities(FeatureScope::Host).empty());
  EXPECT_TRUE(server.iq().namespaces(IqScope::Host).empty());
}

TEST_F(ModuleFiles, DiscoAnswersWithWhatModulesRegistered) {
  Server server(test_config(modules_));
  server.modules().load_all({"disco", "version", "time"});
  // Capture what the server sends back to a (fake) client's full JID.
  std::vector<xml::Element> replies;
  auto token = server.hooks().on<IqToFull>(priority::kFirst, [&](IqToFull& e) {
    replies.push_back(*e.stanza);
    return Flow::Stop;
  });
  auto ask = [&](std::string_view payload_ns, std::string_view name, std::string_view node = {}) {
    xml::Element iq("iq", "jabber:client");
    iq.set("type", "get")
        .set("id", "q1")
        .set("from", "alice@localhost/phone")
        .set("to", "localhost");
    auto& q = iq.add(std::string(name), std::string(payload_ns));
    if (!node.empty()) q.set("node", node);
    replies.clear();
    server.router().route(std::move(iq));
    return replies.size() == 1 ? replies[0] : xml::Element();
  };

  xml::Element info = ask("http://jabber.org/protocol/disco#info", "query");
  ASSERT_EQ(info.get("type"), "result") << info.str();
  const xml::Element* q = info.child("query", "http://jabber.org/protocol/disco#info");
  ASSERT_NE(q, nullptr);
  std::vector<std::string> vars;
  for (const auto* f : q->children("feature")) vars.emplace_back(f->get("var"));
  EXPECT_TRUE(contains(vars, "jabber:iq:version"));
  EXPECT_TRUE(contains(vars, "urn:xmpp:time"));
  EXPECT_FALSE(contains(vars, "urn:xmpp:ping"));  // not loaded, so not advertised
  ASSERT_NE(q->child("identity"), nullptr);
  EXPECT_EQ(q->child("identity")->get("category"), "server");

  xml::Element node = ask("http://jabber.org/protocol/disco#info", "query", "no-such-node");
  EXPECT_EQ(node.get("type"), "error");
  EXPECT_NE(node.str().find("item-not-found"), std::string::npos);

  xml::Element items = ask("http://jabber.org/protocol/disco#items", "query");
  EXPECT_EQ(items.get("type"), "result");

  xml::Element version = ask("jabber:iq:version", "query");
  const xml::Element* v = version.child("query", "jabber:iq:version");
  ASSERT_NE(v, nullptr) << version.str();
  EXPECT_EQ(v->child_text("name"), "Parley");
  EXPECT_EQ(v->child_text("version"), PARLEY_VERSION);
  EXPECT_EQ(v->child("os"), nullptr);  // hide_os defaults to true

  xml::Element time = ask("urn:xmpp:time", "time");
  const xml::Element* t = time.child("time", "urn:xmpp:time");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->child_text("tzo"), "+00:00");
  EXPECT_EQ(t->child_text("utc").size(), 20u);  // YYYY-MM-DDThh:mm:ssZ

  // After unload the same request is nobody's: service-unavailable (RFC 6120 §8.4).
  server.modules().unload_all();
  xml::Element gone = ask("jabber:iq:version", "query");
  EXPECT_NE(gone.str().find("service-unavailable"), std::string::npos) << gone.str();
}

TEST_F(ModuleFiles, RefusesAModuleBuiltForAnotherAbiBeforeRunningIt) {
  Bytes b = ping_;
  size_t at = b.find("parley-module-abi=1;");
  ASSERT_NE(at, Bytes::npos);
  b[at + 18] = '9';
  spit(tmp_ / "ping.so", b);
  Server server(test_config(tmp_));
  try {
    server.modules().load_all({"ping"});
    FAIL() << "a module with another ABI was loaded";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find((tmp_ / "ping.so").string()), std::string::npos) << what;
    EXPECT_NE(what.find("parley-module-abi=9;"), std::string::npos) << what;
    EXPECT_NE(what.find(ModuleHost::expected_abi()), std::string::npos) << what;
  }
  EXPECT_FALSE(server.modules().loaded("ping"));
  EXPECT_TRUE(server.features().list(FeatureScope::Host).empty());
}

TEST_F(ModuleFiles, RefusesMissingMisnamedAndUnsafeModuleNames) {
  spit(tmp_ / "pong.so", ping_);  // a ping module under another name
  Server server(test_config(tmp_));
  try {
    server.modules().load_all({"nosuch"});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find((tmp_ / "nosuch.so").string()), std::string::npos);
  }
  EXPECT_THROW(server.modules().load_all({"../pong"}), ConfigError);
  EXPECT_THROW(server.modules().load_all({""}), ConfigError);
  try {
    server.modules().load_all({"pong"});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("calls itself 'ping'"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(server.modules().names().empty());
}

TEST_F(ModuleFiles, ModuleConfigErrorsNameTheModuleAndTheKey) {
  Config config = parse_config(
      "hosts: [localhost]\n"
      "listeners: [{type: c2s, port: 5222}]\n"
      "modules: [ping]\n"
      "modules_config:\n"
      "  ping:\n"
      "    client_ping_intervl: 5m\n");
  config.modules_dir = modules_.string();
  Server server(std::move(config));
  try {
    server.modules().load_all({"ping"});
    FAIL() << "an unknown key was accepted";
  } catch (const ConfigError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("ping"), std::string::npos) << what;
    EXPECT_NE(what.find("client_ping_intervl"), std::string::npos) << what;
  }
  EXPECT_FALSE(server.modules().loaded("ping"));
  // Nothing the half-created module registered survives.
  EXPECT_TRUE(server.features().list(FeatureScope::Host).empty());
}

// ---- ModuleContext on its own ----

struct Counter {
  int value = 0;
};
struct TestEvent {
  static constexpr std::string_view kName = "test/event";
};

TEST(ModuleContextTest, ReleasesEverythingItRegistered) {
  Server server(test_config("/nonexistent"));
  ModuleHost& host = server.modules();
  {
    ModuleContext ctx(server, host, "test");
    ctx.iq("urn:test:self", "q", IqType::Get, IqScope::Self, [](const IqRequest& r) { r.reply(); });
    ctx.iq(
        "urn:test:quiet", "q", IqType::Get, IqScope::Host, [](const IqRequest& r) { r.reply(); },
        /*advertise=*/false);
    ctx.feature("urn:test:feature");
    ctx.identity({"component", "generic", "Test"});
    ctx.disco_item({"", "upload.localhost", "", "Upload"});
    ctx.stream_feature(StreamStage::PreAuth, xml::Element("x", "urn:test:stream"));
    ctx.on<TestEvent>(priority::kNormal, [](TestEvent&) { return Flow::Continue; });
    ctx.provide(std::make_shared<Counter>());

    // Self handlers are account features; advertise=false keeps a namespace out of disco.
    EXPECT_TRUE(contains(server.features().list(FeatureScope::Account), "urn:test:self"));
    EXPECT_FALSE(contains(server.features().list(FeatureScope::Host), "urn:test:quiet"));
    EXPECT_TRUE(contains(server.iq().namespaces(IqScope::Host), "urn:test:quiet"));
    EXPECT_TRUE(contains(server.features().list(FeatureScope::Host), "urn:test:feature"));
    EXPECT_EQ(server.features().disco_items("localhost").size(), 1u);
    EXPECT_EQ(server.features().stream_features(StreamStage::PreAuth).size(), 1u);
    EXPECT_TRUE(server.hooks().has_handlers<TestEvent>());
    ASSERT_NE(ctx.service<Counter>(), nullptr);
    // One provider per service type.
    EXPECT_THROW(host.provide(typeid(Counter), std::make_shared<Counter>()), std::runtime_error);
  }
  EXPECT_TRUE(server.features().list(FeatureScope::Account).empty());
  EXPECT_TRUE(server.features().list(FeatureScope::Host).empty());
  EXPECT_TRUE(server.features().identities(FeatureScope::Host).empty());
  EXPECT_TRUE(server.features().disco_items("localhost").empty());
  EXPECT_TRUE(server.features().stream_features(StreamStage::PreAuth).empty());
  EXPECT_TRUE(server.iq().namespaces(IqScope::Host).empty());
  EXPECT_FALSE(server.hooks().has_handlers<TestEvent>());
  EXPECT_EQ(host.service(typeid(Counter)), nullptr);  // withdrawn with its provider
}

}  // namespace
}  // namespace parley
