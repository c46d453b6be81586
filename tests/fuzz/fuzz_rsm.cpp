// libFuzzer target: the XEP-0059 <set/> decoders on arbitrary XML. What decodes must survive
// an encode/decode round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "xep/rsm.h"
#include "xep/stored_element.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::xep;
  auto e = load_element(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!e) return 0;
  if (auto r = rsm::parse_request(*e)) {
    auto again = rsm::parse_request(rsm::to_element(*r));
    if (!again || !(*again == *r)) std::abort();
  }
  if (auto r = rsm::parse_response(*e)) {
    auto again = rsm::parse_response(rsm::to_element(*r));
    if (!again || !(*again == *r)) std::abort();
  }
  return 0;
}
