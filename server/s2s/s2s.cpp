#include "s2s/s2s.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <unordered_map>

#include "c2s/stream_util.h"
#include "core/config.h"
#include "core/log.h"
#include "core/server.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "s2s/incoming.h"
#include "s2s/outgoing.h"
#include "s2s/resolver.h"
#include "s2s/s2s_metrics.h"
#include "s2s/tls.h"

namespace parley::s2s {

namespace asio = boost::asio;

namespace {
constexpr unsigned kMaxVerifying = 1000;
}  // namespace

S2s::Metrics::Metrics(parley::Metrics& m)
    : incoming(m.get("parley_s2s_incoming_links", "", "gauge", "Open incoming federation links")),
      outgoing(m.get("parley_s2s_outgoing_links", "", "gauge", "Open outgoing federation links")),
      incoming_auth(m.get("parley_s2s_incoming_authenticated_total", "", "counter",
                          "Remote domains authenticated on incoming links")),
      outgoing_ready(m.get("parley_s2s_outgoing_ready_total", "", "counter",
                           "Outgoing links that authenticated and became ready")),
      stanzas_in(m.get("parley_s2s_stanzas_in_total", "", "counter",
                       "Stanzas received from remote servers")),
      stanzas_out(
          m.get("parley_s2s_stanzas_out_total", "", "counter", "Stanzas sent to remote servers")),
      bounced(m.get("parley_s2s_bounced_total", "", "counter",
                    "Stanzas bounced because no link to their domain could be set up")) {}

struct S2s::Impl {
  explicit Impl(Server& server) : metrics(server.metrics()) {}
  std::unique_ptr<S2sTls> tls;
  std::unique_ptr<Resolver> resolver;
  std::string secret = c2s::random_id(32);  // XEP-0185 §3: per process is enough for one node
  Metrics metrics;
  std::vector<HookToken> hooks;

  mutable std::mutex mutex;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<OutgoingLink>> outgoing;
  std::unordered_map<const IncomingLink*, std::weak_ptr<IncomingLink>> incoming;
  std::unordered_map<const IncomingLink*, std::vector<std::string>> incoming_domains;
  std::unordered_map<std::string, unsigned> incoming_per_domain;
  std::atomic<unsigned> verifying{0};  // dialback questions in flight
  std::map<std::pair<std::string, std::string>, std::weak_ptr<IncomingLink>> bidi;
  bool stopping = false;
};

S2s::S2s(Server& server) : server_(server), impl_(std::make_unique<Impl>(server)) {}

S2s::~S2s() = default;

const S2sConfig& S2s::config() const {
  return server_.config().s2s;
}
const S2sTls& S2s::tls() const {
  return *impl_->tls;
}
Resolver& S2s::resolver() {
  return *impl_->resolver;
}
const std::string& S2s::dialback_secret() const {
  return impl_->secret;
}
S2s::Metrics& S2s::metrics() {
  return impl_->metrics;
}

bool S2s::ours(std::string_view domain) const {
  return !domain.empty() && (server_.is_local(domain) || server_.components().has(domain));
}

bool S2s::blocked(std::string_view domain) const {
  const auto& b = config().blocked_domains;
  return std::find(b.begin(), b.end(), domain) != b.end();
}

void S2s::start() {
  const auto& c = config();
  impl_->tls = std::make_unique<S2sTls>(server_.config(), TlsOptions{c.ca_files, c.system_trust});
  Resolver::Options options;
  options.servers = c.dns_servers;
  options.timeout = c.connect_timeout;
  impl_->resolver = std::make_unique<Resolver>(std::move(options));
  // Above the core's default (which bounces remote-server-not-found): modules that act on
  // stanzas to remote domains (archive, carbons) run before, at their own priorities.
  impl_->hooks.push_back(server_.hooks().on<StanzaToRemote>(
      priority::kDefault + 1,
      [this](StanzaToRemote& e) {
        if (!ours(e.from.domain())) {
          // Only our own users and services send through us (no relaying, RFC 6120 §13.1).
          PLOG(Warn, "s2s") << "dropped a " << e.stanza->name() << " from " << e.from.str()
                            << " to " << e.to.str() << ": not from a local domain";
          return Flow::Stop;
        }
        send(e.from.domain(), e.to.domain(), e.stanza);
        return Flow::Stop;
      },
      "s2s"));
  PLOG(Info, "s2s") << "federation on" << (c.routes.empty() ? "" : ", with static routes")
                    << (c.allow_dialback ? "" : ", certificates only");
}

void S2s::reload_tls() {
  if (impl_->tls) impl_->tls->reload();
}

void S2s::accept(asio::ip::tcp::socket socket, bool direct_tls) {
  auto link = std::make_shared<IncomingLink>(*this, std::move(socket), direct_tls);
  link->start();
}

std::shared_ptr<OutgoingLink> S2s::link_for(std::string_view local, std::string_view remote,
                                            bool& fresh) {
  fresh = false;
  std::shared_ptr<OutgoingLink> link;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return nullptr;
    auto key = std::make_pair(std::string(local), std::string(remote));
    auto it = impl_->outgoing.find(key);
    if (it != impl_->outgoing.end()) return it->second;
    link = std::make_shared<OutgoingLink>(
        *this, asio::ip::tcp::socket(asio::make_strand(server_.io())), key.first, key.second);
    impl_->outgoing.emplace(std::move(key), link);
  }
  impl_->metrics.outgoing.inc();
  fresh = true;
  return link;
}

