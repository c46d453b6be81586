// XEP-0045 owner use cases (§10: configuration, instant rooms, destruction) and moderator and
// admin use cases (§8, §9: roles by nick, affiliations by JID, their lists), with the XEP's
// permission checks. Part of Room (room.h).
#include <algorithm>

#include "room.h"
#include "xep/dataforms.h"
#include "xml/stanza.h"

namespace parley::muc {

namespace df = xep::dataforms;

// --- §10 owner ------------------------------------------------------------------------------

void Room::owner(const xml::Element& iq, const Jid& from, Outbox& out) {
  if (affiliation(from) != Affiliation::Owner)
    return error(iq, "auth", "forbidden", out, "Only owners may configure the room");
  const xml::Element& q = *iq.first_child();
  if (iq.get("type") == "get") {  // §10.2
    xml::Element query("query", std::string(kOwnerNs));
    query.add(df::to_element(to_form(settings_, options_.max_history)));
    return result(iq, out, std::move(query));
  }
  if (const auto* d = q.child("destroy")) {  // §10.9
    result(iq, out);
    return destroy(d, out);
  }
  const auto* x = q.child("x", df::kNs);
  if (!x) return error(iq, "modify", "bad-request", out, "Expected a form or <destroy/>");
  auto form = df::parse(*x);
  if (!form) return error(iq, "modify", "bad-request", out, form.error());
  if (form->type == df::FormType::Cancel) {  // §10.1.3: cancelling a new room destroys it
    result(iq, out);
    if (locked_) destroy(nullptr, out);
    return;
  }
  // An empty submission is the instant room of §10.1.2: the defaults as they are.
  auto next = apply_form(*form, settings_, options_.max_history);
  if (!next) return error(iq, "modify", "not-acceptable", out, next.error());
  result(iq, out);
  apply_settings(*next, out);
}

void Room::apply_settings(RoomSettings next, Outbox& out) {
  const RoomSettings before = settings_;
  const bool was_locked = locked_;
  settings_ = std::move(next);
  locked_ = false;
  if (!was_locked) {
    // §10.2.1: tell the occupants what changed (104, and 172/173 for anonymity, 170/171 for
    // logging).
    xml::Element m("message", std::string(stanza::kClientNs));
    m.set("type", "groupchat");
    m.set("from", jid_.str());
    auto& x = m.add("x", std::string(kUserNs));
    auto code = [&x](int c) { x.add("status").set("code", std::to_string(c)); };
    code(104);
    if (before.whois != settings_.whois) code(settings_.whois == Whois::Anyone ? 172 : 173);
    if (before.logging != settings_.logging) code(settings_.logging ? 170 : 171);
    to_all(m, out);
  }
  if (before.presence_broadcast != settings_.presence_broadcast) sync_presence_broadcast(out);
  if (settings_.members_only && !before.members_only) {  // §9.3: non-members leave, 322
    std::vector<Change> changes;
    for (const auto& o : occupants_)
      if (affiliation(o.bare) < Affiliation::Member)
        changes.push_back({o.nick, {322}, true, "", ""});
    announce(changes, out);
  }
  if (settings_.persistent) {
    persist();
    if (!before.persistent || was_locked)
      for (const auto& [key, a] : affiliations_) persist_affiliation(a.jid);
  } else if (before.persistent && persistence_) {
    persistence_->remove(jid_);
  }
}

void Room::destroy(const xml::Element* d, Outbox& out) {
  // §10.9: every occupant gets unavailable with <destroy/>, then the room is gone.
  for (const auto& o : occupants_)
    for (const auto& s : o.sessions) {
      auto p = std::make_shared<xml::Element>("presence", std::string(stanza::kClientNs));
      p->set("from", jid_.with_resource(o.nick).str());
      p->set("to", s.jid.str());
      p->set("type", "unavailable");
      auto& x = p->add("x", std::string(kUserNs));
      x.add("item").set("affiliation", "none").set("role", "none");
      auto& dest = x.add("destroy");
      if (d && d->has("jid")) dest.set("jid", d->get("jid"));
      if (d)
        if (const auto* reason = d->child("reason")) dest.text_child("reason", reason->text());
      if (const auto* pw = d ? d->child("password") : nullptr)
        dest.text_child("password", pw->text());
      x.add("status").set("code", "110");
      out.push_back(std::move(p));
    }
  occupants_.clear();
  if (persistence_ && settings_.persistent && !locked_) persistence_->remove(jid_);
  if (archive_) archive_->remove(jid_);  // a later room of that name starts with no past
  destroyed_ = true;
}

// --- §8, §9 admin ---------------------------------------------------------------------------

void Room::admin(const xml::Element& iq, const Jid& from, Outbox& out) {
  const xml::Element& q = *iq.first_child();
  auto items = q.children("item", kAdminNs);
  if (items.empty()) return error(iq, "modify", "bad-request", out, "Expected an <item/>");
  const Affiliation actor_aff = affiliation(from);
  Occupant* actor = occupant_of(from);

  if (iq.get("type") == "get") {
    const auto* item = items.front();
    xml::Element query("query", std::string(kAdminNs));
    if (item->has("affiliation")) {  // §9.5, §9.8, §10.5, §10.8: lists by affiliation
      auto a = parse_affiliation(item->get("affiliation"));
      if (!a || *a == Affiliation::None) return error(iq, "modify", "bad-request", out);
      if (actor_aff < Affiliation::Admin) return error(iq, "auth", "forbidden", out);
      for (const auto& [key, e] : affiliations_) {
        if (e.affiliation != *a) continue;
        auto& i = query.add("item");
        i.set("affiliation", to_string(e.affiliation)).set("jid", e.jid.str());
        if (!e.nick.empty()) i.set("nick", e.nick);
        if (!e.reason.empty()) i.text_child("reason", e.reason);
      }
      return result(iq, out, std::move(query));
    }
    if (item->has("role")) {  // §8.5, §9.8: lists by role, for moderators
      auto r = parse_role(item->get("role"));
      if (!r || *r == Role::None) return error(iq, "modify", "bad-request", out);
      if (!actor || actor->role != Role::Moderator) return error(iq, "auth", "forbidden", out);
      for (const auto& o : occupants_) {
        if (o.role != *r) continue;
        auto& i = query.add("item");
        i.set("role", to_string(o.role)).set("nick", o.nick);
        i.set("affiliation", to_string(affiliation(o.bare)));
        if (sees_jids(*actor)) i.set("jid", o.sessions.back().jid.str());
      }
      return result(iq, out, std::move(query));
    }
    return error(iq, "modify", "bad-request", out);
  }

  // Set: every item, in order. The first one refused answers the request; the ones before it
  // have been applied (clients send one item per request in practice).
  std::vector<Change> changes;
  for (const auto* item : items) {
    std::string reason = item->child_text("reason");
    std::optional<std::string> refused;
    if (item->has("role") && item->has("nick")) {
      auto r = parse_role(item->get("role"));
      if (!r) return error(iq, "modify", "bad-request", out);
      if (!actor) return error(iq, "auth", "forbidden", out);
      refused = set_role(*actor, std::string(item->get("nick")), *r, changes);
    } else if (item->has("affiliation") && (item->has("jid") || item->has("nick"))) {
      auto a = parse_affiliation(item->get("affiliation"));
      if (!a) return error(iq, "modify", "bad-request", out);
      std::optional<Jid> target;
      if (item->has("jid")) {
        target = Jid::parse(item->get("jid"));
        if (!target) return error(iq, "modify", "jid-malformed", out);
      } else if (Occupant* t = occupant_by_nick(item->get("nick"))) {
        target = t->bare;
      } else {
        return error(iq, "cancel", "item-not-found", out);
      }
      refused = set_affiliation(from, target->bare(), *a, reason, changes);
    } else {
      return error(iq, "modify", "bad-request", out);
    }
    if (refused) {
      announce(changes, out);
      auto cond = *refused;
      std::string_view type = cond == "forbidden" ? "auth" : "cancel";
      return error(iq, type, cond, out);
    }
    for (auto& c : changes)
      if (c.reason.empty()) c.reason = reason;
  }
  std::string actor_nick = actor ? actor->nick : std::string();
  for (auto& c : changes) c.actor = actor_nick;
  result(iq, out);
  announce(changes, out);
}

std::optional<std::string> Room::set_role(Occupant& actor, const std::string& nick, Role role,
                                          std::vector<Change>& changes) {
  Occupant* t = occupant_by_nick(nick);
  if (!t) return "item-not-found";
  const Affiliation actor_aff = affiliation(actor.bare);
  const Affiliation target_aff = affiliation(t->bare);
  const bool about_moderator = role == Role::Moderator || t->role == Role::Moderator;
  if (about_moderator) {
    // §9.6, §9.7: granting and revoking moderator is for admins and owners.
    if (actor_aff < Affiliation::Admin) return "forbidden";
  } else if (actor.role != Role::Moderator) {
    return "forbidden";  // §8.2-§8.4: kicks and voice are for moderators
  }
  // §8.2, §9.7: an admin or owner keeps its role (change the affiliation instead).
  if (target_aff >= Affiliation::Admin && role != Role::Moderator) return "not-allowed";
  if (role == t->role) return std::nullopt;
  t->role = role;
  if (role == Role::None)
    changes.push_back({t->nick, {307}, true, "", ""});  // §8.2 kick
  else
    changes.push_back({t->nick, {}, false, "", ""});
  return std::nullopt;
}

std::optional<std::string> Room::set_affiliation(const Jid& actor, const Jid& target, Affiliation a,
                                                 const std::string& reason,
                                                 std::vector<Change>& changes) {
  const Affiliation actor_aff = affiliation(actor);
  auto it = affiliations_.find(target.str());
  const Affiliation before = it == affiliations_.end() ? Affiliation::None : it->second.affiliation;
  if (actor_aff < Affiliation::Admin) return "forbidden";
  // §9, §10.3-§10.7: admins manage members and outcasts below them; owners everything.
  if (actor_aff == Affiliation::Admin && (a >= Affiliation::Admin || before >= Affiliation::Admin))
    return "not-allowed";
  if (before == Affiliation::Owner && a != Affiliation::Owner) {  // §10.6: keep one owner
    auto owners = std::count_if(affiliations_.begin(), affiliations_.end(), [](const auto& kv) {
      return kv.second.affiliation == Affiliation::Owner;
    });
    if (owners <= 1) return "conflict";
  }
  if (a == before) return std::nullopt;
  if (a == Affiliation::None) {
    affiliations_.erase(target.str());
  } else {
    auto& e = affiliations_[target.str()];
    e.jid = target;
    e.affiliation = a;
    e.reason = reason;
  }
  persist_affiliation(target);
  for (auto& o : occupants_) {
    bool match = o.bare == target || (!target.has_local() && o.bare.domain() == target.domain());
    if (!match) continue;
    if (a == Affiliation::Outcast) {
      changes.push_back({o.nick, {301}, true, "", reason});  // §9.1 ban
    } else if (settings_.members_only && a < Affiliation::Member) {
      changes.push_back({o.nick, {321}, true, "", reason});  // §9.4
    } else {
      o.role = default_role(a);
      changes.push_back({o.nick, {}, false, "", reason});
    }
  }
  return std::nullopt;
}

void Room::announce(const std::vector<Change>& changes, Outbox& out) {
  for (const auto& c : changes) {
    Occupant* o = occupant_by_nick(c.nick);
    if (!o) continue;
    Decorate decorate = [&c](xml::Element& x) {
      auto* item = x.child("item");
      if (!c.actor.empty()) item->add("actor").set("nick", c.actor);
      if (!c.reason.empty()) item->text_child("reason", c.reason);
    };
    if (c.removed) {
      broadcast_presence(*o, out, c.codes, {}, "unavailable", decorate);
      occupants_.erase(occupants_.begin() + (o - occupants_.data()));
    } else {
      broadcast_presence(*o, out, c.codes, {}, {}, decorate);
    }
  }
}

}  // namespace parley::muc
