// Internal to c2s/ and net/listener.cpp: what every connection of one Listeners shares.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
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

  std::atomic<uint64_t> next_id{1};

  void track(const std::shared_ptr<ClientSession>& session);
  void untrack(uint64_t id);
  std::vector<std::shared_ptr<ClientSession>> live() const;
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<uint64_t, std::weak_ptr<ClientSession>> sessions_;
};

}  // namespace c2s
}  // namespace parley
