// XEP-0160 offline message storage: one row per stanza, oldest first.
#include "offline_store.h"

namespace parley::offline {

using storage::Params;

namespace {

Params owner(const Jid& user) {
  return {std::string(user.domain()), std::string(user.local())};
}

}  // namespace

OfflineStore::Put OfflineStore::put(const Jid& user, int64_t received_at, const std::string& stanza,
                                    int64_t max, const std::string& stanza_id) {
  // Callers post every write for one account to the same worker, so check-then-insert does
  // not race with another put for the same account.
  return c_.transaction([&] {
    if (!stanza_id.empty()) {
      Params p = owner(user);
      p.emplace_back(stanza_id);
      if (!c_.query("SELECT 1 FROM offline_messages WHERE host = ? AND username = ? AND "
                    "stanza_id = ?",
                    p)
               .empty())
        return Put::Duplicate;
    }
    if (count(user) >= max) return Put::Full;
    Params p = owner(user);
    p.emplace_back(stanza_id.empty() ? storage::Param(nullptr) : storage::Param(stanza_id));
    p.emplace_back(received_at);
    p.emplace_back(stanza);
    c_.exec(
        "INSERT INTO offline_messages (host, username, stanza_id, received_at, stanza) "
        "VALUES (?, ?, ?, ?, ?)",
        p);
    return Put::Stored;
  });
}

std::vector<OfflineMessage> OfflineStore::load(const Jid& user) {
  auto rows = c_.query(
      "SELECT id, received_at, stanza FROM offline_messages WHERE host = ? AND username = ? "
      "ORDER BY id",
      owner(user));
  std::vector<OfflineMessage> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back({r.integer(0), r.integer(1), r.str(2)});
  return out;
}

int64_t OfflineStore::remove_up_to(const Jid& user, int64_t up_to) {
  Params p = owner(user);
  p.emplace_back(up_to);
  return c_.exec("DELETE FROM offline_messages WHERE host = ? AND username = ? AND id <= ?", p);
}

int64_t OfflineStore::remove_all(const Jid& user) {
  return c_.exec("DELETE FROM offline_messages WHERE host = ? AND username = ?", owner(user));
}

int64_t OfflineStore::count(const Jid& user) {
  return c_
      .query("SELECT COUNT(*) FROM offline_messages WHERE host = ? AND username = ?", owner(user))
      .at(0)
      .integer(0);
}

int64_t OfflineStore::purge_older_than(int64_t before) {
  return c_.exec("DELETE FROM offline_messages WHERE received_at < ?", {before});
}

}  // namespace parley::offline
