#include "c2s/auth_throttle.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using parley::AuthThrottle;

namespace {
const AuthThrottle::Clock::time_point t0{};
}

TEST(C2sAuthThrottle, BlocksAnAddressAfterTheLimit) {
  AuthThrottle t(3, 100, 60s);
  for (int i = 0; i < 2; ++i) t.failure("192.0.2.1", "", t0 + 1s * i);
  EXPECT_FALSE(t.ip_blocked("192.0.2.1", t0 + 3s));
  t.failure("192.0.2.1", "", t0 + 3s);
  EXPECT_TRUE(t.ip_blocked("192.0.2.1", t0 + 4s));
  EXPECT_FALSE(t.ip_blocked("192.0.2.2", t0 + 4s));
}

TEST(C2sAuthThrottle, WindowSlides) {
  AuthThrottle t(2, 100, 60s);
  t.failure("ip", "", t0);
  t.failure("ip", "", t0 + 30s);
  EXPECT_TRUE(t.ip_blocked("ip", t0 + 59s));
  // The first failure left the window: one remains, under the limit.
  EXPECT_FALSE(t.ip_blocked("ip", t0 + 60s));
  EXPECT_FALSE(t.ip_blocked("ip", t0 + 91s));
  EXPECT_EQ(t.tracked(), 0u);  // the expired key was dropped
}

TEST(C2sAuthThrottle, BlocksAnAccountFromAnyAddress) {
  AuthThrottle t(100, 2, 60s);
  t.failure("a", "juliet@example.com", t0);
  t.failure("b", "juliet@example.com", t0 + 1s);
  EXPECT_TRUE(t.account_blocked("juliet@example.com", t0 + 2s));
  EXPECT_FALSE(t.account_blocked("romeo@example.com", t0 + 2s));
  EXPECT_FALSE(t.ip_blocked("a", t0 + 2s));
}

TEST(C2sAuthThrottle, SuccessForgetsTheAccountButNotTheAddress) {
  AuthThrottle t(2, 2, 60s);
  t.failure("ip", "juliet@example.com", t0);
  t.failure("ip", "juliet@example.com", t0 + 1s);
  t.success("juliet@example.com");
  EXPECT_FALSE(t.account_blocked("juliet@example.com", t0 + 2s));
  EXPECT_TRUE(t.ip_blocked("ip", t0 + 2s));
}

TEST(C2sAuthThrottle, ZeroLimitDisables) {
  AuthThrottle t(0, 0, 60s);
  for (int i = 0; i < 50; ++i) t.failure("ip", "x@y", t0);
  EXPECT_FALSE(t.ip_blocked("ip", t0));
  EXPECT_FALSE(t.account_blocked("x@y", t0));
  EXPECT_EQ(t.tracked(), 0u);
}

TEST(C2sAuthThrottle, MemoryPerKeyIsBounded) {
  AuthThrottle t(3, 3, 60s);
  for (int i = 0; i < 10000; ++i) t.failure("ip", "", t0 + 1ms * i);
  EXPECT_TRUE(t.ip_blocked("ip", t0 + 10s));
  EXPECT_EQ(t.tracked(), 1u);
}
