// XEP-0163 Personal Eventing via Pubsub (modules/pep), written from the behaviour contract
// (/work/notes/pep_spec.md) and, where it is silent, XEP-0163 and XEP-0060: every account's
// bare JID is a pubsub service; publishing (auto-create, item ids, publish-options as
// preconditions), retrieving (by id, max_items, RSM), retracting, purging, deleting, creating
// and configuring nodes; the four access models; limits; and notifications, which go to the
// owner's available resources and to contacts whose XEP-0115 caps (verified by the server, which
// asks the client for an unknown ver) carry "<node>+notify", with the last published item when
// such a resource becomes available.
//
// Absence is asserted with an ordering sentinel, never with a wait: one account's service
// handles its requests in order and notifies in that order, so once the notification of a later
// publication has arrived, one of an earlier publication would have. A sentinel node is open
// (anyone may be notified) and every contact is interested in it; a contact is known to be ready
// (its caps verified) once the sentinel's last item has reached it.
#include "pep_common.h"

namespace parley::it {
namespace {

class PepTest : public ServerSuite<PepTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({
        "pub",      "noid",     "retrieve", "rsm",     "ret",      "retbob", "purge",
        "purgebob", "del",      "delbob",   "create",  "defaults", "conf",   "confdave",
        "popt",     "poptdv",   "pnew",     "np",      "trim",     "pres",   "presbob",
        "presfr",   "preserin", "presdv",   "open",    "opendave", "ros",    "rosbob",
        "roscarol", "rosdave",  "wl",       "wlbob",   "own",      "ownbob", "bad",
        "every",    "nf",       "nfbob",    "nfcarol", "nferin",   "cq",     "cqbob",
        "wv",       "wvbob",    "wvcarol",  "lp",      "lpbob",    "lpo",    "lpobob",
        "ua",       "uabob",    "di",       "dibob",   "dit",      "sub",    "subbob",
    });
    o.accounts.emplace_back("zed@" + kHost2, kPassword);
    o.modules.push_back("pep");
    return o;
  }

  // A bound client that fetched its roster and sent initial presence (an available resource).
  static std::unique_ptr<StropheClient> online(const std::string& user,
                                               const std::string& resource) {
    auto c = client(user, resource);
    EXPECT_TRUE(c->connected()) << user << "/" << resource << " did not connect";
    EXPECT_TRUE(go_online(*c));
    // Available once the server says so (its own presence back, RFC 6121 §4.2.2): a publish
    // sent earlier could overtake the presence.
    EXPECT_TRUE(c->wait_for(presence_from(c->jid()))) << c->jid() << " got no presence back";
    return c;
  }
};

// The owner's roster puts `contact` in `group` (RFC 6121 §2.1.2), keeping the subscription.
bool set_group(StropheClient& owner, const std::string& contact, const std::string& group) {
  auto r = owner.iq("<iq type='set' id='" + owner.next_id() +
                    "'><query xmlns='jabber:iq:roster'><item jid='" + contact + "'><group>" +
                    group + "</group></item></query></iq>");
  return is_result(r);
}

const Fields kOpen = {{"pubsub#access_model", {"open"}}};
const Fields kTen = {{"pubsub#max_items", {"10"}}};

// The XEP-0115 §5.2 example, so that a server refusing the tests' caps is not the helper's
// fault.
TEST(PepCapsHelper, ComputesTheVerOfTheXep0115Example) {
  ClientCaps caps;
  caps.name = "Exodus 0.9.1";
  caps.features = {"http://jabber.org/protocol/muc", "http://jabber.org/protocol/disco#info",
                   "http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#items"};
  EXPECT_EQ(caps.ver(), "QgayPKawpkPSDYmwT/WM94uAlu0=");
}

// --- publishing -----------------------------------------------------------------------------

// XEP-0163 §3 / XEP-0060 §7.1.4: the first publication creates the node; the account is the
// service whether the request has no 'to' or the bare JID.
TEST_F(PepTest, PublishingCreatesTheNodeAndStoresTheItemUnderItsId) {
  auto alice = client("pub", "desk");
  ASSERT_TRUE(alice->connected());
  const std::string node = "urn:parley:it:autocreate";
  auto none = get_items(*alice, "", node);
  ASSERT_TRUE(none);
  EXPECT_EQ(stanza_error(*none), "item-not-found") << none->raw;

  auto r = publish(*alice, node, "first", entry("one"));
  ASSERT_TRUE(is_result(r)) << raw(r);
  // §7.1.2: the result may name the item; if it does, it is the one published.
  if (!published_id(*r).empty()) {
    EXPECT_EQ(published_id(*r), "first") << r->raw;
  }
  auto got = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(got)) << raw(got);
  ASSERT_TRUE(items_of(*got)) << got->raw;
  EXPECT_EQ(items_of(*got)->attr("node"), node);
  EXPECT_EQ(item_ids(*got), std::vector<std::string>{"first"});
  EXPECT_EQ(entry_text(items_of(*got), "first"), "one") << got->raw;

  r = publish(*alice, node, "second", entry("two"), {}, alice->bare());
  ASSERT_TRUE(is_result(r)) << raw(r);
  got = get_items(*alice, alice->bare(), node);
  ASSERT_TRUE(is_result(got)) << raw(got);
  // The default node keeps one item (max_items 1).
  EXPECT_EQ(item_ids(*got), std::vector<std::string>{"second"}) << got->raw;
  EXPECT_EQ(entry_text(items_of(*got), "second"), "two");
}

// §7.1.2: without an ItemID the service makes a unique one and says which; §7.1.3: publishing
// an existing id overwrites that item.
TEST_F(PepTest, PublishingWithoutAnIdGetsOneAndAnExistingIdIsOverwritten) {
  auto alice = client("noid", "desk");
  ASSERT_TRUE(alice->connected());
  const std::string node = "urn:parley:it:noid";
  auto r1 = publish(*alice, node, "", entry("a"), kTen);
  ASSERT_TRUE(is_result(r1)) << raw(r1);
  std::string id1 = published_id(*r1);
  ASSERT_FALSE(id1.empty()) << "the result names the id the service chose: " << r1->raw;
  auto r2 = publish(*alice, node, "", entry("b"));
  ASSERT_TRUE(is_result(r2)) << raw(r2);
  std::string id2 = published_id(*r2);
  ASSERT_FALSE(id2.empty()) << r2->raw;
  EXPECT_NE(id1, id2);

  auto one = get_item(*alice, "", node, id1);
  ASSERT_TRUE(is_result(one)) << raw(one);
  EXPECT_EQ(item_ids(*one), std::vector<std::string>{id1});
  EXPECT_EQ(entry_text(items_of(*one), id1), "a") << one->raw;

  auto r3 = publish(*alice, node, id1, entry("a again"));
  ASSERT_TRUE(is_result(r3)) << raw(r3);
  auto all = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(all)) << raw(all);
  EXPECT_EQ(item_ids(*all).size(), 2u) << "one item per id: " << all->raw;
  EXPECT_EQ(id_set(*all), (std::set<std::string>{id1, id2}));
  EXPECT_EQ(entry_text(items_of(*all), id1), "a again");
}

// §7.1.3.6: exactly one payload element per item; §7.1.3.7: an item, and a payload in it.
TEST_F(PepTest, AnItemNeedsExactlyOnePayload) {
  auto alice = client("bad", "desk");
  ASSERT_TRUE(alice->connected());
  const std::string node = "urn:parley:it:bad";
  auto two = publish(*alice, node, "x", entry("one") + entry("two"));
  ASSERT_TRUE(two);
  EXPECT_EQ(stanza_error(*two), "bad-request") << two->raw;
  EXPECT_EQ(pubsub_error(*two), "invalid-payload") << two->raw;

  auto no_item = pubsub_iq(*alice, "set", "", kPubsub, "<publish node='" + node + "'/>");
  ASSERT_TRUE(no_item);
  EXPECT_EQ(stanza_error(*no_item), "bad-request") << no_item->raw;
  EXPECT_EQ(pubsub_error(*no_item), "item-required") << no_item->raw;

  auto empty = publish(*alice, node, "y", "");
  ASSERT_TRUE(empty);
  EXPECT_EQ(stanza_error(*empty), "bad-request") << empty->raw;
  EXPECT_EQ(pubsub_error(*empty), "payload-required") << empty->raw;

  // None of them published anything.
  auto items = get_items(*alice, "", node);
  ASSERT_TRUE(items);
  EXPECT_TRUE(stanza_error(*items) == "item-not-found" || item_ids(*items).empty()) << items->raw;
}

