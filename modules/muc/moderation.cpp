// Moderation in rooms. Part of Room (room.h); room.cpp calls in from a few hooks.
//
// - XEP-0425 Moderated Message Retraction, version 0.3.0 (urn:xmpp:message-moderate:1 with
//   XEP-0424 0.4 urn:xmpp:message-retract:1): a moderator names a message by the room's
//   stanza-id; the room tombstones it in its archive (§5) and in its join history, tells every
//   occupant with a retraction from the room's own JID (§4.1), keeps that retraction in the
//   archive (XEP-0424 §6: clients catching up learn of it there) and answers the IQ. The 0.2
//   request (an XEP-0422 <apply-to/> with moderate:0 and retract:0) is accepted too, and the
//   broadcast carries the 0.2 form next to the current one for the clients that only know it.
// - XEP-0424 Message Retraction in rooms: an occupant's <retract/> is an ordinary groupchat
//   message (archived and relayed as any other); when it names a message of the same occupant
//   (same XEP-0421 occupant id, i.e. the same real bare JID) the room also replaces that message
//   with a tombstone in its history and archive (§6: a service SHOULD stop distributing it).
// - Flood limits: a token bucket per room and real bare JID for every message an occupant
//   sends to the room or through it; over the limit the message is refused with
//   <policy-violation/> type wait (RFC 6120 §8.3.3.12: a local policy, the sender may retry
//   later) and nobody sees it. Moderators are not limited: they must be able to act in a flood.
#include <algorithm>

#include "room.h"
#include "xep/delay.h"
#include "xep/stanza_id.h"
#include "xml/stanza.h"

