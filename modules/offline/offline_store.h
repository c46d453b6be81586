// XEP-0160 offline message storage. Call only on a database worker (Database::post, keyed by
// the account's bare JID so that storing and delivery for one account run in order).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jid/jid.h"
#include "storage/database.h"

namespace parley::offline {

struct OfflineMessage {
  int64_t id = 0;           // increasing in arrival order
  int64_t received_at = 0;  // Unix milliseconds
  std::string stanza;       // serialized with its namespace (xep::store_element)
};

class OfflineStore {
 public:
  explicit OfflineStore(storage::Connection& c) : c_(c) {}

  enum class Put { Stored, Duplicate, Full };
  // Appends unless the account already holds `max` messages, or already holds a message with
  // the same non-empty `stanza_id` (XEP-0359).
  Put put(const Jid& user, int64_t received_at, const std::string& stanza, int64_t max,
          const std::string& stanza_id = {});
  std::vector<OfflineMessage> load(const Jid& user);  // oldest first
  // Deletes the account's messages with id <= up_to (what a delivery sent); returns how many.
  int64_t remove_up_to(const Jid& user, int64_t up_to);
  int64_t remove_all(const Jid& user);
  int64_t count(const Jid& user);
  // Retention: deletes every account's messages received before `before` (Unix ms).
  int64_t purge_older_than(int64_t before);

 private:
  storage::Connection& c_;
};

}  // namespace parley::offline