// --- retrieving -----------------------------------------------------------------------------

// §6.5.2, §6.5.7, §6.5.8: all items, the N most recent, particular ones; §6.5.9.12: an id
// the node does not hold is an empty result, not an error.
TEST_F(PepTest, ItemsAreRetrievedAllTheNewestOrById) {
  auto alice = client("retrieve", "desk");
  ASSERT_TRUE(alice->connected());
  const std::string node = "urn:parley:it:retrieve";
  for (int i = 1; i <= 5; ++i) {
    auto r = publish(*alice, node, "i" + std::to_string(i), entry("entry " + std::to_string(i)),
                     i == 1 ? kTen : Fields{});
    ASSERT_TRUE(is_result(r)) << raw(r);
  }
  auto all = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(all)) << raw(all);
  EXPECT_EQ(id_set(*all), (std::set<std::string>{"i1", "i2", "i3", "i4", "i5"})) << all->raw;
  EXPECT_EQ(item_ids(*all).size(), 5u);
  EXPECT_EQ(entry_text(items_of(*all), "i3"), "entry 3");

  auto newest = get_items(*alice, "", node, " max_items='2'");
  ASSERT_TRUE(is_result(newest)) << raw(newest);
  EXPECT_EQ(id_set(*newest), (std::set<std::string>{"i4", "i5"})) << newest->raw;

  auto one = get_item(*alice, "", node, "i2");
  ASSERT_TRUE(is_result(one)) << raw(one);
  EXPECT_EQ(item_ids(*one), std::vector<std::string>{"i2"}) << one->raw;
  EXPECT_EQ(entry_text(items_of(*one), "i2"), "entry 2");

  auto two = get_items(*alice, "", node, "", "<item id='i1'/><item id='i3'/>");
  ASSERT_TRUE(is_result(two)) << raw(two);
  EXPECT_EQ(id_set(*two), (std::set<std::string>{"i1", "i3"})) << two->raw;

  auto missing = get_item(*alice, "", node, "nope");
  ASSERT_TRUE(is_result(missing)) << raw(missing);
  EXPECT_TRUE(item_ids(*missing).empty()) << missing->raw;
}

// §6.5.4 with XEP-0059: pages of at most <max/> items; following <last/> with <after/> visits
// every item once.
TEST_F(PepTest, ResultSetManagementPagesThroughEveryItem) {
  auto alice = client("rsm", "desk");
  ASSERT_TRUE(alice->connected());
  const std::string node = "urn:parley:it:rsm";
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(is_result(
        publish(*alice, node, "r" + std::to_string(i), entry("r"), i == 1 ? kTen : Fields{})));

  std::vector<std::string> seen;
  std::string after;
  for (int page = 0; page < 6; ++page) {
    std::string set = "<set xmlns='" + kRsm + "'><max>2</max>" +
                      (after.empty() ? "" : "<after>" + after + "</after>") + "</set>";
    auto r = get_items(*alice, "", node, "", "", set);
    ASSERT_TRUE(is_result(r)) << raw(r);
    auto ids = item_ids(*r);
    EXPECT_LE(ids.size(), 2u) << "a page holds at most <max/> items: " << r->raw;
    if (ids.empty()) break;
    seen.insert(seen.end(), ids.begin(), ids.end());
    const Node* ps = r->child("pubsub", kPubsub);
    const Node* rsm = ps ? ps->child("set", kRsm) : nullptr;
    ASSERT_TRUE(rsm) << "a partial result says so with <set/>: " << r->raw;
    if (page == 0) {
      // XEP-0059 §2.7: the count, when given, is of the whole set.
      if (const Node* count = rsm->child("count", kRsm)) {
        EXPECT_EQ(count->text, "5") << r->raw;
      }
    }
    const Node* last = rsm->child("last", kRsm);
    ASSERT_TRUE(last) << r->raw;
    after = last->text;
    if (ids.size() < 2) break;
  }
  EXPECT_EQ(seen.size(), 5u) << "every item once";
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()),
            (std::set<std::string>{"r1", "r2", "r3", "r4", "r5"}));
}

// --- retract, purge, delete -----------------------------------------------------------------

// §7.2: the item is gone and subscribers (the owner's other resource, an interested contact)
// get <retract/>; in PEP also without notify='true' (pep_spec.md). An unknown item:
// item-not-found.
TEST_F(PepTest, RetractingRemovesTheItemAndNotifies) {
  auto alice = online("ret", "a");
  auto alice2 = online("ret", "b");
  auto bob = online("retbob", "phone");
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  const std::string node = "urn:parley:it:retract";
  ASSERT_TRUE(is_result(publish(*alice, node, "x1", entry("1"), kTen)));
  ASSERT_TRUE(is_result(publish(*alice, node, "x2", entry("2"))));
  ASSERT_TRUE(online_with_caps(*bob, caps_for({node})));
  ASSERT_TRUE(bob->wait_for(item_event(alice->bare(), node, "x2")))
      << "the last item reaches bob once his caps are known";

  auto r = pubsub_iq(*alice, "set", "", kPubsub,
                     "<retract node='" + node + "' notify='true'><item id='x1'/></retract>");
  ASSERT_TRUE(is_result(r)) << raw(r);
  EXPECT_TRUE(alice2->wait_for(retract_event(alice->bare(), node, "x1")));
  EXPECT_TRUE(bob->wait_for(retract_event(alice->bare(), node, "x1")));
  auto left = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(left)) << raw(left);
  EXPECT_EQ(item_ids(*left), std::vector<std::string>{"x2"}) << left->raw;

  r = pubsub_iq(*alice, "set", "", kPubsub,
                "<retract node='" + node + "'><item id='x2'/></retract>");
  ASSERT_TRUE(is_result(r)) << raw(r);
  EXPECT_TRUE(alice2->wait_for(retract_event(alice->bare(), node, "x2")));
  EXPECT_TRUE(bob->wait_for(retract_event(alice->bare(), node, "x2")));

  r = pubsub_iq(*alice, "set", "", kPubsub,
                "<retract node='" + node + "'><item id='never'/></retract>");
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "item-not-found") << r->raw;
}

// §8.5: every item goes; subscribers get one <purge/>.
TEST_F(PepTest, PurgingEmptiesTheNodeAndNotifies) {
  auto alice = online("purge", "a");
  auto alice2 = online("purge", "b");
  auto bob = online("purgebob", "phone");
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  const std::string node = "urn:parley:it:purge";
  ASSERT_TRUE(is_result(publish(*alice, node, "p1", entry("1"), kTen)));
  ASSERT_TRUE(is_result(publish(*alice, node, "p2", entry("2"))));
  ASSERT_TRUE(online_with_caps(*bob, caps_for({node})));
  ASSERT_TRUE(bob->wait_for(item_event(alice->bare(), node, "p2")));

  auto r = pubsub_iq(*alice, "set", "", kPubsubOwner, "<purge node='" + node + "'/>");
  ASSERT_TRUE(is_result(r)) << raw(r);
  EXPECT_TRUE(alice2->wait_for(node_event(alice->bare(), node, "purge")));
  EXPECT_TRUE(bob->wait_for(node_event(alice->bare(), node, "purge")));
  auto items = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(items)) << "the node itself stays: " << raw(items);
  EXPECT_TRUE(item_ids(*items).empty()) << items->raw;
}

// §8.4: the node and its items go; subscribers get <delete/>; a later publication starts a
// new, empty node.
TEST_F(PepTest, DeletingRemovesTheNodeAndNotifies) {
  auto alice = online("del", "a");
  auto alice2 = online("del", "b");
  auto bob = online("delbob", "phone");
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  const std::string node = "urn:parley:it:delete";
  ASSERT_TRUE(is_result(publish(*alice, node, "d1", entry("1"), kTen)));
  ASSERT_TRUE(is_result(publish(*alice, node, "d2", entry("2"))));
  ASSERT_TRUE(online_with_caps(*bob, caps_for({node})));
  ASSERT_TRUE(bob->wait_for(item_event(alice->bare(), node, "d2")));

  auto r = pubsub_iq(*alice, "set", "", kPubsubOwner, "<delete node='" + node + "'/>");
  ASSERT_TRUE(is_result(r)) << raw(r);
  EXPECT_TRUE(alice2->wait_for(node_event(alice->bare(), node, "delete")));
  EXPECT_TRUE(bob->wait_for(node_event(alice->bare(), node, "delete")));
  auto items = get_items(*alice, "", node);
  ASSERT_TRUE(items);
  EXPECT_EQ(stanza_error(*items), "item-not-found") << items->raw;
  auto again = pubsub_iq(*alice, "set", "", kPubsubOwner, "<delete node='" + node + "'/>");
  ASSERT_TRUE(again);
  EXPECT_EQ(stanza_error(*again), "item-not-found") << again->raw;

  ASSERT_TRUE(is_result(publish(*alice, node, "d3", entry("3"))));
  items = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(items)) << raw(items);
  EXPECT_EQ(item_ids(*items), std::vector<std::string>{"d3"}) << items->raw;
}

