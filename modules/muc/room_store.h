// Persistent group chat rooms (XEP-0045 §10.1.3 "persistent room"): the room's configuration,
// subject and affiliations, so that a room survives restarts and is loaded on first use.
// Call only on a database worker (Database::post), keyed by the room's bare JID so that the
// work for one room runs in order.
//
// The store does not interpret the configuration: the muc module keeps it as an opaque string
// (its own serialization of the room's settings). It does keep the two settings a listing of
// public rooms needs (name, public) in columns of their own, so listing never loads rooms.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jid/jid.h"
#include "storage/database.h"

namespace parley::muc {

// XEP-0045 §5.2. None is never stored (setting None removes the row).
enum class Affiliation { None, Outcast, Member, Admin, Owner };

struct AffiliationEntry {
  Jid jid;  // bare JID (or a domain, for a banned server)
  Affiliation affiliation = Affiliation::None;
  std::string nick;    // reserved nickname (§7.12), "" when none
  std::string reason;  // as given by the admin who set it
  friend bool operator==(const AffiliationEntry&, const AffiliationEntry&) = default;
};

struct StoredRoom {
  Jid jid;                                     // room@service, bare
  std::string name;                            // muc#roomconfig_roomname, "" when unset
  bool is_public = false;                      // muc#roomconfig_publicroom
  std::string config;                          // the module's serialization of all settings
  std::string subject;                         // §8.1, "" when none
  std::string subject_by;                      // the nick (or service) that set it
  int64_t created_at = 0;                      // Unix milliseconds
  std::vector<AffiliationEntry> affiliations;  // only filled by load()
  friend bool operator==(const StoredRoom&, const StoredRoom&) = default;
};

struct RoomListing {
  Jid jid;
  std::string name;
};

class RoomStore {
 public:
  explicit RoomStore(storage::Connection& c) : c_(c) {}

  // The room with its affiliations, or nullopt when it was never saved (or was removed).
  std::optional<StoredRoom> load(const Jid& room);
  // Inserts or updates the room row (not the affiliations).
  void save(const StoredRoom& room);
  // Sets one affiliation; Affiliation::None removes it. Returns false when nothing changed.
  bool set_affiliation(const Jid& room, const AffiliationEntry& entry);
  std::vector<AffiliationEntry> affiliations(const Jid& room);
  // Deletes the room and its affiliations (§10.9 destroy). False if there was no such room.
  bool remove(const Jid& room);
  bool exists(const Jid& room);
  // Public rooms of one service (its domain), ordered by localpart, at most `limit`, after the room
  // JID `after` ("" = from the start): for disco#items with XEP-0059 paging.
  std::vector<RoomListing> public_rooms(const std::string& service, int64_t limit,
                                        const std::string& after = {});
  int64_t count(const std::string& service);

 private:
  storage::Connection& c_;
};

}  // namespace parley::muc
