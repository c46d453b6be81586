// Storage contract for the pep module's pubsub store (XEP-0060 nodes and items of each account,
// XEP-0163), on SQLite and, when PARLEY_TEST_POSTGRESQL is set, PostgreSQL. The store is
// compiled into the pep module, so the test builds its source directly.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "../../modules/pep/pubsub_store.cpp"  // NOLINT(bugprone-suspicious-include)
#include "test_database.h"

namespace parley::pubsub {

// Readable failures (found by ADL from gtest's printer).
void PrintTo(const StoredNode& n, std::ostream* os) {
  *os << "{node \"" << n.node << "\", config \"" << n.config << "\", created " << n.created_at
      << "}";
}
void PrintTo(const StoredItem& i, std::ostream* os) {
  *os << "{id \"" << i.id << "\", seq " << i.seq << ", publisher \"" << i.publisher
      << "\", published " << i.published_at << ", payload ";
  if (i.payload.size() > 80)
    *os << i.payload.size() << " bytes";
  else
    *os << "\"" << i.payload << "\"";
  *os << "}";
}

namespace {

using storage::DatabaseError;
using storage::testing::jid;
using Ids = std::vector<std::string>;
using NodeIds = std::vector<std::pair<std::string, std::string>>;  // (node, item id)

class PubsubStoreContract : public storage::testing::BackendTest {
 protected:
  static StoredNode node(std::string name, std::string config = "<x/>", int64_t created_at = 1000) {
    return {std::move(name), std::move(config), created_at};
  }
  static StoredItem item(std::string id, std::string payload = "<p/>",
                         std::string publisher = "alice@example.org/phone",
                         int64_t published_at = 2000) {
    StoredItem i;
    i.id = std::move(id);
    i.payload = std::move(payload);
    i.publisher = std::move(publisher);
    i.published_at = published_at;
    return i;
  }
  static Ids ids(const std::vector<StoredItem>& items) {
    Ids out;
    for (const auto& i : items) out.push_back(i.id);
    return out;
  }
  static Ids names(const std::vector<StoredNode>& nodes) {
    Ids out;
    for (const auto& n : nodes) out.push_back(n.node);
    return out;
  }
  static NodeIds node_ids(const std::vector<std::pair<std::string, StoredItem>>& last) {
    NodeIds out;
    for (const auto& [n, i] : last) out.emplace_back(n, i.id);
    return out;
  }
  // The seq the store gave item `id`.
  int64_t seq(PubsubStore& s, const Jid& service, const std::string& n, const std::string& id) {
    auto got = s.item(service, n, id);
    EXPECT_TRUE(got.has_value()) << n << "/" << id;
    return got ? got->seq : -1;
  }
  // Rows of pubsub_items (or pubsub_nodes) of a service, bypassing the store.
  int64_t rows(const char* table, const std::string& service) {
    return c_->query(std::string("SELECT COUNT(*) FROM ") + table + " WHERE service = ?", {service})
        .at(0)
        .integer(0);
  }
  // Publishes ids in order on a node that is created first.
  void fill(PubsubStore& s, const Jid& service, const std::string& n, const Ids& items) {
    if (!s.node(service, n)) {
      ASSERT_TRUE(s.create(service, node(n)));
    }
    for (const auto& id : items) ASSERT_TRUE(s.publish(service, n, item(id)).empty()) << id;
  }

