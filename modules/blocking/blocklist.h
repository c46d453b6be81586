// XEP-0191 §6 JID matching, as pure functions so the unit tests can check them without a server.
// Header-only: the module and tests/unit include it.
#pragma once

#include <memory>
#include <vector>

#include "jid/jid.h"

namespace parley::blocking {

using List = std::vector<Jid>;
using ListPtr = std::shared_ptr<const List>;

// §6 (as in XEP-0016): user@domain/resource and domain/resource match only themselves;
// user@domain matches itself and every resource of it; domain matches itself, every user@domain
// and every domain/resource. Subdomains are other domains: blocking example.org does not block
// chat.example.org.
inline bool matches(const Jid& item, const Jid& j) {
  if (item.has_resource()) return item == j;
  if (item.has_local()) return j.bare_str() == item.str();
  return j.domain() == item.domain();
}

inline bool any_match(const List& list, const Jid& j) {
  for (const auto& item : list)
    if (matches(item, j)) return true;
  return false;
}

inline bool any_match(const ListPtr& list, const Jid& j) {
  return list && any_match(*list, j);
}

}  // namespace parley::blocking
