// Storage contract for the muc module's room store (XEP-0045 persistent rooms), on SQLite and,
// when PARLEY_TEST_POSTGRESQL is set, PostgreSQL. The store is compiled into the muc module, so
// the test builds its source directly.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "../../modules/muc/room_store.cpp"  // NOLINT(bugprone-suspicious-include)
#include "test_database.h"

namespace parley::muc {
namespace {

using storage::DatabaseError;
using storage::testing::jid;

}  // namespace

// Readable failures (found by ADL from gtest's printer).
void PrintTo(const AffiliationEntry& e, std::ostream* os) {
  *os << "{" << e.jid.str() << ", " << to_text(e.affiliation) << ", nick \"" << e.nick
      << "\", reason \"" << e.reason << "\"}";
}
void PrintTo(const StoredRoom& r, std::ostream* os) {
  *os << "{" << r.jid.str() << ", name \"" << r.name << "\", public " << r.is_public
      << ", config \"" << r.config << "\", subject \"" << r.subject << "\" by \"" << r.subject_by
      << "\", created " << r.created_at << ", " << r.affiliations.size() << " affiliations}";
}

namespace {

class RoomStoreContract : public storage::testing::BackendTest {
 protected:
  static StoredRoom room(const Jid& j, std::string name, bool is_public) {
    StoredRoom r;
    r.jid = j;
    r.name = std::move(name);
    r.is_public = is_public;
    r.config = "{}";
    r.created_at = 1000;
    return r;
  }
  static AffiliationEntry entry(const Jid& j, Affiliation a, std::string nick = {},
                                std::string reason = {}) {
    return {j, a, std::move(nick), std::move(reason)};
  }
  static std::vector<std::string> jids(const std::vector<RoomListing>& page) {
    std::vector<std::string> out;
    for (const auto& l : page) out.push_back(l.jid.str());
    return out;
  }
  using Names = std::vector<std::string>;

  const Jid lounge_ = jid("lounge@conference.example.org");
  const Jid garden_ = jid("garden@conference.example.org");
  const Jid other_lounge_ = jid("lounge@chat.example.net");
  const Jid alice_ = jid("alice@example.org");
  const Jid bob_ = jid("bob@example.org");
  const Jid carol_ = jid("carol@example.net");
  const Jid spam_server_ = jid("spam.example");
};

PARLEY_BACKENDS(RoomStoreContract);

TEST_P(RoomStoreContract, MissingRoomIsNotThere) {
  RoomStore s(*c_);
  EXPECT_EQ(s.load(lounge_), std::nullopt);
  EXPECT_FALSE(s.exists(lounge_));
  EXPECT_TRUE(s.affiliations(lounge_).empty());
  EXPECT_EQ(s.count("conference.example.org"), 0);
  EXPECT_TRUE(s.public_rooms("conference.example.org", 10).empty());
}

TEST_P(RoomStoreContract, SaveThenLoadRoundTripsEveryField) {
  RoomStore s(*c_);
  StoredRoom r;
  r.jid = lounge_;
  r.name = "Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x8e\x89 lounge";  // é, ☕, 🎉
  r.is_public = true;
  // Quotes, XML, newlines, a backslash and what looks like placeholders must reach the row as
  // they are.
  r.config =
      "<x xmlns='jabber:x:data' type=\"submit\"><field var='muc#roomconfig_roomdesc'>"
      "<value>it's \"quoted\" &amp; ? $1 \\n</value></field></x>\n\t-- not SQL';";
  r.subject = "Today: \xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 <b>&</b>";
  r.subject_by = "Ren\u00e9e";
  r.created_at = 1'700'000'000'123;  // beyond 32 bits
  s.save(r);

  auto got = s.load(lounge_);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->jid, lounge_);
  EXPECT_EQ(got->name, r.name);
  EXPECT_TRUE(got->is_public);
  EXPECT_EQ(got->config, r.config);
  EXPECT_EQ(got->subject, r.subject);
  EXPECT_EQ(got->subject_by, r.subject_by);
  EXPECT_EQ(got->created_at, 1'700'000'000'123);
  EXPECT_TRUE(got->affiliations.empty());
  EXPECT_EQ(*got, r);
  EXPECT_TRUE(s.exists(lounge_));
  EXPECT_FALSE(s.exists(garden_));

