// The muc module's room logic (XEP-0045 rules, XEP-0421 occupant ids, history selection) and
// its muc#roomconfig form, without a server: a Room takes a stanza and says what it sends.
// The module's sources are compiled into the module, so the test builds them directly.
#include <gtest/gtest.h>

#include <set>

#include "../../modules/muc/admin.cpp"        // NOLINT(bugprone-suspicious-include)
#include "../../modules/muc/large_rooms.cpp"  // NOLINT(bugprone-suspicious-include)
#include "../../modules/muc/moderation.cpp"   // NOLINT(bugprone-suspicious-include)
#include "../../modules/muc/room.cpp"         // NOLINT(bugprone-suspicious-include)
#include "../../modules/muc/room_config.cpp"  // NOLINT(bugprone-suspicious-include)
#include "../../modules/muc/voice.cpp"        // NOLINT(bugprone-suspicious-include)

#include "xep/stored_element.h"

namespace parley::muc {
namespace {

namespace df = xep::dataforms;
using namespace std::chrono_literals;

xml::Element xml(std::string_view text) {
  auto e = xep::load_element(text);
  if (!e) throw std::invalid_argument("bad test XML: " + std::string(text));
  return *e;
}

Jid jid(std::string_view s) {
  auto j = Jid::parse(s);
  if (!j) throw std::invalid_argument("bad test JID");
  return *j;
}

std::string condition(const xml::Element& e) {
  const auto* err = e.child("error");
  if (!err) return {};
  for (const auto* c : err->children())
    if (c->xmlns() == stanza::kStanzasNs && c->name() != "text") return c->name();
  return {};
}

std::vector<std::string> codes(const xml::Element& e) {
  std::vector<std::string> out;
  if (const auto* x = e.child("x", kUserNs))
    for (const auto* s : x->children("status")) out.emplace_back(s->get("code"));
  return out;
}

const xml::Element* item(const xml::Element& e) {
  const auto* x = e.child("x", kUserNs);
  return x ? x->child("item") : nullptr;
}

// --- room_config ----------------------------------------------------------------------------

df::Form submitted(df::Form f) {
  f.type = df::FormType::Submit;
  for (auto& field : f.fields) {
    field.options.clear();
    field.label.clear();
  }
  return f;
}

TEST(MucRoomConfig, TheFormRoundTrips) {
  RoomSettings s;
  s.name = "Coven";
  s.description = "Three witches";
  s.persistent = true;
  s.members_only = true;
  s.password_protected = true;
  s.password = "cauldron";
  s.max_users = 30;
  s.whois = Whois::Anyone;
  s.history_length = 7;
  s.allow_pm = "moderators";
  s.logging = true;
  s.change_subject = true;
  auto form = to_form(s, 20);
  EXPECT_EQ(form.form_type(), kRoomConfigNs);
  ASSERT_NE(form.field("muc#roomconfig_roomsecret"), nullptr);
  EXPECT_EQ(form.field("muc#roomconfig_roomsecret")->type, "text-private");
  // Through the wire form and back.
  auto parsed = df::parse(df::to_element(submitted(form)));
  ASSERT_TRUE(parsed) << parsed.error();
  auto back = apply_form(*parsed, RoomSettings{}, 20);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, s);
}

TEST(MucRoomConfig, AnEmptySubmissionKeepsEverything) {  // §10.1.2 instant room
  RoomSettings s;
  s.name = "x";
  auto back = apply_form(df::Form{df::FormType::Submit, {}, {}, {}, {}, {}}, s, 20);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, s);
}

TEST(MucRoomConfig, BadValuesAreRefused) {
  df::Form f = df::with_form_type(df::FormType::Submit, std::string(kRoomConfigNs));
  f.add("muc#roomconfig_persistentroom", "boolean", {"maybe"});
  EXPECT_FALSE(apply_form(f, {}, 20));
  df::Form pw = df::with_form_type(df::FormType::Submit, std::string(kRoomConfigNs));
  pw.add("muc#roomconfig_passwordprotectedroom", "boolean", {"1"});
  EXPECT_FALSE(apply_form(pw, {}, 20));  // no secret
  df::Form other = df::with_form_type(df::FormType::Submit, "urn:example");
  EXPECT_FALSE(apply_form(other, {}, 20));
  df::Form hist = df::with_form_type(df::FormType::Submit, std::string(kRoomConfigNs));
  hist.add("muc#roomconfig_historylength", "text-single", {"500"});
  auto capped = apply_form(hist, {}, 20);
  ASSERT_TRUE(capped);
  EXPECT_EQ(capped->history_length, 20);
}

