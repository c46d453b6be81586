// Roster persistence (RFC 6121 §2), roster versions (XEP-0237) and pending inbound
// subscription requests (RFC 6121 §3.1.3).
#include "im/roster_store.h"

#include <map>
#include <unordered_set>

#include "core/log.h"

namespace parley::im {

using storage::Params;

std::string_view to_string(Subscription s) {
  switch (s) {
    case Subscription::None:
      return "none";
    case Subscription::To:
      return "to";
    case Subscription::From:
      return "from";
    case Subscription::Both:
      return "both";
  }
  return "none";
}

namespace {

Subscription parse_subscription(std::string_view s) {
  if (s == "to") return Subscription::To;
  if (s == "from") return Subscription::From;
  if (s == "both") return Subscription::Both;
  return Subscription::None;
}

Params owner(const Jid& user) {
  return {std::string(user.domain()), std::string(user.local())};
}

Params owner_and(const Jid& user, const Jid& contact) {
  return {std::string(user.domain()), std::string(user.local()), std::string(contact.bare_str())};
}

// Stored contacts were normalized when written; a row that no longer parses (data edited by
// hand, a normalization rule that changed) is skipped rather than failing the whole roster.
std::optional<Jid> stored_jid(const std::string& text) {
  auto jid = Jid::parse(text);
  if (!jid) {
    PLOG(Warn, "roster") << "skipping stored contact that is not a valid JID";
  }
  return jid;
}

// XEP-0237 §2: the version changes with every roster modification. A per-account counter
// bumped inside the modifying transaction is strictly increasing and never reused.
int64_t bump_version(storage::Connection& c, const Jid& user) {
  return c
      .query(
          "INSERT INTO roster_versions (host, username, version) VALUES (?, ?, 1) "
          "ON CONFLICT (host, username) DO UPDATE SET version = roster_versions.version + 1 "
          "RETURNING version",
          owner(user))
      .at(0)
      .integer(0);
}

constexpr const char* kItemColumns = "contact, name, subscription, ask, approved";

RosterItem item_from(const storage::Row& r, Jid jid) {
  RosterItem item;
  item.jid = std::move(jid);
  item.name = r.str(1);
  item.subscription = parse_subscription(r.str(2));
  item.ask = r.integer(3) != 0;
  item.approved = r.integer(4) != 0;
  return item;
}

}  // namespace

std::vector<RosterItem> RosterStore::items(const Jid& user) {
  auto rows = c_.query(std::string("SELECT ") + kItemColumns +
                           " FROM roster_items WHERE host = ? AND username = ? ORDER BY contact",
                       owner(user));
  auto group_rows = c_.query(
      "SELECT contact, name FROM roster_groups WHERE host = ? AND username = ? "
      "ORDER BY contact, position",
      owner(user));
  std::map<std::string, std::vector<std::string>, std::less<>> groups;
  for (auto& g : group_rows) groups[g.str(0)].push_back(g.str(1));

  std::vector<RosterItem> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    auto jid = stored_jid(r.str(0));
    if (!jid) continue;
    out.push_back(item_from(r, std::move(*jid)));
    if (auto it = groups.find(r.str(0)); it != groups.end())
      out.back().groups = std::move(it->second);
  }
  return out;
}

std::optional<RosterItem> RosterStore::item(const Jid& user, const Jid& contact) {
  Params key = owner_and(user, contact);
  auto rows = c_.query(std::string("SELECT ") + kItemColumns +
                           " FROM roster_items WHERE host = ? AND username = ? AND contact = ?",
                       key);
  if (rows.empty()) return std::nullopt;
  RosterItem item = item_from(rows[0], contact.bare());
  for (auto& g :
       c_.query("SELECT name FROM roster_groups WHERE host = ? AND username = ? AND contact = ? "
                "ORDER BY position",
                key))
    item.groups.push_back(g.str(0));
  return item;
}

int64_t RosterStore::put(const Jid& user, const RosterItem& item) {
  Params key = owner_and(user, item.jid);
  return c_.transaction([&] {
    Params p = key;
    p.emplace_back(item.name);
    p.emplace_back(std::string(to_string(item.subscription)));
    p.emplace_back(int64_t{item.ask});
    p.emplace_back(int64_t{item.approved});
    c_.exec(
        "INSERT INTO roster_items (host, username, contact, name, subscription, ask, approved) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (host, username, contact) DO UPDATE SET "
        "name = excluded.name, subscription = excluded.subscription, ask = excluded.ask, "
        "approved = excluded.approved",
        p);
    c_.exec("DELETE FROM roster_groups WHERE host = ? AND username = ? AND contact = ?", key);
    // RFC 6121 §2.3.3 makes duplicate groups a client error; the im layer rejects them. Here
    // a duplicate is kept once, so the store never fails on it.
    std::unordered_set<std::string_view> seen;
    int64_t position = 0;
    for (const auto& g : item.groups) {
      if (!seen.insert(g).second) continue;
      Params gp = key;
      gp.emplace_back(position++);
      gp.emplace_back(g);
      c_.exec(
          "INSERT INTO roster_groups (host, username, contact, position, name) "
          "VALUES (?, ?, ?, ?, ?)",
          gp);
    }
    return bump_version(c_, user);
  });
}

int64_t RosterStore::remove(const Jid& user, const Jid& contact) {
  return c_.transaction([&] {
    // roster_groups rows go with the item (ON DELETE CASCADE).
    int64_t n = c_.exec("DELETE FROM roster_items WHERE host = ? AND username = ? AND contact = ?",
                        owner_and(user, contact));
    // Nothing changed, so the version stays (XEP-0237 §2: it changes when the roster does).
    return n > 0 ? bump_version(c_, user) : version(user);
  });
}

int64_t RosterStore::version(const Jid& user) {
  auto rows =
      c_.query("SELECT version FROM roster_versions WHERE host = ? AND username = ?", owner(user));
  return rows.empty() ? 0 : rows[0].integer(0);
}

void RosterStore::add_request(const Jid& user, const SubscriptionRequest& request) {
  Params p = owner_and(user, request.from);
  p.emplace_back(request.stanza);
  c_.exec(
      "INSERT INTO subscription_requests (host, username, contact, stanza) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (host, username, contact) DO UPDATE SET stanza = excluded.stanza",
      p);
}

bool RosterStore::remove_request(const Jid& user, const Jid& from) {
  return c_.exec(
             "DELETE FROM subscription_requests WHERE host = ? AND username = ? AND contact = ?",
             owner_and(user, from)) > 0;
}

bool RosterStore::has_request(const Jid& user, const Jid& from) {
  return !c_.query(
                "SELECT 1 FROM subscription_requests WHERE host = ? AND username = ? AND "
                "contact = ?",
                owner_and(user, from))
              .empty();
}

std::vector<SubscriptionRequest> RosterStore::requests(const Jid& user) {
  auto rows = c_.query(
      "SELECT contact, stanza FROM subscription_requests WHERE host = ? AND username = ? "
      "ORDER BY contact",
      owner(user));
  std::vector<SubscriptionRequest> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    auto jid = stored_jid(r.str(0));
    if (!jid) continue;
    out.push_back(SubscriptionRequest{std::move(*jid), r.str(1)});
  }
  return out;
}

}  // namespace parley::im
