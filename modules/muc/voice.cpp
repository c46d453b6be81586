// XEP-0045 §7.13 Requesting Voice and §8.6 Approving Voice Requests. Part of Room (room.h);
// Room::message calls in for a message to the room's bare JID carrying a muc#request form.
//
// - A visitor in a moderated room submits the form with muc#role = participant (§7.13). The
//   room sends every session of every moderator a voice approval form from the room's JID
//   (§8.6): muc#role, muc#jid (the requester's real full JID: moderators see real JIDs in both
//   kinds of room, sees_jids), muc#roomnick and muc#request_allow = false. The XEP names no error
//   for a request it does not foresee, so the room answers what would otherwise be silently
//   lost: a request from an occupant with voice, or in a room that is not moderated, gets
//   <not-allowed/>; another role than participant <bad-request/>; a non-occupant
//   <not-acceptable/> as for any message to the room. With no moderator in the room the request
//   goes nowhere (§8.6 asks for nothing else); the visitor may ask again later.
// - A moderator submits the form back (a muc#request form with muc#request_allow). True (or 1,
//   XEP-0004 §3.3 boolean) grants voice as §8.3 does, with its presence broadcast naming the
//   moderator as actor; false, or a cancelled form, changes nothing. §8 is for moderators: from
//   anyone else the submission gets <forbidden/>, as a §8.3 voice grant would. When the nick
//   has left, or now belongs to another real JID than muc#jid, the answer is <item-not-found/>;
//   an occupant who has voice by now is left as it is.
// Nothing new is advertised: the XEP registers muc#request as a FORM_TYPE, not as a feature.
#include "room.h"
#include "xep/dataforms.h"
#include "xep/stanza_id.h"
#include "xml/stanza.h"

namespace parley::muc {

namespace df = xep::dataforms;

inline constexpr std::string_view kRequestNs = "http://jabber.org/protocol/muc#request";

std::optional<df::Form> voice_form(const xml::Element& m) {
  const auto* x = m.child("x", df::kNs);
  if (!x) return std::nullopt;
  auto form = df::parse(*x);
  if (!form || form->form_type() != kRequestNs) return std::nullopt;
  return std::move(*form);
}

void Room::voice(const xml::Element& m, const df::Form& form, const Jid& from, Outbox& out) {
  if (form.field("muc#request_allow") || form.type == df::FormType::Cancel)
    return approve_voice(m, form, from, out);
  Occupant* o = occupant_of(from);
  if (!o) return error(m, "modify", "not-acceptable", out, "Only occupants may send");
  const auto* role = form.field("muc#role");
  if (form.type != df::FormType::Submit || !role || role->value() != "participant")
    return error(m, "modify", "bad-request", out, "Only voice (participant) may be requested");
  if (!settings_.moderated || o->role != Role::Visitor)
    return error(m, "cancel", "not-allowed", out,
                 "Only visitors in a moderated room ask for voice");
  auto approval = df::with_form_type(df::FormType::Form, std::string(kRequestNs));
  approval.title = "Voice request";
  approval.instructions = {
      "To approve this request for voice, select the \"Grant voice to this person?\" checkbox "
      "and click OK. To skip this request, click the cancel button."};
  approval.add("muc#role", "list-single", {"participant"}).label = "Requested role";
  approval.add("muc#jid", "jid-single", {from.str()}).label = "User ID";
  approval.add("muc#roomnick", "text-single", {o->nick}).label = "Room Nickname";
  approval.add("muc#request_allow", "boolean", {"false"}).label = "Grant voice to this person?";
  auto msg = std::make_shared<xml::Element>("message", std::string(stanza::kClientNs));
  msg->set("from", jid_.str());
  msg->set("id", xep::sid::random_id());
  msg->add(df::to_element(approval));
  std::vector<Jid> moderators;
  for (const auto& mod : occupants_)
    if (mod.role == Role::Moderator)
      for (const auto& s : mod.sessions) moderators.push_back(s.jid);
  out.broadcast(std::move(msg), std::move(moderators));
}

void Room::approve_voice(const xml::Element& m, const df::Form& form, const Jid& from,
                         Outbox& out) {
  Occupant* actor = occupant_of(from);
  if (!actor || actor->role != Role::Moderator)
    return error(m, "auth", "forbidden", out, "Only moderators approve voice requests");
  if (form.type != df::FormType::Submit) return;  // cancelled: skipped
  const auto* allow = form.field("muc#request_allow");
  if (!allow || (allow->value() != "true" && allow->value() != "1")) return;  // denied
  const auto* nick = form.field("muc#roomnick");
  Occupant* t = nick ? occupant_by_nick(nick->value()) : nullptr;
  if (const auto* j = form.field("muc#jid"); t && j && !j->value().empty()) {
    auto real = Jid::parse(j->value());
    if (!real || real->bare() != t->bare) t = nullptr;  // the nick is someone else's now
  }
  if (!t) return error(m, "cancel", "item-not-found", out, "The requester is not in the room");
  if (t->role != Role::Visitor) return;  // has voice already (or lost it by leaving)
  std::vector<Change> changes;
  if (auto refused = set_role(*actor, t->nick, Role::Participant, changes)) {
    std::string_view type = *refused == "forbidden" ? "auth" : "cancel";
    return error(m, type, *refused, out);
  }
  for (auto& c : changes) c.actor = actor->nick;
  announce(changes, out);
}

}  // namespace parley::muc