TEST(MucRoomConfig, TheStoredTextRoundTrips) {
  RoomSettings s;
  s.name = "line\nbreak \\ and = sign";
  s.moderated = true;
  s.allow_pm = "none";
  auto back = deserialize(serialize(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(deserialize("garbage"));
}

// --- history and occupant ids ---------------------------------------------------------------

TEST(MucHistory, SelectionHonoursEveryLimit) {
  SysTime t0{std::chrono::seconds(1'000'000)};
  std::deque<HistoryEntry> h;
  for (int i = 0; i < 10; ++i) h.push_back({nullptr, t0 + std::chrono::seconds(i * 10), 100});
  SysTime now = t0 + 100s;
  auto sel = [&](HistoryRequest r, size_t limit = 20) {
    std::vector<int> out;
    for (const auto* e : select_history(h, r, limit, now))
      out.push_back(static_cast<int>((e->at - t0) / 10s));
    return out;
  };
  EXPECT_EQ(sel({}), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(sel({}, 3), (std::vector<int>{7, 8, 9}));
  EXPECT_EQ(sel({.max_stanzas = 2}), (std::vector<int>{8, 9}));
  EXPECT_EQ(sel({.max_stanzas = 0}), (std::vector<int>{}));
  EXPECT_EQ(sel({.max_chars = 250}), (std::vector<int>{8, 9}));
  EXPECT_EQ(sel({.seconds = 25s}), (std::vector<int>{8, 9}));  // at 80 and 90, now 100
  EXPECT_EQ(sel({.since = t0 + 65s}), (std::vector<int>{7, 8, 9}));
  auto parsed = parse_history(
      std::make_unique<xml::Element>(xml("<history xmlns='http://jabber.org/protocol/muc' "
                                         "maxstanzas='4' since='1970-01-12T13:46:40Z'/>"))
          .get());
  EXPECT_EQ(parsed.max_stanzas, 4u);
  ASSERT_TRUE(parsed.since);
  EXPECT_EQ(*parsed.since, t0);
}

TEST(MucOccupantId, StablePerRoomAndBareJidAndSecret) {
  auto a = occupant_id("s", jid("r@g.example"), jid("u@example"));
  EXPECT_EQ(a, occupant_id("s", jid("r@g.example"), jid("u@example")));
  EXPECT_NE(a, occupant_id("s", jid("r2@g.example"), jid("u@example")));
  EXPECT_NE(a, occupant_id("s", jid("r@g.example"), jid("v@example")));
  EXPECT_NE(a, occupant_id("t", jid("r@g.example"), jid("u@example")));
  EXPECT_GE(a.size(), 20u);
}

// --- rooms ----------------------------------------------------------------------------------

class MucRoom : public ::testing::Test {
 public:
  const std::string kRoom = "coven@groups.example.com";
  Room room{jid(kRoom), ServiceOptions{}, "secret", jid("crone@example.com/desktop")};
  SysTime now = std::chrono::system_clock::now();

  // What the room sends, one stanza per recipient (broadcasts expanded).
  using Sent = std::vector<std::shared_ptr<xml::Element>>;
  Sent send(const std::string& text) {
    Outbox out;
    auto e = xml(text);
    room.handle(e, jid(e.get("from")), out, now);
    return out.expand();
  }
  Sent join(const std::string& from, const std::string& nick, const std::string& inner = "") {
    return send("<presence from='" + from + "' to='" + kRoom + "/" + nick +
                "'><x xmlns='http://jabber.org/protocol/muc'>" + inner + "</x></presence>");
  }
  Sent leave(const std::string& from, const std::string& nick) {
    return send("<presence type='unavailable' from='" + from + "' to='" + kRoom + "/" + nick +
                "'/>");
  }
  Sent say(const std::string& from, const std::string& body, const std::string& extra = "") {
    return send("<message type='groupchat' id='m1' from='" + from + "' to='" + kRoom + "'><body>" +
                body + "</body>" + extra + "</message>");
  }
  Sent owner_set(const std::string& from, const std::string& inner) {
    return send("<iq type='set' id='o1' from='" + from + "' to='" + kRoom +
                "'><query xmlns='http://jabber.org/protocol/muc#owner'>" + inner + "</query></iq>");
  }
  Sent admin_set(const std::string& from, const std::string& item) {
    return send("<iq type='set' id='a1' from='" + from + "' to='" + kRoom +
                "'><query xmlns='http://jabber.org/protocol/muc#admin'>" + item + "</query></iq>");
  }
  // An unlocked room with the owner (crone) and a participant (wiccarocks).
  void open_room(const std::string& fields = "") {
    join("crone@example.com/desktop", "firstwitch");
    auto out = owner_set("crone@example.com/desktop",
                         "<x xmlns='jabber:x:data' type='submit'>" + fields + "</x>");
    ASSERT_EQ(out.front()->get("type"), "result");
    join("wiccarocks@example.com/laptop", "secondwitch");
  }
  static Sent to(const Sent& out, const std::string& j) {
    std::vector<std::shared_ptr<xml::Element>> r;
    for (const auto& e : out)
      if (e->get("to") == j) r.push_back(e);
    return r;
  }
  static std::string field(const std::string& var, const std::string& value) {
    return "<field var='" + var + "'><value>" + value + "</value></field>";
  }
};

TEST_F(MucRoom, TheCreatorGetsALockedRoomAndOthersDoNotSeeIt) {
  auto out = join("crone@example.com/desktop", "firstwitch");
  ASSERT_EQ(out.size(), 2u);  // self-presence, then the (empty) subject
  const auto& self = *out[0];
  EXPECT_EQ(self.get("from"), kRoom + "/firstwitch");
  EXPECT_EQ(codes(self), (std::vector<std::string>{"110", "201"}));
  EXPECT_EQ(item(self)->get("affiliation"), "owner");
  EXPECT_EQ(item(self)->get("role"), "moderator");
  ASSERT_NE(self.child("occupant-id", kOccupantIdNs), nullptr);
  EXPECT_EQ(out[1]->name(), "message");
  ASSERT_NE(out[1]->child("subject"), nullptr);
  EXPECT_EQ(out[1]->child("subject")->text(), "");
  EXPECT_FALSE(out[1]->child("body"));
  EXPECT_TRUE(room.locked());

  auto other = join("wiccarocks@example.com/laptop", "secondwitch");
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(condition(*other[0]), "item-not-found");
  auto info = send("<iq type='get' id='d' from='wiccarocks@example.com/laptop' to='" + kRoom +
                   "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  EXPECT_EQ(condition(*info[0]), "item-not-found");

  // §10.1.2 instant room.
  auto ok = owner_set("crone@example.com/desktop", "<x xmlns='jabber:x:data' type='submit'/>");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0]->get("type"), "result");
  EXPECT_FALSE(room.locked());
  EXPECT_TRUE(room.listed());
}

// Nicks are resourceparts (RFC 7622 OpaqueString, NFC): a nick sent in another form is the
// normalized one in the room, and the self-presence says 210.
TEST_F(MucRoom, ANormalizedNickIsAnnouncedWith210) {
  open_room();
  auto out = join("bob@example.com/phone", "Cafe\xcc\x81");  // e + combining acute
  std::shared_ptr<xml::Element> self;
  for (const auto& e : out)
    if (e->name() == "presence" && e->get("to") == "bob@example.com/phone") self = e;
  ASSERT_TRUE(self);
  EXPECT_EQ(self->get("from"), kRoom + "/Caf\xc3\xa9");
  auto c = codes(*self);
  EXPECT_NE(std::find(c.begin(), c.end(), "210"), c.end()) << self->str();
  // A nick already in its normal form gets no 210.
  auto plain = join("carol@example.com/phone", "carol");
  for (const auto& e : plain)
    if (e->name() == "presence" && e->get("to") == "carol@example.com/phone") {
      auto pc = codes(*e);
      EXPECT_EQ(std::find(pc.begin(), pc.end(), "210"), pc.end()) << e->str();
    }
}

TEST_F(MucRoom, JoinOrderOthersFirstThenSelfLastThenHistoryAndSubject) {
  open_room();
  say("crone@example.com/desktop", "hello");
  auto out = join("hag66@example.com/pda", "thirdwitch");
  auto mine = to(out, "hag66@example.com/pda");
  ASSERT_EQ(mine.size(), 5u);  // 2 occupants, self, 1 history message, subject
  EXPECT_EQ(mine[0]->get("from"), kRoom + "/firstwitch");
  EXPECT_EQ(mine[1]->get("from"), kRoom + "/secondwitch");
  EXPECT_EQ(item(*mine[0])->get("jid"), "");  // semi-anonymous, not a moderator
  EXPECT_EQ(mine[2]->get("from"), kRoom + "/thirdwitch");
  EXPECT_EQ(codes(*mine[2]), (std::vector<std::string>{"110"}));
  EXPECT_EQ(mine[3]->child_text("body"), "hello");
  ASSERT_NE(mine[3]->child("delay", xep::kDelayNs), nullptr);
  EXPECT_EQ(mine[3]->child("delay", xep::kDelayNs)->get("from"), kRoom);
  EXPECT_NE(mine[4]->child("subject"), nullptr);
  // The moderator sees the newcomer's real JID; the participant does not.
  auto to_owner = to(out, "crone@example.com/desktop");
  ASSERT_EQ(to_owner.size(), 1u);
  EXPECT_EQ(item(*to_owner[0])->get("jid"), "hag66@example.com/pda");
  auto to_other = to(out, "wiccarocks@example.com/laptop");
  ASSERT_EQ(to_other.size(), 1u);
  EXPECT_FALSE(item(*to_other[0])->has("jid"));

  // <history maxstanzas='0'/>: none.
  auto none = join("x@example.com/a", "fourth", "<history maxstanzas='0'/>");
  auto got = to(none, "x@example.com/a");
  for (const auto& e : got) EXPECT_FALSE(e->child("body"));
}

TEST_F(MucRoom, JoinErrors) {
  open_room(field("FORM_TYPE", std::string(kRoomConfigNs)) +
            field("muc#roomconfig_passwordprotectedroom", "1") +
            field("muc#roomconfig_roomsecret", "pw") + field("muc#roomconfig_maxusers", "3"));
  // open_room's second join had no password.
  EXPECT_EQ(room.occupant_count(), 1u);
  auto conflict = join("hag66@example.com/pda", "firstwitch", "<password>pw</password>");
  EXPECT_EQ(condition(*conflict.at(0)), "conflict");
  EXPECT_EQ(condition(*join("hag66@example.com/pda", "third").at(0)), "not-authorized");
  EXPECT_EQ(condition(*join("hag66@example.com/pda", "third", "<password>no</password>").at(0)),
            "not-authorized");
  EXPECT_GT(join("hag66@example.com/pda", "third", "<password>pw</password>").size(), 1u);
  EXPECT_GT(join("x@example.com/a", "fourth", "<password>pw</password>").size(), 1u);
  auto full = join("y@example.com/a", "fifth", "<password>pw</password>");
  ASSERT_EQ(condition(*full.at(0)), "service-unavailable");
  EXPECT_EQ(full.at(0)->child("error")->get("type"), "wait");
  auto bare = send("<presence from='x@example.com/a' to='" + kRoom + "'/>");
  EXPECT_EQ(condition(*bare.at(0)), "jid-malformed");
}

TEST_F(MucRoom, MembersOnlyAndBans) {
  open_room(field("muc#roomconfig_membersonly", "1"));
  // wiccarocks was in before: removed with 322 when the room became members-only.
  EXPECT_EQ(room.occupant_count(), 1u);
  EXPECT_EQ(condition(*join("hag66@example.com/pda", "third").at(0)), "registration-required");
  auto member = admin_set("crone@example.com/desktop",
                          "<item affiliation='member' jid='hag66@example.com'/>");
  EXPECT_EQ(member.at(0)->get("type"), "result");
  EXPECT_GT(join("hag66@example.com/pda", "third").size(), 1u);
  // §9.1 ban: unavailable with 301 to everyone, then forbidden.
  auto ban = admin_set("crone@example.com/desktop",
                       "<item affiliation='outcast' jid='hag66@example.com'><reason>bye</reason>"
                       "</item>");
  EXPECT_EQ(ban.at(0)->get("type"), "result");
  auto self = to(ban, "hag66@example.com/pda");
  ASSERT_EQ(self.size(), 1u);
  EXPECT_EQ(self[0]->get("type"), "unavailable");
  EXPECT_EQ(codes(*self[0]), (std::vector<std::string>{"110", "301"}));
  EXPECT_EQ(item(*self[0])->get("affiliation"), "outcast");
  EXPECT_EQ(item(*self[0])->child_text("reason"), "bye");
  EXPECT_EQ(condition(*join("hag66@example.com/pda", "third").at(0)), "forbidden");
}

TEST_F(MucRoom, GroupchatIsReflectedWithStanzaIdAndOccupantId) {
  open_room();
  auto out = say("wiccarocks@example.com/laptop", "hi",
                 "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/>"
                 "<stanza-id xmlns='urn:xmpp:sid:0' by='" +
                     kRoom + "' id='forged'/>");
  ASSERT_EQ(out.size(), 2u);
  std::string id;
  for (const auto& m : out) {
    EXPECT_EQ(m->get("from"), kRoom + "/secondwitch");
    auto ids = m->children("occupant-id", kOccupantIdNs);
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_NE(ids[0]->get("id"), "forged");
    auto sid = xep::sid::find_stanza_id(*m, kRoom);
    ASSERT_TRUE(sid);
    EXPECT_NE(sid->id, "forged");
    EXPECT_EQ(m->children("stanza-id", xep::sid::kNs).size(), 1u);
    if (id.empty()) id = sid->id;
    EXPECT_EQ(sid->id, id);  // the same message, the same id for everyone
  }
  // The occupant id is the one in its presence.
  auto pres = join("wiccarocks@example.com/phone", "secondwitch");
  auto self = to(pres, "wiccarocks@example.com/phone");
  EXPECT_EQ(self[1]->child("occupant-id", kOccupantIdNs)->get("id"),
            out[0]->child("occupant-id", kOccupantIdNs)->get("id"));

  auto stranger = say("x@example.com/a", "hi");
  ASSERT_EQ(stranger.size(), 1u);
  EXPECT_EQ(condition(*stranger[0]), "not-acceptable");
}

TEST_F(MucRoom, ModeratedRoomsSilenceVisitorsAndSubjectNeedsPermission) {
  open_room(field("muc#roomconfig_moderatedroom", "1"));
  // wiccarocks joined before: still a participant. A newcomer is a visitor.
  auto j = join("hag66@example.com/pda", "third");
  EXPECT_EQ(item(*to(j, "hag66@example.com/pda").at(2))->get("role"), "visitor");
  EXPECT_EQ(condition(*say("hag66@example.com/pda", "hi").at(0)), "forbidden");
  auto subject = [&](const std::string& from) {
    return send("<message type='groupchat' from='" + from + "' to='" + kRoom +
                "'><subject>Spells</subject></message>");
  };
  EXPECT_EQ(condition(*subject("wiccarocks@example.com/laptop").at(0)), "forbidden");
  auto ok = subject("crone@example.com/desktop");
  EXPECT_EQ(ok.size(), 3u);
  // Voice (§8.3).
  auto voice = admin_set("crone@example.com/desktop", "<item nick='third' role='participant'/>");
  EXPECT_EQ(voice.at(0)->get("type"), "result");
  EXPECT_EQ(say("hag66@example.com/pda", "now I speak").size(), 3u);
  // A newcomer gets the subject after joining.
  auto late = join("x@example.com/a", "fourth");
  EXPECT_EQ(late.back()->child_text("subject"), "Spells");
  EXPECT_EQ(late.back()->get("from"), kRoom + "/firstwitch");
}

TEST_F(MucRoom, PrivateMessages) {
  open_room();
  join("wiccarocks@example.com/phone", "secondwitch");  // a second device
  auto out = send("<message type='chat' from='crone@example.com/desktop' to='" + kRoom +
                  "/secondwitch'><body>psst</body></message>");
  ASSERT_EQ(out.size(), 2u);  // both devices
  for (const auto& m : out) {
    EXPECT_EQ(m->get("from"), kRoom + "/firstwitch");
    EXPECT_NE(m->child("x", kUserNs), nullptr);
  }
  auto missing = send("<message type='chat' from='crone@example.com/desktop' to='" + kRoom +
                      "/nobody'><body>psst</body></message>");
  EXPECT_EQ(condition(*missing.at(0)), "item-not-found");
  auto stranger = send("<message type='chat' from='x@example.com/a' to='" + kRoom +
                       "/secondwitch'><body>psst</body></message>");
  EXPECT_EQ(condition(*stranger.at(0)), "not-acceptable");
}

TEST_F(MucRoom, NickChangeAndLeaving) {
  open_room();
  auto out = join("wiccarocks@example.com/laptop", "oldhag");
  ASSERT_EQ(out.size(), 4u);  // unavailable 303 and available, to both occupants
  auto self = to(out, "wiccarocks@example.com/laptop");
  EXPECT_EQ(self[0]->get("type"), "unavailable");
  EXPECT_EQ(self[0]->get("from"), kRoom + "/secondwitch");
  EXPECT_EQ(codes(*self[0]), (std::vector<std::string>{"110", "303"}));
  EXPECT_EQ(item(*self[0])->get("nick"), "oldhag");
  EXPECT_EQ(self[1]->get("from"), kRoom + "/oldhag");
  EXPECT_EQ(codes(*self[1]), (std::vector<std::string>{"110"}));
  EXPECT_EQ(condition(*join("wiccarocks@example.com/laptop", "firstwitch").at(0)), "conflict");

  auto bye = leave("wiccarocks@example.com/laptop", "oldhag");
  ASSERT_EQ(bye.size(), 2u);
  EXPECT_EQ(codes(*to(bye, "wiccarocks@example.com/laptop")[0]), (std::vector<std::string>{"110"}));
  EXPECT_EQ(to(bye, "crone@example.com/desktop")[0]->get("type"), "unavailable");
  leave("crone@example.com/desktop", "firstwitch");
  EXPECT_FALSE(room.alive());  // temporary and empty
}

TEST_F(MucRoom, MultiSessionIsOneOccupant) {
  open_room();
  auto second = join("wiccarocks@example.com/phone", "secondwitch");
  EXPECT_EQ(room.occupant_count(), 2u);
  EXPECT_EQ(say("crone@example.com/desktop", "x").size(), 3u);
  // One device leaves: only it hears; the others see nothing.
  auto out = leave("wiccarocks@example.com/phone", "secondwitch");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->get("to"), "wiccarocks@example.com/phone");
  EXPECT_EQ(room.occupant_count(), 2u);
}

TEST_F(MucRoom, SelfPingAndIqsToOccupants) {
  open_room();
  auto ping = [&](const std::string& from, const std::string& nick) {
    return send("<iq type='get' id='p' from='" + from + "' to='" + kRoom + "/" + nick +
                "'><ping xmlns='urn:xmpp:ping'/></iq>");
  };
  EXPECT_EQ(ping("crone@example.com/desktop", "firstwitch").at(0)->get("type"), "result");
  EXPECT_EQ(condition(*ping("crone@example.com/other", "firstwitch").at(0)), "not-acceptable");
  EXPECT_EQ(ping("crone@example.com/other", "firstwitch").at(0)->child("error")->get("type"),
            "cancel");
  // An IQ to another occupant goes to its session and the answer comes back.
  auto fwd = send("<iq type='get' id='v1' from='crone@example.com/desktop' to='" + kRoom +
                  "/secondwitch'><query xmlns='jabber:iq:version'/></iq>");
  ASSERT_EQ(fwd.size(), 1u);
  EXPECT_EQ(fwd[0]->get("to"), "wiccarocks@example.com/laptop");
  EXPECT_EQ(fwd[0]->get("from"), kRoom + "/firstwitch");
  auto back = send("<iq type='result' id='" + std::string(fwd[0]->get("id")) +
                   "' from='wiccarocks@example.com/laptop' to='" + kRoom + "/firstwitch'/>");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0]->get("to"), "crone@example.com/desktop");
  EXPECT_EQ(back[0]->get("id"), "v1");
  EXPECT_EQ(back[0]->get("from"), kRoom + "/secondwitch");
}

