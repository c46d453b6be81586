#include "router/registry.h"

#include <algorithm>
#include <functional>

namespace parley {

SessionRegistry::Shard& SessionRegistry::shard(std::string_view bare) const {
  return shards_[std::hash<std::string_view>{}(bare) % shards_.size()];
}

SessionPtr SessionRegistry::add(const SessionPtr& session) {
  auto bare = session->jid().bare_str();
  auto& s = shard(bare);
  std::lock_guard lock(s.mutex);
  auto& list = s.by_bare[std::string(bare)];
  SessionPtr replaced;
  auto it = std::find_if(list.begin(), list.end(),
                         [&](const SessionPtr& p) { return p->jid() == session->jid(); });
  if (it != list.end()) {
    replaced = *it;
    *it = session;
  } else {
    list.push_back(session);
  }
  return replaced;
}

bool SessionRegistry::remove(const Session& session) {
  auto bare = session.jid().bare_str();
  auto& s = shard(bare);
  std::lock_guard lock(s.mutex);
  auto it = s.by_bare.find(std::string(bare));
  if (it == s.by_bare.end()) return false;
  auto& list = it->second;
  auto pos = std::find_if(list.begin(), list.end(),
                          [&](const SessionPtr& p) { return p.get() == &session; });
  if (pos == list.end()) return false;
  list.erase(pos);
  if (list.empty()) s.by_bare.erase(it);
  return true;
}

SessionPtr SessionRegistry::find(const Jid& full) const {
  auto& s = shard(full.bare_str());
  std::lock_guard lock(s.mutex);
  auto it = s.by_bare.find(std::string(full.bare_str()));
  if (it == s.by_bare.end()) return nullptr;
  for (const auto& p : it->second)
    if (p->jid() == full) return p;
  return nullptr;
}

std::vector<SessionPtr> SessionRegistry::resources(const Jid& bare) const {
  auto& s = shard(bare.bare_str());
  std::lock_guard lock(s.mutex);
  auto it = s.by_bare.find(std::string(bare.bare_str()));
  return it == s.by_bare.end() ? std::vector<SessionPtr>{} : it->second;
}

std::vector<SessionPtr> SessionRegistry::all() const {
  std::vector<SessionPtr> out;
  for (auto& s : shards_) {
    std::lock_guard lock(s.mutex);
    for (const auto& [_, list] : s.by_bare) out.insert(out.end(), list.begin(), list.end());
  }
  return out;
}

size_t SessionRegistry::size() const {
  size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard lock(s.mutex);
    for (const auto& [_, list] : s.by_bare) n += list.size();
  }
  return n;
}

}  // namespace parley
