// Roster persistence (RFC 6121 §2) and stored inbound subscription requests (§3.1.3).
// Call only on a database worker (Database::post, keyed by the account's bare JID).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jid/jid.h"
#include "storage/database.h"

namespace parley::im {

enum class Subscription { None, To, From, Both };
std::string_view to_string(Subscription s);  // "none", "to", "from", "both"

struct RosterItem {
  Jid jid;  // bare
  std::string name;
  Subscription subscription = Subscription::None;
  bool ask = false;       // outbound request pending ("None + Pending Out" etc.)
  bool approved = false;  // pre-approved inbound subscription (RFC 6121 §3.4)
  std::vector<std::string> groups;
};

struct SubscriptionRequest {
  Jid from;            // bare JID of the requester
  std::string stanza;  // the original presence, serialized, for redelivery at login
};

class RosterStore {
 public:
  explicit RosterStore(storage::Connection& c) : c_(c) {}
  std::vector<RosterItem> items(const Jid& user);
  std::optional<RosterItem> item(const Jid& user, const Jid& contact);
  // Insert or replace; returns the roster's new version (XEP-0237), strictly increasing.
  int64_t put(const Jid& user, const RosterItem& item);
  int64_t remove(const Jid& user, const Jid& contact);  // returns the new version
  int64_t version(const Jid& user);                     // 0 for an empty, never-changed roster

  // Inbound requests pending the user's decision ("Pending In").
  void add_request(const Jid& user, const SubscriptionRequest& request);  // replaces same 'from'
  bool remove_request(const Jid& user, const Jid& from);
  bool has_request(const Jid& user, const Jid& from);
  std::vector<SubscriptionRequest> requests(const Jid& user);

 private:
  storage::Connection& c_;
};

}  // namespace parley::im
