// The control socket parleyctl talks to: a Unix stream socket (mode 0600) under the data
// directory. One line-based command per connection; the reply ends when the server closes.
//   status | sessions | kick <jid> | metrics
#pragma once

#include <memory>
#include <string>

namespace parley {

class Server;

class ControlSocket {
 public:
  explicit ControlSocket(Server& server);
  ~ControlSocket();
  void start();  // throws when the socket cannot be created
  void stop();
  const std::string& path() const { return path_; }

  // Executes one command line and returns the reply text (also used by tests).
  std::string execute(const std::string& line);

 private:
  struct Impl;
  Server& server_;
  std::string path_;
  std::unique_ptr<Impl> impl_;
  std::shared_ptr<void> accept_loop_;  // keeps the accept continuation alive
};

struct Config;
std::string control_socket_path(const Config& config);

}  // namespace parley