// --- creating and configuring ---------------------------------------------------------------

// §8.1: create; an existing NodeID is a conflict; create-and-configure applies the form.
TEST_F(PepTest, CreatingANodeAndAConflict) {
  auto alice = client("create", "desk");
  ASSERT_TRUE(alice->connected());
  const std::string node = "urn:parley:it:create";
  auto r = pubsub_iq(*alice, "set", "", kPubsub, "<create node='" + node + "'/>");
  ASSERT_TRUE(is_result(r)) << raw(r);
  auto items = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(items)) << "the node exists, empty: " << raw(items);
  EXPECT_TRUE(item_ids(*items).empty());
  auto twice = pubsub_iq(*alice, "set", "", kPubsub, "<create node='" + node + "'/>");
  ASSERT_TRUE(twice);
  EXPECT_EQ(stanza_error(*twice), "conflict") << twice->raw;

  const std::string configured = "urn:parley:it:create-configured";
  r = pubsub_iq(*alice, "set", "", kPubsub,
                "<create node='" + configured + "'/><configure>" +
                    data_form(kNodeConfig, {{"pubsub#access_model", {"whitelist"}},
                                            {"pubsub#max_items", {"7"}}}) +
                    "</configure>");
  ASSERT_TRUE(is_result(r)) << raw(r);
  auto conf = get_config(*alice, configured);
  ASSERT_TRUE(is_result(conf)) << raw(conf);
  auto fields = config_of(*conf);
  EXPECT_EQ(field_value(fields, "pubsub#access_model"), "whitelist") << conf->raw;
  EXPECT_EQ(field_value(fields, "pubsub#max_items"), "7") << conf->raw;
}

// The defaults pep_spec.md names (XEP-0163 §5: presence access, last item on presence), as
// the configuration form of a new node shows them (§8.2.2), and the default form (§8.3).
TEST_F(PepTest, ANewNodeHasTheDefaultConfiguration) {
  auto alice = client("defaults", "desk");
  ASSERT_TRUE(alice->connected());
  const std::string node = "urn:parley:it:defaults";
  ASSERT_TRUE(is_result(pubsub_iq(*alice, "set", "", kPubsub, "<create node='" + node + "'/>")));
  auto conf = get_config(*alice, node);
  ASSERT_TRUE(is_result(conf)) << raw(conf);
  const Node* ps = conf->child("pubsub", kPubsubOwner);
  ASSERT_TRUE(ps) << conf->raw;
  const Node* c = ps->child("configure", kPubsubOwner);
  ASSERT_TRUE(c) << conf->raw;
  EXPECT_EQ(c->attr("node"), node);
  ASSERT_TRUE(c->child("x", kDataForms)) << conf->raw;
  EXPECT_EQ(c->child("x", kDataForms)->attr("type"), "form");

  auto check_defaults = [](const std::map<std::string, FormField>& f, const std::string& raw) {
    EXPECT_EQ(field_value(f, "FORM_TYPE"), kNodeConfig) << raw;
    ASSERT_TRUE(f.count("pubsub#access_model")) << raw;
    EXPECT_EQ(f.at("pubsub#access_model").type, "list-single") << raw;
    EXPECT_EQ(field_value(f, "pubsub#access_model"), "presence") << raw;
    for (const char* model : {"presence", "open", "roster", "whitelist"}) {
      const auto& options = f.at("pubsub#access_model").options;
      EXPECT_NE(std::find(options.begin(), options.end(), model), options.end())
          << "access model option " << model << ": " << raw;
    }
    EXPECT_TRUE(is_true(field_value(f, "pubsub#persist_items"))) << raw;
    EXPECT_EQ(field_value(f, "pubsub#max_items"), "1") << raw;
    EXPECT_EQ(field_value(f, "pubsub#send_last_published_item"), "on_sub_and_presence") << raw;
    EXPECT_TRUE(is_true(field_value(f, "pubsub#deliver_payloads"))) << raw;
    EXPECT_TRUE(is_true(field_value(f, "pubsub#notify_retract"))) << raw;
    EXPECT_TRUE(is_true(field_value(f, "pubsub#notify_delete"))) << raw;
    ASSERT_TRUE(f.count("pubsub#roster_groups_allowed")) << raw;
    EXPECT_EQ(f.at("pubsub#roster_groups_allowed").type, "list-multi") << raw;
  };
  check_defaults(config_of(*conf), conf->raw);

  auto dflt = pubsub_iq(*alice, "get", "", kPubsubOwner, "<default/>");
  ASSERT_TRUE(is_result(dflt)) << raw(dflt);
  check_defaults(config_of(*dflt, "default"), dflt->raw);

  auto missing = get_config(*alice, "urn:parley:it:no-such-node");
  ASSERT_TRUE(missing);
  EXPECT_EQ(stanza_error(*missing), "item-not-found") << missing->raw;
}

