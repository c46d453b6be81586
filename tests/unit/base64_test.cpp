// Base64 (RFC 4648): the §10 test vectors and the strictness SASL relies on.
#include <gtest/gtest.h>

#include "core/base64.h"

using parley::base64_decode;
using parley::base64_encode;

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), plain) << encoded;
  }
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); n += 37) {
    std::string part = all.substr(0, n);
    EXPECT_EQ(base64_decode(base64_encode(part)), part);
  }
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
}

TEST(Base64, RejectsNonCanonicalInput) {
  for (const char* bad :
       {"Zg", "Zg=", "Zm9", "Zg==Zg==", "Zh==", "Zm9=", "Z===", "====", "Zm9v\n", " Zm9v", "Zm 9v",
        "Zm9-", "Zm9_", "Zm=v", "Zm9vYg=a", "\xc3\xa9\xc3\xa9"}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
  EXPECT_FALSE(base64_decode(std::string("Zm9v\0\0\0\0", 8)));
}
