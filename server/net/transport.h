// A client connection's byte transport: a TCP socket, optionally with TLS on top (STARTTLS or
// direct TLS, XEP-0368). Reactor style: the session waits for readiness with async_wait and
// then reads or writes without blocking. OpenSSL works on the socket descriptor directly, so a
// connection holds no TLS record buffers while idle (SSL_MODE_RELEASE_BUFFERS) and no read
// buffer at all: reads go into a per-thread buffer and straight into the XML parser (DESIGN §10:
// an idle TLS session should cost a few kilobytes).
// Not thread-safe: used only on the owning session's strand.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <string>

#include "net/tls.h"
#include "sasl/mechanism.h"

namespace parley {

class Transport {
 public:
  // Done: the call made progress (n bytes, or handshake finished). WantRead / WantWrite: wait
  // for that readiness and call again. Closed: orderly end of stream from the peer. Error: the
  // connection is unusable (reset, TLS alert, ...), `error()` says why.
  enum class Io { Done, WantRead, WantWrite, Closed, Error };

  explicit Transport(boost::asio::ip::tcp::socket socket);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  bool secure() const { return tls_ && handshake_done_; }
  bool tls_started() const { return static_cast<bool>(tls_); }
  const std::string& error() const { return error_; }
  // The negotiated ALPN protocol ("" when none) and TLS version name, for logs.
  std::string alpn() const;
  std::string tls_version() const;

  // Switches to TLS on this socket (after <proceed/> was fully written, or right after accept
  // for direct TLS). Then call handshake() until Done.
  void start_tls(TlsConnection tls);
  Io handshake();
  sasl::ChannelBindings channel_bindings() const;

  Io read(char* buf, size_t cap, size_t& n);
  // Writes from a gather list (plain TCP: one writev) or one contiguous buffer (TLS: one
  // record). For TLS a retry after WantRead/WantWrite must pass the same data again.
  Io write(const boost::asio::const_buffer* bufs, size_t count, size_t& n);
  // Sends TLS close_notify (best effort, never waits) and closes the socket.
  void close();

 private:
  Io tls_result(int ret, int err);
  boost::asio::ip::tcp::socket socket_;
  TlsConnection tls_;
  bool handshake_done_ = false;
  std::string error_;
};

}  // namespace parley
