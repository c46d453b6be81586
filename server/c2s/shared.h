// Internal to c2s/ and net/listener.cpp: what every connection of one Listeners shares.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/metrics.h"

namespace parley {
class Server;
namespace c2s {

class ClientSession;

struct Shared {
  explicit Shared(Server& server);

  Server& server;
  Metric& connections;
  Metric& in_message;
  Metric& in_presence;
  Metric& in_iq;
  Metric& out;
  Metric& hibernating;  // sessions whose connection is gone, waiting for resumption
  Metric& compactions;  // quiet sessions that freed their parser (c2s.compact_after)

  std::atomic<uint64_t> next_id{1};

  // Connections and sessions waiting for resumption: close_all() reaches them all.
  void track(const std::shared_ptr<ClientSession>& session);
  void untrack(uint64_t id);
  std::vector<std::shared_ptr<ClientSession>> live() const;
  size_t size() const;

  // XEP-0198 §5: resumable sessions by SM-ID, on any listener.
  void remember_resumable(const std::string& sm_id, const std::shared_ptr<ClientSession>& session);
  std::shared_ptr<ClientSession> find_resumable(const std::string& sm_id) const;
  // Forgets the id if it still names `session` (a resumed session took it over otherwise).
  void forget_resumable(const std::string& sm_id, const ClientSession* session);

 private:
  mutable std::mutex mutex_;
  std::unordered_map<uint64_t, std::weak_ptr<ClientSession>> sessions_;
  std::unordered_map<std::string, std::weak_ptr<ClientSession>> resumable_;
};

}  // namespace c2s
}  // namespace parley
