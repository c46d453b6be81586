#include "im/subscription.h"

namespace parley::im {

std::optional<SubscriptionType> parse_subscription_type(std::string_view type) {
  if (type == "subscribe") return SubscriptionType::Subscribe;
  if (type == "subscribed") return SubscriptionType::Subscribed;
  if (type == "unsubscribe") return SubscriptionType::Unsubscribe;
  if (type == "unsubscribed") return SubscriptionType::Unsubscribed;
  return std::nullopt;
}

std::string_view to_string(SubscriptionType t) {
  switch (t) {
    case SubscriptionType::Subscribe:
      return "subscribe";
    case SubscriptionType::Subscribed:
      return "subscribed";
    case SubscriptionType::Unsubscribe:
      return "unsubscribe";
    case SubscriptionType::Unsubscribed:
      return "unsubscribed";
  }
  return "subscribe";
}

bool has_to(Subscription s) {
  return s == Subscription::To || s == Subscription::Both;
}
bool has_from(Subscription s) {
  return s == Subscription::From || s == Subscription::Both;
}

namespace {

Subscription make(bool to, bool from) {
  if (to && from) return Subscription::Both;
  if (to) return Subscription::To;
  if (from) return Subscription::From;
  return Subscription::None;
}

}  // namespace

OutboundResult outbound(const SubscriptionState& s, SubscriptionType type) {
  OutboundResult r{s};
  bool to = has_to(s.subscription), from = has_from(s.subscription);
  switch (type) {
    case SubscriptionType::Subscribe:
      // A.2.1: "Pending Out" unless already subscribed. The request is always routed (§3.1.2):
      // the contact's server answers it again if the subscription already exists (§3.1.3).
      if (!to) r.state.pending_out = true;
      r.route = true;
      break;
    case SubscriptionType::Unsubscribe:
      // A.2.1: cancels "To" and any pending outbound request; always routed (§3.3.2).
      r.state.pending_out = false;
      r.state.subscription = make(false, from);
      r.route = true;
      break;
    case SubscriptionType::Subscribed:
      if (s.pending_in) {
        // A.2.1: approving a pending request grants "From" (§3.1.5).
        r.state.pending_in = false;
        r.state.approved = false;
        r.state.subscription = make(to, true);
        r.route = true;
      } else if (!from) {
        // §3.4.1: no request yet — remember a pre-approval, route nothing.
        r.state.approved = true;
      }
      break;
    case SubscriptionType::Unsubscribed:
      // A.2.1: denies a pending request or cancels "From" (§3.2.2); either way it is routed.
      // Without either it only cancels a pre-approval (§3.4.1), which is not routed.
      r.route = s.pending_in || from;
      r.state.pending_in = false;
      r.state.approved = false;
      r.state.subscription = make(to, false);
      break;
  }
  r.changed = !(r.state == s);
  return r;
}

InboundResult inbound(const SubscriptionState& s, SubscriptionType type) {
  InboundResult r{s};
  bool to = has_to(s.subscription), from = has_from(s.subscription);
  switch (type) {
    case SubscriptionType::Subscribe:
      if (from) {
        // §3.1.3: already subscribed — the server answers for the user, nothing is delivered.
        r.auto_subscribed = true;
      } else if (s.approved) {
        // §3.4.2: pre-approved — grant "From" now and consume the approval.
        r.state.approved = false;
        r.state.pending_in = false;
        r.state.subscription = make(to, true);
        r.auto_subscribed = true;
      } else if (!s.pending_in) {
        // A.3.1: a new request — "Pending In" and delivered; a repeat is not delivered again.
        r.state.pending_in = true;
        r.deliver = true;
      }
      break;
    case SubscriptionType::Unsubscribe:
      // A.3.1: the contact withdraws its request or its subscription to the user.
      r.deliver = from || s.pending_in;
      r.state.pending_in = false;
      r.state.subscription = make(to, false);
      break;
    case SubscriptionType::Subscribed:
      // A.3.1: only an approval the user asked for counts (§3.1.6).
      if (s.pending_out) {
        r.state.pending_out = false;
        r.state.subscription = make(true, from);
        r.deliver = true;
      }
      break;
    case SubscriptionType::Unsubscribed:
      // A.3.1: the contact denied the request or cancelled the user's subscription.
      r.deliver = to || s.pending_out;
      r.state.pending_out = false;
      r.state.subscription = make(false, from);
      break;
  }
  r.changed = !(r.state == s);
  return r;
}

}  // namespace parley::im
