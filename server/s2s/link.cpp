// Link, the I/O half of a server-to-server stream: reading into the parser, the output queue,
// TLS, the timer and the closing sequence (RFC 6120 §4.4). Simpler than the c2s session's:
// links are few and long-lived, so they keep their buffers.
#include "s2s/link.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <array>
#include <atomic>

#include "c2s/stream_util.h"
#include "core/config.h"
#include "core/log.h"
#include "core/server.h"
#include "s2s/s2s.h"

namespace parley::s2s {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr size_t kReadChunk = 32 * 1024;  // more than one TLS record
constexpr size_t kReadPerTurn = 64 * 1024;
constexpr size_t kWriteChunk = 16 * 1024;
constexpr auto kCloseGrace = 2s;  // after our </stream:stream>, for the peer's (RFC 6120 §4.4)

std::atomic<uint64_t> next_link_id{1};

std::string address_of(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  return addr.to_string() + ":" + std::to_string(ep.port());
}

xml::ParserLimits limits_for(const S2s& s2s) {
  xml::ParserLimits limits;
  limits.max_stanza_bytes = s2s.config().max_stanza_bytes;
  return limits;
}

}  // namespace

Link::Link(S2s& s2s, asio::ip::tcp::socket socket, std::string role)
    : s2s_(s2s),
      strand_(socket.get_executor()),
      transport_(std::move(socket)),
      timer_(strand_),
      parser_(xml::StreamParser::Handler{[this](const xml::Element& h, std::string_view ns) {
                                           if (!restart_pending_) on_open(h, ns);
                                         },
                                         [this](std::unique_ptr<xml::Element> e) {
                                           if (!closing_ && !restart_pending_)
                                             on_element(std::move(e));
                                         },
                                         [this] {
                                           if (!restart_pending_) on_stream_close();
                                         },
                                         [this](xml::ParseError e, std::string_view detail) {
                                           if (restart_pending_) return;
                                           PLOG(Info, "s2s") << role_ << " link " << id_ << " ("
                                                             << remote_ << "): bad XML: " << detail;
                                           stream_error(xml::to_condition(e), detail);
                                         },
                                         nullptr},
              limits_for(s2s)),
      id_(next_link_id.fetch_add(1)),
      role_(std::move(role)),
      remote_(address_of(transport_.socket())) {}

Link::~Link() = default;

Server& Link::server() const {
  return s2s_.server();
}

void Link::close(std::string condition, std::string text) {
  asio::post(strand_, [self = self(), c = std::move(condition), t = std::move(text)] {
    if (self->finished_) return;
    if (c.empty())
      self->end_stream();
    else
      self->stream_error(c, t);
  });
}

void Link::connected() {
  remote_ = address_of(transport_.socket());
  boost::system::error_code ec;
  transport_.socket().non_blocking(true, ec);
  transport_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
}

void Link::start_reading() {
  reading_ = true;
  wait_readable();
}

// ---- Reading ----

void Link::wait_readable() {
  if (read_waiting_ || finished_ || !reading_) return;
  read_waiting_ = true;
  transport_.socket().async_wait(asio::ip::tcp::socket::wait_read,
                                 [self = self()](const boost::system::error_code& ec) {
                                   self->read_waiting_ = false;
                                   if (self->finished_) return;
                                   if (ec) {
                                     if (ec != asio::error::operation_aborted)
                                       self->finalize("connection lost: " + ec.message());
                                     return;
                                   }
                                   self->on_readable();
                                 });
}

void Link::wait_writable() {
  if (write_waiting_ || finished_) return;
  write_waiting_ = true;
  transport_.socket().async_wait(asio::ip::tcp::socket::wait_write,
                                 [self = self()](const boost::system::error_code& ec) {
                                   self->write_waiting_ = false;
                                   if (self->finished_) return;
                                   if (ec) {
                                     if (ec != asio::error::operation_aborted)
                                       self->finalize("connection lost: " + ec.message());
                                     return;
                                   }
                                   if (self->handshaking_) {
                                     self->continue_handshake();
                                     return;
                                   }
                                   self->flush();
                                   if (self->transport_.secure()) self->read_available();
                                 });
}

