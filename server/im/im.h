// The IM core of RFC 6121 — rosters, subscriptions, presence — registered into the server's
// IQ router, hooks and stream features. Core, not a module: Server::start() constructs it once
// storage is open, and destroying it removes every registration.
#pragma once

#include <vector>

#include "core/events.h"
#include "core/registration.h"

namespace parley {

class Server;

class Im {
 public:
  explicit Im(Server& server);
  ~Im();
  Im(const Im&) = delete;
  Im& operator=(const Im&) = delete;

 private:
  std::vector<Registration> registrations_;
  std::vector<HookToken> hooks_;
};

}  // namespace parley
