// XEP-0082 date/time profile and the XEP-0203 <delay/> element.
#include "xep/delay.h"

#include <gtest/gtest.h>

namespace parley::xep {
namespace {

using namespace std::chrono;

SysTime at(int64_t unix_ms) {
  return SysTime(duration_cast<SysTime::duration>(milliseconds(unix_ms)));
}

TEST(Delay, FormatsUtcWithZ) {
  // XEP-0082 §3.2 example instant.
  EXPECT_EQ(format_datetime(at(1031699305000)), "2002-09-10T23:08:25Z");
  EXPECT_EQ(format_datetime(at(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_datetime(at(951782400000)), "2000-02-29T00:00:00Z");  // leap day
}

TEST(Delay, FormatsMillisecondsOnlyWhenPresent) {
  EXPECT_EQ(format_datetime(at(1031699305120)), "2002-09-10T23:08:25.120Z");
  EXPECT_EQ(format_datetime(at(1031699305007)), "2002-09-10T23:08:25.007Z");
}

TEST(Delay, ParsesTheXepExamples) {
  EXPECT_EQ(parse_datetime("2002-09-10T23:08:25Z"), at(1031699305000));
  EXPECT_EQ(parse_datetime("2002-09-10T23:08:25.120Z"), at(1031699305120));
  // Offsets: 17:08:25-06:00 is 23:08:25Z.
  EXPECT_EQ(parse_datetime("2002-09-10T17:08:25-06:00"), at(1031699305000));
  EXPECT_EQ(parse_datetime("2002-09-11T01:38:25+02:30"), at(1031699305000));
  // Fractions beyond milliseconds are truncated.
  EXPECT_EQ(parse_datetime("2002-09-10T23:08:25.123456Z"), at(1031699305123));
}

TEST(Delay, RoundTrips) {
  for (int64_t ms :
       {int64_t{0}, int64_t{1031699305120}, int64_t{4102444799999}, int64_t{1709251199000}}) {
    auto text = format_datetime(at(ms));
    EXPECT_EQ(parse_datetime(text), at(ms)) << text;
  }
}

TEST(Delay, RejectsMalformed) {
  for (const char* bad :
       {"", "2002-09-10", "2002-09-10T23:08:25", "2002-09-10 23:08:25Z", "2002-13-10T23:08:25Z",
        "2002-02-29T00:00:00Z", "2002-09-10T24:00:00Z", "2002-09-10T23:60:25Z",
        "2002-09-10T23:08:25.Z", "2002-09-10T23:08:25+0600", "2002-09-10T23:08:25Zjunk",
        "02-09-10T23:08:25Z", "2002-09-1aT23:08:25Z"})
    EXPECT_FALSE(parse_datetime(bad)) << bad;
  EXPECT_TRUE(parse_datetime("2000-02-29T00:00:00Z"));
}

TEST(Delay, RejectsTimesTheClockCannotHold) {
  // 64-bit nanoseconds: roughly 1678..2262. Outside, no stamp can be real.
  EXPECT_FALSE(parse_datetime("1005-06-07T00:00:00Z"));
  EXPECT_FALSE(parse_datetime("9999-12-31T23:59:59Z"));
  EXPECT_FALSE(parse_datetime("0000-01-01T00:00:00Z"));
  EXPECT_TRUE(parse_datetime("1700-01-01T00:00:00Z"));
  EXPECT_TRUE(parse_datetime("2200-01-01T00:00:00Z"));
}

TEST(Delay, Element) {
  auto e = delay_element("example.org", at(1031699305000));
  EXPECT_EQ(e.name(), "delay");
  EXPECT_EQ(e.xmlns(), "urn:xmpp:delay");
  EXPECT_EQ(e.get("from"), "example.org");
  EXPECT_EQ(e.get("stamp"), "2002-09-10T23:08:25Z");
  EXPECT_FALSE(delay_element("", at(0)).has("from"));
}

}  // namespace
}  // namespace parley::xep
