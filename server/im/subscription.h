// The presence subscription state machine of RFC 6121 §3 and Appendix A, as pure functions.
// A state is what one account's server knows about one contact: the subscription
// (none/to/from/both), an outbound request pending ("Pending Out", the roster's ask), an inbound
// request pending ("Pending In", kept as a stored request) and a pre-approval (§3.4).
#pragma once

#include <optional>
#include <string_view>

#include "im/roster_store.h"

namespace parley::im {

struct SubscriptionState {
  Subscription subscription = Subscription::None;
  bool pending_out = false;  // the user asked the contact (roster 'ask')
  bool pending_in = false;   // the contact asked the user, no decision yet
  bool approved = false;     // the user pre-approved the contact's request (§3.4)
  friend bool operator==(const SubscriptionState&, const SubscriptionState&) = default;
};

// The four subscription-related presence types (RFC 6121 §3).
enum class SubscriptionType { Subscribe, Subscribed, Unsubscribe, Unsubscribed };
std::optional<SubscriptionType> parse_subscription_type(std::string_view type);
std::string_view to_string(SubscriptionType t);

bool has_to(Subscription s);    // the user receives the contact's presence (to, both)
bool has_from(Subscription s);  // the contact receives the user's presence (from, both)

// A subscription-related presence the user sent (Appendix A.2.1, §3.4 for pre-approval).
struct OutboundResult {
  SubscriptionState state;
  bool changed = false;  // the roster item changed: store it and push it
  bool route = false;    // route the stanza on to the contact
};
OutboundResult outbound(const SubscriptionState& state, SubscriptionType type);

// A subscription-related presence from the contact, processed at the user's server
// (Appendix A.3.1; §3.4 for pre-approval).
struct InboundResult {
  SubscriptionState state;
  bool changed = false;          // store and push
  bool deliver = false;          // deliver to the user's available resources
  bool auto_subscribed = false;  // answer 'subscribed' on the user's behalf (§3.1.3, §3.4)
};
InboundResult inbound(const SubscriptionState& state, SubscriptionType type);

}  // namespace parley::im
