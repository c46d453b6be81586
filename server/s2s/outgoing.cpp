#include "s2s/outgoing.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <sstream>

#include "c2s/stream_util.h"
#include "core/base64.h"
#include "core/config.h"
#include "core/log.h"
#include "core/server.h"
#include "router/router.h"
#include "s2s/s2s.h"
#include "s2s/s2s_metrics.h"
#include "xml/stanza.h"

namespace parley::s2s {

namespace asio = boost::asio;

namespace {
constexpr std::string_view kStreamsNs = "http://etherx.jabber.org/streams";
}

OutgoingLink::OutgoingLink(S2s& s2s, asio::ip::tcp::socket socket, std::string local,
                           std::string remote)
    : Link(s2s, std::move(socket), "outgoing"),
      local_(std::move(local)),
      remote_domain_(std::move(remote)),
      attempt_timer_(strand()) {}

namespace {
constexpr auto kAttemptBound = std::chrono::seconds(3);
constexpr size_t kMaxPendingVerifies = 256;
}  // namespace

void OutgoingLink::detach() {
  if (detached_) return;
  detached_ = true;
  s2s().outgoing_closed(this, local_, remote_domain_);
}

void OutgoingLink::start() {
  asio::dispatch(strand(), [self = me()] {
    const auto& c = self->s2s().config();
    self->last_activity_ = std::chrono::steady_clock::now();
    // DNS, TCP, TLS and authentication together (RFC 6120 §3.2 leaves the bound to us).
    // The pending wait keeps the link alive; a self-reference in the timer would leak it.
    OutgoingLink* link = self.get();
    self->arm_timer(c.connect_timeout, [link] {
      link->fail("remote-server-timeout", "no link within s2s.connect_timeout");
    });
    auto done = [self](std::vector<Endpoint> endpoints, std::string error) {
      asio::post(self->strand(),
                 [self, endpoints = std::move(endpoints), error = std::move(error)]() mutable {
                   self->resolved(std::move(endpoints), std::move(error));
                 });
    };
    auto route = c.routes.find(self->remote_domain_);
    if (route != c.routes.end()) {
      std::string_view target = route->second;
      bool tls = target.starts_with("tls://");
      if (tls) target.remove_prefix(6);
      auto colon = target.rfind(':');
      std::string host(target.substr(0, colon));
      if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      auto port = static_cast<uint16_t>(std::stoul(std::string(target.substr(colon + 1))));
      self->s2s().resolver().resolve_host(std::move(host), port, tls, std::move(done));
    } else {
      self->s2s().resolver().resolve(self->remote_domain_, std::move(done));
    }
  });
}

void OutgoingLink::enqueue(std::shared_ptr<const xml::Element> stanza) {
  asio::dispatch(strand(), [self = me(), stanza = std::move(stanza)]() mutable {
    if (self->finished() || self->closing() || self->state_ == State::Failed) {
      // This link is going away: the stanza takes the next one (out of the table first, or
      // it would come straight back here).
      self->detach();
      self->s2s().send(self->local_, self->remote_domain_, std::move(stanza));
      return;
    }
    self->last_activity_ = std::chrono::steady_clock::now();
    if (self->state_ == State::Ready) {
      if (self->queued_bytes() > self->s2s().config().max_queue_bytes) {
        self->s2s().metrics().bounced.inc();
        self->server().router().bounce(*stanza, "resource-constraint",
                                       "the link to " + self->remote_domain_ + " is congested");
        return;
      }
      self->write_stanza(*stanza);
      return;
    }
    if (self->queue_.size() >= self->s2s().config().max_queued_stanzas) {
      self->s2s().metrics().bounced.inc();
      self->server().router().bounce(*stanza, "resource-constraint",
                                     "too many stanzas wait for " + self->remote_domain_);
      return;
    }
    self->queue_.push_back(std::move(stanza));
  });
}

void OutgoingLink::verify(DialbackElement request, std::function<void(bool)> done) {
  asio::dispatch(strand(), [self = me(), request = std::move(request),
                            done = std::move(done)]() mutable {
    if (self->finished() || self->closing() || self->state_ == State::Failed) {
      self->detach();
      self->s2s().verify(request.from, request.to, request.id, request.key, std::move(done));
      return;
    }
    // Answers that never came: their callers were told already (S2s::verify).
    auto now = std::chrono::steady_clock::now();
    auto bound = self->s2s().config().connect_timeout;
    std::erase_if(self->verifies_, [&](const PendingVerify& v) { return now - v.asked > bound; });
    if (self->verifies_.size() >= kMaxPendingVerifies) return done(false);
    self->verifies_.push_back({std::move(request), std::move(done), now, false});
    if (self->verifies_open_) self->send_verifies();
  });
}

void OutgoingLink::resolved(std::vector<Endpoint> endpoints, std::string error) {
  if (finished() || closing() || state_ == State::Failed) return;
  if (endpoints.empty()) {
    return fail("remote-server-not-found", "DNS: " + (error.empty() ? "no address" : error));
  }
  endpoints_ = std::move(endpoints);
  state_ = State::Connecting;
  try_connect();
}

void OutgoingLink::try_connect() {
  if (next_endpoint_ >= endpoints_.size())
    return fail("remote-server-not-found", "cannot connect: " + connect_errors_);
  const Endpoint& ep = endpoints_[next_endpoint_++];
  auto& socket = transport().socket();
  boost::system::error_code ec;
  if (socket.is_open()) socket.close(ec);
  attempt_timer_.expires_after(kAttemptBound);
  attempt_timer_.async_wait([self = me()](const boost::system::error_code& e) {
    if (e || self->state_ != State::Connecting) return;
    boost::system::error_code ignored;
    self->transport().socket().cancel(ignored);  // the connect handler moves on
  });
  socket.async_connect(ep.address, [self = me(), ep](const boost::system::error_code& e) {
    self->attempt_timer_.cancel();
    if (self->finished() || self->closing() || self->state_ == State::Failed) return;
    if (e) {
      std::ostringstream where;
      where << ep.address;
      if (!self->connect_errors_.empty()) self->connect_errors_ += "; ";
      self->connect_errors_ +=
          where.str() + ": " +
          (e == boost::asio::error::operation_aborted ? std::string("no answer") : e.message());
      return self->try_connect();
    }
    self->direct_tls_ = ep.direct_tls;
    self->on_connected();
  });
}

void OutgoingLink::on_connected() {
  if (closing()) return;
  connected();
  state_ = State::Negotiating;
  PLOG(Debug, "s2s") << "outgoing link " << id() << " " << local_ << " -> " << remote_domain_
                     << " connected to " << remote_address()
                     << (direct_tls_ ? " (direct TLS)" : "");
  start_reading();
  if (direct_tls_) {
    return begin_tls(true);
  }
  open_stream();
}

void OutgoingLink::begin_tls(bool direct) {
  TlsConnection tls;
  try {
    tls = s2s().tls().connect(local_, remote_domain_, direct);
  } catch (const std::exception& e) {
    return fail("remote-server-not-found", std::string("TLS: ") + e.what());
  }
  start_tls(std::move(tls), [this] { open_stream(); });
}

void OutgoingLink::open_stream() {
  header_received_ = false;
  send(stream_header(local_, remote_domain_, {}));
  header_sent();
}

void OutgoingLink::on_open(const xml::Element& header, std::string_view default_ns) {
  if (default_ns != kServerNs) return stream_error("invalid-namespace", "expected jabber:server");
  header_received_ = true;
  stream_id_ = std::string(header.get("id"));
  if (!c2s::version_supported(header.get("version"))) {
    // XEP-0220 §2.1: a pre-1.0 peer has no features; dialback is all it knows.
    legacy_ = true;
    if (!secure() && s2s().config().require_encryption && !s2s().config().allow_plaintext_dialback)
      return fail("remote-server-not-found", "the peer offers no TLS (a pre-1.0 stream)");
    verifies_open_ = true;
    send_verifies();
    start_dialback();
  }
}

void OutgoingLink::on_element(std::unique_ptr<xml::Element> el) {
  const auto& ns = el->xmlns();
  const auto& name = el->name();
  if (ns == kStreamsNs && name == "features") return handle_features(*el);
  if (ns == kStreamsNs && name == "error") {
    const xml::Element* first = el->first_child();
    std::string condition = first ? first->name() : "undefined-condition";
    PLOG(Info, "s2s") << "outgoing link " << local_ << " -> " << remote_domain_
                      << ": stream error from the peer: " << condition;
    peer_error_ = true;
    return fail("remote-server-not-found", "stream error " + condition);
  }
  if (ns == c2s::kTlsNs && name == "proceed") {
    if (!starttls_sent_ || secure())
      return stream_error("unsupported-stanza-type", "<proceed/> without <starttls/>");
    starttls_sent_ = false;
    return begin_tls(false);
  }
  if (ns == c2s::kTlsNs && name == "failure")
    return fail("remote-server-not-found", "the peer could not start TLS");
  if (ns == c2s::kSaslNs && name == "success") {
    // Only the answer to our own <auth/>, on TLS (a forged one must not skip the checks).
    if (!sasl_tried_ || sasl_done_ || !secure())
      return fail("remote-server-not-found", "unexpected SASL success");
    sasl_done_ = true;
    restart_parser();
    open_stream();
    return;
  }
  if (ns == c2s::kSaslNs && name == "failure") {
    PLOG(Info, "s2s") << "outgoing link " << local_ << " -> " << remote_domain_
                      << ": SASL EXTERNAL refused: " << el->str();
    return start_dialback();
  }
  if (ns == kDialbackNs) {
    auto parsed = parse_dialback(*el);
    if (!parsed.ok) return stream_error("bad-format", "a dialback element needs 'from' and 'to'");
    const DialbackElement& d = parsed.value;
    if (d.kind == DialbackElement::Kind::Result) {
      // Only the answer to the key we sent (an unsolicited 'valid' must not make us ready).
      if (d.from != remote_domain_ || d.to != local_ || !dialback_sent_ ||
          state_ != State::Negotiating)
        return;
      if (d.type == "valid") return ready("dialback");
      return fail("remote-server-not-found", "dialback refused (" + d.type + ")");
    }
    // The answer to a verification request we sent.
    for (auto it = verifies_.begin(); it != verifies_.end(); ++it) {
      if (it->sent && it->request.id == d.id && it->request.from == d.to &&
          it->request.to == d.from) {
        auto done = std::move(it->done);
        verifies_.erase(it);
        done(d.type == "valid");
        return;
      }
    }
    return;
  }
  if (ns == kServerNs && (name == "message" || name == "presence" || name == "iq"))
    return handle_stanza(std::move(el));
  stream_error("unsupported-stanza-type", "<" + name + "/> in " + ns);
}

void OutgoingLink::handle_stanza(std::unique_ptr<xml::Element> stanza) {
  // Only on a bidirectional stream (XEP-0288), once authenticated, from the domain whose
  // certificate we checked when we connected.
  if (!bidi_ || state_ != State::Ready)
    return stream_error("unsupported-stanza-type", "this stream carries stanzas the other way");
  auto condition = check_addressing(
      *stanza, [this](std::string_view d) { return d == remote_domain_; },
      [this](std::string_view d) { return s2s().ours(d); });
  if (!condition.empty()) return stream_error(condition, "on a bidirectional stream");
  last_activity_ = std::chrono::steady_clock::now();
  to_client_namespace(*stanza);
  s2s().metrics().stanzas_in.inc();
  server().router().route(std::shared_ptr<xml::Element>(std::move(stanza)));
}

void OutgoingLink::handle_features(const xml::Element& features) {
  const auto& c = s2s().config();
  if (!secure()) {
    if (features.child("starttls", c2s::kTlsNs)) {
      starttls_sent_ = true;
      send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
      return;
    }
    if (c.require_encryption && !c.allow_plaintext_dialback)
      return fail("remote-server-not-found", "the peer offers no TLS");
    verifies_open_ = true;
    send_verifies();
    return start_dialback();
  }
  if (!header_received_) return;
  verifies_open_ = true;
  send_verifies();
  if (sasl_done_) return ready("SASL EXTERNAL");
  if (state_ == State::Ready) return;
  cert_ = inspect_peer(transport().native_ssl());
  peer_verified_ = cert_.trusted && identifies(cert_, remote_domain_);
  if (!peer_verified_ && !c.allow_dialback)
    return fail("remote-server-not-found",
                "the peer's certificate does not prove " + remote_domain_ + ": " +
                    (cert_.error.empty() ? "it does not name the domain" : cert_.error));
  // XEP-0288: one connection both ways, when we know who is at the other end.
  if (s2s().config().bidi && peer_verified_ && !bidi_ && features.child("bidi", kBidiFeatureNs)) {
    bidi_ = true;
    send("<bidi xmlns='urn:xmpp:bidi'/>");
  }
  const xml::Element* mechs = features.child("mechanisms", c2s::kSaslNs);
  bool external = false;
  if (mechs)
    for (const auto* m : mechs->children("mechanism"))
      if (m->text() == "EXTERNAL") external = true;
  if (external && !sasl_tried_) {
    sasl_tried_ = true;
    // XEP-0178 §3: the authorization identity is our domain.
    send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>" +
         base64_encode(local_) + "</auth>");
    return;
  }
  start_dialback();
}

