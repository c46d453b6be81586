// Stored credentials (DESIGN §6): SCRAM salted keys per hash, never a password (RFC 5802 §3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::sasl {

enum class Hash { Sha1, Sha256, Sha512 };
std::string_view to_string(Hash h);  // "SHA-1", "SHA-256", "SHA-512"

struct ScramKeys {
  std::string salt;  // raw bytes
  uint32_t iterations = 0;
  std::string stored_key;  // raw bytes: H(ClientKey)
  std::string server_key;  // raw bytes: HMAC(SaltedPassword, "Server Key")
};

struct Credentials {
  std::optional<ScramKeys> sha1, sha256, sha512;
  const std::optional<ScramKeys>& get(Hash h) const;
};

// Derives keys for all three hashes with fresh random salts. The password should already be
// prepared with SASLprep / OpaqueString (see prep_password). CPU heavy: not on an I/O thread.
Credentials derive(std::string_view password, uint32_t iterations);
ScramKeys derive(Hash h, std::string_view password, std::string_view salt, uint32_t iterations);
// PLAIN verification against stored keys (recomputes StoredKey; constant-time compare).
bool verify_password(const Credentials& creds, std::string_view password);
// RFC 8265 OpaqueString-style preparation of a password (NFC, non-ASCII spaces mapped);
// nullopt when it contains prohibited characters.
std::optional<std::string> prep_password(std::string_view password);

}  // namespace parley::sasl