namespace parley::muc {

namespace sid = xep::sid;

// --- pure parts -----------------------------------------------------------------------------

bool TokenBucket::take(double rate, double burst, SysTime now) {
  if (tokens < 0) {
    tokens = burst;
  } else if (now > last) {
    tokens = std::min(burst, tokens + std::chrono::duration<double>(now - last).count() * rate);
  }
  last = now;  // a clock that went back refills nothing, and does not block either
  if (tokens < 1) return false;
  tokens -= 1;
  return true;
}

bool TokenBucket::full(double rate, double burst, SysTime now) const {
  if (tokens < 0) return true;
  double elapsed = now > last ? std::chrono::duration<double>(now - last).count() : 0;
  return tokens + elapsed * rate >= burst;
}

std::optional<ModerationRequest> parse_moderation(const xml::Element& p) {
  ModerationRequest r;
  if (p.name() == "moderate" && p.xmlns() == kModerateNs) {  // 0.3
    if (p.child("retract", kRetractNs)) r.id = std::string(p.get("id"));
    r.reason = p.child_text("reason", kModerateNs);
    return r;
  }
  if (p.name() == "apply-to" && p.xmlns() == kFastenNs) {  // 0.2
    const auto* m = p.child("moderate", kModerate0Ns);
    if (!m) return std::nullopt;  // some other fastening: not for the room
    if (m->child("retract", kRetract0Ns)) r.id = std::string(p.get("id"));
    r.reason = m->child_text("reason", kModerate0Ns);
    r.legacy = true;
    return r;
  }
  return std::nullopt;
}

xml::Element make_tombstone(const xml::Element& original, const TombstoneInfo& info) {
  xml::Element t(original.name(), original.xmlns());
  for (const auto& a : original.attributes()) t.set(a.name, a.value);
  // What says who wrote it and which message it was; nothing of what it said.
  for (const auto* c : original.children())
    if (c->xmlns() == kOccupantIdNs || c->xmlns() == sid::kNs) t.add(*c);
  auto& r = t.add("retracted", std::string(kRetractNs));
  r.set("stamp", xep::format_datetime(info.stamp));
  if (!info.retraction_id.empty()) r.set("id", info.retraction_id);
  if (!info.moderator.empty()) {
    auto& m = r.add("moderated", std::string(kModerateNs));
    m.set("by", info.moderator);
    if (!info.moderator_occupant_id.empty())
      m.add("occupant-id", std::string(kOccupantIdNs)).set("id", info.moderator_occupant_id);
    if (!info.reason.empty()) r.text_child("reason", info.reason);
  }
  return t;
}

// --- XEP-0425 -------------------------------------------------------------------------------

void Room::moderate(const xml::Element& iq, const ModerationRequest& request, const Jid& from,
                    Outbox& out, SysTime now) {
  if (iq.get("type") != "set") return error(iq, "cancel", "bad-request", out);
  if (request.id.empty())
    return error(iq, "modify", "bad-request", out, "Expected <moderate id='…'><retract/>");
  const Occupant* o = occupant_of(from);
  if (!o || o->role != Role::Moderator)
    return error(iq, "auth", "forbidden", out,
                 "Only moderators are allowed to moderate other participants' messages");
  Moderation m{std::make_shared<const xml::Element>(iq), request,
               TombstoneInfo{now, sid::random_id(), jid_.with_resource(o->nick).str(), o->id,
                             request.reason}};
  if (!archive_ || !settings_.logging || !resume_)  // only the history can have it
    return finish_moderation(m, Archive::Retraction::NotFound, out);
  archive_->retract(
      jid_, request.id, o->bare,
      [info = m.tombstone](const xml::Element& original) {
        return std::optional<xml::Element>(make_tombstone(original, info));
      },
      [resume = resume_, m](Archive::Retraction outcome) {
        resume([m, outcome](Room* room, Outbox& out, SysTime) {
          if (room) return room->finish_moderation(m, outcome, out);
          // The room left memory meanwhile: the archive's answer is all there is to say.
          auto reply =
              outcome == Archive::Retraction::Done
                  ? stanza::iq_result(*m.iq)
                  : stanza::error_reply(*m.iq, stanza::ErrorType::Cancel, "item-not-found", {});
          out.push_back(std::make_shared<xml::Element>(std::move(reply)));
        });
      });
}

void Room::finish_moderation(const Moderation& m, Archive::Retraction outcome, Outbox& out) {
  const bool in_history = retract_in_history(m.request.id, m.tombstone);
  if (outcome == Archive::Retraction::Failed)
    return error(*m.iq, "wait", "internal-server-error", out);
  if (outcome != Archive::Retraction::Done && !in_history)
    return error(*m.iq, "cancel", "item-not-found", out, "No such message in this room");
  const TombstoneInfo& t = m.tombstone;
  // §4.1: from the room itself (clients accept moderation from nobody else), to everyone.
  xml::Element msg("message", std::string(stanza::kClientNs));
  msg.set("type", "groupchat");
  msg.set("from", jid_.str());
  msg.set("id", t.retraction_id);
  auto& retract = msg.add("retract", std::string(kRetractNs));
  retract.set("id", m.request.id);
  auto& moderated = retract.add("moderated", std::string(kModerateNs));
  moderated.set("by", t.moderator);
  moderated.add("occupant-id", std::string(kOccupantIdNs)).set("id", t.moderator_occupant_id);
  if (!t.reason.empty()) retract.text_child("reason", t.reason);
  // The same in the 0.2 form.
  auto& apply = msg.add("apply-to", std::string(kFastenNs));
  apply.set("id", m.request.id);
  auto& moderated0 = apply.add("moderated", std::string(kModerate0Ns));
  moderated0.set("by", t.moderator);
  moderated0.add("retract", std::string(kRetract0Ns));
  if (!t.reason.empty()) moderated0.text_child("reason", t.reason);
  // XEP-0424 §6: the archive keeps the retraction, for the clients that were away.
  const bool archived = archive_ && settings_.logging;
  std::string id = archived ? archive_->append(jid_, jid_, msg) : sid::random_id();
  sid::add_stanza_id(msg, {std::move(id), jid_.str()});
  to_all(msg, out);
  result(*m.iq, out);
}

// Replaces the history entry with the room's stanza-id `id` (by `author_occupant_id` when
// given) with its tombstone: joiners whose client still has the message see it go.
bool Room::retract_in_history(const std::string& id, const TombstoneInfo& info,
                              const std::string& author_occupant_id) {
  for (auto& h : history_) {
    auto s = sid::find_stanza_id(*h.message, jid_.str());
    if (!s || s->id != id) continue;
    if (!author_occupant_id.empty()) {
      const auto* oid = h.message->child("occupant-id", kOccupantIdNs);
      if (!oid || oid->get("id") != author_occupant_id) return false;
    }
    if (h.message->child("retracted", kRetractNs)) return true;  // already
    auto t = std::make_shared<xml::Element>(make_tombstone(*h.message, info));
    h.chars = t->str().size();
    h.message = std::move(t);
    return true;
  }
  return false;
}

// --- XEP-0424 -------------------------------------------------------------------------------

// `message` is an occupant's groupchat as the room relays it. Only the author's own message
// is tombstoned (XEP-0424 §7: the retraction must come from the author, which in a room is
// the occupant id); anything else stays, and the retraction is relayed all the same.
void Room::retract_own(const xml::Element& message, const Occupant& o, SysTime now) {
  const auto* r = message.child("retract", kRetractNs);
  if (!r || r->get("id").empty()) return;
  const std::string id(r->get("id"));
  TombstoneInfo info{now, std::string(message.get("id")), {}, {}, {}};
  retract_in_history(id, info, o.id);
  if (!archive_ || !settings_.logging) return;
  archive_->retract(
      jid_, id, o.bare,
      [info, author = o.id](const xml::Element& original) -> std::optional<xml::Element> {
        const auto* oid = original.child("occupant-id", kOccupantIdNs);
        if (!oid || oid->get("id") != author) return std::nullopt;
        return make_tombstone(original, info);
      },
      {});
}

// --- flood limits ---------------------------------------------------------------------------

bool Room::flooding(const Occupant& o, SysTime now) {
  const double rate = options_.flood_rate;
  const double burst = options_.flood_burst;
  if (rate <= 0 || burst <= 0 || o.role == Role::Moderator) return false;
  // Buckets outlive their occupant (leaving and coming back starts no fresh burst) until
  // they would be full again anyway.
  if (flood_.size() > 2 * occupants_.size() + 64)
    std::erase_if(flood_, [&](const auto& kv) { return kv.second.full(rate, burst, now); });
  return !flood_[o.bare.str()].take(rate, burst, now);
}

// --- disco ----------------------------------------------------------------------------------

void Room::add_moderation_features(std::vector<std::string>& features) const {
  features.emplace_back(kModerateNs);
  features.emplace_back(kModerate0Ns);
  features.emplace_back(kRetractNs);
  if (archive_ && settings_.logging) features.push_back(std::string(kRetractNs) + "#tombstone");
}

}  // namespace parley::muc