  const Jid alice_ = jid("alice@example.org");
  const Jid bob_ = jid("bob@example.org");
  const std::string avatar_ = "urn:xmpp:avatar:data";
  const std::string tune_ = "http://jabber.org/protocol/tune";
};

PARLEY_BACKENDS(PubsubStoreContract);

TEST_P(PubsubStoreContract, MissingServiceHasNothing) {
  PubsubStore s(*c_);
  EXPECT_EQ(s.node(alice_, avatar_), std::nullopt);
  EXPECT_TRUE(s.nodes(alice_).empty());
  EXPECT_EQ(s.node_count(alice_), 0);
  EXPECT_FALSE(s.configure(alice_, avatar_, "<x/>"));
  EXPECT_FALSE(s.remove_node(alice_, avatar_));
  EXPECT_EQ(s.item(alice_, avatar_, "a"), std::nullopt);
  EXPECT_EQ(s.item_count(alice_, avatar_), 0);
  EXPECT_TRUE(s.newest(alice_, avatar_, 10).empty());
  EXPECT_TRUE(s.oldest(alice_, avatar_, 10).empty());
  EXPECT_TRUE(s.last_items(alice_).empty());
  EXPECT_FALSE(s.retract(alice_, avatar_, "a"));
  EXPECT_EQ(s.purge(alice_, avatar_), 0);
  EXPECT_TRUE(s.trim(alice_, avatar_, 0).empty());
  s.remove_service(alice_);  // nothing to remove is no error
  EXPECT_EQ(s.node_count(alice_), 0);
}

TEST_P(PubsubStoreContract, CreateStoresTheNodeAndRefusesAnExistingOne) {
  PubsubStore s(*c_);
  // Quotes, XML, newlines, a backslash and what looks like placeholders reach the row as they
  // are; the time is beyond 32 bits.
  StoredNode n = node(avatar_,
                      "<x xmlns='jabber:x:data' type=\"submit\"><field var='pubsub#title'>"
                      "<value>Caf\xc3\xa9 \xe2\x98\x95 it's ? $1 \\n</value></field></x>\n\t--';",
                      1'700'000'000'123);
  EXPECT_TRUE(s.create(alice_, n));
  EXPECT_EQ(s.node(alice_, avatar_), std::optional<StoredNode>(n));
  EXPECT_EQ(s.node_count(alice_), 1);

  // An existing node stays as it was.
  EXPECT_FALSE(s.create(alice_, node(avatar_, "<other/>", 5)));
  EXPECT_EQ(s.node(alice_, avatar_), std::optional<StoredNode>(n));
  EXPECT_EQ(s.node_count(alice_), 1);
  EXPECT_EQ(rows("pubsub_nodes", "alice@example.org"), 1);

  // Empty settings and time 0 stay "" and 0.
  EXPECT_TRUE(s.create(alice_, node(tune_, "", 0)));
  EXPECT_EQ(s.node(alice_, tune_), std::optional<StoredNode>(node(tune_, "", 0)));
  EXPECT_EQ(s.node_count(alice_), 2);
  EXPECT_EQ(s.node(alice_, "urn:xmpp:avatar"), std::nullopt);  // a prefix is another node
}

TEST_P(PubsubStoreContract, ConfigureReplacesOnlyTheSettings) {
  PubsubStore s(*c_);
  ASSERT_TRUE(s.create(alice_, node(avatar_, "<v1/>", 1234)));
  ASSERT_TRUE(s.create(alice_, node(tune_, "<tune/>", 99)));
  ASSERT_TRUE(s.publish(alice_, avatar_, item("a")).empty());

  EXPECT_TRUE(s.configure(alice_, avatar_, "<v2 max='1'/>"));
  EXPECT_EQ(s.node(alice_, avatar_),
            std::optional<StoredNode>(node(avatar_, "<v2 max='1'/>", 1234)));
  // The same settings again: the node exists, so still true.
  EXPECT_TRUE(s.configure(alice_, avatar_, "<v2 max='1'/>"));
  EXPECT_TRUE(s.configure(alice_, avatar_, ""));
  EXPECT_EQ(s.node(alice_, avatar_)->config, "");
  // The items and the other node are untouched.
  EXPECT_EQ(s.item_count(alice_, avatar_), 1);
  EXPECT_EQ(s.node(alice_, tune_), std::optional<StoredNode>(node(tune_, "<tune/>", 99)));

  // No such node: false, and none is made.
  EXPECT_FALSE(s.configure(alice_, "urn:xmpp:missing", "<v/>"));
  EXPECT_EQ(s.node(alice_, "urn:xmpp:missing"), std::nullopt);
  EXPECT_FALSE(s.configure(bob_, avatar_, "<v/>"));
  EXPECT_EQ(s.node_count(bob_), 0);
}

TEST_P(PubsubStoreContract, NodesAreListedInNodeIdOrderBytewise) {
  PubsubStore s(*c_);
  // Bytewise: upper case before lower case, multi-byte UTF-8 after ASCII, a prefix first.
  for (const char* n :
       {"urn:xmpp:avatar:metadata", "\xc3\xa9t\xc3\xa9", "alpha", "Zeta", "urn:xmpp:avatar:data",
        "eu.siacs.conversations.axolotl.devicelist", "urn:xmpp:avatar"})
    ASSERT_TRUE(s.create(alice_, node(n, "<c/>", 7)));
  ASSERT_TRUE(s.create(bob_, node("bob's only")));

  auto all = s.nodes(alice_);
  EXPECT_EQ(names(all),
            (Ids{"Zeta", "alpha", "eu.siacs.conversations.axolotl.devicelist", "urn:xmpp:avatar",
                 "urn:xmpp:avatar:data", "urn:xmpp:avatar:metadata", "\xc3\xa9t\xc3\xa9"}));
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all[1], node("alpha", "<c/>", 7));
  EXPECT_EQ(s.node_count(alice_), 7);
  EXPECT_EQ(names(s.nodes(bob_)), Ids{"bob's only"});
  EXPECT_EQ(s.node_count(bob_), 1);
}

TEST_P(PubsubStoreContract, RemoveNodeDeletesItAndItsItems) {
  PubsubStore s(*c_);
  fill(s, alice_, avatar_, {"a", "b", "c"});
  fill(s, alice_, tune_, {"a", "t"});

  EXPECT_TRUE(s.remove_node(alice_, avatar_));
  EXPECT_EQ(s.node(alice_, avatar_), std::nullopt);
  EXPECT_EQ(s.item_count(alice_, avatar_), 0);
  EXPECT_EQ(s.item(alice_, avatar_, "a"), std::nullopt);
  EXPECT_EQ(
      c_->query("SELECT COUNT(*) FROM pubsub_items WHERE node = ?", {avatar_}).at(0).integer(0), 0);
  EXPECT_FALSE(s.remove_node(alice_, avatar_));

  // The other node, with an item of the same id, is untouched.
  EXPECT_EQ(names(s.nodes(alice_)), Ids{tune_});
  EXPECT_EQ(s.node_count(alice_), 1);
  EXPECT_EQ(ids(s.newest(alice_, tune_, 10)), (Ids{"t", "a"}));

  // Created again, the node starts empty.
  ASSERT_TRUE(s.create(alice_, node(avatar_, "<again/>")));
  EXPECT_EQ(s.item_count(alice_, avatar_), 0);
  EXPECT_TRUE(s.newest(alice_, avatar_, 10).empty());
  EXPECT_EQ(s.node(alice_, avatar_)->config, "<again/>");
}

TEST_P(PubsubStoreContract, PublishStoresEachNewItemAsTheNewest) {
  PubsubStore s(*c_);
  ASSERT_TRUE(s.create(alice_, node(avatar_)));
  StoredItem first = item("first", "<data xmlns='urn:xmpp:avatar:data'>AAAA</data>",
                          "alice@example.org/laptop", 1'700'000'000'001);
  first.seq = 999;  // set by the store, whatever the caller passes
  EXPECT_TRUE(s.publish(alice_, avatar_, first).empty());
  StoredItem second = item("second", "<p n='2'/>", "alice@example.org/phone", 1'700'000'000'002);
  second.seq = 0;
  EXPECT_TRUE(s.publish(alice_, avatar_, second).empty());
  EXPECT_TRUE(s.publish(alice_, avatar_, item("third")).empty());

  auto got = s.item(alice_, avatar_, "first");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id, "first");
  EXPECT_EQ(got->payload, first.payload);
  EXPECT_EQ(got->publisher, "alice@example.org/laptop");
  EXPECT_EQ(got->published_at, 1'700'000'000'001);
  const int64_t s1 = got->seq;
  const int64_t s2 = seq(s, alice_, avatar_, "second");
  const int64_t s3 = seq(s, alice_, avatar_, "third");
  EXPECT_LT(s1, s2);
  EXPECT_LT(s2, s3);
  second.seq = s2;
  EXPECT_EQ(s.item(alice_, avatar_, "second"), std::optional<StoredItem>(second));

