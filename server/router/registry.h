// Local session registry: bound client sessions by bare JID (DESIGN §2: sharded map, short
// critical sections, no lock held while calling out).
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "router/session.h"

namespace parley {

class SessionRegistry {
 public:
  // Registers a session under its full JID. If another session holds the same full JID it is
  // returned (and removed); the caller decides whether to close it (resource conflict).
  SessionPtr add(const SessionPtr& session);
  // Removes this exact session (not a newer one that replaced it). True if it was registered.
  bool remove(const Session& session);
  SessionPtr find(const Jid& full) const;
  std::vector<SessionPtr> resources(const Jid& bare) const;  // all sessions of an account
  std::vector<SessionPtr> all() const;
  size_t size() const;

 private:
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::vector<SessionPtr>> by_bare;
  };
  Shard& shard(std::string_view bare) const;
  mutable std::array<Shard, 64> shards_;
};

}  // namespace parley
