// XEP-0398 User Avatar to vCard-Based Avatars Conversion: an avatar published with XEP-0084
// (PEP nodes urn:xmpp:avatar:data and urn:xmpp:avatar:metadata, the pep module) becomes the
// PHOTO of the account's XEP-0054 vCard (the vcard module), a vCard PHOTO set by the owner is
// published as a XEP-0084 avatar, and the server puts the XEP-0153 photo hash into the owner's
// available presence.
//
// No loops: each direction reacts only to what the owner's client did (pep::ItemPublished and
// vcard::VCardChanged with by_client set); what this module writes through the services comes
// back with by_client false.
#include <openssl/evp.h>

#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/base64.h"
#include "core/module.h"
#include "modules/pep/service.h"
#include "modules/vcard/service.h"
#include "router/continuation.h"
#include "router/stanza_events.h"

namespace parley {
namespace {

constexpr std::string_view kFeature = "urn:xmpp:pep-vcard-conversion:0";
constexpr std::string_view kDataNs = "urn:xmpp:avatar:data";  // node and payload namespace
constexpr std::string_view kMetadataNs = "urn:xmpp:avatar:metadata";
constexpr std::string_view kUpdateNs = "vcard-temp:x:update";  // XEP-0153

// Presence from the owner's clients gets the hash before anything routes it (im, at
// kImPriority, stores and broadcasts it); below the filters (blocking).
constexpr int kPresencePriority = priority::kNormal;

std::string sha1_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha1(), nullptr) != 1)
    throw std::runtime_error("SHA-1 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& ch : s)
    if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch - 'A' + 'a');
  return s;
}

// Base64 as clients write it in vCards and PEP items: often wrapped in lines.
std::optional<std::string> decode(std::string_view text) {
  std::string compact;
  compact.reserve(text.size());
  for (char ch : text)
    if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') compact.push_back(ch);
  if (compact.empty()) return std::nullopt;
  return base64_decode(compact);
}

// The image type from its first bytes, for a vCard PHOTO without TYPE (XEP-0084's <info/>
// needs one).
std::string sniff_type(std::string_view b) {
  if (b.starts_with("\x89PNG\r\n\x1a\n")) return "image/png";
  if (b.starts_with("\xff\xd8\xff")) return "image/jpeg";
  if (b.starts_with("GIF87a") || b.starts_with("GIF89a")) return "image/gif";
  if (b.size() >= 12 && b.starts_with("RIFF") && b.substr(8, 4) == "WEBP") return "image/webp";
  return {};
}

// What a vCard says about its photo.
struct Photo {
  enum class Kind { None, Binary, Unusable } kind = Kind::None;
  std::string type;   // MIME type (Binary)
  std::string bytes;  // the image (Binary)
};

Photo photo_of(const xml::Element* vcard) {
  Photo p;
  const xml::Element* photo = vcard ? vcard->child("PHOTO", vcard::kNs) : nullptr;
  if (!photo) return p;
  p.kind = Photo::Kind::Unusable;  // EXTVAL (a URL), bad base64, unknown type
  const xml::Element* binval = photo->child("BINVAL", vcard::kNs);
  if (!binval) return p;
  auto bytes = decode(binval->text());
  if (!bytes) return p;
  p.type = photo->child_text("TYPE", vcard::kNs);
  if (p.type.empty()) p.type = sniff_type(*bytes);
  if (p.type.empty()) return p;
  p.kind = Photo::Kind::Binary;
  p.bytes = std::move(*bytes);
  return p;
}

// The XEP-0153 hash of a vCard: "" when it has no photo, nullopt when it has one this module
// cannot hash (then presence is left as the client sent it).
std::optional<std::string> hash_of(const xml::Element* vcard) {
  Photo p = photo_of(vcard);
  switch (p.kind) {
    case Photo::Kind::None:
      return std::string();
    case Photo::Kind::Binary:
      return sha1_hex(p.bytes);
    case Photo::Kind::Unusable:
      break;
  }
  return std::nullopt;
}

// XEP-0398 §4: the hash goes into every available presence that has no <photo/> of the
// client's own in a vcard-temp:x:update <x/>. An <x/> without <photo/> ("not ready", XEP-0153
// §4.2) is replaced; a client's empty <photo/> ("no avatar") is left alone, and so is a
// client's non-empty hash (the §4 MAY is not taken: a client that just published a new avatar
// may know it before the conversion has finished).
bool wants_hash(const xml::Element& presence) {
  for (const auto* x : presence.children("x", kUpdateNs))
    if (x->child("photo", kUpdateNs)) return false;
  return true;
}

