// Integration test entry point: GoogleTest plus a listener that prints the log of every
// running parleyd when a test fails, so a server-side cause is visible next to the failure.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "harness.h"

namespace {

class ServerLogOnFailure : public testing::EmptyTestEventListener {
  void OnTestEnd(const testing::TestInfo& info) override {
    if (!info.result()->Failed()) return;
    for (const auto* server : parley::it::ServerProcess::live()) {
      std::string log = server->log();
      // The tail is what matters; a whole debug log would drown the failure.
      constexpr size_t kTail = 16 * 1024;
      if (log.size() > kTail) log = "...\n" + log.substr(log.size() - kTail);
      std::fprintf(stderr, "---- parleyd log (%s) ----\n%s---- end of parleyd log ----\n",
                   server->dir().c_str(), log.c_str());
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  // A server that closes while we write must fail the write, not kill the test process.
  std::signal(SIGPIPE, SIG_IGN);
  testing::InitGoogleTest(&argc, argv);
  testing::UnitTest::GetInstance()->listeners().Append(new ServerLogOnFailure);
  return RUN_ALL_TESTS();
}
