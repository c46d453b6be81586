// JID parsing and normalization (RFC 7622) with ICU.
//
// localpart:    PRECIS UsernameCaseMapped (RFC 8265 §3.3) on the IdentifierClass (RFC 8264
//               §4.2), approximated with ICU character properties, plus the characters RFC 7622
//               §3.3.1 forbids.
// domainpart:   IDNA2008 via UTS #46 (nontransitional), kept in its Unicode form (RFC 7622
//               §3.2), or an IP literal.
// resourcepart: PRECIS OpaqueString (RFC 8265 §4.2) on the FreeformClass (RFC 8264 §4.3).
//
// Results are cached: the same few thousand JIDs appear on every stanza, and ICU normalization
// costs microseconds where a cache hit costs a hash.
#include "jid/jid.h"

#include <arpa/inet.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uidna.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <array>
#include <mutex>
#include <unordered_map>

namespace parley {

using namespace std::string_view_literals;

namespace {

constexpr size_t kMaxPartBytes = 1023;  // RFC 7622 §3.1
// Work bound for a domain before mapping (UTS #46 may drop ignorable code points).
constexpr size_t kMaxDomainInputBytes = 3 * kMaxPartBytes;

// ---------------------------------------------------------------------------------------------
// Bounded, thread-safe normalization cache: a handful of shards, each a map that is simply
// cleared when it grows past its share. Clearing is cheap and a working set that fits is kept;
// no LRU bookkeeping on the hit path.

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

class PrepCache {
 public:
  static constexpr size_t kShards = 16;
  static constexpr size_t kPerShard = 1024;
  static constexpr size_t kMaxKeyBytes = 256;  // longer inputs are rare and not worth the memory

  // Key = one byte naming the part kind + the raw input.
  bool lookup(std::string_view key, std::optional<std::string>& out) {
    Shard& s = shard(key);
    std::lock_guard lock(s.mutex);
    auto it = s.map.find(key);
    if (it == s.map.end()) return false;
    out = it->second;
    return true;
  }

  void store(std::string_view key, const std::optional<std::string>& value) {
    if (key.size() > kMaxKeyBytes) return;
    Shard& s = shard(key);
    std::lock_guard lock(s.mutex);
    if (s.map.size() >= kPerShard) s.map.clear();
    s.map.emplace(std::string(key), value);
  }