// §8.2.4-5: a submitted form changes the node (access model, max_items incl. 'max'), and the
// change shows in what the node does; a cancelled form changes nothing; what cannot be
// applied is not-acceptable and changes nothing.
TEST_F(PepTest, ConfiguringChangesTheNode) {
  auto alice = online("conf", "desk");
  auto dave = client("confdave", "desk");
  ASSERT_TRUE(dave->connected());
  const std::string node = "urn:parley:it:configure";
  ASSERT_TRUE(is_result(publish(*alice, node, "c1", entry("1"))));
  auto refused = get_items(*dave, alice->bare(), node);
  ASSERT_TRUE(refused);
  EXPECT_EQ(stanza_error(*refused), "not-authorized") << refused->raw;

  auto r =
      set_config(*alice, node, {{"pubsub#access_model", {"open"}}, {"pubsub#max_items", {"5"}}});
  ASSERT_TRUE(is_result(r)) << raw(r);
  auto conf = get_config(*alice, node);
  ASSERT_TRUE(is_result(conf)) << raw(conf);
  EXPECT_EQ(field_value(config_of(*conf), "pubsub#access_model"), "open") << conf->raw;
  EXPECT_EQ(field_value(config_of(*conf), "pubsub#max_items"), "5") << conf->raw;
  auto read = get_items(*dave, alice->bare(), node);
  ASSERT_TRUE(is_result(read)) << "an open node is readable by anyone: " << raw(read);
  EXPECT_EQ(item_ids(*read), std::vector<std::string>{"c1"});
  for (int i = 2; i <= 6; ++i)
    ASSERT_TRUE(is_result(publish(*alice, node, "c" + std::to_string(i), entry("n"))));
  auto five = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(five));
  EXPECT_EQ(id_set(*five), (std::set<std::string>{"c2", "c3", "c4", "c5", "c6"})) << five->raw;

  // 'max': the server's own limit (XEP-0060 §7.1.5 as XEP-0384 and XEP-0402 use it).
  r = set_config(*alice, node, {{"pubsub#max_items", {"max"}}});
  ASSERT_TRUE(is_result(r)) << raw(r);
  conf = get_config(*alice, node);
  ASSERT_TRUE(is_result(conf));
  std::string max = field_value(config_of(*conf), "pubsub#max_items");
  EXPECT_TRUE(max == "max" || max == "256") << conf->raw;
  for (int i = 7; i <= 8; ++i)
    ASSERT_TRUE(is_result(publish(*alice, node, "c" + std::to_string(i), entry("n"))));
  auto seven = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(seven));
  EXPECT_EQ(item_ids(*seven).size(), 7u) << seven->raw;

  // §8.2.4: a cancel form is a result and the configuration stays.
  r = pubsub_iq(
      *alice, "set", "", kPubsubOwner,
      "<configure node='" + node + "'><x xmlns='" + kDataForms + "' type='cancel'/></configure>");
  ASSERT_TRUE(is_result(r)) << raw(r);
  // §8.2.5.2: what the node cannot be is not-acceptable: an access model it does not know, a
  // field it does not have.
  r = set_config(*alice, node, {{"pubsub#access_model", {"everyone-but-dave"}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "not-acceptable") << r->raw;
  r = set_config(*alice, node, {{"pubsub#no_such_option", {"1"}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "not-acceptable") << r->raw;
  conf = get_config(*alice, node);
  ASSERT_TRUE(is_result(conf));
  EXPECT_EQ(field_value(config_of(*conf), "pubsub#access_model"), "open") << conf->raw;
}

// §7.1.5: publish-options are preconditions on an existing node (met: published; not met:
// conflict + precondition-not-met, nothing published, nothing changed), booleans compare by
// value, and an unknown field is refused.
TEST_F(PepTest, PublishOptionsArePreconditionsOnAnExistingNode) {
  auto alice = client("popt", "desk");
  auto dave = client("poptdv", "desk");
  ASSERT_TRUE(alice->connected() && dave->connected());
  const std::string node = "urn:parley:it:preconditions";
  auto r = publish(*alice, node, "p1", entry("1"), kOpen);
  ASSERT_TRUE(is_result(r)) << raw(r);
  // Auto-create took the option (§7.1.5 rule 3): open, and so readable by a stranger.
  auto conf = get_config(*alice, node);
  ASSERT_TRUE(is_result(conf)) << raw(conf);
  EXPECT_EQ(field_value(config_of(*conf), "pubsub#access_model"), "open") << conf->raw;
  auto read = get_items(*dave, alice->bare(), node);
  ASSERT_TRUE(is_result(read)) << raw(read);
  EXPECT_EQ(item_ids(*read), std::vector<std::string>{"p1"});

  r = publish(*alice, node, "p2", entry("2"), kOpen);
  EXPECT_TRUE(is_result(r)) << "a met precondition publishes: " << raw(r);
  r = publish(*alice, node, "p3", entry("3"), {{"pubsub#persist_items", {"1"}}});
  EXPECT_TRUE(is_result(r)) << "persist_items is true (as 1 or true): " << raw(r);
  r = publish(*alice, node, "p4", entry("4"), {{"pubsub#persist_items", {"true"}}});
  EXPECT_TRUE(is_result(r)) << raw(r);

  r = publish(*alice, node, "p5", entry("5"), {{"pubsub#access_model", {"presence"}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "conflict") << r->raw;
  EXPECT_EQ(pubsub_error(*r), "precondition-not-met") << r->raw;
  auto items = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(items));
  EXPECT_EQ(item_ids(*items), std::vector<std::string>{"p4"}) << items->raw;
  conf = get_config(*alice, node);
  ASSERT_TRUE(is_result(conf));
  EXPECT_EQ(field_value(config_of(*conf), "pubsub#access_model"), "open") << conf->raw;

  r = publish(*alice, node, "p6", entry("6"), {{"pubsub#no_such_option", {"x"}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr("type"), "error") << "unknown fields are refused (§7.1.5): " << r->raw;
}

// §7.1.5 rule 3: a node auto-created by a publication with options has them, the rest default.
TEST_F(PepTest, PublishOptionsShapeAnAutoCreatedNode) {
  auto alice = client("pnew", "desk");
  ASSERT_TRUE(alice->connected());
  const std::string node = "urn:parley:it:shaped";
  auto r = publish(*alice, node, "s1", entry("1"),
                   {{"pubsub#access_model", {"whitelist"}},
                    {"pubsub#max_items", {"3"}},
                    {"pubsub#send_last_published_item", {"never"}}});
  ASSERT_TRUE(is_result(r)) << raw(r);
  auto conf = get_config(*alice, node);
  ASSERT_TRUE(is_result(conf)) << raw(conf);
  auto f = config_of(*conf);
  EXPECT_EQ(field_value(f, "pubsub#access_model"), "whitelist") << conf->raw;
  EXPECT_EQ(field_value(f, "pubsub#max_items"), "3") << conf->raw;
  EXPECT_EQ(field_value(f, "pubsub#send_last_published_item"), "never") << conf->raw;
  EXPECT_TRUE(is_true(field_value(f, "pubsub#persist_items"))) << conf->raw;
  for (const char* id : {"s2", "s3", "s4"})
    ASSERT_TRUE(is_result(publish(*alice, node, id, entry(id))));
  auto items = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(items)) << raw(items);
  EXPECT_EQ(id_set(*items), (std::set<std::string>{"s2", "s3", "s4"})) << items->raw;
}

// persist_items false: notifications still go out, but nothing is kept to retrieve.
TEST_F(PepTest, ANonPersistentNodeNotifiesButKeepsNoItems) {
  auto alice = online("np", "a");
  auto alice2 = online("np", "b");
  const std::string node = "urn:parley:it:transient";
  auto r = publish(*alice, node, "gone", entry("fleeting"), {{"pubsub#persist_items", {"false"}}});
  ASSERT_TRUE(is_result(r)) << raw(r);
  auto note = alice2->wait_for(item_event(alice->bare(), node, "gone"));
  ASSERT_TRUE(note) << "a non-persistent node still notifies";
  EXPECT_EQ(entry_text(event_items(*note, alice->bare(), node), "gone"), "fleeting") << note->raw;
  auto items = get_items(*alice, "", node);
  ASSERT_TRUE(items);
  // Nothing to return: an empty result, or §6.5.9.4's "persistent items not supported".
  if (items->attr("type") == "result")
    EXPECT_TRUE(item_ids(*items).empty()) << items->raw;
  else
    EXPECT_EQ(stanza_error(*items), "feature-not-implemented") << items->raw;
}

// max_items: a publication beyond it removes the oldest items.
TEST_F(PepTest, MaxItemsKeepsTheNewest) {
  auto alice = client("trim", "desk");
  ASSERT_TRUE(alice->connected());
  const std::string two = "urn:parley:it:trim-two";
  ASSERT_TRUE(is_result(publish(*alice, two, "t1", entry("1"), {{"pubsub#max_items", {"2"}}})));
  ASSERT_TRUE(is_result(publish(*alice, two, "t2", entry("2"))));
  ASSERT_TRUE(is_result(publish(*alice, two, "t3", entry("3"))));
  auto items = get_items(*alice, "", two);
  ASSERT_TRUE(is_result(items)) << raw(items);
  EXPECT_EQ(id_set(*items), (std::set<std::string>{"t2", "t3"})) << items->raw;
  EXPECT_EQ(item_ids(*items).size(), 2u);
  auto gone = get_item(*alice, "", two, "t1");
  ASSERT_TRUE(is_result(gone));
  EXPECT_TRUE(item_ids(*gone).empty()) << gone->raw;

  const std::string one = "urn:parley:it:trim-default";
  ASSERT_TRUE(is_result(publish(*alice, one, "d1", entry("1"))));
  ASSERT_TRUE(is_result(publish(*alice, one, "d2", entry("2"))));
  items = get_items(*alice, "", one);
  ASSERT_TRUE(is_result(items));
  EXPECT_EQ(item_ids(*items), std::vector<std::string>{"d2"}) << items->raw;
}

// --- access models --------------------------------------------------------------------------

// presence (the default): the owner and contacts subscribed to the owner's presence ('from' or
// 'both' in the owner's roster); anyone else: not-authorized + presence-subscription-required
// (§6.5.9.6), also a contact whose presence the owner receives without sharing her own.
TEST_F(PepTest, ThePresenceAccessModelAdmitsPresenceSubscribers) {
  auto alice = online("pres", "desk");
  auto bob = online("presbob", "desk");
  auto frank = online("presfr", "desk");
  auto erin = online("preserin", "desk");
  auto dave = client("presdv", "desk");
  ASSERT_TRUE(dave->connected());
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));  // both
  ASSERT_TRUE(subscribe(*frank, *alice));       // alice's roster: frank 'from'
  ASSERT_TRUE(subscribe(*alice, *erin));        // alice's roster: erin 'to'
  const std::string node = "urn:parley:it:presence";
  ASSERT_TRUE(is_result(publish(*alice, node, "v1", entry("visible"))));

  for (StropheClient* reader : {alice.get(), bob.get(), frank.get()}) {
    auto r = get_items(*reader, alice->bare(), node);
    ASSERT_TRUE(is_result(r)) << reader->jid() << ": " << raw(r);
    EXPECT_EQ(entry_text(items_of(*r), "v1"), "visible") << r->raw;
  }
  for (StropheClient* stranger : {erin.get(), dave.get()}) {
    auto r = get_items(*stranger, alice->bare(), node);
    ASSERT_TRUE(r);
    EXPECT_EQ(stanza_error(*r), "not-authorized") << stranger->jid() << ": " << r->raw;
    EXPECT_EQ(pubsub_error(*r), "presence-subscription-required") << r->raw;
    EXPECT_EQ(error_type(*r), "auth") << r->raw;
    EXPECT_TRUE(entry_text(items_of(*r), "v1").empty()) << r->raw;
  }
}

// open: anyone, a stranger and an account of the server's other virtual host too.
TEST_F(PepTest, TheOpenAccessModelAdmitsAnyone) {
  auto alice = client("open", "desk");
  auto dave = client("opendave", "desk");
  StropheClient zed("zed@" + kHost2 + "/desk", kPassword, port());
  ASSERT_TRUE(alice->connected() && dave->connected());
  ASSERT_TRUE(zed.connect());
  const std::string node = "urn:parley:it:open";
  ASSERT_TRUE(is_result(publish(*alice, node, "o1", entry("for everyone"), kOpen)));
  for (StropheClient* reader : {dave.get(), &zed}) {
    auto r = get_items(*reader, alice->bare(), node);
    ASSERT_TRUE(is_result(r)) << reader->jid() << ": " << raw(r);
    EXPECT_EQ(entry_text(items_of(*r), "o1"), "for everyone") << r->raw;
    auto one = get_item(*reader, alice->bare(), node, "o1");
    ASSERT_TRUE(is_result(one)) << raw(one);
    EXPECT_EQ(item_ids(*one), std::vector<std::string>{"o1"});
  }
}

// roster: contacts in one of pubsub#roster_groups_allowed read and are notified; another
// contact gets not-authorized + not-in-roster-group (§6.5.9.7) and no notification.
TEST_F(PepTest, TheRosterAccessModelAdmitsTheAllowedGroups) {
  auto alice = online("ros", "desk");
  auto bob = online("rosbob", "desk");
  auto carol = online("roscarol", "desk");
  auto dave = client("rosdave", "desk");
  ASSERT_TRUE(dave->connected());
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  ASSERT_TRUE(subscribe_mutual(*alice, *carol));
  ASSERT_TRUE(set_group(*alice, bob->bare(), "Friends"));
  ASSERT_TRUE(set_group(*alice, carol->bare(), "Family"));
  const std::string node = "urn:parley:it:roster";
  const std::string sentinel = "urn:parley:it:roster-sentinel";
  ASSERT_TRUE(is_result(pubsub_iq(*alice, "set", "", kPubsub, "<create node='" + node + "'/>")));
  auto r = set_config(
      *alice, node,
      {{"pubsub#access_model", {"roster"}}, {"pubsub#roster_groups_allowed", {"Friends"}}});
  ASSERT_TRUE(is_result(r)) << raw(r);
  auto conf = get_config(*alice, node);
  ASSERT_TRUE(is_result(conf));
  auto f = config_of(*conf);
  EXPECT_EQ(field_value(f, "pubsub#access_model"), "roster") << conf->raw;
  ASSERT_TRUE(f.count("pubsub#roster_groups_allowed"));
  EXPECT_EQ(f.at("pubsub#roster_groups_allowed").values, std::vector<std::string>{"Friends"});
  ASSERT_TRUE(is_result(publish(*alice, node, "r0", entry("friends only"))));
  ASSERT_TRUE(is_result(publish(*alice, sentinel, "s0", entry("s"), kOpen)));

  auto ok = get_items(*bob, alice->bare(), node);
  ASSERT_TRUE(is_result(ok)) << raw(ok);
  EXPECT_EQ(entry_text(items_of(*ok), "r0"), "friends only");
  auto no = get_items(*carol, alice->bare(), node);
  ASSERT_TRUE(no);
  EXPECT_EQ(stanza_error(*no), "not-authorized") << no->raw;
  EXPECT_EQ(pubsub_error(*no), "not-in-roster-group") << no->raw;
  auto stranger = get_items(*dave, alice->bare(), node);
  ASSERT_TRUE(stranger);
  EXPECT_EQ(stanza_error(*stranger), "not-authorized") << stranger->raw;

  ASSERT_TRUE(online_with_caps(*bob, caps_for({node, sentinel})));
  ASSERT_TRUE(online_with_caps(*carol, caps_for({node, sentinel})));
  ASSERT_TRUE(bob->wait_for(item_event(alice->bare(), sentinel, "s0")));
  ASSERT_TRUE(carol->wait_for(item_event(alice->bare(), sentinel, "s0")));
  EXPECT_TRUE(bob->wait_for(item_event(alice->bare(), node, "r0"))) << "bob's last item";
  ASSERT_TRUE(is_result(publish(*alice, node, "r1", entry("friends only"))));
  ASSERT_TRUE(is_result(publish(*alice, sentinel, "s1", entry("s"))));
  EXPECT_TRUE(bob->wait_for(item_event(alice->bare(), node, "r1")));
  ASSERT_TRUE(carol->wait_for(item_event(alice->bare(), sentinel, "s1")));
  EXPECT_EQ(count_received(*carol, any_event(alice->bare(), node)), 0)
      << "carol is not in an allowed group";
}

// whitelist: only the owner (no whitelist management in PEP); anyone else: not-allowed +
// closed-node (§6.5.9.8).
TEST_F(PepTest, TheWhitelistAccessModelAdmitsOnlyTheOwner) {
  auto alice = online("wl", "desk");
  auto bob = online("wlbob", "desk");
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  const std::string node = "urn:parley:it:whitelist";
  ASSERT_TRUE(is_result(
      publish(*alice, node, "w1", entry("mine"), {{"pubsub#access_model", {"whitelist"}}})));
  auto mine = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(mine)) << raw(mine);
  EXPECT_EQ(entry_text(items_of(*mine), "w1"), "mine");
  auto r = get_items(*bob, alice->bare(), node);
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "not-allowed") << r->raw;
  EXPECT_EQ(pubsub_error(*r), "closed-node") << r->raw;
  EXPECT_EQ(error_type(*r), "cancel") << r->raw;
}

// XEP-0163 §2.2: one publisher per node, the owner. Someone else publishing is forbidden
// (§7.1.3.1), and so are the owner's requests (§7.2.3.1, §8.2.3.2, §8.4.3.1, §8.5.3.2), even
// from a contact allowed to read; nothing changes.
TEST_F(PepTest, OnlyTheOwnerPublishesAndManages) {
  auto alice = online("own", "desk");
  auto bob = online("ownbob", "desk");
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  const std::string node = "urn:parley:it:owned";
  ASSERT_TRUE(is_result(publish(*alice, node, "o1", entry("alice's"))));
  const std::string to = alice->bare();

  auto r = publish(*bob, node, "b1", entry("bob's"), {}, to);
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "forbidden") << r->raw;
  r = publish(*bob, "urn:parley:it:owned-new", "b1", entry("bob's"), {}, to);
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "forbidden") << "no auto-create for others: " << r->raw;
  r = pubsub_iq(*bob, "set", to, kPubsub, "<retract node='" + node + "'><item id='o1'/></retract>");
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "forbidden") << r->raw;
  r = pubsub_iq(*bob, "set", to, kPubsubOwner, "<purge node='" + node + "'/>");
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "forbidden") << r->raw;
  r = pubsub_iq(*bob, "set", to, kPubsubOwner, "<delete node='" + node + "'/>");
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "forbidden") << r->raw;
  r = pubsub_iq(*bob, "get", to, kPubsubOwner, "<configure node='" + node + "'/>");
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "forbidden") << r->raw;

  auto items = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(items)) << raw(items);
  EXPECT_EQ(item_ids(*items), std::vector<std::string>{"o1"}) << items->raw;
  EXPECT_EQ(entry_text(items_of(*items), "o1"), "alice's");
  auto other = get_items(*alice, "", "urn:parley:it:owned-new");
  ASSERT_TRUE(other);
  EXPECT_EQ(stanza_error(*other), "item-not-found") << other->raw;
}

