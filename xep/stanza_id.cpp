#include "xep/stanza_id.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace parley::xep::sid {

namespace {

bool is(const xml::Element& e, std::string_view name) {
  return e.name() == name && e.xmlns() == kNs;
}

bool empty_content(const xml::Element& e) {
  return e.nodes().empty();
}

// RFC 4648 §6 alphabet in lower case: URL-safe, case-insensitive-safe, no padding for 15 bytes.
std::string base32(const unsigned char* data, size_t n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  out.reserve((n * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

constexpr size_t kIdBytes = 15;

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("SHA-256 unavailable");
  }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }
  // Length-prefixed, so ("ab", "c") and ("a", "bc") hash differently.
  void field(std::string_view data) {
    std::array<unsigned char, 8> len{};
    uint64_t n = data.size();
    for (int i = 7; i >= 0; --i, n >>= 8) len[i] = static_cast<unsigned char>(n & 0xff);
    EVP_DigestUpdate(ctx_, len.data(), len.size());
    update(data);
  }
  std::array<unsigned char, 32> finish() {
    std::array<unsigned char, 32> out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, out.data(), &len);
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

Parsed<StanzaId> parse_stanza_id(const xml::Element& e) {
  if (!is(e, "stanza-id")) return parse_error("not a <stanza-id/>");
  if (e.get("id").empty() || e.get("by").empty())
    return parse_error("<stanza-id/> needs 'id' and 'by'");
  if (!empty_content(e)) return parse_error("<stanza-id/> must be empty");
  return StanzaId{std::string(e.get("id")), std::string(e.get("by"))};
}

Parsed<OriginId> parse_origin_id(const xml::Element& e) {
  if (!is(e, "origin-id")) return parse_error("not an <origin-id/>");
  if (e.get("id").empty()) return parse_error("<origin-id/> needs 'id'");
  if (!empty_content(e)) return parse_error("<origin-id/> must be empty");
  return OriginId{std::string(e.get("id"))};
}

xml::Element to_element(const StanzaId& id) {
  xml::Element e("stanza-id", std::string(kNs));
  e.set("id", id.id).set("by", id.by);
  return e;
}

xml::Element to_element(const OriginId& id) {
  xml::Element e("origin-id", std::string(kNs));
  e.set("id", id.id);
  return e;
}

std::vector<StanzaId> stanza_ids(const xml::Element& stanza) {
  std::vector<StanzaId> out;
  for (const xml::Element* e : stanza.children("stanza-id", kNs))
    if (auto id = parse_stanza_id(*e)) out.push_back(*id);
  return out;
}

std::optional<StanzaId> find_stanza_id(const xml::Element& stanza, std::string_view by) {
  for (const xml::Element* e : stanza.children("stanza-id", kNs))
    if (auto id = parse_stanza_id(*e); id && id->by == by) return *id;
  return std::nullopt;
}

std::optional<std::string> find_origin_id(const xml::Element& stanza) {
  for (const xml::Element* e : stanza.children("origin-id", kNs))
    if (auto id = parse_origin_id(*e)) return id->id;
  return std::nullopt;
}

size_t strip_stanza_ids(xml::Element& stanza,
                        const std::function<bool(std::string_view by)>& strip) {
  auto& nodes = stanza.nodes();
  size_t before = nodes.size();
  std::erase_if(nodes, [&](const xml::Node& n) {
    return !n.is_text() && is(*n.element, "stanza-id") && strip(n.element->get("by"));
  });
  return before - nodes.size();
}

void add_stanza_id(xml::Element& stanza, const StanzaId& id) {
  strip_stanza_ids(stanza, [&](std::string_view by) { return by == id.by; });
  stanza.add(to_element(id));
}

std::string stable_id(std::string_view sender_bare, std::string_view recipient_bare,
                      std::string_view client_id, std::string_view body) {
  Sha256 body_hash;
  body_hash.update(body);
  auto body_digest = body_hash.finish();
  Sha256 h;
  h.field("parley-archive-id-1");  // a new derivation gets a new label
  h.field(sender_bare);
  h.field(recipient_bare);
  h.field(client_id);
  h.field(std::string_view(reinterpret_cast<const char*>(body_digest.data()), body_digest.size()));
  auto digest = h.finish();
  return base32(digest.data(), kIdBytes);
}

std::string random_id() {
  std::array<unsigned char, kIdBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return base32(bytes.data(), bytes.size());
}

std::string archive_id(const xml::Element& message, std::string_view sender_bare,
                       std::string_view recipient_bare) {
  std::string client_id;
  if (auto origin = find_origin_id(message))
    client_id = "origin:" + *origin;
  else if (auto id = message.get("id"); !id.empty())
    client_id = "id:" + std::string(id);
  if (client_id.empty()) return random_id();
  return stable_id(sender_bare, recipient_bare, client_id, message.child_text("body"));
}

}  // namespace parley::xep::sid
