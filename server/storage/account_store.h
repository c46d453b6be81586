// Accounts and their SCRAM credentials. Call only on a database worker (Database::post).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jid/jid.h"
#include "sasl/credentials.h"
#include "storage/database.h"

namespace parley::storage {

class AccountStore {
 public:
  explicit AccountStore(Connection& c) : c_(c) {}
  bool create(const Jid& bare, const sasl::Credentials& creds);   // false if it exists
  std::optional<sasl::Credentials> credentials(const Jid& bare);  // nullopt: no such account
  bool set_credentials(const Jid& bare, const sasl::Credentials& creds);
  bool exists(const Jid& bare);
  // Deletes the account and everything stored for it (roster, requests, user data).
  bool remove(const Jid& bare);
  std::vector<std::string> list(std::string_view host);  // usernames, sorted
  int64_t count(std::string_view host);

 private:
  Connection& c_;
};

// Per-account small documents: vCard, private XML (XEP-0049), last logout (XEP-0012), ...
// Keyed by (account, store, key).
class UserDataStore {
 public:
  explicit UserDataStore(Connection& c) : c_(c) {}
  std::optional<std::string> get(const Jid& bare, std::string_view store, std::string_view key);
  void set(const Jid& bare, std::string_view store, std::string_view key, std::string_view value);
  bool remove(const Jid& bare, std::string_view store, std::string_view key);

 private:
  Connection& c_;
};

}  // namespace parley::storage
