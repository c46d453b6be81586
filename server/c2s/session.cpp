// ClientSession, the I/O half: reading, the bounded output queue, TLS start, timers and the
// closing sequence (RFC 6120 §4.4). Negotiation and stanza handling are in negotiation.cpp.
#include "c2s/session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <array>

#include "c2s/shared.h"
#include "c2s/stream_util.h"
#include "core/log.h"
#include "core/server.h"
#include "net/tls.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "xep/delay.h"
#include "xep/stored_element.h"
#include "xml/stanza.h"

namespace parley::c2s {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr size_t kReadChunk = 32 * 1024;  // more than one TLS record (Transport::read)
// Bytes read in one strand turn before yielding to other work (fairness between connections).
constexpr size_t kReadPerTurn = 64 * 1024;
// TLS: coalesce queued items into writes of about one record.
constexpr size_t kTlsWrite = 16 * 1024;
// After our </stream:stream>, how long to wait for the peer's before closing (RFC 6120 §4.4).
constexpr auto kCloseGrace = 2s;

std::string address_of(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  auto addr = ep.address();
  // Dual-stack listeners see IPv4 peers as ::ffff:a.b.c.d; limits and logs use the IPv4 form.
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_string();
  return addr.to_string();
}

xml::ParserLimits limits_for(const Shared& shared);

}  // namespace

Shared::Shared(Server& s)
    : server(s),
      connections(
          s.metrics().get("parley_c2s_connections", "", "gauge", "Open client connections")),
      in_message(s.metrics().get("parley_c2s_stanzas_in_total", "kind=\"message\"", "counter",
                                 "Stanzas received from clients")),
      in_presence(s.metrics().get("parley_c2s_stanzas_in_total", "kind=\"presence\"")),
      in_iq(s.metrics().get("parley_c2s_stanzas_in_total", "kind=\"iq\"")),
      out(s.metrics().get("parley_c2s_stanzas_out_total", "", "counter",
                          "Stanzas delivered to clients")),
      hibernating(s.metrics().get("parley_c2s_hibernating_sessions", "", "gauge",
                                  "Sessions waiting for stream resumption (XEP-0198)")),
      compactions(s.metrics().get("parley_c2s_compactions_total", "", "counter",
                                  "Quiet sessions that freed their XML parser state")) {}

void Shared::track(const std::shared_ptr<ClientSession>& session) {
  std::lock_guard lock(mutex_);
  sessions_[session->id()] = session;
}

void Shared::untrack(uint64_t id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(id);
}

std::vector<std::shared_ptr<ClientSession>> Shared::live() const {
  std::vector<std::shared_ptr<ClientSession>> out;
  std::lock_guard lock(mutex_);
  out.reserve(sessions_.size());
  for (const auto& [_, weak] : sessions_)
    if (auto s = weak.lock()) out.push_back(std::move(s));
  return out;
}

size_t Shared::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void Shared::remember_resumable(const std::string& sm_id,
                                const std::shared_ptr<ClientSession>& session) {
  std::lock_guard lock(mutex_);
  resumable_[sm_id] = session;
}

std::shared_ptr<ClientSession> Shared::find_resumable(const std::string& sm_id) const {
  std::lock_guard lock(mutex_);
  auto it = resumable_.find(sm_id);
  return it == resumable_.end() ? nullptr : it->second.lock();
}

void Shared::forget_resumable(const std::string& sm_id, const ClientSession* session) {
  std::lock_guard lock(mutex_);
  auto it = resumable_.find(sm_id);
  if (it == resumable_.end()) return;
  auto current = it->second.lock();
  if (!current || current.get() == session) resumable_.erase(it);
}

namespace {
xml::ParserLimits limits_for(const Shared& shared) {
  xml::ParserLimits limits;
  limits.max_stanza_bytes = shared.server.config().c2s.max_stanza_bytes;
  return limits;
}
}  // namespace

ClientSession::ClientSession(std::shared_ptr<Shared> shared, asio::ip::tcp::socket socket,
                             bool direct_tls)
    : shared_(std::move(shared)),
      strand_(socket.get_executor()),
      transport_(std::move(socket)),
      timer_(strand_),
      parser_(xml::StreamParser::Handler{
                  [this](const xml::Element& h, std::string_view ns) { on_open(h, ns); },
                  [this](std::unique_ptr<xml::Element> e) { on_element(std::move(e)); },
                  [this] { on_stream_close(); },
                  [this](xml::ParseError e, std::string_view detail) {
                    stream_error(xml::to_condition(e), detail);
                  },
                  nullptr},
              limits_for(*shared_)),
      id_(shared_->next_id.fetch_add(1)),
      remote_(address_of(transport_.socket())),
      direct_tls_(direct_tls) {}

