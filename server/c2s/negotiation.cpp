// ClientSession, the protocol half: stream headers and features (RFC 6120 §4.3), STARTTLS
// (§5), SASL (§6, XEP-0440), resource binding (§7), and stanzas after binding (§8).
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

#include "c2s/auth_throttle.h"
#include "c2s/session.h"
#include "c2s/shared.h"
#include "c2s/stream_util.h"
#include "core/base64.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/server.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "storage/account_store.h"
#include "storage/database.h"
#include "xml/stanza.h"

namespace parley::c2s {

namespace asio = boost::asio;

namespace {

// RFC 6120 §6.4.5: a reasonable number of retries (at least 2, at most 5) before the stream
// is closed.
constexpr unsigned kMaxAuthFailuresPerStream = 3;
constexpr std::string_view kThrottledText = "Too many failed attempts; try again later";

bool is_stanza(const xml::Element& e) {
  return e.xmlns() == stanza::kClientNs &&
         (e.name() == "message" || e.name() == "presence" || e.name() == "iq");
}

void count_auth(Server& server, std::string_view result, std::string_view mechanism) {
  std::string labels = "result=\"";
  labels += result;
  labels += "\",mechanism=\"";
  labels += mechanism.empty() ? "none" : mechanism;
  labels += '"';
  server.metrics()
      .get("parley_auth_total", labels, "counter", "SASL authentication attempts")
      .inc();
}

// The bindings a mechanism may use: none when the configuration offers no -PLUS mechanism.
// RFC 5802 §6: a client that sends the "y" flag believes the server lacks channel binding;
// the server must fail it only if it does support (i.e. offers) a -PLUS mechanism.
sasl::ChannelBindings usable_bindings(const std::optional<sasl::ChannelBindings>& tls,
                                      const std::vector<std::string>& enabled) {
  if (!tls) return {};
  auto names = sasl::offered(*tls, enabled);
  bool plus = std::any_of(names.begin(), names.end(), [](const std::string& n) {
    return n.size() > 5 && n.compare(n.size() - 5, 5, "-PLUS") == 0;
  });
  if (plus) return *tls;
  sasl::ChannelBindings none;
  none.tls = tls->tls;
  return none;
}

}  // namespace

// ---- Stream header and features ----

void ClientSession::on_open(const xml::Element& header, std::string_view default_ns) {
  if (closing_ || finished_) return;
  stream_open_ = true;
  auto domain = Jid::prep_domain(header.get("to"));
  bool local = domain && server().is_local(*domain);
  if (local && domain_.empty()) domain_ = *domain;
  // RFC 6120 §4.7.2: our 'to' is the client's 'from' when it gave a usable one.
  std::string reply_to;
  if (const std::string* from = header.attr("from"))
    if (auto jid = Jid::parse(*from)) reply_to = jid->str();
  send(stream_header(local ? *domain : std::string_view{}, reply_to, random_id(8), "en"));
  header_sent_ = true;

  if (header.xmlns() != stanza::kStreamNs || header.name() != "stream")
    return stream_error("invalid-namespace", "the stream must be http://etherx.jabber.org/streams");
  if (default_ns != stanza::kClientNs)  // RFC 6120 §4.8.2
    return stream_error("invalid-namespace", "the default namespace must be jabber:client");
  if (!local)  // RFC 6120 §4.9.3.6
    return stream_error("host-unknown", "this server does not serve that domain");
  if (*domain != domain_)  // a restart must address the same service
    return stream_error("host-unknown", "the domain changed on stream restart");
  if (!version_supported(header.get("version")))  // RFC 6120 §4.7.5, §4.9.3.25
    return stream_error("unsupported-version", "XMPP 1.0 is required");
  send_features();
}

void ClientSession::send_features() {
  const auto& cfg = server().config().c2s;
  std::string out = "<stream:features>";
  auto add = [&out](const xml::Element& e) { e.append_to(out, stanza::kClientNs); };
  if (!authenticated_) {
    bool tls = transport_.secure();
    if (!tls) {
      xml::Element starttls("starttls", std::string(kTlsNs));
      if (cfg.require_tls) starttls.add("required");  // RFC 6120 §5.3.1 mandatory-to-negotiate
      add(starttls);
    }
    // With TLS required nothing else is offered until it is in place (RFC 6120 §5.3.1).
    if (tls || !cfg.require_tls) {
      sasl::ChannelBindings cb = usable_bindings(bindings_, cfg.mechanisms);
      auto names = sasl::offered(cb, cfg.mechanisms);
      if (!names.empty()) {
        xml::Element mechanisms("mechanisms", std::string(kSaslNs));
        for (const auto& n : names) mechanisms.text_child("mechanism", n);
        add(mechanisms);
      }
      // XEP-0440: which channel-binding types this connection supports.
      if (auto types = cb.types(); !types.empty()) {
        xml::Element bindings("sasl-channel-binding", std::string(kSaslCbNs));
        for (const auto& t : types) bindings.add("channel-binding").set("type", t);
        add(bindings);
      }
      for (const auto& f : server().features().stream_features(StreamStage::PreAuth)) add(f);
    }
  } else {
    add(xml::Element("bind", std::string(kBindNs)));  // RFC 6120 §7.4
    // RFC 6121 Appendix E / RFC 3921 session establishment: a no-op kept for old clients.
    xml::Element session("session", std::string(kSessionNs));
    session.add("optional");
    add(session);
    if (cfg.stream_management) add(xml::Element("sm", std::string(kSmNs)));  // XEP-0198 §2
    for (const auto& f : server().features().stream_features(StreamStage::PostAuth)) add(f);
  }
  out += "</stream:features>";
  send(std::move(out));
}

void ClientSession::on_stream_close() {
  if (finished_) return;
  end_stream();
}

// ---- Top-level elements ----

void ClientSession::on_element(std::unique_ptr<xml::Element> el) {
  if (closing_ || finished_ || tls_pending_) return;
  const std::string& ns = el->xmlns();
  const std::string& name = el->name();
  bool tls = transport_.secure();

  if (ns == kTlsNs) {
    if (name == "starttls" && !tls && !authenticated_) return handle_starttls(*el);
    // STARTTLS was not offered here (already secure, or after authentication).
    return stream_error("policy-violation", "STARTTLS is not available at this point");
  }
  if (!tls && server().config().c2s.require_tls) {
    // RFC 6120 §5.3.1: TLS is mandatory-to-negotiate; stanzas before authentication are
    // not-authorized (§4.3.2), anything else violates the offered negotiation.
    if (is_stanza(*el)) return stream_error("not-authorized", "TLS is required");
    return stream_error("policy-violation", "TLS is required first");
  }
  if (!authenticated_) {
    if (ns == kSaslNs) {
      if (name == "auth") return handle_auth(*el);
      if (name == "response") return handle_response(*el);
      if (name == "abort") return handle_abort();
      return stream_error("unsupported-stanza-type", "unknown SASL element");
    }
    return handle_unauthenticated_stanza(std::move(el));
  }
  if (ns == kSmNs && server().config().c2s.stream_management) return handle_sm(*el);
  if (resuming_) {
    // Nothing counts until the old session answered (XEP-0198 §5); clients wait for
    // <resumed/>, so this is kept, not processed, and bounded.
    if (held_input_.size() >= 16)
      return stream_error("policy-violation", "wait for <resumed/> before sending more");
    held_input_.push_back(std::move(el));
    return;
  }
  if (!bound_) {
    if (ns == stanza::kClientNs && name == "iq" && el->get("type") == "set") {
      if (el->child("bind", kBindNs)) return handle_bind(*el);
      if (el->child("session", kSessionNs)) {
        xml::Element result("iq", std::string(stanza::kClientNs));
        result.set("type", "result").set("id", el->get("id"));
        return send(result.str(stanza::kClientNs));
      }
    }
    if (is_stanza(*el))  // RFC 6120 §7.1: no stanzas before a resource is bound
      return stream_error("not-authorized", "bind a resource first");
    return stream_error("unsupported-stanza-type", "unexpected element before resource binding");
  }
  handle_stanza(std::move(el));
}

void ClientSession::handle_starttls(const xml::Element&) {
  // RFC 6120 §5.4.2.3: <proceed/>, then the TLS handshake once it is written. Input after
  // <starttls/> is discarded (the parser drops the rest of this read): it arrived in clear
  // text and must not be interpreted inside the secured stream (§5.3.3).
  send(std::string("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
  tls_pending_ = true;
  stream_open_ = false;
  parser_.reset();
}

// ---- SASL (RFC 6120 §6.4) ----

void ClientSession::handle_auth(const xml::Element& el) {
  if (sasl_) {  // a new <auth> replaces an unfinished exchange
    ++sasl_generation_;
    sasl_.reset();
    sasl_busy_ = false;
    credentials_.reset();
  }
  account_.clear();
  std::string mechanism(el.get("mechanism"));
  sasl::ChannelBindings cb = usable_bindings(bindings_, server().config().c2s.mechanisms);
  auto names = sasl::offered(cb, server().config().c2s.mechanisms);
  if (std::find(names.begin(), names.end(), mechanism) == names.end()) {
    send(sasl_failure("invalid-mechanism"));  // RFC 6120 §6.5.6
    return;
  }
  if (server().auth_throttle().ip_blocked(remote_)) {
    count_auth(server(), "throttled", mechanism);
    return auth_failed("not-authorized", kThrottledText, Failure::Throttled);
  }
  auto initial = decode_sasl(el.text());
  if (!initial) {
    send(sasl_failure("incorrect-encoding"));  // RFC 6120 §6.5.2
    return;
  }
  sasl_ = sasl::create(mechanism, cb);
  if (!sasl_) {
    send(sasl_failure("invalid-mechanism"));
    return;
  }
  handle_step(sasl_->start(*initial));
}

void ClientSession::handle_response(const xml::Element& el) {
  if (!sasl_ || sasl_busy_) {
    send(sasl_failure("malformed-request", "no challenge is pending"));
    return;
  }
  auto data = decode_sasl(el.text());
  if (!data) return auth_failed("incorrect-encoding", {}, Failure::NotCounted);
  handle_step(sasl_->step(*data));
}

void ClientSession::handle_abort() {
  ++sasl_generation_;  // results of pending lookups are dropped
  sasl_.reset();
  sasl_busy_ = false;
  credentials_.reset();
  account_.clear();
  send(sasl_failure("aborted"));  // RFC 6120 §6.4.4
}

void ClientSession::handle_step(sasl::Step step) {
  switch (step.status) {
    case sasl::Step::Status::Challenge: {
      std::string out = "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>";
      out += base64_encode(step.data);
      out += "</challenge>";
      send(std::move(out));
      return;
    }
    case sasl::Step::Status::NeedCredentials:
      return lookup_credentials();
    case sasl::Step::Status::NeedPasswordCheck:
      return check_password();
    case sasl::Step::Status::Success:
      return auth_succeeded(step.data);
    case sasl::Step::Status::Failure:
      return auth_failed(step.condition.empty() ? "not-authorized" : step.condition, step.text,
                         step.wrong_credentials ? Failure::Counted : Failure::NotCounted);
  }
}

void ClientSession::lookup_credentials() {
  // The account is username@stream-domain, the username prepared as a JID localpart
  // (RFC 7622 §3.3); one that cannot be a localpart cannot be an account.
  auto local = Jid::prep_local(sasl_->username());
  auto bare = local ? Jid::from_parts(*local, domain_) : std::nullopt;
  if (!bare) return auth_failed("not-authorized", {});
  account_ = bare->str();
  if (server().auth_throttle().account_blocked(account_)) {
    count_auth(server(), "throttled", sasl_->name());
    return auth_failed("not-authorized", kThrottledText, Failure::Throttled);
  }
  sasl_busy_ = true;
  uint32_t generation = sasl_generation_;
  auto self = this->self();
  server().db().post(account_, [self, account = *bare, generation](storage::Connection& c) {
    std::optional<sasl::Credentials> creds;
    bool ok = true;
    try {
      creds = storage::AccountStore(c).credentials(account);
    } catch (const std::exception& e) {
      ok = false;
      PLOG(Error, "c2s") << "credential lookup for " << account.str() << " failed: " << e.what();
    }
    asio::post(self->strand_, [self, generation, ok, creds = std::move(creds)]() mutable {
      if (self->finished_ || self->closing_ || generation != self->sasl_generation_ || !self->sasl_)
        return;
      self->sasl_busy_ = false;
      // RFC 6120 §6.5.11: a server-side problem is not the client's failure.
      if (!ok) return self->auth_failed("temporary-auth-failure", {}, Failure::NotCounted);
      self->credentials_ = std::move(creds);
      self->handle_step(self->sasl_->resume(self->credentials_));
    });
  });
}

void ClientSession::check_password() {
  // PLAIN: recomputing the salted password is PBKDF2, far too slow for an I/O thread.
  std::string password = sasl_->take_password();
  sasl::Credentials creds = credentials_ ? *credentials_ : sasl::Credentials{};
  sasl_busy_ = true;
  uint32_t generation = sasl_generation_;
  auto self = this->self();
  server().db().post(account_, [self, creds = std::move(creds), password = std::move(password),
                                generation](storage::Connection&) mutable {
    bool ok = false;
    try {
      ok = sasl::verify_password(creds, password);
    } catch (const std::exception& e) {
      PLOG(Error, "c2s") << "password check failed: " << e.what();
    }
    std::fill(password.begin(), password.end(), '\0');
    asio::post(self->strand_, [self, generation, ok] {
      if (self->finished_ || self->closing_ || generation != self->sasl_generation_ || !self->sasl_)
        return;
      self->sasl_busy_ = false;
      self->handle_step(self->sasl_->finish_password_check(ok));
    });
  });
}

void ClientSession::auth_succeeded(const std::string& additional) {
  std::string mechanism(sasl_ ? sasl_->name() : "");
  if (account_.empty()) return auth_failed("not-authorized", {});  // never without an account
  // RFC 6120 §6.4.6: an authorization identity other than the account itself is refused;
  // Parley has no proxy authorization.
  if (sasl_ && !sasl_->authzid().empty()) {
    auto authzid = Jid::parse(sasl_->authzid());
    if (!authzid || authzid->bare_str() != account_ || authzid->has_resource())
      return auth_failed("invalid-authzid", {}, Failure::NotCounted);
  }
  server().auth_throttle().success(account_);
  count_auth(server(), "success", mechanism);
  PLOG(Info, "c2s") << account_ << " authenticated (" << mechanism << ") from " << remote_;
  std::string out = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>";
  out += base64_encode(additional);  // RFC 6120 §6.4.6: additional data, or empty
  out += "</success>";
  send(std::move(out));
  authenticated_ = true;
  sasl_.reset();
  credentials_.reset();
  bindings_.reset();
  // RFC 6120 §6.4.6: the client restarts the stream; nothing after <success/> carries over.
  stream_open_ = false;
  parser_.reset();
}

void ClientSession::auth_failed(std::string_view condition, std::string_view text, Failure kind) {
  std::string mechanism(sasl_ ? sasl_->name() : "");
  ++sasl_generation_;
  sasl_.reset();
  sasl_busy_ = false;
  credentials_.reset();
  if (kind == Failure::Throttled) {
    PLOG(Warn, "c2s") << "refused authentication from " << remote_
                      << (account_.empty() ? "" : " for " + account_)
                      << ": too many failed attempts";
  } else {
    if (kind == Failure::Counted) {
      count_auth(server(), "failure", mechanism);
      // Only a wrong password (or unknown account) looks like guessing. A protocol failure
      // (e.g. a -PLUS attempt with a channel-binding type we lack, after which clients try
      // the next mechanism) is not held against the address or the stream.
      if (condition == "not-authorized")
        server().auth_throttle().failure(remote_, account_);
      else
        kind = Failure::NotCounted;
    }
    PLOG(Warn, "c2s") << "authentication failed" << (account_.empty() ? "" : " for " + account_)
                      << " from " << remote_ << " (" << (mechanism.empty() ? "-" : mechanism)
                      << "): " << condition;
  }
  send(sasl_failure(condition, text));
  account_.clear();
  if (kind != Failure::NotCounted && ++auth_failures_ >= kMaxAuthFailuresPerStream)
    stream_error("policy-violation", "too many failed authentication attempts");
}

// ---- Before authentication ----

void ClientSession::handle_unauthenticated_stanza(std::unique_ptr<xml::Element> el) {
  if (el->xmlns() == stanza::kClientNs && el->name() == "iq") {
    // XEP-0077 in-band registration and similar: a handler answers through reply(), from
    // any thread, once.
    std::shared_ptr<const xml::Element> stanza(std::move(el));
    std::weak_ptr<ClientSession> weak = self();
    auto replied = std::make_shared<std::atomic<bool>>(false);
    auto executor = strand_;
    UnauthenticatedIq event{server(),
                            stanza,
                            domain_,
                            remote_,
                            secure_.load(),
                            [weak, replied, executor](xml::Element reply) {
                              if (replied->exchange(true)) return;
                              std::string bytes = reply.str(stanza::kClientNs);
                              asio::post(executor, [weak, bytes = std::move(bytes)]() mutable {
                                auto s = weak.lock();
                                if (s && !s->closing_ && !s->finished_) s->send(std::move(bytes));
                              });
                            }};
    Fired fired = server().hooks().fire(event);
    if (fired.failed) {
      if (!replied->exchange(true)) reply_error(*stanza, "internal-server-error");
      return;
    }
    if (!fired.stopped)  // RFC 6120 §6.4.1 (via §4.3.2)
      stream_error("not-authorized", "authenticate first");
    return;
  }
  if (is_stanza(*el)) return stream_error("not-authorized", "authenticate first");
  stream_error("unsupported-stanza-type", "unexpected element before authentication");
}

// ---- Resource binding (RFC 6120 §7) ----

void ClientSession::handle_bind(const xml::Element& iq) {
  if (!iq.has("id")) return stream_error("bad-format", "the bind request has no id");
  const xml::Element* bind = iq.child("bind", kBindNs);
  std::string resource;
  if (const xml::Element* r = bind->child("resource", kBindNs)) {
    std::string text = r->text();
    if (!text.empty()) {
      auto prepared = Jid::prep_resource(text);
      // RFC 6120 §7.7.2.1: a resource that cannot be processed is bad-request.
      if (!prepared) return reply_error(iq, "bad-request", "invalid resource");
      resource = std::move(*prepared);
    }
  }
  if (resource.empty()) resource = "parley-" + random_id(8);  // RFC 6120 §7.6
  auto account = Jid::parse(account_);
  if (!account) return reply_error(iq, "internal-server-error");
  Jid full = account->with_resource(resource);

  auto& registry = server().sessions();
  bool reject = server().config().c2s.on_conflict == "reject";
  // A session waiting for resumption has no connection to defend: a client that logs in
  // again instead of resuming replaces it even under "reject".
  if (auto existing = reject ? registry.find(full) : nullptr; existing && !existing->detached) {
    // RFC 6120 §7.7.2.2: the resource is in use and the server does not replace sessions.
    return reply_error(iq, "conflict", "the resource is in use");
  }
  jid_ = full;
  bound_ = true;
  bound_at = std::chrono::steady_clock::now();
  SessionPtr replaced = registry.add(shared_from_this());

  xml::Element result("iq", std::string(stanza::kClientNs));
  result.set("type", "result").set("id", iq.get("id"));
  result.add("bind", std::string(kBindNs)).text_child("jid", jid_.str());
  send(result.str(stanza::kClientNs));
  PLOG(Info, "c2s") << "bound " << jid_.str() << " from " << remote_
                    << (secure_ ? " (" + transport_.tls_version() + ")" : " (plain)");

  if (replaced && replaced.get() != this) {
    // RFC 6120 §7.7.2.2: the old session of the same full JID gets the conflict stream error.
    PLOG(Info, "c2s") << "resource conflict: " << jid_.str() << " replaced by a new connection";
    replaced->close("conflict", "replaced by a new connection");
  }
  arm_keepalive(std::chrono::milliseconds(0));
  SessionBound event{server(), shared_from_this()};
  server().hooks().fire(event);
}

// ---- After binding ----

// Reports a stanza handled to its session (XEP-0198) when the last copy goes: at the end of
// handle_stanza, or later when a module that kept a copy (a database commit) lets go.
struct Handling {
  Handling(std::weak_ptr<ClientSession> s, boost::asio::any_io_executor e, uint32_t n)
      : session(std::move(s)), strand(std::move(e)), seq(n) {}
  Handling(const Handling&) = delete;
  Handling& operator=(const Handling&) = delete;
  std::weak_ptr<ClientSession> session;
  boost::asio::any_io_executor strand;
  uint32_t seq;
  ~Handling() {
    if (session.expired()) return;
    asio::dispatch(strand, [weak = std::move(session), seq = seq] {
      if (auto s = weak.lock()) s->stanza_handled(seq);
    });
  }
};

void ClientSession::handle_stanza(std::unique_ptr<xml::Element> el) {
  InFlight in_flight;
  if (sm_ && is_stanza(*el))
    in_flight = std::make_shared<const Handling>(self(), strand_, sm_->received());
  // RFC 6120 §4.9.3.21: only message, presence and iq in jabber:client.
  if (!is_stanza(*el)) {
    // Extensions speak in top-level elements of their own (XEP-0352 <active/>, ...).
    ClientNonza event{server(), shared_from_this(), *el};
    if (server().hooks().fire(event).stopped) return;
    return stream_error("unsupported-stanza-type", "only message, presence and iq are accepted");
  }
  // RFC 6120 §8.1.2.1: the server stamps the full JID; a client never speaks for another.
  el->set("from", jid_.str());
  const std::string& name = el->name();
  if (name == "iq") {
    shared_->in_iq.inc();
    std::string problem = check_iq(*el);
    std::string_view type = el->get("type");
    if (!problem.empty()) {
      if (type == "result" || type == "error") return;  // never answered (RFC 6120 §8.3.1)
      return reply_error(*el, "bad-request", problem);
    }
    std::string_view to = el->get("to");
    if (type == "result" || type == "error") {
      // A response to a server-originated request (e.g. a ping to the client).
      if ((to.empty() || to == domain_) && server().take_iq_response(*el)) return;
    } else if (type == "set" && el->child("bind", kBindNs)) {
      return reply_error(*el, "not-allowed", "a resource is already bound");
    } else if (type == "set" && el->child("session", kSessionNs) && (to.empty() || to == domain_)) {
      xml::Element result("iq", std::string(stanza::kClientNs));
      result.set("type", "result").set("id", el->get("id"));
      return send(result.str(stanza::kClientNs));
    }
  } else if (name == "message") {
    shared_->in_message.inc();
  } else {
    shared_->in_presence.inc();
  }
  std::shared_ptr<xml::Element> stanza(std::move(el));
  try {
    server().router().from_client(shared_from_this(), stanza, std::move(in_flight));
  } catch (const std::exception& e) {
    PLOG(Error, "c2s") << "routing a stanza from " << jid_.str() << " failed: " << e.what();
    if (!stanza::is_error(*stanza)) reply_error(*stanza, "internal-server-error");
  }
}

void ClientSession::reply_error(const xml::Element& stanza, std::string_view condition,
                                std::string_view text) {
  send(stanza::error_reply(stanza, condition, text).str(stanza::kClientNs));
}

}  // namespace parley::c2s
