// HMAC (RFC 2104) on hot paths: every TLS handshake derives its record keys with it and every
// SCRAM login checks a proof with it. OpenSSL 3's one-shot HMAC() looks the algorithm up by
// name on every call; this keeps one initialised context per digest and thread instead, so a
// call is just key setup and hashing.
#pragma once

#include <cstddef>
#include <cstdint>

namespace parley {

enum class HmacDigest { Sha1, Sha256, Sha384, Sha512 };

// Writes the MAC to `out` (at least 64 bytes) and returns its length. Throws
// std::runtime_error if OpenSSL fails.
size_t hmac(HmacDigest digest, const void* key, size_t key_len, const void* data, size_t data_len,
            uint8_t* out);

}  // namespace parley
