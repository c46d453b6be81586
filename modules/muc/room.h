// One XEP-0045 room: its occupants, affiliations, settings, history and subject, and the rules
// of the XEP for every stanza addressed to it. The room is plain logic without I/O: handle()
// takes one stanza and appends what the room sends in answer to an Outbox, which the caller
// routes. The module (muc.cpp) runs each room as an actor on its own strand (DESIGN §2), so a
// Room is never touched by two threads at once and needs no lock; this also keeps the order of
// what one room sends the order in which it decided it.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jid/jid.h"
#include "room_config.h"
#include "room_store.h"
#include "xml/element.h"

namespace parley::muc {

inline constexpr std::string_view kMucNs = "http://jabber.org/protocol/muc";
inline constexpr std::string_view kUserNs = "http://jabber.org/protocol/muc#user";
inline constexpr std::string_view kAdminNs = "http://jabber.org/protocol/muc#admin";
inline constexpr std::string_view kOwnerNs = "http://jabber.org/protocol/muc#owner";
inline constexpr std::string_view kRoomInfoNs = "http://jabber.org/protocol/muc#roominfo";
inline constexpr std::string_view kOccupantIdNs = "urn:xmpp:occupant-id:0";
inline constexpr std::string_view kPingNs = "urn:xmpp:ping";
// XEP-0425 0.3 (moderate:1, with XEP-0424 0.4 retract:1), and the 0.2 form (moderate:0 inside
// a XEP-0422 <apply-to/>, retract:0) many clients still send (moderation.cpp).
inline constexpr std::string_view kModerateNs = "urn:xmpp:message-moderate:1";
inline constexpr std::string_view kRetractNs = "urn:xmpp:message-retract:1";
inline constexpr std::string_view kModerate0Ns = "urn:xmpp:message-moderate:0";
inline constexpr std::string_view kRetract0Ns = "urn:xmpp:message-retract:0";
inline constexpr std::string_view kFastenNs = "urn:xmpp:fasten:0";

using SysTime = std::chrono::system_clock::time_point;

// What a room sends in answer to one stanza, in order. An entry is one stanza with its own
// 'to', or a broadcast: one stanza without 'to', the same form for every real full JID in
// `to`. The module serializes a broadcast once and gives each recipient its own 'to' (DESIGN
// §3; muc.cpp, fan_out()); expand() gives the per-recipient copies the same broadcast means.
class Outbox {
 public:
  struct Entry {
    std::shared_ptr<xml::Element> stanza;        // one stanza with its 'to', or null
    std::shared_ptr<const xml::Element> shared;  // a broadcast's form, without 'to'
    std::vector<Jid> to;                         // a broadcast's recipients
  };
  void push_back(std::shared_ptr<xml::Element> stanza) {
    entries_.push_back({std::move(stanza), nullptr, {}});
  }
  void broadcast(std::shared_ptr<const xml::Element> shared, std::vector<Jid> to) {
    if (!to.empty()) entries_.push_back({nullptr, std::move(shared), std::move(to)});
  }
  std::vector<Entry>& entries() { return entries_; }
  const std::vector<Entry>& entries() const { return entries_; }
  // Every stanza as its recipient gets it; a broadcast as one copy per recipient.
  std::vector<std::shared_ptr<xml::Element>> expand() const;

