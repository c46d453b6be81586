// XEP-0012 Last Activity: the server's uptime, and for an account the time since its last
// logout (the messenger's "last seen") with the status it left with.
#include <mutex>
#include <unordered_map>

#include "core/module.h"
#include "im/roster_store.h"
#include "router/registry.h"
#include "router/stanza_events.h"
#include "storage/account_store.h"

namespace parley {
namespace {

constexpr const char* kLastNs = "jabber:iq:last";
constexpr size_t kMaxStatusBytes = 1024;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Cut at a character boundary so the stored text stays valid UTF-8.
std::string truncate_utf8(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

xml::Element last_query(int64_t seconds, std::string_view status = {}) {
  xml::Element query("query", kLastNs);
  query.set("seconds", std::to_string(std::max<int64_t>(seconds, 0)));
  if (!status.empty()) query.add_text(status);
  return query;
}

// §3 server query: how long the server has been running.
void server_uptime(const IqRequest& iq) {
  auto up = std::chrono::system_clock::now() - iq.server().started_at();
  iq.reply(last_query(std::chrono::duration_cast<std::chrono::seconds>(up).count()));
}

// §2 offline user query (to a bare JID, answered by the server on the user's behalf).
void account_last(const IqRequest& iq) {
  const Jid user = iq.to();
  const Jid requester = iq.from().bare();
  iq.server().db().post(user.str(), [iq, user, requester](storage::Connection& c) {
    try {
      if (requester != user) {
        // Only those allowed to see the user's presence may learn when it was last online.
        auto item = im::RosterStore(c).item(user, requester);
        bool allowed = item && (item->subscription == im::Subscription::From ||
                                item->subscription == im::Subscription::Both);
        if (!allowed) {
          // RFC 6121 §8.5.1: a non-existent account is service-unavailable; an existing one
          // the requester may not watch is forbidden (§2).
          if (!storage::AccountStore(c).exists(user)) return iq.error("service-unavailable");
          return iq.error(stanza::ErrorType::Auth, "forbidden");
        }
      }
      // §2: with a connected resource the answer is seconds='0'.
      if (!iq.server().sessions().resources(user).empty()) return iq.reply(last_query(0));
      auto stored = storage::UserDataStore(c).get(user, "last", "logout");
      if (!stored) return iq.error("item-not-found");  // never logged out: nothing recorded
      // "<unix seconds>\n<status text>"
      auto newline = stored->find('\n');
      int64_t at = std::strtoll(stored->substr(0, newline).c_str(), nullptr, 10);
      std::string_view status;
      if (newline != std::string::npos) status = std::string_view(*stored).substr(newline + 1);
      iq.reply(last_query(unix_now() - at, status));
    } catch (const std::exception& e) {
      PLOG(Warn, "last") << "lookup for " << user.str() << " failed: " << e.what();
      iq.error("internal-server-error");
    }
  });
}

// The status text of each session's last unavailable broadcast, kept until it closes.
struct LogoutStatus {
  std::mutex mutex;
  std::unordered_map<std::string, std::string> by_session;  // full JID -> status
};

struct Last {
  explicit Last(ModuleContext& ctx) {
    ctx.iq(kLastNs, "query", IqType::Get, IqScope::Host, server_uptime);
    ctx.iq(kLastNs, "query", IqType::Get, IqScope::Account, account_last);

    auto statuses = std::make_shared<LogoutStatus>();
    // An unavailable broadcast (no 'to') carries the status the user leaves with (§2).
    ctx.on<StanzaFromClient>(priority::kNormal, [statuses](StanzaFromClient& e) {
      const xml::Element& s = *e.stanza;
      if (s.name() != "presence" || s.has("to") || !e.origin) return Flow::Continue;
      std::lock_guard lock(statuses->mutex);
      if (s.get("type") == "unavailable")
        statuses->by_session[e.origin->jid().str()] =
            truncate_utf8(s.child_text("status"), kMaxStatusBytes);
      else if (!s.has("type"))
        statuses->by_session.erase(e.origin->jid().str());
      return Flow::Continue;
    });

    // The last session of an account closing is its logout.
    ctx.on<SessionClosed>(priority::kNormal, [statuses](SessionClosed& e) {
      std::string status;
      {
        std::lock_guard lock(statuses->mutex);
        auto it = statuses->by_session.find(e.session->jid().str());
        if (it != statuses->by_session.end()) {
          status = std::move(it->second);
          statuses->by_session.erase(it);
        }
      }
      Jid bare = e.session->jid().bare();
      if (!e.server.sessions().resources(bare).empty()) return Flow::Continue;
      std::string value = std::to_string(unix_now()) + "\n" + status;
      e.server.db().post(bare.str(), [bare, value](storage::Connection& c) {
        // Same key as account deletion: if the account was just removed, record nothing.
        if (storage::AccountStore(c).exists(bare))
          storage::UserDataStore(c).set(bare, "last", "logout", value);
      });
      return Flow::Continue;
    });
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Last)
