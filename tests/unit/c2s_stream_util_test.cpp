#include "c2s/stream_util.h"

#include <gtest/gtest.h>

#include <set>

using namespace parley;

TEST(C2sStreamUtil, VersionMustBeAtLeastOne) {
  EXPECT_TRUE(c2s::version_supported("1.0"));
  EXPECT_TRUE(c2s::version_supported("1.1"));
  EXPECT_TRUE(c2s::version_supported("2.0"));
  EXPECT_TRUE(c2s::version_supported("1.10"));
  EXPECT_FALSE(c2s::version_supported("0.9"));
  EXPECT_FALSE(c2s::version_supported(""));  // absent = 0.9 (RFC 6120 §4.7.5)
  EXPECT_FALSE(c2s::version_supported("1"));
  EXPECT_FALSE(c2s::version_supported("one.zero"));
  EXPECT_FALSE(c2s::version_supported("1.0x"));
  EXPECT_FALSE(c2s::version_supported("-1.0"));
}

TEST(C2sStreamUtil, RandomIdsAreHexAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = c2s::random_id(8);
    ASSERT_EQ(id.size(), 16u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(C2sStreamUtil, HeaderEscapesAndCarriesAttributes) {
  auto h = c2s::stream_header("example.com", "juliet@example.com/a'b", "abc", "");
  EXPECT_NE(h.find("from='example.com'"), std::string::npos);
  EXPECT_NE(h.find("to='juliet@example.com/a&apos;b'"), std::string::npos);
  EXPECT_NE(h.find("version='1.0'"), std::string::npos);
  EXPECT_NE(h.find("xml:lang='en'"), std::string::npos);
  EXPECT_NE(h.find("xmlns='jabber:client'"), std::string::npos);
  EXPECT_EQ(h.find("</stream:stream>"), std::string::npos);
  EXPECT_EQ(c2s::stream_header("", "", "x", "de").find("from="), std::string::npos);
}

TEST(C2sStreamUtil, StreamErrorShape) {
  EXPECT_EQ(c2s::stream_error("host-unknown", ""),
            "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            "</stream:error>");
  auto e = c2s::stream_error("policy-violation", "a<b");
  EXPECT_NE(e.find("<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>a&lt;b</text>"),
            std::string::npos);
}

TEST(C2sStreamUtil, SaslDecoding) {
  EXPECT_EQ(c2s::decode_sasl("="), std::string());
  EXPECT_EQ(c2s::decode_sasl(""), std::string());
  EXPECT_EQ(c2s::decode_sasl("AGp1bGlldAByMG0zMG15cjBtMzA="),
            std::string("\0juliet\0r0m30myr0m30", 20));
  EXPECT_EQ(c2s::decode_sasl("\n  Zm9v \n"), std::string("foo"));
  EXPECT_FALSE(c2s::decode_sasl("Zm9v!"));
  EXPECT_FALSE(c2s::decode_sasl("Zm 9v"));
}

TEST(C2sStreamUtil, SaslFailure) {
  EXPECT_EQ(c2s::sasl_failure("aborted"),
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><aborted/></failure>");
  EXPECT_EQ(c2s::sasl_failure("not-authorized", "Too many"),
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/>"
            "<text>Too many</text></failure>");
}

TEST(C2sStreamUtil, IqRules) {
  xml::Element ok("iq", "jabber:client");
  ok.set("id", "1").set("type", "get");
  ok.add("query", "jabber:iq:roster");
  EXPECT_EQ(c2s::check_iq(ok), "");

  xml::Element no_id = ok;
  no_id.remove("id");
  EXPECT_NE(c2s::check_iq(no_id), "");

  xml::Element bad_type = ok;
  bad_type.set("type", "fetch");
  EXPECT_NE(c2s::check_iq(bad_type), "");

  xml::Element empty("iq", "jabber:client");
  empty.set("id", "2").set("type", "set");
  EXPECT_NE(c2s::check_iq(empty), "");

  xml::Element two = ok;
  two.add("ping", "urn:xmpp:ping");
  EXPECT_NE(c2s::check_iq(two), "");

  xml::Element result("iq", "jabber:client");
  result.set("id", "3").set("type", "result");
  EXPECT_EQ(c2s::check_iq(result), "");  // results may be empty
}
