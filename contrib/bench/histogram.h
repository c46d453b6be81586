// parley-bench: a fixed-size latency histogram. Open-loop runs last minutes at tens of thousands
// of messages per second; keeping every sample and sorting it would cost the generator memory
// and time that belong to the server's share of the machine. Values below 256 µs are exact;
// above, each power of two is split in 128 buckets, so a reported quantile is within 0.4% of
// the true one (a bucket's middle is reported; the maximum is kept exactly).
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace parley::bench {

class Histogram {
 public:
  Histogram() : counts_(kExact + 57 * kHalf, 0) {}

  void add(int64_t us) {
    uint64_t v = us > 0 ? static_cast<uint64_t>(us) : 0;
    ++counts_[index(v)];
    ++count_;
    sum_ += v;
    max_ = std::max(max_, v);
  }
  uint64_t count() const { return count_; }
  int64_t max() const { return static_cast<int64_t>(max_); }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }
  // The value at quantile q (0..1): the sample of rank round(q * (count - 1)), as percentile()
  // does on sorted samples.
  int64_t quantile(double q) const {
    if (count_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1) + 0.5) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return static_cast<int64_t>(std::min(middle(i), max_));
    }
    return static_cast<int64_t>(max_);
  }
  double quantile_ms(double q) const { return static_cast<double>(quantile(q)) / 1000.0; }
  double max_ms() const { return static_cast<double>(max_) / 1000.0; }
  void clear() {
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = sum_ = max_ = 0;
  }

 private:
  static constexpr uint64_t kExact = 256, kHalf = 128;
  static size_t index(uint64_t v) {
    if (v < kExact) return static_cast<size_t>(v);
    int shift = std::bit_width(v) - 8;  // v >> shift is in [128, 256)
    return static_cast<size_t>(kExact + static_cast<uint64_t>(shift - 1) * kHalf +
                               ((v >> shift) - kHalf));
  }
  static uint64_t middle(size_t i) {
    if (i < kExact) return i;
    uint64_t shift = (i - kExact) / kHalf + 1, mantissa = (i - kExact) % kHalf + kHalf;
    return (mantissa << shift) + (uint64_t{1} << shift) / 2;
  }
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0, sum_ = 0, max_ = 0;
};

}  // namespace parley::bench
