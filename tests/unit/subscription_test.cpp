// The subscription state machine against every row of RFC 6121 Appendix A.2.1 (outbound) and
// A.3.1 (inbound), plus the pre-approval rules of §3.4.
#include "im/subscription.h"

#include <gtest/gtest.h>

#include <string>

namespace parley::im {
namespace {

using S = Subscription;
using T = SubscriptionType;

// The nine states of Appendix A.1.
const SubscriptionState kNone{S::None, false, false};
const SubscriptionState kNoneOut{S::None, true, false};
const SubscriptionState kNoneIn{S::None, false, true};
const SubscriptionState kNoneOutIn{S::None, true, true};
const SubscriptionState kTo{S::To, false, false};
const SubscriptionState kToIn{S::To, false, true};
const SubscriptionState kFrom{S::From, false, false};
const SubscriptionState kFromOut{S::From, true, false};
const SubscriptionState kBoth{S::Both, false, false};

std::string name(const SubscriptionState& s) {
  std::string n(s.subscription == S::None   ? "None"
                : s.subscription == S::To   ? "To"
                : s.subscription == S::From ? "From"
                                            : "Both");
  if (s.pending_out) n += "+PendingOut";
  if (s.pending_in) n += "+PendingIn";
  if (s.approved) n += "+Approved";
  return n;
}

struct OutRow {
  SubscriptionState before;
  bool route;
  SubscriptionState after;
};

void check_outbound(T type, const std::vector<OutRow>& rows) {
  for (const auto& row : rows) {
    SCOPED_TRACE(std::string(to_string(type)) + " from " + name(row.before));
    auto r = outbound(row.before, type);
    EXPECT_EQ(name(r.state), name(row.after));
    EXPECT_EQ(r.route, row.route);
    EXPECT_EQ(r.changed, !(row.before == row.after));
  }
}

struct InRow {
  SubscriptionState before;
  bool deliver;
  SubscriptionState after;
  bool auto_subscribed = false;
};

void check_inbound(T type, const std::vector<InRow>& rows) {
  for (const auto& row : rows) {
    SCOPED_TRACE(std::string(to_string(type)) + " from " + name(row.before));
    auto r = inbound(row.before, type);
    EXPECT_EQ(name(r.state), name(row.after));
    EXPECT_EQ(r.deliver, row.deliver);
    EXPECT_EQ(r.auto_subscribed, row.auto_subscribed);
    EXPECT_EQ(r.changed, !(row.before == row.after));
  }
}

SubscriptionState approved(SubscriptionState s) {
  s.approved = true;
  return s;
}

TEST(Subscription, ParsesTheFourTypes) {
  EXPECT_EQ(parse_subscription_type("subscribe"), T::Subscribe);
  EXPECT_EQ(parse_subscription_type("subscribed"), T::Subscribed);
  EXPECT_EQ(parse_subscription_type("unsubscribe"), T::Unsubscribe);
  EXPECT_EQ(parse_subscription_type("unsubscribed"), T::Unsubscribed);
  EXPECT_FALSE(parse_subscription_type("probe"));
  EXPECT_FALSE(parse_subscription_type(""));
  EXPECT_FALSE(parse_subscription_type("Subscribe"));
}

// A.2.1: outbound subscribe is always routed; the state only records "Pending Out".
TEST(Subscription, OutboundSubscribe) {
  check_outbound(T::Subscribe, {
                                   {kNone, true, kNoneOut},
                                   {kNoneOut, true, kNoneOut},
                                   {kNoneIn, true, kNoneOutIn},
                                   {kNoneOutIn, true, kNoneOutIn},
                                   {kTo, true, kTo},
                                   {kToIn, true, kToIn},
                                   {kFrom, true, kFromOut},
                                   {kFromOut, true, kFromOut},
                                   {kBoth, true, kBoth},
                               });
}

TEST(Subscription, OutboundUnsubscribe) {
  check_outbound(T::Unsubscribe, {
                                     {kNone, true, kNone},
                                     {kNoneOut, true, kNone},
                                     {kNoneIn, true, kNoneIn},
                                     {kNoneOutIn, true, kNoneIn},
                                     {kTo, true, kNone},
                                     {kToIn, true, kNoneIn},
                                     {kFrom, true, kFrom},
                                     {kFromOut, true, kFrom},
                                     {kBoth, true, kFrom},
                                 });
}

// A.2.1 with §3.4: without a pending request, 'subscribed' becomes a pre-approval (not routed).
TEST(Subscription, OutboundSubscribed) {
  check_outbound(T::Subscribed, {
                                    {kNone, false, approved(kNone)},
                                    {kNoneOut, false, approved(kNoneOut)},
                                    {kNoneIn, true, kFrom},
                                    {kNoneOutIn, true, kFromOut},
                                    {kTo, false, approved(kTo)},
                                    {kToIn, true, kBoth},
                                    {kFrom, false, kFrom},
                                    {kFromOut, false, kFromOut},
                                    {kBoth, false, kBoth},
                                });
}

TEST(Subscription, OutboundUnsubscribed) {
  check_outbound(T::Unsubscribed, {
                                      {kNone, false, kNone},
                                      {kNoneOut, false, kNoneOut},
                                      {kNoneIn, true, kNone},
                                      {kNoneOutIn, true, kNoneOut},
                                      {kTo, false, kTo},
                                      {kToIn, true, kTo},
                                      {kFrom, true, kNone},
                                      {kFromOut, true, kNoneOut},
                                      {kBoth, true, kTo},
                                  });
}

// §3.4.1: 'unsubscribed' without a request cancels a pre-approval and is not routed.
TEST(Subscription, OutboundUnsubscribedCancelsPreApproval) {
  check_outbound(T::Unsubscribed, {
                                      {approved(kNone), false, kNone},
                                      {approved(kNoneOut), false, kNoneOut},
                                      {approved(kTo), false, kTo},
                                  });
}

// A.3.1: in From/Both the server answers 'subscribed' itself and delivers nothing.
TEST(Subscription, InboundSubscribe) {
  check_inbound(T::Subscribe, {
                                  {kNone, true, kNoneIn},
                                  {kNoneOut, true, kNoneOutIn},
                                  {kNoneIn, false, kNoneIn},
                                  {kNoneOutIn, false, kNoneOutIn},
                                  {kTo, true, kToIn},
                                  {kToIn, false, kToIn},
                                  {kFrom, false, kFrom, true},
                                  {kFromOut, false, kFromOut, true},
                                  {kBoth, false, kBoth, true},
                              });
}

// §3.4.2: a pre-approved request is granted at once and the approval is consumed.
TEST(Subscription, InboundSubscribePreApproved) {
  check_inbound(T::Subscribe, {
                                  {approved(kNone), false, kFrom, true},
                                  {approved(kNoneOut), false, kFromOut, true},
                                  {approved(kTo), false, kBoth, true},
                              });
}

TEST(Subscription, InboundUnsubscribe) {
  check_inbound(T::Unsubscribe, {
                                    {kNone, false, kNone},
                                    {kNoneOut, false, kNoneOut},
                                    {kNoneIn, true, kNone},
                                    {kNoneOutIn, true, kNoneOut},
                                    {kTo, false, kTo},
                                    {kToIn, true, kTo},
                                    {kFrom, true, kNone},
                                    {kFromOut, true, kNoneOut},
                                    {kBoth, true, kTo},
                                });
}

// A.3.1 / §3.1.6: an approval nobody asked for is neither delivered nor stored.
TEST(Subscription, InboundSubscribed) {
  check_inbound(T::Subscribed, {
                                   {kNone, false, kNone},
                                   {kNoneOut, true, kTo},
                                   {kNoneIn, false, kNoneIn},
                                   {kNoneOutIn, true, kToIn},
                                   {kTo, false, kTo},
                                   {kToIn, false, kToIn},
                                   {kFrom, false, kFrom},
                                   {kFromOut, true, kBoth},
                                   {kBoth, false, kBoth},
                               });
}

TEST(Subscription, InboundUnsubscribed) {
  check_inbound(T::Unsubscribed, {
                                     {kNone, false, kNone},
                                     {kNoneOut, true, kNone},
                                     {kNoneIn, false, kNoneIn},
                                     {kNoneOutIn, true, kNoneIn},
                                     {kTo, true, kNone},
                                     {kToIn, true, kNoneIn},
                                     {kFrom, false, kFrom},
                                     {kFromOut, true, kFrom},
                                     {kBoth, true, kFrom},
                                 });
}

TEST(Subscription, DirectionHelpers) {
  EXPECT_FALSE(has_to(S::None));
  EXPECT_TRUE(has_to(S::To));
  EXPECT_FALSE(has_to(S::From));
  EXPECT_TRUE(has_to(S::Both));
  EXPECT_FALSE(has_from(S::None));
  EXPECT_FALSE(has_from(S::To));
  EXPECT_TRUE(has_from(S::From));
  EXPECT_TRUE(has_from(S::Both));
}

}  // namespace
}  // namespace parley::im