 private:
  std::vector<Entry> entries_;
};

// §5.1
enum class Role { None, Visitor, Participant, Moderator };
std::string_view to_string(Role r);
std::string_view to_string(Affiliation a);
std::optional<Role> parse_role(std::string_view s);
std::optional<Affiliation> parse_affiliation(std::string_view s);

// What the service decides for all its rooms.
struct ServiceOptions {
  int max_history = 20;            // messages kept per room (caps muc#roomconfig_historylength)
  int default_history = 20;        // sent on join when the client did not ask (<history/> absent)
  int max_occupants = 1000;        // per room; 0 = no limit
  bool archive_by_default = true;  // new rooms start with muc#roomconfig_enablelogging on
  // Per occupant (real bare JID) and room, messages of any kind: a token bucket refilled at
  // flood_rate a second up to flood_burst (moderation.cpp). 0 in either = no limit.
  double flood_rate = 2;
  int flood_burst = 20;
  PresenceBroadcast presence_broadcast;  // new rooms' muc#roomconfig_presencebroadcast
};

// Where a room's durable state goes (room_store.h). The room calls it, only for persistent
// rooms, when its settings, subject or affiliations change or it is destroyed; the module's
// implementation posts the writes to the room's database worker. The default keeps nothing.
class Persistence {
 public:
  virtual ~Persistence() = default;
  virtual void save(const StoredRoom& room) = 0;  // row only (settings, subject)
  virtual void set_affiliation(const Jid& room, const AffiliationEntry& entry) = 0;
  virtual void remove(const Jid& room) = 0;
};

// The room's message archive (XEP-0313 on the room JID), kept by the mam module. The room
// calls it only while archiving is on (muc#roomconfig_enablelogging).
class Archive {
 public:
  virtual ~Archive() = default;
  // Keeps a message as the room broadcasts it (without its stanza-id); returns the archive id,
  // which becomes the room's stanza-id on the live message (XEP-0313 §3.5).
  virtual std::string append(const Jid& room, const Jid& occupant, const xml::Element& message) = 0;
  // Answers a XEP-0313 IQ to the room from `from`, who may read the archive.
  virtual void serve(const Jid& room, const xml::Element& iq, const Jid& from) = 0;
  virtual void remove(const Jid& room) = 0;  // the room was destroyed
  // XEP-0424 / XEP-0425: archived message `id` becomes what `tombstone` makes of it (nullopt:
  // refused, the message stays); `by` is kept with it. `done` is called once, later, from any
  // thread, after every append made before this call.
  enum class Retraction { Done, NotFound, Refused, Failed };
  using Tombstone = std::function<std::optional<xml::Element>(const xml::Element& original)>;
  virtual void retract(const Jid& room, const std::string& id, const Jid& by, Tombstone tombstone,
                       std::function<void(Retraction)> done) = 0;
};

// Work a room hands off (to its archive) and finishes later on its own strand: the module runs
// `Later` there with the room (null when it has left memory meanwhile), routing what it adds to
// `out`. Without a Resume, a room does only what it can do at once.
class Room;
using Later = std::function<void(Room* room, Outbox& out, SysTime now)>;
using Resume = std::function<void(Later)>;

// moderation.cpp, pure parts.
// A token bucket: `burst` messages at once, then `rate` a second.
struct TokenBucket {
  double tokens = -1;  // < 0: never used (full)
  SysTime last{};
  bool take(double rate, double burst, SysTime now);
  bool full(double rate, double burst, SysTime now) const;
};

// A moderator's XEP-0425 request: the room's stanza-id of the message and the reason.
struct ModerationRequest {
  std::string id;
  std::string reason;
  bool legacy = false;  // the 0.2 form (apply-to/moderate:0)
};
// nullopt when `payload` is not a moderation request; an empty id when it is a malformed one.
std::optional<ModerationRequest> parse_moderation(const xml::Element& payload);

// What replaces a retracted message (XEP-0424 §5 / XEP-0425 §5): the message's own attributes,
// its author's occupant-id and the room's stanza-id, nothing else of what it said, and
// <retracted stamp id='retraction-id'/>, with <moderated by><occupant-id/></moderated> and
// the reason when a moderator did it (`moderator` not empty).
struct TombstoneInfo {
  SysTime stamp;
  std::string retraction_id;  // the 'id' of the retraction message
  std::string moderator;      // room/nick of the moderator; empty for a self-retraction
  std::string moderator_occupant_id;
  std::string reason;
};
xml::Element make_tombstone(const xml::Element& original, const TombstoneInfo& info);

// voice.cpp: the muc#request form (§7.13, §8.6) a message to the room carries, or nullopt.
std::optional<xep::dataforms::Form> voice_form(const xml::Element& message);

// §7.2.15 <history/> on join; unset fields are not limits.
struct HistoryRequest {
  std::optional<size_t> max_stanzas = {};
  std::optional<size_t> max_chars = {};
  std::optional<std::chrono::seconds> seconds = {};
  std::optional<SysTime> since = {};
};
HistoryRequest parse_history(const xml::Element* history);

struct HistoryEntry {
  std::shared_ptr<const xml::Element> message;  // as broadcast, without 'to'
  SysTime at;
  size_t chars;  // serialized size, for maxchars
};
// The entries to send a joiner, oldest first: at most `limit` (the room's history length, or
// the service default when the client asked nothing), then the client's limits.
std::vector<const HistoryEntry*> select_history(const std::deque<HistoryEntry>& history,
                                                const HistoryRequest& request, size_t limit,
                                                SysTime now);

// XEP-0421: the occupant id of a real bare JID in a room, an HMAC under the service's secret.
std::string occupant_id(std::string_view secret, const Jid& room, const Jid& real_bare);

class Room {
 public:
  // A new room, locked until its creator (the owner) configures it (§10.1.1); or, with
  // `stored`, a room loaded from the store (unlocked).
  Room(Jid jid, ServiceOptions options, std::string secret, Jid creator,
       std::shared_ptr<Persistence> persistence = nullptr);
  Room(Jid jid, ServiceOptions options, std::string secret, const StoredRoom& stored,
       std::shared_ptr<Persistence> persistence = nullptr);

