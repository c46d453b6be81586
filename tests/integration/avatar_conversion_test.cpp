// XEP-0398 avatar conversion (the avatar_conversion module on the pep and vcard modules): a
// XEP-0084 avatar published in PEP becomes the vCard PHOTO, a vCard PHOTO becomes a XEP-0084
// avatar (data and metadata, the SHA-1 as id), removing either removes the other, the owner's
// available presence carries the XEP-0153 hash (by XEP-0398 §4's rules for what the client
// put there itself), and one change makes exactly one metadata publication (no conversion
// loop); slixmpp's xep_0084 and xep_0054 plugins against each other.
#include <openssl/evp.h>

#include "common.h"

namespace parley::it {
namespace {

constexpr const char* kPubsub = "http://jabber.org/protocol/pubsub";
constexpr const char* kEvent = "http://jabber.org/protocol/pubsub#event";
constexpr const char* kData = "urn:xmpp:avatar:data";
constexpr const char* kMetadata = "urn:xmpp:avatar:metadata";
constexpr const char* kUpdate = "vcard-temp:x:update";

class AvatarConversionTest : public ServerSuite<AvatarConversionTest> {
 public:
  static ServerOptions options() {
    auto o = with_users({"aa", "ab", "ac", "ad", "ae", "af", "ag", "ah", "ai", "aj", "ak", "al"});
    o.modules.push_back("pep");
    o.modules.push_back("avatar_conversion");
    return o;
  }
};

// The test's own SHA-1 and base64 (OpenSSL), not the server's.
std::string sha1_hex(const std::string& bytes) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), d, &n, EVP_sha1(), nullptr);
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < n; ++i) {
    snprintf(buf, sizeof buf, "%02x", d[i]);
    out += buf;
  }
  return out;
}

std::string b64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