  EXPECT_EQ(s.item_count(alice_, avatar_), 3);
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), (Ids{"third", "second", "first"}));
  EXPECT_EQ(ids(s.oldest(alice_, avatar_, 10)), (Ids{"first", "second", "third"}));
  EXPECT_EQ(s.item(alice_, avatar_, "fourth"), std::nullopt);
}

TEST_P(PubsubStoreContract, RepublishingAnIdReplacesItAndMakesItTheNewest) {
  PubsubStore s(*c_);
  fill(s, alice_, avatar_, {"a", "b", "c"});
  const int64_t old_a = seq(s, alice_, avatar_, "a");
  const int64_t c_seq = seq(s, alice_, avatar_, "c");

  StoredItem again = item("a", "<p v='2'/>", "alice@example.org/tablet", 9999);
  EXPECT_TRUE(s.publish(alice_, avatar_, again).empty());
  EXPECT_EQ(s.item_count(alice_, avatar_), 3);  // replaced, not added
  auto got = s.item(alice_, avatar_, "a");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->payload, "<p v='2'/>");
  EXPECT_EQ(got->publisher, "alice@example.org/tablet");
  EXPECT_EQ(got->published_at, 9999);
  EXPECT_GT(got->seq, old_a);
  EXPECT_GT(got->seq, c_seq);
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), (Ids{"a", "c", "b"}));
  EXPECT_EQ(ids(s.oldest(alice_, avatar_, 10)), (Ids{"b", "c", "a"}));

  // Republishing the newest item moves it on too.
  const int64_t newest_seq = got->seq;
  EXPECT_TRUE(s.publish(alice_, avatar_, item("a", "<p v='3'/>")).empty());
  EXPECT_GT(seq(s, alice_, avatar_, "a"), newest_seq);
  EXPECT_EQ(s.item(alice_, avatar_, "a")->payload, "<p v='3'/>");
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), (Ids{"a", "c", "b"}));
  EXPECT_EQ(s.item_count(alice_, avatar_), 3);
}