void inject(xml::Element& presence, const std::optional<std::string>& hash) {
  if (!hash) return;
  presence.remove_children("x", kUpdateNs);
  auto& x = presence.add("x", std::string(kUpdateNs));
  x.text_child("photo", *hash);  // empty: the account has no avatar
}

// Per account: the current hash, loaded from the vCard once while the account has sessions.
struct Entry {
  bool loading = false;
  bool loaded = false;
  bool draining = false;  // presences that waited for the load are being sent on
  std::optional<std::string> hash;
  std::vector<Continuation> waiting;  // in arrival order
};

struct State {
  State(Server& s, std::shared_ptr<pep::Service> p, std::shared_ptr<vcard::Service> v)
      : server(s), pep(std::move(p)), vcards(std::move(v)) {}
  Server& server;
  std::shared_ptr<pep::Service> pep;
  std::shared_ptr<vcard::Service> vcards;
  std::mutex mutex;
  std::unordered_map<std::string, Entry> accounts;  // by bare JID
};
using StatePtr = std::shared_ptr<State>;

// The load is done: the presences that waited get the hash and go on, in their order. One
// that arrives meanwhile joins the queue rather than overtaking it.
void loaded(const StatePtr& st, const std::string& key, std::optional<std::string> hash) {
  bool first = true;
  for (;;) {
    std::vector<Continuation> batch;
    {
      std::lock_guard lock(st->mutex);
      auto it = st->accounts.find(key);
      if (it == st->accounts.end()) return;
      Entry& entry = it->second;
      if (first) {
        entry.loading = false;
        entry.loaded = true;  // a failed load counts too: presence then goes out untouched
        entry.hash = std::move(hash);
        first = false;
      }
      if (entry.waiting.empty()) {
        entry.draining = false;
        // The sessions ended while the vCard was read: nobody will close the entry later.
        auto account = Jid::parse(key);
        if (account && st->server.sessions().resources(*account).empty()) st->accounts.erase(it);
        return;
      }
      entry.draining = true;
      batch.swap(entry.waiting);
      hash = entry.hash;
    }
    for (auto& waiting : batch) {
      inject(*waiting.event().stanza, hash);
      waiting.resume();
    }
  }
}

// Marks `entry` loading; true when the caller is to start the load (it was neither loading nor
// loaded). Called with the lock held.
bool claim_load(Entry& entry) {
  if (entry.loading || entry.loaded) return false;
  entry.loading = true;
  return true;
}

// Reads `account`'s vCard on its worker, after the vCard writes queued before.
void load(const StatePtr& st, const Jid& account) {
  st->vcards->get(account, [st, key = account.str()](vcard::Error e,
                                                     std::shared_ptr<const xml::Element> vcard) {
    std::optional<std::string> hash;
    if (e.empty()) {
      try {
        hash = hash_of(vcard.get());
      } catch (const std::exception& ex) {
        PLOG(Warn, "avatar_conversion")
            << "hashing the vCard photo of " << key << " failed: " << ex.what();
      }
    }
    loaded(st, key, std::move(hash));
  });
}

// ---- From PEP to vCard (XEP-0398 §3.1) ----

void log_vcard_error(const std::string& account, const vcard::Error& e) {
  if (!e.empty()) {
    PLOG(Warn, "avatar_conversion")
        << "storing the avatar of " << account << " in its vCard failed: " << e;
  }
}

void remove_photo(const StatePtr& st, const Jid& owner) {
  st->vcards->update(
      owner,
      [](xml::Element& vcard) {
        if (!vcard.child("PHOTO")) return false;
        vcard.remove_children("PHOTO");
        return true;
      },
      [key = owner.str()](vcard::Error e) { log_vcard_error(key, e); });
}

void store_photo(const StatePtr& st, const Jid& owner, std::string type, std::string bytes) {
  st->vcards->update(
      owner,
      [type = std::move(type), bytes = std::move(bytes)](xml::Element& vcard) {
        Photo now = photo_of(&vcard);
        if (now.kind == Photo::Kind::Binary && now.bytes == bytes && now.type == type) return false;
        vcard.remove_children("PHOTO");
        auto& photo = vcard.add("PHOTO");
        photo.text_child("TYPE", type);
        photo.text_child("BINVAL", base64_encode(bytes));
        return true;
      },
      [key = owner.str()](vcard::Error e) { log_vcard_error(key, e); });
}

