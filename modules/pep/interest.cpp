#include "interest.h"

namespace parley::pep {

bool Interest::available(const Jid& owner, const Jid& from, const std::string& caps_key) {
  std::lock_guard lock(mutex_);
  auto& resources = by_owner_[owner.str()];
  auto [it, inserted] = resources.try_emplace(from.str(), Resource{from, caps_key, nullptr});
  if (!inserted && it->second.caps_key == caps_key) return false;
  it->second.caps_key = caps_key;
  auto known = caps_.find(caps_key);
  it->second.features = known == caps_.end() ? nullptr : known->second;
  return true;
}

void Interest::unavailable(const Jid& owner, const Jid& from) {
  std::lock_guard lock(mutex_);
  auto it = by_owner_.find(owner.str());
  if (it == by_owner_.end()) return;
  it->second.erase(from.str());
  if (it->second.empty()) by_owner_.erase(it);
}

bool Interest::available_offline(const Jid& owner, const Jid& from, const std::string& caps_key) {
  std::lock_guard lock(mutex_);
  std::string key = owner.str() + " " + from.str();
  auto it = offline_.find(key);
  if (it != offline_.end()) {
    if (it->second == caps_key) return false;
    it->second = caps_key;
    return true;
  }
  if (offline_.size() >= 16 * max_cached_) offline_.clear();
  offline_.emplace(std::move(key), caps_key);
  return true;
}

void Interest::unavailable_offline(const Jid& owner, const Jid& from) {
  std::lock_guard lock(mutex_);
  offline_.erase(owner.str() + " " + from.str());
}

void Interest::forget(const Jid& owner) {
  std::lock_guard lock(mutex_);
  by_owner_.erase(owner.str());
}

std::vector<Interest::Resource> Interest::resources(const Jid& owner) const {
  std::lock_guard lock(mutex_);
  std::vector<Resource> out;
  auto it = by_owner_.find(owner.str());
  if (it == by_owner_.end()) return out;
  out.reserve(it->second.size());
  for (const auto& [_, r] : it->second) out.push_back(r);
  return out;
}

std::shared_ptr<const FeatureSet> Interest::features_of(const Jid& owner, const Jid& from) const {
  std::lock_guard lock(mutex_);
  auto it = by_owner_.find(owner.str());
  if (it == by_owner_.end()) return nullptr;
  auto r = it->second.find(from.str());
  return r == it->second.end() ? nullptr : r->second.features;
}

std::shared_ptr<const FeatureSet> Interest::known(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = caps_.find(key);
  return it == caps_.end() ? nullptr : it->second;
}

bool Interest::want(const std::string& key, const Jid& owner, const Jid& from) {
  std::lock_guard lock(mutex_);
  auto& waiters = waiting_[key];
  bool first = waiters.empty();
  waiters.emplace_back(owner, from);
  return first;
}

std::vector<std::pair<Jid, Jid>> Interest::learned(const std::string& key,
                                                   std::shared_ptr<const FeatureSet> features,
                                                   bool cache) {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<Jid, Jid>> ready;
  auto waiting = waiting_.extract(key);
  if (cache && features) {
    // A bound, not an LRU: verification strings are few (one per client version), so
    // starting over when it is reached costs a few disco#info queries.
    if (caps_.size() >= max_cached_) caps_.clear();
    caps_[key] = features;
  }
  if (waiting.empty()) return ready;
  for (auto& [owner, from] : waiting.mapped()) {
    auto o = by_owner_.find(owner.str());
    if (o == by_owner_.end()) {
      ready.emplace_back(owner, from);  // an owner without sessions: nothing to remember
      continue;
    }
    auto r = o->second.find(from.str());
    if (r == o->second.end() || r->second.caps_key != key) continue;
    if (r->second.features) continue;  // already served (the same key twice)
    r->second.features = features;
    ready.emplace_back(owner, from);
  }
  return ready;
}

size_t Interest::tracked_accounts() const {
  std::lock_guard lock(mutex_);
  return by_owner_.size();
}

}  // namespace parley::pep
