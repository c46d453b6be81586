// Durable acknowledgement (XEP-0198 + DESIGN §6): parleyd is killed with SIGKILL in the middle
// of a burst from several senders to online and offline recipients. After the restart every
// message the server had acknowledged reaches its recipient (live before the crash, offline
// storage, or the archive), every message it had not acknowledged and the sender resent
// reaches it too, and a message that arrives twice carries the same stanza-id both times so
// clients can drop the copy.
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common.h"
#include "sm_client.h"

namespace parley::it {
namespace {

constexpr int kSenders = 3;
constexpr int kPerSender = 200;
const std::vector<std::string> kOnline = {"cr1", "cr2"};
const std::vector<std::string> kOffline = {"co1", "co2"};

std::string chat(const std::string& to, const std::string& id) {
  return "<message to='" + to + "' id='" + id + "' type='chat'><body>" + id + "</body></message>";
}

// The stanza-id the recipient's archive gave the message, or "".
std::string stanza_id_by(const Node& message, const std::string& bare) {
  for (const Node* sid : message.all("stanza-id", "urn:xmpp:sid:0"))
    if (sid->attr("by") == bare) return sid->attr("id");
  return {};
}

// What one recipient saw of one message id: every stanza-id it came with, and how.
struct Seen {
  std::set<std::string> stanza_ids;
  int live = 0, offline = 0, archive = 0;
};
using Inbox = std::map<std::string, Seen>;  // message id -> what arrived

void record(Inbox& inbox, const Node& m, const std::string& bare, bool after_restart) {
  if (m.name != "message" || !m.child("body")) return;
  auto& seen = inbox[m.attr("id")];
  if (auto sid = stanza_id_by(m, bare); !sid.empty()) seen.stanza_ids.insert(sid);
  if (after_restart && m.child("delay", "urn:xmpp:delay"))
    ++seen.offline;
  else
    ++seen.live;
}

// Pages through the recipient's whole archive (XEP-0313 with XEP-0059), recording each
// archived message with its archive id.
bool read_archive(SmClient& c, const std::string& bare, Inbox& inbox) {
  std::string after;
  for (int page = 0; page < 100; ++page) {
    std::string qid = "q" + std::to_string(page);
    std::string set = "<set xmlns='http://jabber.org/protocol/rsm'><max>100</max>" +
                      (after.empty() ? "" : "<after>" + after + "</after>") + "</set>";
    c.send_stanza("<iq type='set' id='" + qid + "'><query xmlns='urn:xmpp:mam:2' queryid='" + qid +
                  "'>" + set + "</query></iq>");
    for (;;) {
      auto n = c.wait_for([](const Node& x) { return x.name == "message" || x.name == "iq"; });
      if (!n) return false;
      if (n->name == "iq") {
        if (n->attr("id") != qid || n->attr("type") != "result") return false;
        const Node* fin = n->child("fin", "urn:xmpp:mam:2");
        if (!fin) return false;
        if (fin->attr("complete") == "true") return true;
        const Node* last = fin->find("last", "http://jabber.org/protocol/rsm");
        if (!last) return false;
        after = last->text;
        break;
      }
      const Node* result = n->child("result", "urn:xmpp:mam:2");
      if (!result || result->attr("queryid") != qid) continue;  // offline: in received()
      const Node* fwd = result->find("message", kNsClient);
      if (!fwd || !fwd->child("body")) continue;
      auto& seen = inbox[fwd->attr("id")];
      ++seen.archive;
      seen.stanza_ids.insert(result->attr("id"));
    }
  }
  return false;
}

class CrashTest : public BackendServerTest {};

TEST_P(CrashTest, EveryAcknowledgedMessageSurvivesASigkill) {
  ServerOptions o = backend_options();
  std::vector<std::string> users = kOnline;
  users.insert(users.end(), kOffline.begin(), kOffline.end());
  for (int s = 0; s < kSenders; ++s) users.push_back("cs" + std::to_string(s));
  o = with_users(users, o);
  for (const char* m : {"offline", "mam"})
    if (std::find(o.modules.begin(), o.modules.end(), m) == o.modules.end()) o.modules.push_back(m);
  o.module_options["offline"] = {{"max_messages", "100000"}};
  ServerProcess server(o);
  ASSERT_TRUE(server.start()) << server.error();

  // Recipients that are online during the burst read everything that arrives.
  std::vector<Inbox> inboxes(kOnline.size() + kOffline.size());
  std::vector<std::unique_ptr<SmClient>> online;
  for (const auto& u : kOnline) {
    auto c = std::make_unique<SmClient>(server.c2s_port());
    ASSERT_EQ(c->login(u, kPassword, "phone"), u + "@localhost/phone");
    ASSERT_TRUE(c->enable());
    c->send_stanza("<presence/>");
    online.push_back(std::move(c));
  }
  std::vector<std::string> targets;  // online recipients by full JID, offline ones by bare JID
  for (const auto& u : kOnline) targets.push_back(u + "@localhost/phone");
  for (const auto& u : kOffline) targets.push_back(u + "@localhost");
  auto target_index = [&](const std::string& id) {
    // "s<sender>-<i>": spread over the recipients by i.
    return static_cast<size_t>(std::stoi(id.substr(id.find('-') + 1))) % targets.size();
  };

  std::vector<std::unique_ptr<SmClient>> senders;
  for (int s = 0; s < kSenders; ++s) {
    auto c = std::make_unique<SmClient>(server.c2s_port());
    ASSERT_FALSE(c->login("cs" + std::to_string(s), kPassword, "burst").empty());
    ASSERT_TRUE(c->enable());
    senders.push_back(std::move(c));
  }

  std::atomic<int> acked_total{0};
  std::atomic<bool> dead{false};
  std::once_flag killed;
  std::vector<std::thread> threads;
  for (size_t r = 0; r < online.size(); ++r)
    threads.emplace_back([&, r] {
      const std::string bare = kOnline[r] + "@localhost";
      // Until the kill ends the stream; SmClient answers the server's <r/>s on the way.
      while (auto n = online[r]->wait_for([](const Node& x) { return x.name == "message"; },
                                          deadline(60s)))
        record(inboxes[r], *n, bare, false);
    });
  std::vector<std::vector<std::string>> sent_ids(kSenders);
  for (int s = 0; s < kSenders; ++s)
    threads.emplace_back([&, s] {
      SmClient& c = *senders[s];
      int counted = 0;
      for (int i = 0; i < kPerSender && !dead; ++i) {
        std::string id = "s" + std::to_string(s) + "-" + std::to_string(i);
        c.send_stanza(chat(targets[target_index(id)], id));
        sent_ids[s].push_back(id);
        if (i % 5 == 4) c.request_ack();
        // A window of 20 unacknowledged messages, as a client would keep: the burst runs at
        // the server's pace, so the kill lands in the middle of it.
        auto until = c.sent() - c.acked() > 20 ? deadline(10s) : Clock::now();
        c.wait_for([&](const Node&) { return c.sent() - c.acked() <= 20; }, until);
        acked_total += static_cast<int>(c.acked()) - counted;
        counted = static_cast<int>(c.acked());
        // Kill the server once a quarter of the burst is acknowledged, while the rest is in
        // flight (from here, the moment it is seen: no polling delay).
        if (acked_total >= kSenders * kPerSender / 4)
          std::call_once(killed, [&] {
            server.kill_now();
            dead = true;
          });
      }
      c.request_ack();
      c.wait_for([](const Node&) { return false; }, deadline(60s));  // until the kill
    });

  const int total = kSenders * kPerSender;
  for (auto& t : threads) t.join();
  ASSERT_TRUE(dead) << "the burst was never acknowledged; log:\n" << server.log();

  // What the server had acknowledged, per sender, and what it had not.
  std::set<std::string> acked, unacked;
  for (int s = 0; s < kSenders; ++s) {
    auto pending = senders[s]->unacked_ids();
    std::set<std::string> p(pending.begin(), pending.end());
    for (const auto& id : sent_ids[s]) (p.count(id) ? unacked : acked).insert(id);
  }
  ASSERT_GT(acked.size(), 0u);
  EXPECT_LT(acked.size(), static_cast<size_t>(total)) << "the kill came after the burst";
  RecordProperty("acknowledged_before_kill", static_cast<int>(acked.size()));

  ASSERT_TRUE(server.start()) << server.error();
  // Senders come back: the old sessions are gone, so they log in anew and resend what the
  // server never acknowledged (as a client does after a failed resumption), same ids.
  for (int s = 0; s < kSenders; ++s) {
    SmClient c(server.c2s_port());
    auto r = c.resume("cs" + std::to_string(s), kPassword, senders[s]->sm_id(), 0);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->name, "failed");  // the restart ended every session
    ASSERT_FALSE(c.raw().bind("again").empty());
    ASSERT_TRUE(c.enable());
    uint32_t n = 0;
    for (const auto& id : sent_ids[s])
      if (unacked.count(id)) {
        c.send_stanza(chat(targets[target_index(id)], id));
        ++n;
      }
    c.request_ack();
    ASSERT_EQ(c.wait_acked(n, deadline(30s)), n) << "resent messages not acknowledged";
  }