void OutgoingLink::start_dialback() {
  if (dialback_sent_) return fail("remote-server-not-found", "authentication failed");
  if (!s2s().config().allow_dialback && !peer_verified_)
    return fail("remote-server-not-found", "no way to authenticate");
  if (stream_id_.empty())
    return fail("remote-server-not-found", "the peer's stream has no id for dialback");
  dialback_sent_ = true;
  DialbackElement result{DialbackElement::Kind::Result,
                         local_,
                         remote_domain_,
                         {},
                         {},
                         dialback_key(s2s().dialback_secret(), remote_domain_, local_, stream_id_)};
  send(dialback_element(result));
}

void OutgoingLink::send_verifies() {
  for (auto& v : verifies_) {
    if (v.sent) continue;
    v.sent = true;
    send(dialback_element(v.request));
  }
}

void OutgoingLink::ready(std::string_view how) {
  if (state_ == State::Ready) return;
  state_ = State::Ready;
  s2s().metrics().outgoing_ready.inc();
  PLOG(Info, "s2s") << "outgoing link " << local_ << " -> " << remote_domain_ << " ready (" << how
                    << (bidi_ ? ", bidirectional" : "") << ", " << transport().tls_version() << ", "
                    << remote_address() << ")";
  while (!queue_.empty()) {
    write_stanza(*queue_.front());
    queue_.pop_front();
  }
  arm_idle();
}