 private:
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::optional<std::string>, StringHash, std::equal_to<>> map;
  };
  Shard& shard(std::string_view key) { return shards_[StringHash{}(key) % kShards]; }
  std::array<Shard, kShards> shards_;
};

PrepCache& cache() {
  static PrepCache c;
  return c;
}

template <typename Fn>
std::optional<std::string> cached(char kind, std::string_view input, Fn&& compute) {
  if (input.size() + 1 > PrepCache::kMaxKeyBytes) return compute(input);
  char buf[PrepCache::kMaxKeyBytes];
  buf[0] = kind;
  std::copy(input.begin(), input.end(), buf + 1);
  std::string_view key(buf, input.size() + 1);
  std::optional<std::string> out;
  if (cache().lookup(key, out)) return out;
  out = compute(input);
  cache().store(key, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Character classes.

bool valid_utf8(std::string_view s) {
  int32_t i = 0, n = static_cast<int32_t>(s.size());
  while (i < n) {
    UChar32 c;
    U8_NEXT(s.data(), i, n, c);
    if (c < 0) return false;
  }
  return true;
}

std::optional<icu::UnicodeString> decode(std::string_view s) {
  if (!valid_utf8(s)) return std::nullopt;
  return icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
}

std::string encode(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

bool jid_forbidden_ascii(UChar32 c) {
  // RFC 7622 §3.3.1: " & ' / : < > @ are not allowed in a localpart.
  switch (c) {
    case '"':
    case '&':
    case '\'':
    case '/':
    case ':':
    case '<':
    case '>':
    case '@':
      return true;
    default:
      return false;
  }
}

// Common disallowed properties of RFC 8264 §9: Controls, Ignorables, OldHangulJamo, Unassigned.
bool precis_disallowed_common(UChar32 c) {
  int8_t gc = u_charType(c);
  if (gc == U_CONTROL_CHAR || gc == U_UNASSIGNED || gc == U_SURROGATE || gc == U_PRIVATE_USE_CHAR) {
    return true;
  }
  if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) return true;
  int32_t hst = u_getIntPropertyValue(c, UCHAR_HANGUL_SYLLABLE_TYPE);
  return hst == U_HST_LEADING_JAMO || hst == U_HST_VOWEL_JAMO || hst == U_HST_TRAILING_JAMO;
}

// RFC 5892 §2.6 exceptions (used by RFC 8264 §9.6).
int exception_class(UChar32 c) {  // 1 = PVALID, -1 = DISALLOWED, 0 = no exception
  switch (c) {
    case 0x00DF:
    case 0x03C2:
    case 0x06FD:
    case 0x06FE:
    case 0x0F0B:
    case 0x3007:
      return 1;
    case 0x0640:
    case 0x07FA:
    case 0x302E:
    case 0x302F:
    case 0x3031:
    case 0x3032:
    case 0x3033:
    case 0x3034:
    case 0x3035:
    case 0x303B:
      return -1;
    default:
      return 0;
  }
}

bool has_compat(UChar32 c) {
  int32_t dt = u_getIntPropertyValue(c, UCHAR_DECOMPOSITION_TYPE);
  return dt != U_DT_NONE && dt != U_DT_CANONICAL;
}

// IdentifierClass (RFC 8264 §4.2.1): LetterDigits and ASCII7 are valid; HasCompat, symbols,
// punctuation, spaces and OtherLetterDigits are not. CONTEXTJ/CONTEXTO code points are refused
// outright (their context rules are not implemented): they never occur in real usernames.
bool identifier_valid(UChar32 c) {
  if (c >= 0x21 && c <= 0x7E) return true;
  if (c < 0x80) return false;
  if (int e = exception_class(c)) return e > 0;
  if (precis_disallowed_common(c) || has_compat(c)) return false;
  switch (u_charType(c)) {
    case U_LOWERCASE_LETTER:
    case U_UPPERCASE_LETTER:
    case U_OTHER_LETTER:
    case U_DECIMAL_DIGIT_NUMBER:
    case U_MODIFIER_LETTER:
    case U_NON_SPACING_MARK:
    case U_COMBINING_SPACING_MARK:
      return true;
    default:
      return false;
  }
}

// FreeformClass (RFC 8264 §4.3.1): additionally symbols, punctuation, spaces, HasCompat and
// OtherLetterDigits are valid.
bool freeform_valid(UChar32 c) {
  if (c >= 0x20 && c <= 0x7E) return true;
  if (c < 0x80) return false;
  if (int e = exception_class(c)) return e > 0;
  if (precis_disallowed_common(c)) return false;
  switch (u_charType(c)) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
      return has_compat(c);
    default:
      return true;
  }
}

// RFC 5893 §2, as required by RFC 8265 §3.3.3 (Directionality Rule) for usernames.
bool bidi_rule_ok(const icu::UnicodeString& s) {
  bool rtl = false;
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1)) {
    UCharDirection d = u_charDirection(s.char32At(i));
    if (d == U_RIGHT_TO_LEFT || d == U_RIGHT_TO_LEFT_ARABIC || d == U_ARABIC_NUMBER) rtl = true;
  }
  if (!rtl || s.isEmpty()) return true;
  UCharDirection first = u_charDirection(s.char32At(0));
  bool ltr_label = first == U_LEFT_TO_RIGHT;
  if (!ltr_label && first != U_RIGHT_TO_LEFT && first != U_RIGHT_TO_LEFT_ARABIC) return false;
  bool en = false, an = false;
  UCharDirection last_non_nsm = first;
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1)) {
    UCharDirection d = u_charDirection(s.char32At(i));
    bool allowed;
    if (ltr_label) {
      allowed = d == U_LEFT_TO_RIGHT || d == U_EUROPEAN_NUMBER ||
                d == U_EUROPEAN_NUMBER_SEPARATOR || d == U_COMMON_NUMBER_SEPARATOR ||
                d == U_EUROPEAN_NUMBER_TERMINATOR || d == U_OTHER_NEUTRAL ||
                d == U_BOUNDARY_NEUTRAL || d == U_DIR_NON_SPACING_MARK;
    } else {
      allowed = d == U_RIGHT_TO_LEFT || d == U_RIGHT_TO_LEFT_ARABIC || d == U_ARABIC_NUMBER ||
                d == U_EUROPEAN_NUMBER || d == U_EUROPEAN_NUMBER_SEPARATOR ||
                d == U_COMMON_NUMBER_SEPARATOR || d == U_EUROPEAN_NUMBER_TERMINATOR ||
                d == U_OTHER_NEUTRAL || d == U_BOUNDARY_NEUTRAL || d == U_DIR_NON_SPACING_MARK;
    }
    if (!allowed) return false;
    en |= d == U_EUROPEAN_NUMBER;
    an |= d == U_ARABIC_NUMBER;
    if (d != U_DIR_NON_SPACING_MARK) last_non_nsm = d;
  }
  if (ltr_label) return last_non_nsm == U_LEFT_TO_RIGHT || last_non_nsm == U_EUROPEAN_NUMBER;
  if (en && an) return false;
  return last_non_nsm == U_RIGHT_TO_LEFT || last_non_nsm == U_RIGHT_TO_LEFT_ARABIC ||
         last_non_nsm == U_EUROPEAN_NUMBER || last_non_nsm == U_ARABIC_NUMBER;
}

