// What rooms of a thousand members need beyond XEP-0045's basics (issue 5): presence broadcast
// by role (muc#roomconfig_presencebroadcast, so that one join does not cost a presence per
// occupant), group messages for members who are not joined (membership is the affiliation,
// not presence: a phone that was asleep misses nothing), and the join history of a room that
// was unloaded while idle (given back from its archive). Part of Room (room.h).
#include <algorithm>
#include <unordered_set>

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

// --- Members who are not in the room --------------------------------------------------------

namespace {

// What a member would want to read later: a body, or an end-to-end encrypted payload that a
// client may send without a <body/> fallback (OMEMO, OpenPGP).
bool worth_keeping(const xml::Element& m) {
  if (m.child("body")) return true;
  for (const auto* c : m.children()) {
    const auto& ns = c->xmlns();
    if ((c->name() == "encrypted" &&
         (ns == "eu.siacs.conversations.axolotl" || ns == "urn:xmpp:omemo:2")) ||
        (c->name() == "openpgp" && ns == "urn:xmpp:openpgp:0"))
      return true;
  }
  return false;
}

}  // namespace

// Only members-only rooms: there the affiliation is the membership (a closed group), so each
// member is owed every message. In an open room a member affiliation is a reserved nick or a
// voice grant rather than a subscription, and copying every message to it would surprise.
// The copy is the message as broadcast (the room's stanza-id, the occupant-id), addressed to
// the member's bare JID; the room sends groupchat to bare JIDs for nothing else, which is how
// the module (muc.cpp, GroupMessageForAbsentMember) and the offline module tell these copies.
void Room::to_absent_members(const xml::Element& message, Outbox& out) const {
  if (!settings_.members_only || !worth_keeping(message)) return;
  std::unordered_set<std::string> joined;
  joined.reserve(occupants_.size());
  for (const auto& o : occupants_) joined.insert(o.bare.str());
  for (const auto& [key, a] : affiliations_) {
    if (a.affiliation < Affiliation::Member || !a.jid.has_local() || a.jid.has_resource()) continue;
    if (joined.count(key)) continue;
    auto copy = std::make_shared<xml::Element>(message);
    copy->set("to", a.jid.str());
    out.push_back(std::move(copy));
  }
}

// --- History of a room loaded again ---------------------------------------------------------

size_t Room::history_capacity() const {
  return static_cast<size_t>(std::max(0, std::min(settings_.history_length, options_.max_history)));
}

void Room::restore_history(std::vector<HistoryEntry> entries) {
  const size_t keep = history_capacity();
  for (auto& e : entries) history_.push_back(std::move(e));
  while (history_.size() > keep) history_.pop_front();
}

}  // namespace parley::muc