// --- notifications --------------------------------------------------------------------------

// XEP-0163 §4.3: every available resource of the owner, the publishing one too, from the bare
// JID, as a headline, with the payload (deliver_payloads).
TEST_F(PepTest, NotificationsReachEveryAvailableResourceOfTheOwner) {
  auto one = online("every", "one");
  auto two = online("every", "two");
  auto three = online("every", "three");
  const std::string node = "urn:parley:it:every";
  ASSERT_TRUE(is_result(publish(*one, node, "e1", entry("to all of me"))));
  for (StropheClient* c : {one.get(), two.get(), three.get()}) {
    auto m = c->wait_for(item_event(one->bare(), node, "e1"));
    ASSERT_TRUE(m) << c->jid() << " got no notification";
    EXPECT_EQ(m->attr("to"), c->jid());
    EXPECT_EQ(m->attr("type"), "headline") << m->raw;
    EXPECT_EQ(entry_text(event_items(*m, one->bare(), node), "e1"), "to all of me") << m->raw;
  }
}

// XEP-0163 §4 / pep_spec.md: a contact is notified of a node when its caps carry
// "<node>+notify" and the node's access model admits it. Here: bob (both, interested in
// everything), carol (both, interested only in the sentinel), erin (alice receives her
// presence but does not share her own: 'to', interested in everything).
TEST_F(PepTest, ContactsAreNotifiedByInterestAndAccessModel) {
  auto alice = online("nf", "desk");
  auto bob = online("nfbob", "desk");
  auto carol = online("nfcarol", "desk");
  auto erin = online("nferin", "desk");
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  ASSERT_TRUE(subscribe_mutual(*alice, *carol));
  ASSERT_TRUE(subscribe(*alice, *erin));
  const std::string owner = alice->bare();
  const std::string presence = "urn:parley:it:nf-presence";
  const std::string whitelist = "urn:parley:it:nf-whitelist";
  const std::string sentinel = "urn:parley:it:nf-sentinel";
  ASSERT_TRUE(is_result(publish(*alice, presence, "n0", entry("n"))));
  ASSERT_TRUE(is_result(
      publish(*alice, whitelist, "w0", entry("w"), {{"pubsub#access_model", {"whitelist"}}})));
  ASSERT_TRUE(is_result(publish(*alice, sentinel, "s0", entry("s"), kOpen)));

  ASSERT_TRUE(online_with_caps(*bob, caps_for({presence, whitelist, sentinel})));
  ASSERT_TRUE(online_with_caps(*carol, caps_for({sentinel})));
  ASSERT_TRUE(online_with_caps(*erin, caps_for({presence, whitelist, sentinel}, "erin")));
  for (StropheClient* c : {bob.get(), carol.get(), erin.get()})
    ASSERT_TRUE(c->wait_for(item_event(owner, sentinel, "s0")))
        << c->jid() << " never got the open node's last item";

  ASSERT_TRUE(is_result(publish(*alice, presence, "n1", entry("n"))));
  ASSERT_TRUE(is_result(publish(*alice, whitelist, "w1", entry("w"))));
  ASSERT_TRUE(is_result(publish(*alice, sentinel, "s1", entry("s"))));

  auto n1 = bob->wait_for(item_event(owner, presence, "n1"));
  ASSERT_TRUE(n1) << "bob is interested and allowed";
  EXPECT_EQ(n1->attr("to"), bob->jid());
  EXPECT_EQ(n1->attr("type"), "headline");
  EXPECT_EQ(entry_text(event_items(*n1, owner, presence), "n1"), "n") << n1->raw;
  ASSERT_TRUE(bob->wait_for(item_event(owner, sentinel, "s1")));
  EXPECT_EQ(count_received(*bob, any_event(owner, whitelist)), 0)
      << "a whitelist node notifies nobody but the owner";

  ASSERT_TRUE(carol->wait_for(item_event(owner, sentinel, "s1")));
  EXPECT_EQ(count_received(*carol, any_event(owner, presence)), 0)
      << "carol did not ask for " << presence;

  ASSERT_TRUE(erin->wait_for(item_event(owner, sentinel, "s1")));
  EXPECT_EQ(count_received(*erin, any_event(owner, presence)), 0)
      << "erin is not subscribed to alice's presence";
  EXPECT_EQ(count_received(*erin, any_event(owner, whitelist)), 0);

  EXPECT_TRUE(alice->wait_for(item_event(owner, presence, "n1")));
  EXPECT_TRUE(alice->wait_for(item_event(owner, whitelist, "w1"))) << "the owner is notified";
  EXPECT_TRUE(alice->wait_for(item_event(owner, sentinel, "s1")));
}

