// Federation (RFC 6120 server-to-server, DESIGN §1 s2s/): the links to and from other servers.
// Stanzas for remote domains (StanzaToRemote) go out on one outgoing link per (local domain,
// remote domain), set up on first use: DNS SRV (XEP-0368) or a static route, TLS, then SASL
// EXTERNAL (XEP-0178) when certificates allow and Server Dialback (XEP-0220) otherwise; they
// wait in order meanwhile and bounce with remote-server-not-found / remote-server-timeout when
// the link cannot be set up. Incoming links authenticate the domains they speak for and hand
// their stanzas to the router. Included only by the server, the listeners and s2s/ itself.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "xml/element.h"

namespace parley {
class Server;
struct S2sConfig;
class Metric;
namespace s2s {

class S2sTls;
class Resolver;
class Link;
class IncomingLink;
class OutgoingLink;

class S2s {
 public:
  explicit S2s(Server& server);
  ~S2s();
  S2s(const S2s&) = delete;
  S2s& operator=(const S2s&) = delete;

  // Loads the TLS contexts and starts the resolver; registers the StanzaToRemote handler.
  // Throws on a bad certificate or CA file.
  void start();
  // A connection accepted on an s2s listener (net/listener.cpp), on its strand.
  void accept(boost::asio::ip::tcp::socket socket, bool direct_tls);
  // Shutdown: a stream error on every link; stanzas still queued bounce.
  void close_all(std::string_view condition);
  void reload_tls();
  size_t incoming_links() const;
  size_t outgoing_links() const;

  // ---- For the links (any thread) ----
  Server& server() const { return server_; }
  const S2sConfig& config() const;
  const S2sTls& tls() const;
  Resolver& resolver();
  const std::string& dialback_secret() const;
  // A domain this server speaks for: a virtual host or a hosted component (MUC, ...).
  bool ours(std::string_view domain) const;
  bool blocked(std::string_view domain) const;
  struct Metrics;
  Metrics& metrics();

  // Sends `stanza` from our domain `local` to the remote domain `remote` (RFC 6120 §10.4).
  void send(std::string_view local, std::string_view remote,
            std::shared_ptr<const xml::Element> stanza);
  // XEP-0220 §2.2, the receiving server's side: asks the authoritative server of
  // `originating` whether `key` is what it gave for stream `stream_id` to `receiving` (ours).
  // `done(valid)` runs once, on any thread; false also when the question cannot be asked.
  void verify(std::string_view receiving, std::string_view originating, std::string stream_id,
              std::string key, std::function<void(bool valid)> done);

  // Link bookkeeping.
  void outgoing_closed(const OutgoingLink* link, const std::string& local,
                       const std::string& remote);
  void incoming_started(const std::shared_ptr<IncomingLink>& link);
  void incoming_closed(const IncomingLink* link);
  // XEP-0288: an incoming link on which `remote` asked for both directions; stanzas from
  // `local` to `remote` take it instead of a connection of their own, until it closes.
  void bidi_attach(const std::string& local, const std::string& remote,
                   const std::shared_ptr<IncomingLink>& link);
  void bidi_detach(const IncomingLink* link);
  // Counts an incoming link authenticated for `remote`; false when it is over the limit.
  bool incoming_authenticated(const IncomingLink* link, const std::string& remote);

 private:
  // The outgoing link for a pair of domains (`fresh`: made now; the caller queues its work,
  // then starts it); null while shutting down.
  std::shared_ptr<OutgoingLink> link_for(std::string_view local, std::string_view remote,
                                         bool& fresh);
  struct Impl;
  Server& server_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace s2s
}  // namespace parley
