// libFuzzer target: the mam module's request parsers (XEP-0313 <query/> in any namespace,
// XEP-0441 <prefs/>) on arbitrary XML. They answer with a value or an error, never crash; a
// parsed preference list survives an encode/decode round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../../modules/mam/archive_store.cpp"  // NOLINT(bugprone-suspicious-include)
#include "../../modules/mam/policy.cpp"         // NOLINT(bugprone-suspicious-include)
#include "../../modules/mam/protocol.cpp"       // NOLINT(bugprone-suspicious-include)
#include "xep/stored_element.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  auto e = xep::load_element(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!e) return 0;
  auto q = mam::parse_query(*e, {50, 250});
  if (auto* query = std::get_if<mam::Query>(&q)) {
    if (query->page.max < 0 || query->page.max > 250) std::abort();
  } else if (std::get<mam::RequestError>(q).condition.empty()) {
    std::abort();
  }
  auto p = mam::parse_prefs(*e);
  if (auto* prefs = std::get_if<mam::Prefs>(&p)) {
    auto again = mam::parse_prefs(mam::prefs_element("urn:xmpp:mam:2", *prefs));
    if (!std::holds_alternative<mam::Prefs>(again) || !(std::get<mam::Prefs>(again) == *prefs))
      std::abort();
  }
  (void)mam::worth_archiving(*e);
  return 0;
}