const icu::Normalizer2* nfc() {
  static const icu::Normalizer2* n = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* p = icu::Normalizer2::getNFCInstance(status);
    return U_SUCCESS(status) ? p : nullptr;
  }();
  return n;
}

const icu::Normalizer2* nfkc() {
  static const icu::Normalizer2* n = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* p = icu::Normalizer2::getNFKCInstance(status);
    return U_SUCCESS(status) ? p : nullptr;
  }();
  return n;
}

bool part_length_ok(const std::string& s) {
  return !s.empty() && s.size() <= kMaxPartBytes;
}

// ---------------------------------------------------------------------------------------------
// Localpart (RFC 8265 §3.3.2 order: width mapping, case mapping, NFC, directionality).

std::optional<std::string> prep_local_slow(std::string_view in) {
  auto decoded = decode(in);
  if (!decoded || !nfc() || !nfkc()) return std::nullopt;
  // Width mapping rule: fullwidth and halfwidth forms to their decomposition mapping.
  icu::UnicodeString mapped;
  for (int32_t i = 0; i < decoded->length(); i = decoded->moveIndex32(i, 1)) {
    UChar32 c = decoded->char32At(i);
    int32_t dt = u_getIntPropertyValue(c, UCHAR_DECOMPOSITION_TYPE);
    if (dt == U_DT_WIDE || dt == U_DT_NARROW) {
      UErrorCode status = U_ZERO_ERROR;
      mapped.append(nfkc()->normalize(icu::UnicodeString(c), status));
      if (U_FAILURE(status)) return std::nullopt;
    } else {
      mapped.append(c);
    }
  }
  mapped.toLower(icu::Locale::getRoot());
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString normalized = nfc()->normalize(mapped, status);
  if (U_FAILURE(status) || normalized.isEmpty()) return std::nullopt;
  for (int32_t i = 0; i < normalized.length(); i = normalized.moveIndex32(i, 1)) {
    UChar32 c = normalized.char32At(i);
    if (jid_forbidden_ascii(c) || !identifier_valid(c)) return std::nullopt;
  }
  if (!bidi_rule_ok(normalized)) return std::nullopt;
  std::string out = encode(normalized);
  if (!part_length_ok(out)) return std::nullopt;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Resourcepart (RFC 8265 §4.2.2: non-ASCII spaces to U+0020, NFC; FreeformClass).

std::optional<std::string> prep_resource_slow(std::string_view in) {
  auto decoded = decode(in);
  if (!decoded || !nfc()) return std::nullopt;
  icu::UnicodeString mapped;
  for (int32_t i = 0; i < decoded->length(); i = decoded->moveIndex32(i, 1)) {
    UChar32 c = decoded->char32At(i);
    mapped.append(u_charType(c) == U_SPACE_SEPARATOR ? UChar32(0x20) : c);
  }
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString normalized = nfc()->normalize(mapped, status);
  if (U_FAILURE(status)) return std::nullopt;
  for (int32_t i = 0; i < normalized.length(); i = normalized.moveIndex32(i, 1)) {
    if (!freeform_valid(normalized.char32At(i))) return std::nullopt;
  }
  std::string out = encode(normalized);
  if (!part_length_ok(out)) return std::nullopt;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Domainpart (RFC 7622 §3.2).

const UIDNA* uts46() {
  // A UIDNA instance is immutable once opened and safe to share between threads.
  static const UIDNA* idna = [] {
    UErrorCode status = U_ZERO_ERROR;
    UIDNA* p =
        uidna_openUTS46(UIDNA_USE_STD3_RULES | UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ |
                            UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_NONTRANSITIONAL_TO_UNICODE,
                        &status);
    return U_SUCCESS(status) ? p : nullptr;
  }();
  return idna;
}

// An IP literal, in canonical text form (RFC 7622 §3.2 allows IPv4 and bracketed IPv6).
std::optional<std::string> ip_literal(std::string_view in, bool& is_ip) {
  is_ip = false;
  char text[INET6_ADDRSTRLEN];
  if (in.size() > 2 && in.front() == '[' && in.back() == ']') {
    is_ip = true;
    std::string inner(in.substr(1, in.size() - 2));
    in6_addr a6;
    if (inner.size() >= INET6_ADDRSTRLEN || inet_pton(AF_INET6, inner.c_str(), &a6) != 1 ||
        !inet_ntop(AF_INET6, &a6, text, sizeof text)) {
      return std::nullopt;
    }
    return "[" + std::string(text) + "]";
  }
  if (!in.empty() && in.find_first_not_of("0123456789.") == std::string_view::npos) {
    // All digits and dots cannot be a host name (its last label would be numeric), so it is
    // an IPv4 address or nothing.
    is_ip = true;
    std::string s(in);
    in_addr a4;
    if (s.size() >= INET_ADDRSTRLEN || inet_pton(AF_INET, s.c_str(), &a4) != 1) return std::nullopt;
    return s;
  }
  return std::nullopt;
}

// Plain LDH ASCII labels need no ICU: lower-case them and check the hyphen rules.
bool ascii_domain_fast(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  size_t label_len = 0;
  for (size_t i = 0; i <= in.size(); ++i) {
    if (i == in.size() || in[i] == '.') {
      if (label_len == 0 || label_len > 63) return false;
      std::string_view label = std::string_view(out).substr(out.size() - label_len);
      if (label.front() == '-' || label.back() == '-') return false;
      // "xx--" labels (A-labels and reserved ones) need the full IDNA checks.
      if (label_len >= 4 && label[2] == '-' && label[3] == '-') return false;
      if (i < in.size()) out += '.';
      label_len = 0;
      continue;
    }
    char c = in[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    out += c;
    ++label_len;
  }
  return true;
}

std::optional<std::string> prep_domain_slow(std::string_view in) {
  if (in.size() > kMaxDomainInputBytes || !valid_utf8(in)) return std::nullopt;
  const UIDNA* idna = uts46();
  if (!idna) return std::nullopt;
  int32_t len = static_cast<int32_t>(in.size());
  std::string out(in.size() * 3 + 16, '\0');
  UIDNAInfo info = UIDNA_INFO_INITIALIZER;
  UErrorCode status = U_ZERO_ERROR;
  int32_t n = uidna_nameToUnicodeUTF8(idna, in.data(), len, out.data(),
                                      static_cast<int32_t>(out.size()), &info, &status);
  if (status == U_BUFFER_OVERFLOW_ERROR) {
    out.assign(static_cast<size_t>(n), '\0');
    status = U_ZERO_ERROR;
    info = UIDNA_INFO_INITIALIZER;
    n = uidna_nameToUnicodeUTF8(idna, in.data(), len, out.data(), n, &info, &status);
  }
  if (U_FAILURE(status) || info.errors != 0) return std::nullopt;
  out.resize(static_cast<size_t>(n));
  // The one permitted trailing separator is already gone; another one is an empty label.
  if (!part_length_ok(out) || out.back() == '.') return std::nullopt;
  // Mapping may have produced an all-numeric name ("1\u30022\u30023\u30024"): that has to be a
  // valid IPv4 address like any other, or normalizing twice would disagree.
  bool is_ip = false;
  if (auto ip = ip_literal(out, is_ip); is_ip) return ip;

  // ToUnicode does not check label lengths; the A-label form must fit DNS labels (63 octets).
  // Names longer than DNS allows are still fine as XMPP domains up to 1023 bytes.
  std::string ascii(out.size() * 4 + 64, '\0');
  info = UIDNA_INFO_INITIALIZER;
  status = U_ZERO_ERROR;
  n = uidna_nameToASCII_UTF8(idna, out.data(), static_cast<int32_t>(out.size()), ascii.data(),
                             static_cast<int32_t>(ascii.size()), &info, &status);
  if (U_FAILURE(status) || (info.errors & ~UIDNA_ERROR_DOMAIN_NAME_TOO_LONG) != 0) {
    return std::nullopt;
  }
  return out;
}

// Split "local@domain/resource" per RFC 7622 §3.1: the resourcepart starts at the first '/',
// the localpart ends at the first '@' before it.
struct Split {
  std::string_view local, domain, resource;
  bool has_at = false, has_slash = false;
};

Split split(std::string_view text) {
  Split s;
  std::string_view rest = text;
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    s.has_slash = true;
    s.resource = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    s.has_at = true;
    s.local = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  s.domain = rest;
  return s;
}

}  // namespace

std::optional<std::string> Jid::prep_local(std::string_view local) {
  if (local.empty() || local.size() > 4 * kMaxPartBytes) return std::nullopt;
  // ASCII fast path: IdentifierClass ASCII7 minus the JID-forbidden characters, lower-cased.
  std::string out;
  out.reserve(local.size());
  bool ascii = true;
  for (char ch : local) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80) {
      ascii = false;
      break;
    }
    if (c <= 0x20 || c == 0x7F || jid_forbidden_ascii(c)) return std::nullopt;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
  }
  if (ascii) {
    if (out.size() > kMaxPartBytes) return std::nullopt;
    return out;
  }
  return cached('l', local, prep_local_slow);
}

