// XEP-0199 XMPP Ping: answer pings to the server and to one's own account, and ping idle
// clients so that dead connections are noticed and closed.
#include "core/module.h"
#include "router/registry.h"

namespace parley {
namespace {

constexpr const char* kPingNs = "urn:xmpp:ping";

struct Ping {
  struct Config {
    std::chrono::milliseconds client_ping_interval, client_ping_timeout;
    static Config parse(const ConfigSection& s);
  };

  Ping(ModuleContext& ctx, const Config& config) {
    // §4.2 client-to-server ping; a ping to one's own bare JID is answered by the server too
    // (RFC 6120 §10.3.3: IQs to the account are handled on its behalf).
    auto pong = [](const IqRequest& iq) { iq.reply(); };
    ctx.iq(kPingNs, "ping", IqType::Get, IqScope::Host, pong);
    ctx.iq(kPingNs, "ping", IqType::Get, IqScope::Self, pong, /*advertise=*/false);

    if (config.client_ping_interval.count() > 0)
      ctx.every(config.client_ping_interval, [&server = ctx.server(), config] {
        for (const SessionPtr& session : server.sessions().all())
          ping_client(server, session, config.client_ping_timeout);
      });
  }

  // §4.3 server-to-client ping. Any answer, an error included (a client without ping support
  // says service-unavailable), proves the connection is alive; silence closes it.
  static void ping_client(Server& server, const SessionPtr& session,
                          std::chrono::milliseconds timeout) {
    xml::Element iq("iq", "jabber:client");
    iq.set("type", "get").set("to", session->jid().str()).set("from", session->jid().domain());
    iq.add("ping", kPingNs);
    server.send_iq(std::move(iq), timeout,
                   [weak = std::weak_ptr<Session>(session)](const xml::Element* response) {
                     if (response) return;
                     if (auto s = weak.lock()) {
                       PLOG(Info, "ping") << s->jid().str() << " did not answer a ping; closing";
                       s->close("connection-timeout");
                     }
                   });
  }
};

Ping::Config Ping::Config::parse(const ConfigSection& s) {
  Config c;
  c.client_ping_interval = s.duration("client_ping_interval", std::chrono::minutes(5));
  c.client_ping_timeout = s.duration("client_ping_timeout", std::chrono::seconds(60));
  if (c.client_ping_interval.count() < 0 || c.client_ping_timeout.count() <= 0)
    throw ConfigError(s.path() + ": client_ping_interval and client_ping_timeout must be positive");
  // One ping per session in flight at a time.
  if (c.client_ping_interval.count() > 0 && c.client_ping_timeout >= c.client_ping_interval)
    throw ConfigError(s.path() + ".client_ping_timeout: must be shorter than client_ping_interval");
  return c;
}

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Ping)
