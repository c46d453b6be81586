// Stanzas the blocking filters already let through after deciding them on a database worker.
// Such a stanza is fired again from the top, and may be fired again later still by another
// module that also decides on a worker (the archive): each time, the filter must know it was
// decided, or it would send it back to the database, and two such modules would pass it back
// and forth for ever. So the mark lives as long as the stanza object, not as long as one call.
// Header-only: the module and tests/unit include it. Thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "xml/element.h"

namespace parley::blocking {

class Decisions {
 public:
  // `stanza` passed `account`'s list.
  void passed(const std::shared_ptr<xml::Element>& stanza, const std::string& account) {
    Shard& s = shard(stanza.get());
    std::lock_guard lock(s.mutex);
    if (s.entries.size() >= s.sweep_at) {
      for (auto it = s.entries.begin(); it != s.entries.end();)
        it = it->second.stanza.expired() ? s.entries.erase(it) : std::next(it);
      s.sweep_at = std::max<size_t>(kMinSweep, 2 * s.entries.size());
    }
    s.entries.emplace(stanza.get(), Entry{stanza, account});
    count_.fetch_add(1, std::memory_order_relaxed);
  }

  // Whether this stanza object passed `account`'s list (a freed stanza whose address was
  // reused does not count).
  bool decided(const xml::Element* stanza, const std::string& account) const {
    if (count_.load(std::memory_order_relaxed) == 0) return false;
    const Shard& s = shard(stanza);
    std::lock_guard lock(s.mutex);
    auto [begin, end] = s.entries.equal_range(stanza);
    for (auto it = begin; it != end; ++it)
      if (it->second.account == account && !it->second.stanza.expired()) return true;
    return false;
  }

 private:
  static constexpr size_t kMinSweep = 64;
  static constexpr size_t kShards = 16;
  struct Entry {
    std::weak_ptr<xml::Element> stanza;
    std::string account;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_multimap<const xml::Element*, Entry> entries;
    size_t sweep_at = kMinSweep;
  };
  // Heap addresses are 16-byte aligned: the low bits say nothing.
  static size_t index(const xml::Element* p) {
    return (reinterpret_cast<uintptr_t>(p) >> 4) % kShards;
  }
  Shard& shard(const xml::Element* p) { return shards_[index(p)]; }
  const Shard& shard(const xml::Element* p) const { return shards_[index(p)]; }

  std::array<Shard, kShards> shards_;
  std::atomic<size_t> count_{0};  // ever added: a quick "nothing yet" for the common case
};

}  // namespace parley::blocking
