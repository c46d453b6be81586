#include "net/transport.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/error.hpp>
#include <cerrno>
#include <cstring>

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

sasl::ChannelBindings Transport::channel_bindings() const {
  return secure() ? parley::channel_bindings(tls_.native()) : sasl::ChannelBindings{};
}

std::string Transport::alpn() const {
  if (!tls_) return {};
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(tls_.native(), &p, &len);
  return p ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

std::string Transport::tls_version() const {
  return tls_ ? SSL_get_version(tls_.native()) : "";
}

Transport::Io Transport::read(char* buf, size_t cap, size_t& n) {
  n = 0;
  if (tls_) {
    ERR_clear_error();
    int r = SSL_read_ex(tls_.native(), buf, cap, &n);
    if (r == 1) return Io::Done;
    return tls_result(r, SSL_get_error(tls_.native(), r));
  }
  boost::system::error_code ec;
  n = socket_.read_some(asio::buffer(buf, cap), ec);
  if (!ec) return Io::Done;
  if (ec == asio::error::would_block || ec == asio::error::try_again) return Io::WantRead;
  if (ec == asio::error::eof || ec == asio::error::connection_reset) return Io::Closed;
  error_ = ec.message();
  return Io::Error;
}

Transport::Io Transport::write(const asio::const_buffer* bufs, size_t count, size_t& n) {
  n = 0;
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
  if (ec == asio::error::would_block || ec == asio::error::try_again) return Io::WantWrite;
  if (ec == asio::error::broken_pipe || ec == asio::error::connection_reset) return Io::Closed;
  error_ = ec.message();
  return Io::Error;
}

void Transport::close() {
  if (tls_ && handshake_done_) {
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
