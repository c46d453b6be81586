// libFuzzer target: the XEP-0115 <c/> decoder and verification string on arbitrary XML (a
// presence, a disco#info <query/>, or an <iq/> holding one). <c/> round trips exactly; S does
// not depend on the order of identities, features, forms, fields or values; every supported
// hash succeeds exactly when S does, and the ver it gives verifies.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/base64.h"
#include "xep/caps.h"
#include "xep/disco.h"
#include "xep/stored_element.h"

namespace {

using namespace parley;
using namespace parley::xep;

// Reverses the order of the children of the query, of its forms and of their fields; <value/>
// text stays as it is.
void reverse(xml::Element& e, int depth) {
  auto& nodes = e.nodes();
  std::reverse(nodes.begin(), nodes.end());
  if (depth == 2) return;
  for (auto& n : nodes)
    if (!n.is_text() && (depth == 0 ? n.element->name() == "x" : n.element->name() == "field"))
      reverse(*n.element, depth + 1);
}

void check_query(const xml::Element& q) {
  std::string error;
  auto s = caps::verification_string(q, &error);
  if (!s && error.empty()) std::abort();

  xml::Element shuffled = q;
  reverse(shuffled, 0);
  std::string error2;
  auto s2 = caps::verification_string(shuffled, &error2);
  if (s.has_value() != s2.has_value() || (s && *s != *s2)) std::abort();

  for (std::string_view hash : {"sha-1", "sha-256", "sha-512"}) {
    auto ver = caps::compute_ver(q, hash);
    if (ver.has_value() != s.has_value()) std::abort();
    if (!ver) continue;
    auto raw = base64_decode(*ver);
    size_t want = hash == "sha-1" ? 20 : hash == "sha-256" ? 32 : 64;
    if (!raw || raw->size() != want) std::abort();
    if (!caps::verify({std::string(hash), "node", *ver, ""}, q)) std::abort();
    if (caps::verify({"", "node", *ver, ""}, q)) std::abort();  // legacy: never verified
  }
  if (caps::compute_ver(q, "md5")) std::abort();

  for (const auto& f : caps::features(q))
    if (!caps::has_feature(q, f)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto e = load_element(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!e) return 0;
  if (auto c = caps::parse(*e)) {
    if (c->node.empty() || c->ver.empty()) std::abort();
    xml::Element presence("presence", "jabber:client");
    presence.add(caps::to_element(*c));
    if (caps::parse(presence) != c) std::abort();
  }
  check_query(*e);
  if (const auto* q = e->child("query", disco::kInfoNs)) check_query(*q);
  return 0;
}
