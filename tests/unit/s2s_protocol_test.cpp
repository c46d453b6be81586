// The pure parts of server-to-server streams: XEP-0185 dialback keys, dialback elements
// (XEP-0220), addressing checks (RFC 6120 §4.9.3) and the stanza namespace on the way in.
#include <gtest/gtest.h>

#include <memory>

#include "s2s/protocol.h"
#include "xep/stored_element.h"

namespace parley::s2s {
namespace {

TEST(S2sProtocol, DialbackKeyMatchesTheXepVector) {
  // XEP-0185 §3's example: receiving xmpp.example.com, originating example.org.
  EXPECT_EQ(dialback_key("s3cr3tf0rd14lb4ck", "xmpp.example.com", "example.org", "D60000229F"),
            "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643");
}

TEST(S2sProtocol, DialbackKeyBindsEveryInput) {
  std::string base = dialback_key("secret", "recv.test", "orig.test", "id1");
  EXPECT_NE(dialback_key("other", "recv.test", "orig.test", "id1"), base);
  EXPECT_NE(dialback_key("secret", "orig.test", "recv.test", "id1"), base);  // order matters
  EXPECT_NE(dialback_key("secret", "recv.test", "orig.test", "id2"), base);
  EXPECT_TRUE(keys_equal(base, dialback_key("secret", "recv.test", "orig.test", "id1")));
  EXPECT_FALSE(keys_equal(base, base.substr(1)));
}

std::unique_ptr<xml::Element> parse(const std::string& text) {
  auto e = xep::load_element(text);
  EXPECT_TRUE(e) << text;
  return e;
}

TEST(S2sProtocol, ParsesDialbackElements) {
  auto r =
      parse("<result xmlns='jabber:server:dialback' from='Orig.Test' to='recv.test'>k3y</result>");
  ASSERT_TRUE(r);
  auto p = parse_dialback(*r);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.value.kind, DialbackElement::Kind::Result);
  EXPECT_EQ(p.value.from, "orig.test");  // normalized
  EXPECT_EQ(p.value.key, "k3y");
  EXPECT_TRUE(p.value.type.empty());

  auto v = parse(
      "<verify xmlns='jabber:server:dialback' from='a.test' to='b.test' id='s1' "
      "type='valid'/>");
  ASSERT_TRUE(v);
  auto pv = parse_dialback(*v);
  ASSERT_TRUE(pv.ok);
  EXPECT_EQ(pv.value.kind, DialbackElement::Kind::Verify);
  EXPECT_EQ(pv.value.type, "valid");
  EXPECT_EQ(pv.value.id, "s1");

  // A verify without the stream id, a JID with a localpart, a missing 'to', another namespace.
  for (const char* bad :
       {"<verify xmlns='jabber:server:dialback' from='a.test' to='b.test'>k</verify>",
        "<result xmlns='jabber:server:dialback' from='u@a.test' to='b.test'>k</result>",
        "<result xmlns='jabber:server:dialback' from='a.test'>k</result>",
        "<result xmlns='jabber:server' from='a.test' to='b.test'>k</result>"}) {
    auto e = parse(bad);
    ASSERT_TRUE(e);
    EXPECT_FALSE(parse_dialback(*e).ok) << bad;
  }
}

TEST(S2sProtocol, WritesDialbackElements) {
  DialbackElement d{DialbackElement::Kind::Result, "a.test", "b.test", {}, "valid", {}};
  EXPECT_EQ(dialback_element(d), "<db:result from='a.test' to='b.test' type='valid'/>");
  DialbackElement v{DialbackElement::Kind::Verify, "a.test", "b.test", "x'1", {}, "k<"};
  EXPECT_EQ(dialback_element(v),
            "<db:verify from='a.test' to='b.test' id='x&apos;1'>k&lt;</db:verify>");
  EXPECT_EQ(dialback_error(d, "item-not-found"),
            "<db:result from='a.test' to='b.test' type='error'><error type='cancel'>"
            "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></db:result>");
}

TEST(S2sProtocol, AddressingChecks) {
  auto auth = [](std::string_view d) { return d == "remote.test"; };
  auto ours = [](std::string_view d) { return d == "local.test" || d == "groups.local.test"; };
  auto check = [&](const std::string& xml) {
    auto e = parse(xml);
    return e ? std::string(check_addressing(*e, auth, ours)) : std::string("?");
  };
  EXPECT_EQ(check("<message xmlns='jabber:server' from='u@remote.test/r' to='v@local.test'/>"), "");
  EXPECT_EQ(
      check("<presence xmlns='jabber:server' from='u@remote.test' to='r@groups.local.test/n'/>"),
      "");
  EXPECT_EQ(check("<message xmlns='jabber:server' from='u@other.test' to='v@local.test'/>"),
            "invalid-from");
  EXPECT_EQ(check("<message xmlns='jabber:server' from='u@sub.remote.test' to='v@local.test'/>"),
            "invalid-from");  // a subdomain authenticates on its own
  EXPECT_EQ(check("<message xmlns='jabber:server' from='u@remote.test' to='v@elsewhere.test'/>"),
            "host-unknown");
  EXPECT_EQ(check("<message xmlns='jabber:server' to='v@local.test'/>"), "improper-addressing");
  EXPECT_EQ(check("<message xmlns='jabber:server' from='u@remote.test'/>"), "improper-addressing");
  EXPECT_EQ(check("<message xmlns='jabber:server' from='@@' to='v@local.test'/>"),
            "improper-addressing");
}

TEST(S2sProtocol, StanzasMoveToTheClientNamespace) {
  auto e = parse(
      "<message xmlns='jabber:server' from='a@b' to='c@d'><body>hi</body>"
      "<x xmlns='urn:other'><y/></x></message>");
  ASSERT_TRUE(e);
  to_client_namespace(*e);
  EXPECT_EQ(e->xmlns(), "jabber:client");
  EXPECT_EQ(e->str("jabber:client"),
            "<message from=\"a@b\" to=\"c@d\"><body>hi</body><x xmlns=\"urn:other\"><y/></x>"
            "</message>");
}

TEST(S2sProtocol, StreamHeader) {
  EXPECT_EQ(stream_header("a.test", "b.test", ""),
            "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
            "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
            "from='a.test' to='b.test' version='1.0'>");
  EXPECT_NE(stream_header("a.test", "", "id1").find("id='id1'"), std::string::npos);
  EXPECT_EQ(stream_header("a.test", "", "id1").find("to="), std::string::npos);
}

}  // namespace
}  // namespace parley::s2s