TEST_F(MucRoom, KicksVoiceAndOwnersRules) {
  open_room();
  join("hag66@example.com/pda", "third");
  // A participant cannot kick.
  auto no = admin_set("hag66@example.com/pda", "<item nick='secondwitch' role='none'/>");
  EXPECT_EQ(condition(*no.at(0)), "forbidden");
  // Nobody kicks an owner.
  admin_set("crone@example.com/desktop", "<item affiliation='admin' jid='hag66@example.com'/>");
  auto owner_kick = admin_set("hag66@example.com/pda", "<item nick='firstwitch' role='none'/>");
  EXPECT_EQ(condition(*owner_kick.at(0)), "not-allowed");
  auto kick = admin_set("hag66@example.com/pda", "<item nick='secondwitch' role='none'/>");
  EXPECT_EQ(kick.at(0)->get("type"), "result");
  auto self = to(kick, "wiccarocks@example.com/laptop");
  ASSERT_EQ(self.size(), 1u);
  EXPECT_EQ(codes(*self[0]), (std::vector<std::string>{"110", "307"}));
  EXPECT_EQ(item(*self[0])->child("actor")->get("nick"), "third");
  // The last owner stays.
  auto last = admin_set("crone@example.com/desktop",
                        "<item affiliation='member' jid='crone@example.com'/>");
  EXPECT_EQ(condition(*last.at(0)), "conflict");
  // An admin cannot touch owners.
  auto up = admin_set("hag66@example.com/pda", "<item affiliation='owner' jid='x@example.com'/>");
  EXPECT_EQ(condition(*up.at(0)), "not-allowed");
  // Lists.
  auto list = send("<iq type='get' id='l' from='crone@example.com/desktop' to='" + kRoom +
                   "'><query xmlns='http://jabber.org/protocol/muc#admin'><item "
                   "affiliation='admin'/></query></iq>");
  auto items = list.at(0)->child("query", kAdminNs)->children("item");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]->get("jid"), "hag66@example.com");
}