  // Empty strings and false stay empty and false (not NULL, not defaults of another kind).
  StoredRoom bare = room(garden_, "", false);
  bare.config = "";
  bare.created_at = 0;
  s.save(bare);
  EXPECT_EQ(s.load(garden_), std::optional<StoredRoom>(bare));
}

TEST_P(RoomStoreContract, LoadGivesTheBareRoomJid) {
  RoomStore s(*c_);
  s.save(room(lounge_, "Lounge", true));
  auto got = s.load(jid("lounge@conference.example.org/nick"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->jid, lounge_);
}

TEST_P(RoomStoreContract, SaveAgainUpdatesEveryFieldAndKeepsAffiliations) {
  RoomStore s(*c_);
  StoredRoom r = room(lounge_, "Lounge", true);
  r.subject = "old";
  r.subject_by = "someone";
  s.save(r);
  ASSERT_TRUE(s.set_affiliation(lounge_, entry(alice_, Affiliation::Owner)));

  StoredRoom changed;
  changed.jid = lounge_;
  changed.name = "The Lounge";
  changed.is_public = false;
  changed.config = "<config v='2'/>";
  changed.subject = "new \xe2\x9c\x93";
  changed.subject_by = "lounge@conference.example.org";
  changed.created_at = 2000;
  s.save(changed);

  auto got = s.load(lounge_);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, "The Lounge");
  EXPECT_FALSE(got->is_public);
  EXPECT_EQ(got->config, "<config v='2'/>");
  EXPECT_EQ(got->subject, "new \xe2\x9c\x93");
  EXPECT_EQ(got->subject_by, "lounge@conference.example.org");
  EXPECT_EQ(got->created_at, 2000);
  // save() writes the room row only: the affiliations are untouched.
  EXPECT_EQ(got->affiliations, std::vector{entry(alice_, Affiliation::Owner)});
  EXPECT_EQ(s.count("conference.example.org"), 1);  // updated, not added

  // And back to public: the listing follows the row.
  EXPECT_TRUE(s.public_rooms("conference.example.org", 10).empty());
  changed.is_public = true;
  s.save(changed);
  EXPECT_EQ(jids(s.public_rooms("conference.example.org", 10)),
            Names{"lounge@conference.example.org"});
}

TEST_P(RoomStoreContract, SetAffiliationAddsChangesAndRemoves) {
  RoomStore s(*c_);
  s.save(room(lounge_, "Lounge", false));

  EXPECT_TRUE(s.set_affiliation(lounge_, entry(bob_, Affiliation::Member, "bobby", "invited")));
  EXPECT_EQ(s.affiliations(lounge_),
            std::vector{entry(bob_, Affiliation::Member, "bobby", "invited")});
  // The same entry again changes nothing.
  EXPECT_FALSE(s.set_affiliation(lounge_, entry(bob_, Affiliation::Member, "bobby", "invited")));

  // Each of affiliation, nick and reason is a change on its own.
  EXPECT_TRUE(s.set_affiliation(lounge_, entry(bob_, Affiliation::Admin, "bobby", "invited")));
  EXPECT_EQ(s.affiliations(lounge_),
            std::vector{entry(bob_, Affiliation::Admin, "bobby", "invited")});
  EXPECT_TRUE(s.set_affiliation(lounge_, entry(bob_, Affiliation::Admin, "rob", "invited")));
  EXPECT_TRUE(s.set_affiliation(lounge_, entry(bob_, Affiliation::Admin, "rob", "promoted")));
  EXPECT_EQ(s.affiliations(lounge_),
            std::vector{entry(bob_, Affiliation::Admin, "rob", "promoted")});
  EXPECT_FALSE(s.set_affiliation(lounge_, entry(bob_, Affiliation::Admin, "rob", "promoted")));

  // Every stored value round-trips.
  for (Affiliation a : {Affiliation::Owner, Affiliation::Outcast, Affiliation::Member}) {
    EXPECT_TRUE(s.set_affiliation(lounge_, entry(bob_, a, "rob", "promoted")));
    ASSERT_EQ(s.affiliations(lounge_).size(), 1u);
    EXPECT_EQ(s.affiliations(lounge_)[0].affiliation, a);
  }

  // None removes the row; removing what is not there changes nothing.
  EXPECT_TRUE(s.set_affiliation(lounge_, entry(bob_, Affiliation::None)));
  EXPECT_TRUE(s.affiliations(lounge_).empty());
  EXPECT_FALSE(s.set_affiliation(lounge_, entry(bob_, Affiliation::None)));
  EXPECT_FALSE(s.set_affiliation(lounge_, entry(alice_, Affiliation::None)));
  EXPECT_TRUE(s.exists(lounge_));  // the room stays
}

TEST_P(RoomStoreContract, AffiliationsAreListedPerRoomByJid) {
  RoomStore s(*c_);
  s.save(room(lounge_, "Lounge", true));
  s.save(room(garden_, "Garden", true));
  ASSERT_TRUE(s.set_affiliation(lounge_, entry(carol_, Affiliation::Member, "c\xc3\xa1rol")));
  ASSERT_TRUE(s.set_affiliation(lounge_, entry(alice_, Affiliation::Owner)));
  ASSERT_TRUE(
      s.set_affiliation(lounge_, entry(spam_server_, Affiliation::Outcast, "", "spam \"bot\"")));
  // A full JID is affiliated by its bare JID (XEP-0045 §5.2).
  ASSERT_TRUE(s.set_affiliation(lounge_, entry(jid("bob@example.org/phone"), Affiliation::Admin)));
  ASSERT_TRUE(s.set_affiliation(garden_, entry(bob_, Affiliation::Owner)));

  const std::vector<AffiliationEntry> want{
      entry(alice_, Affiliation::Owner),
      entry(bob_, Affiliation::Admin),
      entry(carol_, Affiliation::Member, "c\xc3\xa1rol"),
      entry(spam_server_, Affiliation::Outcast, "", "spam \"bot\""),
  };
  EXPECT_EQ(s.affiliations(lounge_), want);
  EXPECT_EQ(s.affiliations(garden_), std::vector{entry(bob_, Affiliation::Owner)});

  // load() brings them along.
  auto got = s.load(lounge_);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->affiliations, want);
  // Removing bob's full JID removes the bare JID's row.
  EXPECT_TRUE(s.set_affiliation(lounge_, entry(jid("bob@example.org/laptop"), Affiliation::None)));
  EXPECT_EQ(s.affiliations(lounge_).size(), 3u);
}

