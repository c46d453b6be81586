#include "s2s/incoming.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "c2s/stream_util.h"
#include "core/config.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/server.h"
#include "jid/jid.h"
#include "router/router.h"
#include "s2s/s2s.h"
#include "s2s/s2s_metrics.h"
#include "xml/stanza.h"

namespace parley::s2s {

namespace asio = boost::asio;

namespace {
constexpr std::string_view kStreamsNs = "http://etherx.jabber.org/streams";
constexpr size_t kMaxDomainsPerStream = 32;
}  // namespace

IncomingLink::IncomingLink(S2s& s2s, asio::ip::tcp::socket socket, bool direct_tls)
    : Link(s2s, std::move(socket), "incoming"), direct_tls_(direct_tls) {}

void IncomingLink::start() {
  s2s().incoming_started(me());
  asio::dispatch(strand(), [self = me()] {
    self->connected();
    self->last_activity_ = std::chrono::steady_clock::now();
    // Authentication (dialback included, which may need a connection of its own) is bounded.
    // Timer callbacks capture the raw pointer: the pending wait keeps the link alive, and a
    // link holding itself through its own timer would outlive a stopped io_context.
    IncomingLink* link = self.get();
    self->arm_timer(self->s2s().config().connect_timeout * 3, [link] {
      if (link->authenticated_.empty())
        link->stream_error("connection-timeout", "no domain authenticated in time");
      else
        link->arm_idle();
    });
    self->start_reading();
    if (self->direct_tls_) self->begin_tls();
  });
}

bool IncomingLink::encryption_ok() const {
  const auto& c = s2s().config();
  return secure() || !c.require_encryption;
}

void IncomingLink::on_open(const xml::Element& header, std::string_view default_ns) {
  stream_open_ = true;
  std::string to(header.get("to"));
  std::string from(header.get("from"));
  auto to_jid = Jid::parse(to);
  auto from_jid = Jid::parse(from);
  std::string local = to_jid ? std::string(to_jid->domain()) : std::string();
  peer_ = from_jid && !from_jid->has_local() && !from_jid->has_resource()
              ? std::string(from_jid->domain())
              : std::string();
  stream_id_ = c2s::random_id(16);
  bool v1 = c2s::version_supported(header.get("version"));
  // RFC 6120 §4.9.1.1: a stream error is sent on our own header, even for a bad one.
  send(stream_header(s2s().ours(local) ? local : std::string(), peer_, stream_id_, v1));
  header_sent();
  if (default_ns != kServerNs) return stream_error("invalid-namespace", "expected jabber:server");
  if (!s2s().ours(local)) return stream_error("host-unknown", "this server does not serve " + to);
  if (!local_.empty() && local != local_)
    return stream_error("host-unknown", "the stream changed its 'to' domain");
  local_ = local;
  if (!peer_.empty() && s2s().blocked(peer_))
    return stream_error("policy-violation", "federation with " + peer_ + " is disabled");
  if (!v1) {
    // Pre-1.0 servers: no features; they go straight to dialback (XEP-0220 §2.1).
    if (!encryption_ok() && !s2s().config().allow_plaintext_dialback)
      return stream_error("policy-violation", "TLS is required (version 1.0 streams)");
    return;
  }
  send_features();
}

void IncomingLink::send_features() {
  const auto& c = s2s().config();
  std::string f = "<stream:features>";
  if (!secure()) {
    f += "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>";
    if (c.require_encryption) f += "<required/>";
    f += "</starttls>";
    if (c.allow_dialback && (!c.require_encryption || c.allow_plaintext_dialback))
      f += "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>";
  } else if (!sasl_done_) {
    if (!cert_read_) {
      cert_ = inspect_peer(transport().native_ssl());
      cert_read_ = true;
    }
    // XEP-0178 §3: EXTERNAL only for a certificate that proves the domain the stream names.
    if (cert_.trusted && !peer_.empty() && identifies(cert_, peer_))
      f += "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>EXTERNAL</mechanism>"
           "</mechanisms>";
    if (c.allow_dialback) f += "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>";
    if (c.bidi && f.size() > std::string_view("<stream:features>").size())
      f += "<bidi xmlns='urn:xmpp:features:bidi'/>";
    if (f.size() == std::string_view("<stream:features>").size())
      // Nothing the peer could do: say so instead of letting it wait for a timeout.
      return stream_error("policy-violation",
                          "a certificate that names " + (peer_.empty() ? "your domain" : peer_) +
                              " and that this server trusts is required" +
                              (cert_.error.empty() ? "" : " (" + cert_.error + ")"));
  }
  f += "</stream:features>";
  send(std::move(f));
}

void IncomingLink::on_element(std::unique_ptr<xml::Element> el) {
  last_activity_ = std::chrono::steady_clock::now();
  if (!stream_open_) return;
  const auto& ns = el->xmlns();
  const auto& name = el->name();
  if (ns == c2s::kTlsNs && name == "starttls") return handle_starttls();
  if (ns == c2s::kSaslNs && name == "auth") return handle_auth(*el);
  if (ns == kBidiNs && name == "bidi") {
    // XEP-0288 §2: asked for after TLS, before authentication.
    if (!secure() || !s2s().config().bidi || !authenticated_.empty())
      return stream_error("policy-violation", "bidirectional streams are not offered now");
    bidi_ = true;
    return;
  }
  if (ns == kDialbackNs) {
    auto parsed = parse_dialback(*el);
    if (!parsed.ok) return stream_error("bad-format", "a dialback element needs 'from' and 'to'");
    if (parsed.value.kind == DialbackElement::Kind::Result) {
      if (!parsed.value.type.empty()) return;  // results are answers we never asked for
      return handle_result(parsed.value);
    }
    if (!parsed.value.type.empty()) return;
    return handle_verify(parsed.value);
  }
  if (ns == kServerNs && (name == "message" || name == "presence" || name == "iq"))
    return handle_stanza(std::move(el));
  if (ns == kStreamsNs && name == "error") {
    PLOG(Info, "s2s") << "incoming link " << id() << " (" << (peer_.empty() ? "?" : peer_)
                      << "): the peer sent a stream error: " << el->str();
    return end_stream();
  }
  stream_error("unsupported-stanza-type", "<" + name + "/> in " + ns);
}

void IncomingLink::handle_starttls() {
  if (secure()) return stream_error("policy-violation", "TLS is already on");
  send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  // A new stream follows over TLS; nothing from before counts (RFC 6120 §5.4.3.3).
  stream_open_ = false;
  authenticated_.clear();
  begin_tls();
}

void IncomingLink::begin_tls() {
  TlsConnection tls;
  try {
    tls = s2s().tls().accept();
  } catch (const std::exception& e) {
    PLOG(Error, "s2s") << "incoming link " << id() << ": cannot start TLS: " << e.what();
    return abort("TLS setup failed");
  }
  start_tls(std::move(tls), [] {});
}

std::string IncomingLink::fallback_header() const {
  return stream_header({}, {}, stream_id_.empty() ? c2s::random_id(8) : stream_id_);
}

void IncomingLink::handle_auth(const xml::Element& auth) {
  auto failure = [this](std::string_view condition) { send(c2s::sasl_failure(condition)); };
  if (!secure() || sasl_done_ || auth.get("mechanism") != "EXTERNAL")
    return failure("invalid-mechanism");
  auto decoded = c2s::decode_sasl(auth.text());
  if (!decoded) return failure("incorrect-encoding");
  // XEP-0178 §3: no authorization identity means the stream's 'from'.
  std::string domain = decoded->empty() ? peer_ : *decoded;
  auto jid = Jid::parse(domain);
  if (!jid || jid->has_local() || jid->has_resource()) return failure("invalid-authzid");
  domain = std::string(jid->domain());
  if (!peer_.empty() && domain != peer_) return failure("invalid-authzid");
  if (!cert_.trusted || !identifies(cert_, domain)) return failure("not-authorized");
  if (s2s().blocked(domain)) return failure("not-authorized");
  if (!authenticate(domain, "SASL EXTERNAL")) return;
  send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  sasl_done_ = true;
  stream_open_ = false;
  restart_parser();  // RFC 6120 §6.4.6: the peer opens a new stream
}

bool IncomingLink::authenticate(const std::string& remote, std::string_view how) {
  if (authenticated_.count(remote)) return true;
  if (!s2s().incoming_authenticated(this, remote)) {
    stream_error("policy-violation", "too many streams from " + remote);
    return false;
  }
  authenticated_.insert(remote);
  s2s().metrics().incoming_auth.inc();
  PLOG(Info, "s2s") << "incoming link " << id() << " from " << remote_address()
                    << " authenticated as " << remote << " (" << how
                    << (bidi_ ? ", bidirectional" : "") << ")";
  if (bidi_ && !local_.empty()) s2s().bidi_attach(local_, remote, me());
  arm_idle();
  return true;
}

void IncomingLink::handle_result(const DialbackElement& request) {
  const auto& c = s2s().config();
  DialbackElement reply{DialbackElement::Kind::Result, request.to, request.from, {}, {}, {}};
  auto error = [&](std::string_view condition) { send(dialback_error(reply, condition)); };
  if (!c.allow_dialback) return error("not-allowed");
  if (!encryption_ok() && !c.allow_plaintext_dialback)
    return stream_error("policy-violation", "TLS is required before dialback");
  if (!s2s().ours(request.to)) return error("item-not-found");
  // Nobody but us speaks for our domains (and asking ourselves would only loop).
  if (s2s().ours(request.from) || s2s().blocked(request.from)) return error("policy-violation");
  if (request.key.empty()) return stream_error("bad-format", "a dialback request needs a key");
  if (authenticated_.count(request.from)) {
    reply.type = "valid";
    return send(dialback_element(reply));
  }
  // A certificate that proves the domain makes the round trip unnecessary (XEP-0344 §2.4).
  if (secure()) {
    if (!cert_read_) {
      cert_ = inspect_peer(transport().native_ssl());
      cert_read_ = true;
    }
    if (cert_.trusted && identifies(cert_, request.from)) return result_verified(request, true);
  }
  auto key = std::make_pair(request.to, request.from);
  if (pending_.count(key)) return;  // already asking; the answer covers this one too
  // Each domain asked about costs a connection to its authoritative server: a stream may
  // speak for a few domains (a server and its services), not for any number.
  if (pending_.size() + authenticated_.size() >= kMaxDomainsPerStream)
    return error("policy-violation");
  pending_.insert(key);
  s2s().verify(request.to, request.from, stream_id_, request.key,
               [self = me(), request](bool valid) {
                 asio::post(self->strand(), [self, request, valid] {
                   self->pending_.erase({request.to, request.from});
                   if (!self->finished()) self->result_verified(request, valid);
                 });
               });
}

void IncomingLink::result_verified(const DialbackElement& request, bool valid) {
  if (closing()) return;
  DialbackElement reply{DialbackElement::Kind::Result, request.to, request.from, {}, {}, {}};
  reply.type = valid ? "valid" : "invalid";
  if (valid && !authenticate(request.from, "dialback")) return;
  if (!valid) {
    PLOG(Info, "s2s") << "incoming link " << id() << " from " << remote_address()
                      << ": dialback for " << request.from << " failed";
  }
  send(dialback_element(reply));
}

void IncomingLink::handle_verify(const DialbackElement& request) {
  // XEP-0220 §2.2.2, the authoritative server: `to` is ours (the originating domain), `from`
  // the server that got the key; the key is valid if we would have made the same one.
  DialbackElement reply{
      DialbackElement::Kind::Verify, request.to, request.from, request.id, {}, {}};
  bool valid = s2s().ours(request.to) &&
               keys_equal(request.key, dialback_key(s2s().dialback_secret(), request.from,
                                                    request.to, request.id));
  reply.type = valid ? "valid" : "invalid";
  send(dialback_element(reply));
}

void IncomingLink::handle_stanza(std::unique_ptr<xml::Element> stanza) {
  if (authenticated_.empty()) return stream_error("not-authorized", "authenticate first");
  auto condition = check_addressing(
      *stanza, [this](std::string_view d) { return authenticated_.count(d) > 0; },
      [this](std::string_view d) { return s2s().ours(d); });
  if (!condition.empty()) {
    std::string text = condition == "invalid-from" ? "'from' " + std::string(stanza->get("from")) +
                                                         " is not an authenticated domain"
                       : condition == "host-unknown"
                           ? "'to' " + std::string(stanza->get("to")) + " is not served here"
                           : "a stanza needs a valid 'from' and 'to'";
    return stream_error(condition, text);
  }
  to_client_namespace(*stanza);
  s2s().metrics().stanzas_in.inc();
  server().router().route(std::shared_ptr<xml::Element>(std::move(stanza)));
}

void IncomingLink::arm_idle() {
  auto idle = s2s().config().idle_timeout;
  auto quiet = std::chrono::steady_clock::now() - last_activity_;
  if (quiet >= idle) return end_stream();
  arm_timer(std::chrono::duration_cast<std::chrono::milliseconds>(idle - quiet) +
                std::chrono::milliseconds(1),
            [this] { arm_idle(); });
}

void IncomingLink::enqueue(std::shared_ptr<const xml::Element> stanza) {
  asio::dispatch(strand(), [self = me(), stanza = std::move(stanza)]() mutable {
    auto to = Jid::parse(stanza->get("to"));
    auto from = Jid::parse(stanza->get("from"));
    if (self->finished() || self->closing() || !to || !from) {
      self->s2s().bidi_detach(self.get());
      if (to && from) self->s2s().send(from->domain(), to->domain(), std::move(stanza));
      return;
    }
    self->last_activity_ = std::chrono::steady_clock::now();
    self->s2s().metrics().stanzas_out.inc();
    self->send(stanza->str(stanza::kClientNs));
  });
}

void IncomingLink::on_closed(std::string_view) {
  s2s().bidi_detach(this);
  s2s().incoming_closed(this);
}

}  // namespace parley::s2s
