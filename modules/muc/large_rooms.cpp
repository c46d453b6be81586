// What rooms of a thousand members need beyond XEP-0045's basics (issue 5): presence broadcast
// by role (muc#roomconfig_presencebroadcast, so that one join does not cost a presence per
// occupant). Part of Room (room.h).
#include "room.h"

namespace parley::muc {

// --- Presence broadcast by role -------------------------------------------------------------

bool Room::broadcasts(Role role) const {
  const auto& b = settings_.presence_broadcast;
  switch (role) {
    case Role::Moderator:
      return b.moderator;
    case Role::Participant:
      return b.participant;
    case Role::Visitor:
      return b.visitor;
    case Role::None:
      return false;
  }
  return false;
}

// The other occupants see `o` exactly while `o.shown`: an occupant whose role is broadcast is
// shown by its available presence; one whose role is not broadcast is never shown, so its
// leaving, nick change or kick means nothing to them and is not sent (as in Prosody); one that
// was shown and loses a broadcast role (devoiced in a room broadcasting only participants,
// say) leaves for them with an unavailable presence, so no client keeps a stale occupant.
std::optional<std::string_view> Room::for_others(Occupant& o, std::string_view type) {
  if (type == "unavailable") {
    if (!o.shown) return std::nullopt;
    o.shown = false;
    return type;
  }
  if (broadcasts(o.role)) {
    o.shown = true;
    return type;
  }
  if (!o.shown) return std::nullopt;
  o.shown = false;
  return std::string_view("unavailable");
}

void Room::sync_presence_broadcast(Outbox& out) {
  for (auto& o : occupants_) {
    if (broadcasts(o.role) == o.shown) continue;
    const auto type = for_others(o, {});
    if (!type) continue;
    for (const auto& viewer : occupants_)
      if (&viewer != &o)
        for (const auto& s : viewer.sessions)
          out.push_back(presence_for(o, viewer, s.jid, {}, *type, {}));
  }
}

}  // namespace parley::muc