TEST_P(RoomStoreContract, RemoveDeletesTheRoomAndItsAffiliations) {
  RoomStore s(*c_);
  s.save(room(lounge_, "Lounge", true));
  s.save(room(garden_, "Garden", true));
  ASSERT_TRUE(s.set_affiliation(lounge_, entry(alice_, Affiliation::Owner)));
  ASSERT_TRUE(s.set_affiliation(lounge_, entry(bob_, Affiliation::Member)));
  ASSERT_TRUE(s.set_affiliation(garden_, entry(alice_, Affiliation::Owner)));

  EXPECT_TRUE(s.remove(lounge_));
  EXPECT_EQ(s.load(lounge_), std::nullopt);
  EXPECT_FALSE(s.exists(lounge_));
  EXPECT_TRUE(s.affiliations(lounge_).empty());
  EXPECT_EQ(
      c_->query("SELECT COUNT(*) FROM muc_affiliations WHERE room = ?", {std::string("lounge")})
          .at(0)
          .integer(0),
      0);
  EXPECT_FALSE(s.remove(lounge_));
  EXPECT_FALSE(s.remove(jid("never@conference.example.org")));

  // The other room is untouched.
  EXPECT_TRUE(s.exists(garden_));
  EXPECT_EQ(s.affiliations(garden_), std::vector{entry(alice_, Affiliation::Owner)});
  EXPECT_EQ(s.count("conference.example.org"), 1);
  EXPECT_EQ(jids(s.public_rooms("conference.example.org", 10)),
            Names{"garden@conference.example.org"});

  // A room created again under the same JID starts without the old affiliations.
  s.save(room(lounge_, "Lounge again", false));
  auto again = s.load(lounge_);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->name, "Lounge again");
  EXPECT_TRUE(again->affiliations.empty());
}

