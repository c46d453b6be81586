// Loads modules by name from the modules directory, checks their ABI signature before running
// any of their code, resolves dependencies, and unloads them in reverse order.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <typeindex>
#include <vector>

#include "core/module.h"

namespace parley {

class ModuleHost {
 public:
  explicit ModuleHost(Server& server);
  ~ModuleHost();

  // Loads `names` (and their dependencies first). Throws ConfigError / std::runtime_error with
  // a clear message on a missing module, ABI mismatch or a bad module config.
  void load_all(const std::vector<std::string>& names);
  void unload_all();
  bool loaded(const std::string& name) const;
  std::vector<std::string> names() const;

  // Reads the ABI string embedded in a module file (section .parley_abi) without loading it.
  static std::optional<std::string> read_abi(const std::string& path);
  static const char* expected_abi();

  void provide(std::type_index type, std::shared_ptr<void> service);
  std::shared_ptr<void> service(std::type_index type) const;
  void withdraw(std::type_index type);

 private:
  struct Loaded;
  void load(const std::string& name, std::vector<std::string>& stack);
  Server& server_;
  std::vector<std::unique_ptr<Loaded>> loaded_;  // in load order
  // Where module files are looked up: config().modules_dir, else <bin>/../lib/parley/modules.
  std::string modules_dir() const;
  mutable std::mutex services_mutex_;  // services may be looked up from any thread
  std::map<std::type_index, std::shared_ptr<void>> services_;
};

}  // namespace parley