ClientSession::~ClientSession() = default;

Server& ClientSession::server() const {
  return shared_->server;
}

void ClientSession::start() {
  shared_->track(self());
  shared_->connections.inc();
  PLOG(Debug, "c2s") << "connection " << id_ << " from " << remote_
                     << (direct_tls_ ? " (direct TLS)" : "");
  asio::dispatch(strand_, [self = self()] {
    self->last_received_ = std::chrono::steady_clock::now();
    self->arm_timer(self->server().config().c2s.auth_timeout, TimerPurpose::Auth);
    if (self->direct_tls_)
      self->begin_tls();
    else
      self->wait_readable();
  });
}

// ---- Public interface (any thread) ----

void ClientSession::deliver(std::shared_ptr<const xml::Element> stanza) {
  if (!stanza) return;
  // Serialize on the caller's thread: the strand only queues (RFC 6120 §4.8.3: stanzas on a
  // jabber:client stream carry no xmlns of their own).
  std::string bytes = stanza->str(stanza::kClientNs);
  asio::dispatch(strand_,
                 [self = self(), stanza = std::move(stanza), bytes = std::move(bytes)]() mutable {
                   self->outgoing(std::move(stanza), Out{nullptr, std::move(bytes)});
                 });
}

void ClientSession::deliver_bytes(std::shared_ptr<const std::string> bytes) {
  if (!bytes) return;
  asio::dispatch(strand_, [self = self(), bytes = std::move(bytes)]() mutable {
    self->outgoing(nullptr, Out{std::move(bytes), {}});
  });
}

void ClientSession::deliver_serialized(std::shared_ptr<const xml::Element> shared,
                                       std::string bytes) {
  if (!shared) return;
  asio::dispatch(strand_,
                 [self = self(), shared = std::move(shared), bytes = std::move(bytes)]() mutable {
                   self->outgoing(std::move(shared), Out{nullptr, std::move(bytes)}, true);
                 });
}

// On the strand: every stanza for this client passes here once.
void ClientSession::outgoing(std::shared_ptr<const xml::Element> stanza, Out out,
                             bool shared_form) {
  if (handed_over_) {
    // Resumed on another connection (XEP-0198 §5): the successor has our state now.
    if (out.shared)
      successor_->deliver_bytes(std::move(out.shared));
    else if (shared_form)
      successor_->deliver_serialized(std::move(stanza), std::move(out.own));
    else if (stanza)
      successor_->deliver(std::move(stanza));
    return;
  }
  if (ended_ || !bound_) {
    // Routed here while the session ended: it must not vanish (RFC 6121 §8.5.3.2.1).
    auto bytes = out.shared ? std::move(out.shared)
                            : std::make_shared<const std::string>(std::move(out.own));
    return undeliverable(shared_form ? nullptr : std::move(stanza), std::move(bytes), 0);
  }
  auto& hooks = server().hooks();
  if (hooks.has_handlers<StanzaToClient>()) {
    StanzaToClient event{server(), shared_from_this(), stanza};
    event.shared = shared_form;
    Fired fired = hooks.fire(event);
    for (auto& r : event.release)
      if (r) {
        std::string bytes = r->str(stanza::kClientNs);
        emit(std::move(r), Out{nullptr, std::move(bytes)});
      }
    if (fired.stopped && !fired.failed) return;  // held back by a handler
  }
  // Stream management keeps what this client got: for a fan-out copy, its bytes (with its
  // 'to'), read back only if they must go elsewhere (undeliverable()).
  emit(shared_form ? nullptr : std::move(stanza), std::move(out));
}