TEST_P(PubsubStoreContract, PublishWithMaxItemsTrimsTheOldestAndNeverTheNewOne) {
  PubsubStore s(*c_);
  ASSERT_TRUE(s.create(alice_, node(avatar_)));
  for (const char* id : {"1", "2", "3"})
    EXPECT_TRUE(s.publish(alice_, avatar_, item(id), 3).empty()) << id;
  EXPECT_EQ(s.publish(alice_, avatar_, item("4"), 3), Ids{"1"});
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), (Ids{"4", "3", "2"}));

  // A lower limit removes several, oldest first.
  EXPECT_EQ(s.publish(alice_, avatar_, item("5"), 2), (Ids{"2", "3"}));
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), (Ids{"5", "4"}));

  // Republishing an id within the limit replaces it: nothing to trim.
  EXPECT_TRUE(s.publish(alice_, avatar_, item("4", "<p v='2'/>"), 2).empty());
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), (Ids{"4", "5"}));

  // Republishing the oldest item with a limit of 1 keeps it, now the newest, and drops the
  // other.
  EXPECT_EQ(s.publish(alice_, avatar_, item("5", "<p v='2'/>"), 1), Ids{"4"});
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), Ids{"5"});
  EXPECT_EQ(s.item(alice_, avatar_, "5")->payload, "<p v='2'/>");

  // A limit below 1 still keeps the item just published.
  EXPECT_EQ(s.publish(alice_, avatar_, item("6"), 0), Ids{"5"});
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), Ids{"6"});
  EXPECT_EQ(s.publish(alice_, avatar_, item("7"), -3), Ids{"6"});
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), Ids{"7"});

  // Without a limit nothing is trimmed.
  for (const char* id : {"8", "9", "10"}) EXPECT_TRUE(s.publish(alice_, avatar_, item(id)).empty());
  EXPECT_EQ(s.item_count(alice_, avatar_), 4);
}

TEST_P(PubsubStoreContract, TrimDeletesTheOldestBeyondTheLimit) {
  PubsubStore s(*c_);
  fill(s, alice_, avatar_, {"i1", "i2", "i3", "i4", "i5"});
  fill(s, alice_, tune_, {"t1", "t2"});

  EXPECT_EQ(s.trim(alice_, avatar_, 3), (Ids{"i1", "i2"}));
  EXPECT_EQ(ids(s.oldest(alice_, avatar_, 10)), (Ids{"i3", "i4", "i5"}));
  EXPECT_TRUE(s.trim(alice_, avatar_, 3).empty());
  EXPECT_TRUE(s.trim(alice_, avatar_, 100).empty());
  EXPECT_EQ(s.item_count(alice_, avatar_), 3);

  // The order is the order of publication, which republishing changes.
  ASSERT_TRUE(s.publish(alice_, avatar_, item("i3")).empty());
  EXPECT_EQ(s.trim(alice_, avatar_, 2), Ids{"i4"});
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), (Ids{"i3", "i5"}));

  // 0 (or less) removes every item; the node stays.
  EXPECT_EQ(s.trim(alice_, avatar_, 0), (Ids{"i5", "i3"}));
  EXPECT_EQ(s.item_count(alice_, avatar_), 0);
  EXPECT_TRUE(s.node(alice_, avatar_).has_value());
  EXPECT_EQ(s.trim(alice_, tune_, -1), (Ids{"t1", "t2"}));
  EXPECT_TRUE(s.trim(alice_, "urn:xmpp:missing", 0).empty());
}

