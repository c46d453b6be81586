// SCRAM salted credentials (RFC 5802 §3) and the hash primitives behind them (OpenSSL 3).
#include "sasl/credentials.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <stdexcept>

#include "core/hmac.h"

#include "sasl/scram.h"

namespace parley::sasl {

namespace {
const EVP_MD* md(Hash h) {
  switch (h) {
    case Hash::Sha1:
      return EVP_sha1();
    case Hash::Sha256:
      return EVP_sha256();
    case Hash::Sha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}
constexpr size_t kSaltBytes = 16;
}  // namespace

namespace crypto {

size_t hash_size(Hash h) {
  return static_cast<size_t>(EVP_MD_get_size(md(h)));
}

std::string hash(Hash h, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, md(h), nullptr) != 1)
    throw std::runtime_error("EVP_Digest failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string hmac(Hash h, std::string_view key, std::string_view data) {
  uint8_t out[EVP_MAX_MD_SIZE];
  HmacDigest d = h == Hash::Sha1     ? HmacDigest::Sha1
                 : h == Hash::Sha256 ? HmacDigest::Sha256
                                     : HmacDigest::Sha512;
  size_t len = parley::hmac(d, key.data(), key.size(), data.data(), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), len);
}

// Hi() of RFC 5802 §2.2 is PBKDF2 (RFC 8018) with HMAC-H and dkLen = the hash size.
std::string pbkdf2(Hash h, std::string_view password, std::string_view salt, uint32_t iterations) {
  std::string out(hash_size(h), '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), md(h),
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1)
    throw std::runtime_error("PKCS5_PBKDF2_HMAC failed");
  return out;
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

bool equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace crypto

std::string_view to_string(Hash h) {
  switch (h) {
    case Hash::Sha1:
      return "SHA-1";
    case Hash::Sha256:
      return "SHA-256";
    case Hash::Sha512:
      return "SHA-512";
  }
  return "SHA-256";
}

const std::optional<ScramKeys>& Credentials::get(Hash h) const {
  switch (h) {
    case Hash::Sha1:
      return sha1;
    case Hash::Sha256:
      return sha256;
    case Hash::Sha512:
      return sha512;
  }
  return sha256;
}

// RFC 5802 §3: SaltedPassword = Hi(password, salt, i); ClientKey = HMAC(SaltedPassword,
// "Client Key"); StoredKey = H(ClientKey); ServerKey = HMAC(SaltedPassword, "Server Key").
ScramKeys derive(Hash h, std::string_view password, std::string_view salt, uint32_t iterations) {
  if (iterations == 0) throw std::invalid_argument("SCRAM iteration count must be positive");
  std::string salted = crypto::pbkdf2(h, password, salt, iterations);
  ScramKeys keys;
  keys.salt = std::string(salt);
  keys.iterations = iterations;
  keys.stored_key = crypto::hash(h, crypto::hmac(h, salted, "Client Key"));
  keys.server_key = crypto::hmac(h, salted, "Server Key");
  OPENSSL_cleanse(salted.data(), salted.size());
  return keys;
}

Credentials derive(std::string_view password, uint32_t iterations) {
  Credentials c;
  // A distinct salt per hash, so that one leaked record says nothing about the others.
  c.sha1 = derive(Hash::Sha1, password, crypto::random_bytes(kSaltBytes), iterations);
  c.sha256 = derive(Hash::Sha256, password, crypto::random_bytes(kSaltBytes), iterations);
  c.sha512 = derive(Hash::Sha512, password, crypto::random_bytes(kSaltBytes), iterations);
  return c;
}

bool verify_password(const Credentials& creds, std::string_view password) {
  // One record is enough: they all come from the same password. Prefer the strongest.
  for (Hash h : {Hash::Sha512, Hash::Sha256, Hash::Sha1}) {
    const auto& keys = creds.get(h);
    if (!keys || keys->iterations == 0) continue;
    ScramKeys again = derive(h, password, keys->salt, keys->iterations);
    return crypto::equal(again.stored_key, keys->stored_key) &&
           crypto::equal(again.server_key, keys->server_key);
  }
  return false;
}

// RFC 8265 §4.2 OpaqueString: FreeformClass code points, non-ASCII spaces mapped to U+0020
// (§4.2.1 "additional mapping"), NFC (§4.2.1 "normalization"); must not be empty.
std::optional<std::string> prep_password(std::string_view password) {
  if (password.empty() || password.size() > 1024) return std::nullopt;
  icu::UnicodeString mapped;
  int32_t i = 0;
  const auto* bytes = reinterpret_cast<const uint8_t*>(password.data());
  const auto length = static_cast<int32_t>(password.size());
  while (i < length) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return std::nullopt;  // ill-formed UTF-8
    // FreeformClass disallows controls (RFC 8264 §9.12 "Controls") and unassigned code
    // points; surrogates cannot appear in well-formed UTF-8. Noncharacters are refused too.
    int8_t type = u_charType(c);
    if (type == U_CONTROL_CHAR || type == U_UNASSIGNED || type == U_SURROGATE ||
        U_IS_UNICODE_NONCHAR(c))
      return std::nullopt;
    if (type == U_SPACE_SEPARATOR && c != 0x20) c = 0x20;
    mapped.append(c);
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) return std::nullopt;
  icu::UnicodeString normalized = nfc->normalize(mapped, status);
  if (U_FAILURE(status) || normalized.isEmpty()) return std::nullopt;
  std::string out;
  normalized.toUTF8String(out);
  return out;
}

}  // namespace parley::sasl