TEST_F(MucRoom, OwnerFormDiscoAndDestroy) {
  open_room(field("muc#roomconfig_roomname", "The Coven") +
            field("muc#roomconfig_whois", "anyone"));
  auto get = send("<iq type='get' id='g' from='crone@example.com/desktop' to='" + kRoom +
                  "'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>");
  auto form = df::parse(*get.at(0)->child("query", kOwnerNs)->child("x", df::kNs));
  ASSERT_TRUE(form);
  EXPECT_EQ(form->field("muc#roomconfig_roomname")->value(), "The Coven");
  EXPECT_EQ(condition(*send("<iq type='get' id='g' from='wiccarocks@example.com/laptop' to='" +
                            kRoom + "'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")
                           .at(0)),
            "forbidden");
  auto info = send("<iq type='get' id='d' from='x@example.com/a' to='" + kRoom +
                   "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  auto parsed = xep::disco::parse_info(*info.at(0)->child("query", xep::disco::kInfoNs));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->identities.at(0).name, "The Coven");
  auto has = [&](const std::string& f) {
    return std::count(parsed->features.begin(), parsed->features.end(), f) == 1;
  };
  EXPECT_TRUE(has("muc_nonanonymous"));
  EXPECT_TRUE(has("muc_temporary"));
  EXPECT_TRUE(has("muc_open"));
  EXPECT_TRUE(has("urn:xmpp:occupant-id:0"));
  EXPECT_EQ(parsed->extensions.size(), 1u);

  auto destroy =
      owner_set("crone@example.com/desktop",
                "<destroy jid='new@groups.example.com'><reason>moved</reason></destroy>");
  ASSERT_EQ(destroy.size(), 3u);
  EXPECT_EQ(destroy[0]->get("type"), "result");
  auto gone = to(destroy, "wiccarocks@example.com/laptop").at(0);
  EXPECT_EQ(gone->get("type"), "unavailable");
  const auto* d = gone->child("x", kUserNs)->child("destroy");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->get("jid"), "new@groups.example.com");
  EXPECT_EQ(d->child_text("reason"), "moved");
  EXPECT_FALSE(room.alive());
}

TEST_F(MucRoom, CancellingANewRoomDestroysIt) {
  join("crone@example.com/desktop", "firstwitch");
  auto out = owner_set("crone@example.com/desktop", "<x xmlns='jabber:x:data' type='cancel'/>");
  EXPECT_EQ(out.at(0)->get("type"), "result");
  EXPECT_FALSE(room.alive());
}

TEST_F(MucRoom, MediatedInvitations) {
  open_room(field("muc#roomconfig_membersonly", "1") + field("muc#roomconfig_allowinvites", "1"));
  auto out = send("<message from='crone@example.com/desktop' to='" + kRoom +
                  "'><x xmlns='http://jabber.org/protocol/muc#user'><invite "
                  "to='hecate@example.com'><reason>Join us</reason></invite></x></message>");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->get("to"), "hecate@example.com");
  EXPECT_EQ(out[0]->get("from"), kRoom);
  const auto* inv = out[0]->child("x", kUserNs)->child("invite");
  EXPECT_EQ(inv->get("from"), "crone@example.com/desktop");
  EXPECT_EQ(inv->child_text("reason"), "Join us");
  EXPECT_EQ(room.affiliation(jid("hecate@example.com")), Affiliation::Member);
}

// --- moderation (moderation.cpp) -------------------------------------------------------------

