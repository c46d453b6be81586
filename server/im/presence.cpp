#include "im/presence.h"

#include <exception>
#include <set>

#include "core/log.h"
#include "core/server.h"
#include "im/roster.h"
#include "im/subscription.h"
#include "router/delivery.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "storage/account_store.h"
#include "storage/database.h"
#include "xml/stanza.h"

namespace parley::im {

namespace {

using ElementPtr = std::shared_ptr<xml::Element>;

xml::Element presence(const Jid& from, const Jid& to, std::string_view type) {
  xml::Element p("presence", std::string(stanza::kClientNs));
  p.set("from", from.str());
  p.set("to", to.str());
  if (!type.empty()) p.set("type", type);
  return p;
}

// A copy of `stanza` addressed to `to` (the original is shared with other recipients).
void route_copy(Server& server, const xml::Element& stanza, const Jid& to) {
  auto copy = std::make_shared<xml::Element>(stanza);
  copy->set("to", to.str());
  server.router().route(std::move(copy));
}

// The serialized form kept for a pending request, ready for Session::deliver_bytes at the next
// login (§3.1.3).
std::string stored_form(const xml::Element& stanza) {
  xml::Element copy(stanza);
  copy.set_xmlns(std::string(stanza::kClientNs));
  return copy.str(stanza::kClientNs);
}

// ---- Subscriptions: the user's server, outbound (§3.x.2) ----

void outbound_subscription(Server& server, const Jid& user, const Jid& contact,
                           SubscriptionType type, ElementPtr stanza) {
  server.db().post(user.bare_str(), [&server, user, contact, type, stanza](storage::Connection& c) {
    RosterStore store(c);
    auto item = store.item(user, contact);
    auto before = state_of(item, store.has_request(user, contact));
    auto r = outbound(before, type);
    if (before.pending_in && !r.state.pending_in) store.remove_request(user, contact);
    if (item_differs(before, r.state)) {
      RosterItem updated = item.value_or(new_item(contact));
      apply(updated, r.state);
      push(server, user, item_element(updated), store.put(user, updated));
    }
    if (!r.route) return;
    // §3.1.2: stamped with the bare JID, the subscription belongs to the account.
    stanza->set("from", user.str());
    stanza->set("to", contact.str());
    server.router().route(stanza);
    if (type == SubscriptionType::Subscribed) {
      send_current_presence(server, user, contact);  // §3.1.5
    } else if (type == SubscriptionType::Unsubscribed && has_from(before.subscription)) {
      send_unavailable(server, user, contact);  // §3.2.2
    }
  });
}

// ---- Subscriptions: the contact's server, inbound (§3.x.3) ----

void inbound_subscription(Server& server, const Jid& user, const Jid& sender, SubscriptionType type,
                          ElementPtr stanza) {
  server.db().post(user.bare_str(), [&server, user, sender, type, stanza](storage::Connection& c) {
    // §8.5.1: presence to an account that does not exist is silently ignored.
    if (!storage::AccountStore(c).exists(user)) return;
    RosterStore store(c);
    auto item = store.item(user, sender);
    auto before = state_of(item, store.has_request(user, sender));
    auto r = inbound(before, type);
    stanza->set("from", sender.str());
    stanza->set("to", user.str());
    if (type == SubscriptionType::Subscribe && r.deliver)
      store.add_request(user, SubscriptionRequest{sender, stored_form(*stanza)});
    if (before.pending_in && !r.state.pending_in) store.remove_request(user, sender);
    if (item_differs(before, r.state)) {
      RosterItem updated = item.value_or(new_item(sender));
      apply(updated, r.state);
      push(server, user, item_element(updated), store.put(user, updated));
    }
    if (r.deliver) {
      for (const auto& s : server.sessions().resources(user)) {
        // §3.1.3: a request goes to resources that can act on it (they have the roster).
        if (!s->available) continue;
        if (type == SubscriptionType::Subscribe && !s->interested) continue;
        Router::deliver(s, stanza);
      }
    }
    if (r.auto_subscribed) {
      // §3.1.3 / §3.4.2: answered on the user's behalf, then the new subscriber gets the
      // user's presence as after any approval (§3.1.5).
      server.router().route(presence(user, sender, "subscribed"));
      send_current_presence(server, user, sender);
    }
    // §3.3.3: the contact's subscription is gone, so is the user's presence for it.
    if (type == SubscriptionType::Unsubscribe && has_from(before.subscription))
      send_unavailable(server, user, sender);
  });
}

// ---- Probes (§4.3) ----

void answer_probe(Server& server, const Jid& user, const Jid& prober) {
  server.db().post(user.bare_str(), [&server, user, prober](storage::Connection& c) {
    bool allowed = prober.bare() == user;
    if (!allowed) {
      auto item = RosterStore(c).item(user, prober.bare());
      allowed = item && has_from(item->subscription);
    }
    // §4.3.2: a prober that is not subscribed learns nothing.
    if (allowed) send_current_presence(server, user, prober);
  });
}

// ---- Broadcast (§4.2, §4.4, §4.5) ----

// Routes `stanza` (from a full JID of `user`) to every contact subscribed to the user and to
// `directed` (§4.6.3), once each. Runs the roster read on the user's worker. With `arrived`
// (initial presence), that session also gets the subscription requests that came while the
// user was away (§3.1.3), in the same database turn: one worker hop per login, not two.
void broadcast_to_contacts(Server& server, const Jid& user, std::shared_ptr<const xml::Element> p,
                           std::set<Jid> directed, bool probe, SessionPtr arrived = nullptr) {
  server.db().post(user.bare_str(), [&server, user, p, directed = std::move(directed), probe,
                                     arrived = std::move(arrived)](storage::Connection& c) {
    if (arrived)
      for (const auto& request : RosterStore(c).requests(user))
        arrived->deliver_bytes(std::make_shared<const std::string>(request.stanza));
    std::set<Jid> sent;
    for (const auto& item : RosterStore(c).items(user)) {
      if (has_from(item.subscription)) {
        route_copy(server, *p, item.jid);
        sent.insert(item.jid);
      }
      // §4.2.2: initial presence asks the contacts the user is subscribed to for theirs.
      if (probe && has_to(item.subscription))
        server.router().route(presence(user, item.jid, "probe"));
    }
    for (const auto& to : directed)
      if (!sent.count(to)) route_copy(server, *p, to);
  });
}

// The user's own available resources see each other's presence (§4.2.2, §4.4.2).
void reflect(Server& server, const Jid& user, const std::shared_ptr<const xml::Element>& p) {
  for (const auto& s : server.sessions().resources(user))
    if (s->available) Router::deliver(s, p);
}

void available(Server& server, const SessionPtr& session, const ElementPtr& stanza) {
  const Jid user = session->jid().bare();
  session->priority = delivery::parse_priority(stanza->child_text("priority"));
  auto stored = std::make_shared<xml::Element>(*stanza);
  stored->remove("to");
  session->set_presence(stored);
  bool initial = !session->available.exchange(true);
  reflect(server, user, stored);
  if (initial) {
    // §4.2.2: the new resource learns about the user's other available resources.
    for (const auto& other : server.sessions().resources(user))
      if (other != session && other->available)
        if (auto p = other->presence()) {
          auto copy = std::make_shared<xml::Element>(*p);
          copy->set("to", session->jid().str());
          Router::deliver(session, std::move(copy));
        }
  }
  broadcast_to_contacts(server, user, stored, {}, initial, initial ? session : nullptr);
  SessionAvailable event{server, session, initial};
  server.hooks().fire(event);
}

// §4.5.2 and §4.6.3: unavailable goes to the subscribers and to directed-presence recipients.
// `echo`: the session is still bound and sees its own unavailable (§4.5.2).
void unavailable(Server& server, const SessionPtr& session, std::shared_ptr<const xml::Element> p,
                 bool was_available, bool echo) {
  auto directed = session->take_directed();
  const Jid user = session->jid().bare();
  if (was_available) {
    reflect(server, user, p);
    if (echo) Router::deliver(session, p);
  }
  if (was_available)
    broadcast_to_contacts(server, user, std::move(p), std::move(directed), false);
  else
    for (const auto& to : directed) route_copy(server, *p, to);
}

}  // namespace

void send_current_presence(Server& server, const Jid& user, const Jid& to) {
  for (const auto& s : server.sessions().resources(user.bare())) {
    if (!s->available) continue;
    auto p = s->presence();
    if (!p) continue;
    auto copy = std::make_shared<xml::Element>(*p);
    copy->set("from", s->jid().str());
    copy->set("to", to.str());
    server.router().route(std::move(copy));
  }
}

void send_unavailable(Server& server, const Jid& user, const Jid& to) {
  for (const auto& s : server.sessions().resources(user.bare()))
    if (s->available) server.router().route(presence(s->jid(), to, "unavailable"));
}

std::vector<HookToken> register_presence(Server& server) {
  std::vector<HookToken> hooks;
  auto& h = server.hooks();

  // Outbound: what a client sends with a 'to', before it is routed anywhere.
  hooks.push_back(h.on<StanzaFromClient>(
      kImPriority,
      [&server](StanzaFromClient& e) {
        if (e.stanza->name() != "presence" || !e.stanza->has("to")) return Flow::Continue;
        auto type = e.stanza->get("type");
        if (auto sub = parse_subscription_type(type)) {
          Jid user = e.from.bare(), contact = e.to.bare();
          if (contact == user || !contact.has_local()) return Flow::Stop;  // nothing to track
          outbound_subscription(server, user, contact, *sub, e.stanza);
          return Flow::Stop;
        }
        // §4.6: directed presence; remembered so the recipient hears when the session ends.
        if (e.to.bare() != e.from.bare()) {
          if (type.empty())
            e.origin->add_directed(e.to);
          else if (type == "unavailable")
            e.origin->remove_directed(e.to);
        }
        return Flow::Continue;
      },
      "im"));

  auto to_account = [&server](auto& e) {
    auto type = e.stanza->get("type");
    if (type == "probe") {
      answer_probe(server, e.to.bare(), e.from);
      return Flow::Stop;
    }
    if (auto sub = parse_subscription_type(type)) {
      // §8.5.3.2.2: subscription presence to a full JID is handled as to the bare JID.
      inbound_subscription(server, e.to.bare(), e.from.bare(), *sub, e.stanza);
      return Flow::Stop;
    }
    return Flow::Continue;
  };

  hooks.push_back(h.on<PresenceToBare>(
      kImPriority,
      [&server, to_account](PresenceToBare& e) {
        bool broadcast = e.origin && !e.stanza->has("to") && e.from.bare() == e.to;
        if (!broadcast) return to_account(e);
        auto type = e.stanza->get("type");
        if (type.empty()) {
          available(server, e.origin, e.stanza);
        } else if (type == "unavailable") {
          bool was = e.origin->available.exchange(false);
          e.origin->set_presence(nullptr);
          unavailable(server, e.origin, e.stanza, was, true);
        }
        // Probes, errors and subscription requests without an addressee mean nothing.
        return Flow::Stop;
      },
      "im"));

  hooks.push_back(h.on<PresenceToFull>(
      kImPriority, [to_account](PresenceToFull& e) { return to_account(e); }, "im"));

  // A session that ends without unavailable: its subscribers hear it anyway (§4.5.2).
  hooks.push_back(h.on<SessionClosed>(
      kImPriority,
      [&server](SessionClosed& e) {
        if (!e.session) return Flow::Continue;
        e.session->available = false;
        // Replaced by a new session under the same full JID (resource conflict, RFC 6120
        // §7.7.2.2): an unavailable from this JID now could arrive after the new session's
        // initial presence and hide it from contacts.
        if (auto current = server.sessions().find(e.session->jid());
            current && current != e.session)
          return Flow::Continue;
        auto p = std::make_shared<xml::Element>(
            presence(e.session->jid(), e.session->jid().bare(), "unavailable"));
        p->remove("to");
        unavailable(server, e.session, std::move(p), e.was_available, false);
        return Flow::Continue;
      },
      "im"));

  return hooks;
}

}  // namespace parley::im