TEST_P(PubsubStoreContract, TrimLeavesOtherNodesAndServicesAlone) {
  PubsubStore s(*c_);
  fill(s, alice_, avatar_, {"a", "b", "c"});
  fill(s, alice_, tune_, {"a", "b", "c"});
  fill(s, bob_, avatar_, {"a", "b", "c"});
  EXPECT_EQ(s.trim(alice_, avatar_, 1), (Ids{"a", "b"}));
  EXPECT_EQ(s.publish(alice_, tune_, item("d"), 2), (Ids{"a", "b"}));
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), Ids{"c"});
  EXPECT_EQ(ids(s.newest(alice_, tune_, 10)), (Ids{"d", "c"}));
  EXPECT_EQ(ids(s.newest(bob_, avatar_, 10)), (Ids{"c", "b", "a"}));
}

TEST_P(PubsubStoreContract, RetractDeletesOneItem) {
  PubsubStore s(*c_);
  fill(s, alice_, avatar_, {"a", "b", "c"});
  fill(s, alice_, tune_, {"b"});
  fill(s, bob_, avatar_, {"b"});

  EXPECT_TRUE(s.retract(alice_, avatar_, "b"));
  EXPECT_EQ(s.item(alice_, avatar_, "b"), std::nullopt);
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), (Ids{"c", "a"}));
  EXPECT_EQ(s.item_count(alice_, avatar_), 2);
  EXPECT_FALSE(s.retract(alice_, avatar_, "b"));
  EXPECT_FALSE(s.retract(alice_, avatar_, "B"));  // ids are compared exactly
  EXPECT_FALSE(s.retract(alice_, "urn:xmpp:missing", "a"));
  // The same id elsewhere is another item.
  EXPECT_TRUE(s.item(alice_, tune_, "b").has_value());
  EXPECT_TRUE(s.item(bob_, avatar_, "b").has_value());

  // Retracting the newest item makes the one before it the newest.
  EXPECT_TRUE(s.retract(alice_, avatar_, "c"));
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 1)), Ids{"a"});
  // A later publication is still newer than every item left.
  ASSERT_TRUE(s.publish(alice_, avatar_, item("d")).empty());
  EXPECT_GT(seq(s, alice_, avatar_, "d"), seq(s, alice_, avatar_, "a"));
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), (Ids{"d", "a"}));
}

TEST_P(PubsubStoreContract, PurgeDeletesEveryItemOfTheNodeAndCountsThem) {
  PubsubStore s(*c_);
  fill(s, alice_, avatar_, {"a", "b", "c"});
  fill(s, alice_, tune_, {"a"});
  fill(s, bob_, avatar_, {"a", "b"});

  EXPECT_EQ(s.purge(alice_, avatar_), 3);
  EXPECT_EQ(s.item_count(alice_, avatar_), 0);
  EXPECT_TRUE(s.newest(alice_, avatar_, 10).empty());
  EXPECT_EQ(s.purge(alice_, avatar_), 0);
  EXPECT_EQ(s.node(alice_, avatar_), std::optional<StoredNode>(node(avatar_)));  // node stays
  EXPECT_EQ(s.item_count(alice_, tune_), 1);
  EXPECT_EQ(s.item_count(bob_, avatar_), 2);

  // The node takes new items after a purge.
  ASSERT_TRUE(s.publish(alice_, avatar_, item("new")).empty());
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), Ids{"new"});
}

TEST_P(PubsubStoreContract, NewestPagesTowardsOlderItems) {
  PubsubStore s(*c_);
  fill(s, alice_, avatar_, {"1", "2", "3", "4", "5"});
  fill(s, alice_, tune_, {"other"});

  EXPECT_EQ(ids(s.newest(alice_, avatar_, 3)), (Ids{"5", "4", "3"}));
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 1)), Ids{"5"});
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 100)), (Ids{"5", "4", "3", "2", "1"}));
  EXPECT_TRUE(s.newest(alice_, avatar_, 0).empty());
  EXPECT_TRUE(s.newest(alice_, avatar_, -1).empty());

  const int64_t s4 = seq(s, alice_, avatar_, "4");
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 2, s4)), (Ids{"3", "2"}));
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10, s4)), (Ids{"3", "2", "1"}));
  EXPECT_TRUE(s.newest(alice_, avatar_, 10, seq(s, alice_, avatar_, "1")).empty());
  // A bound above every item is no bound.
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 2, seq(s, alice_, avatar_, "5") + 1000)),
            (Ids{"5", "4"}));

  // Walking the pages visits every item once, newest first.
  Ids all;
  std::optional<int64_t> cursor;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = s.newest(alice_, avatar_, 2, cursor);
    if (page.empty()) break;
    EXPECT_LE(page.size(), 2u);
    for (const auto& i : page) all.push_back(i.id);
    cursor = page.back().seq;
  }
  EXPECT_EQ(all, (Ids{"5", "4", "3", "2", "1"}));

  // The items come back whole.
  auto top = s.newest(alice_, avatar_, 1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0], *s.item(alice_, avatar_, "5"));
}

