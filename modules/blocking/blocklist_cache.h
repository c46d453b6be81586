// The blocklists the stanza filters decide with, so that a filter never waits for the database
// (DESIGN §2). Thread-safe; lists are immutable snapshots matched outside the lock.
//
// An account's list is held while the account has a session. A stanza for an account whose
// list is not held (the account is offline, or its list is still loading after login) is
// "deferred": decided on the account's database worker, after everything already queued there
// (a block command, the load at login). While any stanza of an account is deferred, later ones
// are deferred too, so stanzas between two parties keep their order (RFC 6120 §10.1).
#pragma once

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "modules/blocking/blocklist.h"

namespace parley::blocking {

class Cache {
 public:
  // The list to decide with now, or null: then one more stanza of `bare` is deferred and the
  // caller must call settle() once for it, from the account's worker.
  ListPtr ready_or_defer(const std::string& bare) {
    {
      std::shared_lock lock(mutex_);
      auto it = entries_.find(bare);
      if (it != entries_.end() && it->second.list && it->second.deferred == 0)
        return it->second.list;
    }
    std::unique_lock lock(mutex_);
    Entry& e = entries_[bare];
    if (e.list && e.deferred == 0) return e.list;
    ++e.deferred;
    return nullptr;
  }

  // The held list, or null; never defers. For checks that may fall through when nothing is
  // held (the list of the account a presence comes from).
  ListPtr find(const std::string& bare) const {
    std::shared_lock lock(mutex_);
    auto it = entries_.find(bare);
    return it == entries_.end() ? nullptr : it->second.list;
  }

  // A deferred stanza of `bare` was decided with `list`, just loaded from storage (null if
  // loading failed). `online`: the account has a session, so the list is worth holding.
  void settle(const std::string& bare, ListPtr list, bool online) {
    std::unique_lock lock(mutex_);
    auto it = entries_.find(bare);
    if (it == entries_.end()) return;
    if (it->second.deferred > 0) --it->second.deferred;
    if (online && list) replace(it->second, std::move(list));
    forget_if_unused(it, online);
  }

  // The account's list as now stored (after a load at login, a block or an unblock).
  void store(const std::string& bare, ListPtr list, bool online) {
    std::unique_lock lock(mutex_);
    if (!online) {
      auto it = entries_.find(bare);
      if (it != entries_.end()) forget_if_unused(it, false);
      return;
    }
    replace(entries_[bare], std::move(list));
  }

  // The account's last session ended.
  void evict(const std::string& bare) {
    std::unique_lock lock(mutex_);
    auto it = entries_.find(bare);
    if (it != entries_.end()) forget_if_unused(it, false);
  }

  bool holds(const std::string& bare) const {
    std::shared_lock lock(mutex_);
    auto it = entries_.find(bare);
    return it != entries_.end() && it->second.list;
  }

  // False while no held list has an item: the delivery filter then costs one atomic load.
  bool anyone_blocks() const { return nonempty_.load(std::memory_order_relaxed) > 0; }

 private:
  struct Entry {
    ListPtr list;      // null: not held
    int deferred = 0;  // stanzas waiting on the account's worker
  };
  using Map = std::unordered_map<std::string, Entry>;

  static bool counts(const ListPtr& l) { return l && !l->empty(); }
  void replace(Entry& e, ListPtr list) {
    nonempty_ += (counts(list) ? 1 : 0) - (counts(e.list) ? 1 : 0);
    e.list = std::move(list);
  }
  // Without a session the list is dropped; the entry goes once nothing waits on it.
  void forget_if_unused(Map::iterator it, bool online) {
    if (online) return;
    replace(it->second, nullptr);
    if (it->second.deferred == 0) entries_.erase(it);
  }

  mutable std::shared_mutex mutex_;
  Map entries_;
  std::atomic<long> nonempty_{0};
};

}  // namespace parley::blocking
