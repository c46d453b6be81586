// XEP-0045 persistent rooms: one muc_rooms row per room, keyed by (service domain, room
// localpart), and one muc_affiliations row per affiliated bare JID.
#include "room_store.h"

namespace parley::muc {

using storage::Params;

namespace {

Params key(const Jid& room) {
  return {std::string(room.domain()), std::string(room.local())};
}

const char* to_text(Affiliation a) {
  switch (a) {
    case Affiliation::Owner:
      return "owner";
    case Affiliation::Admin:
      return "admin";
    case Affiliation::Member:
      return "member";
    case Affiliation::Outcast:
      return "outcast";
    case Affiliation::None:
      break;
  }
  return "none";
}

Affiliation from_text(const std::string& s) {
  if (s == "owner") return Affiliation::Owner;
  if (s == "admin") return Affiliation::Admin;
  if (s == "member") return Affiliation::Member;
  if (s == "outcast") return Affiliation::Outcast;
  return Affiliation::None;  // the CHECK constraint admits nothing else
}

}  // namespace

std::optional<StoredRoom> RoomStore::load(const Jid& room) {
  auto rows = c_.query(
      "SELECT room_name, is_public, config, subject, subject_by, created_at FROM muc_rooms "
      "WHERE service = ? AND name = ?",
      key(room));
  if (rows.empty()) return std::nullopt;
  const auto& r = rows.front();
  StoredRoom out;
  out.jid = room.bare();
  out.name = r.str(0);
  out.is_public = r.integer(1) != 0;
  out.config = r.str(2);
  out.subject = r.str(3);
  out.subject_by = r.str(4);
  out.created_at = r.integer(5);
  out.affiliations = affiliations(room);
  return out;
}

void RoomStore::save(const StoredRoom& room) {
  Params p = key(room.jid);
  p.emplace_back(room.name);
  p.emplace_back(int64_t{room.is_public ? 1 : 0});
  p.emplace_back(room.config);
  p.emplace_back(room.subject);
  p.emplace_back(room.subject_by);
  p.emplace_back(room.created_at);
  c_.exec(
      "INSERT INTO muc_rooms (service, name, room_name, is_public, config, subject, subject_by, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (service, name) DO UPDATE SET "
      "room_name = excluded.room_name, is_public = excluded.is_public, config = excluded.config, "
      "subject = excluded.subject, subject_by = excluded.subject_by, "
      "created_at = excluded.created_at",
      p);
}

bool RoomStore::set_affiliation(const Jid& room, const AffiliationEntry& entry) {
  // Affiliations belong to bare JIDs (§5.2); a resource would make a second, unreachable key.
  Params p = key(room);
  p.emplace_back(std::string(entry.jid.bare_str()));
  if (entry.affiliation == Affiliation::None)
    return c_.exec("DELETE FROM muc_affiliations WHERE service = ? AND room = ? AND jid = ?", p) >
           0;
  p.emplace_back(std::string(to_text(entry.affiliation)));
  p.emplace_back(entry.nick);
  p.emplace_back(entry.reason);
  // The WHERE leaves an identical row alone, so both backends report 0 rows: nothing changed.
  return c_.exec(
             "INSERT INTO muc_affiliations (service, room, jid, affiliation, nick, reason) "
             "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (service, room, jid) DO UPDATE SET "
             "affiliation = excluded.affiliation, nick = excluded.nick, "
             "reason = excluded.reason WHERE muc_affiliations.affiliation <> excluded.affiliation "
             "OR muc_affiliations.nick <> excluded.nick "
             "OR muc_affiliations.reason <> excluded.reason",
             p) > 0;
}

std::vector<AffiliationEntry> RoomStore::affiliations(const Jid& room) {
  auto rows = c_.query(
      "SELECT jid, affiliation, nick, reason FROM muc_affiliations WHERE service = ? AND "
      "room = ? ORDER BY jid",
      key(room));
  std::vector<AffiliationEntry> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    // Stored from Jid::bare_str(), so it parses; skip a row edited into something else.
    auto jid = Jid::parse(r.str(0));
    if (!jid) continue;
    out.push_back({std::move(*jid), from_text(r.str(1)), r.str(2), r.str(3)});
  }
  return out;
}

bool RoomStore::remove(const Jid& room) {
  return c_.transaction([&] {
    c_.exec("DELETE FROM muc_affiliations WHERE service = ? AND room = ?", key(room));
    return c_.exec("DELETE FROM muc_rooms WHERE service = ? AND name = ?", key(room)) > 0;
  });
}

bool RoomStore::exists(const Jid& room) {
  return !c_.query("SELECT 1 FROM muc_rooms WHERE service = ? AND name = ?", key(room)).empty();
}

std::vector<RoomListing> RoomStore::public_rooms(const std::string& service, int64_t limit,
                                                 const std::string& after) {
  // Ordered by localpart, bytewise on both backends (COLLATE "C" on PostgreSQL): within one
  // service that is the order of the bare JIDs except where one localpart is a prefix of
  // another ("room1" sorts after "room", though "room1@s" < "room@s"). Paging only needs the
  // order to be fixed, and this one follows the muc_rooms_public index.
  std::vector<RoomListing> out;
  if (limit <= 0) return out;
  Params p{service};
  std::string sql = "SELECT name, room_name FROM muc_rooms WHERE service = ? AND is_public = 1";
  if (!after.empty()) {
    // A cursor that is no room JID names no item: nothing comes after it.
    auto cursor = Jid::parse(after);
    if (!cursor || !cursor->has_local()) return out;
    sql += " AND name > ?";
    p.emplace_back(std::string(cursor->local()));
  }
  sql += " ORDER BY name LIMIT ?";
  p.emplace_back(limit);
  auto rows = c_.query(sql, p);
  out.reserve(rows.size());
  for (const auto& r : rows) {
    auto jid = Jid::from_parts(r.str(0), service);
    if (!jid) continue;
    out.push_back({std::move(*jid), r.str(1)});
  }
  return out;
}

int64_t RoomStore::count(const std::string& service) {
  return c_.query("SELECT COUNT(*) FROM muc_rooms WHERE service = ?", {service}).at(0).integer(0);
}

}  // namespace parley::muc