TEST(MucFlood, ABurstThenTheRateThenRefill) {
  TokenBucket b;
  SysTime t0{std::chrono::seconds(1'000'000)};
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.take(1, 3, t0)) << i;  // the burst
  EXPECT_FALSE(b.take(1, 3, t0));                                  // then nothing more
  EXPECT_FALSE(b.take(1, 3, t0 + 500ms));                          // half a token
  EXPECT_TRUE(b.take(1, 3, t0 + 1000ms));                          // refilled one
  EXPECT_FALSE(b.take(1, 3, t0 + 1000ms));
  EXPECT_FALSE(b.full(1, 3, t0 + 2s));
  EXPECT_TRUE(b.full(1, 3, t0 + 10s));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.take(1, 3, t0 + 1h)) << i;  // never above burst
  EXPECT_FALSE(b.take(1, 3, t0 + 1h));
  EXPECT_FALSE(b.take(1, 3, t0));  // the clock went back: no refill, and no lockout after it
  EXPECT_TRUE(b.take(1, 3, t0 + 1s));
}

TEST(MucModerationRequest, BothVersionsParse) {
  auto v1 =
      parse_moderation(xml("<moderate xmlns='urn:xmpp:message-moderate:1' id='s1'><retract "
                           "xmlns='urn:xmpp:message-retract:1'/><reason>spam</reason></moderate>"));
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->id, "s1");
  EXPECT_EQ(v1->reason, "spam");
  EXPECT_FALSE(v1->legacy);
  auto v0 = parse_moderation(
      xml("<apply-to xmlns='urn:xmpp:fasten:0' id='s2'><moderate "
          "xmlns='urn:xmpp:message-moderate:0'><retract xmlns='urn:xmpp:message-retract:0'/>"
          "<reason>rude</reason></moderate></apply-to>"));
  ASSERT_TRUE(v0);
  EXPECT_EQ(v0->id, "s2");
  EXPECT_EQ(v0->reason, "rude");
  EXPECT_TRUE(v0->legacy);
  // Malformed: no <retract/> (an empty id, bad-request), or not a moderation at all.
  auto bad = parse_moderation(xml("<moderate xmlns='urn:xmpp:message-moderate:1' id='s1'/>"));
  ASSERT_TRUE(bad);
  EXPECT_TRUE(bad->id.empty());
  EXPECT_FALSE(
      parse_moderation(xml("<apply-to xmlns='urn:xmpp:fasten:0' id='x'><other/>"
                           "</apply-to>")));
  EXPECT_FALSE(parse_moderation(xml("<query xmlns='jabber:iq:version'/>")));
}

TEST(MucTombstone, KeepsWhoAndWhichButNothingSaid) {
  auto original =
      xml("<message xmlns='jabber:client' type='groupchat' from='r@g/oldhag' id='m1'>"
          "<body>DM me for free magic potions!</body><html xmlns='http://jabber.org/protocol/"
          "xhtml-im'/><occupant-id xmlns='urn:xmpp:occupant-id:0' id='author'/>"
          "<stanza-id xmlns='urn:xmpp:sid:0' by='r@g' id='s1'/></message>");
  SysTime at{std::chrono::seconds(1'568'991'552)};  // 2019-09-20T14:59:12Z
  auto t = make_tombstone(original, {at, "ret1", "r@g/macbeth", "mod", "spam"});
  EXPECT_EQ(t.get("from"), "r@g/oldhag");
  EXPECT_EQ(t.get("id"), "m1");
  EXPECT_EQ(t.get("type"), "groupchat");
  EXPECT_FALSE(t.child("body"));
  EXPECT_FALSE(t.child("html"));
  EXPECT_EQ(t.child("occupant-id", kOccupantIdNs)->get("id"), "author");
  EXPECT_EQ(xep::sid::find_stanza_id(t, "r@g")->id, "s1");
  const auto* r = t.child("retracted", kRetractNs);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get("stamp"), "2019-09-20T14:59:12Z");
  EXPECT_EQ(r->get("id"), "ret1");
  const auto* m = r->child("moderated", kModerateNs);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->get("by"), "r@g/macbeth");
  EXPECT_EQ(m->child("occupant-id", kOccupantIdNs)->get("id"), "mod");
  EXPECT_EQ(r->child_text("reason", kRetractNs), "spam");
  // A self-retraction (XEP-0424): no <moderated/>, no reason.
  auto own = make_tombstone(original, {at, "ret2", "", "", ""});
  EXPECT_FALSE(own.child("retracted", kRetractNs)->child("moderated", kModerateNs));
  EXPECT_FALSE(own.child("retracted", kRetractNs)->child("reason"));
}

// An archive in memory: what the room appended, and retractions answered when the test says.
class FakeArchive : public Archive {
 public:
  std::vector<xml::Element> appended;
  std::map<std::string, xml::Element> stored;  // by id
  std::vector<std::function<void()>> pending;
  std::string append(const Jid&, const Jid&, const xml::Element& message) override {
    std::string id = "a" + std::to_string(appended.size() + 1);
    appended.push_back(message);
    stored.emplace(id, message);
    return id;
  }
  void serve(const Jid&, const xml::Element&, const Jid&) override {}
  void remove(const Jid&) override {}
  void retract(const Jid&, const std::string& id, const Jid&, Tombstone tombstone,
               std::function<void(Retraction)> done) override {
    pending.push_back([this, id, tombstone, done] {
      Retraction r = Retraction::NotFound;
      auto it = stored.find(id);
      if (it != stored.end()) {
        auto t = tombstone(it->second);
        r = t ? Retraction::Done : Retraction::Refused;
        if (t) it->second = *t;
      }
      if (done) done(r);
    });
  }
};

class MucModeration : public MucRoom {
 public:
  std::vector<Later> later;
  void run_later(Outbox& out) {
    auto l = std::move(later);
    later.clear();
    for (auto& fn : l) fn(&room, out, now);
  }
  Sent moderate(const std::string& from, const std::string& id, bool legacy = false) {
    std::string payload =
        legacy ? "<apply-to xmlns='urn:xmpp:fasten:0' id='" + id +
                     "'><moderate xmlns='urn:xmpp:message-moderate:0'><retract "
                     "xmlns='urn:xmpp:message-retract:0'/><reason>spam</reason></moderate>"
                     "</apply-to>"
               : "<moderate xmlns='urn:xmpp:message-moderate:1' id='" + id +
                     "'><retract xmlns='urn:xmpp:message-retract:1'/><reason>spam</reason>"
                     "</moderate>";
    return send("<iq type='set' id='mod1' from='" + from + "' to='" + kRoom + "'>" + payload +
                "</iq>");
  }
  std::string said_id(const Sent& out) { return xep::sid::find_stanza_id(*out.at(0), kRoom)->id; }
};

