#include "xep/forward.h"

#include "xml/stanza.h"

namespace parley::xep {

xml::Element forwarded(const xml::Element& stanza, const xml::Element* delay) {
  xml::Element out("forwarded", std::string(kForwardNs));
  if (delay) out.add(*delay);
  xml::Element copy(stanza);
  if (copy.xmlns().empty()) copy.set_xmlns(std::string(stanza::kClientNs));
  out.add(std::move(copy));
  return out;
}

const xml::Element* forwarded_stanza(const xml::Element& forwarded) {
  for (const auto& node : forwarded.nodes())
    if (!node.is_text() && node.element->name() != "delay") return node.element.get();
  return nullptr;
}

}  // namespace parley::xep
