// XEP-0402 §5.3 compatibility (the bookmarks module on the pep module): XEP-0048 bookmarks in
// XEP-0049 private storage and the PEP node urn:xmpp:bookmarks:1 are one list. A private set
// shows up as PEP items (and notifications to the owner's other resources, none for
// unchanged rooms), PEP publications and retractions show up in a private get, <url/>
// bookmarks and PEP-only extensions survive, other private storage is untouched; slixmpp's
// xep_0048 plugin over private storage against its xep_0060 plugin over PEP.
#include "common.h"

namespace parley::it {
namespace {

constexpr const char* kNode = "urn:xmpp:bookmarks:1";
constexpr const char* kLegacy = "storage:bookmarks";
constexpr const char* kPubsub = "http://jabber.org/protocol/pubsub";
constexpr const char* kEvent = "http://jabber.org/protocol/pubsub#event";

class BookmarksTest : public ServerSuite<BookmarksTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"ba", "bb", "bc", "bd", "be", "bf", "bg", "bh", "bi", "bj"});
    o.modules.push_back("pep");
    o.modules.push_back("bookmarks");
    return o;
  }
};

std::optional<Node> private_set(StropheClient& c, const std::string& storage_children) {
  return c.iq("<iq type='set' id='" + c.next_id() +
              "'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>" +
              storage_children + "</storage></query></iq>");
}

// The <storage/> of a private get, or null.
std::optional<Node> private_get(StropheClient& c) {
  auto r = c.iq("<iq type='get' id='" + c.next_id() +
                "'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/>"
                "</query></iq>");
  if (!r || r->attr("type") != "result") {
    ADD_FAILURE() << "private get: " << (r ? r->raw : "no answer");
    return std::nullopt;
  }
  const Node* q = r->child("query", "jabber:iq:private");
  const Node* s = q ? q->child("storage", kLegacy) : nullptr;
  if (!s) {
    ADD_FAILURE() << "no storage in " << r->raw;
    return std::nullopt;
  }
  return *s;
}

const Node* conference_in(const Node& storage, const std::string& jid) {
  for (const Node* c : storage.all("conference", kLegacy))
    if (c->attr("jid") == jid) return c;
  return nullptr;
}

// The items of the bookmarks node (id -> item), from a pubsub items request; with `quiet`, an
// error (no node yet) is no failure.
std::map<std::string, Node> pep_items(StropheClient& c, bool quiet = false) {
  auto r = c.iq("<iq type='get' id='" + c.next_id() + "'><pubsub xmlns='" + std::string(kPubsub) +
                "'><items node='" + kNode + "'/></pubsub></iq>");
  std::map<std::string, Node> out;
  if (!r || r->attr("type") != "result") {
    if (!quiet) ADD_FAILURE() << "pubsub items: " << (r ? r->raw : "no answer");
    return out;
  }
  const Node* items = r->find("items", kPubsub);
  if (!items) return out;
  for (const Node* i : items->all("item", kPubsub)) out[i->attr("id")] = *i;
  return out;
}

std::string publish_options() {
  return "<publish-options><x xmlns='jabber:x:data' type='submit'>"
         "<field var='FORM_TYPE' type='hidden'>"
         "<value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
         "<field var='pubsub#persist_items'><value>true</value></field>"
         "<field var='pubsub#max_items'><value>max</value></field>"
         "<field var='pubsub#send_last_published_item'><value>never</value></field>"
         "<field var='pubsub#access_model'><value>whitelist</value></field>"
         "</x></publish-options>";
}

std::optional<Node> pep_publish(StropheClient& c, const std::string& id,
                                const std::string& conference) {
  return c.iq("<iq type='set' id='" + c.next_id() + "'><pubsub xmlns='" + std::string(kPubsub) +
              "'><publish node='" + kNode + "'><item id='" + id + "'>" + conference +
              "</item></publish>" + publish_options() + "</pubsub></iq>");
}

// A PEP notification of the bookmarks node with an item (or retraction) for `id`.
auto event_for(const std::string& what, const std::string& id) {
  return [what, id](const Node& n) {
    if (n.name != "message") return false;
    const Node* ev = n.child("event", kEvent);
    const Node* items = ev ? ev->child("items", kEvent) : nullptr;
    if (!items || items->attr("node") != kNode) return false;
    for (const Node* i : items->all(what, kEvent))
      if (i->attr("id") == id) return true;
    return false;
  };
}

