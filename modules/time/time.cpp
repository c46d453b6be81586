// XEP-0202 Entity Time: the server's clock in UTC (XEP-0082 DateTime profile).
#include <ctime>

#include "core/module.h"

namespace parley {
namespace {

constexpr const char* kTimeNs = "urn:xmpp:time";

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct Time {
  explicit Time(ModuleContext& ctx) {
    ctx.iq(kTimeNs, "time", IqType::Get, IqScope::Host, [](const IqRequest& iq) {
      xml::Element time("time", kTimeNs);
      time.text_child("tzo", "+00:00");  // §3: the server reports UTC
      time.text_child("utc", utc_now());
      iq.reply(std::move(time));
    });
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Time)
