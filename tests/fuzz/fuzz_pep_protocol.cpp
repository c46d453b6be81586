// libFuzzer target: the pep module's request decoder (XEP-0060 <pubsub/> in both namespaces)
// and node settings (node_config / publish-options forms, the stored form) on arbitrary XML.
// Every input decodes to a request or an error with a condition, never a crash; settings a
// form applied survive serialization; a node always meets the preconditions of its own form.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../../modules/pep/node_config.cpp"  // NOLINT(bugprone-suspicious-include)
#include "../../modules/pep/protocol.cpp"     // NOLINT(bugprone-suspicious-include)
#include "xep/stored_element.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  using namespace parley::pep;
  auto e = xep::load_element(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!e) return 0;
  for (bool set : {false, true}) {
    auto r = parse(*e, set);
    if (auto* invalid = std::get_if<Invalid>(&r)) {
      if (invalid->condition.empty()) std::abort();
      continue;
    }
    auto& request = std::get<Request>(r);
    if (auto* p = std::get_if<Publish>(&request)) {
      if (!p->payload || p->node.empty()) std::abort();
    }
  }
  // Any form: applied to the defaults or refused; what was applied reads back the same.
  if (e->name() == "x" && e->xmlns() == xep::dataforms::kNs) {
    auto form = xep::dataforms::parse(*e);
    if (!form) return 0;
    NodeConfig config;
    if (apply(fields_of(*form), config, 1000)) return 0;
    if (!(deserialize(serialize(config)) == config)) std::abort();
    auto own = fields_of(
        xep::dataforms::parse(xep::dataforms::to_element(config_form(config, 1000))).value());
    if (unmet_precondition(own, config, 1000)) std::abort();
  }
  (void)deserialize(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