TEST_F(BookmarksTest, AccountAdvertisesCompat) {
  auto c = client("ba", "disco");
  ASSERT_TRUE(c->connected());
  auto info = c->iq(
      "<iq type='get' id='d1' to='ba@localhost'><query "
      "xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  ASSERT_TRUE(info && info->attr("type") == "result") << (info ? info->raw : "");
  bool found = false;
  for (const Node* f : info->child("query")->all("feature"))
    found = found || f->attr("var") == "urn:xmpp:bookmarks:1#compat";
  EXPECT_TRUE(found) << info->raw;
}

TEST_F(BookmarksTest, PrivateSetShowsUpAsPepItems) {
  auto c = client("bb", "legacy");
  ASSERT_TRUE(c->connected());
  auto r = private_set(*c,
                       "<conference jid='council@conference.example' name='The Council' "
                       "autojoin='true'><nick>Puck</nick><password>pw</password></conference>"
                       "<conference jid='orchard@conference.example' autojoin='0'/>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");

  auto items = pep_items(*c);
  ASSERT_EQ(items.size(), 2u);
  ASSERT_TRUE(items.count("council@conference.example"));
  const Node* conf = items["council@conference.example"].child("conference", kNode);
  ASSERT_TRUE(conf) << items["council@conference.example"].raw;
  EXPECT_EQ(conf->attr("name"), "The Council");
  EXPECT_TRUE(conf->attr("autojoin") == "true" || conf->attr("autojoin") == "1");
  ASSERT_TRUE(conf->child("nick", kNode));
  EXPECT_EQ(conf->child("nick", kNode)->text, "Puck");
  ASSERT_TRUE(conf->child("password", kNode));
  EXPECT_EQ(conf->child("password", kNode)->text, "pw");
  ASSERT_TRUE(items.count("orchard@conference.example"));
  const Node* orchard = items["orchard@conference.example"].child("conference", kNode);
  ASSERT_TRUE(orchard);
  EXPECT_FALSE(orchard->attr("autojoin") == "true" || orchard->attr("autojoin") == "1");

  // And the private get gives the same list back.
  auto storage = private_get(*c);
  ASSERT_TRUE(storage);
  const Node* back = conference_in(*storage, "council@conference.example");
  ASSERT_TRUE(back) << storage->raw;
  EXPECT_EQ(back->attr("name"), "The Council");
  ASSERT_TRUE(back->child("nick", kLegacy));
  EXPECT_EQ(back->child("nick", kLegacy)->text, "Puck");
  EXPECT_TRUE(conference_in(*storage, "orchard@conference.example"));
}

TEST_F(BookmarksTest, PepPublishShowsUpInPrivateGet) {
  auto c = client("bc", "modern");
  ASSERT_TRUE(c->connected());
  auto r = pep_publish(*c, "theplay@conference.example",
                       "<conference xmlns='urn:xmpp:bookmarks:1' name='The Play' "
                       "autojoin='1'><nick>JC</nick></conference>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");
  // Not a bookmark (no room JID as id): left out of the XEP-0048 view.
  r = pep_publish(*c, "not a jid@@", "<conference xmlns='urn:xmpp:bookmarks:1'/>");

  auto storage = private_get(*c);
  ASSERT_TRUE(storage);
  EXPECT_EQ(storage->all("conference", kLegacy).size(), 1u) << storage->raw;
  const Node* conf = conference_in(*storage, "theplay@conference.example");
  ASSERT_TRUE(conf) << storage->raw;
  EXPECT_EQ(conf->attr("name"), "The Play");
  EXPECT_TRUE(conf->attr("autojoin") == "true" || conf->attr("autojoin") == "1");
  ASSERT_TRUE(conf->child("nick", kLegacy));
  EXPECT_EQ(conf->child("nick", kLegacy)->text, "JC");
}

TEST_F(BookmarksTest, RemovalWorksBothWays) {
  auto c = client("bd", "r");
  ASSERT_TRUE(c->connected());
  auto r = private_set(*c,
                       "<conference jid='one@conference.example'/>"
                       "<conference jid='two@conference.example'/>"
                       "<conference jid='three@conference.example'/>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");
  ASSERT_EQ(pep_items(*c).size(), 3u);

  // Private storage drops one: its item is retracted.
  r = private_set(*c,
                  "<conference jid='one@conference.example'/>"
                  "<conference jid='three@conference.example'/>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");
  auto items = pep_items(*c);
  EXPECT_EQ(items.size(), 2u);
  EXPECT_FALSE(items.count("two@conference.example"));

  // PEP retracts one: the private view loses it.
  r = c->iq("<iq type='set' id='" + c->next_id() + "'><pubsub xmlns='" + std::string(kPubsub) +
            "'><retract node='" + kNode +
            "' notify='true'><item id='one@conference.example'/></retract></pubsub></iq>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");
  auto storage = private_get(*c);
  ASSERT_TRUE(storage);
  EXPECT_FALSE(conference_in(*storage, "one@conference.example")) << storage->raw;
  EXPECT_TRUE(conference_in(*storage, "three@conference.example")) << storage->raw;

  // An empty set empties the node.
  r = private_set(*c, "");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");
  EXPECT_TRUE(pep_items(*c).empty());
}

TEST_F(BookmarksTest, OtherResourceIsNotifiedOfAPrivateSet) {
  auto legacy = client("be", "legacy");
  auto modern = client("be", "modern");
  ASSERT_TRUE(legacy->connected() && modern->connected());
  ASSERT_TRUE(go_online(*legacy) && go_online(*modern));
  settle(*modern);

  auto r = private_set(*legacy,
                       "<conference jid='a@conference.example' name='A'/>"
                       "<conference jid='b@conference.example' name='B'/>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");
  auto note = modern->wait_for(event_for("item", "a@conference.example"));
  ASSERT_TRUE(note);
  EXPECT_EQ(note->attr("from"), "be@localhost");
  ASSERT_TRUE(modern->wait_for(event_for("item", "b@conference.example")));

  // A second set with one room changed, one gone and one new: notifications for those only
  // (XEP-0402 §5.3.2: none for unchanged items).
  r = private_set(*legacy,
                  "<conference jid='a@conference.example' name='A'/>"
                  "<conference jid='c@conference.example' name='C'/>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");
  ASSERT_TRUE(modern->wait_for(event_for("retract", "b@conference.example")));
  ASSERT_TRUE(modern->wait_for(event_for("item", "c@conference.example")));
  settle(*modern);
  EXPECT_FALSE(modern->has(event_for("item", "a@conference.example")));
}

TEST_F(BookmarksTest, UrlBookmarksAndExtensionsAreKept) {
  auto c = client("bf", "x");
  ASSERT_TRUE(c->connected());
  // A PEP client's extension, which XEP-0048 has no place for.
  auto r = pep_publish(*c, "ext@conference.example",
                       "<conference xmlns='urn:xmpp:bookmarks:1' name='Old'>"
                       "<extensions><state xmlns='urn:example:client'>minimized</state>"
                       "</extensions></conference>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");
  r = private_set(*c,
                  "<conference jid='ext@conference.example' name='New'/>"
                  "<url name='Example' url='https://example.org/'/>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");

  auto items = pep_items(*c);
  ASSERT_TRUE(items.count("ext@conference.example"));
  const Node* conf = items["ext@conference.example"].child("conference", kNode);
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->attr("name"), "New");
  const Node* ext = conf->child("extensions", kNode);
  ASSERT_TRUE(ext && ext->child("state", "urn:example:client"))
      << items["ext@conference.example"].raw;

  auto storage = private_get(*c);
  ASSERT_TRUE(storage);
  auto urls = storage->all("url", kLegacy);
  ASSERT_EQ(urls.size(), 1u) << storage->raw;
  EXPECT_EQ(urls[0]->attr("url"), "https://example.org/");
  EXPECT_EQ(urls[0]->attr("name"), "Example");
}

