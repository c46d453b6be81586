// XEP-0191 §6 JID matching (modules/blocking/blocklist.h): which stanza addresses an item of
// each kind blocks.
#include "modules/blocking/blocklist.h"

#include <gtest/gtest.h>

namespace parley::blocking {
namespace {

Jid jid(std::string_view s) {
  auto j = Jid::parse(s);
  EXPECT_TRUE(j) << s;
  return j.value_or(Jid());
}

bool blocks(std::string_view item, std::string_view address) {
  return matches(jid(item), jid(address));
}

TEST(BlockingMatch, FullJidMatchesOnlyThatResource) {
  EXPECT_TRUE(blocks("romeo@montague.example/orchard", "romeo@montague.example/orchard"));
  EXPECT_FALSE(blocks("romeo@montague.example/orchard", "romeo@montague.example/garden"));
  EXPECT_FALSE(blocks("romeo@montague.example/orchard", "romeo@montague.example"));
  EXPECT_FALSE(blocks("romeo@montague.example/orchard", "montague.example"));
}

TEST(BlockingMatch, BareJidMatchesEveryResource) {
  EXPECT_TRUE(blocks("romeo@montague.example", "romeo@montague.example"));
  EXPECT_TRUE(blocks("romeo@montague.example", "romeo@montague.example/orchard"));
  EXPECT_FALSE(blocks("romeo@montague.example", "benvolio@montague.example"));
  EXPECT_FALSE(blocks("romeo@montague.example", "montague.example"));
  EXPECT_FALSE(blocks("romeo@montague.example", "romeo@montague.example.org"));
  // A bare JID that is the prefix of another local part is not that local part.
  EXPECT_FALSE(blocks("rom@montague.example", "romeo@montague.example"));
}

TEST(BlockingMatch, DomainResourceMatchesOnlyItself) {
  EXPECT_TRUE(blocks("montague.example/bot", "montague.example/bot"));
  EXPECT_FALSE(blocks("montague.example/bot", "montague.example"));
  EXPECT_FALSE(blocks("montague.example/bot", "romeo@montague.example/bot"));
}

TEST(BlockingMatch, DomainMatchesEverythingAtItButNotSubdomains) {
  EXPECT_TRUE(blocks("montague.example", "montague.example"));
  EXPECT_TRUE(blocks("montague.example", "montague.example/bot"));
  EXPECT_TRUE(blocks("montague.example", "romeo@montague.example"));
  EXPECT_TRUE(blocks("montague.example", "romeo@montague.example/orchard"));
  EXPECT_FALSE(blocks("montague.example", "chat.montague.example"));
  EXPECT_FALSE(blocks("montague.example", "romeo@chat.montague.example"));
  EXPECT_FALSE(blocks("montague.example", "notmontague.example"));
  EXPECT_FALSE(blocks("chat.montague.example", "montague.example"));
}

TEST(BlockingMatch, ItemsAreComparedNormalized) {
  EXPECT_TRUE(blocks("ROMEO@Montague.Example", "romeo@montague.example/orchard"));
  EXPECT_TRUE(blocks("Montague.Example", "romeo@MONTAGUE.example"));
}

TEST(BlockingMatch, AnyItemOfTheList) {
  List list{jid("romeo@montague.example/orchard"), jid("capulet.example")};
  EXPECT_TRUE(any_match(list, jid("tybalt@capulet.example/sword")));
  EXPECT_TRUE(any_match(list, jid("romeo@montague.example/orchard")));
  EXPECT_FALSE(any_match(list, jid("romeo@montague.example/garden")));
  EXPECT_FALSE(any_match(ListPtr(), jid("tybalt@capulet.example")));
  EXPECT_FALSE(any_match(List{}, jid("tybalt@capulet.example")));
}

}  // namespace
}  // namespace parley::blocking
