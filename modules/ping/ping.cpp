// XEP-0199 XMPP Ping: answer pings to the server and to one's own account. (Finding dead
// client connections is the c2s session's own job: c2s.ping_interval.)
#include "core/module.h"

namespace parley {
namespace {

constexpr const char* kPingNs = "urn:xmpp:ping";

struct Ping {
  explicit Ping(ModuleContext& ctx) {
    // §4.2 client-to-server ping; a ping to one's own bare JID is answered by the server too
    // (RFC 6120 §10.3.3: IQs to the account are handled on its behalf).
    auto pong = [](const IqRequest& iq) { iq.reply(); };
    ctx.iq(kPingNs, "ping", IqType::Get, IqScope::Host, pong);
    ctx.iq(kPingNs, "ping", IqType::Get, IqScope::Self, pong, /*advertise=*/false);
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Ping)