TEST_F(MucModeration, AModeratorRetractsFromTheHistoryWithoutAnArchive) {
  open_room(field("muc#roomconfig_enablelogging", "0"));
  std::string id = said_id(say("wiccarocks@example.com/laptop", "buy potions"));
  say("wiccarocks@example.com/laptop", "and more");
  // A participant may not; an unknown id is not found.
  auto refused = moderate("wiccarocks@example.com/laptop", id);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(condition(*refused[0]), "forbidden");
  auto unknown = moderate("crone@example.com/desktop", "nope");
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(condition(*unknown[0]), "item-not-found");

  auto out = moderate("crone@example.com/desktop", id);
  ASSERT_EQ(out.size(), 3u);  // the retraction to both occupants, then the result
  EXPECT_EQ(out[2]->name(), "iq");
  EXPECT_EQ(out[2]->get("type"), "result");
  for (int i = 0; i < 2; ++i) {
    const auto& m = *out[static_cast<size_t>(i)];
    EXPECT_EQ(m.get("from"), kRoom);  // from the room itself (XEP-0425 §4.1)
    EXPECT_EQ(m.get("type"), "groupchat");
    const auto* r = m.child("retract", kRetractNs);
    ASSERT_TRUE(r) << m.str();
    EXPECT_EQ(r->get("id"), id);
    EXPECT_EQ(r->child("moderated", kModerateNs)->get("by"), kRoom + "/firstwitch");
    EXPECT_FALSE(
        r->child("moderated", kModerateNs)->child("occupant-id", kOccupantIdNs)->get("id").empty());
    EXPECT_EQ(r->child_text("reason", kRetractNs), "spam");
    const auto* a = m.child("apply-to", kFastenNs);  // the 0.2 form too
    ASSERT_TRUE(a);
    EXPECT_EQ(a->get("id"), id);
    EXPECT_TRUE(a->child("moderated", kModerate0Ns)->child("retract", kRetract0Ns));
    EXPECT_TRUE(xep::sid::find_stanza_id(m, kRoom));
  }
  // A joiner's history has the tombstone, not the body; the other message is untouched.
  auto j = to(join("hag66@example.com/pda", "third"), "hag66@example.com/pda");
  std::vector<std::string> bodies;
  int tombstones = 0;
  for (const auto& m : j) {
    if (m->child("body")) bodies.push_back(m->child_text("body"));
    if (m->child("retracted", kRetractNs)) ++tombstones;
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"and more"}));
  EXPECT_EQ(tombstones, 1);
  // The 0.2 request works as well (the message is already retracted: again a success).
  auto legacy = moderate("crone@example.com/desktop", id, true);
  EXPECT_EQ(legacy.back()->get("type"), "result");
}

TEST_F(MucModeration, WithAnArchiveTheArchiveDecidesAndKeepsTheRetraction) {
  auto archive = std::make_shared<FakeArchive>();
  room.set_archive(archive);
  room.set_resume([this](Later l) { later.push_back(std::move(l)); });
  open_room();
  std::string id = said_id(say("wiccarocks@example.com/laptop", "buy potions"));
  EXPECT_EQ(id, "a1");
  // Nothing happens until the archive answered.
  EXPECT_TRUE(moderate("crone@example.com/desktop", id).empty());
  EXPECT_TRUE(moderate("crone@example.com/desktop", "a99").empty());
  ASSERT_EQ(archive->pending.size(), 2u);
  for (auto& p : archive->pending) p();
  Outbox box;
  run_later(box);
  auto out = box.expand();
  ASSERT_EQ(out.size(), 4u);  // two retractions and the result; item-not-found
  EXPECT_EQ(out[2]->get("type"), "result");
  EXPECT_EQ(condition(*out[3]), "item-not-found");
  EXPECT_FALSE(archive->stored.at("a1").child("body"));
  EXPECT_TRUE(archive->stored.at("a1").child("retracted", kRetractNs));
  // The retraction went to the archive too, and carries its archive id.
  ASSERT_EQ(archive->appended.size(), 2u);
  EXPECT_TRUE(archive->appended[1].child("retract", kRetractNs));
  EXPECT_EQ(xep::sid::find_stanza_id(*out[0], kRoom)->id, "a2");
  auto info = send("<iq type='get' id='d' from='wiccarocks@example.com/laptop' to='" + kRoom +
                   "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  std::set<std::string> features;
  for (const auto* f : info.at(0)->child("query", xep::disco::kInfoNs)->children("feature"))
    features.emplace(f->get("var"));
  EXPECT_TRUE(features.count("urn:xmpp:message-moderate:1"));
  EXPECT_TRUE(features.count("urn:xmpp:message-moderate:0"));
  EXPECT_TRUE(features.count("urn:xmpp:message-retract:1#tombstone"));
}

TEST_F(MucModeration, AnOccupantRetractsOnlyItsOwnMessages) {
  auto archive = std::make_shared<FakeArchive>();
  room.set_archive(archive);
  open_room();
  std::string mine = said_id(say("wiccarocks@example.com/laptop", "oops"));
  std::string theirs = said_id(say("crone@example.com/desktop", "hello"));
  auto retract = [&](const std::string& id) {
    return say("wiccarocks@example.com/laptop", "/me retracted a message",
               "<retract xmlns='urn:xmpp:message-retract:1' id='" + id + "'/>");
  };
  auto out = retract(mine);
  ASSERT_EQ(out.size(), 2u);  // relayed as any groupchat, with the <retract/>
  EXPECT_EQ(out[0]->get("from"), kRoom + "/secondwitch");
  EXPECT_EQ(out[0]->child("retract", kRetractNs)->get("id"), mine);
  retract(theirs);
  for (auto& p : archive->pending) p();
  EXPECT_TRUE(archive->stored.at(mine).child("retracted", kRetractNs));
  EXPECT_EQ(archive->stored.at(theirs).child_text("body"), "hello");
  EXPECT_EQ(archive->appended.size(), 4u);  // both retractions are archived
  auto j = to(join("hag66@example.com/pda", "third"), "hag66@example.com/pda");
  std::vector<std::string> bodies;
  for (const auto& m : j)
    if (m->child("body")) bodies.push_back(m->child_text("body"));
  EXPECT_EQ(bodies, (std::vector<std::string>{"hello", "/me retracted a message",
                                              "/me retracted a message"}));
}

TEST_F(MucModeration, FloodLimitsPerOccupantModeratorsExempt) {
  ServiceOptions o;
  o.flood_rate = 1;
  o.flood_burst = 3;
  room = Room(jid(kRoom), o, "secret", jid("crone@example.com/desktop"));
  open_room();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(say("wiccarocks@example.com/laptop", "x").size(), 2u);
  auto over = say("wiccarocks@example.com/laptop", "too much");
  ASSERT_EQ(over.size(), 1u);  // the error only; nobody else sees it
  EXPECT_EQ(over[0]->get("to"), "wiccarocks@example.com/laptop");
  EXPECT_EQ(condition(*over[0]), "policy-violation");
  EXPECT_EQ(over[0]->child("error")->get("type"), "wait");
  // Private messages count too; another device of the same occupant shares the bucket.
  join("wiccarocks@example.com/phone", "secondwitch");
  auto pm = send("<message type='chat' from='wiccarocks@example.com/phone' to='" + kRoom +
                 "/firstwitch'><body>psst</body></message>");
  EXPECT_EQ(condition(*pm.at(0)), "policy-violation");
  // Leaving and coming back starts no new burst.
  leave("wiccarocks@example.com/laptop", "secondwitch");
  leave("wiccarocks@example.com/phone", "secondwitch");
  join("wiccarocks@example.com/laptop", "secondwitch");
  EXPECT_EQ(condition(*say("wiccarocks@example.com/laptop", "x").at(0)), "policy-violation");
  // The moderator is never limited.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(say("crone@example.com/desktop", "y").size(), 2u);
  // A second later, one more.
  now += 1s;
  EXPECT_EQ(say("wiccarocks@example.com/laptop", "x").size(), 2u);
  EXPECT_EQ(condition(*say("wiccarocks@example.com/laptop", "x").at(0)), "policy-violation");
}

// --- large rooms (large_rooms.cpp) ----------------------------------------------------------

TEST(MucRoomConfig, PresenceBroadcastInTheFormAndTheStore) {
  RoomSettings s;
  s.presence_broadcast = {true, false, false};
  auto back = deserialize(serialize(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, s);
  s.presence_broadcast = {false, false, false};  // nobody's presence
  EXPECT_EQ(*deserialize(serialize(s)), s);
  // Rows written before the setting existed broadcast every role.
  auto old = deserialize("v=1\nname=old\nmembers_only=1\n");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->presence_broadcast, PresenceBroadcast{});
  // The owner form: a list-multi, every value counts.
  df::Form f = df::with_form_type(df::FormType::Submit, std::string(kRoomConfigNs));
  f.add("muc#roomconfig_presencebroadcast", "list-multi", {"moderator", "visitor"});
  auto applied = apply_form(f, {}, 20);
  ASSERT_TRUE(applied);
  EXPECT_EQ(applied->presence_broadcast, (PresenceBroadcast{true, false, true}));
  df::Form bad = df::with_form_type(df::FormType::Submit, std::string(kRoomConfigNs));
  bad.add("muc#roomconfig_presencebroadcast", "list-multi", {"owner"});
  EXPECT_FALSE(apply_form(bad, {}, 20));
  auto form = to_form(RoomSettings{}, 20);
  const df::Field* field = nullptr;
  for (const auto& x : form.fields)
    if (x.var == "muc#roomconfig_presencebroadcast") field = &x;
  ASSERT_NE(field, nullptr);
  EXPECT_EQ(field->type, "list-multi");
  EXPECT_EQ(field->values, (std::vector<std::string>{"moderator", "participant", "visitor"}));
}

std::vector<std::shared_ptr<xml::Element>> presences(
    const std::vector<std::shared_ptr<xml::Element>>& out) {
  std::vector<std::shared_ptr<xml::Element>> r;
  for (const auto& e : out)
    if (e->name() == "presence") r.push_back(e);
  return r;
}

TEST_F(MucRoom, OnlyTheBroadcastRolesPresenceReachesTheOthers) {
  const std::string crone = "crone@example.com/desktop", wicca = "wiccarocks@example.com/laptop",
                    hag = "hag66@example.com/pda";
  join(crone, "firstwitch");
  owner_set(crone, "<x xmlns='jabber:x:data' type='submit'>" +
                       field("muc#roomconfig_presencebroadcast", "moderator") + "</x>");
  // A participant joins: it sees the moderator and itself; nobody sees it.
  auto out = join(wicca, "secondwitch");
  EXPECT_TRUE(to(out, crone).empty());
  auto mine = to(out, wicca);
  ASSERT_EQ(mine.size(), 3u);  // firstwitch, self, subject
  EXPECT_EQ(mine[0]->get("from"), kRoom + "/firstwitch");
  EXPECT_EQ(codes(*mine[1]), (std::vector<std::string>{"110"}));
  // A later joiner gets the occupant list of the broadcast roles only.
  auto third = join(hag, "thirdwitch");
  EXPECT_TRUE(to(third, wicca).empty());
  EXPECT_TRUE(to(third, crone).empty());
  auto theirs = presences(to(third, hag));
  ASSERT_EQ(theirs.size(), 2u);
  EXPECT_EQ(theirs[0]->get("from"), kRoom + "/firstwitch");
  EXPECT_EQ(theirs[1]->get("from"), kRoom + "/thirdwitch");
  // Messages reach everyone.
  EXPECT_EQ(say(wicca, "hello").size(), 3u);
  // A hidden occupant's update, nick change and leaving are for itself only.
  auto update = send("<presence from='" + wicca + "' to='" + kRoom +
                     "/secondwitch'><show>away</show></presence>");
  ASSERT_EQ(update.size(), 1u);
  EXPECT_EQ(update[0]->get("to"), wicca);
  auto renamed = send("<presence from='" + wicca + "' to='" + kRoom + "/renamed'/>");
  ASSERT_EQ(renamed.size(), 2u);  // unavailable 303, then the new nick
  EXPECT_EQ(to(renamed, wicca).size(), 2u);
  EXPECT_EQ(codes(*renamed[0]), (std::vector<std::string>{"110", "303"}));
  auto gone = leave(wicca, "renamed");
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0]->get("to"), wicca);
  EXPECT_EQ(gone[0]->get("type"), "unavailable");
  // The moderator's presence still reaches everyone.
  auto away = send("<presence from='" + crone + "' to='" + kRoom +
                   "/firstwitch'><show>dnd</show></presence>");
  EXPECT_EQ(away.size(), 2u);
  // Made a moderator, an occupant appears to the others; made a participant again, it leaves
  // for them (so no client keeps a stale occupant).
  auto up = presences(admin_set(crone, "<item nick='thirdwitch' role='moderator'/>"));
  ASSERT_EQ(up.size(), 2u);
  EXPECT_EQ(to(up, crone).at(0)->get("type"), "");
  auto down = presences(admin_set(crone, "<item nick='thirdwitch' role='participant'/>"));
  ASSERT_EQ(down.size(), 2u);
  EXPECT_EQ(to(down, crone).at(0)->get("type"), "unavailable");
  EXPECT_EQ(to(down, hag).at(0)->get("type"), "");  // itself: still there, as a participant
  EXPECT_EQ(item(*to(down, hag).at(0))->get("role"), "participant");
  // A kick of a hidden occupant: only the kicked one hears it.
  auto kick = presences(admin_set(crone, "<item nick='thirdwitch' role='none'/>"));
  ASSERT_EQ(kick.size(), 1u);
  EXPECT_EQ(kick[0]->get("to"), hag);
  EXPECT_EQ(codes(*kick[0]), (std::vector<std::string>{"110", "307"}));
}

