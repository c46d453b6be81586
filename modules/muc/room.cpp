// XEP-0045 room rules for occupants: joining (§7.2), presence and nick changes (§7.6), leaving
// (§7.14), groupchat and private messages (§7.4, §7.5), the subject (§8.1), history (§7.2.15),
// IQs to occupants (§7.7) and self-pings (XEP-0410); occupant ids (XEP-0421) on everything an
// occupant sends. The owner and admin use cases are in admin.cpp.
#include "room.h"

#include <algorithm>
#include <chrono>

#include "core/base64.h"
#include "core/hmac.h"
#include "xep/dataforms.h"
#include "xep/delay.h"
#include "xep/disco.h"
#include "xep/stanza_id.h"
#include "xml/stanza.h"

namespace parley::muc {

namespace sid = xep::sid;

std::string_view to_string(Role r) {
  switch (r) {
    case Role::None:
      return "none";
    case Role::Visitor:
      return "visitor";
    case Role::Participant:
      return "participant";
    case Role::Moderator:
      return "moderator";
  }
  return "none";
}

std::string_view to_string(Affiliation a) {
  switch (a) {
    case Affiliation::None:
      return "none";
    case Affiliation::Outcast:
      return "outcast";
    case Affiliation::Member:
      return "member";
    case Affiliation::Admin:
      return "admin";
    case Affiliation::Owner:
      return "owner";
  }
  return "none";
}

std::optional<Role> parse_role(std::string_view s) {
  for (Role r : {Role::None, Role::Visitor, Role::Participant, Role::Moderator})
    if (to_string(r) == s) return r;
  return std::nullopt;
}

std::optional<Affiliation> parse_affiliation(std::string_view s) {
  for (Affiliation a : {Affiliation::None, Affiliation::Outcast, Affiliation::Member,
                        Affiliation::Admin, Affiliation::Owner})
    if (to_string(a) == s) return a;
  return std::nullopt;
}

namespace {

std::optional<size_t> parse_count(std::string_view v) {
  if (v.empty()) return std::nullopt;
  size_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<size_t>(c - '0');
    if (n > 1'000'000'000) return std::nullopt;
  }
  return n;
}

// A presence as an occupant sent it, without what the room puts there itself.
std::shared_ptr<xml::Element> clean_presence(const xml::Element& p) {
  auto out = std::make_shared<xml::Element>("presence", std::string(stanza::kClientNs));
  for (const auto& node : p.nodes()) {
    if (node.is_text()) continue;
    const auto& c = *node.element;
    if (c.xmlns() == kMucNs || c.xmlns() == kUserNs || c.xmlns() == kOccupantIdNs) continue;
    if (c.name() == "error") continue;
    out->add(c);
  }
  return out;
}

void add_status(xml::Element& x, int code) {
  x.add("status").set("code", std::to_string(code));
}

bool is_vcard(const xml::Element& iq) {
  const auto* p = iq.first_child();
  return p && p->name() == "vCard" && p->xmlns() == "vcard-temp";
}

}  // namespace

HistoryRequest parse_history(const xml::Element* h) {
  HistoryRequest r;
  if (!h) return r;
  r.max_stanzas = parse_count(h->get("maxstanzas"));
  r.max_chars = parse_count(h->get("maxchars"));
  if (auto s = parse_count(h->get("seconds"))) r.seconds = std::chrono::seconds(*s);
  if (h->has("since")) r.since = xep::parse_datetime(h->get("since"));
  return r;
}

std::vector<const HistoryEntry*> select_history(const std::deque<HistoryEntry>& history,
                                                const HistoryRequest& r, size_t limit,
                                                SysTime now) {
  size_t max = limit;
  if (r.max_stanzas) max = std::min(max, *r.max_stanzas);
  std::vector<const HistoryEntry*> out;
  size_t chars = 0;
  for (auto it = history.rbegin(); it != history.rend() && out.size() < max; ++it) {
    if (r.seconds && it->at < now - *r.seconds) break;
    if (r.since && it->at < *r.since) break;
    if (r.max_chars && chars + it->chars > *r.max_chars) break;
    chars += it->chars;
    out.push_back(&*it);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string occupant_id(std::string_view secret, const Jid& room, const Jid& real_bare) {
  std::string data = room.str();
  data += '\0';
  data += real_bare.bare_str();
  uint8_t mac[64];
  size_t n = hmac(HmacDigest::Sha256, secret.data(), secret.size(), data.data(), data.size(), mac);
  return base64_encode(
      std::string_view(reinterpret_cast<const char*>(mac), std::min<size_t>(n, 18)));
}

Room::Room(Jid jid, ServiceOptions options, std::string secret, Jid creator,
           std::shared_ptr<Persistence> persistence)
    : jid_(std::move(jid)),
      options_(options),
      secret_(std::move(secret)),
      persistence_(std::move(persistence)),
      locked_(true),
      fresh_(true) {
  settings_.history_length = options_.max_history;
  settings_.logging = options_.archive_by_default;
  settings_.presence_broadcast = options_.presence_broadcast;
  created_at_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  affiliations_[creator.bare().str()] = {creator.bare(), Affiliation::Owner, "", ""};
}

void Room::set_archive(std::shared_ptr<Archive> archive) {
  archive_ = std::move(archive);
  if (!archive_) settings_.logging = false;
}

Room::Room(Jid jid, ServiceOptions options, std::string secret, const StoredRoom& stored,
           std::shared_ptr<Persistence> persistence)
    : jid_(std::move(jid)),
      options_(options),
      secret_(std::move(secret)),
      persistence_(std::move(persistence)) {
  if (auto s = deserialize(stored.config)) settings_ = *s;
  settings_.name = stored.name;
  settings_.is_public = stored.is_public;
  settings_.persistent = true;
  subject_ = stored.subject;
  subject_by_ = stored.subject_by;
  has_subject_ = !subject_.empty();
  created_at_ = stored.created_at;
  for (const auto& a : stored.affiliations) affiliations_[a.jid.str()] = a;
}

StoredRoom Room::stored() const {
  StoredRoom r;
  r.jid = jid_;
  r.name = settings_.name;
  r.is_public = settings_.is_public;
  r.config = serialize(settings_);
  r.subject = subject_;
  r.subject_by = subject_by_;
  r.created_at = created_at_;
  for (const auto& [_, a] : affiliations_) r.affiliations.push_back(a);
  return r;
}

void Room::persist() const {
  if (persistence_ && settings_.persistent && !locked_) persistence_->save(stored());
}

void Room::persist_affiliation(const Jid& who) const {
  if (!persistence_ || !settings_.persistent || locked_) return;
  auto it = affiliations_.find(who.str());
  persistence_->set_affiliation(jid_, it != affiliations_.end()
                                          ? it->second
                                          : AffiliationEntry{who, Affiliation::None, "", ""});
}

Affiliation Room::affiliation(const Jid& real) const {
  auto it = affiliations_.find(std::string(real.bare_str()));
  if (it != affiliations_.end()) return it->second.affiliation;
  auto d = affiliations_.find(std::string(real.domain()));  // a banned server (§9.1)
  if (d != affiliations_.end() && d->second.affiliation == Affiliation::Outcast)
    return Affiliation::Outcast;
  return Affiliation::None;
}

Role Room::default_role(Affiliation a) const {
  switch (a) {
    case Affiliation::Owner:
    case Affiliation::Admin:
      return Role::Moderator;
    case Affiliation::Member:
      return Role::Participant;
    case Affiliation::None:
      return settings_.moderated ? Role::Visitor : Role::Participant;
    case Affiliation::Outcast:
      return Role::None;
  }
  return Role::None;
}

Room::Occupant* Room::occupant_of(const Jid& real) {
  for (auto& o : occupants_)
    for (const auto& s : o.sessions)
      if (s.jid == real) return &o;
  return nullptr;
}

Room::Occupant* Room::occupant_by_nick(std::string_view nick) {
  for (auto& o : occupants_)
    if (o.nick == nick) return &o;
  return nullptr;
}

bool Room::sees_jids(const Occupant& viewer) const {
  return settings_.whois == Whois::Anyone || viewer.role == Role::Moderator;
}

void Room::error(const xml::Element& stanza, std::string_view type, std::string_view condition,
                 Outbox& out, std::string_view text) const {
  if (stanza::is_error(stanza)) return;
  stanza::ErrorType t = stanza::default_type(condition);
  if (type == "auth")
    t = stanza::ErrorType::Auth;
  else if (type == "cancel")
    t = stanza::ErrorType::Cancel;
  else if (type == "modify")
    t = stanza::ErrorType::Modify;
  else if (type == "wait")
    t = stanza::ErrorType::Wait;
  out.push_back(std::make_shared<xml::Element>(stanza::error_reply(stanza, t, condition, text)));
}

void Room::result(const xml::Element& iq, Outbox& out, std::optional<xml::Element> payload) const {
  out.push_back(std::make_shared<xml::Element>(payload ? stanza::iq_result(iq, std::move(*payload))
                                                       : stanza::iq_result(iq)));
}

std::vector<std::shared_ptr<xml::Element>> Outbox::expand() const {
  std::vector<std::shared_ptr<xml::Element>> all;
  for (const auto& e : entries_) {
    if (e.stanza) all.push_back(e.stanza);
    for (const auto& to : e.to) {
      auto copy = std::make_shared<xml::Element>(*e.shared);
      copy->set("to", to.str());
      all.push_back(std::move(copy));
    }
  }
  return all;
}

void Room::to_all(const xml::Element& stanza, Outbox& out) const {
  to_all(std::make_shared<const xml::Element>(stanza), out);
}

// One broadcast: every session gets the same form (the module serializes it once).
void Room::to_all(std::shared_ptr<const xml::Element> stanza, Outbox& out) const {
  std::vector<Jid> to;
  for (const auto& o : occupants_)
    for (const auto& s : o.sessions) to.push_back(s.jid);
  if (stanza->has("to")) {
    auto copy = std::make_shared<xml::Element>(*stanza);
    copy->remove("to");
    stanza = std::move(copy);
  }
  out.broadcast(std::move(stanza), std::move(to));
}

std::shared_ptr<xml::Element> Room::presence_for(const Occupant& o, const Occupant& viewer,
                                                 const Jid& to, const std::vector<int>& codes,
                                                 std::string_view type,
                                                 const Decorate& decorate) const {
  const Session& shown = o.sessions.back();
  std::shared_ptr<xml::Element> p;
  if (type == "unavailable") {
    p = std::make_shared<xml::Element>("presence", std::string(stanza::kClientNs));
    if (const auto* status = shown.presence->child("status")) p->add(*status);
  } else {
    p = std::make_shared<xml::Element>(*shown.presence);
  }
  p->set("from", jid_.with_resource(o.nick).str());
  if (!to.empty()) p->set("to", to.str());
  if (!type.empty()) p->set("type", type);
  auto& x = p->add("x", std::string(kUserNs));
  auto& item = x.add("item");
  item.set("affiliation", to_string(affiliation(o.bare)));
  item.set("role", to_string(type == "unavailable" ? Role::None : o.role));
  if (&viewer == &o || sees_jids(viewer)) item.set("jid", shown.jid.str());
  for (int c : codes) add_status(x, c);
  if (decorate) decorate(x);
  p->add("occupant-id", std::string(kOccupantIdNs)).set("id", o.id);
  return p;
}

void Room::broadcast_presence(Occupant& o, Outbox& out, const std::vector<int>& codes,
                              const std::vector<int>& self_codes, std::string_view type,
                              const Decorate& decorate, const Jid* except) {
  std::vector<int> mine = codes;
  mine.insert(mine.end(), self_codes.begin(), self_codes.end());
  mine.push_back(110);
  std::sort(mine.begin(), mine.end());
  // muc#roomconfig_presencebroadcast: whether (and as what) the others see `o` (large_rooms.cpp).
  const auto shown = for_others(o, type);
  // The forms presence_for() makes differ only by viewer kind: o itself, a viewer who sees
  // real JIDs (sees_jids), the others. One broadcast each (DESIGN §3).
  std::vector<Jid> self, seeing, others;
  const Occupant* a_seeing = nullptr;
  const Occupant* an_other = nullptr;
  for (const auto& viewer : occupants_)
    for (const auto& s : viewer.sessions) {
      if (except && s.jid == *except) continue;
      if (&viewer == &o) {
        self.push_back(s.jid);
      } else if (!shown) {
        continue;
      } else if (sees_jids(viewer)) {
        a_seeing = &viewer;
        seeing.push_back(s.jid);
      } else {
        an_other = &viewer;
        others.push_back(s.jid);
      }
    }
  const Jid none;
  if (!self.empty()) out.broadcast(presence_for(o, o, none, mine, type, decorate), std::move(self));
  if (a_seeing)
    out.broadcast(presence_for(o, *a_seeing, none, codes, *shown, decorate), std::move(seeing));
  if (an_other)
    out.broadcast(presence_for(o, *an_other, none, codes, *shown, decorate), std::move(others));
}

void Room::shutdown(Outbox& out) {
  for (const auto& o : occupants_)
    for (const auto& s : o.sessions) {
      auto p = std::make_shared<xml::Element>("presence", std::string(stanza::kClientNs));
      p->set("from", jid_.with_resource(o.nick).str());
      p->set("to", s.jid.str());
      p->set("type", "unavailable");
      auto& x = p->add("x", std::string(kUserNs));
      x.add("item")
          .set("affiliation", to_string(affiliation(o.bare)))
          .set("role", to_string(Role::None));
      add_status(x, 110);
      add_status(x, 332);
      out.push_back(std::move(p));
    }
  occupants_.clear();
}

void Room::handle(const xml::Element& stanza, const Jid& from, Outbox& out, SysTime now) {
  if (destroyed_) return error(stanza, "cancel", "item-not-found", out);
  if (stanza.name() == "presence")
    presence(stanza, from, out, now);
  else if (stanza.name() == "message")
    message(stanza, from, out, now);
  else if (stanza.name() == "iq")
    iq(stanza, from, out, now);
  fresh_ = false;  // a new room whose creator did not get in is gone with its first stanza
}

// --- Presence -------------------------------------------------------------------------------

void Room::presence(const xml::Element& p, const Jid& from, Outbox& out, SysTime now) {
  auto type = p.get("type");
  auto to = Jid::parse(p.get("to"));
  std::string nick = to ? std::string(to->resource()) : std::string();
  Occupant* o = occupant_of(from);
  if (type == "unavailable" || type == "error") {  // §7.14; an error means the session is gone
    if (o) leave(from, type == "error" ? nullptr : &p, out);
    return;
  }
  if (!type.empty()) return;  // probes, subscriptions: nothing for a room
  if (nick.empty()) return error(p, "modify", "jid-malformed", out, "A nickname is required");
  if (!o) return join(p, from, nick, out, now);
  if (o->nick != nick) return change_nick(*o, p, from, nick, out);
  // §7.7 presence update: the session's new presence, shown to everyone.
  auto it = std::find_if(o->sessions.begin(), o->sessions.end(),
                         [&](const Session& s) { return s.jid == from; });
  Session s = *it;
  s.presence = clean_presence(p);
  o->sessions.erase(it);
  o->sessions.push_back(std::move(s));
  broadcast_presence(*o, out, {}, {});
}

void Room::join(const xml::Element& p, const Jid& from, const std::string& nick, Outbox& out,
                SysTime now) {
  const Jid bare = from.bare();
  const Affiliation aff = affiliation(from);
  if (locked_ && aff != Affiliation::Owner)  // §10.1.1: the room does not exist yet
    return error(p, "cancel", "item-not-found", out, "The room is locked until configured");
  if (aff == Affiliation::Outcast) return error(p, "auth", "forbidden", out);  // §7.2.8
  Occupant* same = occupant_by_nick(nick);
  if (same && same->bare != bare) return error(p, "cancel", "conflict", out);  // §7.2.9
  for (const auto& [key, a] : affiliations_)  // §7.12: reserved by someone else
    if (a.nick == nick && a.jid != bare) return error(p, "cancel", "conflict", out);
  if (settings_.members_only && aff < Affiliation::Member)  // §7.2.7
    return error(p, "auth", "registration-required", out);
  const xml::Element* x = p.child("x", kMucNs);
  if (settings_.password_protected && aff != Affiliation::Owner &&
      (!x || x->child_text("password") != settings_.password))  // §7.2.6
    return error(p, "auth", "not-authorized", out);
  if (!same && aff < Affiliation::Admin) {  // §7.2.10 (admins and owners may always enter)
    size_t limit = static_cast<size_t>(options_.max_occupants);
    if (settings_.max_users > 0 && (limit == 0 || static_cast<size_t>(settings_.max_users) < limit))
      limit = static_cast<size_t>(settings_.max_users);
    if (limit > 0 && occupants_.size() >= limit)
      return error(p, "wait", "service-unavailable", out, "The room is full");
  }

  const bool creating = fresh_;
  fresh_ = false;
  Occupant* o = same;
  if (o) {  // §7.2.6 multi-session: another device of the same occupant
    o->sessions.push_back({from, clean_presence(p)});
  } else {
    Occupant fresh;
    fresh.nick = nick;
    fresh.bare = bare;
    fresh.role = default_role(aff);
    fresh.id = occupant_id(secret_, jid_, bare);
    fresh.sessions.push_back({from, clean_presence(p)});
    occupants_.push_back(std::move(fresh));
    o = &occupants_.back();
  }
  // §7.2.3: the occupants already there, to the newcomer...
  for (const auto& q : occupants_)
    if (&q != o && q.shown) out.push_back(presence_for(q, *o, from, {}, {}, {}));
  // ... the newcomer to them (and to its own other sessions)...
  std::vector<int> self_codes{110};
  if (settings_.whois == Whois::Anyone) self_codes.push_back(100);
  if (settings_.logging && archive_) self_codes.push_back(170);
  if (creating) self_codes.push_back(201);
  // 210: the nick is not the one asked for. Nicks are normalized as resourceparts (RFC 7622
  // OpaqueString: NFC, spaces), so a client that sent another form learns the room's.
  const std::string_view asked = p.get("to");
  if (auto slash = asked.find('/');
      slash != std::string_view::npos && asked.substr(slash + 1) != nick)
    self_codes.push_back(210);
  broadcast_presence(*o, out, {}, {}, {}, {}, &from);
  // ... and last its self-presence.
  out.push_back(presence_for(*o, *o, from, self_codes, {}, {}));

  // §7.2.15 history, then §7.2.16 the subject (clients take it as "the join is complete").
  HistoryRequest request = parse_history(x ? x->child("history") : nullptr);
  size_t limit = static_cast<size_t>(std::max(0, settings_.history_length));
  if (!x || !x->child("history"))
    limit = std::min(limit, static_cast<size_t>(std::max(0, options_.default_history)));
  for (const auto* h : select_history(history_, request, limit, now)) {
    auto m = std::make_shared<xml::Element>(*h->message);
    m->set("to", from.str());
    m->add(xep::delay_element(jid_.str(), h->at));
    out.push_back(std::move(m));
  }
  auto subject = std::make_shared<xml::Element>(subject_message());
  subject->set("to", from.str());
  out.push_back(std::move(subject));
}

xml::Element Room::subject_message() const {
  xml::Element m("message", std::string(stanza::kClientNs));
  m.set("type", "groupchat");
  m.set("from", subject_by_.empty() ? jid_.str() : jid_.with_resource(subject_by_).str());
  m.set("id", sid::random_id());
  auto& s = m.add("subject");
  if (has_subject_) s.add_text(subject_);
  return m;
}

void Room::change_nick(Occupant& o, const xml::Element& p, const Jid& from, const std::string& nick,
                       Outbox& out) {
  Occupant* other = occupant_by_nick(nick);
  if (other && other != &o) return error(p, "cancel", "conflict", out);  // §7.6.3
  for (const auto& [key, a] : affiliations_)
    if (a.nick == nick && a.jid != o.bare) return error(p, "cancel", "conflict", out);
  // §7.6.2: unavailable from the old nick with 303 and the new nick, then available.
  broadcast_presence(o, out, {303}, {}, "unavailable",
                     [&nick](xml::Element& x) { x.child("item")->set("nick", nick); });
  o.nick = nick;
  auto it = std::find_if(o.sessions.begin(), o.sessions.end(),
                         [&](const Session& s) { return s.jid == from; });
  Session s = *it;
  s.presence = clean_presence(p);
  o.sessions.erase(it);
  o.sessions.push_back(std::move(s));
  broadcast_presence(o, out, {}, {});
}

void Room::leave(const Jid& from, const xml::Element* p, Outbox& out) {
  Occupant* o = occupant_of(from);
  if (!o) return;
  auto it = std::find_if(o->sessions.begin(), o->sessions.end(),
                         [&](const Session& s) { return s.jid == from; });
  Session s = *it;
  o->sessions.erase(it);
  s.presence = p ? clean_presence(*p) : clean_presence(xml::Element("presence"));
  if (!o->sessions.empty()) {
    // One device of several left: only it hears; the others stay in the room.
    o->sessions.push_back(s);
    out.push_back(presence_for(*o, *o, from, {110}, "unavailable", {}));
    o->sessions.pop_back();
    return;
  }
  o->sessions.push_back(std::move(s));
  broadcast_presence(*o, out, {}, {}, "unavailable");
  occupants_.erase(occupants_.begin() + (o - occupants_.data()));
}

// --- Messages -------------------------------------------------------------------------------

void Room::message(const xml::Element& m, const Jid& from, Outbox& out, SysTime now) {
  auto type = m.get("type");
  if (type == "error") return;  // e.g. a private message bounced; nothing to answer
  auto to = Jid::parse(m.get("to"));
  std::string nick = to ? std::string(to->resource()) : std::string();
  Occupant* o = occupant_of(from);
  if (o && flooding(*o, now))  // moderation.cpp
    return error(m, "wait", "policy-violation", out, "You are sending too fast; wait a moment");
  if (nick.empty()) {
    if (type == "groupchat") {
      if (!o) return error(m, "modify", "not-acceptable", out, "Only occupants may send");
      return groupchat(m, *o, out, now);
    }
    const auto* x = m.child("x", kUserNs);
    if (x && x->child("invite")) return invite(m, from, out);
    if (x && x->child("decline")) return decline(m, from, out);
    if (auto form = voice_form(m)) return voice(m, *form, from, out);  // voice.cpp
    return error(m, "modify", "bad-request", out);
  }
  if (type == "groupchat")  // §7.5: groupchat to an occupant is an error
    return error(m, "modify", "bad-request", out);
  if (!o) return error(m, "modify", "not-acceptable", out, "Only occupants may send");
  private_message(m, *o, nick, out);
}

void Room::groupchat(const xml::Element& m, Occupant& o, Outbox& out, SysTime now) {
  if (o.role < Role::Participant)  // §7.4 visitors in a moderated room have no voice
    return error(m, "auth", "forbidden", out, "You have no voice in this room");
  const auto* subject = m.child("subject");
  const bool has_body = m.child("body") != nullptr;
  if (subject && !has_body) {  // §8.1
    bool allowed = o.role == Role::Moderator || settings_.change_subject;
    if (!allowed) return error(m, "auth", "forbidden", out, "You may not change the subject");
  }
  auto copy = std::make_shared<xml::Element>(m);
  copy->set("from", jid_.with_resource(o.nick).str());
  copy->remove("to");
  copy->remove_children("occupant-id", kOccupantIdNs);
  const std::string& room = jid_.str();
  sid::strip_stanza_ids(*copy, [&](std::string_view by) {
    auto j = Jid::parse(by);
    return by == room || (j && *j == jid_);
  });
  copy->add("occupant-id", std::string(kOccupantIdNs)).set("id", o.id);
  // XEP-0313 §5.1.2 (a room's archive): what the room says, with the archive's id as the
  // room's stanza-id. Subject changes are not messages of the conversation.
  const bool archived = archive_ && settings_.logging && !(subject && !has_body);
  std::string id =
      archived ? archive_->append(jid_, jid_.with_resource(o.nick), *copy) : sid::random_id();
  sid::add_stanza_id(*copy, {std::move(id), room});
  if (subject && !has_body) {
    subject_ = subject->text();
    has_subject_ = true;
    subject_by_ = o.nick;
    persist();
  } else if (has_body && settings_.history_length > 0) {
    history_.push_back({copy, now, copy->str().size()});
    size_t keep = static_cast<size_t>(std::min(settings_.history_length, options_.max_history));
    while (history_.size() > keep) history_.pop_front();
  }
  retract_own(*copy, o, now);     // XEP-0424 (moderation.cpp)
  to_absent_members(*copy, out);  // members-only rooms (large_rooms.cpp)
  to_all(std::move(copy), out);
}

void Room::private_message(const xml::Element& m, Occupant& o, const std::string& nick,
                           Outbox& out) {
  const auto& pm = settings_.allow_pm;
  bool allowed = pm == "anyone" || (pm == "participants" && o.role >= Role::Participant) ||
                 (pm == "moderators" && o.role == Role::Moderator);
  if (!allowed) return error(m, "cancel", "not-allowed", out, "Private messages are not allowed");
  Occupant* t = occupant_by_nick(nick);
  if (!t) return error(m, "cancel", "item-not-found", out);  // §7.5
  xml::Element copy(m);
  copy.set("from", jid_.with_resource(o.nick).str());
  copy.remove_children("occupant-id", kOccupantIdNs);
  copy.remove_children("x", kUserNs);
  copy.add("x", std::string(kUserNs));
  copy.add("occupant-id", std::string(kOccupantIdNs)).set("id", o.id);
  for (const auto& s : t->sessions) {
    auto one = std::make_shared<xml::Element>(copy);
    one->set("to", s.jid.str());
    out.push_back(std::move(one));
  }
}

void Room::invite(const xml::Element& m, const Jid& from, Outbox& out) {
  Occupant* o = occupant_of(from);
  const Affiliation aff = affiliation(from);
  if (!o) return error(m, "modify", "not-acceptable", out, "Only occupants may invite");
  // §7.8.2: in a members-only room only admins and owners invite, unless occupants may.
  bool allowed = aff >= Affiliation::Admin || settings_.allow_invites ||
                 (!settings_.members_only && o->role >= Role::Participant);
  if (!allowed) return error(m, "auth", "forbidden", out, "You may not invite");
  for (const auto* inv : m.child("x", kUserNs)->children("invite")) {
    auto to = Jid::parse(inv->get("to"));
    if (!to) return error(m, "modify", "jid-malformed", out);
    if (settings_.members_only && affiliation(*to) < Affiliation::Member &&
        affiliation(*to) != Affiliation::Outcast) {
      affiliations_[to->bare().str()] = {to->bare(), Affiliation::Member, "", ""};
      persist_affiliation(to->bare());
    }
    auto msg = std::make_shared<xml::Element>("message", std::string(stanza::kClientNs));
    msg->set("from", jid_.str());
    msg->set("to", to->str());
    if (m.has("id")) msg->set("id", m.get("id"));
    auto& x = msg->add("x", std::string(kUserNs));
    auto& i = x.add("invite");
    i.set("from", from.str());
    if (const auto* reason = inv->child("reason")) i.add(*reason);
    if (settings_.password_protected) x.text_child("password", settings_.password);
    out.push_back(std::move(msg));
  }
}

// §7.8.2: the invitee says no; the room tells the inviter, from the room, naming the invitee
// by bare JID (as the XEP's example does). Only a decline's reason travels: the room is not a
// relay for anything else.
void Room::decline(const xml::Element& m, const Jid& from, Outbox& out) {
  for (const auto* d : m.child("x", kUserNs)->children("decline")) {
    auto to = Jid::parse(d->get("to"));
    if (!to) return error(m, "modify", "jid-malformed", out);
    auto msg = std::make_shared<xml::Element>("message", std::string(stanza::kClientNs));
    msg->set("from", jid_.str());
    msg->set("to", to->str());
    if (m.has("id")) msg->set("id", m.get("id"));
    auto& dec = msg->add("x", std::string(kUserNs)).add("decline");
    dec.set("from", from.bare().str());
    if (const auto* reason = d->child("reason")) dec.text_child("reason", reason->text());
    out.push_back(std::move(msg));
  }
}

// --- IQs ------------------------------------------------------------------------------------

void Room::iq(const xml::Element& iq, const Jid& from, Outbox& out, SysTime now) {
  auto to = Jid::parse(iq.get("to"));
  std::string nick = to ? std::string(to->resource()) : std::string();
  if (!nick.empty()) return iq_to_occupant(iq, from, nick, out);
  auto type = iq.get("type");
  if (type != "get" && type != "set") return;
  const auto* q = iq.first_child();
  if (!q) return error(iq, "modify", "bad-request", out);
  if (locked_ && affiliation(from) != Affiliation::Owner)
    return error(iq, "cancel", "item-not-found", out);
  const auto& ns = q->xmlns();
  if (ns == xep::disco::kInfoNs && type == "get") {
    if (q->has("node")) return error(iq, "cancel", "item-not-found", out);
    return disco_info(iq, out);
  }
  if (ns == xep::disco::kItemsNs && type == "get") {
    // §6.5: the occupants are not listed (their nicks are for occupants to see).
    xep::disco::Items items;
    items.node = q->get("node");
    return result(iq, out, xep::disco::to_element(items));
  }
  if (ns == kPingNs && type == "get") return result(iq, out);
  if (ns.starts_with("urn:xmpp:mam:")) return archive_query(iq, from, out);
  if (ns == kOwnerNs) return owner(iq, from, out);
  if (ns == kAdminNs) return admin(iq, from, out);
  if (auto m = parse_moderation(*q)) return moderate(iq, *m, from, out, now);  // XEP-0425
  error(iq, "cancel", "service-unavailable", out);
}

// XEP-0313 §6 on a room: who may read is who may be in it. Banned users never; in a
// members-only room members (joined or not: a phone catching up after a night), otherwise
// anyone.
void Room::archive_query(const xml::Element& iq, const Jid& from, Outbox& out) {
  if (!archive_ || !settings_.logging)
    return error(iq, "cancel", "service-unavailable", out, "This room is not archived");
  Affiliation a = affiliation(from);
  if (a == Affiliation::Outcast) return error(iq, "auth", "forbidden", out);
  if (settings_.members_only && a < Affiliation::Member && !occupant_of(from))
    return error(iq, "auth", "forbidden", out, "Only members may read this room's archive");
  archive_->serve(jid_, iq, from);
}

void Room::disco_info(const xml::Element& iq, Outbox& out) const {
  xep::disco::Info info;
  info.identities.push_back(
      {"conference", "text", settings_.name.empty() ? std::string(jid_.local()) : settings_.name});
  const auto& s = settings_;
  info.features = {std::string(kMucNs),
                   std::string(xep::disco::kInfoNs),
                   std::string(kOccupantIdNs),
                   std::string(sid::kNs),
                   s.persistent ? "muc_persistent" : "muc_temporary",
                   s.members_only ? "muc_membersonly" : "muc_open",
                   s.moderated ? "muc_moderated" : "muc_unmoderated",
                   s.password_protected ? "muc_passwordprotected" : "muc_unsecured",
                   s.whois == Whois::Anyone ? "muc_nonanonymous" : "muc_semianonymous",
                   s.is_public ? "muc_public" : "muc_hidden"};
  if (archive_ && s.logging) info.features.push_back("urn:xmpp:mam:2");
  add_moderation_features(info.features);
  std::sort(info.features.begin(), info.features.end());
  namespace df = xep::dataforms;
  df::Form form = df::with_form_type(df::FormType::Result, std::string(kRoomInfoNs));
  form.add("muc#roominfo_description", "text-single", {s.description}).label = "Description";
  form.add("muc#roominfo_occupants", "text-single", {std::to_string(occupants_.size())}).label =
      "Number of occupants";
  form.add("muc#roominfo_subject", "text-single", {subject_}).label = "Subject";
  form.add("muc#roominfo_changesubject", "boolean", {s.change_subject ? "1" : "0"}).label =
      "Occupants may change the subject";
  form.add("muc#roomconfig_roomname", "text-single", {s.name}).label = "Name";
  info.extensions.push_back(df::to_element(form));
  result(iq, out, xep::disco::to_element(info));
}

void Room::iq_to_occupant(const xml::Element& iq, const Jid& from, const std::string& nick,
                          Outbox& out) {
  auto type = iq.get("type");
  if (type == "result" || type == "error") {  // the answer to a request the room forwarded
    auto it = pending_iqs_.find(std::string(iq.get("id")));
    if (it == pending_iqs_.end() || it->second.requester_nick != nick ||
        it->second.target.bare() != from.bare())
      return;
    auto copy = std::make_shared<xml::Element>(iq);
    copy->set("id", it->second.id);
    copy->set("from", jid_.with_resource(it->second.target_nick).str());
    copy->set("to", it->second.requester.str());
    out.push_back(std::move(copy));
    pending_iqs_.erase(it);
    return;
  }
  Occupant* o = occupant_of(from);
  const auto* q = iq.first_child();
  if (q && q->xmlns() == kPingNs && q->name() == "ping" && type == "get" &&
      (!o || o->nick == nick)) {
    // XEP-0410: is this session still joined under that nick?
    if (o) return result(iq, out);
    return error(iq, "cancel", "not-acceptable", out, "You are not joined with that nickname");
  }
  if (!o) return error(iq, "cancel", "not-acceptable", out, "Only occupants may send");
  Occupant* t = occupant_by_nick(nick);
  if (!t) return error(iq, "cancel", "item-not-found", out);
  // §7.7 (and 17.3 of 1.34: vCards go to the bare JID): forwarded, the answer mapped back.
  Jid target = is_vcard(iq) ? t->bare : t->sessions.back().jid;
  std::string id = "muc" + std::to_string(next_iq_++);
  if (pending_iqs_.size() >= 256) pending_iqs_.erase(pending_iqs_.begin());
  pending_iqs_[id] = {from, std::string(iq.get("id")), target, o->nick, t->nick};
  auto copy = std::make_shared<xml::Element>(iq);
  copy->set("id", id);
  copy->set("from", jid_.with_resource(o->nick).str());
  copy->set("to", target.str());
  out.push_back(std::move(copy));
}

}  // namespace parley::muc
