// Shared pieces of the group chat (modules/muc) integration tests: namespaces, the service
// domain, room JIDs, and reading a room's presence (status codes, the <item/>).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common.h"

namespace parley::it {

inline const std::string kMuc = "http://jabber.org/protocol/muc";
inline const std::string kMucUser = "http://jabber.org/protocol/muc#user";
inline const std::string kMucOwner = "http://jabber.org/protocol/muc#owner";
inline const std::string kMucAdmin = "http://jabber.org/protocol/muc#admin";
inline const std::string kMucService = "groups." + kHost;

inline std::string room_jid(const std::string& name) {
  return name + "@" + kMucService;
}

// The XEP-0045 status codes of a room's presence or message.
inline bool has_status(const Node& stanza, int code) {
  const Node* x = stanza.child("x", kMucUser);
  if (!x) return false;
  for (const Node* s : x->all("status"))
    if (s->attr("code") == std::to_string(code)) return true;
  return false;
}

inline const Node* item_of(const Node& presence) {
  const Node* x = presence.child("x", kMucUser);
  return x ? x->child("item", kMucUser) : nullptr;
}

// A submitted muc#roomconfig form with muc#roomconfig_<var> = value for each field.
inline std::string config_form(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string x =
      "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"
      "http://jabber.org/protocol/muc#roomconfig</value></field>";
  for (const auto& [var, value] : fields)
    x += "<field var='muc#roomconfig_" + var + "'><value>" + value + "</value></field>";
  return x + "</x>";
}

}  // namespace parley::it