TEST_F(MucRoom, ChangingTheBroadcastRolesShowsAndHidesWhoIsThere) {
  open_room();
  const std::string crone = "crone@example.com/desktop", wicca = "wiccarocks@example.com/laptop";
  auto hide = presences(
      owner_set(crone, "<x xmlns='jabber:x:data' type='submit'>" +
                           field("muc#roomconfig_presencebroadcast", "moderator") + "</x>"));
  ASSERT_EQ(hide.size(), 1u);
  EXPECT_EQ(hide[0]->get("to"), crone);
  EXPECT_EQ(hide[0]->get("from"), kRoom + "/secondwitch");
  EXPECT_EQ(hide[0]->get("type"), "unavailable");
  auto show = presences(owner_set(
      crone,
      "<x xmlns='jabber:x:data' type='submit'><field "
      "var='muc#roomconfig_presencebroadcast'><value>moderator</value><value>participant</"
      "value></field></x>"));
  ASSERT_EQ(show.size(), 1u);
  EXPECT_EQ(show[0]->get("to"), crone);
  EXPECT_EQ(show[0]->get("type"), "");
}

TEST_F(MucRoom, MembersWhoAreNotJoinedGetACopyAtTheirBareJid) {
  const std::string crone = "crone@example.com/desktop", wicca = "wiccarocks@example.com/laptop";
  join(crone, "firstwitch");
  owner_set(crone, "<x xmlns='jabber:x:data' type='submit'>" +
                       field("muc#roomconfig_membersonly", "1") + "</x>");
  admin_set(crone, "<item affiliation='member' jid='wiccarocks@example.com'/>");
  admin_set(crone, "<item affiliation='member' jid='hecate@example.com'/>");
  admin_set(crone, "<item affiliation='outcast' jid='hag66@example.com'/>");
  join(wicca, "secondwitch");
  auto out = say(crone, "hello");
  ASSERT_EQ(out.size(), 3u);  // the two sessions, and hecate, who is not joined
  auto copy = to(out, "hecate@example.com");
  ASSERT_EQ(copy.size(), 1u);
  EXPECT_EQ(copy[0]->get("type"), "groupchat");
  EXPECT_EQ(copy[0]->get("from"), kRoom + "/firstwitch");
  EXPECT_TRUE(xep::sid::find_stanza_id(*copy[0], kRoom));
  EXPECT_EQ(xep::sid::find_stanza_id(*copy[0], kRoom)->id,
            xep::sid::find_stanza_id(*to(out, wicca).at(0), kRoom)->id);
  EXPECT_TRUE(to(out, "wiccarocks@example.com").empty());  // joined: it has the live one
  // A subject change is not a message of the conversation.
  auto subject = send("<message type='groupchat' from='" + crone + "' to='" + kRoom +
                      "'><subject>news</subject></message>");
  EXPECT_TRUE(to(subject, "hecate@example.com").empty());
  // In an open room members get nothing when they are away.
  owner_set(crone, "<x xmlns='jabber:x:data' type='submit'>" +
                       field("muc#roomconfig_membersonly", "0") + "</x>");
  EXPECT_TRUE(to(say(crone, "open now"), "hecate@example.com").empty());
}