TEST_P(PubsubStoreContract, OldestPagesTowardsNewerItems) {
  PubsubStore s(*c_);
  fill(s, alice_, avatar_, {"1", "2", "3", "4", "5"});
  fill(s, bob_, avatar_, {"bob"});

  EXPECT_EQ(ids(s.oldest(alice_, avatar_, 3)), (Ids{"1", "2", "3"}));
  EXPECT_EQ(ids(s.oldest(alice_, avatar_, 100)), (Ids{"1", "2", "3", "4", "5"}));
  EXPECT_TRUE(s.oldest(alice_, avatar_, 0).empty());
  EXPECT_TRUE(s.oldest(alice_, avatar_, -5).empty());

  const int64_t s2 = seq(s, alice_, avatar_, "2");
  EXPECT_EQ(ids(s.oldest(alice_, avatar_, 2, s2)), (Ids{"3", "4"}));
  EXPECT_EQ(ids(s.oldest(alice_, avatar_, 10, s2)), (Ids{"3", "4", "5"}));
  EXPECT_TRUE(s.oldest(alice_, avatar_, 10, seq(s, alice_, avatar_, "5")).empty());
  EXPECT_EQ(ids(s.oldest(alice_, avatar_, 2, seq(s, alice_, avatar_, "1") - 1000)),
            (Ids{"1", "2"}));

  Ids all;
  std::optional<int64_t> cursor;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = s.oldest(alice_, avatar_, 2, cursor);
    if (page.empty()) break;
    for (const auto& i : page) all.push_back(i.id);
    cursor = page.back().seq;
  }
  EXPECT_EQ(all, (Ids{"1", "2", "3", "4", "5"}));

  // A republished item moves to the end.
  ASSERT_TRUE(s.publish(alice_, avatar_, item("2")).empty());
  EXPECT_EQ(ids(s.oldest(alice_, avatar_, 10)), (Ids{"1", "3", "4", "5", "2"}));
  EXPECT_EQ(ids(s.oldest(alice_, avatar_, 10, seq(s, alice_, avatar_, "5"))), Ids{"2"});
}

TEST_P(PubsubStoreContract, LastItemsGivesTheNewestOfEveryNodeThatHasOne) {
  PubsubStore s(*c_);
  fill(s, alice_, "b-node", {"b1", "b2", "b3"});
  fill(s, alice_, "a-node", {"a1", "a2"});
  ASSERT_TRUE(s.create(alice_, node("empty")));
  fill(s, alice_, "c-node", {"c1", "c2"});
  fill(s, alice_, "purged", {"p1"});
  ASSERT_EQ(s.purge(alice_, "purged"), 1);
  fill(s, bob_, "a-node", {"bob"});

  // An older id published again becomes the last; a retracted last gives way to the one before.
  StoredItem again = item("a1", "<p v='2'/>", "alice@example.org/desk", 4242);
  ASSERT_TRUE(s.publish(alice_, "a-node", again).empty());
  ASSERT_TRUE(s.retract(alice_, "c-node", "c2"));

  auto last = s.last_items(alice_);
  EXPECT_EQ(node_ids(last), (NodeIds{{"a-node", "a1"}, {"b-node", "b3"}, {"c-node", "c1"}}));
  ASSERT_EQ(last.size(), 3u);
  again.seq = seq(s, alice_, "a-node", "a1");
  EXPECT_EQ(last[0].second, again);
  EXPECT_EQ(last[1].second, *s.item(alice_, "b-node", "b3"));

  EXPECT_EQ(node_ids(s.last_items(bob_)), (NodeIds{{"a-node", "bob"}}));
  EXPECT_TRUE(s.last_items(jid("carol@example.org")).empty());
}