// The owner published metadata: empty disables the avatar (XEP-0084 §4.5); otherwise the
// <info/> that is not an external URL points at the image in the data node, which becomes the
// vCard's PHOTO once its SHA-1 matches the id.
void pep_to_vcard(const StatePtr& st, const Jid& owner, const xml::Element& metadata) {
  if (metadata.name() != "metadata" || metadata.xmlns() != kMetadataNs) return;
  auto infos = metadata.children("info", kMetadataNs);
  if (infos.empty()) return remove_photo(st, owner);
  const xml::Element* info = nullptr;
  for (const auto* i : infos)
    if (!i->has("url")) {
      info = i;
      break;
    }
  if (!info) return;  // only external avatars: nothing a vCard can hold
  std::string id = lower(std::string(info->get("id")));
  std::string type(info->get("type"));
  st->pep->items(owner, std::string(kDataNs),
                 [st, owner, id, type](pep::Error e, std::vector<pep::Item> items) {
                   if (e) {
                     PLOG(Info, "avatar_conversion")
                         << "no avatar data for " << owner.str() << ": " << e.condition;
                     return;
                   }
                   for (const auto& item : items) {
                     if (lower(item.id) != id || !item.payload) continue;
                     const xml::Element& data = *item.payload;
                     if (data.name() != "data" || data.xmlns() != kDataNs) return;
                     auto bytes = decode(data.text());
                     if (!bytes || sha1_hex(*bytes) != id) {
                       PLOG(Info, "avatar_conversion")
                           << "avatar data " << id << " of " << owner.str()
                           << " does not match its id; vCard left alone";
                       return;
                     }
                     std::string t = type.empty() ? sniff_type(*bytes) : type;
                     if (t.empty()) return;
                     return store_photo(st, owner, std::move(t), std::move(*bytes));
                   }
                   PLOG(Info, "avatar_conversion") << "avatar data " << id << " of " << owner.str()
                                                   << " not found; vCard left alone";
                 });
}

// The owner retracted metadata or purged or deleted the node: if no avatar is left in PEP, the
// vCard loses its PHOTO as with empty metadata.
void metadata_removed(const StatePtr& st, const Jid& owner) {
  st->pep->items(owner, std::string(kMetadataNs),
                 [st, owner](pep::Error e, std::vector<pep::Item> items) {
                   if (e && e.condition != "item-not-found") return;
                   bool avatar = !e && !items.empty() && items.front().payload &&
                                 items.front().payload->child("info", kMetadataNs);
                   if (!avatar) remove_photo(st, owner);
                 });
}

// ---- From vCard to PEP (XEP-0398 §3.2) ----

void log_pep_error(const std::string& account, std::string_view node, const pep::Error& e) {
  if (e) {
    PLOG(Warn, "avatar_conversion") << "publishing " << node << " of " << account
                                    << " failed: " << e.condition << " " << e.pubsub_condition;
  }
}

void publish_metadata(const StatePtr& st, const Jid& owner, std::string id, xml::Element payload) {
  st->pep->publish(
      owner, std::string(kMetadataNs), std::move(id),
      std::make_shared<const xml::Element>(std::move(payload)), {},
      [key = owner.str()](pep::Error e, std::string) { log_pep_error(key, kMetadataNs, e); });
}

// The owner set a vCard: its photo is published as the avatar (data first, then metadata,
// both with the image's SHA-1 as item id), or, with the photo gone, an empty metadata item
// disables the avatar. Nothing is published when PEP already says the same, so re-saving a
// vCard for its other fields sends no notifications. The nodes keep the pep module's
// defaults (or the owner's configuration): no publish-options, which would fail on a node the
// owner configured differently.
void vcard_to_pep(const StatePtr& st, const Jid& owner, std::shared_ptr<const xml::Element> vc) {
  Photo photo = photo_of(vc.get());
  if (photo.kind == Photo::Kind::Unusable) return;
  std::string hash = photo.kind == Photo::Kind::Binary ? sha1_hex(photo.bytes) : std::string();
  st->pep->items(owner, std::string(kMetadataNs),
                 [st, owner, photo = std::move(photo), hash](pep::Error e,
                                                             std::vector<pep::Item> items) mutable {
                   std::string current;  // the id of the avatar PEP has now ("" = none)
                   if (!e && !items.empty() && items.front().payload)
                     if (const auto* info = items.front().payload->child("info", kMetadataNs))
                       current = lower(std::string(info->get("id")));
                   if (current == hash) return;
                   if (photo.kind == Photo::Kind::None)
                     return publish_metadata(st, owner, "",
                                             xml::Element("metadata", std::string(kMetadataNs)));
                   xml::Element data("data", std::string(kDataNs));
                   data.add_text(base64_encode(photo.bytes));
                   xml::Element metadata("metadata", std::string(kMetadataNs));
                   metadata.add("info")
                       .set("id", hash)
                       .set("bytes", std::to_string(photo.bytes.size()))
                       .set("type", photo.type);
                   st->pep->publish(owner, std::string(kDataNs), hash,
                                    std::make_shared<const xml::Element>(std::move(data)), {},
                                    [st, owner, hash, metadata = std::move(metadata)](
                                        pep::Error e, std::string) mutable {
                                      if (e) return log_pep_error(owner.str(), kDataNs, e);
                                      publish_metadata(st, owner, hash, std::move(metadata));
                                    });
                 });
}

