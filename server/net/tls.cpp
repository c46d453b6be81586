#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/log.h"
#include "net/tls13_records.h"

namespace parley {

namespace {

struct CtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxDeleter>;

std::string openssl_error() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown error" : out;
}

// XEP-0368 §3: the ALPN protocol of a direct TLS c2s connection is "xmpp-client". A client
// that offers other protocols only gets no ALPN answer (not a fatal alert): plain XMPP clients
// with generic TLS stacks keep working.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static const unsigned char kProto[] = "\x0bxmpp-client";
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kProto, sizeof kProto - 1, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

// One immutable generation of contexts: the default host's and one per virtual host with its
// own certificate (hosts without one map to the default).
struct TlsContexts::Set {
  CtxPtr fallback;
  std::map<std::string, SSL_CTX*, std::less<>> by_host;  // points into owned (or fallback)
  std::vector<CtxPtr> owned;

  SSL_CTX* find(std::string_view host) const {
    auto it = by_host.find(host);
    return it == by_host.end() ? fallback.get() : it->second;
  }
};

namespace {

// SNI (RFC 6066 §3): switch the connection to the requested host's certificate. An unknown
// or absent name keeps the default context; XMPP clients then fail certificate verification
// themselves, which is the right outcome.
int on_servername(SSL* ssl, int*, void* arg) {
  auto* set = static_cast<const TlsContexts::Set*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_NOACK;
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  SSL_CTX* ctx = set->find(lower);
  if (ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;
}

// RFC 5929 §4.1 tls-server-end-point: hash of our certificate with its signature's hash
// algorithm, SHA-256 when that is MD5 or SHA-1 (or cannot be determined).
std::string server_end_point(X509* cert) {
  if (!cert) return {};
  int md_nid = NID_undef, pk_nid = NID_undef;
  const EVP_MD* md = EVP_sha256();
  if (OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid, &pk_nid)) {
    if (md_nid == NID_sha384)
      md = EVP_sha384();
    else if (md_nid == NID_sha512)
      md = EVP_sha512();
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, md, digest, &len) != 1) return {};
  return std::string(reinterpret_cast<char*>(digest), len);
}

void free_end_point(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(ptr);
}

int end_point_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_end_point);
  return index;
}

