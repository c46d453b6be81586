// Counters and gauges (DESIGN §7), exposed in Prometheus text format (by parleyctl status and,
// later, /metrics). Lock-free increments; names are fixed at registration.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace parley {

class Metric {
 public:
  void inc(int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  void dec(int64_t n = 1) { value_.fetch_sub(n, std::memory_order_relaxed); }
  void set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Metrics {
 public:
  // Returns the metric with this name and labels, creating it once; the reference stays valid.
  // kind: "counter" or "gauge". labels: 'kind="message"' (already formatted) or "".
  Metric& get(const std::string& name, const std::string& labels = {}, const char* kind = "counter",
              const std::string& help = {});
  std::string prometheus() const;

 private:
  struct Entry {
    std::string name, labels, kind, help;
    Metric metric;
  };
  mutable std::mutex mutex_;
  std::deque<Entry> entries_;  // deque: stable addresses
};

}  // namespace parley
