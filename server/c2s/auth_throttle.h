// Failed-authentication throttling (DESIGN §8): failures are counted per remote IP and per
// account in a sliding window; over the limit, further attempts are refused without checking
// the password. Thread-safe (one mutex, short critical sections).
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/config.h"

namespace parley {

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit AuthThrottle(const C2sConfig& config);
  AuthThrottle(unsigned per_ip, unsigned per_account, std::chrono::milliseconds window);

  // True when this address has had too many failures within the window.
  bool ip_blocked(std::string_view ip, Clock::time_point now = Clock::now());
  // True when this account (bare JID) has had too many failures within the window.
  bool account_blocked(std::string_view account, Clock::time_point now = Clock::now());
  // Records a failed attempt; `account` may be empty when the username was never learned.
  void failure(std::string_view ip, std::string_view account, Clock::time_point now = Clock::now());
  // A success forgets the account's failures (the address keeps its count: one client behind
  // an address guessing many accounts must still be limited).
  void success(std::string_view account);

  size_t tracked() const;  // keys currently held (for tests and metrics)

 private:
  struct Window {
    std::deque<Clock::time_point> failures;
  };
  using Map = std::unordered_map<std::string, Window>;
  bool over(Map& map, std::string_view key, unsigned limit, Clock::time_point now);
  void add(Map& map, std::string_view key, unsigned limit, Clock::time_point now);
  void sweep(Clock::time_point now);

  unsigned per_ip_, per_account_;
  std::chrono::milliseconds window_;
  mutable std::mutex mutex_;
  Map by_ip_, by_account_;
  unsigned since_sweep_ = 0;
};

}  // namespace parley