std::optional<std::string> Jid::prep_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxDomainInputBytes) return std::nullopt;
  // RFC 7622 §3.2: one trailing label separator is stripped before anything else; IDNA2008
  // counts the ideographic and fullwidth full stops as separators too (RFC 5890 §2.3.2.5).
  for (std::string_view dot : {"."sv, "\u3002"sv, "\uFF0E"sv, "\uFF61"sv}) {
    if (domain.ends_with(dot)) {
      domain.remove_suffix(dot.size());
      break;
    }
  }
  if (domain.empty()) return std::nullopt;
  bool is_ip = false;
  if (auto ip = ip_literal(domain, is_ip); is_ip) return ip;
  std::string out;
  if (ascii_domain_fast(domain, out)) {
    if (out.size() > kMaxPartBytes) return std::nullopt;
    return out;
  }
  return cached('d', domain, prep_domain_slow);
}

std::optional<std::string> Jid::prep_resource(std::string_view resource) {
  if (resource.empty() || resource.size() > kMaxPartBytes * 4) return std::nullopt;
  bool printable_ascii = true;
  for (char ch : resource) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F) {
      printable_ascii = false;
      break;
    }
  }
  if (printable_ascii) {
    // Printable ASCII is unchanged by OpaqueString.
    if (resource.size() > kMaxPartBytes) return std::nullopt;
    return std::string(resource);
  }
  return cached('r', resource, prep_resource_slow);
}