// XEP-0115 §5.4 and §8.2 as pep_spec.md asks them of the server: an unknown ver is asked for
// (disco#info of node#ver at the contact's full JID), and once the answer verifies the contact gets
// the last item; another resource announcing that ver is not asked again.
TEST_F(PepTest, AnUnknownCapsVerIsAskedForAndAKnownOneIsNot) {
  auto alice = online("cq", "desk");
  auto bob = online("cqbob", "one");
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  const std::string node = "urn:parley:it:caps-query";
  ASSERT_TRUE(is_result(publish(*alice, node, "q0", entry("q"))));

  ClientCaps caps = caps_for({node}, "caps-query");
  ASSERT_TRUE(online_with_caps(*bob, caps));
  auto query = bob->wait_for(disco_info_query());
  ASSERT_TRUE(query) << "the server asks for a ver it does not know";
  EXPECT_EQ(query->attr("to"), bob->jid());
  EXPECT_EQ(query->child("query", kDiscoInfo)->attr("node"), kCapsNode + "#" + caps.ver())
      << query->raw;
  EXPECT_TRUE(bob->wait_for(item_event(alice->bare(), node, "q0")))
      << "the answer verified, the last item follows";

  // A second resource with the same ver and nobody to answer for it.
  auto bob2 = client("cqbob", "two");
  ASSERT_TRUE(bob2->connected());
  ASSERT_TRUE(get_roster(*bob2));
  bob2->send(caps_presence(caps.ver()));
  EXPECT_TRUE(bob2->wait_for(item_event(alice->bare(), node, "q0")))
      << "a verified ver is known without asking again";
  EXPECT_EQ(count_received(*bob2, disco_info_query()), 0);

  ASSERT_TRUE(is_result(publish(*alice, node, "q1", entry("q"))));
  EXPECT_TRUE(bob->wait_for(item_event(alice->bare(), node, "q1")));
  EXPECT_TRUE(bob2->wait_for(item_event(alice->bare(), node, "q1")));
}

// XEP-0115 §5.4: an answer that does not hash to the ver it was asked for is invalid and must
// not be cached as that ver's meaning (whether the server uses it for the one client that gave
// it is its own choice). Bob announces carol's ver but answers with more interests; carol, who
// announces it next, is asked herself, and her honest answer is what counts for her.
TEST_F(PepTest, AnAnswerThatDoesNotMatchItsVerIsNotCachedForIt) {
  auto alice = online("wv", "desk");
  auto bob = online("wvbob", "desk");
  auto carol = online("wvcarol", "desk");
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  ASSERT_TRUE(subscribe_mutual(*alice, *carol));
  const std::string owner = alice->bare();
  const std::string node = "urn:parley:it:caps-forged";
  const std::string sentinel = "urn:parley:it:caps-forged-sentinel";
  ASSERT_TRUE(is_result(publish(*alice, node, "f0", entry("f"))));
  ASSERT_TRUE(is_result(publish(*alice, sentinel, "s0", entry("s"), kOpen)));

  ClientCaps honest = caps_for({sentinel}, "wv");
  ClientCaps forged = caps_for({node, sentinel}, "wv");
  ASSERT_TRUE(get_roster(*bob));
  answer_disco(*bob, forged);
  bob->send(caps_presence(honest.ver()));
  ASSERT_TRUE(bob->wait_for(disco_info_query())) << "the server asks for the unknown ver";
  settle(*bob);  // the non-matching answer has reached the server

  ASSERT_TRUE(online_with_caps(*carol, honest));
  EXPECT_TRUE(carol->wait_for(disco_info_query()))
      << "a ver whose only answer did not match it is still unknown";
  ASSERT_TRUE(carol->wait_for(item_event(owner, sentinel, "s0")));
  ASSERT_TRUE(is_result(publish(*alice, node, "f1", entry("f"))));
  ASSERT_TRUE(is_result(publish(*alice, sentinel, "s1", entry("s"))));
  ASSERT_TRUE(carol->wait_for(item_event(owner, sentinel, "s1")));
  EXPECT_EQ(count_received(*carol, any_event(owner, node)), 0)
      << "carol was given the interests of bob's forged answer";
}