  // The service is shutting down: every occupant's sessions get their own unavailable with
  // status 332 (XEP-0045 status codes), and the room is empty.
  void shutdown(Outbox& out);

  // One stanza to the room (to = room or room/nick) from a real full JID.
  void handle(const xml::Element& stanza, const Jid& from, Outbox& out, SysTime now);

  // Where the room's messages are archived; without one, archiving cannot be on.
  void set_archive(std::shared_ptr<Archive> archive);
  // How work handed off to the archive comes back to the room (Later).
  void set_resume(Resume resume) { resume_ = std::move(resume); }

  const Jid& jid() const { return jid_; }
  const RoomSettings& settings() const { return settings_; }
  bool locked() const { return locked_; }
  // False once destroyed, or empty and not persistent: the module drops it. A new room is
  // alive until the first stanza it handles (its creator's join).
  bool alive() const {
    return !destroyed_ && (fresh_ || settings_.persistent || !occupants_.empty());
  }
  bool listed() const { return alive() && !locked_ && settings_.is_public; }
  size_t occupant_count() const { return occupants_.size(); }
  Affiliation affiliation(const Jid& real) const;
  StoredRoom stored() const;

  // large_rooms.cpp. A room loaded from the store gets back its join history from its
  // archive (the newest last); entries beyond the history length are dropped.
  void restore_history(std::vector<HistoryEntry> entries);
  // How many messages of history a joiner may get: what restore_history needs.
  size_t history_capacity() const;

 private:
  struct Session {
    Jid jid;                                 // real full JID
    std::shared_ptr<xml::Element> presence;  // as last sent, cleaned (no MUC children)
  };
  struct Occupant {
    std::string nick;
    Jid bare;
    Role role = Role::None;
    std::string id;                 // XEP-0421
    std::vector<Session> sessions;  // §7.2.6 several devices under one nick; back() = latest
    bool shown = false;  // the other occupants were sent this occupant's available presence
  };
  // Adds to a presence's <x xmlns='muc#user'/> (its first child is the <item/>).
  using Decorate = std::function<void(xml::Element& x)>;
  struct Change {  // what an admin request did to one occupant, for its presence broadcast
    std::string nick;
    std::vector<int> codes;
    bool removed = false;
    std::string actor, reason;
  };

  // room.cpp: presence, messages, IQs to occupants.
  void presence(const xml::Element& p, const Jid& from, Outbox& out, SysTime now);
  void join(const xml::Element& p, const Jid& from, const std::string& nick, Outbox& out,
            SysTime now);
  void change_nick(Occupant& o, const xml::Element& p, const Jid& from, const std::string& nick,
                   Outbox& out);
  void leave(const Jid& from, const xml::Element* p, Outbox& out);
  void message(const xml::Element& m, const Jid& from, Outbox& out, SysTime now);
  void groupchat(const xml::Element& m, Occupant& o, Outbox& out, SysTime now);
  void private_message(const xml::Element& m, Occupant& o, const std::string& nick, Outbox& out);
  void invite(const xml::Element& m, const Jid& from, Outbox& out);
  void decline(const xml::Element& m, const Jid& from, Outbox& out);
  void iq(const xml::Element& iq, const Jid& from, Outbox& out, SysTime now);
  void iq_to_occupant(const xml::Element& iq, const Jid& from, const std::string& nick,
                      Outbox& out);
  void disco_info(const xml::Element& iq, Outbox& out) const;
  void archive_query(const xml::Element& iq, const Jid& from, Outbox& out);

  // admin.cpp: muc#owner (§10) and muc#admin (§8, §9).
  void owner(const xml::Element& iq, const Jid& from, Outbox& out);
  void admin(const xml::Element& iq, const Jid& from, Outbox& out);
  void destroy(const xml::Element* destroy, Outbox& out);
  void apply_settings(RoomSettings next, Outbox& out);
  std::optional<std::string> set_role(Occupant& actor, const std::string& nick, Role role,
                                      std::vector<Change>& changes);
  std::optional<std::string> set_affiliation(const Jid& actor, const Jid& target, Affiliation a,
                                             const std::string& reason,
                                             std::vector<Change>& changes);
  void announce(const std::vector<Change>& changes, Outbox& out);

