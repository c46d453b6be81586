// Base64 (RFC 4648 §4) for SASL and stored keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace parley {
std::string base64_encode(std::string_view in);
// Strict: rejects characters outside the alphabet, bad padding and trailing garbage.
std::optional<std::string> base64_decode(std::string_view in);
}  // namespace parley