TEST_P(RoomStoreContract, PublicRoomsListsOnlyPublicRoomsOfTheServiceInOrder) {
  RoomStore s(*c_);
  s.save(room(jid("zebra@conference.example.org"), "Zebras", true));
  s.save(room(jid("secret@conference.example.org"), "Secret", false));
  s.save(room(jid("apple@conference.example.org"), "Apples \xc3\xa0 la carte", true));
  s.save(room(jid("mango@conference.example.org"), "", true));
  s.save(room(jid("apple@chat.example.net"), "Elsewhere", true));

  auto page = s.public_rooms("conference.example.org", 10);
  EXPECT_EQ(jids(page), (Names{"apple@conference.example.org", "mango@conference.example.org",
                               "zebra@conference.example.org"}));
  ASSERT_EQ(page.size(), 3u);
  EXPECT_EQ(page[0].name, "Apples \xc3\xa0 la carte");
  EXPECT_EQ(page[1].name, "");
  EXPECT_EQ(page[2].name, "Zebras");
  EXPECT_EQ(jids(s.public_rooms("chat.example.net", 10)), Names{"apple@chat.example.net"});
  EXPECT_TRUE(s.public_rooms("example.org", 10).empty());
}

TEST_P(RoomStoreContract, PublicRoomsPagesWithLimitAndAfter) {
  RoomStore s(*c_);
  for (const char* name : {"e", "b", "d", "a", "c"})
    s.save(room(jid(std::string(name) + "@conference.example.org"), name, true));
  s.save(room(jid("bb@conference.example.org"), "private", false));
  const std::string service = "conference.example.org";

  EXPECT_EQ(jids(s.public_rooms(service, 2)),
            (Names{"a@conference.example.org", "b@conference.example.org"}));
  EXPECT_EQ(jids(s.public_rooms(service, 2, "b@conference.example.org")),
            (Names{"c@conference.example.org", "d@conference.example.org"}));
  EXPECT_EQ(jids(s.public_rooms(service, 2, "d@conference.example.org")),
            Names{"e@conference.example.org"});
  EXPECT_TRUE(s.public_rooms(service, 2, "e@conference.example.org").empty());
  // A cursor need not be listed itself: the page starts after it in the same order.
  EXPECT_EQ(jids(s.public_rooms(service, 1, "bb@conference.example.org")),
            Names{"c@conference.example.org"});
  EXPECT_TRUE(s.public_rooms(service, 0).empty());
  EXPECT_TRUE(s.public_rooms(service, -1).empty());
  // What is no room JID names no item, so nothing follows it.
  EXPECT_TRUE(s.public_rooms(service, 10, "not a jid@").empty());
  EXPECT_TRUE(s.public_rooms(service, 10, "conference.example.org").empty());

  // Walking the pages visits every public room once, in order.
  Names all;
  std::string after;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = s.public_rooms(service, 2, after);
    if (page.empty()) break;
    for (const auto& l : page) all.push_back(l.jid.str());
    after = page.back().jid.str();
  }
  EXPECT_EQ(all, (Names{"a@conference.example.org", "b@conference.example.org",
                        "c@conference.example.org", "d@conference.example.org",
                        "e@conference.example.org"}));
}

