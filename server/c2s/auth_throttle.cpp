#include "c2s/auth_throttle.h"

namespace parley {

AuthThrottle::AuthThrottle(const C2sConfig& config)
    : AuthThrottle(config.auth_failures_per_ip, config.auth_failures_per_account,
                   config.auth_failure_window) {}

AuthThrottle::AuthThrottle(unsigned per_ip, unsigned per_account, std::chrono::milliseconds window)
    : per_ip_(per_ip), per_account_(per_account), window_(window) {}

// Over the limit = `limit` failures already inside the window; the next attempt is refused.
// A limit of 0 disables throttling for that key kind.
bool AuthThrottle::over(Map& map, std::string_view key, unsigned limit, Clock::time_point now) {
  if (limit == 0 || key.empty()) return false;
  auto it = map.find(std::string(key));
  if (it == map.end()) return false;
  auto& f = it->second.failures;
  while (!f.empty() && now - f.front() >= window_) f.pop_front();
  if (f.empty()) {
    map.erase(it);
    return false;
  }
  return f.size() >= limit;
}

void AuthThrottle::add(Map& map, std::string_view key, unsigned limit, Clock::time_point now) {
  if (limit == 0 || key.empty()) return;
  auto& f = map[std::string(key)].failures;
  while (!f.empty() && now - f.front() >= window_) f.pop_front();
  f.push_back(now);
  // Only the newest `limit` timestamps matter for the decision: bound the memory per key.
  while (f.size() > limit) f.pop_front();
}

// Drops keys whose failures all left the window, so an attacker cycling through addresses or
// usernames cannot grow the maps without bound.
void AuthThrottle::sweep(Clock::time_point now) {
  for (Map* map : {&by_ip_, &by_account_}) {
    for (auto it = map->begin(); it != map->end();) {
      auto& f = it->second.failures;
      if (f.empty() || now - f.back() >= window_)
        it = map->erase(it);
      else
        ++it;
    }
  }
}

bool AuthThrottle::ip_blocked(std::string_view ip, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  return over(by_ip_, ip, per_ip_, now);
}

bool AuthThrottle::account_blocked(std::string_view account, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  return over(by_account_, account, per_account_, now);
}

void AuthThrottle::failure(std::string_view ip, std::string_view account, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  add(by_ip_, ip, per_ip_, now);
  add(by_account_, account, per_account_, now);
  if (++since_sweep_ >= 1024) {
    since_sweep_ = 0;
    sweep(now);
  }
}

void AuthThrottle::success(std::string_view account) {
  std::lock_guard lock(mutex_);
  by_account_.erase(std::string(account));
}

size_t AuthThrottle::tracked() const {
  std::lock_guard lock(mutex_);
  return by_ip_.size() + by_account_.size();
}

}  // namespace parley
