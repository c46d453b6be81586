// XEP-0191 blocklist persistence (schema/*/003_blocking.sql). Header-only so that the storage
// contract tests can use it without linking the module. Call only on a database worker
// (Database::post, keyed by the account's bare JID).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/log.h"
#include "jid/jid.h"
#include "storage/database.h"

namespace parley::blocking {

class BlocklistStore {
 public:
  explicit BlocklistStore(storage::Connection& c) : c_(c) {}

  // The blocked JIDs of `user`, in bytewise order of their normalized form.
  std::vector<Jid> items(const Jid& user) {
    auto rows = c_.query("SELECT jid FROM blocklist WHERE host = ? AND username = ? ORDER BY jid",
                         owner(user));
    std::vector<Jid> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
      // Written normalized; a row that no longer parses is skipped, not fatal.
      if (auto j = Jid::parse(r.str(0)))
        out.push_back(std::move(*j));
      else
        PLOG(Warn, "blocking") << "skipping stored blocklist entry that is not a valid JID";
    }
    return out;
  }
  // True if `jid` was not blocked yet.
  bool add(const Jid& user, const Jid& jid) {
    return c_.exec(
               "INSERT INTO blocklist (host, username, jid) VALUES (?, ?, ?) "
               "ON CONFLICT (host, username, jid) DO NOTHING",
               owner_and(user, jid)) > 0;
  }
  // True if `jid` was blocked.
  bool remove(const Jid& user, const Jid& jid) {
    return c_.exec("DELETE FROM blocklist WHERE host = ? AND username = ? AND jid = ?",
                   owner_and(user, jid)) > 0;
  }
  // Unblocks everything (and drops the account's data); returns how many were removed.
  int64_t clear(const Jid& user) {
    return c_.exec("DELETE FROM blocklist WHERE host = ? AND username = ?", owner(user));
  }

 private:
  static storage::Params owner(const Jid& user) {
    return {std::string(user.domain()), std::string(user.local())};
  }
  static storage::Params owner_and(const Jid& user, const Jid& jid) {
    return {std::string(user.domain()), std::string(user.local()), jid.str()};
  }

  storage::Connection& c_;
};

}  // namespace parley::blocking
