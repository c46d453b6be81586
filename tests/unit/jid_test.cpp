// JID parsing and normalization vectors (RFC 7622, RFC 8265).
#include <gtest/gtest.h>

#include <atomic>

#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "jid/jid.h"

namespace parley {
namespace {

std::string norm(std::string_view s) {
  auto j = Jid::parse(s);
  return j ? j->str() : std::string("<invalid>");
}

TEST(JidTest, SplitsIntoParts) {
  auto j = Jid::parse("juliet@example.com/balcony");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->local(), "juliet");
  EXPECT_EQ(j->domain(), "example.com");
  EXPECT_EQ(j->resource(), "balcony");
  EXPECT_TRUE(j->has_local());
  EXPECT_TRUE(j->has_resource());
  EXPECT_FALSE(j->is_bare());
  EXPECT_EQ(j->bare_str(), "juliet@example.com");
  EXPECT_EQ(j->bare().str(), "juliet@example.com");
  EXPECT_TRUE(j->bare().is_bare());
  EXPECT_EQ(j->bare().with_resource("r2").str(), "juliet@example.com/r2");

  auto d = Jid::parse("example.com");
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->has_local());
  EXPECT_EQ(d->local(), "");
  EXPECT_EQ(d->domain(), "example.com");
  EXPECT_EQ(d->resource(), "");

  auto dr = Jid::parse("example.com/res");
  ASSERT_TRUE(dr);
  EXPECT_EQ(dr->domain(), "example.com");
  EXPECT_EQ(dr->resource(), "res");
  EXPECT_TRUE(Jid().empty());
}

TEST(JidTest, CaseFolding) {
  EXPECT_EQ(norm("ROMEO@Example.COM/Orchard"), "romeo@example.com/Orchard");
  // Fullwidth letters are width-mapped (RFC 8265 §3.3.2 rule 1) before lower-casing.
  EXPECT_EQ(norm("\xEF\xBC\xB2\xEF\xBC\xAF\xEF\xBC\xAD\xEF\xBC\xA5\xEF\xBC\xAF@example.com"),
            "romeo@example.com");
  // Non-ASCII case mapping: ÉLÈVE -> élève; Greek ΣΑΣ -> σασ.
  EXPECT_EQ(norm("\xC3\x89L\xC3\x88VE@example.com"), "\xC3\xA9l\xC3\xA8ve@example.com");
  // NFC: e + combining acute == é.
  EXPECT_EQ(norm("e\xCC\x81@example.com"), "\xC3\xA9@example.com");
  // Resourceparts keep case (OpaqueString) but are NFC-normalized and map non-ASCII spaces.
  EXPECT_EQ(norm("a@b.example/Caf\x65\xCC\x81\xC2\xA0X"), "a@b.example/Caf\xC3\xA9 X");
}

TEST(JidTest, InternationalizedDomains) {
  EXPECT_EQ(norm("user@xn--bcher-kva.example"),
            "user@b\xC3\xBC"
            "cher.example");
  EXPECT_EQ(norm("user@B\xC3\x9C"
                 "CHER.example"),
            "user@b\xC3\xBC"
            "cher.example");
  EXPECT_EQ(Jid::parse("user@xn--bcher-kva.example"), Jid::parse("user@b\xC3\xBC"
                                                                 "cher.example"));
  // A trailing dot (also an ideographic full stop) is removed (RFC 7622 §3.2).
  EXPECT_EQ(norm("user@example.com."), "user@example.com");
  EXPECT_EQ(norm("user@example\xE3\x80\x82"
                 "com\xE3\x80\x82"),
            "user@example.com");
  // Nontransitional processing keeps ß.
  EXPECT_EQ(norm("fa\xC3\x9F.example"), "fa\xC3\x9F.example");
}

TEST(JidTest, IpLiterals) {
  EXPECT_EQ(norm("user@192.0.2.1/r"), "user@192.0.2.1/r");
  EXPECT_EQ(norm("user@[2001:DB8::0:1]"), "user@[2001:db8::1]");
  EXPECT_EQ(norm("user@[not-an-ip]"), "<invalid>");
  EXPECT_EQ(norm("user@999.0.2.1"), "<invalid>");
}

TEST(JidTest, ResourceMayContainSeparators) {
  auto j = Jid::parse("a@b.example/c@d/e");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->local(), "a");
  EXPECT_EQ(j->domain(), "b.example");
  EXPECT_EQ(j->resource(), "c@d/e");
  // '@' after the first '/' belongs to the resource: this is a domain JID.
  auto k = Jid::parse("b.example/x@y");
  ASSERT_TRUE(k);
  EXPECT_FALSE(k->has_local());
  EXPECT_EQ(k->resource(), "x@y");
}

