// What the archive offers other modules (DESIGN §5 services): the group chat module keeps each
// room's archive here (XEP-0313 §6, archives of a MUC room), under the room's bare JID, in the
// same store as the users' archives. A module that uses it lists "mam" in its depends().
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "jid/jid.h"
#include "router/iq.h"
#include "router/stanza_events.h"
#include "xml/element.h"

namespace parley::mam {

class ArchiveService {
 public:
  virtual ~ArchiveService() = default;
  // Appends `message` (as it is sent, without the archive's own stanza-id) to `owner`'s
  // archive, `with` being the other party (for a room: the occupant, room@service/nick), and
  // returns the archive id at once; the row is written on `owner`'s database worker, after
  // which `done` is released (hold the sender's XEP-0198 ack in it).
  virtual std::string append(const Jid& owner, const Jid& with, const xml::Element& message,
                             InFlight done = {}) = 0;
  // Answers a XEP-0313 IQ (query form, query, metadata) addressed to `iq.to()`'s archive. The
  // caller has decided that `iq.from()` may read that archive.
  virtual void serve(const IqRequest& iq) = 0;
  // Deletes `owner`'s whole archive (a destroyed room).
  virtual void remove_all(const Jid& owner) = 0;

  // XEP-0424 / XEP-0425 tombstones: replaces message `id` of `owner`'s archive with what
  // `tombstone` makes of the stored stanza (nullopt: leave it as it is, Refused), keeping its
  // id, time and 'with'; `by` is kept with it (retracted_by). Runs on `owner`'s database
  // worker after every append queued before it; `done` is called there, once committed.
  enum class Retraction { Done, NotFound, Refused, Failed };
  using Tombstone = std::function<std::optional<xml::Element>(const xml::Element& original)>;
  virtual void retract(const Jid& owner, const std::string& id, const std::string& by,
                       Tombstone tombstone, std::function<void(Retraction)> done) = 0;
};

}  // namespace parley::mam
