// Handlers that wait for the database on a stanza's way (router/continuation.h): for an
// offline account, blocking decides on the account's worker (its list is not held) and the
// archive in roster mode looks the contact up in the roster there too, each suspending the
// message and resuming it after itself. Each handler on the way sees the message once: it is
// archived once on each side, stored once, delivered once, with the one stanza-id; what the
// account blocked is neither archived nor stored; and the sender's XEP-0198 ack came only
// after all of it was committed (a SIGKILL right after the ack loses nothing). On SQLite and
// PostgreSQL.
#include <map>
#include <set>

#include "common.h"
#include "sm_client.h"

namespace parley::it {
namespace {

constexpr int kMessages = 12;
const std::string kSid = "urn:xmpp:sid:0";
const std::string kMam = "urn:xmpp:mam:2";

std::string chat(const std::string& to, const std::string& id) {
  return "<message to='" + to + "' id='" + id + "' type='chat'><body>" + id + "</body></message>";
}

std::string stanza_id_by(const Node& message, const std::string& by) {
  for (const Node* sid : message.all("stanza-id", kSid))
    if (sid->attr("by") == by) return sid->attr("id");
  return {};
}

// The whole archive of the logged-in account (one page is enough here): message id -> every
// archive id it is stored under.
std::optional<std::map<std::string, std::vector<std::string>>> archive_of(SmClient& c) {
  c.send_stanza("<iq type='set' id='all'><query xmlns='" + kMam +
                "' queryid='all'><set xmlns='http://jabber.org/protocol/rsm'><max>100</max></set>"
                "</query></iq>");
  std::map<std::string, std::vector<std::string>> out;
  for (;;) {
    auto n = c.wait_for([](const Node& x) { return x.name == "message" || x.name == "iq"; });
    if (!n) return std::nullopt;
    if (n->name == "iq") {
      const Node* fin = n->child("fin", kMam);
      if (n->attr("id") != "all" || !fin || fin->attr("complete") != "true") return std::nullopt;
      return out;
    }
    const Node* result = n->child("result", kMam);
    if (!result || result->attr("queryid") != "all") continue;  // offline delivery
    const Node* archived = result->find("message", kNsClient);
    if (archived) out[archived->attr("id")].push_back(result->attr("id"));
  }
}

bool roster_add(StropheClient& c, const std::string& jid) {
  auto r = c.iq("<iq type='set' id='" + c.next_id() +
                "'><query xmlns='jabber:iq:roster'><item jid='" + jid + "'/></query></iq>");
  return r && r->attr("type") == "result";
}

class WaitingHandlers : public BackendServerTest {};

TEST_P(WaitingHandlers, AnOfflineAccountWithRosterArchivingAndBlockingGetsEachMessageOnce) {
  ServerOptions o = backend_options();
  o = with_users({"wa", "wb", "wc"}, o);
  o.modules.push_back("blocking");
  o.modules.push_back("offline");
  o.module_options["mam"] = {{"default_mode", "roster"}};  // every decision reads the roster
  ServerProcess server(o);
  ASSERT_TRUE(server.start()) << server.error();
  const std::string wa = "wa@localhost", wb = "wb@localhost", wc = "wc@localhost";

  // wa and wb have each other in their rosters (so both archives keep their messages); wa
  // blocks wc. Then wa goes offline, so its list is no longer held.
  for (const auto& [user, contact] : {std::pair{wa, wb}, std::pair{wb, wa}}) {
    StropheClient c(user + "/setup", kPassword, server.c2s_port());
    ASSERT_TRUE(c.connect()) << user;
    ASSERT_TRUE(roster_add(c, contact)) << user;
    if (user == wa) {
      auto r = c.iq("<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='" + wc +
                    "'/></block></iq>");
      ASSERT_TRUE(r && r->attr("type") == "result");
    }
    c.disconnect();
  }
  ASSERT_TRUE(poll_until([&] { return server.sessions().empty(); }));

  // wc is refused as if wa did not exist (XEP-0191 §3.3); wb's burst goes to offline storage.
  SmClient blocked(server.c2s_port());
  ASSERT_FALSE(blocked.login("wc", kPassword, "r").empty());
  blocked.send_stanza(chat(wa, "from-blocked"));
  auto refused = blocked.wait_for([](const Node& n) { return n.attr("id") == "from-blocked"; });
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->attr("type"), "error") << refused->raw;

  SmClient sender(server.c2s_port());
  ASSERT_EQ(sender.login("wb", kPassword, "phone"), wb + "/phone");
  ASSERT_TRUE(sender.enable());
  for (int i = 0; i < kMessages; ++i) sender.send_stanza(chat(wa, "w" + std::to_string(i)));
  sender.request_ack();
  ASSERT_EQ(sender.wait_acked(kMessages), static_cast<uint32_t>(kMessages));
  // Acknowledged means committed (DESIGN §6): nothing may depend on the server living on.
  server.kill_now();
  ASSERT_TRUE(server.start()) << server.error();

  SmClient reader(server.c2s_port());
  ASSERT_EQ(reader.login("wa", kPassword, "back"), wa + "/back");
  ASSERT_TRUE(reader.enable());
  reader.send_stanza("<presence/>");
  std::set<std::string> arrived;
  ASSERT_TRUE(reader.wait_for([&](const Node& n) {
    if (n.name == "message" && n.child("delay", "urn:xmpp:delay")) arrived.insert(n.attr("id"));
    return arrived.size() == kMessages;
  })) << "offline storage did not deliver every message";
  // Queued on wa's worker after the offline messages were taken: a copy stored twice would
  // arrive before the archive's answer.
  auto archive = archive_of(reader);
  ASSERT_TRUE(archive);
  std::map<std::string, std::vector<const Node*>> delivered;
  for (const auto& n : reader.received())
    if (n.name == "message" && n.child("body") && n.child("delay", "urn:xmpp:delay"))
      delivered[n.attr("id")].push_back(&n);

  SmClient outbox(server.c2s_port());
  ASSERT_FALSE(outbox.login("wb", kPassword, "archive").empty());
  auto sent_archive = archive_of(outbox);
  ASSERT_TRUE(sent_archive);

  for (int i = 0; i < kMessages; ++i) {
    const std::string id = "w" + std::to_string(i);
    ASSERT_EQ(delivered[id].size(), 1u) << id << " stored or delivered other than once";
    ASSERT_EQ((*archive)[id].size(), 1u) << id << " archived other than once for wa";
    EXPECT_EQ((*sent_archive)[id].size(), 1u) << id << " archived other than once for wb";
    // Stored after it was archived, with the archive's id (XEP-0313 §3.5, XEP-0359).
    EXPECT_EQ(stanza_id_by(*delivered[id].front(), wa), (*archive)[id].front()) << id;
  }
  EXPECT_EQ(delivered.count("from-blocked"), 0u) << "a blocked JID's message was stored";
  EXPECT_EQ(archive->count("from-blocked"), 0u) << "a blocked JID's message was archived";
  EXPECT_EQ(archive->size(), static_cast<size_t>(kMessages));
  EXPECT_EQ(server.stop(), 0) << server.log();
}

PARLEY_BACKENDS(WaitingHandlers);

}  // namespace
}  // namespace parley::it
