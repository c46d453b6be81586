// Rosters (RFC 6121 §2) with versioning (XEP-0237): jabber:iq:roster get/set and roster pushes.
// Everything that reads or writes a roster runs on the database worker keyed by the account's
// bare JID (DESIGN §2), so changes to one roster never interleave.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "core/registration.h"
#include "im/roster_store.h"
#include "im/subscription.h"
#include "xml/element.h"

namespace parley {
class Server;
}

namespace parley::im {

inline constexpr std::string_view kRosterNs = "jabber:iq:roster";

// Server policy limits for roster sets (RFC 6121 §2.3.3: not-acceptable beyond them).
inline constexpr size_t kMaxNameBytes = 1023;
inline constexpr size_t kMaxGroupBytes = 1023;
inline constexpr size_t kMaxGroups = 64;

// A new roster item for `contact` with no subscription.
RosterItem new_item(const Jid& contact);

// <item/> as it appears in a roster result or push (RFC 6121 §2.1.2).
xml::Element item_element(const RosterItem& item);

// The state machine's view of a roster item and a stored request, and back.
SubscriptionState state_of(const std::optional<RosterItem>& item, bool pending_in);
void apply(RosterItem& item, const SubscriptionState& state);
// True when the parts of the state kept in the roster item (not Pending In) differ.
bool item_differs(const SubscriptionState& a, const SubscriptionState& b);

// A roster push (RFC 6121 §2.1.6) of one item with the new version, to every interested
// resource of `user`. Thread-safe.
void push(Server& server, const Jid& user, const xml::Element& item, int64_t version);

// The jabber:iq:roster handlers for one's own account (IqScope::Self).
std::vector<Registration> register_roster(Server& server);

}  // namespace parley::im
