// Shared pieces of the integration test files: a per-suite server, client shorthands and
// stanza predicates.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "../storage/test_database.h"
#include "harness.h"
#include "raw_client.h"
#include "strophe_client.h"

namespace parley::it {

inline const std::string kPassword = "Secr3t-pw";

// Options with `users` created on localhost, all with kPassword.
inline ServerOptions with_users(const std::vector<std::string>& users, ServerOptions o = {}) {
  for (const auto& u : users) o.accounts.emplace_back(u + "@" + kHost, kPassword);
  return o;
}

// Starts a server; on failure records a test failure and returns null.
inline std::unique_ptr<ServerProcess> start_server(ServerOptions options) {
  auto s = std::make_unique<ServerProcess>(std::move(options));
  if (!s->start()) {
    ADD_FAILURE() << "parleyd did not start: " << s->error();
    return nullptr;
  }
  return s;
}

// SIGTERM and expect a clean exit (code 0; under ASan a leak also makes it non-zero).
inline void stop_server(std::unique_ptr<ServerProcess>& s) {
  if (!s) return;
  if (s->running()) {
    int code = s->stop();
    EXPECT_EQ(code, 0) << "parleyd did not exit cleanly on SIGTERM; log:\n" << s->log();
  }
  s.reset();
}

// A fixture base with one server for the whole suite: derive, and define
// `static ServerOptions options()` in the derived class.
template <class Derived>
class ServerSuite : public testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = start_server(Derived::options()); }
  static void TearDownTestSuite() { stop_server(server_); }
  void SetUp() override {
    ASSERT_TRUE(server_ && server_->running()) << "no server for this suite";
  }
  static ServerProcess& server() { return *server_; }
  static uint16_t port() { return server_->c2s_port(); }

  // A bound libstrophe client for user@localhost (resource optional).
  static std::unique_ptr<StropheClient> client(const std::string& user,
                                               const std::string& resource = "",
                                               const std::string& password = kPassword) {
    std::string jid = user + "@" + kHost + (resource.empty() ? "" : "/" + resource);
    auto c = std::make_unique<StropheClient>(jid, password, port());
    c->connect();
    return c;
  }

  static inline std::unique_ptr<ServerProcess> server_;
};

// A test run once per storage backend (instantiate with PARLEY_BACKENDS): on PostgreSQL,
// backend_options() points the server at a fresh schema; without PostgreSQL that run is
// skipped (failed under PARLEY_TEST_POSTGRESQL_REQUIRED=1).
class BackendServerTest : public testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    if (GetParam() != storage::Backend::PostgreSQL) return;
    if (auto why = storage::testing::TestDatabase::unavailable(GetParam())) {
      if (storage::testing::TestDatabase::postgresql_required()) FAIL() << *why;
      GTEST_SKIP() << *why;
    }
    pg_ = std::make_unique<storage::testing::TestDatabase>(GetParam());
  }
  ServerOptions backend_options() const {
    ServerOptions o;
    if (pg_) o.postgresql = pg_->config().postgresql;
    return o;
  }

 private:
  std::unique_ptr<storage::testing::TestDatabase> pg_;
};

// --- predicates -----------------------------------------------------------------------------

inline auto presence_from(const std::string& from, const std::string& type = "") {
  return [from, type](const Node& n) {
    return n.name == "presence" && n.attr("from") == from && n.attr("type") == type;
  };
}

inline auto message_from(const std::string& from) {
  return [from](const Node& n) { return n.name == "message" && n.attr("from") == from; };
}

inline auto roster_push() {
  return [](const Node& n) {
    return n.name == "iq" && n.attr("type") == "set" && n.child("query", "jabber:iq:roster");
  };
}

// A roster push for `jid` (RFC 6121 §2.1.6).
inline auto roster_push_for(const std::string& jid) {
  return [jid](const Node& n) {
    if (n.name != "iq" || n.attr("type") != "set") return false;
    const Node* q = n.child("query", "jabber:iq:roster");
    const Node* item = q ? q->child("item") : nullptr;
    return item && item->attr("jid") == jid;
  };
}

// The roster item for `jid` in a roster result or push, or null.
inline const Node* roster_item(const Node& iq, const std::string& jid) {
  const Node* q = iq.child("query", "jabber:iq:roster");
  if (!q) return nullptr;
  for (const Node* item : q->all("item"))
    if (item->attr("jid") == jid) return item;
  return nullptr;
}

// --- protocol shorthands ---------------------------------------------------------------------

// Every stanza `c` sent before this has been routed (and any storage job queued) once the
// server answers a ping sent after them: one stream is processed in order.
inline void settle(StropheClient& c) {
  auto r = c.iq("<iq type='get' id='" + c.next_id() +
                "' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(r && r->attr("type") == "result");
}

inline std::optional<Node> get_roster(StropheClient& c, const std::string& ver_attr = "") {
  return c.iq("<iq type='get' id='" + c.next_id() + "'><query xmlns='jabber:iq:roster'" + ver_attr +
              "/></iq>");
}

// Requests the roster (an "interested resource", RFC 6121 §2.1.6) and sends initial presence
// (an "available resource", RFC 6121 §4.2) with `priority`.
inline bool go_online(StropheClient& c, int priority = 0) {
  auto r = get_roster(c);
  if (!r || r->attr("type") != "result") return false;
  c.send(priority ? "<presence><priority>" + std::to_string(priority) + "</priority></presence>"
                  : "<presence/>");
  return true;
}

// `a` subscribes to `b` and `b` approves (RFC 6121 §3.1). Both online (go_online). Returns
// whether `a` saw the roster push with the subscription now including 'to'.
inline bool subscribe(StropheClient& a, StropheClient& b) {
  a.send("<presence to='" + b.bare() + "' type='subscribe'/>");
  if (!b.wait_for(presence_from(a.bare(), "subscribe"))) return false;
  b.send("<presence to='" + a.bare() + "' type='subscribed'/>");
  std::string contact = b.bare();
  return a
      .wait_for([contact](const Node& n) {
        if (!roster_push_for(contact)(n)) return false;
        std::string sub = roster_item(n, contact)->attr("subscription");
        return sub == "to" || sub == "both";
      })
      .has_value();
}

inline bool subscribe_mutual(StropheClient& a, StropheClient& b) {
  return subscribe(a, b) && subscribe(b, a);
}

}  // namespace parley::it
