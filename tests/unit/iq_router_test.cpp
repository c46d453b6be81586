// IqRouter matching by (namespace, name, type, scope) and the scope semantics: Self handlers
// serve only the sender's own account; Account handlers serve any account, one's own included.
#include "router/iq.h"

#include <gtest/gtest.h>

#include "core/server.h"

namespace parley {
namespace {

Config config() {
  Config c;
  VirtualHost h;
  h.domain = "example.com";
  c.hosts.push_back(h);
  return c;
}

class IqRouterTest : public ::testing::Test {
 protected:
  IqRequest request(std::string_view type, std::string_view ns, std::string_view name = "query") {
    auto iq = std::make_shared<xml::Element>("iq", "jabber:client");
    iq->set("type", type);
    iq->set("id", "1");
    iq->set("from", "romeo@example.com/orchard");
    iq->add(std::string(name), std::string(ns));
    return IqRequest(server, iq, *Jid::parse("romeo@example.com/orchard"),
                     *Jid::parse("romeo@example.com"), nullptr);
  }
  Registration add(std::string ns, IqType type, IqScope scope, std::string tag,
                   std::string name = "query") {
    return router.add(std::move(ns), std::move(name), type, scope,
                      [this, tag](const IqRequest&) { calls.push_back(tag); });
  }

  Server server{config()};
  IqRouter router;
  std::vector<std::string> calls;
};

TEST_F(IqRouterTest, MatchesNamespaceNameAndType) {
  auto a = add("urn:a", IqType::Get, IqScope::Host, "a-get");
  auto b = add("urn:a", IqType::Set, IqScope::Host, "a-set");
  auto c = add("urn:a", IqType::Get, IqScope::Host, "a-other", "other");
  EXPECT_TRUE(router.dispatch(request("get", "urn:a"), IqScope::Host));
  EXPECT_TRUE(router.dispatch(request("set", "urn:a"), IqScope::Host));
  EXPECT_TRUE(router.dispatch(request("get", "urn:a", "other"), IqScope::Host));
  EXPECT_FALSE(router.dispatch(request("get", "urn:b"), IqScope::Host));
  EXPECT_FALSE(router.dispatch(request("get", "urn:a", "unknown"), IqScope::Host));
  EXPECT_EQ(calls, (std::vector<std::string>{"a-get", "a-set", "a-other"}));
}

TEST_F(IqRouterTest, ScopesDoNotLeak) {
  auto h = add("urn:h", IqType::Get, IqScope::Host, "host");
  auto s = add("urn:s", IqType::Get, IqScope::Self, "self");
  EXPECT_FALSE(router.dispatch(request("get", "urn:h"), IqScope::Account));
  EXPECT_FALSE(router.dispatch(request("get", "urn:h"), IqScope::Self));
  // A Self handler never serves another account's request.
  EXPECT_FALSE(router.dispatch(request("get", "urn:s"), IqScope::Account));
  EXPECT_FALSE(router.dispatch(request("get", "urn:s"), IqScope::Host));
  EXPECT_TRUE(router.dispatch(request("get", "urn:s"), IqScope::Self));
  EXPECT_EQ(calls, (std::vector<std::string>{"self"}));
}

TEST_F(IqRouterTest, AccountHandlersAlsoServeOnesOwnAccount) {
  auto a = add("urn:vcard", IqType::Get, IqScope::Account, "account");
  EXPECT_TRUE(router.dispatch(request("get", "urn:vcard"), IqScope::Account));
  EXPECT_TRUE(router.dispatch(request("get", "urn:vcard"), IqScope::Self));
  EXPECT_EQ(calls, (std::vector<std::string>{"account", "account"}));
}

TEST_F(IqRouterTest, SelfHandlerWinsOverAccountHandlerForOnesOwnAccount) {
  auto a = add("urn:x", IqType::Get, IqScope::Account, "account");
  auto s = add("urn:x", IqType::Get, IqScope::Self, "self");
  EXPECT_TRUE(router.dispatch(request("get", "urn:x"), IqScope::Self));
  EXPECT_TRUE(router.dispatch(request("get", "urn:x"), IqScope::Account));
  EXPECT_EQ(calls, (std::vector<std::string>{"self", "account"}));
}

TEST_F(IqRouterTest, RegistrationRemovesTheHandler) {
  {
    auto r = add("urn:gone", IqType::Get, IqScope::Host, "gone");
    EXPECT_TRUE(router.dispatch(request("get", "urn:gone"), IqScope::Host));
  }
  EXPECT_FALSE(router.dispatch(request("get", "urn:gone"), IqScope::Host));
  EXPECT_TRUE(router.namespaces(IqScope::Host).empty());
}

TEST_F(IqRouterTest, NamespacesPerScope) {
  auto h = add("urn:h", IqType::Get, IqScope::Host, "");
  auto h2 = add("urn:h", IqType::Set, IqScope::Host, "");
  auto a = add("urn:a", IqType::Get, IqScope::Account, "");
  auto s = add("jabber:iq:roster", IqType::Get, IqScope::Self, "");
  EXPECT_EQ(router.namespaces(IqScope::Host), (std::vector<std::string>{"urn:h"}));
  EXPECT_EQ(router.namespaces(IqScope::Account),
            (std::vector<std::string>{"jabber:iq:roster", "urn:a"}));
}

}  // namespace
}  // namespace parley