std::string unb64(const std::string& text) {
  std::string in;
  for (char ch : text)
    if (!isspace(static_cast<unsigned char>(ch))) in += ch;
  std::string out(in.size() / 4 * 3 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return "<bad base64>";
  size_t pad = 0;
  while (pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  out.resize(n - pad);
  return out;
}

// A distinct "image" per test: the PNG signature and some bytes (nobody decodes it).
std::string image(const std::string& tag) {
  std::string b = "\x89PNG\r\n\x1a\n";
  b += std::string("\0\x01\x02\xff\xfe", 5) + "avatar of " + tag;
  return b;
}

bool ok(const std::optional<Node>& r) {
  return r && r->attr("type") == "result";
}

std::optional<Node> publish(StropheClient& c, const std::string& node, const std::string& id,
                            const std::string& payload) {
  return c.iq("<iq type='set' id='" + c.next_id() + "'><pubsub xmlns='" + std::string(kPubsub) +
              "'><publish node='" + node + "'><item id='" + id + "'>" + payload +
              "</item></publish></pubsub></iq>");
}

// XEP-0084 §4.1/§4.2: data first, then the metadata pointing at it.
bool publish_avatar(StropheClient& c, const std::string& bytes, const std::string& type) {
  std::string id = sha1_hex(bytes);
  auto r =
      publish(c, kData, id, "<data xmlns='" + std::string(kData) + "'>" + b64(bytes) + "</data>");
  if (!ok(r)) {
    ADD_FAILURE() << "data publish: " << (r ? r->raw : "no answer");
    return false;
  }
  r = publish(c, kMetadata, id,
              "<metadata xmlns='" + std::string(kMetadata) + "'><info id='" + id + "' bytes='" +
                  std::to_string(bytes.size()) + "' type='" + type +
                  "' width='64' height='64'/></metadata>");
  if (!ok(r)) {
    ADD_FAILURE() << "metadata publish: " << (r ? r->raw : "no answer");
    return false;
  }
  return true;
}

std::optional<Node> vcard_get(StropheClient& c) {
  auto r = c.iq("<iq type='get' id='" + c.next_id() + "'><vCard xmlns='vcard-temp'/></iq>");
  if (!ok(r)) return std::nullopt;
  const Node* v = r->child("vCard", "vcard-temp");
  if (!v) return std::nullopt;
  return *v;
}

bool vcard_set(StropheClient& c, const std::string& content) {
  auto r = c.iq("<iq type='set' id='" + c.next_id() + "'><vCard xmlns='vcard-temp'>" + content +
                "</vCard></iq>");
  if (!ok(r)) ADD_FAILURE() << "vCard set: " << (r ? r->raw : "no answer");
  return ok(r);
}

std::string photo_xml(const std::string& bytes, const std::string& type) {
  return "<PHOTO><TYPE>" + type + "</TYPE><BINVAL>" + b64(bytes) + "</BINVAL></PHOTO>";
}

// The vCard's photo once the conversion has written it (the conversion finishes after the
// publication is answered, so the test asks again until then).
std::optional<std::pair<std::string, std::string>> wait_photo(StropheClient& c,
                                                              const std::string& bytes) {
  std::optional<std::pair<std::string, std::string>> photo;
  poll_until([&] {
    auto v = vcard_get(c);
    const Node* p = v ? v->child("PHOTO", "vcard-temp") : nullptr;
    if (!p || !p->child("BINVAL", "vcard-temp")) return false;
    photo = std::pair(p->child("TYPE", "vcard-temp") ? p->child("TYPE", "vcard-temp")->text : "",
                      unb64(p->child("BINVAL", "vcard-temp")->text));
    return photo->second == bytes;
  });
  return photo;
}

// The newest item of `node` (items come as the pep module orders them; these nodes keep one).
std::optional<Node> newest_item(StropheClient& c, const std::string& node) {
  auto r = c.iq("<iq type='get' id='" + c.next_id() + "'><pubsub xmlns='" + std::string(kPubsub) +
                "'><items node='" + node + "' max_items='1'/></pubsub></iq>");
  if (!ok(r)) return std::nullopt;
  const Node* items = r->find("items", kPubsub);
  const Node* item = items ? items->child("item", kPubsub) : nullptr;
  if (!item) return std::nullopt;
  return *item;
}

// A metadata notification; with `id`, one whose <info/> has that id; with "", an empty one.
auto metadata_event(std::optional<std::string> id = std::nullopt) {
  return [id](const Node& n) {
    if (n.name != "message") return false;
    const Node* ev = n.child("event", kEvent);
    const Node* items = ev ? ev->child("items", kEvent) : nullptr;
    if (!items || items->attr("node") != kMetadata) return false;
    const Node* item = items->child("item", kEvent);
    const Node* md = item ? item->child("metadata", kMetadata) : nullptr;
    if (!md) return false;
    if (!id) return true;
    const Node* info = md->child("info", kMetadata);
    return id->empty() ? info == nullptr : info && info->attr("id") == *id;
  };
}

// The photo hash of a presence: nullopt without <x xmlns='vcard-temp:x:update'><photo/>.
std::optional<std::string> photo_hash(const Node& presence) {
  const Node* x = presence.child("x", kUpdate);
  const Node* photo = x ? x->child("photo", kUpdate) : nullptr;
  if (!photo) return std::nullopt;
  return photo->text;
}

// Sends a broadcast presence and returns it as the server reflects it to the sender (RFC 6121
// §4.2.2: the user's own available resources get it).
std::optional<Node> own_presence(StropheClient& c, const std::string& presence = "<presence/>") {
  c.send(presence);
  return c.wait_for(presence_from(c.jid()));
}

TEST_F(AvatarConversionTest, AccountAdvertisesConversion) {
  auto c = client("aa", "disco");
  ASSERT_TRUE(c->connected());
  auto info = c->iq(
      "<iq type='get' id='d1' to='aa@localhost'><query "
      "xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  ASSERT_TRUE(ok(info)) << (info ? info->raw : "");
  bool found = false;
  for (const Node* f : info->child("query")->all("feature"))
    found = found || f->attr("var") == "urn:xmpp:pep-vcard-conversion:0";
  EXPECT_TRUE(found) << info->raw;
}

TEST_F(AvatarConversionTest, PepAvatarBecomesVCardPhotoAndPresenceHash) {
  auto c = client("ab", "pep");
  ASSERT_TRUE(c->connected());
  ASSERT_TRUE(vcard_set(*c, "<FN>Juliet</FN>"));
  std::string bytes = image("ab");
  ASSERT_TRUE(publish_avatar(*c, bytes, "image/png"));
  auto photo = wait_photo(*c, bytes);
  ASSERT_TRUE(photo);
  EXPECT_EQ(photo->first, "image/png");
  EXPECT_EQ(photo->second, bytes);
  // The rest of the vCard is kept.
  auto v = vcard_get(*c);
  ASSERT_TRUE(v && v->child("FN", "vcard-temp"));
  EXPECT_EQ(v->child("FN", "vcard-temp")->text, "Juliet");

  auto p = own_presence(*c);
  ASSERT_TRUE(p);
  EXPECT_EQ(photo_hash(*p), sha1_hex(bytes)) << p->raw;
}

TEST_F(AvatarConversionTest, VCardPhotoBecomesPepAvatarAndPresenceHash) {
  auto c = client("ac", "legacy");
  ASSERT_TRUE(c->connected());
  std::string bytes = image("ac");
  std::string id = sha1_hex(bytes);
  ASSERT_TRUE(vcard_set(*c, "<FN>Romeo</FN>" + photo_xml(bytes, "image/jpeg")));
  // The hash is current as soon as the set is answered.
  auto p = own_presence(*c);
  ASSERT_TRUE(p);
  EXPECT_EQ(photo_hash(*p), id) << p->raw;

  std::optional<Node> meta;
  ASSERT_TRUE(poll_until([&] { return (meta = newest_item(*c, kMetadata)).has_value(); }));
  EXPECT_EQ(meta->attr("id"), id);
  const Node* md = meta->child("metadata", kMetadata);
  const Node* info = md ? md->child("info", kMetadata) : nullptr;
  ASSERT_TRUE(info) << meta->raw;
  EXPECT_EQ(info->attr("id"), id);
  EXPECT_EQ(info->attr("type"), "image/jpeg");
  EXPECT_EQ(info->attr("bytes"), std::to_string(bytes.size()));
  auto data = newest_item(*c, kData);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->attr("id"), id);
  const Node* d = data->child("data", kData);
  ASSERT_TRUE(d);
  EXPECT_EQ(unb64(d->text), bytes);
}

TEST_F(AvatarConversionTest, OneVCardSetMakesOneMetadataNotification) {
  auto legacy = client("ad", "legacy");
  auto watcher = client("ad", "watcher");
  ASSERT_TRUE(legacy->connected() && watcher->connected());
  ASSERT_TRUE(go_online(*legacy) && go_online(*watcher));
  settle(*watcher);
  std::string bytes = image("ad");
  ASSERT_TRUE(vcard_set(*legacy, photo_xml(bytes, "image/png")));
  ASSERT_TRUE(watcher->wait_for(metadata_event(sha1_hex(bytes))));
  // Whatever the conversion did meanwhile (the vCard it would write back, a second
  // publication) would have come by now.
  StropheClient::pump_until([] { return false; }, deadline(1s));
  settle(*watcher);
  EXPECT_FALSE(watcher->has(metadata_event())) << "a second metadata publication";
  // The same photo again (the owner edits another field): nothing to publish.
  ASSERT_TRUE(vcard_set(*legacy, "<FN>X</FN>" + photo_xml(bytes, "image/png")));
  StropheClient::pump_until([] { return false; }, deadline(1s));
  settle(*watcher);
  EXPECT_FALSE(watcher->has(metadata_event()));
}

TEST_F(AvatarConversionTest, OnePepPublicationMakesOneMetadataNotification) {
  auto modern = client("ae", "modern");
  auto watcher = client("ae", "watcher");
  ASSERT_TRUE(modern->connected() && watcher->connected());
  ASSERT_TRUE(go_online(*modern) && go_online(*watcher));
  settle(*watcher);
  std::string bytes = image("ae");
  ASSERT_TRUE(publish_avatar(*modern, bytes, "image/png"));
  ASSERT_TRUE(watcher->wait_for(metadata_event(sha1_hex(bytes))));
  ASSERT_TRUE(wait_photo(*modern, bytes));  // the conversion has written the vCard
  StropheClient::pump_until([] { return false; }, deadline(1s));
  settle(*watcher);
  EXPECT_FALSE(watcher->has(metadata_event())) << "the vCard write came back as a publication";
}

TEST_F(AvatarConversionTest, RemovingThePhotoDisablesTheAvatarAndBack) {
  auto c = client("af", "legacy");
  auto watcher = client("af", "watcher");
  ASSERT_TRUE(c->connected() && watcher->connected());
  ASSERT_TRUE(go_online(*c) && go_online(*watcher));
  settle(*watcher);
  std::string bytes = image("af");
  ASSERT_TRUE(vcard_set(*c, "<FN>F</FN>" + photo_xml(bytes, "image/png")));
  ASSERT_TRUE(watcher->wait_for(metadata_event(sha1_hex(bytes))));
  // The PHOTO goes: XEP-0084 §4.5, an empty metadata item.
  ASSERT_TRUE(vcard_set(*c, "<FN>F</FN>"));
  ASSERT_TRUE(watcher->wait_for(metadata_event(std::string())));
  auto p = own_presence(*c);
  ASSERT_TRUE(p);
  EXPECT_EQ(photo_hash(*p), "") << p->raw;  // known: no avatar

  // An empty vCard after a new avatar: disabled again.
  ASSERT_TRUE(vcard_set(*c, photo_xml(bytes, "image/png")));
  ASSERT_TRUE(watcher->wait_for(metadata_event(sha1_hex(bytes))));
  ASSERT_TRUE(vcard_set(*c, ""));
  ASSERT_TRUE(watcher->wait_for(metadata_event(std::string())));

  // And from PEP: a client disables its avatar, the vCard loses its PHOTO.
  ASSERT_TRUE(publish_avatar(*c, bytes, "image/png"));
  ASSERT_TRUE(wait_photo(*c, bytes));
  auto r = publish(*c, kMetadata, "off", "<metadata xmlns='" + std::string(kMetadata) + "'/>");
  ASSERT_TRUE(ok(r)) << (r ? r->raw : "");
  EXPECT_TRUE(poll_until([&] {
    auto v = vcard_get(*c);
    return v && !v->child("PHOTO", "vcard-temp");
  }));

  // A client that retracts its metadata instead: no avatar is left in PEP, none in the vCard.
  ASSERT_TRUE(publish_avatar(*c, bytes, "image/png"));
  ASSERT_TRUE(wait_photo(*c, bytes));
  r = c->iq("<iq type='set' id='" + c->next_id() + "'><pubsub xmlns='" + std::string(kPubsub) +
            "'><retract node='" + kMetadata + "'><item id='" + sha1_hex(bytes) +
            "'/></retract></pubsub></iq>");
  ASSERT_TRUE(ok(r)) << (r ? r->raw : "");
  EXPECT_TRUE(poll_until([&] {
    auto v = vcard_get(*c);
    return v && !v->child("PHOTO", "vcard-temp");
  }));
}

TEST_F(AvatarConversionTest, WhatTheClientPutInPresenceIsRespected) {
  auto c = client("ag", "x");
  ASSERT_TRUE(c->connected());
  // No avatar yet: the server says so.
  auto p = own_presence(*c);
  ASSERT_TRUE(p);
  EXPECT_EQ(photo_hash(*p), "") << p->raw;

  std::string bytes = image("ag");
  std::string id = sha1_hex(bytes);
  ASSERT_TRUE(vcard_set(*c, photo_xml(bytes, "image/png")));
  // <x/> without <photo/> ("not ready"): replaced (XEP-0398 §4 MUST).
  p = own_presence(*c, "<presence><x xmlns='vcard-temp:x:update'/></presence>");
  ASSERT_TRUE(p);
  EXPECT_EQ(photo_hash(*p), id) << p->raw;
  EXPECT_EQ(p->all("x", kUpdate).size(), 1u) << p->raw;
  // An empty <photo/>: left as it is.
  p = own_presence(*c, "<presence><x xmlns='vcard-temp:x:update'><photo/></x></presence>");
  ASSERT_TRUE(p);
  EXPECT_EQ(photo_hash(*p), "") << p->raw;
  // A hash of the client's own: kept (the §4 MAY is not taken).
  p = own_presence(*c,
                   "<presence><x xmlns='vcard-temp:x:update'><photo>0123abcd</photo></x>"
                   "</presence>");
  ASSERT_TRUE(p);
  EXPECT_EQ(photo_hash(*p), "0123abcd") << p->raw;
  // Unavailable presence gets nothing.
  c->send("<presence type='unavailable'/>");
  auto gone = c->wait_for(presence_from(c->jid(), "unavailable"));
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->child("x", kUpdate)) << gone->raw;
}

TEST_F(AvatarConversionTest, DirectedPresenceCarriesTheHash) {
  auto a = client("ah", "a");
  auto b = client("ai", "b");
  ASSERT_TRUE(a->connected() && b->connected());
  ASSERT_TRUE(go_online(*b));
  std::string bytes = image("ah");
  ASSERT_TRUE(vcard_set(*a, photo_xml(bytes, "image/gif")));
  // A presence straight to a JID outside the roster (as a MUC join is).
  a->send("<presence to='" + b->jid() + "'/>");
  auto p = b->wait_for(presence_from(a->jid()));
  ASSERT_TRUE(p);
  EXPECT_EQ(photo_hash(*p), sha1_hex(bytes)) << p->raw;
}

TEST_F(AvatarConversionTest, ContactsSeeTheHash) {
  auto a = client("aj", "a");
  auto b = client("ak", "b");
  ASSERT_TRUE(a->connected() && b->connected());
  ASSERT_TRUE(go_online(*a) && go_online(*b));
  ASSERT_TRUE(subscribe(*b, *a));  // b sees a's presence
  std::string bytes = image("aj");
  ASSERT_TRUE(publish_avatar(*a, bytes, "image/png"));
  ASSERT_TRUE(wait_photo(*a, bytes));
  a->send("<presence><status>new avatar</status></presence>");
  auto p = b->wait_for([&](const Node& n) {
    return presence_from(a->jid())(n) && n.child("status") &&
           n.child("status")->text == "new avatar";
  });
  ASSERT_TRUE(p);
  EXPECT_EQ(photo_hash(*p), sha1_hex(bytes)) << p->raw;
}

// slixmpp: the xep_0084 plugin publishes, the xep_0054 plugin reads the vCard; the xep_0054
// plugin sets a vCard, the xep_0084 plugin retrieves the avatar.
TEST_F(AvatarConversionTest, SlixmppAvatarPluginsBothWays) {
  auto r = run_slixmpp(server(), "avatar_conversion.py", {"--user", "al@" + kHost}, kPassword);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"vcard_has_pep_avatar\": true"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"pep_has_vcard_photo\": true"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace parley::it
