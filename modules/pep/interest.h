// Who wants an account's notifications (XEP-0163 §4.3, "filtered notifications"): the full
// JIDs the account received available presence from (its contacts' resources, local or remote,
// and its own resources), with the entity capabilities (XEP-0115) each announced, and what
// those capabilities mean, cached by verification string: the `<node>+notify` features.
// Thread-safe. Only accounts with a session are tracked (a publish needs the owner online; the
// service publishes of other modules notify those who are tracked).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "jid/jid.h"

namespace parley::pep {

using FeatureSet = std::set<std::string, std::less<>>;

class Interest {
 public:
  explicit Interest(size_t max_cached_caps = 4096) : max_cached_(max_cached_caps) {}

  struct Resource {
    Jid jid;                                     // full JID
    std::string caps_key;                        // "" = announced no capabilities
    std::shared_ptr<const FeatureSet> features;  // null while unknown
  };

  // Available presence from `from` to `owner`, announcing `caps_key`. True when `from` is new
  // to this owner or announced other capabilities (time to send it the last items).
  bool available(const Jid& owner, const Jid& from, const std::string& caps_key);
  void unavailable(const Jid& owner, const Jid& from);
  // The same for an owner without sessions: only whether `from` announcing `caps_key` is new
  // (bounded: starting over when full means some contacts get the last items twice).
  bool available_offline(const Jid& owner, const Jid& from, const std::string& caps_key);
  void unavailable_offline(const Jid& owner, const Jid& from);
  void forget(const Jid& owner);  // the account's last session is gone
  // Every tracked resource of the owner's contacts (and its own), with features if known.
  std::vector<Resource> resources(const Jid& owner) const;
  std::shared_ptr<const FeatureSet> features_of(const Jid& owner, const Jid& from) const;

  // The capabilities cache. known(): the features for a key, or null. want(): records that
  // `owner` waits for `key` on behalf of `from`; true for the first waiter (who asks the
  // entity). learned(): stores the features (when `cache` — verified) and hands them to the
  // resources of every waiter still announcing that key; returns those (owner, resource), and
  // the waiters for owners that are not tracked.
  std::shared_ptr<const FeatureSet> known(const std::string& key) const;
  bool want(const std::string& key, const Jid& owner, const Jid& from);
  std::vector<std::pair<Jid, Jid>> learned(const std::string& key,
                                           std::shared_ptr<const FeatureSet> features, bool cache);

  size_t tracked_accounts() const;

 private:
  mutable std::mutex mutex_;
  size_t max_cached_;
  std::unordered_map<std::string, std::map<std::string, Resource>> by_owner_;
  std::unordered_map<std::string, std::shared_ptr<const FeatureSet>> caps_;
  std::unordered_map<std::string, std::vector<std::pair<Jid, Jid>>> waiting_;
  std::unordered_map<std::string, std::string> offline_;  // "owner from" -> caps key
};

}  // namespace parley::pep
