#include "net/transport.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/error.hpp>
#include <cerrno>
#include <cstring>

#include "net/tls13_records.h"

namespace parley {

namespace asio = boost::asio;

Transport::Transport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

Transport::~Transport() = default;

void Transport::start_tls(TlsConnection tls) {
  tls_ = std::move(tls);
  tls_on_ = true;
  SSL_set_fd(tls_.native(), static_cast<int>(socket_.native_handle()));
}

// OpenSSL keeps a per-thread error queue; sessions move between I/O threads, so every call
// starts from a clean queue and leaves one behind (the text is kept in error_).
Transport::Io Transport::tls_result(int ret, int err) {
  switch (err) {
    case SSL_ERROR_WANT_READ:
      return Io::WantRead;
    case SSL_ERROR_WANT_WRITE:
      return Io::WantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return Io::Closed;
    case SSL_ERROR_SYSCALL: {
      int e = errno;
      ERR_clear_error();
      if (e == 0 || e == EPIPE || e == ECONNRESET) return Io::Closed;  // EOF without close_notify
      if (e == EAGAIN || e == EWOULDBLOCK) return Io::WantRead;
      error_ = std::strerror(e);
      return Io::Error;
    }
    default: {
      char buf[256];
      unsigned long code = ERR_get_error();
      if (code) {
        ERR_error_string_n(code, buf, sizeof buf);
        error_ = buf;
      } else {
        error_ = "TLS error " + std::to_string(err);
      }
      ERR_clear_error();
      return Io::Error;
    }
  }
  (void)ret;
}

Transport::Io Transport::handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(tls_.native());
  if (r == 1) {
    handshake_done_ = true;
    tls_.release_contexts();
    SSL* ssl = tls_.native();
    bindings_ = parley::channel_bindings(ssl);
    version_ = SSL_get_version(ssl);
    const unsigned char* p = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl, &p, &len);
    if (p) alpn_.assign(reinterpret_cast<const char*>(p), len);
    records_ = tls13::RecordLayer::take_over(ssl);
    if (records_) {
      tls_ = TlsConnection();  // ~15 KB less per connection from here on
    } else {
      // Stays on OpenSSL (TLS 1.2): the handshake callbacks have nothing more to do.
      SSL_set_msg_callback(ssl, nullptr);
    }
    return Io::Done;
  }
  Io io = tls_result(r, SSL_get_error(tls_.native(), r));
  // A peer that closes during the handshake is an error for the handshake's purposes.
  if (io == Io::Closed) {
    if (error_.empty()) error_ = "connection closed during TLS handshake";
    return Io::Error;
  }
  return io;
}

Transport::Io Transport::socket_error(const boost::system::error_code& ec, Io would_block) {
  if (ec == asio::error::would_block || ec == asio::error::try_again) return would_block;
  if (ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe)
    return Io::Closed;
  error_ = ec.message();
  return Io::Error;
}

Transport::Io Transport::read(char* buf, size_t cap, size_t& n) {
  n = 0;
  drained_ = false;
  if (records_) return records_read(buf, cap, n);
  if (tls_) {  // OpenSSL reads the socket itself: it may hold more than it returned
    ERR_clear_error();
    int r = SSL_read_ex(tls_.native(), buf, cap, &n);
    if (r == 1) return Io::Done;
    return tls_result(r, SSL_get_error(tls_.native(), r));
  }
  boost::system::error_code ec;
  n = socket_.read_some(asio::buffer(buf, cap), ec);
  if (!ec) {
    drained_ = n < cap;
    return Io::Done;
  }
  return socket_error(ec, Io::WantRead);
}

