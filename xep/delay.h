// XEP-0203 Delayed Delivery: the <delay/> element, and the XEP-0082 DateTime profile its
// 'stamp' uses (UTC, "CCYY-MM-DDThh:mm:ss[.sss]Z" or with a numeric offset).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "xml/element.h"

namespace parley::xep {

inline constexpr const char* kDelayNs = "urn:xmpp:delay";

using SysTime = std::chrono::system_clock::time_point;

// XEP-0082 §3.2 DateTime in UTC with 'Z'; milliseconds only when non-zero
// ("2002-09-10T23:08:25Z", "2002-09-10T23:08:25.120Z").
std::string format_datetime(SysTime t);
// Parses an XEP-0082 DateTime: "CCYY-MM-DDThh:mm:ss", optional fraction of a second (kept to
// milliseconds), then 'Z' or "+hh:mm" / "-hh:mm". nullopt when malformed or out of range.
std::optional<SysTime> parse_datetime(std::string_view text);

// <delay xmlns='urn:xmpp:delay' from='...' stamp='...'/> (XEP-0203 §3); `from` may be empty.
xml::Element delay_element(std::string_view from, SysTime stamp);

}  // namespace parley::xep