TEST_P(PubsubStoreContract, RemoveServiceDeletesOnlyThatService) {
  PubsubStore s(*c_);
  fill(s, alice_, avatar_, {"a", "b"});
  fill(s, alice_, tune_, {"t"});
  ASSERT_TRUE(s.create(alice_, node("empty")));
  fill(s, bob_, avatar_, {"a", "b"});
  fill(s, jid("alice@example.net"), avatar_, {"a"});  // same localpart, other domain

  s.remove_service(alice_);
  EXPECT_TRUE(s.nodes(alice_).empty());
  EXPECT_EQ(s.node_count(alice_), 0);
  EXPECT_EQ(s.item_count(alice_, avatar_), 0);
  EXPECT_TRUE(s.last_items(alice_).empty());
  EXPECT_EQ(rows("pubsub_nodes", "alice@example.org"), 0);
  EXPECT_EQ(rows("pubsub_items", "alice@example.org"), 0);

  EXPECT_EQ(names(s.nodes(bob_)), Ids{avatar_});
  EXPECT_EQ(ids(s.newest(bob_, avatar_, 10)), (Ids{"b", "a"}));
  EXPECT_EQ(s.item_count(jid("alice@example.net"), avatar_), 1);

  // The account can start over.
  EXPECT_TRUE(s.create(alice_, node(avatar_)));
  EXPECT_EQ(s.item_count(alice_, avatar_), 0);
}

TEST_P(PubsubStoreContract, ServicesAreIsolatedFromEachOther) {
  PubsubStore s(*c_);
  ASSERT_TRUE(s.create(alice_, node(avatar_, "<alice/>")));
  // The same node on another service is another node.
  EXPECT_TRUE(s.create(bob_, node(avatar_, "<bob/>")));
  ASSERT_TRUE(s.publish(alice_, avatar_, item("x", "<alice-x/>")).empty());
  ASSERT_TRUE(s.publish(bob_, avatar_, item("x", "<bob-x/>")).empty());
  ASSERT_TRUE(s.publish(bob_, avatar_, item("y", "<bob-y/>")).empty());

  EXPECT_EQ(s.node(alice_, avatar_)->config, "<alice/>");
  EXPECT_EQ(s.node(bob_, avatar_)->config, "<bob/>");
  EXPECT_EQ(s.item(alice_, avatar_, "x")->payload, "<alice-x/>");
  EXPECT_EQ(s.item(bob_, avatar_, "x")->payload, "<bob-x/>");
  EXPECT_EQ(s.item_count(alice_, avatar_), 1);
  EXPECT_EQ(s.item_count(bob_, avatar_), 2);

  ASSERT_TRUE(s.configure(alice_, avatar_, "<alice v='2'/>"));
  EXPECT_EQ(s.node(bob_, avatar_)->config, "<bob/>");
  // A trim on one service counts only its own items.
  EXPECT_TRUE(s.publish(alice_, avatar_, item("z"), 2).empty());
  EXPECT_EQ(s.item_count(bob_, avatar_), 2);
  EXPECT_TRUE(s.retract(alice_, avatar_, "x"));
  EXPECT_EQ(s.item(bob_, avatar_, "x")->payload, "<bob-x/>");
  EXPECT_EQ(s.purge(bob_, avatar_), 2);
  EXPECT_EQ(ids(s.newest(alice_, avatar_, 10)), Ids{"z"});
  EXPECT_TRUE(s.remove_node(bob_, avatar_));
  EXPECT_TRUE(s.node(alice_, avatar_).has_value());

  // The service is the bare JID: a resource names the same service.
  const Jid alice_phone = jid("alice@example.org/phone");
  EXPECT_EQ(s.node(alice_phone, avatar_), s.node(alice_, avatar_));
  EXPECT_FALSE(s.create(alice_phone, node(avatar_)));
  EXPECT_EQ(ids(s.newest(alice_phone, avatar_, 10)), Ids{"z"});
  EXPECT_EQ(names(s.nodes(alice_phone)), Ids{avatar_});
  EXPECT_EQ(s.node_count(alice_phone), 1);
  EXPECT_EQ(node_ids(s.last_items(alice_phone)), (NodeIds{{avatar_, "z"}}));
  s.remove_service(alice_phone);
  EXPECT_EQ(s.node_count(alice_), 0);
  EXPECT_EQ(rows("pubsub_items", "alice@example.org"), 0);
}