// XEP-0163 §4.3.4 (send_last_published_item on_sub_and_presence): a contact's resource that
// becomes available with +notify gets the last item of each such node; so does a new resource
// of the owner.
TEST_F(PepTest, TheLastPublishedItemsComeWithAvailablePresence) {
  auto alice = online("lp", "desk");
  auto bob = online("lpbob", "setup");
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  const std::string first = "urn:parley:it:last-first";
  const std::string second = "urn:parley:it:last-second";
  ASSERT_TRUE(is_result(publish(*alice, first, "a1", entry("old"), kTen)));
  ASSERT_TRUE(is_result(publish(*alice, first, "a2", entry("latest"))));
  ASSERT_TRUE(is_result(publish(*alice, second, "b1", entry("second"))));
  bob->disconnect();

  auto fresh = client("lpbob", "fresh");
  ASSERT_TRUE(fresh->connected());
  ASSERT_TRUE(online_with_caps(*fresh, caps_for({first, second}, "lp")));
  auto m = fresh->wait_for(item_event(alice->bare(), first));
  ASSERT_TRUE(m) << "no last item of " << first;
  EXPECT_EQ(m->attr("to"), fresh->jid());
  EXPECT_EQ(entry_text(event_items(*m, alice->bare(), first), "a2"), "latest")
      << "the last item, not an older one: " << m->raw;
  EXPECT_TRUE(fresh->wait_for(item_event(alice->bare(), second, "b1")));

  auto again = client("lp", "again");
  ASSERT_TRUE(again->connected());
  ASSERT_TRUE(online_with_caps(*again, caps_for({first}, "lp-owner")));
  EXPECT_TRUE(again->wait_for(item_event(alice->bare(), first, "a2")))
      << "the owner's own new resource gets the last item too";
}

// The service is the account, not the owner's session: a contact becoming available gets the
// last item while the owner is offline.
TEST_F(PepTest, TheLastPublishedItemComesWhileTheOwnerIsOffline) {
  auto alice = online("lpo", "desk");
  auto bob = online("lpobob", "setup");
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  const std::string node = "urn:parley:it:last-offline";
  ASSERT_TRUE(is_result(publish(*alice, node, "o1", entry("while away"))));
  alice->disconnect();
  bob->disconnect();

  auto fresh = client("lpobob", "fresh");
  ASSERT_TRUE(fresh->connected());
  ASSERT_TRUE(online_with_caps(*fresh, caps_for({node}, "lpo")));
  auto m = fresh->wait_for(item_event("lpo@" + kHost, node, "o1"));
  ASSERT_TRUE(m);
  EXPECT_EQ(entry_text(event_items(*m, "lpo@" + kHost, node), "o1"), "while away") << m->raw;
}

// Unavailable presence ends notifications to that resource; available presence again brings
// the last item, and only once (nothing was sent in between).
TEST_F(PepTest, NoNotificationsAfterUnavailablePresence) {
  auto alice = online("ua", "desk");
  auto bob = online("uabob", "desk");
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  const std::string node = "urn:parley:it:unavailable";
  ASSERT_TRUE(is_result(publish(*alice, node, "u0", entry("u"))));
  ClientCaps caps = caps_for({node}, "ua");
  ASSERT_TRUE(online_with_caps(*bob, caps));
  ASSERT_TRUE(bob->wait_for(item_event(alice->bare(), node, "u0")));
  ASSERT_TRUE(online_with_caps(*alice, caps_for({node}, "ua-owner")));  // for the sync below
  ASSERT_TRUE(alice->wait_for(item_event(alice->bare(), node, "u0")));

  bob->send("<presence type='unavailable'/>");
  ASSERT_TRUE(alice->wait_for(presence_from(bob->jid(), "unavailable")));
  ASSERT_TRUE(is_result(publish(*alice, node, "u1", entry("u"))));
  ASSERT_TRUE(alice->wait_for(item_event(alice->bare(), node, "u1")));
  settle(*bob);
  EXPECT_EQ(count_received(*bob, item_event(alice->bare(), node, "u1")), 0)
      << "notified while unavailable";

  bob->send(caps_presence(caps.ver()));
  EXPECT_TRUE(bob->wait_for(item_event(alice->bare(), node, "u1")));
  EXPECT_EQ(count_received(*bob, item_event(alice->bare(), node, "u1")), 1);
}

// --- discovery ------------------------------------------------------------------------------

// XEP-0163 §6.1: the account says it is a PEP service (pubsub/pep) with the XEP-0060 features
// it supports, to its owner and to a presence subscriber.
TEST_F(PepTest, TheAccountIsDiscoverableAsAPepService) {
  auto alice = online("di", "desk");
  auto bob = online("dibob", "desk");
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  for (StropheClient* asker : {alice.get(), bob.get()}) {
    auto info = asker->iq("<iq type='get' id='" + asker->next_id() + "' to='" + alice->bare() +
                          "'><query xmlns='" + kDiscoInfo + "'/></iq>");
    ASSERT_TRUE(is_result(info)) << raw(info);
    const Node* q = info->child("query", kDiscoInfo);
    ASSERT_TRUE(q);
    bool pep = false;
    for (const Node* id : q->all("identity", kDiscoInfo))
      pep = pep || (id->attr("category") == "pubsub" && id->attr("type") == "pep");
    EXPECT_TRUE(pep) << asker->jid() << ": " << info->raw;
    std::set<std::string> features;
    for (const Node* f : q->all("feature", kDiscoInfo)) features.insert(f->attr("var"));
    for (const char* f : {"publish",
                          "publish-options",
                          "auto-create",
                          "retrieve-items",
                          "retract-items",
                          "delete-nodes",
                          "purge-nodes",
                          "config-node",
                          "create-nodes",
                          "persistent-items",
                          "access-open",
                          "access-presence",
                          "access-roster",
                          "access-whitelist",
                          "last-published",
                          "filtered-notifications",
                          "presence-notifications",
                          "item-ids",
                          "retrieve-default",
                          "auto-subscribe"})
      EXPECT_TRUE(features.count(kPubsub + "#" + f)) << f << " missing: " << info->raw;
  }
}

// XEP-0060 §5.2: the owner's disco#items on the account lists its nodes.
TEST_F(PepTest, DiscoItemsListsTheNodesToTheOwner) {
  auto alice = client("dit", "desk");
  ASSERT_TRUE(alice->connected());
  const std::set<std::string> nodes = {"urn:parley:it:items-a", "urn:parley:it:items-b"};
  for (const auto& n : nodes) ASSERT_TRUE(is_result(publish(*alice, n, "x", entry("x"))));
  auto items = alice->iq("<iq type='get' id='" + alice->next_id() + "' to='" + alice->bare() +
                         "'><query xmlns='" + kDiscoItems + "'/></iq>");
  ASSERT_TRUE(is_result(items)) << raw(items);
  const Node* q = items->child("query", kDiscoItems);
  ASSERT_TRUE(q) << items->raw;
  std::set<std::string> listed;
  for (const Node* i : q->all("item", kDiscoItems)) {
    EXPECT_EQ(i->attr("jid"), alice->bare()) << items->raw;
    listed.insert(i->attr("node"));
  }
  EXPECT_EQ(listed, nodes) << items->raw;
}

// pep_spec.md: PEP subscriptions come from presence and caps; explicit ones are
// feature-not-implemented with <unsupported feature='subscribe'/> (XEP-0060 §6.1.3.10).
TEST_F(PepTest, ExplicitSubscriptionIsNotImplemented) {
  auto alice = online("sub", "desk");
  auto bob = online("subbob", "desk");
  ASSERT_TRUE(subscribe_mutual(*alice, *bob));
  const std::string node = "urn:parley:it:subscribe";
  ASSERT_TRUE(is_result(publish(*alice, node, "s1", entry("s"))));
  auto r = pubsub_iq(*bob, "set", alice->bare(), kPubsub,
                     "<subscribe node='" + node + "' jid='" + bob->bare() + "'/>");
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "feature-not-implemented") << r->raw;
  ASSERT_TRUE(r->child("error")) << r->raw;
  const Node* unsupported = r->child("error")->child("unsupported", kPubsubErrors);
  ASSERT_TRUE(unsupported) << r->raw;
  EXPECT_EQ(unsupported->attr("feature"), "subscribe");
  r = pubsub_iq(*bob, "set", alice->bare(), kPubsub,
                "<unsubscribe node='" + node + "' jid='" + bob->bare() + "'/>");
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "feature-not-implemented") << r->raw;
}

