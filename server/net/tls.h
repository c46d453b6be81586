// TLS contexts (DESIGN §8): one OpenSSL SSL_CTX per virtual host, chosen by SNI, rebuilt on
// SIGHUP. OpenSSL and Asio SSL headers stay out of this header (forward declarations only),
// so the rest of the server compiles without them.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "sasl/mechanism.h"

struct ssl_st;  // OpenSSL's SSL

namespace parley {

struct Config;

// One server-side TLS connection object. Owns the SSL* and keeps the context set it was made
// from alive (SNI may switch to any context of that set during the handshake).
class TlsConnection {
 public:
  TlsConnection() = default;
  TlsConnection(ssl_st* ssl, std::shared_ptr<const void> contexts);
  TlsConnection(TlsConnection&& o) noexcept;
  TlsConnection& operator=(TlsConnection&& o) noexcept;
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;
  ~TlsConnection();

  ssl_st* native() const { return ssl_; }
  explicit operator bool() const { return ssl_ != nullptr; }
  // Drops the context set once the handshake is done (the SSL holds its own SSL_CTX reference).
  void release_contexts() { contexts_.reset(); }

 private:
  ssl_st* ssl_ = nullptr;
  std::shared_ptr<const void> contexts_;
};

class TlsContexts {
 public:
  // Loads the default certificate and every virtual host's own. Throws std::runtime_error
  // naming the file on a missing or bad certificate or key.
  explicit TlsContexts(const Config& config);
  ~TlsContexts();
  TlsContexts(const TlsContexts&) = delete;
  TlsContexts& operator=(const TlsContexts&) = delete;

  // SIGHUP: rebuilds every context from the same files. On failure keeps the old contexts and
  // logs the error. Connections already running keep their context.
  void reload();

  // A new server-side SSL object in accept state, on the default host's context; the SNI
  // callback switches to the requested host's context (unknown names keep the default).
  // ALPN "xmpp-client" is selected when the client offers it (XEP-0368).
  TlsConnection accept() const;

  // Number of hosts with a context of their own (plus the default), for logs and tests.
  size_t size() const;

  struct Set;  // one generation of contexts (opaque)

 private:
  const Config& config_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Set> current_;
};

// Channel binding data of an established TLS connection (RFC 9266 tls-exporter, RFC 5929
// tls-server-end-point), for SCRAM-*-PLUS and XEP-0440.
sasl::ChannelBindings channel_bindings(ssl_st* ssl);

}  // namespace parley