// Writes a stanza, counting it for stream management; while the connection is gone or
// closing, a managed session keeps it for resumption and an unmanaged one reroutes it.
void ClientSession::emit(std::shared_ptr<const xml::Element> stanza, Out out) {
  const bool writable = !closing_ && !finished_;
  if (!sm_) {
    if (!writable) {
      auto bytes = out.shared ? std::move(out.shared)
                              : std::make_shared<const std::string>(std::move(out.own));
      return undeliverable(std::move(stanza), std::move(bytes), 0);
    }
    shared_->out.inc();
    if (out.shared)
      send(std::move(out.shared));
    else
      send(std::move(out.own));
    return;
  }
  auto bytes =
      out.shared ? std::move(out.shared) : std::make_shared<const std::string>(std::move(out.own));
  using namespace std::chrono;
  int64_t now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  sm_->sent({std::move(stanza), bytes, now});
  if (writable) {
    shared_->out.inc();
    send(std::move(bytes));
  }
  if (sm_->unacked() > server().config().c2s.max_unacked_stanzas) {
    // XEP-0198 leaves the bound to the server: a client that never acknowledges (or a
    // connection that never comes back) does not hold the server's memory forever.
    PLOG(Warn, "c2s") << jid_.str() << " holds " << sm_->unacked()
                      << " unacknowledged stanzas; ending the session";
    if (hibernating_ || finished_)
      end_session();
    else
      stream_error("policy-violation", "too many unacknowledged stanzas");
  }
}

// A stanza this session took but will never get to its client: messages of type chat and
// normal go elsewhere (XEP-0198 §4: as for an unavailable resource), requests are answered
// with an error, everything else is dropped (presence is state, and error, groupchat and
// headline messages are never redelivered).
void ClientSession::undeliverable(std::shared_ptr<const xml::Element> stanza,
                                  std::shared_ptr<const std::string> bytes, int64_t sent_at_ms) {
  // Fan-out bytes carry no element; they parse in the stream's default namespace.
  if (!stanza && bytes) stanza = xep::load_element(*bytes);
  if (!stanza) return;
  const auto& name = stanza->name();
  auto type = stanza->get("type");
  if (name == "iq") {
    if (type == "get" || type == "set") server().router().bounce(*stanza, "service-unavailable");
    return;
  }
  if (name != "message" || (!type.empty() && type != "chat" && type != "normal")) return;
  auto copy = std::make_shared<xml::Element>(*stanza);
  if (sent_at_ms > 0 && !copy->child("delay", xep::kDelayNs)) {
    // XEP-0198 §4: the original delivery time travels with it (XEP-0203).
    copy->add(xep::delay_element(jid_.domain(),
                                 xep::SysTime(std::chrono::duration_cast<xep::SysTime::duration>(
                                     std::chrono::milliseconds(sent_at_ms)))));
  }
  MessageUndelivered event{server(), shared_from_this(), std::move(copy)};
  if (server().hooks().fire(event).failed)
    server().router().bounce(*event.stanza, "internal-server-error");
}

void ClientSession::close(std::string_view condition, std::string_view text) {
  asio::post(strand_, [self = self(), c = std::string(condition), t = std::string(text)] {
    if (self->hibernating_)
      self->end_session();  // no stream to speak on; the session itself ends
    else
      self->stream_error(c, t);
  });
}

// ---- Reading ----

void ClientSession::wait_readable() {
  if (read_waiting_ || finished_ || read_paused_) return;
  read_waiting_ = true;
  transport_.socket().async_wait(asio::ip::tcp::socket::wait_read,
                                 [self = self()](const boost::system::error_code& ec) {
                                   self->read_waiting_ = false;
                                   if (self->finished_) return;
                                   if (ec) {
                                     if (ec != asio::error::operation_aborted) self->finalize(true);
                                     return;
                                   }
                                   self->on_readable();
                                 });
}

void ClientSession::wait_writable() {
  if (write_waiting_ || finished_) return;
  write_waiting_ = true;
  transport_.socket().async_wait(asio::ip::tcp::socket::wait_write,
                                 [self = self()](const boost::system::error_code& ec) {
                                   self->write_waiting_ = false;
                                   if (self->finished_) return;
                                   if (ec) {
                                     if (ec != asio::error::operation_aborted) self->finalize(true);
                                     return;
                                   }
                                   if (self->handshaking_) {
                                     self->continue_handshake();
                                     return;
                                   }
                                   self->flush();
                                   // TLS reads may need to write (e.g. a TLS 1.3 key update).
                                   if (self->transport_.secure()) self->read_available();
                                 });
}

void ClientSession::on_readable() {
  if (handshaking_) {
    continue_handshake();
    return;
  }
  read_available();
  // A TLS write that wanted to read can go on now.
  // A key update read may have left a record of ours to send, too.
  if (transport_.secure() && (out_bytes_ > 0 || transport_.has_pending_output()) && !write_waiting_)
    schedule_flush();
}

