// XEP-0059 result set management codec: requests and responses as the XEP writes them.
#include <gtest/gtest.h>

#include "xep/rsm.h"
#include "xep/stored_element.h"

namespace parley::xep::rsm {
namespace {

xml::Element xml(std::string_view text) {
  auto e = load_element(text);
  if (!e) throw std::invalid_argument("bad test XML");
  return *e;
}

TEST(RsmTest, DecodesRequests) {
  // §2.2 paging forwards.
  auto r = parse_request(
      xml("<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><after>peterpan@neverland.lit"
          "</after></set>"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->max, 10);
  EXPECT_EQ(r->after, "peterpan@neverland.lit");
  EXPECT_FALSE(r->before);
  EXPECT_FALSE(r->index);

  // §2.5 the last page: an empty <before/> is present, not absent.
  auto last = parse_request(
      xml("<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before/></set>"));
  ASSERT_TRUE(last) << last.error();
  ASSERT_TRUE(last->before.has_value());
  EXPECT_EQ(*last->before, "");

  // §2.6 the count only, §2.5 out of order.
  auto count = parse_request(
      xml("<set xmlns='http://jabber.org/protocol/rsm'><max>0</max><index>371</index></set>"));
  ASSERT_TRUE(count) << count.error();
  EXPECT_EQ(count->max, 0);
  EXPECT_EQ(count->index, 371);

  auto none = parse_request(xml("<set xmlns='http://jabber.org/protocol/rsm'/>"));
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, Request{});
}

TEST(RsmTest, RequestRoundTrip) {
  for (const Request& r :
       {Request{10, "a", std::nullopt, std::nullopt}, Request{5, std::nullopt, "", std::nullopt},
        Request{std::nullopt, std::nullopt, "b", 3}, Request{}}) {
    auto back = parse_request(to_element(r));
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(*back, r) << to_element(r).str();
  }
  // The empty <before/> survives serialization.
  EXPECT_NE(to_element(Request{1, std::nullopt, "", std::nullopt}).str().find("<before/>"),
            std::string::npos);
}

TEST(RsmTest, ResponseRoundTrip) {
  Response r{"first-uid", 20, "last-uid", 800};
  xml::Element e = to_element(r);
  ASSERT_TRUE(e.child("first"));
  EXPECT_EQ(e.child("first")->get("index"), "20");
  auto back = parse_response(e);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, r);
  // §2.1: an empty page has no first/last, only the count.
  Response empty{std::nullopt, std::nullopt, std::nullopt, 0};
  auto back2 = parse_response(to_element(empty));
  ASSERT_TRUE(back2);
  EXPECT_EQ(*back2, empty);
  EXPECT_EQ(to_element(empty).child("first"), nullptr);
}

TEST(RsmTest, RejectsMalformedSets) {
  const char* bad_requests[] = {
      "<set xmlns='urn:xmpp:rsm'/>",
      "<set xmlns='http://jabber.org/protocol/rsm'><max>-1</max></set>",
      "<set xmlns='http://jabber.org/protocol/rsm'><max>ten</max></set>",
      "<set xmlns='http://jabber.org/protocol/rsm'><max> 10</max></set>",
      "<set xmlns='http://jabber.org/protocol/rsm'><max>99999999999</max></set>",
      "<set xmlns='http://jabber.org/protocol/rsm'><max>1</max><max>2</max></set>",
      "<set xmlns='http://jabber.org/protocol/rsm'><after/></set>",
      "<set xmlns='http://jabber.org/protocol/rsm'><index>x</index></set>",
  };
  for (const char* text : bad_requests) EXPECT_FALSE(parse_request(xml(text))) << text;
  const char* bad_responses[] = {
      "<set xmlns='http://jabber.org/protocol/rsm'><first>a</first></set>",
      "<set xmlns='http://jabber.org/protocol/rsm'><first index='x'>a</first><last>b</last></set>",
      "<set xmlns='http://jabber.org/protocol/rsm'><count>-3</count></set>",
  };
  for (const char* text : bad_responses) EXPECT_FALSE(parse_response(xml(text))) << text;
}

}  // namespace
}  // namespace parley::xep::rsm
