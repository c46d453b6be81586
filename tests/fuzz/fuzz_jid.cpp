// libFuzzer target: Jid::parse on arbitrary bytes. A JID that parses must be a fixed point:
// parsing its normalized string gives the same JID (RFC 8264 §7 idempotence).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "jid/jid.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto jid = parley::Jid::parse(text);
  if (!jid) return 0;
  auto again = parley::Jid::parse(jid->str());
  if (!again || *again != *jid) std::abort();
  if (jid->bare_str().size() + (jid->has_resource() ? jid->resource().size() + 1 : 0) !=
      jid->str().size()) {
    std::abort();
  }
  return 0;
}