TEST_P(PubsubStoreContract, ItemWithoutPayloadRoundTrips) {
  PubsubStore s(*c_);
  ASSERT_TRUE(s.create(alice_, node("urn:xmpp:microblog:0")));
  StoredItem empty = item("no-payload", "", "", 0);
  ASSERT_TRUE(s.publish(alice_, "urn:xmpp:microblog:0", empty).empty());
  auto got = s.item(alice_, "urn:xmpp:microblog:0", "no-payload");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->payload, "");
  EXPECT_EQ(got->publisher, "");
  EXPECT_EQ(got->published_at, 0);
  empty.seq = got->seq;
  EXPECT_EQ(*got, empty);
  // Stored as '' (not NULL), so what reads the table sees the same.
  EXPECT_EQ(c_->query("SELECT COUNT(*) FROM pubsub_items WHERE payload = '' AND publisher = ''")
                .at(0)
                .integer(0),
            1);
  EXPECT_EQ(ids(s.newest(alice_, "urn:xmpp:microblog:0", 5)), Ids{"no-payload"});
  EXPECT_EQ(node_ids(s.last_items(alice_)), (NodeIds{{"urn:xmpp:microblog:0", "no-payload"}}));
}

TEST_P(PubsubStoreContract, LargeUnicodePayloadRoundTrips) {
  PubsubStore s(*c_);
  const std::string n =
      "urn:xmpp:n\xc3\xb6"
      "de:\xf0\x9f\x8e\x89";  // nöde:🎉
  ASSERT_TRUE(s.create(alice_, node(n)));
  // 100 KiB and more: multi-byte UTF-8, quotes, newlines, a backslash and placeholder lookalikes.
  std::string payload = "<data xmlns='urn:xmpp:avatar:data'>";
  const std::string chunk =
      "Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x8e\x89 \xd0\xbf\xd1\x80\xd0\xb8 'q' \"qq\" ? $1 \\ \n\t";
  while (payload.size() < 100 * 1024) payload += chunk;
  payload += "</data>";
  StoredItem big = item("\xe2\x9c\x93-id \xc3\xa9", payload,
                        "\xc3\xa1lice@example.org/t\xc3\xa9l\xc3\xa9phone", 1'700'000'000'999);
  ASSERT_TRUE(s.publish(alice_, n, big).empty());

  auto got = s.item(alice_, n, big.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->payload.size(), payload.size());
  EXPECT_TRUE(got->payload == payload) << "payload differs";
  EXPECT_EQ(got->id, big.id);
  EXPECT_EQ(got->publisher, big.publisher);
  big.seq = got->seq;
  EXPECT_EQ(*got, big);
  auto page = s.newest(alice_, n, 1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0], big);
  auto last = s.last_items(alice_);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].first, n);
  EXPECT_EQ(last[0].second, big);
  EXPECT_TRUE(s.retract(alice_, n, big.id));
}

TEST_P(PubsubStoreContract, PublishToAMissingNodeThrowsAndStoresNothing) {
  PubsubStore s(*c_);
  EXPECT_THROW(s.publish(alice_, avatar_, item("a")), DatabaseError);
  EXPECT_THROW(s.publish(alice_, avatar_, item("a"), 1), DatabaseError);
  EXPECT_EQ(s.item_count(alice_, avatar_), 0);
  EXPECT_EQ(rows("pubsub_items", "alice@example.org"), 0);
  EXPECT_EQ(s.node_count(alice_), 0);
  // A node on another service does not count, and the connection goes on working.
  ASSERT_TRUE(s.create(bob_, node(avatar_)));
  EXPECT_THROW(s.publish(alice_, avatar_, item("a")), DatabaseError);
  EXPECT_TRUE(s.publish(bob_, avatar_, item("a")).empty());
  EXPECT_EQ(s.item_count(bob_, avatar_), 1);
}

TEST_P(PubsubStoreContract, SchemaKeepsSeqUniqueWithinANode) {
  PubsubStore s(*c_);
  fill(s, alice_, avatar_, {"a"});
  fill(s, alice_, tune_, {"t"});
  const int64_t a = seq(s, alice_, avatar_, "a");
  // Another item at a seq the node already holds would have no place in its order.
  EXPECT_THROW(
      c_->exec("INSERT INTO pubsub_items (service, node, item_id, seq, published_at) "
               "VALUES (?, ?, ?, ?, ?)",
               {std::string("alice@example.org"), avatar_, std::string("b"), a, int64_t{0}}),
      DatabaseError);
  // Another node may use the same numbers.
  EXPECT_EQ(c_->exec("INSERT INTO pubsub_items (service, node, item_id, seq, published_at) "
                     "VALUES (?, ?, ?, ?, ?)",
                     {std::string("alice@example.org"), std::string("other"), std::string("b"), a,
                      int64_t{0}}),
            1);
}

}  // namespace
}  // namespace parley::pubsub
