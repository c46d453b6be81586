// XEP-0030 disco payload codec round trips, and stored-element text round trips.
#include <gtest/gtest.h>

#include "xep/disco.h"
#include "xep/stored_element.h"

namespace parley::xep {
namespace {

TEST(DiscoCodecTest, InfoRoundTrip) {
  disco::Info info;
  info.node = "http://parley.im#abc";
  info.identities = {{"server", "im", "Parley"}, {"pubsub", "pep", ""}};
  info.features = {"urn:xmpp:ping", std::string(disco::kInfoNs)};
  xml::Element form("x", "jabber:x:data");
  form.set("type", "result");
  info.extensions.push_back(form);

  xml::Element e = disco::to_element(info);
  EXPECT_EQ(e.xmlns(), disco::kInfoNs);
  EXPECT_EQ(e.children("identity")[1]->attr("name"), nullptr);  // empty name is left out

  std::string error;
  auto back = disco::parse_info(e, &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->node, info.node);
  ASSERT_EQ(back->identities.size(), 2u);
  EXPECT_EQ(back->identities[0].category, "server");
  EXPECT_EQ(back->identities[0].name, "Parley");
  EXPECT_EQ(back->identities[1].type, "pep");
  EXPECT_EQ(back->features, info.features);
  ASSERT_EQ(back->extensions.size(), 1u);
  EXPECT_EQ(back->extensions[0].get("type"), "result");
}

TEST(DiscoCodecTest, ItemsRoundTrip) {
  disco::Items items{"", {{"muc.example.org", "", "Chatrooms"}, {"example.org", "node1", ""}}};
  auto back = disco::parse_items(disco::to_element(items));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->items.size(), 2u);
  EXPECT_EQ(back->items[0].jid, "muc.example.org");
  EXPECT_EQ(back->items[0].name, "Chatrooms");
  EXPECT_EQ(back->items[1].node, "node1");
}

TEST(DiscoCodecTest, RejectsMalformedPayloads) {
  std::string error;
  xml::Element info("query", std::string(disco::kInfoNs));
  info.add("identity").set("category", "server");  // no type (§3.1)
  EXPECT_FALSE(disco::parse_info(info, &error));
  EXPECT_FALSE(error.empty());

  xml::Element feature("query", std::string(disco::kInfoNs));
  feature.add("feature");  // no var
  EXPECT_FALSE(disco::parse_info(feature));

  xml::Element items("query", std::string(disco::kItemsNs));
  items.add("item").set("name", "no jid");
  EXPECT_FALSE(disco::parse_items(items));

  EXPECT_FALSE(disco::parse_info(xml::Element("query", "jabber:iq:version")));
  EXPECT_FALSE(disco::parse_items(info));  // the other namespace
}

TEST(StoredElementTest, RoundTripKeepsNamespacesAndText) {
  xml::Element vcard("vCard", "vcard-temp");
  vcard.text_child("FN", "Alice & <Co>");
  vcard.add("x", "urn:other").set("a", "\"q\"");
  auto back = load_element(store_element(vcard));
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->str(), vcard.str());
  EXPECT_EQ(back->child_text("FN"), "Alice & <Co>");
  ASSERT_NE(back->child("x", "urn:other"), nullptr);
}

TEST(StoredElementTest, DamagedTextLoadsAsNothing) {
  EXPECT_EQ(load_element(""), nullptr);
  EXPECT_EQ(load_element("<a xmlns='x'>"), nullptr);                 // unfinished
  EXPECT_EQ(load_element("<a xmlns='x'/><b xmlns='y'/>"), nullptr);  // two elements
  EXPECT_EQ(load_element("<!DOCTYPE a><a/>"), nullptr);              // restricted XML
  EXPECT_EQ(load_element("</stream:stream>"), nullptr);
  EXPECT_EQ(load_element("not xml"), nullptr);
}

}  // namespace
}  // namespace parley::xep
