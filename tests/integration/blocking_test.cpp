// XEP-0191 Blocking Command (modules/blocking): the list and its pushes, what happens to each
// stanza kind in both directions, bare, domain and full-JID items, accounts that are offline
// or just logging in, and the list surviving a restart.
#include <algorithm>

#include "common.h"

namespace parley::it {
namespace {

constexpr const char* kBlocking = "urn:xmpp:blocking";
constexpr const char* kBlockingErrors = "urn:xmpp:blocking:errors";

class BlockingTest : public ServerSuite<BlockingTest> {
 public:
  static ServerOptions options() {
    // One blocking account per test, so that no test sees another's list.
    auto o = with_users({"ba", "bb", "bc", "bd", "be", "bf", "bh", "bi", "bj",
                         "bk", "bl", "bm", "bn", "bo", "bp", "bq", "br", "bs",
                         "bt", "bu", "bv", "bw", "bx", "by", "bz", "sa", "sb"});
    o.accounts.emplace_back("bg@" + kHost2, kPassword);
    o.modules.push_back("blocking");
    o.modules.push_back("offline");
    return o;
  }
  static std::unique_ptr<StropheClient> client2(const std::string& user,
                                                const std::string& resource) {
    auto c =
        std::make_unique<StropheClient>(user + "@" + kHost2 + "/" + resource, kPassword, port());
    c->connect();
    return c;
  }
};

std::string items_of(const std::vector<std::string>& jids) {
  std::string out;
  for (const auto& j : jids) out += "<item jid='" + j + "'/>";
  return out;
}

std::optional<Node> command(StropheClient& c, const std::string& type, const std::string& name,
                            const std::vector<std::string>& jids) {
  std::string payload = jids.empty() ? "<" + name + " xmlns='" + kBlocking + "'/>"
                                     : "<" + name + " xmlns='" + kBlocking + "'>" + items_of(jids) +
                                           "</" + name + ">";
  return c.iq("<iq type='" + type + "' id='" + c.next_id() + "'>" + payload + "</iq>");
}

// The JIDs of a <blocklist/>, <block/> or <unblock/>, in the order given.
std::vector<std::string> jids_in(const Node& iq, const std::string& name) {
  std::vector<std::string> out;
  if (const Node* p = iq.child(name, kBlocking))
    for (const Node* item : p->all("item")) out.push_back(item->attr("jid"));
  return out;
}

// Requests the list (§3.2); the session then gets pushes. Returns the listed JIDs, sorted.
std::vector<std::string> blocklist(StropheClient& c) {
  auto r = command(c, "get", "blocklist", {});
  EXPECT_TRUE(r && r->attr("type") == "result" && r->child("blocklist", kBlocking))
      << (r ? r->raw : "no answer");
  if (!r) return {};
  auto out = jids_in(*r, "blocklist");
  std::sort(out.begin(), out.end());
  return out;
}

bool block(StropheClient& c, const std::vector<std::string>& jids) {
  auto r = command(c, "set", "block", jids);
  return r && r->attr("type") == "result";
}

bool unblock(StropheClient& c, const std::vector<std::string>& jids) {
  auto r = command(c, "set", "unblock", jids);
  return r && r->attr("type") == "result";
}

// A push (§3.3, §3.4): an IQ set to this resource carrying `name`.
auto push_of(const std::string& name, const std::string& to) {
  return [name, to](const Node& n) {
    return n.is("iq", kNsClient) && n.attr("type") == "set" && n.attr("to") == to &&
           n.child(name, kBlocking);
  };
}

auto by_id(const std::string& id) {
  return [id](const Node& n) { return n.attr("id") == id; };
}

std::string chat(const std::string& to, const std::string& id, const std::string& type = "chat") {
  return "<message to='" + to + "' id='" + id + "' type='" + type + "'><body>" + id +
         "</body></message>";
}

// The error a blocked JID's messages and requests get: the account looks offline, and nothing
// tells the sender it is blocked.
void expect_unavailable_error(const std::optional<Node>& e) {
  ASSERT_TRUE(e) << "no error came back";
  EXPECT_EQ(e->attr("type"), "error") << e->raw;
  EXPECT_EQ(stanza_error(*e), "service-unavailable") << e->raw;
  EXPECT_FALSE(e->find("blocked", kBlockingErrors)) << e->raw;
}

// §3.3: what the account sends to a JID it blocked comes back not-acceptable with <blocked/>.
void expect_refused(const std::optional<Node>& e, const std::string& from) {
  ASSERT_TRUE(e) << "no error came back";
  EXPECT_EQ(e->attr("type"), "error") << e->raw;
  EXPECT_EQ(e->attr("from"), from) << e->raw;
  EXPECT_EQ(stanza_error(*e), "not-acceptable") << e->raw;
  const Node* error = e->child("error");
  ASSERT_TRUE(error) << e->raw;
  EXPECT_EQ(error->attr("type"), "cancel") << e->raw;
  EXPECT_TRUE(error->child("blocked", kBlockingErrors)) << e->raw;
}

TEST_F(BlockingTest, ServerAdvertisesTheFeature) {
  auto c = client("ba", "disco");
  ASSERT_TRUE(c->connected());
  auto info = c->iq(
      "<iq type='get' to='localhost' id='d1'>"
      "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  ASSERT_TRUE(info && info->child("query"));
  bool found = false;
  for (const Node* f : info->child("query")->all("feature")) found |= f->attr("var") == kBlocking;
  EXPECT_TRUE(found) << info->raw;  // §3.1
  // A feature of the server, not of the account.
  auto account = c->iq(
      "<iq type='get' to='ba@localhost' id='d2'>"
      "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  ASSERT_TRUE(account && account->child("query")) << (account ? account->raw : "");
  for (const Node* f : account->child("query")->all("feature"))
    EXPECT_NE(f->attr("var"), kBlocking) << account->raw;
}

TEST_F(BlockingTest, ListBlockUnblockOneAndUnblockAll) {
  auto c = client("ba", "list");
  ASSERT_TRUE(c->connected());
  EXPECT_TRUE(blocklist(*c).empty());  // §3.2: an empty <blocklist/>

  ASSERT_TRUE(block(*c, {"romeo@montague.example", "capulet.example"}));
  ASSERT_TRUE(block(*c, {"Tybalt@Capulet.Example/Sword"}));  // stored normalized
  EXPECT_EQ(blocklist(*c), (std::vector<std::string>{"capulet.example", "romeo@montague.example",
                                                     "tybalt@capulet.example/Sword"}));

  ASSERT_TRUE(unblock(*c, {"romeo@montague.example"}));  // §3.4
  EXPECT_EQ(blocklist(*c),
            (std::vector<std::string>{"capulet.example", "tybalt@capulet.example/Sword"}));
  ASSERT_TRUE(unblock(*c, {"nobody@nowhere.example"}));  // not blocked: nothing to do
  ASSERT_TRUE(unblock(*c, {}));                          // §3.5: unblock all
  EXPECT_TRUE(blocklist(*c).empty());
}

TEST_F(BlockingTest, MalformedCommandsAreRefused) {
  auto c = client("bx", "bad");
  ASSERT_TRUE(c->connected());
  auto empty = command(*c, "set", "block", {});
  ASSERT_TRUE(empty);
  EXPECT_EQ(stanza_error(*empty), "bad-request") << empty->raw;  // §3.3
  auto bad = command(*c, "set", "block", {"romeo@@montague.example"});
  ASSERT_TRUE(bad);
  EXPECT_EQ(stanza_error(*bad), "jid-malformed") << bad->raw;
  // Nothing of a refused command was kept.
  auto mixed = c->iq(
      "<iq type='set' id='mx'><block xmlns='urn:xmpp:blocking'>"
      "<item jid='ok@montague.example'/><item/></block></iq>");
  ASSERT_TRUE(mixed);
  EXPECT_EQ(stanza_error(*mixed), "jid-malformed") << mixed->raw;
  EXPECT_TRUE(blocklist(*c).empty());
}

// §3.3, §3.4, §3.5: pushes go to every resource of the account that requested the list, and
// only to those.
TEST_F(BlockingTest, PushesGoToEveryResourceThatRequestedTheList) {
  auto phone = client("bb", "phone");
  auto laptop = client("bb", "laptop");
  auto quiet = client("bb", "quiet");  // never asks for the list
  auto other = client("bc", "x");
  ASSERT_TRUE(phone->connected() && laptop->connected() && quiet->connected() &&
              other->connected());
  blocklist(*phone);
  blocklist(*laptop);

  ASSERT_TRUE(block(*phone, {"romeo@montague.example", "montague.example"}));
  for (auto* c : {phone.get(), laptop.get()}) {
    auto p = c->wait_for(push_of("block", c->jid()));
    ASSERT_TRUE(p) << c->jid();
    auto jids = jids_in(*p, "block");
    std::sort(jids.begin(), jids.end());
    EXPECT_EQ(jids, (std::vector<std::string>{"montague.example", "romeo@montague.example"}));
    // From the account (like a roster push), or no 'from' at all.
    EXPECT_TRUE(p->attr("from").empty() || p->attr("from") == "bb@localhost") << p->raw;
  }

  ASSERT_TRUE(unblock(*laptop, {"romeo@montague.example"}));
  for (auto* c : {phone.get(), laptop.get()}) {
    auto p = c->wait_for(push_of("unblock", c->jid()));
    ASSERT_TRUE(p) << c->jid();
    EXPECT_EQ(jids_in(*p, "unblock"), (std::vector<std::string>{"romeo@montague.example"}));
  }

  ASSERT_TRUE(unblock(*phone, {}));
  for (auto* c : {phone.get(), laptop.get()}) {
    auto p = c->wait_for(push_of("unblock", c->jid()));
    ASSERT_TRUE(p) << c->jid();
    EXPECT_TRUE(jids_in(*p, "unblock").empty()) << p->raw;  // "unblock all"
  }

  // A later message to the quiet resource is the marker: pushes would have come first.
  other->send(chat(quiet->jid(), "q1"));
  ASSERT_TRUE(quiet->wait_for(by_id("q1")));
  EXPECT_FALSE(quiet->has([](const Node& n) {
    return n.name == "iq" && (n.child("block", kBlocking) || n.child("unblock", kBlocking));
  }));
}

TEST_F(BlockingTest, MessagesAndIqsInBothDirections) {
  auto user = client("bd", "r");
  auto blocked = client("be", "r");
  ASSERT_TRUE(user->connected() && blocked->connected());
  ASSERT_TRUE(block(*user, {"be@localhost"}));

  // Inbound (§3.3): messages of every type but error and IQ requests get service-unavailable,
  // to the full and to the bare JID alike; IQ results and errors are dropped.
  blocked->send(chat(user->jid(), "in-full"));
  expect_unavailable_error(blocked->wait_for(by_id("in-full")));
  blocked->send(chat("bd@localhost", "in-bare", "normal"));
  expect_unavailable_error(blocked->wait_for(by_id("in-bare")));
  blocked->send(chat(user->jid(), "in-headline", "headline"));
  expect_unavailable_error(blocked->wait_for(by_id("in-headline")));
  blocked->send("<iq type='get' id='in-iq' to='" + user->jid() +
                "'><query xmlns='jabber:iq:version'/></iq>");
  expect_unavailable_error(blocked->wait_for(by_id("in-iq")));
  blocked->send("<iq type='get' id='in-vcard' to='bd@localhost'><vCard xmlns='vcard-temp'/></iq>");
  expect_unavailable_error(blocked->wait_for(by_id("in-vcard")));
  blocked->send("<iq type='result' id='in-result' to='" + user->jid() + "'/>");
  blocked->send("<message type='error' id='in-error' to='" + user->jid() +
                "'><error type='cancel'><item-not-found "
                "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
  blocked->send("<presence to='" + user->jid() + "'/>");

  // Outbound (§3.3): refused with not-acceptable and <blocked/>, presence included.
  user->send(chat("be@localhost", "out-msg"));
  expect_refused(user->wait_for(by_id("out-msg")), "be@localhost");
  user->send(chat(blocked->jid(), "out-full"));
  expect_refused(user->wait_for(by_id("out-full")), blocked->jid());
  user->send("<iq type='get' id='out-iq' to='" + blocked->jid() +
             "'><query xmlns='jabber:iq:version'/></iq>");
  expect_refused(user->wait_for(by_id("out-iq")), blocked->jid());
  user->send("<presence id='out-pres' to='" + blocked->jid() + "'/>");
  expect_refused(user->wait_for(by_id("out-pres")), blocked->jid());
  user->send("<iq type='result' id='out-result' to='" + blocked->jid() + "'/>");

  // Nothing crossed in either direction: after unblocking, a message each way is the marker.
  settle(*blocked);
  ASSERT_TRUE(unblock(*user, {"be@localhost"}));
  blocked->send(chat(user->jid(), "after-in"));
  ASSERT_TRUE(user->wait_for(by_id("after-in")));
  user->send(chat(blocked->jid(), "after-out"));
  ASSERT_TRUE(blocked->wait_for(by_id("after-out")));
  for (const char* id :
       {"in-full", "in-bare", "in-headline", "in-iq", "in-vcard", "in-result", "in-error"})
    EXPECT_FALSE(user->has(by_id(id))) << id;
  EXPECT_FALSE(user->has(presence_from(blocked->jid())));
  EXPECT_FALSE(blocked->has(by_id("out-result")));
  EXPECT_FALSE(blocked->has(by_id("out-pres")));
  EXPECT_FALSE(blocked->has(by_id("in-error")));  // an error is never answered
}

// §3.3: the blocked contact sees the account go offline and gets none of its presence; §3.4:
// after unblocking it gets the current presence again.
TEST_F(BlockingTest, PresenceStopsBothWaysAndComesBackOnUnblock) {
  auto user = client("bf", "r");
  auto contact = client("bh", "r");
  ASSERT_TRUE(user->connected() && contact->connected());
  ASSERT_TRUE(go_online(*user) && go_online(*contact));
  ASSERT_TRUE(subscribe_mutual(*user, *contact));
  ASSERT_TRUE(user->wait_for(presence_from(contact->jid())));
  ASSERT_TRUE(contact->wait_for(presence_from(user->jid())));

  ASSERT_TRUE(block(*user, {"bh@localhost"}));
  ASSERT_TRUE(contact->wait_for(presence_from(user->jid(), "unavailable")));

  user->send("<presence><show>away</show></presence>");
  ASSERT_TRUE(user->wait_for([&](const Node& n) {
    return presence_from(user->jid())(n) && n.child("show");
  }));  // its own echo: the broadcast is under way
  contact->send("<presence><show>dnd</show></presence>");
  contact->send("<presence to='bf@localhost' type='probe'/>");
  settle(*contact);
  settle(*user);

  ASSERT_TRUE(unblock(*user, {"bh@localhost"}));
  auto back = contact->wait_for(presence_from(user->jid()));
  ASSERT_TRUE(back);
  ASSERT_TRUE(back->child("show")) << back->raw;
  EXPECT_EQ(back->child("show")->text, "away");
  // A message each way after the unblock is the marker for anything that leaked before it.
  user->send(chat(contact->jid(), "m-out"));
  ASSERT_TRUE(contact->wait_for(by_id("m-out")));
  contact->send(chat(user->jid(), "m-in"));
  ASSERT_TRUE(user->wait_for(by_id("m-in")));
  EXPECT_FALSE(contact->has(presence_from(user->jid()))) << "the away broadcast leaked";
  EXPECT_FALSE(user->has(presence_from(contact->jid()))) << "the dnd broadcast leaked";
}

TEST_F(BlockingTest, DomainItemBlocksEveryoneThere) {
  auto user = client("bi", "r");
  auto remote = client2("bg", "r");
  auto local = client("bj", "r");
  ASSERT_TRUE(user->connected() && remote->connected() && local->connected());
  ASSERT_TRUE(block(*user, {kHost2}));

  remote->send(chat(user->jid(), "d-in"));
  expect_unavailable_error(remote->wait_for(by_id("d-in")));
  user->send(chat("bg@" + kHost2, "d-out"));
  expect_refused(user->wait_for(by_id("d-out")), "bg@" + kHost2);
  user->send("<iq type='get' id='d-host' to='" + kHost2 +
             "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  expect_refused(user->wait_for(by_id("d-host")), kHost2);
  // Another domain is not blocked.
  local->send(chat(user->jid(), "d-local"));
  ASSERT_TRUE(user->wait_for(by_id("d-local")));
  EXPECT_FALSE(user->has(by_id("d-in")));
}

TEST_F(BlockingTest, BlockingOnesOwnDomainKeepsTheServerReachable) {
  auto user = client("by", "own");
  auto other = client("bk", "own");
  ASSERT_TRUE(user->connected() && other->connected());
  ASSERT_TRUE(block(*user, {kHost}));
  // Everyone at localhost is blocked...
  other->send(chat(user->jid(), "o-in"));
  expect_unavailable_error(other->wait_for(by_id("o-in")));
  // ...but not the server itself (RFC 6120 §10.3), nor the account's own resources.
  settle(*user);
  auto self = client("by", "own2");
  ASSERT_TRUE(self->connected());
  self->send(chat(user->jid(), "o-self"));
  ASSERT_TRUE(user->wait_for(by_id("o-self")));
  ASSERT_TRUE(unblock(*user, {kHost}));
}

// §6: a full-JID item blocks that one resource, in both directions, presence included.
TEST_F(BlockingTest, FullJidItemBlocksOneResource) {
  auto user = client("bl", "r");
  auto phone = client("bm", "phone");
  auto laptop = client("bm", "laptop");
  auto third = client("bn", "r");
  ASSERT_TRUE(user->connected() && phone->connected() && laptop->connected() && third->connected());
  ASSERT_TRUE(go_online(*user) && go_online(*laptop) && go_online(*phone));
  ASSERT_TRUE(subscribe_mutual(*user, *laptop));
  ASSERT_TRUE(phone->wait_for(presence_from(user->jid())));

  ASSERT_TRUE(block(*user, {"bm@localhost/phone"}));
  ASSERT_TRUE(phone->wait_for(presence_from(user->jid(), "unavailable")));

  phone->send(chat(user->jid(), "f-phone"));
  expect_unavailable_error(phone->wait_for(by_id("f-phone")));
  laptop->send(chat(user->jid(), "f-laptop"));
  ASSERT_TRUE(user->wait_for(by_id("f-laptop")));
  user->send(chat(phone->jid(), "f-to-phone"));
  expect_refused(user->wait_for(by_id("f-to-phone")), phone->jid());
  user->send(chat(laptop->jid(), "f-to-laptop"));
  ASSERT_TRUE(laptop->wait_for(by_id("f-to-laptop")));

  // The account's presence goes to the contact's bare JID: the laptop gets it, the phone not.
  user->send("<presence><show>xa</show></presence>");
  ASSERT_TRUE(laptop->wait_for(
      [&](const Node& n) { return presence_from(user->jid())(n) && n.child("show"); }));
  third->send(chat(phone->jid(), "f-marker"));
  ASSERT_TRUE(phone->wait_for(by_id("f-marker")));
  EXPECT_FALSE(phone->has(presence_from(user->jid()))) << "the blocked resource saw presence";
  EXPECT_FALSE(user->has(by_id("f-phone")));
}

// An offline account is protected too: nothing of the blocked JID is kept for later.
TEST_F(BlockingTest, OfflineAccountGetsNothingFromABlockedJid) {
  {
    auto user = client("bo", "setup");
    ASSERT_TRUE(user->connected());
    ASSERT_TRUE(block(*user, {"bp@localhost"}));
    user->disconnect();
  }
  ASSERT_TRUE(poll_until([&] {
    auto s = server().sessions();
    return std::find(s.begin(), s.end(), "bo@localhost/setup") == s.end();
  }));
  auto blocked = client("bp", "r");
  auto friendly = client("bq", "r");
  ASSERT_TRUE(blocked->connected() && friendly->connected());
  blocked->send(chat("bo@localhost", "off-blocked"));
  expect_unavailable_error(blocked->wait_for(by_id("off-blocked")));  // not stored
  blocked->send("<presence to='bo@localhost' type='subscribe'/>");
  settle(*blocked);
  friendly->send(chat("bo@localhost", "off-friendly"));
  friendly->send("<presence to='bo@localhost' type='subscribe'/>");
  settle(*friendly);
  EXPECT_FALSE(friendly->has(by_id("off-friendly"))) << "a friendly message was bounced";

  auto user = client("bo", "back");
  ASSERT_TRUE(user->connected() && go_online(*user));
  ASSERT_TRUE(user->wait_for(by_id("off-friendly")));
  ASSERT_TRUE(user->wait_for(presence_from("bq@localhost", "subscribe")));
  EXPECT_FALSE(user->has(by_id("off-blocked")));
  EXPECT_FALSE(user->has(presence_from("bp@localhost", "subscribe")));
}

// Stored before the block (offline storage), delivered after it: still not delivered.
TEST_F(BlockingTest, AMessageKeptBeforeTheBlockIsNotDeliveredAfterIt) {
  auto sender = client("bs", "r");
  auto friendly = client("bt", "r");
  ASSERT_TRUE(sender->connected() && friendly->connected());
  sender->send(chat("br@localhost", "kept-blocked"));
  friendly->send(chat("br@localhost", "kept-friendly"));
  settle(*sender);
  settle(*friendly);

  auto user = client("br", "r");
  ASSERT_TRUE(user->connected());  // no presence yet: nothing delivered
  ASSERT_TRUE(block(*user, {"bs@localhost"}));
  ASSERT_TRUE(go_online(*user));
  ASSERT_TRUE(user->wait_for(by_id("kept-friendly")));
  EXPECT_FALSE(user->has(by_id("kept-blocked")));
}

// A pending subscription request from a JID being blocked is dropped: it is not shown again
// at the next login (stored requests are delivered then).
TEST_F(BlockingTest, PendingRequestFromABlockedJidIsDropped) {
  auto asker = client("bu", "r");
  auto friendly = client("bv", "r");
  ASSERT_TRUE(asker->connected() && friendly->connected());
  asker->send("<presence to='bw@localhost' type='subscribe'/>");
  friendly->send("<presence to='bw@localhost' type='subscribe'/>");
  settle(*asker);
  settle(*friendly);
  {
    auto user = client("bw", "first");
    ASSERT_TRUE(user->connected() && go_online(*user));
    ASSERT_TRUE(user->wait_for(presence_from("bu@localhost", "subscribe")));
    ASSERT_TRUE(block(*user, {"bu@localhost"}));
    user->disconnect();
  }
  auto user = client("bw", "second");
  ASSERT_TRUE(user->connected() && go_online(*user));
  ASSERT_TRUE(user->wait_for(presence_from("bv@localhost", "subscribe")));
  settle(*user);
  EXPECT_FALSE(user->has(presence_from("bu@localhost", "subscribe")));
}

// Directed presence (RFC 6121 §4.6) counts as presence the JID may receive: on block it gets
// unavailable.
TEST_F(BlockingTest, DirectedPresenceRecipientSeesTheAccountGoOffline) {
  auto user = client("bz", "dir");
  auto stranger = client("bk", "dir");
  ASSERT_TRUE(user->connected() && stranger->connected());
  ASSERT_TRUE(go_online(*user));
  user->send("<presence to='" + stranger->jid() + "'/>");
  ASSERT_TRUE(stranger->wait_for(presence_from(user->jid())));
  ASSERT_TRUE(block(*user, {stranger->jid()}));
  ASSERT_TRUE(stranger->wait_for(presence_from(user->jid(), "unavailable")));
  ASSERT_TRUE(unblock(*user, {}));
}

// The list is stored: it survives a restart and applies from the first stanza after login.
TEST(BlockingPersistence, ListSurvivesARestart) {
  auto options = with_users({"pa", "pb"});
  options.modules.push_back("blocking");
  ServerProcess s(options);
  ASSERT_TRUE(s.start()) << s.error();
  {
    StropheClient a("pa@localhost/r", kPassword, s.c2s_port());
    ASSERT_TRUE(a.connect());
    ASSERT_TRUE(block(a, {"pb@localhost", "montague.example"}));
  }
  ASSERT_EQ(s.stop(), 0) << s.log();
  ASSERT_TRUE(s.start()) << s.error();

  StropheClient b("pb@localhost/r", kPassword, s.c2s_port());
  ASSERT_TRUE(b.connect());
  StropheClient a("pa@localhost/r", kPassword, s.c2s_port());
  ASSERT_TRUE(a.connect());
  // At once after login, before the client asked for anything: already in force.
  a.send(chat("pb@localhost", "p-out"));
  expect_refused(a.wait_for(by_id("p-out")), "pb@localhost");
  b.send(chat(a.jid(), "p-in"));
  expect_unavailable_error(b.wait_for(by_id("p-in")));
  EXPECT_EQ(blocklist(a), (std::vector<std::string>{"montague.example", "pb@localhost"}));
  EXPECT_EQ(s.stop(), 0) << s.log();
}

TEST(BlockingLimit, MaxItemsIsAPolicy) {
  auto options = with_users({"la"});
  options.modules.push_back("blocking");
  options.module_options["blocking"]["max_items"] = "2";
  ServerProcess s(options);
  ASSERT_TRUE(s.start()) << s.error();
  StropheClient a("la@localhost/r", kPassword, s.c2s_port());
  ASSERT_TRUE(a.connect());
  ASSERT_TRUE(block(a, {"one@montague.example", "two@montague.example"}));
  ASSERT_TRUE(block(a, {"two@montague.example"}));  // already there: no new item
  auto over = command(a, "set", "block", {"three@montague.example"});
  ASSERT_TRUE(over);
  EXPECT_EQ(stanza_error(*over), "policy-violation") << over->raw;
  EXPECT_EQ(blocklist(a).size(), 2u);
  EXPECT_EQ(s.stop(), 0) << s.log();
}

// slixmpp's XEP-0191 plugin against the server: list, block, the push, both directions,
// unblock.
TEST_F(BlockingTest, SlixmppBlockingPlugin) {
  auto r = run_slixmpp(server(), "blocking.py",
                       {"--user", "sa@" + kHost, "--contact", "sb@" + kHost}, kPassword);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"unblocked\": true"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace parley::it
