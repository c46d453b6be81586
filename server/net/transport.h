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
#include <memory>
#include <string>

#include "net/tls.h"
#include "sasl/mechanism.h"

namespace parley {

namespace tls13 {
class RecordLayer;
}

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
  bool secure() const { return tls_on_ && handshake_done_; }
  bool tls_started() const { return tls_on_; }
  const std::string& error() const { return error_; }
  // The negotiated ALPN protocol ("" when none) and TLS version name, for logs.
  const std::string& alpn() const { return alpn_; }
  std::string tls_version() const { return version_ ? version_ : ""; }
  // The live OpenSSL object (nullptr before start_tls and once the TLS 1.3 record layer took
  // over): s2s reads the peer's certificate from it after the handshake.
  ssl_st* native_ssl() const { return tls_.native(); }

  // Switches to TLS on this socket (after <proceed/> was fully written, or right after accept
  // for direct TLS). Then call handshake() until Done.
  void start_tls(TlsConnection tls);
  // When it returns Done, a TLS 1.3 connection has been handed from OpenSSL to the smaller
  // record layer of net/tls13_records.h and the SSL object is gone; TLS 1.2 stays on OpenSSL.
  Io handshake();
  // The channel bindings of the finished handshake (computed before the SSL object went);
  // moved out: call once.
  sasl::ChannelBindings take_channel_bindings() { return std::move(bindings_); }

  // `cap` must exceed one TLS record (tls13::kMaxRecord): a partial record read earlier is
  // put back at the start of `buf`.
  Io read(char* buf, size_t cap, size_t& n);
  // The last read() took less than it asked of the socket, so the socket had nothing more
  // then: wait for readiness instead of reading again (the read would only say EAGAIN).
  // Readiness waits re-check the socket, so data that arrived since is not missed.
  bool drained() const { return drained_; }
  // Writes from a gather list (plain TCP: one writev) or one contiguous buffer (TLS). For TLS
  // on OpenSSL a retry after WantRead/WantWrite must pass the same data again. The TLS 1.3
  // record layer accepts all of `bufs[0]` at once and keeps what the socket did not take
  // (has_pending_output()); a write with an empty buffer sends that.
  Io write(const boost::asio::const_buffer* bufs, size_t count, size_t& n);
  bool has_pending_output() const { return !out_pending_.empty(); }
  // Sends TLS close_notify (best effort, never waits) and closes the socket.
  void close();

 private:
  Io tls_result(int ret, int err);
  Io records_read(char* buf, size_t cap, size_t& n);
  Io records_write(const char* data, size_t len, size_t& n);
  Io send_pending();
  Io socket_error(const boost::system::error_code& ec, Io would_block);
  boost::asio::ip::tcp::socket socket_;
  TlsConnection tls_;  // during the handshake, and for TLS 1.2 connections
  std::unique_ptr<tls13::RecordLayer> records_;  // TLS 1.3 after the handshake
  std::string in_partial_;                       // a record not yet complete (records_ only)
  std::string out_pending_;  // records the socket has not taken yet (records_ only)
  sasl::ChannelBindings bindings_;
  std::string alpn_;
  const char* version_ = nullptr;  // OpenSSL's static name of the protocol version
  bool tls_on_ = false;
  bool handshake_done_ = false;
  bool peer_closed_ = false;  // close_notify read after data not yet returned
  bool drained_ = false;
  std::string error_;
};

}  // namespace parley