void Link::on_readable() {
  if (tls_pending_) return;  // the ClientHello waits for the handshake
  if (handshaking_) {
    continue_handshake();
    return;
  }
  read_available();
  if (!finished_ && !write_waiting_ && (queued_bytes() > 0 || transport_.has_pending_output()))
    schedule_flush();
}

void Link::read_available() {
  thread_local std::array<char, kReadChunk> buf;
  size_t total = 0;
  while (!finished_ && !handshaking_ && !tls_pending_ && reading_) {
    size_t n = 0;
    switch (transport_.read(buf.data(), buf.size(), n)) {
      case Transport::Io::Done: {
        total += n;
        std::string_view data(buf.data(), n);
        PLOG(Debug, "s2s.io") << id_ << " RECV " << data;
        feeding_ = true;
        parser_.feed(data);  // handlers may close the link, restart the stream or start TLS
        feeding_ = false;
        if (restart_pending_) {
          restart_pending_ = false;
          parser_.reset();
        }
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
        if (transport_.drained()) {
          wait_readable();
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
        finalize(peer_closed_ ? "closed" : "connection closed by the peer");
        return;
      case Transport::Io::Error:
        finalize("read error: " + transport_.error());
        return;
    }
  }
}

void Link::restart_parser() {
  if (feeding_)
    restart_pending_ = true;
  else
    parser_.reset();
}

void Link::on_stream_close() {
  peer_closed_ = true;
  if (closing_) {
    finalize("closed");
    return;
  }
  end_stream();  // RFC 6120 §4.4: answer with our own close, then the connection ends
}

// ---- TLS ----

void Link::start_tls(TlsConnection tls, std::function<void()> done) {
  // Nothing read before the handshake may be used after it (RFC 6120 §5.4.3.3).
  restart_parser();
  tls_done_ = std::move(done);
  tls_pending_ = std::make_unique<TlsConnection>(std::move(tls));
  if (queued_bytes() == 0)
    begin_handshake();
  else
    flush();  // begins the handshake once the queue is out
}

void Link::begin_handshake() {
  transport_.start_tls(std::move(*tls_pending_));
  tls_pending_.reset();
  handshaking_ = true;
  continue_handshake();
}

void Link::continue_handshake() {
  switch (transport_.handshake()) {
    case Transport::Io::Done: {
      handshaking_ = false;
      PLOG(Debug, "s2s") << role_ << " link " << id_ << " (" << remote_
                         << "): " << transport_.tls_version();
      out_ += after_tls_;
      std::string().swap(after_tls_);
      auto done = std::move(tls_done_);
      tls_done_ = nullptr;
      if (done) done();
      if (finished_) return;
      wait_readable();
      if (queued_bytes() > 0) schedule_flush();
      return;
    }
    case Transport::Io::WantRead:
      wait_readable();
      return;
    case Transport::Io::WantWrite:
      wait_writable();
      return;
    case Transport::Io::Closed:
    case Transport::Io::Error:
      finalize("TLS handshake failed: " + transport_.error());
      return;
  }
}

// ---- Writing ----

void Link::send(std::string bytes) {
  // Nothing follows our </stream:stream> (RFC 6120 §4.4).
  if (bytes.empty() || finished_ || closing_) return;
  PLOG(Debug, "s2s.io") << id_ << " SEND " << bytes;
  if (tls_pending_) {
    // After <proceed/> and before the handshake nothing else may go out in the clear: it
    // waits for TLS (RFC 6120 §5.4.3.3).
    after_tls_ += bytes;
    return;
  }
  // DESIGN §2 back-pressure: a peer that asks and never reads does not get our memory.
  if (queued_bytes() + bytes.size() >
      s2s_.config().max_queue_bytes + s2s_.config().max_stanza_bytes) {
    out_.clear();
    stream_error("resource-constraint", "the peer does not read its stream");
    return;
  }
  out_ += bytes;
  schedule_flush();
}

void Link::schedule_flush() {
  if (flush_posted_ || write_waiting_ || handshaking_ || finished_) return;
  flush_posted_ = true;
  asio::post(strand_, [self = self()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void Link::flush() {
  if (finished_ || handshaking_ || write_waiting_) return;
  for (;;) {
    if (wbuf_offset_ == wbuf_.size()) {
      wbuf_.clear();
      wbuf_offset_ = 0;
      if (out_.empty() && !transport_.has_pending_output()) break;
      size_t take = std::min(out_.size(), kWriteChunk);
      wbuf_.assign(out_, 0, take);
      out_.erase(0, take);
    }
    size_t n = 0;
    asio::const_buffer b(wbuf_.data() + wbuf_offset_, wbuf_.size() - wbuf_offset_);
    Transport::Io io = transport_.write(&b, 1, n);
    if (io == Transport::Io::Done) {
      wbuf_offset_ += n;
      if (n == 0 && wbuf_offset_ == wbuf_.size() && out_.empty() &&
          transport_.has_pending_output()) {
        wait_writable();
        return;
      }
      continue;
    }
    if (io == Transport::Io::WantWrite) {
      wait_writable();
      return;
    }
    if (io == Transport::Io::WantRead) {
      wait_readable();
      return;
    }
    finalize(io == Transport::Io::Closed ? "connection closed by the peer"
                                         : "write error: " + transport_.error());
    return;
  }
  if (tls_pending_) {
    begin_handshake();
    return;
  }
  if (closing_ && peer_closed_) finalize("closed");
}

// ---- Closing ----

void Link::stream_error(std::string_view condition, std::string_view text) {
  if (closing_ || finished_) return;
  PLOG(Info, "s2s") << role_ << " link " << id_ << " (" << remote_ << "): stream error "
                    << condition << (text.empty() ? "" : ": ") << text;
  // RFC 6120 §4.9.1.1: the error goes on a stream of ours, even if the peer's never opened.
  std::string out = header_sent_ ? std::string() : fallback_header();
  out += c2s::stream_error(condition, text);
  send(std::move(out));
  end_stream();
}

void Link::end_stream() {
  if (closing_ || finished_) return;
  send("</stream:stream>");
  closing_ = true;
  // Bounded either way: a peer that closed but does not read must not keep us.
  arm_timer(kCloseGrace, [this] { finalize("closed (the peer did not close its stream)"); });
  // Both closes are out once the queue is written (flush() finalizes).
  if (peer_closed_) schedule_flush();
}

void Link::arm_timer(std::chrono::milliseconds delay, std::function<void()> fn) {
  if (finished_) return;
  timer_fn_ = std::move(fn);
  uint32_t generation = ++timer_generation_;
  timer_.expires_after(delay);
  timer_.async_wait([self = self(), generation](const boost::system::error_code& ec) {
    if (ec || self->finished_ || generation != self->timer_generation_) return;
    auto fn = std::move(self->timer_fn_);
    self->timer_fn_ = nullptr;
    if (fn) fn();
  });
}

void Link::cancel_timer() {
  ++timer_generation_;
  timer_fn_ = nullptr;
  timer_.cancel();
}

void Link::finalize(std::string reason) {
  if (finished_) return;
  // What the stream wrote last (an error, the close) goes out if the socket takes it now.
  if (!handshaking_ && (queued_bytes() > 0 || transport_.has_pending_output())) {
    for (int i = 0; i < 4 && (queued_bytes() > 0 || transport_.has_pending_output()); ++i) {
      if (wbuf_offset_ == wbuf_.size()) {
        wbuf_.assign(out_, 0, std::min(out_.size(), kWriteChunk));
        out_.erase(0, wbuf_.size());
        wbuf_offset_ = 0;
      }
      size_t n = 0;
      asio::const_buffer b(wbuf_.data() + wbuf_offset_, wbuf_.size() - wbuf_offset_);
      if (transport_.write(&b, 1, n) != Transport::Io::Done || n == 0) break;
      wbuf_offset_ += n;
    }
  }
  finished_ = true;
  cancel_timer();
  transport_.close();
  std::string().swap(out_);
  std::string().swap(wbuf_);
  PLOG(Debug, "s2s") << role_ << " link " << id_ << " (" << remote_ << ") ended: " << reason;
  on_closed(reason);
}

}  // namespace parley::s2s