// --- limits (modules_config: pep:) ----------------------------------------------------------

class PepLimitsTest : public ServerSuite<PepLimitsTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"big", "many", "most"});
    o.modules.push_back("pep");
    o.module_options["pep"] = {{"max_item_bytes", "1024"}, {"max_nodes", "3"}, {"max_items", "4"}};
    return o;
  }
};

// max_item_bytes: a bigger payload is not-acceptable + payload-too-big (XEP-0060 §7.1.3.5).
TEST_F(PepLimitsTest, APayloadOverTheLimitIsTooBig) {
  auto alice = client("big", "desk");
  ASSERT_TRUE(alice->connected());
  const std::string node = "urn:parley:it:big";
  auto r = publish(*alice, node, "small", entry(std::string(500, 's')));
  ASSERT_TRUE(is_result(r)) << raw(r);
  r = publish(*alice, node, "large", entry(std::string(2000, 'l')));
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "not-acceptable") << r->raw.substr(0, 400);
  EXPECT_EQ(pubsub_error(*r), "payload-too-big") << r->raw.substr(0, 400);
  EXPECT_EQ(error_type(*r), "modify");
  auto items = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(items));
  EXPECT_EQ(item_ids(*items), std::vector<std::string>{"small"});
}

// max_nodes: one node too many, created or auto-created, is not-allowed + max-nodes-exceeded;
// deleting one makes room.
TEST_F(PepLimitsTest, OneNodeTooManyIsRefused) {
  auto alice = client("many", "desk");
  ASSERT_TRUE(alice->connected());
  auto create = [&](const std::string& n) {
    return pubsub_iq(*alice, "set", "", kPubsub, "<create node='" + n + "'/>");
  };
  for (const char* n : {"urn:parley:it:n1", "urn:parley:it:n2"})
    ASSERT_TRUE(is_result(create(n))) << n;
  ASSERT_TRUE(is_result(publish(*alice, "urn:parley:it:n3", "x", entry("x"))));
  auto r = create("urn:parley:it:n4");
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "not-allowed") << r->raw;
  EXPECT_EQ(pubsub_error(*r), "max-nodes-exceeded") << r->raw;
  EXPECT_EQ(error_type(*r), "cancel") << r->raw;
  r = publish(*alice, "urn:parley:it:n5", "x", entry("x"));
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "not-allowed") << r->raw;
  EXPECT_EQ(pubsub_error(*r), "max-nodes-exceeded") << r->raw;
  auto none = get_items(*alice, "", "urn:parley:it:n5");
  ASSERT_TRUE(none);
  EXPECT_EQ(stanza_error(*none), "item-not-found") << none->raw;

  ASSERT_TRUE(
      is_result(pubsub_iq(*alice, "set", "", kPubsubOwner, "<delete node='urn:parley:it:n1'/>")));
  EXPECT_TRUE(is_result(create("urn:parley:it:n4")));
}

// max_items: the largest a node may have; more is not-acceptable in a configure form and an
// unmet precondition in publish-options; 'max' is the limit itself.
TEST_F(PepLimitsTest, MaxItemsIsBoundedByTheServer) {
  auto alice = client("most", "desk");
  ASSERT_TRUE(alice->connected());
  const std::string node = "urn:parley:it:most";
  ASSERT_TRUE(is_result(publish(*alice, node, "m0", entry("m"))));
  auto r = set_config(*alice, node, {{"pubsub#max_items", {"5"}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(stanza_error(*r), "not-acceptable") << r->raw;
  r = set_config(*alice, node, {{"pubsub#max_items", {"max"}}});
  ASSERT_TRUE(is_result(r)) << raw(r);
  for (int i = 1; i <= 6; ++i)
    ASSERT_TRUE(is_result(publish(*alice, node, "m" + std::to_string(i), entry("m"))));
  auto items = get_items(*alice, "", node);
  ASSERT_TRUE(is_result(items));
  EXPECT_EQ(id_set(*items), (std::set<std::string>{"m3", "m4", "m5", "m6"})) << items->raw;

  const std::string shaped = "urn:parley:it:most-max";
  r = publish(*alice, shaped, "x1", entry("x"), {{"pubsub#max_items", {"max"}}});
  ASSERT_TRUE(is_result(r)) << "'max' in publish-options (XEP-0384 §5.3.2): " << raw(r);
  for (int i = 2; i <= 5; ++i)
    ASSERT_TRUE(is_result(publish(*alice, shaped, "x" + std::to_string(i), entry("x"),
                                  {{"pubsub#max_items", {"max"}}})));
  items = get_items(*alice, "", shaped);
  ASSERT_TRUE(is_result(items));
  EXPECT_EQ(item_ids(*items).size(), 4u) << items->raw;

  r = publish(*alice, "urn:parley:it:most-over", "y", entry("y"), {{"pubsub#max_items", {"5"}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr("type"), "error") << r->raw;
  EXPECT_EQ(pubsub_error(*r), "precondition-not-met") << r->raw;
}

// --- real clients: slixmpp's xep_0060 / xep_0163 / xep_0115 plugins --------------------------

class PepSlixmppTest : public ServerSuite<PepSlixmppTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"oma", "omb", "omc", "ava", "avb", "nka", "nkb", "nkc"});
    o.modules.push_back("pep");
    return o;
  }

  // Presence shared both ways, by real subscribe/subscribed exchanges, before the script's
  // clients log in.
  static void befriend(const std::string& a, const std::string& b) {
    auto ca = client(a, "setup");
    auto cb = client(b, "setup");
    ASSERT_TRUE(ca->connected() && cb->connected());
    ASSERT_TRUE(go_online(*ca) && go_online(*cb));
    ASSERT_TRUE(subscribe_mutual(*ca, *cb));
  }

  static bool saw(const CommandResult& r, const std::string& what) {
    return r.output.find(what) != std::string::npos;
  }
};

// XEP-0384 both generations: open device lists and bundles (publish-options access_model=open,
// max_items=max for omemo:2 bundles), a contact notified of device lists by caps interest, a
// stranger fetching bundles.
TEST_F(PepSlixmppTest, OmemoDeviceListsAndBundles) {
  befriend("oma", "omb");
  auto r = run_slixmpp(
      server(), "omemo.py",
      {"--user", "oma@" + kHost, "--contact", "omb@" + kHost, "--stranger", "omc@" + kHost},
      kPassword, 90s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(saw(r, "\"contact_got_second_lists\": true")) << r.output;
  EXPECT_TRUE(saw(r, "\"stranger_got_legacy_bundles\": true")) << r.output;
  EXPECT_TRUE(saw(r, "\"stranger_got_omemo2_bundles\"")) << r.output;
  EXPECT_TRUE(saw(r, "\"user_got_contact_list\": true")) << r.output;
}

// XEP-0084 with slixmpp's xep_0084: metadata notified to the interested contact, data fetched by
// the id the metadata names, no notification of the data node.
TEST_F(PepSlixmppTest, AvatarMetadataIsNotifiedAndTheDataFetched) {
  befriend("ava", "avb");
  auto r =
      run_slixmpp(server(), "pep.py",
                  {"--scenario", "avatar", "--user", "ava@" + kHost, "--contact", "avb@" + kHost},
                  kPassword, 90s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(saw(r, "\"round\": 1, \"metadata_notified\": true")) << r.output;
  EXPECT_TRUE(saw(r, "\"no_data_notification\": true")) << r.output;
}

// XEP-0172 with slixmpp's xep_0172: the nickname notified to the interested contact, readable
// by it and not by a stranger.
TEST_F(PepSlixmppTest, NicknameIsPublishedAndNotified) {
  befriend("nka", "nkb");
  auto r = run_slixmpp(server(), "pep.py",
                       {"--scenario", "nick", "--user", "nka@" + kHost, "--contact", "nkb@" + kHost,
                        "--stranger", "nkc@" + kHost},
                       kPassword, 90s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(saw(r, "\"nick_notified\": \"Alice L.\"")) << r.output;
  EXPECT_TRUE(saw(r, "\"stranger_refused\": \"not-authorized\"")) << r.output;
}

}  // namespace
}  // namespace parley::it
