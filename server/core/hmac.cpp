#include "core/hmac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdexcept>

namespace parley {

namespace {

const char* digest_name(HmacDigest d) {
  switch (d) {
    case HmacDigest::Sha1:
      return "SHA1";
    case HmacDigest::Sha256:
      return "SHA256";
    case HmacDigest::Sha384:
      return "SHA384";
    case HmacDigest::Sha512:
      return "SHA512";
  }
  return "SHA256";
}

struct Contexts {
  EVP_MAC_CTX* ctx[4] = {};
  ~Contexts() {
    for (auto* c : ctx) EVP_MAC_CTX_free(c);
  }
};

// The thread's context for `d`, with its digest set: later inits only change the key.
EVP_MAC_CTX* context(HmacDigest d) {
  thread_local Contexts contexts;
  EVP_MAC_CTX*& c = contexts.ctx[static_cast<int>(d)];
  if (!c) {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (!mac) throw std::runtime_error("HMAC is not available");
    c = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);  // the context keeps its own reference
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                            const_cast<char*>(digest_name(d)), 0),
                           OSSL_PARAM_construct_end()};
    if (!c || EVP_MAC_CTX_set_params(c, params) != 1) {
      EVP_MAC_CTX_free(c);
      c = nullptr;
      throw std::runtime_error("cannot set up HMAC");
    }
  }
  return c;
}

}  // namespace

size_t hmac(HmacDigest digest, const void* key, size_t key_len, const void* data, size_t data_len,
            uint8_t* out) {
  EVP_MAC_CTX* c = context(digest);
  size_t len = 0;
  // A zero-length key is legal HMAC; OpenSSL wants a non-null pointer for it.
  static const uint8_t kEmpty = 0;
  if (EVP_MAC_init(c, key_len ? static_cast<const uint8_t*>(key) : &kEmpty, key_len, nullptr) !=
          1 ||
      EVP_MAC_update(c, static_cast<const uint8_t*>(data), data_len) != 1 ||
      EVP_MAC_final(c, out, &len, EVP_MAX_MD_SIZE) != 1)
    throw std::runtime_error("HMAC failed");
  return len;
}

}  // namespace parley