void OutgoingLink::write_stanza(const xml::Element& stanza) {
  // The stream's default namespace is jabber:server: stanzas from clients (jabber:client)
  // are written without their own xmlns, so they land in it (RFC 6120 §4.8.3).
  s2s().metrics().stanzas_out.inc();
  send(stanza.str(stanza::kClientNs));
}

void OutgoingLink::arm_idle() {
  auto idle = s2s().config().idle_timeout;
  auto quiet = std::chrono::steady_clock::now() - last_activity_;
  if (quiet >= idle) {
    PLOG(Debug, "s2s") << "outgoing link " << local_ << " -> " << remote_domain_ << " idle";
    detach();
    return end_stream();
  }
  arm_timer(std::chrono::duration_cast<std::chrono::milliseconds>(idle - quiet) +
                std::chrono::milliseconds(1),
            [this] { arm_idle(); });
}

void OutgoingLink::fail(std::string_view condition, std::string_view why) {
  if (state_ == State::Failed) return;
  bool was_ready = state_ == State::Ready;
  state_ = State::Failed;
  if (!was_ready) {
    PLOG(Info, "s2s") << "cannot reach " << remote_domain_ << " (from " << local_ << "): " << why;
  }
  std::string text = "cannot reach " + remote_domain_;
  while (!queue_.empty()) {
    s2s().metrics().bounced.inc();
    server().router().bounce(*queue_.front(), condition, text);
    queue_.pop_front();
  }
  for (auto& v : verifies_) v.done(false);
  verifies_.clear();
  detach();
  if (!finished()) {
    if (peer_error_)
      end_stream();  // a stream error is not answered with another
    else if (header_received_ || direct_tls_)
      stream_error("undefined-condition", why);  // tells the peer why, then closes
    else
      abort(std::string(why));  // nothing opened yet: the socket just closes
  }
}

void OutgoingLink::on_closed(std::string_view reason) {
  attempt_timer_.cancel();
  detach();
  // Closed before it was ready: what waits bounces (RFC 6120 §8.3.3.16 / §8.3.3.17).
  if (state_ != State::Ready && state_ != State::Failed) fail("remote-server-not-found", reason);
  for (auto& v : verifies_) v.done(false);
  verifies_.clear();
}

}  // namespace parley::s2s