// Reads until at least one record's application data is in `buf` or the socket has nothing
// more; a record split across reads waits in in_partial_ (empty, and unallocated, between
// complete records: the usual state of an idle connection).
Transport::Io Transport::records_read(char* buf, size_t cap, size_t& n) {
  if (peer_closed_) return Io::Closed;
  for (;;) {
    size_t have = in_partial_.size();
    if (have > 0) {
      std::memcpy(buf, in_partial_.data(), have);
      std::string().swap(in_partial_);
    }
    boost::system::error_code ec;
    size_t got = socket_.read_some(asio::buffer(buf + have, cap - have), ec);
    if (ec) {
      if (have > 0) in_partial_.assign(buf, have);
      return socket_error(ec, Io::WantRead);
    }
    drained_ = got < cap - have;
    std::string reply;
    auto opened = records_->open(buf, have + got, reply);
    out_pending_ += reply;
    if (opened.status == tls13::RecordLayer::Status::Error) {
      error_ = records_->error();
      send_pending();  // the fatal alert, best effort
      return Io::Error;
    }
    if (opened.status == tls13::RecordLayer::Status::Closed) {
      if (opened.plaintext == 0) return Io::Closed;
      peer_closed_ = true;  // the data before close_notify first; the next read says Closed
      drained_ = false;
    } else if (opened.consumed < have + got) {
      in_partial_.assign(buf + opened.consumed, have + got - opened.consumed);
    }
    if (opened.plaintext > 0) {
      n = opened.plaintext;
      return Io::Done;
    }
    if (drained_ && !peer_closed_) return Io::WantRead;  // only part of a record so far
  }
}

Transport::Io Transport::send_pending() {
  while (!out_pending_.empty()) {
    boost::system::error_code ec;
    size_t sent = socket_.write_some(asio::buffer(out_pending_), ec);
    if (ec) return socket_error(ec, Io::WantWrite);
    if (sent == out_pending_.size())
      std::string().swap(out_pending_);
    else
      out_pending_.erase(0, sent);
  }
  return Io::Done;
}

Transport::Io Transport::records_write(const char* data, size_t len, size_t& n) {
  if (Io io = send_pending(); io != Io::Done) return io;
  if (len == 0) return Io::Done;
  // Sealed into a per-thread buffer; only what the socket does not take is kept.
  thread_local std::string sealed;
  sealed.clear();
  records_->seal(std::string_view(data, len), sealed);
  n = len;
  boost::system::error_code ec;
  size_t sent = socket_.write_some(asio::buffer(sealed), ec);
  if (ec) {
    Io io = socket_error(ec, Io::WantWrite);
    if (io != Io::WantWrite) return io;
    sent = 0;
  }
  if (sent < sealed.size()) out_pending_.assign(sealed, sent);
  return Io::Done;
}

Transport::Io Transport::write(const asio::const_buffer* bufs, size_t count, size_t& n) {
  n = 0;
  if (records_)
    return records_write(static_cast<const char*>(bufs[0].data()), count ? bufs[0].size() : 0, n);
  if (tls_) {
    ERR_clear_error();
    int r = SSL_write_ex(tls_.native(), bufs[0].data(), bufs[0].size(), &n);
    if (r == 1) return Io::Done;
    return tls_result(r, SSL_get_error(tls_.native(), r));
  }
  boost::system::error_code ec;
  struct Seq {
    const asio::const_buffer* b;
    size_t c;
    const asio::const_buffer* begin() const { return b; }
    const asio::const_buffer* end() const { return b + c; }
  };
  n = socket_.write_some(Seq{bufs, count}, ec);
  if (!ec) return Io::Done;
  return socket_error(ec, Io::WantWrite);
}

void Transport::close() {
  if (records_) {
    // One non-blocking attempt, as below for OpenSSL.
    records_->seal_alert(0, out_pending_);
    send_pending();
    records_.reset();
    std::string().swap(out_pending_);
    std::string().swap(in_partial_);
  } else if (tls_ && handshake_done_) {
    // One non-blocking attempt: the close_notify alert almost always fits the socket buffer;
    // we never wait for the peer's (RFC 8446 §6.1 allows closing the read side at once).
    ERR_clear_error();
    SSL_shutdown(tls_.native());
    ERR_clear_error();
  }
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  tls_ = TlsConnection();
}

}  // namespace parley