void ClientSession::read_available() {
  // One buffer per I/O thread: the parser copies what it keeps, so no connection owns a read
  // buffer while it waits (DESIGN §10).
  thread_local std::array<char, kReadChunk> buf;
  size_t total = 0;
  while (!finished_ && !tls_pending_ && !handshaking_ && !read_paused_) {
    size_t n = 0;
    switch (transport_.read(buf.data(), buf.size(), n)) {
      case Transport::Io::Done: {
        last_received_ = std::chrono::steady_clock::now();
        total += n;
        std::string_view data(buf.data(), n);
        PLOG(Debug, "c2s.io") << id_ << " RECV " << data;
        bool was_compact = parser_.compacted();
        parser_.feed(data);  // handlers may close, start TLS or pause reading
        // Awake again: compact once it has been quiet for compact_after again.
        if (was_compact && timer_purpose_ == TimerPurpose::Keepalive &&
            probe_sent_ == std::chrono::steady_clock::time_point{})
          arm_keepalive(std::chrono::milliseconds(0));
        if (total >= kReadPerTurn && !finished_) {
          if (!read_posted_) {
            read_posted_ = true;
            asio::post(strand_, [self = self()] {
              self->read_posted_ = false;
              self->read_available();
            });
          }
          return;
        }
        if (transport_.drained()) {  // reading again would only say EAGAIN
          if (!finished_ && !tls_pending_ && !handshaking_ && !read_paused_) wait_readable();
          return;
        }
        break;
      }
      case Transport::Io::WantRead:
        wait_readable();
        return;
      case Transport::Io::WantWrite:
        wait_writable();
        return;
      case Transport::Io::Closed:
        // An abrupt end (no </stream:stream>) is normal for mobile clients.
        PLOG(Debug, "c2s") << "connection " << id_ << " from " << remote_ << " closed by peer";
        finalize(true);
        return;
      case Transport::Io::Error:
        PLOG(Debug, "c2s") << "connection " << id_ << " from " << remote_
                           << " read error: " << transport_.error();
        finalize(true);
        return;
    }
  }
}

// ---- TLS ----

void ClientSession::begin_tls() {
  tls_pending_ = false;
  try {
    transport_.start_tls(server().tls().accept());
  } catch (const std::exception& e) {
    PLOG(Error, "c2s") << "cannot start TLS for " << remote_ << ": " << e.what();
    finalize(true);
    return;
  }
  handshaking_ = true;
  continue_handshake();
}

void ClientSession::continue_handshake() {
  switch (transport_.handshake()) {
    case Transport::Io::Done:
      handshaking_ = false;
      secure_ = true;
      bindings_ = transport_.take_channel_bindings();
      PLOG(Debug, "c2s") << "connection " << id_ << " from " << remote_ << ": "
                         << transport_.tls_version()
                         << (transport_.alpn().empty() ? "" : " ALPN " + transport_.alpn());
      // RFC 6120 §5.4.3.3: a new stream over the TLS layer; nothing from before carries over.
      stream_open_ = false;
      parser_.reset();
      wait_readable();
      if (out_bytes_ > 0) schedule_flush();
      return;
    case Transport::Io::WantRead:
      wait_readable();
      return;
    case Transport::Io::WantWrite:
      wait_writable();
      return;
    case Transport::Io::Closed:
    case Transport::Io::Error:
      PLOG(Debug, "c2s") << "TLS handshake with " << remote_ << " failed: " << transport_.error();
      finalize(true);
      return;
  }
}

// ---- Writing ----

void ClientSession::send(std::string bytes) {
  if (bytes.empty() || finished_) return;
  PLOG(Debug, "c2s.io") << id_ << " SEND " << bytes;
  size_t n = bytes.size();
  out_.push_back(Out{nullptr, std::move(bytes)});
  queued(n);
}

void ClientSession::send(std::shared_ptr<const std::string> bytes) {
  if (!bytes || bytes->empty() || finished_) return;
  PLOG(Debug, "c2s.io") << id_ << " SEND " << *bytes;
  size_t n = bytes->size();
  out_.push_back(Out{std::move(bytes), {}});
  queued(n);
}

