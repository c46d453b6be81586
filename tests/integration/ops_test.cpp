// Operating parleyd: parleyctl status / sessions / kick against a running server,
// `parleyd --check-config`, and a clean SIGTERM shutdown (system-shutdown to clients, exit 0).
#include <fstream>

#include "common.h"

namespace parley::it {
namespace {

class OpsTest : public ServerSuite<OpsTest> {
 public:
  static ServerOptions options() { return with_users({"op1", "op2"}); }
};

bool listed(const ServerProcess& s, const std::string& jid) {
  auto all = s.sessions();
  return std::find(all.begin(), all.end(), jid) != all.end();
}

TEST_F(OpsTest, StatusWhileRunning) {
  auto r = server().ctl({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("running"), std::string::npos) << r.output;
  // The configured modules are reported as loaded.
  EXPECT_NE(r.output.find("ping"), std::string::npos) << r.output;
}

TEST_F(OpsTest, SessionsListsAConnectedClientAndKickDisconnectsIt) {
  RawClient c(port());
  ASSERT_EQ(c.login("op1", kPassword, "kickme"), "op1@localhost/kickme");
  ASSERT_TRUE(poll_until([&] { return listed(server(), "op1@localhost/kickme"); }))
      << server().ctl({"sessions"}).output;

  auto r = server().ctl({"kick", "op1@localhost/kickme"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("kicked 1"), std::string::npos) << r.output;
  // The client learns why (a stream error) and the connection ends.
  EXPECT_FALSE(c.stream_error().empty()) << "kicked without a stream error";
  EXPECT_TRUE(c.wait_eof());
  EXPECT_TRUE(poll_until([&] { return !listed(server(), "op1@localhost/kickme"); }));

  // Kicking a bare JID ends all of that account's sessions.
  RawClient a(port()), b(port());
  ASSERT_FALSE(a.login("op2", kPassword, "a").empty());
  ASSERT_FALSE(b.login("op2", kPassword, "b").empty());
  ASSERT_TRUE(poll_until(
      [&] { return listed(server(), "op2@localhost/a") && listed(server(), "op2@localhost/b"); }));
  auto all = server().ctl({"kick", "op2@localhost"});
  EXPECT_NE(all.output.find("kicked 2"), std::string::npos) << all.output;
  EXPECT_TRUE(a.wait_eof());
  EXPECT_TRUE(b.wait_eof());
}

TEST_F(OpsTest, CheckConfigNamesTheBrokenKeyAndFails) {
  TempDir dir;
  const std::string base = "hosts:\n  - domain: localhost\ndata_dir: data\n";
  auto bad_type = check_config(dir.path(), base + "c2s:\n  max_stanza_bytes: lots\n");
  EXPECT_NE(bad_type.exit_code, 0) << bad_type.output;
  EXPECT_NE(bad_type.output.find("c2s.max_stanza_bytes"), std::string::npos) << bad_type.output;

  auto typo = check_config(dir.path(), base + "c2s:\n  auth_timout: 5s\n");
  EXPECT_NE(typo.exit_code, 0) << typo.output;
  EXPECT_NE(typo.output.find("auth_timout"), std::string::npos) << typo.output;
  EXPECT_NE(typo.output.find("auth_timeout"), std::string::npos)
      << "no 'did you mean' hint: " << typo.output;

  // The running server's own configuration passes.
  auto ok = run_command({bin_dir() + "/parleyd", "-c", server().config_path(), "--check-config"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

TEST_F(OpsTest, StatusWhenNotRunningSaysSo) {
  TempDir dir;
  // A config whose data dir has no control socket.
  std::string path = dir.path() + "/c.yaml";
  std::ofstream(path) << "hosts:\n  - domain: localhost\ndata_dir: " << dir.path() << "\n";
  auto r = run_command({bin_dir() + "/parleyctl", "-c", path, "status"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("not running"), std::string::npos) << r.output;
}

TEST(OpsShutdownTest, SigtermSendsSystemShutdownAndExitsZero) {
  auto server = start_server(with_users({"sd1", "sd2"}));
  ASSERT_TRUE(server);
  RawClient bound(server->c2s_port());
  ASSERT_FALSE(bound.login("sd1", kPassword, "x").empty());
  RawClient negotiating(server->c2s_port());
  ASSERT_TRUE(negotiating.open_stream());

  int code = server->stop();
  EXPECT_EQ(code, 0) << server->log();
  // RFC 6120 §4.9.3.22: every client, bound or not, is told why.
  EXPECT_EQ(bound.stream_error(), "system-shutdown");
  EXPECT_TRUE(bound.wait_eof());
  EXPECT_EQ(negotiating.stream_error(), "system-shutdown");
}

}  // namespace
}  // namespace parley::it
