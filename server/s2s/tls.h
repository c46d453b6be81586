// TLS for server-to-server links (RFC 6120 §5, §13.7.1.2; XEP-0178; XEP-0368 direct TLS): one
// OpenSSL SSL_CTX per local domain certificate, used in both roles (server certificate on
// incoming streams, client certificate on outgoing ones for SASL EXTERNAL, RFC 6120 §13.8),
// rebuilt on SIGHUP. The peer's certificate is checked but never fails a handshake: the s2s
// code reads the outcome with inspect_peer() and matches the peer's domain with identifies()
// (RFC 6125 §6), so a peer whose certificate we do not trust can still use dialback (XEP-0220).
// OpenSSL headers stay out of this header (forward declarations only).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "net/tls.h"

struct ssl_st;   // OpenSSL's SSL
struct x509_st;  // OpenSSL's X509

namespace parley {

struct Config;

namespace s2s {

struct TlsOptions {
  std::vector<std::string> ca_files;  // extra PEM CA bundles/certs to trust (s2s.ca_files)
  bool system_trust = true;           // also OpenSSL's default verify paths (/etc/ssl/certs)
};

// Server-to-server TLS contexts: our certificate per local domain (the same files as c2s:
// Config::certificate/private_key and the VirtualHost overrides) and one trust store.
// Contexts are not prepared for the TLS 1.3 record layer (net/tls13_records.h): s2s
// connections stay on OpenSSL, so the peer's certificate can be read after the handshake.
class S2sTls {
 public:
  // Throws std::runtime_error naming the file on a missing or bad certificate, key or CA file.
  S2sTls(const Config& config, TlsOptions options);
  ~S2sTls();
  S2sTls(const S2sTls&) = delete;
  S2sTls& operator=(const S2sTls&) = delete;

  // SIGHUP: rebuilds every context and the trust store from the same files. On failure keeps
  // the old ones and logs the error. Connections already running keep their context.
  void reload();

  // Incoming: a server-side SSL in accept state; SNI picks the local domain's certificate,
  // ALPN "xmpp-server" is selected when offered (XEP-0368). The peer's certificate is
  // requested, not required.
  TlsConnection accept() const;

  // Outgoing to `remote_domain`: a client-side SSL in connect state with SNI = remote_domain,
  // our certificate for `local_domain` as client certificate (the default one for an unknown
  // domain), and ALPN "xmpp-server" offered when `direct_tls`.
  TlsConnection connect(std::string_view local_domain, std::string_view remote_domain,
                        bool direct_tls) const;

  // Number of distinct certificates (contexts), for logs and tests.
  size_t size() const;

  struct Set;  // one generation of contexts (opaque)

 private:
  const Config& config_;
  TlsOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Set> current_;
};

// What the peer's certificate says, read from a finished handshake.
struct PeerCertificate {
  bool present = false;  // the peer sent one
  bool trusted = false;  // the chain verified against the trust store (X509_V_OK), dates included
  std::string error;     // X509_verify_cert_error_string when present but not trusted
  bool has_san = false;  // the certificate has a subjectAltName extension
  std::vector<std::string> dns_ids;     // subjectAltName dNSName, lowercased
  std::vector<std::string> srv_ids;     // otherName id-on-dnsSRV, "_xmpp-server.example.org",
                                        // lowercased
  std::vector<std::string> xmpp_addrs;  // otherName id-on-xmppAddr (UTF8String), as sent
  std::string common_name;  // the subject's (most specific) CN; an identity only without SANs
};

// The peer certificate of a finished handshake and its verification result; present=false when
// the peer sent none (or `ssl` is null).
PeerCertificate inspect_peer(ssl_st* ssl);
// The names of one certificate (present=true, trusted=false: no chain is checked here).
PeerCertificate describe(x509_st* cert);

// RFC 6125 §6 as RFC 6120 §13.7.1.2 and XEP-0178 apply it to a server: does the certificate
// identify `domain` (ASCII)? Case-insensitive. DNS-ID exact, or a wildcard that is the complete
// left-most label ("*.example.org" matches "a.example.org", not "example.org" nor
// "a.b.example.org"); SRV-ID "_xmpp-server.<domain>" or "_xmpps-server.<domain>"; XmppAddr
// equal to the domain; the CN (same rules as a DNS-ID) only when there are no SANs at all.
bool identifies(const PeerCertificate& cert, std::string_view domain);

}  // namespace s2s
}  // namespace parley