std::optional<Jid> Jid::from_parts(std::string_view local, std::string_view domain,
                                   std::string_view resource) {
  std::optional<std::string> l, r;
  if (!local.empty() && !(l = prep_local(local))) return std::nullopt;
  std::optional<std::string> d = prep_domain(domain);
  if (!d) return std::nullopt;
  if (!resource.empty() && !(r = prep_resource(resource))) return std::nullopt;
  Jid j;
  j.full_.reserve((l ? l->size() + 1 : 0) + d->size() + (r ? r->size() + 1 : 0));
  if (l) {
    j.full_ += *l;
    j.full_ += '@';
    j.local_len_ = static_cast<unsigned short>(l->size());
  }
  j.full_ += *d;
  j.domain_len_ = static_cast<unsigned short>(d->size());
  if (r) {
    j.full_ += '/';
    j.full_ += *r;
  }
  return j;
}

std::optional<Jid> Jid::parse(std::string_view text) {
  Split s = split(text);
  // RFC 7622 §3.3 and §3.4: a separator with nothing behind it is not an empty part but a
  // malformed JID.
  if ((s.has_at && s.local.empty()) || (s.has_slash && s.resource.empty()) || s.domain.empty()) {
    return std::nullopt;
  }
  return from_parts(s.local, s.domain, s.resource);
}

Jid Jid::bare() const {
  Jid j;
  j.full_.assign(bare_str());
  j.local_len_ = local_len_;
  j.domain_len_ = domain_len_;
  return j;
}

Jid Jid::with_resource(std::string_view resource) const {
  Jid j = bare();
  if (!resource.empty()) {
    j.full_ += '/';
    j.full_ += resource;
  }
  return j;
}

}  // namespace parley
