#include "c2s/stream_util.h"

#include <openssl/rand.h>

#include <charconv>
#include <random>

#include "core/base64.h"
#include "xml/stanza.h"

namespace parley::c2s {

bool version_supported(std::string_view version) {
  size_t dot = version.find('.');
  if (version.empty() || dot == std::string_view::npos) return false;
  unsigned major = 0, minor = 0;
  auto parse = [](std::string_view s, unsigned& out) {
    if (s.empty() || s.size() > 9) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  if (!parse(version.substr(0, dot), major) || !parse(version.substr(dot + 1), minor)) return false;
  return major >= 1;
}

std::string random_id(size_t bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    // The CSPRNG cannot fail once seeded; this is only a fallback that still yields unique ids.
    thread_local std::mt19937_64 rng{std::random_device{}()};
    for (auto& c : raw) c = static_cast<char>(rng());
  }
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string stream_header(std::string_view domain, std::string_view to, std::string_view id,
                          std::string_view lang) {
  std::string out =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' id='";
  xml::escape_attr(out, id);
  out += '\'';
  if (!domain.empty()) {
    out += " from='";
    xml::escape_attr(out, domain);
    out += '\'';
  }
  if (!to.empty()) {
    out += " to='";
    xml::escape_attr(out, to);
    out += '\'';
  }
  out += " version='1.0' xml:lang='";
  xml::escape_attr(out, lang.empty() ? "en" : lang);
  out += "'>";
  return out;
}

std::string stream_error(std::string_view condition, std::string_view text,
                         std::string_view application) {
  std::string out = "<stream:error><";
  out += condition;
  out += " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>";
  out += application;
  if (!text.empty()) {
    out += "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>";
    xml::escape_text(out, text);
    out += "</text>";
  }
  out += "</stream:error>";
  return out;
}

std::optional<std::string> decode_sasl(std::string_view text) {
  // Whitespace inside the element is not part of RFC 4648 base64; tolerate it at the ends only.
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n' || text.front() == '\r' ||
                           text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t'))
    text.remove_suffix(1);
  if (text.empty() || text == "=") return std::string();
  return base64_decode(text);
}

std::string sasl_failure(std::string_view condition, std::string_view text) {
  std::string out = "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><";
  out += condition;
  out += "/>";
  if (!text.empty()) {
    out += "<text>";
    xml::escape_text(out, text);
    out += "</text>";
  }
  out += "</failure>";
  return out;
}

std::string check_iq(const xml::Element& iq) {
  std::string_view type = iq.get("type");
  if (!iq.has("id")) return "an IQ needs an id (RFC 6120 §8.2.3)";
  if (type != "get" && type != "set" && type != "result" && type != "error")
    return "an IQ type must be get, set, result or error (RFC 6120 §8.2.3)";
  if (type == "get" || type == "set") {
    size_t elements = 0;
    for (const auto& n : iq.nodes())
      if (!n.is_text()) ++elements;
    if (elements != 1)
      return "an IQ get or set must have exactly one child element (RFC 6120 §8.2.3)";
  }
  return {};
}

}  // namespace parley::c2s