TEST_P(RoomStoreContract, PagingIsByLocalpartWhenOneIsAPrefixOfAnother) {
  // By localpart "room" < "room-a" < "room1", though as JID strings "room-a@s" and "room1@s"
  // sort before "room@s" ('-' and '1' are below '@'). Either order pages correctly as long as
  // the cursor compares the same way; the store uses the localpart order of its index.
  RoomStore s(*c_);
  for (const char* name : {"room1", "room", "room-a"})
    s.save(room(jid(std::string(name) + "@conference.example.org"), name, true));
  const std::string service = "conference.example.org";
  EXPECT_EQ(jids(s.public_rooms(service, 10)),
            (Names{"room@conference.example.org", "room-a@conference.example.org",
                   "room1@conference.example.org"}));
  EXPECT_EQ(jids(s.public_rooms(service, 1, "room@conference.example.org")),
            Names{"room-a@conference.example.org"});
  EXPECT_EQ(jids(s.public_rooms(service, 5, "room-a@conference.example.org")),
            Names{"room1@conference.example.org"});
}

TEST_P(RoomStoreContract, CountIsPerServiceAndCountsPrivateRooms) {
  RoomStore s(*c_);
  s.save(room(lounge_, "Lounge", true));
  s.save(room(garden_, "Garden", false));
  s.save(room(other_lounge_, "Other", true));
  EXPECT_EQ(s.count("conference.example.org"), 2);
  EXPECT_EQ(s.count("chat.example.net"), 1);
  EXPECT_EQ(s.count("example.org"), 0);
  ASSERT_TRUE(s.remove(garden_));
  EXPECT_EQ(s.count("conference.example.org"), 1);
}

TEST_P(RoomStoreContract, SameLocalpartOnTwoServicesStaysSeparate) {
  RoomStore s(*c_);
  StoredRoom here = room(lounge_, "Here", true);
  here.subject = "here";
  StoredRoom there = room(other_lounge_, "There", false);
  there.subject = "there";
  s.save(here);
  s.save(there);
  ASSERT_TRUE(s.set_affiliation(lounge_, entry(alice_, Affiliation::Owner)));
  ASSERT_TRUE(s.set_affiliation(other_lounge_, entry(alice_, Affiliation::Outcast)));
  ASSERT_TRUE(s.set_affiliation(other_lounge_, entry(carol_, Affiliation::Owner)));

  auto a = s.load(lounge_);
  auto b = s.load(other_lounge_);
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(a->name, "Here");
  EXPECT_EQ(a->subject, "here");
  EXPECT_TRUE(a->is_public);
  EXPECT_EQ(a->affiliations, std::vector{entry(alice_, Affiliation::Owner)});
  EXPECT_EQ(b->name, "There");
  EXPECT_EQ(b->subject, "there");
  EXPECT_FALSE(b->is_public);
  EXPECT_EQ(b->affiliations,
            (std::vector{entry(alice_, Affiliation::Outcast), entry(carol_, Affiliation::Owner)}));

  EXPECT_TRUE(s.remove(lounge_));
  EXPECT_FALSE(s.exists(lounge_));
  EXPECT_TRUE(s.exists(other_lounge_));
  EXPECT_EQ(s.affiliations(other_lounge_).size(), 2u);
}

TEST_P(RoomStoreContract, SchemaRefusesAnAffiliationOfNone) {
  // 'none' is never stored (setting None deletes the row); the schema holds the line too.
  EXPECT_THROW(c_->exec("INSERT INTO muc_affiliations (service, room, jid, affiliation) VALUES "
                        "('conference.example.org', 'lounge', 'alice@example.org', 'none')"),
               DatabaseError);
}

}  // namespace
}  // namespace parley::muc
