#include "im/roster.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <string>

#include "core/log.h"
#include "core/server.h"
#include "im/presence.h"
#include "router/iq.h"
#include "router/router.h"
#include "storage/database.h"
#include "xml/stanza.h"

namespace parley::im {

namespace {

std::atomic<uint64_t> push_counter{1};

xml::Element query(int64_t version) {
  xml::Element q("query", std::string(kRosterNs));
  q.set("ver", std::to_string(version));  // XEP-0237 §3: always tell the client the version
  return q;
}

xml::Element presence_to(const Jid& from, const Jid& to, std::string_view type) {
  xml::Element p("presence", std::string(stanza::kClientNs));
  p.set("from", from.str());
  p.set("to", to.str());
  p.set("type", type);
  return p;
}

// Parsed <item/> of a roster set.
struct ItemSet {
  Jid jid;
  bool remove = false;
  std::string name;
  std::vector<std::string> groups;
};

// RFC 6121 §2.3.3 error cases. Returns the condition, or empty when the set is acceptable.
std::string_view parse_set(const xml::Element& q, const Jid& user, ItemSet& out,
                           std::string& text) {
  auto items = q.children("item", kRosterNs);
  if (items.size() != 1) {
    text = "a roster set carries exactly one item";
    return "bad-request";
  }
  const auto& item = *items.front();
  auto jid = Jid::parse(item.get("jid"));
  if (!jid || !jid->is_bare()) {
    text = "the item's jid must be a valid bare JID";
    return "bad-request";
  }
  out.jid = *jid;
  // §2.1.2.5: a client can set nothing but 'remove'; any other value is ignored.
  out.remove = item.get("subscription") == "remove";
  if (out.remove) return {};
  if (out.jid == user.bare()) {
    text = "an account cannot be its own contact";
    return "not-allowed";
  }
  out.name = std::string(item.get("name"));
  if (out.name.size() > kMaxNameBytes) {
    text = "name too long";
    return "not-acceptable";
  }
  for (const auto* g : item.children("group", kRosterNs)) {
    std::string group = g->text();
    if (group.empty()) {
      text = "empty group name";
      return "not-acceptable";
    }
    if (group.size() > kMaxGroupBytes) {
      text = "group name too long";
      return "not-acceptable";
    }
    if (std::find(out.groups.begin(), out.groups.end(), group) != out.groups.end()) {
      text = "duplicate group";
      return "bad-request";
    }
    out.groups.push_back(std::move(group));
  }
  if (out.groups.size() > kMaxGroups) {
    text = "too many groups";
    return "not-acceptable";
  }
  return {};
}

void on_get(Server& server, const IqRequest& request) {
  // §2.1.6: the resource that asked for the roster is "interested" and gets pushes from now
  // on. It is marked before the read is queued, so no push can fall between the two.
  if (request.origin()) request.origin()->interested = true;
  std::optional<std::string> client_ver;
  if (const auto* v = request.payload().attr("ver")) client_ver = *v;
  server.db().post(request.to().bare_str(), [request, client_ver](storage::Connection& c) {
    try {
      RosterStore store(c);
      const Jid& user = request.to();
      int64_t version = store.version(user);
      // XEP-0237 §2.4: the client's copy is current — an empty result, the pushes follow.
      if (client_ver && *client_ver == std::to_string(version)) {
        request.reply();
        return;
      }
      auto q = query(version);
      for (const auto& item : store.items(user)) q.add(item_element(item));
      request.reply(std::move(q));
    } catch (const std::exception& e) {
      PLOG(Error, "roster") << "roster get for " << request.to().str() << " failed: " << e.what();
      request.error("internal-server-error");
    }
  });
}

void remove_item(Server& server, const IqRequest& request, RosterStore& store, const Jid& contact) {
  const Jid& user = request.to();
  auto item = store.item(user, contact);
  if (!item) {  // §2.5.3
    request.error("item-not-found");
    return;
  }
  bool pending_in = store.has_request(user, contact);
  int64_t version = store.remove(user, contact);
  if (pending_in) store.remove_request(user, contact);
  xml::Element removed("item", std::string(kRosterNs));
  removed.set("jid", contact.str());
  removed.set("subscription", "remove");
  push(server, user, removed, version);
  request.reply();
  // §2.5.2: the subscriptions end with the item, and the contact is told so.
  auto& router = server.router();
  if (has_to(item->subscription) || item->ask)
    router.route(presence_to(user, contact, "unsubscribe"));
  if (has_from(item->subscription) || pending_in) {
    router.route(presence_to(user, contact, "unsubscribed"));
    // §3.2.2: the contact stops seeing the user, so it learns the user is gone.
    if (has_from(item->subscription)) send_unavailable(server, user, contact);
  }
}

void on_set(Server& server, const IqRequest& request) {
  const Jid& user = request.to();
  ItemSet set;
  std::string text;
  auto condition = parse_set(request.payload(), user, set, text);
  if (!condition.empty()) {
    request.error(condition, text);
    return;
  }
  server.db().post(user.bare_str(), [&server, request, set](storage::Connection& c) {
    try {
      RosterStore store(c);
      const Jid& user = request.to();
      if (set.remove) {
        remove_item(server, request, store, set.jid);
        return;
      }
      // §2.3.2: name and groups come from the client; the subscription state stays ours.
      RosterItem item = store.item(user, set.jid).value_or(new_item(set.jid));
      item.name = set.name;
      item.groups = set.groups;
      int64_t version = store.put(user, item);
      push(server, user, item_element(item), version);
      request.reply();
    } catch (const std::exception& e) {
      PLOG(Error, "roster") << "roster set for " << request.to().str() << " failed: " << e.what();
      request.error("internal-server-error");
    }
  });
}

}  // namespace

RosterItem new_item(const Jid& contact) {
  RosterItem item;
  item.jid = contact.bare();
  return item;
}

xml::Element item_element(const RosterItem& item) {
  xml::Element e("item", std::string(kRosterNs));
  e.set("jid", item.jid.str());
  if (!item.name.empty()) e.set("name", item.name);
  e.set("subscription", to_string(item.subscription));
  if (item.ask) e.set("ask", "subscribe");
  if (item.approved) e.set("approved", "true");  // §3.4
  for (const auto& g : item.groups) e.text_child("group", g);
  return e;
}

SubscriptionState state_of(const std::optional<RosterItem>& item, bool pending_in) {
  SubscriptionState s;
  if (item) {
    s.subscription = item->subscription;
    s.pending_out = item->ask;
    s.approved = item->approved;
  }
  s.pending_in = pending_in;
  return s;
}

void apply(RosterItem& item, const SubscriptionState& state) {
  item.subscription = state.subscription;
  item.ask = state.pending_out;
  item.approved = state.approved;
}

bool item_differs(const SubscriptionState& a, const SubscriptionState& b) {
  return a.subscription != b.subscription || a.pending_out != b.pending_out ||
         a.approved != b.approved;
}

void push(Server& server, const Jid& user, const xml::Element& item, int64_t version) {
  for (const auto& session : server.sessions().resources(user)) {
    if (!session->interested) continue;
    auto iq = std::make_shared<xml::Element>("iq", std::string(stanza::kClientNs));
    iq->set("type", "set");
    iq->set("id", "push" + std::to_string(push_counter++));
    // §2.1.6: a push comes from the account's bare JID (clients ignore any other sender).
    iq->set("from", user.bare().str());
    iq->set("to", session->jid().str());
    auto q = query(version);
    q.add(item);
    iq->add(std::move(q));
    Router::deliver(session, std::move(iq));
  }
}

std::vector<Registration> register_roster(Server& server) {
  std::vector<Registration> regs;
  auto& iq = server.iq();
  std::string ns(kRosterNs);
  regs.push_back(iq.add(
      ns, "query", IqType::Get, IqScope::Self, [&server](const IqRequest& r) { on_get(server, r); },
      "roster"));
  regs.push_back(iq.add(
      ns, "query", IqType::Set, IqScope::Self, [&server](const IqRequest& r) { on_set(server, r); },
      "roster"));
  return regs;
}

}  // namespace parley::im