void S2s::send(std::string_view local, std::string_view remote,
               std::shared_ptr<const xml::Element> stanza) {
  // RFC 6761 §6.4: .invalid never resolves; asking DNS would only cost time.
  if (remote == "invalid" || remote.ends_with(".invalid")) {
    impl_->metrics.bounced.inc();
    server_.router().bounce(*stanza, "remote-server-not-found");
    return;
  }
  if (blocked(remote)) {
    impl_->metrics.bounced.inc();
    server_.router().bounce(*stanza, "remote-server-not-found",
                            "federation with " + std::string(remote) + " is disabled here");
    return;
  }
  std::shared_ptr<IncomingLink> reverse;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->bidi.find({std::string(local), std::string(remote)});
    if (it != impl_->bidi.end()) reverse = it->second.lock();
  }
  if (reverse) {
    reverse->enqueue(std::move(stanza));
    return;
  }
  bool fresh = false;
  auto link = link_for(local, remote, fresh);
  if (!link) {
    server_.router().bounce(*stanza, "remote-server-timeout", "the server is shutting down");
    return;
  }
  // Queued before the link starts: both go to its strand in this order, so a link that
  // fails at once still finds the stanza to bounce.
  link->enqueue(std::move(stanza));
  if (fresh) link->start();
}

void S2s::verify(std::string_view receiving, std::string_view originating, std::string stream_id,
                 std::string key, std::function<void(bool)> done) {
  // Bounded in time (an authoritative server that never answers) and in number (a peer that
  // claims domain after domain on stream after stream): each question costs a connection.
  if (impl_->verifying.load() >= kMaxVerifying) return done(false);
  struct Once {
    explicit Once(asio::io_context& io) : timer(io) {}
    std::mutex mutex;
    std::function<void(bool)> fn;
    asio::steady_timer timer;
  };
  auto once = std::make_shared<Once>(server_.io());
  once->fn = std::move(done);
  ++impl_->verifying;
  auto answer = [once, impl = impl_.get()](bool valid) {
    std::function<void(bool)> fn;
    {
      std::lock_guard lock(once->mutex);
      fn = std::move(once->fn);
      once->fn = nullptr;
    }
    if (!fn) return;
    --impl->verifying;
    fn(valid);
  };
  // The timer is never cancelled (answers come on other threads); it only finds nothing to do.
  once->timer.expires_after(config().connect_timeout);
  once->timer.async_wait([answer](const boost::system::error_code& ec) {
    if (!ec) answer(false);
  });
  bool fresh = false;
  auto link = link_for(receiving, originating, fresh);
  if (!link) return answer(false);
  DialbackElement request{DialbackElement::Kind::Verify,
                          std::string(receiving),
                          std::string(originating),
                          std::move(stream_id),
                          {},
                          std::move(key)};
  link->verify(std::move(request), answer);
  if (fresh) link->start();
}

void S2s::outgoing_closed(const OutgoingLink* link, const std::string& local,
                          const std::string& remote) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->outgoing.find({local, remote});
  if (it != impl_->outgoing.end() && it->second.get() == link) {
    impl_->outgoing.erase(it);
    impl_->metrics.outgoing.dec();
  }
}

void S2s::bidi_attach(const std::string& local, const std::string& remote,
                      const std::shared_ptr<IncomingLink>& link) {
  std::lock_guard lock(impl_->mutex);
  impl_->bidi[{local, remote}] = link;
}

void S2s::bidi_detach(const IncomingLink* link) {
  std::lock_guard lock(impl_->mutex);
  std::erase_if(impl_->bidi, [link](const auto& kv) {
    auto l = kv.second.lock();
    return !l || l.get() == link;
  });
}

void S2s::incoming_started(const std::shared_ptr<IncomingLink>& link) {
  std::lock_guard lock(impl_->mutex);
  impl_->incoming[link.get()] = link;
  impl_->metrics.incoming.inc();
}

void S2s::incoming_closed(const IncomingLink* link) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->incoming.erase(link)) impl_->metrics.incoming.dec();
  auto it = impl_->incoming_domains.find(link);
  if (it == impl_->incoming_domains.end()) return;
  for (const auto& d : it->second)
    if (auto c = impl_->incoming_per_domain.find(d);
        c != impl_->incoming_per_domain.end() && --c->second == 0)
      impl_->incoming_per_domain.erase(c);
  impl_->incoming_domains.erase(it);
}

bool S2s::incoming_authenticated(const IncomingLink* link, const std::string& remote) {
  std::lock_guard lock(impl_->mutex);
  unsigned& n = impl_->incoming_per_domain[remote];
  if (n >= config().max_incoming_per_domain) return false;
  ++n;
  impl_->incoming_domains[link].push_back(remote);
  return true;
}

void S2s::close_all(std::string_view condition) {
  std::vector<std::shared_ptr<Link>> links;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    for (auto& [_, l] : impl_->outgoing) links.push_back(l);
    for (auto& [_, w] : impl_->incoming)
      if (auto l = w.lock()) links.push_back(std::move(l));
  }
  for (auto& l : links) l->close(std::string(condition));
}

size_t S2s::incoming_links() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->incoming.size();
}

size_t S2s::outgoing_links() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->outgoing.size();
}

}  // namespace parley::s2s
