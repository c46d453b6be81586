// Events the disco module fires for other modules (DESIGN §4). A module that lists things of
// its own under an account (PEP nodes) registers ctx.on<disco::AccountItems>(...) without
// depending on disco.
#pragma once

#include <string_view>

#include "router/iq.h"

namespace parley::disco {

// A disco#items request to an account (XEP-0030 §4), from anyone, that the disco module is
// about to answer with an empty list. A handler that answers it — now or later, with
// iq.reply() — returns Flow::Stop; the handler decides what the requester may see.
struct AccountItems {
  static constexpr std::string_view kName = "disco/account-items";
  const IqRequest& iq;
};

}  // namespace parley::disco
