// Publish-subscribe nodes and items (XEP-0060), as the pep module keeps them for each account
// (XEP-0163: the account's bare JID is the service). Call only on a database worker
// (Database::post), keyed by the service JID's text so that the work for one service runs in
// order (publish then notify, read-modify-write of a node).
//
// The store does not interpret node settings: the module keeps them as an opaque string (its
// own serialization of the node configuration form). Items keep their payload serialized
// (xep::store_element) and a sequence number: items of a node are ordered by it, a new
// publication (also of an existing id, which replaces that item) gets a higher one than every
// item of that node.
//
// A service is its bare JID: a resource on the Jid passed in is ignored. Sequence numbers are
// max + 1 within the node, so after the newest item is retracted (or the node purged) the next
// publication may reuse a seq that an item no longer there had.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jid/jid.h"
#include "storage/database.h"

namespace parley::pubsub {

struct StoredNode {
  std::string node;        // the NodeID
  std::string config;      // the module's serialization of the node's settings
  int64_t created_at = 0;  // Unix milliseconds
  friend bool operator==(const StoredNode&, const StoredNode&) = default;
};

struct StoredItem {
  std::string id;            // the ItemID, unique within its node
  std::string payload;       // the item's payload element, serialized ("" = no payload)
  std::string publisher;     // the publisher's JID as it published
  int64_t published_at = 0;  // Unix milliseconds
  int64_t seq = 0;           // set by the store: order of publication within the node
  friend bool operator==(const StoredItem&, const StoredItem&) = default;
};

class PubsubStore {
 public:
  explicit PubsubStore(storage::Connection& c) : c_(c) {}

  // Nodes of one service.
  std::optional<StoredNode> node(const Jid& service, const std::string& node);
  std::vector<StoredNode> nodes(const Jid& service);  // in NodeID order
  int64_t node_count(const Jid& service);
  // Creates the node; false (and nothing changed) when it exists.
  bool create(const Jid& service, const StoredNode& node);
  // Replaces the node's settings; false when there is no such node.
  bool configure(const Jid& service, const std::string& node, const std::string& config);
  // Deletes the node and all its items; false when there was no such node.
  bool remove_node(const Jid& service, const std::string& node);

  // Stores `item` as the newest of the node (replacing an item with the same id), then, with
  // `max_items`, deletes the oldest items beyond that many. Returns the ids deleted by that
  // trimming (never the item just published: a `max_items` below 1 keeps that one alone).
  // The node must exist: publishing to one that does not throws storage::DatabaseError and
  // stores nothing. `item.seq` is ignored; read the one given with item().
  std::vector<std::string> publish(const Jid& service, const std::string& node,
                                   const StoredItem& item,
                                   std::optional<int64_t> max_items = std::nullopt);
  // Deletes the oldest items of the node beyond `max_items` (0 or less: all of them); returns
  // the ids deleted, oldest first.
  std::vector<std::string> trim(const Jid& service, const std::string& node, int64_t max_items);
  // Deletes one item; false when the node holds no item with that id.
  bool retract(const Jid& service, const std::string& node, const std::string& id);
  // Deletes every item of the node; returns how many.
  int64_t purge(const Jid& service, const std::string& node);

  std::optional<StoredItem> item(const Jid& service, const std::string& node,
                                 const std::string& id);
  int64_t item_count(const Jid& service, const std::string& node);
  // At most `limit` items, newest first, all older than `older_than` (a seq; default: from the
  // newest). For "the N most recent" and for paging towards older items (XEP-0059 'after').
  // A `limit` of 0 or less gives nothing (as for oldest()).
  std::vector<StoredItem> newest(const Jid& service, const std::string& node, int64_t limit,
                                 std::optional<int64_t> older_than = std::nullopt);
  // At most `limit` items, oldest first, all newer than `newer_than` (a seq; default: from the
  // oldest). For paging towards newer items (XEP-0059 'before').
  std::vector<StoredItem> oldest(const Jid& service, const std::string& node, int64_t limit,
                                 std::optional<int64_t> newer_than = std::nullopt);
  // The newest item of every node of the service that has one, by NodeID (for the last
  // published items sent when a contact comes online, XEP-0163 §4.3.4).
  std::vector<std::pair<std::string, StoredItem>> last_items(const Jid& service);

  // Deletes every node and item of the service (the account was deleted).
  void remove_service(const Jid& service);

 private:
  storage::Connection& c_;
};

}  // namespace parley::pubsub
