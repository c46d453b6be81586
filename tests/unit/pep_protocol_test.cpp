// The pep module's request decoder (XEP-0060 in the subset XEP-0163 needs) and node settings
// (node_config and publish-options forms), without a server. The module's sources are compiled
// into the module, so the test builds them directly.
#include <gtest/gtest.h>

#include "../../modules/pep/interest.cpp"     // NOLINT(bugprone-suspicious-include)
#include "../../modules/pep/node_config.cpp"  // NOLINT(bugprone-suspicious-include)
#include "../../modules/pep/protocol.cpp"     // NOLINT(bugprone-suspicious-include)
#include "xep/stored_element.h"

namespace parley::pep {
namespace {

xml::Element xml(std::string_view text) {
  auto e = xep::load_element(text);
  if (!e) throw std::invalid_argument("bad test XML");
  return *e;
}

Jid jid(std::string_view s) {
  auto j = Jid::parse(s);
  if (!j) throw std::invalid_argument("bad test JID");
  return *j;
}

const std::string kP = "<pubsub xmlns='http://jabber.org/protocol/pubsub'>";
const std::string kO = "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>";

std::string form(std::string_view type, std::string_view fields) {
  return "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>" +
         std::string(type) + "</value></field>" + std::string(fields) + "</x>";
}

std::string field(std::string_view var, std::string_view value) {
  return "<field var='" + std::string(var) + "'><value>" + std::string(value) + "</value></field>";
}

Request request(const std::string& text, bool set) {
  auto r = parse(xml(text), set);
  if (auto* invalid = std::get_if<Invalid>(&r))
    throw std::runtime_error("unexpected error: " + invalid->condition + " " + invalid->text);
  return std::get<Request>(std::move(r));
}

Invalid invalid(const std::string& text, bool set) {
  auto r = parse(xml(text), set);
  if (!std::holds_alternative<Invalid>(r)) throw std::runtime_error("expected an error");
  return std::get<Invalid>(r);
}

TEST(PepProtocolTest, PublishWithItemAndOptions) {
  auto r = request(kP + "<publish node='urn:xmpp:avatar:metadata'><item id='abc'>" +
                       "<metadata xmlns='urn:xmpp:avatar:metadata'/></item></publish>" +
                       "<publish-options>" +
                       form(kPublishOptionsForm, field("pubsub#access_model", "open")) +
                       "</publish-options></pubsub>",
                   true);
  auto& p = std::get<Publish>(r);
  EXPECT_EQ(p.node, "urn:xmpp:avatar:metadata");
  EXPECT_EQ(p.item_id, "abc");
  ASSERT_TRUE(p.payload);
  EXPECT_EQ(p.payload->name(), "metadata");
  ASSERT_TRUE(p.publish_options);
  EXPECT_EQ(p.publish_options->at("pubsub#access_model"), std::vector<std::string>{"open"});
}

TEST(PepProtocolTest, PublishErrorsNameThePubsubCondition) {
  EXPECT_EQ(invalid(kP + "<publish node='n'/></pubsub>", true).pubsub_condition, "item-required");
  EXPECT_EQ(invalid(kP + "<publish node='n'><item/></publish></pubsub>", true).pubsub_condition,
            "payload-required");
  EXPECT_EQ(invalid(kP + "<publish node='n'><item><a xmlns='x'/><b xmlns='x'/></item></publish>" +
                        "</pubsub>",
                    true)
                .pubsub_condition,
            "invalid-payload");
  EXPECT_EQ(invalid(kP + "<publish><item><a xmlns='x'/></item></publish></pubsub>", true)
                .pubsub_condition,
            "nodeid-required");
  EXPECT_EQ(invalid(kP + "<publish node='n'><item><a xmlns='x'/></item></publish></pubsub>", false)
                .condition,
            "bad-request");
  // A publish-options form of another FORM_TYPE.
  EXPECT_EQ(
      invalid(kP + "<publish node='n'><item><a xmlns='x'/></item></publish><publish-options>" +
                  form("urn:other", "") + "</publish-options></pubsub>",
              true)
          .condition,
      "bad-request");
}

TEST(PepProtocolTest, RetrieveByIdMaxItemsAndPage) {
  auto r = request(kP + "<items node='n' max_items='3'><item id='a'/><item id='b'/></items>" +
                       "<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><after>a</after>" +
                       "</set></pubsub>",
                   false);
  auto& items = std::get<Retrieve>(r);
  EXPECT_EQ(items.node, "n");
  EXPECT_EQ(items.item_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(items.max_items, 3);
  ASSERT_TRUE(items.rsm);
  EXPECT_EQ(items.rsm->max, 2);
  EXPECT_EQ(items.rsm->after, "a");
  EXPECT_EQ(invalid(kP + "<items node='n' max_items='x'/></pubsub>", false).condition,
            "bad-request");
  EXPECT_EQ(invalid(kP + "<items node='n'/></pubsub>", true).condition, "bad-request");
}

TEST(PepProtocolTest, OwnerRequests) {
  EXPECT_TRUE(
      std::holds_alternative<ConfigureGet>(request(kO + "<configure node='n'/></pubsub>", false)));
  auto set =
      request(kO + "<configure node='n'>" +
                  form(kNodeConfigForm, field("pubsub#max_items", "max")) + "</configure></pubsub>",
              true);
  ASSERT_TRUE(std::get<ConfigureSet>(set).fields);
  auto cancel = request(
      kO + "<configure node='n'><x xmlns='jabber:x:data' type='cancel'/>" + "</configure></pubsub>",
      true);
  EXPECT_FALSE(std::get<ConfigureSet>(cancel).fields);
  EXPECT_TRUE(std::holds_alternative<DefaultGet>(request(kO + "<default/></pubsub>", false)));
  EXPECT_TRUE(std::holds_alternative<Delete>(request(kO + "<delete node='n'/></pubsub>", true)));
  EXPECT_TRUE(std::holds_alternative<Purge>(request(kO + "<purge node='n'/></pubsub>", true)));
  EXPECT_EQ(invalid(kO + "<delete/></pubsub>", true).pubsub_condition, "nodeid-required");
}

TEST(PepProtocolTest, SubscriptionsAreUnsupported) {
  auto r = request(kP + "<subscribe node='n' jid='a@b'/></pubsub>", true);
  EXPECT_EQ(std::get<Unsupported>(r).feature, "subscribe");
  EXPECT_EQ(std::get<Unsupported>(request(kP + "<create/></pubsub>", true)).feature,
            "instant-nodes");
}

TEST(PepNodeConfigTest, DefaultsAreThoseOfXep0163) {
  NodeConfig c;
  EXPECT_EQ(c.access, AccessModel::Presence);
  EXPECT_TRUE(c.persist_items);
  EXPECT_EQ(c.max_items, 1);
  EXPECT_EQ(c.send_last, SendLast::OnSubAndPresence);
}

TEST(PepNodeConfigTest, ApplyReadsEveryFieldAndMax) {
  NodeConfig c;
  auto error = apply({{"FORM_TYPE", {std::string(kNodeConfigForm)}},
                      {"pubsub#access_model", {"roster"}},
                      {"pubsub#roster_groups_allowed", {"Friends", "Family"}},
                      {"pubsub#persist_items", {"false"}},
                      {"pubsub#max_items", {"max"}},
                      {"pubsub#send_last_published_item", {"never"}},
                      {"pubsub#deliver_payloads", {"0"}},
                      {"pubsub#title", {"Mood"}}},
                     c, 50);
  ASSERT_FALSE(error) << *error;
  EXPECT_EQ(c.access, AccessModel::Roster);
  EXPECT_EQ(c.roster_groups, (std::vector<std::string>{"Friends", "Family"}));
  EXPECT_FALSE(c.persist_items);
  EXPECT_EQ(c.max_items, 50);
  EXPECT_EQ(c.send_last, SendLast::Never);
  EXPECT_FALSE(c.deliver_payloads);
  EXPECT_EQ(c.title, "Mood");
}

TEST(PepNodeConfigTest, ApplyRefusesBadValuesAndChangesNothing) {
  NodeConfig c;
  EXPECT_TRUE(apply({{"pubsub#access_model", {"authorize"}}}, c, 50));
  EXPECT_TRUE(apply({{"pubsub#max_items", {"51"}}}, c, 50));
  EXPECT_TRUE(apply({{"pubsub#max_items", {"0"}}}, c, 50));
  EXPECT_TRUE(apply({{"pubsub#persist_items", {"yes"}}}, c, 50));
  EXPECT_TRUE(apply({{"pubsub#access_model", {"open"}}, {"pubsub#no_such_field", {"1"}}}, c, 50));
  EXPECT_EQ(c, NodeConfig{});
  // Fields outside pubsub# (a client's own) are ignored.
  EXPECT_FALSE(apply({{"muc#roomconfig_roomname", {"x"}}}, c, 50));
}

TEST(PepNodeConfigTest, SerializationRoundTrips) {
  NodeConfig c;
  c.access = AccessModel::Whitelist;
  c.max_items = 256;
  c.roster_groups = {"A & B", "<C>"};
  c.title = "t";
  c.notify_delete = false;
  EXPECT_EQ(deserialize(serialize(c)), c);
  EXPECT_EQ(deserialize("not xml"), NodeConfig{});
}

TEST(PepNodeConfigTest, PreconditionsCompareOnlyTheGivenFields) {
  NodeConfig c;
  c.access = AccessModel::Open;
  c.max_items = 50;
  EXPECT_FALSE(unmet_precondition({{"pubsub#access_model", {"open"}}}, c, 50));
  // 'max' matches a node that has the largest allowed max_items.
  EXPECT_FALSE(unmet_precondition({{"pubsub#max_items", {"max"}}}, c, 50));
  EXPECT_EQ(unmet_precondition({{"pubsub#max_items", {"max"}}}, c, 100), "pubsub#max_items");
  EXPECT_EQ(unmet_precondition({{"pubsub#access_model", {"presence"}}}, c, 50),
            "pubsub#access_model");
  EXPECT_TRUE(unmet_precondition({{"pubsub#access_model", {"bogus"}}}, c, 50));
  // "true" and "1" are the same boolean.
  EXPECT_FALSE(unmet_precondition({{"pubsub#persist_items", {"true"}}}, c, 50));
}

TEST(PepNodeConfigTest, TheFormShowsTheCurrentValues) {
  NodeConfig c;
  c.access = AccessModel::Open;
  auto f = config_form(c, 10);
  EXPECT_EQ(f.form_type(), kNodeConfigForm);
  ASSERT_TRUE(f.field("pubsub#access_model"));
  EXPECT_EQ(f.field("pubsub#access_model")->value(), "open");
  EXPECT_EQ(f.field("pubsub#max_items")->value(), "1");
  EXPECT_EQ(f.field("pubsub#persist_items")->value(), "1");
}

TEST(PepInterestTest, TracksResourcesAndSharesLearnedCapabilities) {
  Interest interest;
  Jid owner = jid("juliet@example.org");
  Jid romeo = jid("romeo@example.net/phone"), nurse = jid("nurse@example.org/pc");
  EXPECT_TRUE(interest.available(owner, romeo, "sha-1 v1"));
  EXPECT_FALSE(interest.available(owner, romeo, "sha-1 v1"));  // same presence again
  EXPECT_TRUE(interest.available(owner, nurse, "sha-1 v1"));
  EXPECT_TRUE(interest.want("sha-1 v1", owner, romeo));   // the first asks
  EXPECT_FALSE(interest.want("sha-1 v1", owner, nurse));  // the second waits
  auto features = std::make_shared<FeatureSet>(FeatureSet{"urn:xmpp:avatar:metadata+notify"});
  auto ready = interest.learned("sha-1 v1", features, true);
  EXPECT_EQ(ready.size(), 2u);
  EXPECT_EQ(interest.features_of(owner, nurse), features);
  // A new resource with the same verification string needs no query.
  Jid other = jid("tybalt@example.org/x");
  EXPECT_TRUE(interest.available(owner, other, "sha-1 v1"));
  EXPECT_EQ(interest.features_of(owner, other), features);
  interest.unavailable(owner, romeo);
  EXPECT_EQ(interest.resources(owner).size(), 2u);
  interest.forget(owner);
  EXPECT_TRUE(interest.resources(owner).empty());
  EXPECT_EQ(interest.tracked_accounts(), 0u);
}

TEST(PepInterestTest, UnverifiedCapabilitiesAreNotCached) {
  Interest interest;
  Jid owner = jid("juliet@example.org"), romeo = jid("romeo@example.net/phone");
  interest.available(owner, romeo, "sha-1 bad");
  interest.want("sha-1 bad", owner, romeo);
  auto features = std::make_shared<FeatureSet>(FeatureSet{"x+notify"});
  EXPECT_EQ(interest.learned("sha-1 bad", features, false).size(), 1u);
  EXPECT_FALSE(interest.known("sha-1 bad"));
  EXPECT_EQ(interest.features_of(owner, romeo), features);
}

TEST(PepProtocolTest, NotificationsHaveTheEventShape) {
  Item item{"x",
            std::make_shared<const xml::Element>(
                xml("<nick xmlns='http://jabber.org/protocol/nick'>R</nick>")),
            ""};
  auto m = notification(jid("a@b"), jid("c@d/e"), event_items("n", {item}, true));
  EXPECT_EQ(m.get("type"), "headline");
  const auto* event = m.child("event", kEventNs);
  ASSERT_TRUE(event);
  const auto* items = event->child("items", kEventNs);
  ASSERT_TRUE(items);
  EXPECT_EQ(items->get("node"), "n");
  ASSERT_TRUE(items->child("item", kEventNs));
  EXPECT_EQ(items->child("item", kEventNs)->child_text("nick", "http://jabber.org/protocol/nick"),
            "R");
  auto without = event_items("n", {item}, false);
  EXPECT_FALSE(without.child("items", kEventNs)->child("item", kEventNs)->first_child());
}

}  // namespace
}  // namespace parley::pep