TEST(JidTest, InvalidJids) {
  std::string long_local(1024, 'a');
  std::string long_res(1024, 'r');
  std::vector<std::string> bad = {
      "",
      "@example.com",
      "user@",
      "user@/res",
      "example.com/",
      "user@example.com/",
      "a@b@c",
      "us er@example.com",
      "us\"er@example.com",
      "us&er@example.com",
      "us'er@example.com",
      "us:er@example.com",
      "us<er@example.com",
      "us>er@example.com",
      "\xEF\xBC\xA0x@example.com",  // fullwidth @ maps to '@'
      "user@exa mple.com",
      "user@example..com",
      "user@example.com..",
      "user@-example.com",
      "user@ex_ample.com",
      "user@xn--invalid-.com",
      "user@" + std::string(64, 'l') + ".com",
      long_local + "@example.com",
      "a@example.com/" + long_res,
      "\x01user@example.com",
      "user@example.com/res\x01",
      "user@example.com/\xC3\x28",     // invalid UTF-8
      "u\xE2\x80\x8Bser@example.com",  // zero-width space (ignorable)
      "user\xE2\x98\x83@example.com",  // symbol (snowman) not in IdentifierClass
      "user@example.com/a\xE2\x80\x8D"
      "b",  // ZWJ (ignorable) in a resource
      "\xD7\x90"
      "a@example.com",  // Bidi: RTL first, then LTR letter
  };
  for (const std::string& s : bad) EXPECT_FALSE(Jid::parse(s)) << s;
}

TEST(JidTest, ValidEdgeCases) {
  EXPECT_EQ(norm(std::string(1023, 'a') + "@example.com"), std::string(1023, 'a') + "@example.com");
  EXPECT_EQ(norm("user@example.com/ spaced out "), "user@example.com/ spaced out ");
  EXPECT_EQ(norm("user@example.com/\xE2\x98\x83"), "user@example.com/\xE2\x98\x83");  // symbols ok
  EXPECT_EQ(norm("\xD7\x90\xD7\x91@example.com"), "\xD7\x90\xD7\x91@example.com");    // Hebrew
  EXPECT_EQ(norm("!#$%*+=?^_`{|}~@localhost"), "!#$%*+=?^_`{|}~@localhost");
}

TEST(JidTest, FromPartsAndPrep) {
  auto j = Jid::from_parts("Juliet", "EXAMPLE.com", "Balcony");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->str(), "juliet@example.com/Balcony");
  EXPECT_FALSE(Jid::from_parts("a", ""));
  EXPECT_FALSE(Jid::from_parts("a@b", "example.com"));
  EXPECT_EQ(Jid::prep_local("ROMEO"), "romeo");
  EXPECT_EQ(Jid::prep_domain("Example.COM."), "example.com");
  EXPECT_EQ(Jid::prep_resource("Orchard"), "Orchard");
  EXPECT_FALSE(Jid::prep_resource(""));
  EXPECT_FALSE(Jid::prep_local(""));
}

TEST(JidTest, HashAndOrder) {
  std::unordered_set<Jid> set;
  set.insert(*Jid::parse("A@example.com"));
  EXPECT_EQ(set.count(*Jid::parse("a@EXAMPLE.com")), 1u);
  EXPECT_LT(*Jid::parse("a@example.com"), *Jid::parse("b@example.com"));
}

TEST(JidTest, CacheGivesSameAnswersAcrossThreads) {
  // Many threads normalize overlapping non-ASCII inputs (the cached path) at once, and more
  // distinct inputs than the cache holds so it is cleared along the way.
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 6000; ++i) {
        std::string local = "\xC3\x89l\xC3\xA8ve" + std::to_string((i * 7 + t) % 5000);
        auto j = Jid::parse(local +
                            "@B\xC3\x9C"
                            "CHER.example/R\xC3\xA9s");
        std::string want = "\xC3\xA9l\xC3\xA8ve" + std::to_string((i * 7 + t) % 5000) +
                           "@b\xC3\xBC"
                           "cher.example/R\xC3\xA9s";
        if (!j || j->str() != want) ++mismatches;
        if (Jid::parse(local + "\xE2\x98\x83@example.com")) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace parley