CtxPtr make_context(const std::string& cert, const std::string& key) {
  if (cert.empty() || key.empty())
    throw std::runtime_error("TLS: no certificate/private_key configured");
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) throw std::runtime_error("TLS: SSL_CTX_new failed: " + openssl_error());
  SSL_CTX* c = ctx.get();
  // DESIGN §8: TLS 1.2 minimum, the server's cipher preference, buffers released while idle.
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(
      c, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // TLS 1.2: forward-secret AEAD suites only. TLS 1.3 keeps OpenSSL's defaults.
  SSL_CTX_set_cipher_list(c,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  SSL_CTX_set_session_id_context(c, reinterpret_cast<const unsigned char*>("parley-c2s"), 10);
  // Resumption uses stateless session tickets only: the server-side session cache would keep
  // one SSL_SESSION per handshake (up to 20480 by default), memory a mobile-scale server can
  // spend better (DESIGN §10).
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  // TLS 1.3 tickets: one per handshake is what a reconnecting client uses; OpenSSL's default
  // of two encrypts and encodes the session twice on every login.
  SSL_CTX_set_num_tickets(c, 1);
  SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_alpn_select_cb(c, select_alpn, nullptr);
  tls13::prepare(c);  // TLS 1.3 connections leave OpenSSL after the handshake
  if (SSL_CTX_use_certificate_chain_file(c, cert.c_str()) != 1)
    throw std::runtime_error("TLS: cannot load certificate " + cert + ": " + openssl_error());
  if (SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("TLS: cannot load private key " + key + ": " + openssl_error());
  if (SSL_CTX_check_private_key(c) != 1)
    throw std::runtime_error("TLS: private key " + key + " does not match certificate " + cert);
  // tls-server-end-point depends on the certificate only: hashed once here, not per login.
  SSL_CTX_set_ex_data(c, end_point_index(),
                      new std::string(server_end_point(SSL_CTX_get0_certificate(c))));
  return ctx;
}

std::shared_ptr<const TlsContexts::Set> build(const Config& config) {
  auto set = std::make_shared<TlsContexts::Set>();
  std::string default_cert = config.certificate, default_key = config.private_key;
  // Without a global certificate the first host that has one serves as the default.
  if (default_cert.empty()) {
    for (const auto& h : config.hosts) {
      if (!h.certificate.empty()) {
        default_cert = h.certificate;
        default_key = h.private_key;
        break;
      }
    }
  }
  set->fallback = make_context(default_cert, default_key);
  for (const auto& h : config.hosts) {
    if (h.certificate.empty() || (h.certificate == default_cert && h.private_key == default_key)) {
      set->by_host[h.domain] = set->fallback.get();
      continue;
    }
    set->owned.push_back(make_context(h.certificate, h.private_key));
    set->by_host[h.domain] = set->owned.back().get();
  }
  // Every context routes SNI through the same set (the callback of the context the
  // ClientHello arrives on, i.e. the default one, is what runs).
  SSL_CTX_set_tlsext_servername_callback(set->fallback.get(), on_servername);
  SSL_CTX_set_tlsext_servername_arg(set->fallback.get(), set.get());
  return set;
}

}  // namespace

TlsConnection::TlsConnection(ssl_st* ssl, std::shared_ptr<const void> contexts)
    : ssl_(ssl), contexts_(std::move(contexts)) {}
TlsConnection::TlsConnection(TlsConnection&& o) noexcept
    : ssl_(std::exchange(o.ssl_, nullptr)), contexts_(std::move(o.contexts_)) {}
TlsConnection& TlsConnection::operator=(TlsConnection&& o) noexcept {
  if (this != &o) {
    if (ssl_) SSL_free(ssl_);
    ssl_ = std::exchange(o.ssl_, nullptr);
    contexts_ = std::move(o.contexts_);
  }
  return *this;
}
TlsConnection::~TlsConnection() {
  if (ssl_) SSL_free(ssl_);
}

TlsContexts::TlsContexts(const Config& config) : config_(config), current_(build(config)) {
  PLOG(Info, "tls") << "loaded " << size() << " TLS context(s)";
}

TlsContexts::~TlsContexts() = default;

void TlsContexts::reload() {
  try {
    auto fresh = build(config_);
    std::lock_guard lock(mutex_);
    current_ = std::move(fresh);
    PLOG(Info, "tls") << "reloaded certificates";
  } catch (const std::exception& e) {
    PLOG(Error, "tls") << "reload failed, keeping the previous certificates: " << e.what();
  }
}

TlsConnection TlsContexts::accept() const {
  std::shared_ptr<const Set> set;
  {
    std::lock_guard lock(mutex_);
    set = current_;
  }
  SSL* ssl = SSL_new(set->fallback.get());
  if (!ssl) throw std::runtime_error("TLS: SSL_new failed: " + openssl_error());
  SSL_set_accept_state(ssl);
  return TlsConnection(ssl, std::move(set));
}

size_t TlsContexts::size() const {
  std::lock_guard lock(mutex_);
  return 1 + current_->owned.size();
}

sasl::ChannelBindings channel_bindings(SSL* ssl) {
  sasl::ChannelBindings cb;
  if (!ssl) return cb;
  cb.tls = true;
  // RFC 9266 tls-exporter: only meaningful when the master secret is bound to the handshake:
  // TLS 1.3, or TLS 1.2 with the extended master secret (RFC 7627); otherwise omitted.
  int version = SSL_version(ssl);
  if (version >= TLS1_3_VERSION || SSL_get_extms_support(ssl) == 1) {
    unsigned char out[32];
    static const char kLabel[] = "EXPORTER-Channel-Binding";
    if (SSL_export_keying_material(ssl, out, sizeof out, kLabel, sizeof kLabel - 1, nullptr, 0,
                                   0) == 1)
      cb.tls_exporter.assign(reinterpret_cast<char*>(out), sizeof out);
  }
  // tls-server-end-point of the certificate of the context SNI chose, hashed when it loaded;
  // on an outgoing (s2s) connection the server's certificate is the peer's.
  if (!SSL_is_server(ssl))
    cb.tls_server_end_point = server_end_point(SSL_get0_peer_certificate(ssl));
  else if (auto* end_point = static_cast<std::string*>(
               SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), end_point_index())))
    cb.tls_server_end_point = *end_point;
  else
    cb.tls_server_end_point = server_end_point(SSL_get_certificate(ssl));
  return cb;
}

}  // namespace parley
