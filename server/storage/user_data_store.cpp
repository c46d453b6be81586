// Per-account small documents (vCard, XEP-0049 private XML, XEP-0012 last activity, ...),
// keyed by (account, store, key). Values are UTF-8 text.
#include "storage/account_store.h"

namespace parley::storage {

std::optional<std::string> UserDataStore::get(const Jid& bare, std::string_view store,
                                              std::string_view k) {
  auto rows = c_.query(
      "SELECT value FROM user_data WHERE host = ? AND username = ? AND store = ? AND key = ?",
      {std::string(bare.domain()), std::string(bare.local()), std::string(store), std::string(k)});
  if (rows.empty()) return std::nullopt;
  return rows[0].str(0);
}

void UserDataStore::set(const Jid& bare, std::string_view store, std::string_view k,
                        std::string_view value) {
  c_.exec(
      "INSERT INTO user_data (host, username, store, key, value) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (host, username, store, key) DO UPDATE SET value = excluded.value",
      {std::string(bare.domain()), std::string(bare.local()), std::string(store), std::string(k),
       std::string(value)});
}

bool UserDataStore::remove(const Jid& bare, std::string_view store, std::string_view k) {
  return c_.exec("DELETE FROM user_data WHERE host = ? AND username = ? AND store = ? AND key = ?",
                 {std::string(bare.domain()), std::string(bare.local()), std::string(store),
                  std::string(k)}) > 0;
}

}  // namespace parley::storage