struct AvatarConversion {
  static std::vector<std::string> depends() { return {"pep", "vcard"}; }

  explicit AvatarConversion(ModuleContext& ctx) {
    auto st = std::make_shared<State>(ctx.server(), ctx.service<pep::Service>(),
                                      ctx.service<vcard::Service>());
    ctx.feature(std::string(kFeature), FeatureScope::Account);

    ctx.on<pep::ItemPublished>(priority::kNormal, [st](pep::ItemPublished& e) {
      if (e.by_client && e.node == kMetadataNs && e.item.payload)
        pep_to_vcard(st, e.owner.bare(), *e.item.payload);
      return Flow::Continue;
    });

    ctx.on<pep::ItemsRemoved>(priority::kNormal, [st](pep::ItemsRemoved& e) {
      if (e.by_client && e.node == kMetadataNs) metadata_removed(st, e.owner.bare());
      return Flow::Continue;
    });

    // Every vCard write (the owner's, or this module's) gives the cached hash; only the
    // owner's is converted to PEP. On the account's worker, before the owner's set is
    // answered: a presence the client sends after the result already gets the new hash.
    ctx.on<vcard::VCardChanged>(priority::kNormal, [st](vcard::VCardChanged& e) {
      std::optional<std::string> hash;
      try {
        hash = hash_of(e.vcard.get());
      } catch (const std::exception& ex) {
        PLOG(Warn, "avatar_conversion")
            << "hashing the vCard photo of " << e.account.str() << " failed: " << ex.what();
      }
      {
        std::lock_guard lock(st->mutex);
        // Not loaded yet: the load, later on the same worker, reads this vCard.
        if (auto it = st->accounts.find(e.account.str());
            it != st->accounts.end() && it->second.loaded)
          it->second.hash = hash;
      }
      if (e.by_client) vcard_to_pep(st, e.account.bare(), e.vcard);
      return Flow::Continue;
    });

    // XEP-0398 §4: available presence, broadcast or directed (a MUC join), gets the hash.
    ctx.on<StanzaFromClient>(kPresencePriority, [st](StanzaFromClient& e) {
      if (!e.origin || e.stanza->name() != "presence" || e.stanza->has("type"))
        return Flow::Continue;
      if (!wants_hash(*e.stanza)) return Flow::Continue;
      Jid account = e.from.bare();
      bool start = false;
      {
        std::lock_guard lock(st->mutex);
        Entry& entry = st->accounts[account.str()];
        if (entry.loaded && !entry.draining) {
          inject(*e.stanza, entry.hash);
          return Flow::Continue;
        }
        entry.waiting.push_back(suspend(e));
        start = claim_load(entry);
      }
      if (start) load(st, account);
      return Flow::Stop;
    });

    // The load starts when the session is bound, so the initial presence rarely waits.
    ctx.on<SessionBound>(priority::kNormal, [st](SessionBound& e) {
      if (!e.session) return Flow::Continue;
      Jid account = e.session->jid().bare();
      bool start = false;
      {
        std::lock_guard lock(st->mutex);
        start = claim_load(st->accounts[account.str()]);
      }
      if (start) load(st, account);
      return Flow::Continue;
    });

    // The account's last session is gone: its hash is loaded again next time.
    ctx.on<SessionClosed>(priority::kNormal, [st](SessionClosed& e) {
      if (!e.session) return Flow::Continue;
      Jid account = e.session->jid().bare();
      if (!e.server.sessions().resources(account).empty()) return Flow::Continue;
      std::lock_guard lock(st->mutex);
      auto it = st->accounts.find(account.str());
      if (it != st->accounts.end() && !it->second.loading && !it->second.draining &&
          it->second.waiting.empty())
        st->accounts.erase(it);
      return Flow::Continue;
    });
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::AvatarConversion)
