#include "s2s/protocol.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "core/hmac.h"
#include "jid/jid.h"

namespace parley::s2s {

namespace {

std::string hex(const uint8_t* data, size_t len) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 15];
  }
  return out;
}

void attr(std::string& out, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  out += ' ';
  out += name;
  out += "='";
  xml::escape_attr(out, value);
  out += '\'';
}

}  // namespace

std::string dialback_key(std::string_view secret, std::string_view receiving,
                         std::string_view originating, std::string_view stream_id) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  std::string key = hex(digest, sizeof digest);
  std::string text;
  text.reserve(receiving.size() + originating.size() + stream_id.size() + 2);
  text.append(receiving).append(" ").append(originating).append(" ").append(stream_id);
  uint8_t mac[64];
  size_t n = hmac(HmacDigest::Sha256, key.data(), key.size(), text.data(), text.size(), mac);
  return hex(mac, n);
}

bool keys_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string stream_header(std::string_view from, std::string_view to, std::string_view id,
                          bool version) {
  std::string out =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
      "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback'";
  attr(out, "from", from);
  attr(out, "to", to);
  attr(out, "id", id);
  out += version ? " version='1.0'>" : ">";
  return out;
}

void to_client_namespace(xml::Element& e) {
  if (e.xmlns() == kServerNs) e.set_xmlns("jabber:client");
  for (auto& node : e.nodes())
    if (node.element) to_client_namespace(*node.element);
}

std::string_view check_addressing(const xml::Element& stanza,
                                  const std::function<bool(std::string_view)>& authenticated,
                                  const std::function<bool(std::string_view)>& ours) {
  auto from = Jid::parse(stanza.get("from"));
  auto to = Jid::parse(stanza.get("to"));
  if (!from || !to) return "improper-addressing";
  if (!authenticated(from->domain())) return "invalid-from";
  if (!ours(to->domain())) return "host-unknown";
  return {};
}

ParsedDialback parse_dialback(const xml::Element& e) {
  ParsedDialback out;
  if (e.xmlns() != kDialbackNs) return out;
  if (e.name() == "result")
    out.value.kind = DialbackElement::Kind::Result;
  else if (e.name() == "verify")
    out.value.kind = DialbackElement::Kind::Verify;
  else
    return out;
  auto from = Jid::parse(e.get("from"));
  auto to = Jid::parse(e.get("to"));
  if (!from || !to || from->has_local() || from->has_resource() || to->has_local() ||
      to->has_resource())
    return out;
  out.value.from = from->domain();
  out.value.to = to->domain();
  out.value.id = std::string(e.get("id"));
  out.value.type = std::string(e.get("type"));
  out.value.key = e.text();
  // A verify always names the stream it is about (XEP-0220 §2.2.1).
  if (out.value.kind == DialbackElement::Kind::Verify && out.value.id.empty()) return out;
  out.ok = true;
  return out;
}

std::string dialback_element(const DialbackElement& d) {
  std::string out = d.kind == DialbackElement::Kind::Result ? "<db:result" : "<db:verify";
  attr(out, "from", d.from);
  attr(out, "to", d.to);
  attr(out, "id", d.id);
  attr(out, "type", d.type);
  if (d.key.empty()) {
    out += "/>";
  } else {
    out += '>';
    xml::escape_text(out, d.key);
    out += d.kind == DialbackElement::Kind::Result ? "</db:result>" : "</db:verify>";
  }
  return out;
}

std::string dialback_error(const DialbackElement& d, std::string_view condition) {
  std::string out = d.kind == DialbackElement::Kind::Result ? "<db:result" : "<db:verify";
  attr(out, "from", d.from);
  attr(out, "to", d.to);
  attr(out, "id", d.id);
  out += " type='error'><error type='cancel'><";
  out += condition;
  out += " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>";
  out += d.kind == DialbackElement::Kind::Result ? "</db:result>" : "</db:verify>";
  return out;
}

}  // namespace parley::s2s
