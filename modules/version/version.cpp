// XEP-0092 Software Version: the server's name and version; the operating system only when
// the operator opts in (§5: revealing it helps attackers).
#include <sys/utsname.h>

#include "core/module.h"

namespace parley {
namespace {

constexpr const char* kVersionNs = "jabber:iq:version";

struct Version {
  struct Config {
    bool hide_os = true;
    static Config parse(const ConfigSection& s) { return {s.boolean("hide_os", true)}; }
  };

  Version(ModuleContext& ctx, const Config& config) {
    xml::Element query("query", kVersionNs);
    query.text_child("name", "Parley");
    query.text_child("version", PARLEY_VERSION);
    if (struct utsname u{}; !config.hide_os && ::uname(&u) == 0)
      query.text_child("os", std::string(u.sysname) + " " + u.release);
    ctx.iq(kVersionNs, "query", IqType::Get, IqScope::Host,
           [query](const IqRequest& iq) { iq.reply(query); });
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Version)
