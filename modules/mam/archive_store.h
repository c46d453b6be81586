// XEP-0313 message archive storage, one archive per account, and XEP-0441 preferences. Call
// only on a database worker (Database::post / write, keyed by the owner's bare JID so that one
// archive's writes and reads run in order).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "jid/jid.h"
#include "storage/database.h"

namespace parley::mam {

enum class Direction { Incoming = 0, Outgoing = 1 };

// A row to append. `seq` comes from a SequenceClock; the archive time is seq / 1000 ms.
struct NewMessage {
  int64_t seq = 0;
  std::string id;             // XEP-0359 stanza-id, unique in the archive
  std::string with;           // bare JID of the other party
  std::string with_resource;  // its resource, "" if none
  Direction direction = Direction::Incoming;
  std::string stanza;  // serialized with its namespace (xep::store_element)
};

struct ArchivedMessage {
  int64_t seq = 0;
  std::string id;
  std::string with;
  std::string with_resource;
  Direction direction = Direction::Incoming;
  int64_t timestamp = 0;  // Unix milliseconds
  std::string stanza;
  std::optional<int64_t> retracted_at;  // XEP-0424: set once retracted
  std::string retracted_by;
};

// XEP-0313 §4.1 filters. Times are inclusive, in Unix milliseconds; the ids are archive ids.
struct Filter {
  std::optional<std::string> with;           // bare JID
  std::optional<std::string> with_resource;  // with a full 'with': that resource only
  std::optional<int64_t> start;
  std::optional<int64_t> end;
  std::optional<std::string> after_id;   // #extended: strictly after this message
  std::optional<std::string> before_id;  // #extended: strictly before this message
  std::vector<std::string> ids;          // #extended: only these messages
};

// XEP-0059 paging. `before` present and empty = the last page.
struct PageRequest {
  int64_t max = 50;
  std::optional<std::string> after;
  std::optional<std::string> before;
  std::optional<int64_t> index;
};

struct Page {
  std::vector<ArchivedMessage> messages;  // chronological
  // No more matching messages beyond the page in the paging direction (XEP-0313 §4.3.2:
  // forwards after the last one, backwards before the first one).
  bool complete = true;
  int64_t count = 0;        // messages matching the filter, all pages (XEP-0059 §2.6)
  int64_t first_index = 0;  // position of the page's first message among them
};

// An id named by a query is not in the archive (XEP-0313 §4.1.3, §4.3.2: item-not-found).
struct UnknownId : std::runtime_error {
  explicit UnknownId(const std::string& id) : std::runtime_error("no message " + id), id(id) {}
  std::string id;
};

// XEP-0441 preferences.
enum class Mode { Always, Never, Roster };
std::string_view to_string(Mode mode);
std::optional<Mode> mode_from_string(std::string_view s);

struct Prefs {
  Mode default_mode = Mode::Always;
  std::vector<std::string> always;  // normalized JIDs (bare or full)
  std::vector<std::string> never;
  friend bool operator==(const Prefs&, const Prefs&) = default;
};

class ArchiveStore {
 public:
  explicit ArchiveStore(storage::Connection& c) : c_(c) {}

  // Appends unless the archive already holds `m.id` (a resent message); false then.
  bool append(const Jid& owner, const NewMessage& m);
  // One page of the messages matching `filter`. Throws UnknownId.
  Page query(const Jid& owner, const Filter& filter, const PageRequest& page);
  // The oldest and newest message (XEP-0313 §5 metadata), or nullopt when empty.
  std::optional<std::pair<ArchivedMessage, ArchivedMessage>> bounds(const Jid& owner);
  int64_t count(const Jid& owner);
  // XEP-0424 / XEP-0425: keeps id, time and with; the stanza becomes `tombstone`.
  bool retract(const Jid& owner, const std::string& id, int64_t at, const std::string& by,
               const std::string& tombstone);
  // Account removal: the archive and the preferences. Returns the messages removed.
  int64_t remove_all(const Jid& owner);
  // Retention: every archive's messages older than `before` (Unix ms). The oldest go first,
  // so no archive gets a hole (XEP-0313 §3.2).
  int64_t purge_older_than(int64_t before);
  // The highest seq in any archive (0 when empty), to start a SequenceClock after it.
  int64_t max_seq();

  std::optional<Prefs> prefs(const Jid& owner);
  void set_prefs(const Jid& owner, const Prefs& prefs);
  // Every account that set preferences, as (bare JID, preferences); the others use the
  // server's default.
  std::vector<std::pair<std::string, Prefs>> all_prefs();

 private:
  storage::Connection& c_;
};

// max(now in microseconds, last + 1): unique and increasing in one process, close to the
// wall clock (XEP-0313 §3.1: the archive keeps the order messages were received in).
class SequenceClock {
 public:
  void advance_to(int64_t seen);  // never hand out `seen` or anything below it
  int64_t next(int64_t now_us);
  int64_t next();  // from the system clock

 private:
  std::atomic<int64_t> last_{0};
};

}  // namespace parley::mam