TEST_F(BookmarksTest, OtherPrivateStorageGoesToThePrivateModule) {
  auto c = client("bg", "x");
  ASSERT_TRUE(c->connected());
  auto r = c->iq(
      "<iq type='set' id='p1'><query xmlns='jabber:iq:private'>"
      "<prefs xmlns='urn:example:prefs'><colour>blue</colour></prefs></query></iq>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");
  r = c->iq(
      "<iq type='get' id='p2'><query xmlns='jabber:iq:private'>"
      "<prefs xmlns='urn:example:prefs'/></query></iq>");
  ASSERT_TRUE(r && r->attr("type") == "result");
  const Node* prefs = r->find("prefs", "urn:example:prefs");
  ASSERT_TRUE(prefs && prefs->child("colour")) << r->raw;
  // Someone else's bookmarks: the private module's forbidden, not this module's view.
  r = c->iq(
      "<iq type='get' id='p3' to='bf@localhost'><query xmlns='jabber:iq:private'>"
      "<storage xmlns='storage:bookmarks'/></query></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr("type"), "error") << r->raw;
  EXPECT_TRUE(r->find("forbidden")) << r->raw;
}

// A node a PEP client set up without XEP-0402's configuration (here: readable by contacts)
// is not filled from private storage: the set fails as the publication does.
TEST_F(BookmarksTest, NodeConfiguredOtherwiseRefusesThePrivateSet) {
  auto c = client("bj", "x");
  ASSERT_TRUE(c->connected());
  auto r = c->iq("<iq type='set' id='" + c->next_id() + "'><pubsub xmlns='" + std::string(kPubsub) +
                 "'><publish node='" + kNode +
                 "'><item id='open@conference.example'><conference "
                 "xmlns='urn:xmpp:bookmarks:1'/></item></publish></pubsub></iq>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");
  r = private_set(*c, "<conference jid='secret@conference.example'/>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr("type"), "error") << r->raw;
  EXPECT_TRUE(r->find("conflict")) << r->raw;
  EXPECT_TRUE(r->find("precondition-not-met", "http://jabber.org/protocol/pubsub#errors"))
      << r->raw;
  auto items = pep_items(*c);
  EXPECT_FALSE(items.count("secret@conference.example"));
}

// An account without bookmarks (no PEP node yet) gets an empty list, not an error.
TEST_F(BookmarksTest, EmptyAccountHasNoBookmarks) {
  auto c = client("bh", "x");
  ASSERT_TRUE(c->connected());
  auto storage = private_get(*c);
  ASSERT_TRUE(storage);
  EXPECT_TRUE(storage->all("conference", kLegacy).empty()) << storage->raw;
}

// slixmpp: the xep_0048 plugin over private storage and the xep_0060 plugin over PEP see the
// same bookmarks, and the PEP resource is notified of the private set.
TEST_F(BookmarksTest, SlixmppPrivateStorageAndPep) {
  auto r = run_slixmpp(server(), "bookmarks.py", {"--user", "bi@" + kHost}, kPassword);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"pep_sees_private\": true"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"private_sees_pep\": true"), std::string::npos) << r.output;
}

