// libFuzzer target: XEP-0359 <stanza-id/> and <origin-id/> decoders and the message helpers
// on arbitrary XML. Round trips are exact; after strip + add a message holds exactly one
// stanza-id for that 'by' (§5 rule 4); archive ids are always 24 base32 characters.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "xep/stanza_id.h"
#include "xep/stored_element.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::xep;
  auto e = load_element(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!e) return 0;
  if (auto s = sid::parse_stanza_id(*e)) {
    auto again = sid::parse_stanza_id(sid::to_element(*s));
    if (!again || !(*again == *s)) std::abort();
  }
  if (auto o = sid::parse_origin_id(*e)) {
    auto again = sid::parse_origin_id(sid::to_element(*o));
    if (!again || !(*again == *o)) std::abort();
  }
  auto ids = sid::stanza_ids(*e);
  (void)sid::find_origin_id(*e);
  const std::string by = "owner@example.org";
  sid::strip_stanza_ids(*e, [](std::string_view b) { return b.ends_with("example.org"); });
  sid::add_stanza_id(*e, {"fuzz", by});
  size_t mine = 0;
  for (const auto& id : sid::stanza_ids(*e)) mine += id.by == by;
  if (mine != 1) std::abort();
  if (sid::archive_id(*e, "a@example.org", "b@example.org").size() != 24) std::abort();
  return 0;
}