// DESIGN §2 back-pressure: past half the limit the session stops reading (its own requests
// stop producing replies); past the limit the client is not draining and is disconnected
// rather than buffered forever (RFC 6120 §4.9.3.17 resource-constraint).
void ClientSession::queued(size_t n) {
  out_bytes_ += n;
  uint64_t limit = server().config().c2s.max_send_queue_bytes;
  if (!closing_ && out_bytes_ > limit) {
    PLOG(Warn, "c2s") << (bound_ ? jid_.str() : remote_) << " is not reading; " << out_bytes_
                      << " bytes queued, closing";
    // Keep only what is partly written; the rest will never be read.
    size_t keep = out_head_ + ((out_offset_ > 0 && out_head_ < out_.size()) ? 1 : 0);
    for (size_t i = keep; i < out_.size(); ++i) out_bytes_ -= out_[i].view().size();
    out_.resize(keep);
    stream_error("resource-constraint", "the client does not read its stream");
    return;
  }
  if (!read_paused_ && out_bytes_ > limit / 2) read_paused_ = true;
  schedule_flush();
}

void ClientSession::schedule_flush() {
  if (flush_posted_ || write_waiting_ || handshaking_ || finished_) return;
  flush_posted_ = true;
  // Posted, not run now: everything queued in this strand turn goes out in one write.
  asio::post(strand_, [self = self()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void ClientSession::flush() {
  if (finished_ || handshaking_ || write_waiting_) return;
  if (sm_ && !ack_requested_ && !closing_ && sm_->unacked() > 0) {
    // XEP-0198 §4: ask for an acknowledgement of what this turn sent, in the same write. One
    // request is outstanding at a time, so a burst costs one round trip.
    ack_requested_ = true;
    std::string request = "<r xmlns='urn:xmpp:sm:3'/>";
    out_bytes_ += request.size();
    out_.push_back(Out{nullptr, std::move(request)});
  }
  for (;;) {
    size_t n = 0;
    Transport::Io io;
    if (transport_.tls_started()) {
      if (wbuf_offset_ == wbuf_.size()) {
        wbuf_.clear();
        wbuf_offset_ = 0;
        while (out_head_ < out_.size() && wbuf_.size() < kTlsWrite) {
          wbuf_.append(out_[out_head_].view());
          out_[out_head_++] = Out{};
        }
        if (wbuf_.empty() && !transport_.has_pending_output()) break;
      }
      asio::const_buffer b(wbuf_.data() + wbuf_offset_, wbuf_.size() - wbuf_offset_);
      io = transport_.write(&b, 1, n);
      if (io == Transport::Io::Done) {
        wbuf_offset_ += n;
        out_bytes_ -= n;
        continue;
      }
    } else {
      // Plain TCP: one gather write (writev) of everything queued, up to 64 items.
      std::array<asio::const_buffer, 64> bufs;
      size_t count = 0;
      for (size_t i = out_head_; i < out_.size() && count < bufs.size(); ++i, ++count) {
        std::string_view v = out_[i].view();
        if (i == out_head_) v.remove_prefix(out_offset_);
        bufs[count] = asio::const_buffer(v.data(), v.size());
      }
      if (count == 0) break;
      io = transport_.write(bufs.data(), count, n);
      if (io == Transport::Io::Done) {
        out_bytes_ -= n;
        while (n > 0) {
          size_t left = out_[out_head_].view().size() - out_offset_;
          if (n >= left) {
            n -= left;
            out_[out_head_++] = Out{};
            out_offset_ = 0;
          } else {
            out_offset_ += n;
            n = 0;
          }
        }
        continue;
      }
    }
    switch (io) {
      case Transport::Io::WantWrite:
        wait_writable();
        return;
      case Transport::Io::WantRead:
        wait_readable();
        return;
      default:
        PLOG(Debug, "c2s") << "connection " << id_ << " from " << remote_
                           << " write failed: " << transport_.error();
        finalize(true);
        return;
    }
  }
  drained();
}

void ClientSession::drained() {
  out_.clear();
  out_head_ = 0;
  out_offset_ = 0;
  out_bytes_ = 0;
  if (out_.capacity() > 16) std::vector<Out>().swap(out_);
  if (wbuf_.capacity() > 1024) std::string().swap(wbuf_);
  wbuf_.clear();
  wbuf_offset_ = 0;
  if (closing_) {
    maybe_finish();
    return;
  }
  if (tls_pending_) {
    // <proceed/> is on the wire: the next byte from the client is its ClientHello.
    begin_tls();
    return;
  }
  if (read_paused_) {
    read_paused_ = false;
    read_available();
  }
}

// ---- Timers ----

void ClientSession::arm_timer(std::chrono::milliseconds delay, TimerPurpose purpose) {
  timer_purpose_ = purpose;
  uint32_t generation = ++timer_generation_;
  timer_.expires_after(delay);
  timer_.async_wait([self = self(), generation](const boost::system::error_code& ec) {
    if (ec || generation != self->timer_generation_) return;
    self->on_timer();
  });
}

void ClientSession::on_timer() {
  if (finished_ && timer_purpose_ != TimerPurpose::Hibernate) return;
  switch (timer_purpose_) {
    case TimerPurpose::Auth:
      PLOG(Info, "c2s") << "connection from " << remote_ << " did not authenticate in time";
      stream_error("connection-timeout", "authentication took too long");
      return;
    case TimerPurpose::Keepalive:
      keepalive();
      return;
    case TimerPurpose::Hibernate:
      PLOG(Info, "c2s") << jid_.str() << " was not resumed in time";
      end_session();
      return;
    case TimerPurpose::Close:
      finalize(true);
      return;
    case TimerPurpose::None:
      return;
  }
}

// Dead connections (RFC 6120 §4.6): the timer is not re-armed per read; it looks at when data
// last arrived. Quiet for ping_interval: ask for a sign of life, an <r/> on a managed stream
// (XEP-0198 §4), else an XEP-0199 ping; any data at all (an error reply, whitespace) counts.
// Still quiet ping_timeout later: the connection is gone, and a resumable session waits.
void ClientSession::keepalive() {
  const auto& cfg = server().config().c2s;
  auto now = std::chrono::steady_clock::now();
  auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_received_);
  bool probing = probe_sent_ != std::chrono::steady_clock::time_point{};
  if (probing && last_received_ < probe_sent_) {
    if (now - probe_sent_ >= cfg.ping_timeout) {
      PLOG(Info, "c2s") << jid_.str() << " from " << remote_ << " did not answer; connection lost";
      // Said once, without waiting for a close the peer is not going to send.
      stream_error("connection-timeout", "no answer to a ping", /*resumable=*/true);
      flush();
      return finalize(true);
    }
    return arm_timer(std::chrono::duration_cast<std::chrono::milliseconds>(cfg.ping_timeout -
                                                                           (now - probe_sent_)),
                     TimerPurpose::Keepalive);
  }
  probe_sent_ = {};
  if (quiet >= cfg.compact_after) compact();
  if (quiet < cfg.ping_interval) return arm_keepalive(quiet);
  probe_sent_ = now;
  if (sm_) {
    ack_requested_ = true;
    send(std::string("<r xmlns='urn:xmpp:sm:3'/>"));
  } else {
    xml::Element ping("iq", std::string(stanza::kClientNs));
    ping.set("type", "get").set("id", "keepalive-" + random_id(4));
    ping.set("from", jid_.domain()).set("to", jid_.str());
    ping.add("ping", "urn:xmpp:ping");
    send(ping.str(stanza::kClientNs));
  }
  arm_timer(cfg.ping_timeout, TimerPurpose::Keepalive);
}

void ClientSession::arm_keepalive(std::chrono::milliseconds quiet) {
  const auto& cfg = server().config().c2s;
  auto next = cfg.ping_interval - quiet;
  if (!parser_.compacted() && quiet < cfg.compact_after)
    next = std::min(next, cfg.compact_after - quiet);
  arm_timer(next, TimerPurpose::Keepalive);
}

void ClientSession::compact() {
  if (!parser_.compact()) return;  // in the middle of a stanza: next time
  shared_->compactions.inc();
  if (out_bytes_ == 0) {
    std::vector<Out>().swap(out_);
    std::string().swap(wbuf_);
  }
}

// ---- Closing ----

// RFC 6120 §4.9.1: a stream error is sent, then </stream:stream>; the peer gets a short
// bounded time to answer with its own close (§4.4) before the connection goes.
void ClientSession::stream_error(std::string_view condition, std::string_view text, bool resumable,
                                 std::string_view application) {
  if (closing_ || finished_) return;
  keep_session_ = resumable;
  if (handshaking_) {  // no stream to speak on
    finalize(true);
    return;
  }
  if (!header_sent_) {
    // RFC 6120 §4.9.1.3: an error before our header still needs one.
    send(stream_header(domain_, {}, random_id(8), "en"));
    header_sent_ = true;
  }
  PLOG(Debug, "c2s") << "connection " << id_ << " from " << remote_ << ": stream error "
                     << condition << (text.empty() ? "" : " (" + std::string(text) + ")");
  closing_ = true;
  tls_pending_ = false;
  send(c2s::stream_error(condition, text, application) + "</stream:stream>");
  arm_timer(kCloseGrace, TimerPurpose::Close);
  // Keep reading to see the peer's </stream:stream> (resume if paused by back-pressure).
  read_paused_ = false;
  wait_readable();
}

// The client closed its stream (RFC 6120 §4.4): answer with ours, then close the connection.
// A clean close ends the session (XEP-0198 §5), unless it answers our resumable close.
void ClientSession::end_stream() {
  peer_closed_ = true;
  if (!closing_) {
    closing_ = true;
    keep_session_ = false;
    send(std::string("</stream:stream>"));
    arm_timer(kCloseGrace, TimerPurpose::Close);
  }
  maybe_finish();
}

void ClientSession::maybe_finish() {
  if (finished_ || !closing_ || !peer_closed_) return;
  if (out_bytes_ > 0) return;  // drained() calls back
  finalize(false);
}

// The connection is closed. The session ends with it, unless stream management lets it wait
// for the client to come back (an unfinished stream, XEP-0198 §5).
void ClientSession::finalize(bool abrupt) {
  if (finished_) return;
  finished_ = true;
  ++timer_generation_;
  timer_.cancel();
  transport_.close();  // also cancels pending waits; their handlers see finished_
  out_.clear();
  out_.shrink_to_fit();
  out_bytes_ = 0;
  std::string().swap(wbuf_);
  sasl_.reset();
  credentials_.reset();
  bindings_.reset();
  ++sasl_generation_;
  shared_->connections.dec();
  if (!bound_ || successor_) {
    // Never bound (a resumption in progress keeps its place until it is decided), or the
    // session went on over another connection (complete_hand_over lets go of this one).
    if ((!bound_ && !resuming_) || handed_over_) shared_->untrack(id_);
    PLOG(Debug, "c2s") << "connection " << id_ << " from " << remote_ << " closed";
    return;
  }
  // Lost, not ended: the connection dropped, or we closed it with a resumable error.
  bool lost = closing_ ? keep_session_ : abrupt;
  if (lost && !sm_id_.empty() && !ended_) return hibernate();
  PLOG(Info, "c2s") << "closed " << jid_.str() << " from " << remote_
                    << (abrupt ? " (connection lost)" : "");
  end_session();
}

// The session is over: it leaves the registry, what it never delivered goes elsewhere, and
// its contacts hear it went (SessionClosed, RFC 6121 §4.5.2).
void ClientSession::end_session() {
  if (ended_ || handed_over_) return;
  ended_ = true;
  if (successor_) {
    // A resumption was under way: it cannot happen now (the client binds anew).
    auto successor = std::move(successor_);
    auto strand = successor->strand_;
    asio::post(strand, [successor] { successor->resume_failed("item-not-found"); });
  }
  if (hibernating_) {
    hibernating_ = false;
    shared_->hibernating.dec();
  }
  ++timer_generation_;
  timer_.cancel();
  if (!finished_) {
    // Ended while the connection is still open (parleyctl kick of a live session goes
    // through close(); this is the too-many-unacknowledged path): close it now.
    finished_ = true;
    transport_.close();
    shared_->connections.dec();
  }
  shared_->untrack(id_);
  if (!sm_id_.empty()) shared_->forget_resumable(sm_id_, this);
  if (!bound_) return;
  // Only this object leaves the registry: a session that replaced us keeps its entry.
  server().sessions().remove(*this);
  bool was_available = available.exchange(false);
  if (sm_) {
    auto unacked = sm_->take_unacked();
    if (!unacked.empty()) {
      PLOG(Info, "c2s") << jid_.str() << " ended with " << unacked.size()
                        << " unacknowledged stanzas; rerouting them";
    }
    for (auto& u : unacked) undeliverable(std::move(u.stanza), std::move(u.bytes), u.sent_at_ms);
  }
  SessionClosed event{server(), shared_from_this(), was_available};
  server().hooks().fire(event);
}

}  // namespace parley::c2s