TEST_F(MucRoom, RestoredHistoryIsServedToJoiners) {
  open_room();
  std::vector<HistoryEntry> h;
  for (int i = 0; i < 30; ++i)
    h.push_back({std::make_shared<xml::Element>(
                     xml("<message xmlns='jabber:client' type='groupchat' from='" + kRoom +
                         "/firstwitch'><body>" + std::to_string(i) + "</body></message>")),
                 now - std::chrono::minutes(30 - i), 100});
  EXPECT_EQ(room.history_capacity(), 20u);
  room.restore_history(std::move(h));
  std::vector<std::string> bodies;
  for (const auto& m : to(join("hag66@example.com/pda", "thirdwitch"), "hag66@example.com/pda"))
    if (m->child("body")) bodies.push_back(m->child_text("body"));
  ASSERT_EQ(bodies.size(), 20u);  // default_history
  EXPECT_EQ(bodies.front(), "10");
  EXPECT_EQ(bodies.back(), "29");
}

// --- §7.13, §8.6 voice requests (voice.cpp) --------------------------------------------------

class MucVoice : public MucRoom {
 public:
  // A moderated room: crone (owner, moderator, two sessions), wiccarocks (given voice by
  // crone), hag66 (a visitor).
  void SetUp() override {
    open_room(field("muc#roomconfig_moderatedroom", "1"));
    admin_set("crone@example.com/desktop", "<item nick='secondwitch' role='participant'/>");
    join("crone@example.com/phone", "firstwitch");
    join("hag66@example.com/pda", "third");
  }
  static std::string request_form(const std::string& role = "participant") {
    return "<x xmlns='jabber:x:data' type='submit'>" +
           field("FORM_TYPE", "http://jabber.org/protocol/muc#request") + field("muc#role", role) +
           "</x>";
  }
  Sent request(const std::string& from, const std::string& role = "participant") {
    return send("<message id='rv' from='" + from + "' to='" + kRoom + "'>" + request_form(role) +
                "</message>");
  }
  Sent approve(const std::string& from, const std::string& allow, const std::string& nick = "third",
               const std::string& real = "hag66@example.com/pda",
               const std::string& type = "submit") {
    return send("<message id='av' from='" + from + "' to='" + kRoom +
                "'><x xmlns='jabber:x:data' type='" + type + "'>" +
                field("FORM_TYPE", "http://jabber.org/protocol/muc#request") +
                field("muc#role", "participant") + field("muc#jid", real) +
                field("muc#roomnick", nick) + field("muc#request_allow", allow) + "</x></message>");
  }
};

TEST_F(MucVoice, AVisitorsRequestReachesEveryModeratorSessionAsAnApprovalForm) {
  auto out = request("hag66@example.com/pda");
  ASSERT_EQ(out.size(), 2u);  // crone's two sessions; not wiccarocks, not the visitor
  EXPECT_EQ(to(out, "crone@example.com/desktop").size(), 1u);
  EXPECT_EQ(to(out, "crone@example.com/phone").size(), 1u);
  for (const auto& m : out) {
    EXPECT_EQ(m->name(), "message");
    EXPECT_EQ(m->get("from"), kRoom);
    auto form = df::parse(*m->child("x", df::kNs));
    ASSERT_TRUE(form);
    EXPECT_EQ(form->type, df::FormType::Form);
    EXPECT_EQ(form->form_type(), "http://jabber.org/protocol/muc#request");
    EXPECT_EQ(form->field("muc#role")->value(), "participant");
    EXPECT_EQ(form->field("muc#jid")->value(), "hag66@example.com/pda");
    EXPECT_EQ(form->field("muc#roomnick")->value(), "third");
    EXPECT_EQ(form->field("muc#request_allow")->type, "boolean");
    EXPECT_EQ(form->field("muc#request_allow")->value(), "false");
  }
}

TEST_F(MucVoice, OnlyVisitorsInAModeratedRoomAskAndOnlyForVoice) {
  EXPECT_EQ(condition(*request("wiccarocks@example.com/laptop").at(0)), "not-allowed");
  EXPECT_EQ(condition(*request("hag66@example.com/pda", "moderator").at(0)), "bad-request");
  EXPECT_EQ(condition(*request("stranger@example.com/x").at(0)), "not-acceptable");
  // No longer moderated: hag66 stays a visitor (roles do not change with the setting), but
  // voice requests are for moderated rooms (§7.13).
  owner_set("crone@example.com/desktop", "<x xmlns='jabber:x:data' type='submit'>" +
                                             field("muc#roomconfig_moderatedroom", "0") + "</x>");
  EXPECT_EQ(condition(*request("hag66@example.com/pda").at(0)), "not-allowed");
}

TEST_F(MucVoice, AnApprovalGrantsVoiceWithThePresenceBroadcast) {
  request("hag66@example.com/pda");
  auto out = approve("crone@example.com/phone", "true");
  // Everyone (crone x2, wiccarocks, hag66) sees third as a participant, with crone as actor.
  ASSERT_EQ(out.size(), 4u);
  auto self = to(out, "hag66@example.com/pda");
  ASSERT_EQ(self.size(), 1u);
  EXPECT_EQ(item(*self[0])->get("role"), "participant");
  EXPECT_EQ(item(*self[0])->child("actor")->get("nick"), "firstwitch");
  EXPECT_EQ(codes(*self[0]), (std::vector<std::string>{"110"}));
  EXPECT_EQ(say("hag66@example.com/pda", "now I speak").size(), 4u);
  // A second approval of the same request changes nothing.
  EXPECT_TRUE(approve("crone@example.com/desktop", "1").empty());
}

TEST_F(MucVoice, ADenialOrACancelChangesNothing) {
  request("hag66@example.com/pda");
  EXPECT_TRUE(approve("crone@example.com/desktop", "false").empty());
  EXPECT_TRUE(approve("crone@example.com/desktop", "0").empty());
  EXPECT_TRUE(
      approve("crone@example.com/desktop", "true", "third", "hag66@example.com/pda", "cancel")
          .empty());
  EXPECT_EQ(condition(*say("hag66@example.com/pda", "still mute").at(0)), "forbidden");
}

TEST_F(MucVoice, OnlyAModeratorApproves) {
  request("hag66@example.com/pda");
  EXPECT_EQ(condition(*approve("wiccarocks@example.com/laptop", "true").at(0)), "forbidden");
  EXPECT_EQ(condition(*approve("hag66@example.com/pda", "true").at(0)), "forbidden");
  EXPECT_EQ(condition(*approve("stranger@example.com/x", "true").at(0)), "forbidden");
  EXPECT_EQ(condition(*say("hag66@example.com/pda", "still mute").at(0)), "forbidden");
}

TEST_F(MucVoice, AnApprovalForANickThatIsGoneOrSomeoneElsesIsNotFound) {
  request("hag66@example.com/pda");
  EXPECT_EQ(condition(*approve("crone@example.com/desktop", "true", "nobody").at(0)),
            "item-not-found");
  EXPECT_EQ(
      condition(
          *approve("crone@example.com/desktop", "true", "third", "impostor@example.com/x").at(0)),
      "item-not-found");
  EXPECT_EQ(condition(*say("hag66@example.com/pda", "still mute").at(0)), "forbidden");
}

}  // namespace
}  // namespace parley::muc
