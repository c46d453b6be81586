// XEP-0060 nodes and items of each account's PEP service (XEP-0163): one pubsub_nodes row per
// node, keyed by (service bare JID, NodeID), and one pubsub_items row per item, ordered within
// its node by seq (schema/*/006_pubsub.sql). Every read of a node's items walks the
// (service, node, seq) index.
#include "pubsub_store.h"

#include <algorithm>
#include <utility>

namespace parley::pubsub {

using storage::Params;

namespace {

constexpr const char* kItemColumns = "item_id, payload, publisher, published_at, seq";

// The service is the account: its bare JID, whatever resource a caller's Jid carries.
Params key(const Jid& service) {
  return {std::string(service.bare_str())};
}

Params key(const Jid& service, const std::string& node) {
  return {std::string(service.bare_str()), node};
}

// A row of kItemColumns from column `at` on.
StoredItem to_item(const storage::Row& r, size_t at = 0) {
  StoredItem out;
  out.id = r.str(at);
  out.payload = r.str(at + 1);
  out.publisher = r.str(at + 2);
  out.published_at = r.integer(at + 3);
  out.seq = r.integer(at + 4);
  return out;
}

std::vector<StoredItem> to_items(const storage::Rows& rows) {
  std::vector<StoredItem> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(to_item(r));
  return out;
}

// Deletes the oldest items of the node beyond `keep` and returns their ids, oldest first. The
// caller runs it in a transaction: the ids and the delete must see the same rows.
std::vector<std::string> trim_items(storage::Connection& c, const Jid& service,
                                    const std::string& node, int64_t keep) {
  // The newest item that goes: with it, every older one. (Not "LIMIT -1 OFFSET n", which
  // SQLite needs for an offset without a limit and PostgreSQL refuses.)
  Params p = key(service, node);
  p.emplace_back(std::max<int64_t>(keep, 0));
  auto cut = c.query(
      "SELECT seq FROM pubsub_items WHERE service = ? AND node = ? ORDER BY seq DESC "
      "LIMIT 1 OFFSET ?",
      p);
  std::vector<std::string> removed;
  if (cut.empty()) return removed;
  Params q = key(service, node);
  q.emplace_back(cut.front().integer(0));
  // Not DELETE ... RETURNING: neither backend promises the order of the returned rows.
  auto rows = c.query(
      "SELECT item_id FROM pubsub_items WHERE service = ? AND node = ? AND seq <= ? "
      "ORDER BY seq",
      q);
  removed.reserve(rows.size());
  for (const auto& r : rows) removed.push_back(r.str(0));
  c.exec("DELETE FROM pubsub_items WHERE service = ? AND node = ? AND seq <= ?", q);
  return removed;
}

}  // namespace

std::optional<StoredNode> PubsubStore::node(const Jid& service, const std::string& node) {
  auto rows =
      c_.query("SELECT node, config, created_at FROM pubsub_nodes WHERE service = ? AND node = ?",
               key(service, node));
  if (rows.empty()) return std::nullopt;
  const auto& r = rows.front();
  return StoredNode{r.str(0), r.str(1), r.integer(2)};
}

std::vector<StoredNode> PubsubStore::nodes(const Jid& service) {
  // Bytewise on both backends (COLLATE "C" on PostgreSQL).
  auto rows =
      c_.query("SELECT node, config, created_at FROM pubsub_nodes WHERE service = ? ORDER BY node",
               key(service));
  std::vector<StoredNode> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back({r.str(0), r.str(1), r.integer(2)});
  return out;
}

int64_t PubsubStore::node_count(const Jid& service) {
  return c_.query("SELECT COUNT(*) FROM pubsub_nodes WHERE service = ?", key(service))
      .at(0)
      .integer(0);
}

bool PubsubStore::create(const Jid& service, const StoredNode& node) {
  Params p = key(service, node.node);
  p.emplace_back(node.config);
  p.emplace_back(node.created_at);
  // DO NOTHING: both backends report 0 rows for an existing node, which keeps its settings.
  return c_.exec(
             "INSERT INTO pubsub_nodes (service, node, config, created_at) VALUES (?, ?, ?, ?) "
             "ON CONFLICT (service, node) DO NOTHING",
             p) > 0;
}

bool PubsubStore::configure(const Jid& service, const std::string& node,
                            const std::string& config) {
  Params p{config};
  for (auto& k : key(service, node)) p.push_back(std::move(k));
  // Both backends count the rows matched, so settings equal to the stored ones are still true.
  return c_.exec("UPDATE pubsub_nodes SET config = ? WHERE service = ? AND node = ?", p) > 0;
}

bool PubsubStore::remove_node(const Jid& service, const std::string& node) {
  return c_.transaction([&] {
    c_.exec("DELETE FROM pubsub_items WHERE service = ? AND node = ?", key(service, node));
    return c_.exec("DELETE FROM pubsub_nodes WHERE service = ? AND node = ?", key(service, node)) >
           0;
  });
}

std::vector<std::string> PubsubStore::publish(const Jid& service, const std::string& node,
                                              const StoredItem& item,
                                              std::optional<int64_t> max_items) {
  return c_.transaction([&] {
    // The node's next seq, and whether there is such a node at all (no row: there is not).
    // The caller serializes the work for one service, so nothing publishes in between.
    Params k = key(service, node);
    Params both = k;
    both.insert(both.end(), k.begin(), k.end());
    auto next = c_.query(
        "SELECT (SELECT COALESCE(MAX(seq), 0) FROM pubsub_items WHERE service = ? AND "
        "node = ?) + 1 FROM pubsub_nodes WHERE service = ? AND node = ?",
        both);
    if (next.empty())
      throw storage::DatabaseError("pubsub: publish to node '" + node + "' of " +
                                   std::string(service.bare_str()) + ", which does not exist");
    Params p = k;
    p.emplace_back(item.id);
    p.emplace_back(next.front().integer(0));
    p.emplace_back(item.payload);
    p.emplace_back(item.publisher);
    p.emplace_back(item.published_at);
    // An existing id takes the new seq too: replaced, it is the newest item.
    c_.exec(
        "INSERT INTO pubsub_items (service, node, item_id, seq, payload, publisher, "
        "published_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (service, node, item_id) DO "
        "UPDATE SET seq = excluded.seq, payload = excluded.payload, "
        "publisher = excluded.publisher, published_at = excluded.published_at",
        p);
    if (!max_items) return std::vector<std::string>{};
    // The item just published is the newest, so keeping at least one keeps it.
    return trim_items(c_, service, node, std::max<int64_t>(*max_items, 1));
  });
}

std::vector<std::string> PubsubStore::trim(const Jid& service, const std::string& node,
                                           int64_t max_items) {
  return c_.transaction([&] { return trim_items(c_, service, node, max_items); });
}

bool PubsubStore::retract(const Jid& service, const std::string& node, const std::string& id) {
  Params p = key(service, node);
  p.emplace_back(id);
  return c_.exec("DELETE FROM pubsub_items WHERE service = ? AND node = ? AND item_id = ?", p) > 0;
}

int64_t PubsubStore::purge(const Jid& service, const std::string& node) {
  return c_.exec("DELETE FROM pubsub_items WHERE service = ? AND node = ?", key(service, node));
}

std::optional<StoredItem> PubsubStore::item(const Jid& service, const std::string& node,
                                            const std::string& id) {
  Params p = key(service, node);
  p.emplace_back(id);
  auto rows = c_.query(std::string("SELECT ") + kItemColumns +
                           " FROM pubsub_items WHERE service = ? AND node = ? AND item_id = ?",
                       p);
  if (rows.empty()) return std::nullopt;
  return to_item(rows.front());
}

int64_t PubsubStore::item_count(const Jid& service, const std::string& node) {
  return c_
      .query("SELECT COUNT(*) FROM pubsub_items WHERE service = ? AND node = ?", key(service, node))
      .at(0)
      .integer(0);
}

std::vector<StoredItem> PubsubStore::newest(const Jid& service, const std::string& node,
                                            int64_t limit, std::optional<int64_t> older_than) {
  // PostgreSQL refuses a negative LIMIT and SQLite reads it as none: both mean nothing here.
  if (limit <= 0) return {};
  Params p = key(service, node);
  std::string sql =
      std::string("SELECT ") + kItemColumns + " FROM pubsub_items WHERE service = ? AND node = ?";
  if (older_than) {
    sql += " AND seq < ?";
    p.emplace_back(*older_than);
  }
  sql += " ORDER BY seq DESC LIMIT ?";
  p.emplace_back(limit);
  return to_items(c_.query(sql, p));
}

std::vector<StoredItem> PubsubStore::oldest(const Jid& service, const std::string& node,
                                            int64_t limit, std::optional<int64_t> newer_than) {
  if (limit <= 0) return {};
  Params p = key(service, node);
  std::string sql =
      std::string("SELECT ") + kItemColumns + " FROM pubsub_items WHERE service = ? AND node = ?";
  if (newer_than) {
    sql += " AND seq > ?";
    p.emplace_back(*newer_than);
  }
  sql += " ORDER BY seq LIMIT ?";
  p.emplace_back(limit);
  return to_items(c_.query(sql, p));
}

std::vector<std::pair<std::string, StoredItem>> PubsubStore::last_items(const Jid& service) {
  // seq is unique within a node, so the subquery picks exactly one row per node that has items.
  auto rows = c_.query(
      "SELECT i.node, i.item_id, i.payload, i.publisher, i.published_at, i.seq "
      "FROM pubsub_items i WHERE i.service = ? AND i.seq = (SELECT MAX(m.seq) FROM "
      "pubsub_items m WHERE m.service = i.service AND m.node = i.node) ORDER BY i.node",
      key(service));
  std::vector<std::pair<std::string, StoredItem>> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.emplace_back(r.str(0), to_item(r, 1));
  return out;
}

void PubsubStore::remove_service(const Jid& service) {
  c_.transaction([&] {
    c_.exec("DELETE FROM pubsub_items WHERE service = ?", key(service));
    c_.exec("DELETE FROM pubsub_nodes WHERE service = ?", key(service));
  });
}

}  // namespace parley::pubsub