// Bookmarks the private module kept before this module was loaded are moved to PEP when the
// account next logs in (a PEP-only client sees them), url bookmarks included in the view.
TEST(BookmarksMigrationTest, PrivateStorageBookmarksMoveToPep) {
  auto options = with_users({"mig"});
  auto server = start_server(options);
  ASSERT_TRUE(server);
  {
    StropheClient c("mig@" + kHost + "/old", kPassword, server->c2s_port());
    ASSERT_TRUE(c.connect());
    auto r = private_set(c,
                         "<conference jid='old@conference.example' name='Old' autojoin='true'>"
                         "<nick>O</nick></conference><url name='U' url='https://example.org/u'/>");
    ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");
    c.disconnect();
  }
  ASSERT_EQ(server->stop(), 0);
  auto modules = options.modules;
  modules.push_back("pep");
  modules.push_back("bookmarks");
  server->set_modules(modules);
  ASSERT_TRUE(server->start()) << server->error();

  StropheClient c("mig@" + kHost + "/new", kPassword, server->c2s_port());
  ASSERT_TRUE(c.connect());
  std::map<std::string, Node> items;
  EXPECT_TRUE(
      poll_until([&] { return (items = pep_items(c, true)).count("old@conference.example"); }));
  ASSERT_TRUE(items.count("old@conference.example"));
  const Node* conf = items["old@conference.example"].child("conference", kNode);
  ASSERT_TRUE(conf && conf->child("nick", kNode));
  EXPECT_EQ(conf->attr("name"), "Old");
  EXPECT_EQ(conf->child("nick", kNode)->text, "O");
  auto storage = private_get(c);
  ASSERT_TRUE(storage);
  EXPECT_TRUE(conference_in(*storage, "old@conference.example")) << storage->raw;
  EXPECT_EQ(storage->all("url", kLegacy).size(), 1u) << storage->raw;

  // Once moved, bookmarks a client removed stay removed, even with the node deleted (the
  // private module's old copy is not read again).
  auto r = c.iq(
      "<iq type='set' id='rm'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>"
      "<delete node='" +
      std::string(kNode) + "'/></pubsub></iq>");
  ASSERT_TRUE(r && r->attr("type") == "result") << (r ? r->raw : "");
  c.disconnect();
  StropheClient again("mig@" + kHost + "/again", kPassword, server->c2s_port());
  ASSERT_TRUE(again.connect());
  storage = private_get(again);
  ASSERT_TRUE(storage);
  EXPECT_TRUE(storage->all("conference", kLegacy).empty()) << storage->raw;
  again.disconnect();
  stop_server(server);
}

}  // namespace
}  // namespace parley::it