  // Every recipient logs in, gets its offline messages, then reads its archive.
  std::vector<std::string> everyone = kOnline;
  everyone.insert(everyone.end(), kOffline.begin(), kOffline.end());
  for (size_t r = 0; r < everyone.size(); ++r) {
    SmClient c(server.c2s_port());
    ASSERT_FALSE(c.login(everyone[r], kPassword, "after").empty());
    ASSERT_TRUE(c.enable());
    c.send_stanza("<presence/>");
    const std::string bare = everyone[r] + "@localhost";
    ASSERT_TRUE(read_archive(c, bare, inboxes[r])) << everyone[r] << "'s archive query failed";
    for (const auto& n : c.received()) record(inboxes[r], n, bare, true);
  }

  int lost = 0, split_ids = 0;
  for (const auto& id : acked) {
    const Inbox& in = inboxes[target_index(id)];
    auto it = in.find(id);
    if (it == in.end() || it->second.live + it->second.offline + it->second.archive == 0) {
      ADD_FAILURE() << "acknowledged message " << id << " was lost";
      ++lost;
    }
  }
  for (const auto& id : unacked) {
    const Inbox& in = inboxes[target_index(id)];
    EXPECT_TRUE(in.count(id)) << "resent message " << id << " was lost";
  }
  for (const auto& in : inboxes)
    for (const auto& [id, seen] : in)
      if (seen.stanza_ids.size() > 1) {
        ADD_FAILURE() << id << " arrived with different stanza-ids";
        ++split_ids;
      }
  int live = 0, offline = 0, archived = 0, twice = 0;
  for (const auto& in : inboxes)
    for (const auto& [id, seen] : in) {
      live += seen.live > 0;
      offline += seen.offline > 0;
      archived += seen.archive > 0;
      twice += seen.live + seen.offline > 1;
    }
  std::printf(
      "[ crash    ] %zu acknowledged and %zu not before the kill; after it: %d seen live, %d "
      "from offline storage, %d in archives, %d delivered twice\n",
      acked.size(), unacked.size(), live, offline, archived, twice);
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(split_ids, 0);
  EXPECT_EQ(server.stop(), 0) << server.log();
}

PARLEY_BACKENDS(CrashTest);

}  // namespace
}  // namespace parley::it