  // moderation.cpp: XEP-0425 moderation, XEP-0424 self-retraction, flood limits.
  void moderate(const xml::Element& iq, const ModerationRequest& request, const Jid& from,
                Outbox& out, SysTime now);
  struct Moderation {
    std::shared_ptr<const xml::Element> iq;
    ModerationRequest request;
    TombstoneInfo tombstone;
  };
  void finish_moderation(const Moderation& m, Archive::Retraction outcome, Outbox& out);
  bool retract_in_history(const std::string& id, const TombstoneInfo& info,
                          const std::string& author_occupant_id = {});
  void retract_own(const xml::Element& message, const Occupant& o, SysTime now);
  bool flooding(const Occupant& o, SysTime now);
  void add_moderation_features(std::vector<std::string>& features) const;

  // voice.cpp: §7.13 a visitor's voice request goes to the moderators as an approval form;
  // §8.6 a moderator's submitted approval grants voice.
  void voice(const xml::Element& m, const xep::dataforms::Form& form, const Jid& from, Outbox& out);
  void approve_voice(const xml::Element& m, const xep::dataforms::Form& form, const Jid& from,
                     Outbox& out);

  // Helpers.
  Occupant* occupant_of(const Jid& real_full);
  Occupant* occupant_by_nick(std::string_view nick);
  Role default_role(Affiliation a) const;
  bool sees_jids(const Occupant& viewer) const;
  // `o`'s presence to every session of every occupant but `except` (self-presence with 110 +
  // `self_codes`), as one broadcast per form: o's own sessions, viewers who see real JIDs,
  // the others; the others only as muc#roomconfig_presencebroadcast says (for_others).
  void broadcast_presence(Occupant& o, Outbox& out, const std::vector<int>& codes,
                          const std::vector<int>& self_codes, std::string_view type = {},
                          const Decorate& decorate = {}, const Jid* except = nullptr);
  // `o`'s presence as `viewer` sees it; without 'to' when `to` is empty (a broadcast).
  std::shared_ptr<xml::Element> presence_for(const Occupant& o, const Occupant& viewer,
                                             const Jid& to, const std::vector<int>& codes,
                                             std::string_view type, const Decorate& decorate) const;
  void to_all(const xml::Element& stanza, Outbox& out) const;  // every session, one broadcast
  void to_all(std::shared_ptr<const xml::Element> stanza, Outbox& out) const;
  void error(const xml::Element& stanza, std::string_view type, std::string_view condition,
             Outbox& out, std::string_view text = {}) const;
  void result(const xml::Element& iq, Outbox& out,
              std::optional<xml::Element> payload = std::nullopt) const;
  xml::Element subject_message() const;
  void persist() const;
  void persist_affiliation(const Jid& who) const;

  // large_rooms.cpp: presence broadcast by role (muc#roomconfig_presencebroadcast) and group
  // messages for members who are not in the room.
  bool broadcasts(Role role) const;
  // What the other occupants get of `o`'s presence of `type` ("" or "unavailable"): nothing,
  // or the type to send them; keeps `o.shown` true exactly while they see `o` as present.
  std::optional<std::string_view> for_others(Occupant& o, std::string_view type);
  // After muc#roomconfig_presencebroadcast changed: occupants now shown appear to the others,
  // occupants now hidden leave for them.
  void sync_presence_broadcast(Outbox& out);
  // A copy of the groupchat `message` (as broadcast) to the bare JID of every member, admin and
  // owner of a members-only room who has no session in it.
  void to_absent_members(const xml::Element& message, Outbox& out) const;

  Jid jid_;
  ServiceOptions options_;
  std::string secret_;
  std::shared_ptr<Persistence> persistence_;
  std::shared_ptr<Archive> archive_;
  Resume resume_;
  RoomSettings settings_;
  bool locked_ = false;
  bool fresh_ = false;  // created, its creator not joined yet
  bool destroyed_ = false;
  int64_t created_at_ = 0;
  std::map<std::string, AffiliationEntry> affiliations_;  // by bare JID (or domain)
  std::vector<Occupant> occupants_;                       // in order of joining
  std::deque<HistoryEntry> history_;
  std::string subject_, subject_by_;
  bool has_subject_ = false;
  struct PendingIq {
    Jid requester;               // real full JID of who asked
    std::string id;              // its id
    Jid target;                  // real JID the request went to
    std::string requester_nick;  // the answer comes to room/requester_nick
    std::string target_nick;     // and goes back from room/target_nick
  };
  std::map<std::string, PendingIq> pending_iqs_;  // by the id the room gave the forwarded IQ
  uint64_t next_iq_ = 1;
  std::map<std::string, TokenBucket> flood_;  // by real bare JID; kept across leave and rejoin
};

}  // namespace parley::muc
