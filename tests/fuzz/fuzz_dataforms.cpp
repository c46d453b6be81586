// libFuzzer target: the XEP-0004 data forms decoder on arbitrary XML. A form that decodes must
// encode to a form that decodes to the same value (the codec is a fixed point).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "xep/dataforms.h"
#include "xep/stored_element.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::xep;
  auto e = load_element(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!e) return 0;
  auto form = dataforms::parse(*e);
  if (!form) {
    if (form.error().empty()) std::abort();
    return 0;
  }
  auto again = dataforms::parse(dataforms::to_element(*form));
  if (!again || !(*again == *form)) std::abort();
  (void)form->form_type();
  return 0;
}
