// XEP-0045 §10.2 room configuration: a room's settings as a typed value, the
// http://jabber.org/protocol/muc#roomconfig data form (XEP-0004) both ways, and the opaque
// text the room store keeps (room_store.h: StoredRoom::config).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xep/dataforms.h"
#include "xep/parsed.h"

namespace parley::muc {

inline constexpr std::string_view kRoomConfigNs = "http://jabber.org/protocol/muc#roomconfig";

enum class Whois { Moderators, Anyone };  // muc#roomconfig_whois: semi-anonymous / non-anonymous

// muc#roomconfig_presencebroadcast (list-multi of moderator, participant, visitor): the roles
// whose presence the other occupants see. Every occupant always sees its own.
struct PresenceBroadcast {
  bool moderator = true;
  bool participant = true;
  bool visitor = true;
  friend bool operator==(const PresenceBroadcast&, const PresenceBroadcast&) = default;
};
// "moderator", "participant", "visitor" in that order, the roles that are on.
std::vector<std::string> to_strings(const PresenceBroadcast& b);
// Unknown role names are nullopt (a form value or configuration that does not fit).
std::optional<PresenceBroadcast> presence_broadcast_from(const std::vector<std::string>& roles);

struct RoomSettings {
  std::string name;         // muc#roomconfig_roomname
  std::string description;  // muc#roomconfig_roomdesc
  bool persistent = false;
  bool is_public = true;
  bool members_only = false;
  bool moderated = false;
  bool password_protected = false;
  std::string password;  // muc#roomconfig_roomsecret
  int max_users = 0;     // 0: no limit of the room's own (the service's max_occupants applies)
  Whois whois = Whois::Moderators;
  int history_length = 20;
  bool allow_invites = false;            // occupants (not only admins) may invite
  std::string allow_pm = "anyone";       // anyone | participants | moderators | none
  bool logging = false;                  // muc#roomconfig_enablelogging (archived, status 170)
  bool change_subject = false;           // participants may change the subject
  PresenceBroadcast presence_broadcast;  // muc#roomconfig_presencebroadcast
  friend bool operator==(const RoomSettings&, const RoomSettings&) = default;
};

// The form an owner gets (§10.2, type form), with the current values.
xep::dataforms::Form to_form(const RoomSettings& settings, int max_history);
// Applies a submitted form (§10.2 type submit) to `current`: fields that are absent keep their
// value; unknown fields are ignored (§10.2: the service MAY ignore them). A wrong FORM_TYPE or
// a value that does not fit its field is an error (bad-request / not-acceptable text).
// history_length is capped at `max_history`.
xep::Parsed<RoomSettings> apply_form(const xep::dataforms::Form& submitted, RoomSettings current,
                                     int max_history);

// The store's opaque text: "key=value" lines (values escaped). Unknown keys are skipped so
// that older servers read newer rows; nullopt only when the text is not this format at all.
std::string serialize(const RoomSettings& settings);
std::optional<RoomSettings> deserialize(std::string_view text);

}  // namespace parley::muc
