// The RFC 6121 §8.5 delivery rules for local accounts, as pure functions over the (priority,
// available) state of an account's resources, so they can be tested without sessions.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace parley::delivery {

enum class MessageType { Normal, Chat, Groupchat, Headline, Error };
// RFC 6121 §5.2.2: a missing or unknown type is treated as "normal".
MessageType message_type(std::string_view type);

struct Resource {
  int priority = 0;
  bool available = false;
};

enum class Action { Deliver, Bounce, Ignore };  // Bounce = service-unavailable

struct Plan {
  Action action = Action::Ignore;
  std::vector<size_t> targets;  // indexes into the resources, for Deliver
};

// A message to the bare JID of an existing account (§8.5.2.1.1, §8.5.2.2.1).
Plan bare_message(MessageType type, const std::vector<Resource>& resources);

enum class FullAction { Deliver, AsBare, Bounce, Ignore };
// A message to a full JID (§8.5.3.1, §8.5.3.2.1): `found` = a session holds that resource.
FullAction full_message(MessageType type, bool found);

// <priority/> of a presence (RFC 6121 §4.7.2.3): -128..127; missing or invalid = 0.
int parse_priority(std::string_view text);

}  // namespace parley::delivery
