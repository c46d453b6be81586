#include "s2s/tls.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <map>
#include <stdexcept>
#include <utility>

#include "core/config.h"
#include "core/log.h"

namespace parley::s2s {

namespace {

struct CtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxDeleter>;
struct StoreDeleter {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
using StorePtr = std::unique_ptr<X509_STORE, StoreDeleter>;

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

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// XEP-0368 §3: the ALPN protocol of a direct TLS s2s connection is "xmpp-server". A peer that
// offers other protocols only gets no ALPN answer, as for c2s.
const unsigned char kAlpn[] = "\x0bxmpp-server";

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpn, sizeof kAlpn - 1, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// The chain is verified (SSL_get_verify_result keeps the error) but never fails the handshake:
// an untrusted peer may still authenticate with dialback (XEP-0220, XEP-0344).
int keep_going(int, X509_STORE_CTX*) {
  return 1;
}

}  // namespace

// One immutable generation: the trust store, the default context and one per distinct
// certificate of a virtual host (hosts without one map to the default).
struct S2sTls::Set {
  StorePtr store;
  CtxPtr fallback;
  std::map<std::string, SSL_CTX*, std::less<>> by_host;  // points into owned (or fallback)
  std::vector<CtxPtr> owned;

  SSL_CTX* find(std::string_view host) const {
    auto it = by_host.find(host);
    return it == by_host.end() ? fallback.get() : it->second;
  }
};

namespace {

// SNI (RFC 6066 §3): the local domain the peer wants to reach picks the certificate; an
// unknown name keeps the default (the peer's identity check then fails, as it should).
int on_servername(SSL* ssl, int*, void* arg) {
  auto* set = static_cast<const S2sTls::Set*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_NOACK;
  SSL_CTX* ctx = set->find(lower(name));
  if (ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;
}

StorePtr make_store(const TlsOptions& options) {
  StorePtr store(X509_STORE_new());
  if (!store) throw std::runtime_error("S2S TLS: X509_STORE_new failed: " + openssl_error());
  if (options.system_trust && X509_STORE_set_default_paths(store.get()) != 1)
    throw std::runtime_error("S2S TLS: cannot load the system trust store: " + openssl_error());
  for (const auto& file : options.ca_files) {
    if (X509_STORE_load_file(store.get(), file.c_str()) != 1)
      throw std::runtime_error("S2S TLS: cannot load CA file " + file + ": " + openssl_error());
  }
  // Every certificate in ca_files is a trust anchor, a peer's own (pinned) certificate too.
  X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN);
  ERR_clear_error();  // the default paths may be missing: not an error
  return store;
}

// One context for both roles: TLS_method() serves accept and connect alike.
CtxPtr make_context(const std::string& cert, const std::string& key, X509_STORE* store) {
  if (cert.empty() || key.empty())
    throw std::runtime_error("S2S TLS: no certificate/private_key configured");
  CtxPtr ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) throw std::runtime_error("S2S TLS: SSL_CTX_new failed: " + openssl_error());
  SSL_CTX* c = ctx.get();
  // As for c2s (net/tls.cpp): TLS 1.2 minimum, forward-secret AEAD suites, no compression or
  // renegotiation, buffers released while idle.
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                             SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_cipher_list(c,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  SSL_CTX_set_session_id_context(c, reinterpret_cast<const unsigned char*>("parley-s2s"), 10);
  // No resumption: s2s links are few and long-lived, and a resumed session would carry the
  // peer certificate's verification result from before a reload of the trust store.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(c, 0);
  // Incoming: the peer's certificate is requested (SSL_VERIFY_PEER) but not required.
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, keep_going);
  // The peer is a server in both directions: its certificate is checked for the serverAuth
  // purpose, also when it is the client of an incoming stream. Public CAs no longer put
  // clientAuth into server certificates.
  SSL_CTX_set_purpose(c, X509_PURPOSE_SSL_SERVER);
  SSL_CTX_set1_cert_store(c, store);
  SSL_CTX_set_alpn_select_cb(c, select_alpn, nullptr);
  if (SSL_CTX_use_certificate_chain_file(c, cert.c_str()) != 1)
    throw std::runtime_error("S2S TLS: cannot load certificate " + cert + ": " + openssl_error());
  if (SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("S2S TLS: cannot load private key " + key + ": " + openssl_error());
  if (SSL_CTX_check_private_key(c) != 1)
    throw std::runtime_error("S2S TLS: private key " + key + " does not match certificate " + cert);
  return ctx;
}

std::shared_ptr<const S2sTls::Set> build(const Config& config, const TlsOptions& options) {
  auto set = std::make_shared<S2sTls::Set>();
  set->store = make_store(options);
  std::string default_cert = config.certificate, default_key = config.private_key;
  // Without a global certificate the first host that has one serves as the default (as c2s).
  if (default_cert.empty()) {
    for (const auto& h : config.hosts) {
      if (!h.certificate.empty()) {
        default_cert = h.certificate;
        default_key = h.private_key;
        break;
      }
    }
  }
  set->fallback = make_context(default_cert, default_key, set->store.get());
  std::map<std::pair<std::string, std::string>, SSL_CTX*> by_files{
      {{default_cert, default_key}, set->fallback.get()}};
  for (const auto& h : config.hosts) {
    std::pair files{h.certificate.empty() ? default_cert : h.certificate,
                    h.certificate.empty() ? default_key : h.private_key};
    auto it = by_files.find(files);
    if (it == by_files.end()) {
      set->owned.push_back(make_context(files.first, files.second, set->store.get()));
      it = by_files.emplace(files, set->owned.back().get()).first;
    }
    set->by_host[lower(h.domain)] = it->second;
  }
  // Incoming connections start on the default context, whose SNI callback runs.
  SSL_CTX_set_tlsext_servername_callback(set->fallback.get(), on_servername);
  SSL_CTX_set_tlsext_servername_arg(set->fallback.get(), set.get());
  return set;
}

// A subjectAltName or otherName string value, or "" when it holds a NUL (a forged name).
std::string text_of(const ASN1_STRING* s) {
  if (!s) return {};
  std::string out(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                  static_cast<size_t>(ASN1_STRING_length(s)));
  return out.find('\0') == std::string::npos ? out : std::string();
}

// RFC 6125 §6.4.1 / §6.4.3: a DNS-ID (or CN) against a domain, both lowercase.
bool dns_matches(std::string_view id, std::string_view domain) {
  if (!id.empty() && id.back() == '.') id.remove_suffix(1);
  if (id.empty() || domain.empty()) return false;
  if (id == domain) return true;
  // The wildcard is the whole left-most label and stands for exactly one label; it needs two
  // labels after it ("*.org" identifies nothing).
  if (!id.starts_with("*.")) return false;
  std::string_view rest = id.substr(2);
  if (rest.find('.') == std::string_view::npos || rest.find('*') != std::string_view::npos)
    return false;
  size_t dot = domain.find('.');
  return dot != 0 && dot != std::string_view::npos && domain.substr(dot + 1) == rest;
}

}  // namespace

S2sTls::S2sTls(const Config& config, TlsOptions options)
    : config_(config), options_(std::move(options)), current_(build(config_, options_)) {
  PLOG(Info, "s2s") << "loaded " << size() << " s2s TLS context(s), " << options_.ca_files.size()
                    << " CA file(s)"
                    << (options_.system_trust ? " and the system trust store" : "");
}

S2sTls::~S2sTls() = default;

void S2sTls::reload() {
  try {
    auto fresh = build(config_, options_);
    std::lock_guard lock(mutex_);
    current_ = std::move(fresh);
    PLOG(Info, "s2s") << "reloaded certificates and trust store";
  } catch (const std::exception& e) {
    PLOG(Error, "s2s") << "reload failed, keeping the previous certificates: " << e.what();
  }
}

size_t S2sTls::size() const {
  std::lock_guard lock(mutex_);
  return 1 + current_->owned.size();
}

TlsConnection S2sTls::accept() const {
  std::shared_ptr<const Set> set;
  {
    std::lock_guard lock(mutex_);
    set = current_;
  }
  SSL* ssl = SSL_new(set->fallback.get());
  if (!ssl) throw std::runtime_error("S2S TLS: SSL_new failed: " + openssl_error());
  SSL_set_accept_state(ssl);
  return TlsConnection(ssl, std::move(set));
}

TlsConnection S2sTls::connect(std::string_view local_domain, std::string_view remote_domain,
                              bool direct_tls) const {
  std::shared_ptr<const Set> set;
  {
    std::lock_guard lock(mutex_);
    set = current_;
  }
  SSL* ssl = SSL_new(set->find(lower(local_domain)));
  if (!ssl) throw std::runtime_error("S2S TLS: SSL_new failed: " + openssl_error());
  TlsConnection conn(ssl, std::move(set));
  SSL_set_connect_state(ssl);
  if (SSL_set_tlsext_host_name(ssl, std::string(remote_domain).c_str()) != 1)
    throw std::runtime_error("S2S TLS: bad server name " + std::string(remote_domain));
  if (direct_tls && SSL_set_alpn_protos(ssl, kAlpn, sizeof kAlpn - 1) != 0)  // 0 is success
    throw std::runtime_error("S2S TLS: SSL_set_alpn_protos failed: " + openssl_error());
  return conn;
}

PeerCertificate describe(X509* cert) {
  PeerCertificate out;
  if (!cert) return out;
  out.present = true;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  out.has_san = names != nullptr;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      if (auto id = text_of(name->d.dNSName); !id.empty()) out.dns_ids.push_back(lower(id));
      continue;
    }
    if (name->type != GEN_OTHERNAME) continue;
    const OTHERNAME* other = name->d.otherName;
    const ASN1_TYPE* value = other->value;
    if (!value || (value->type != V_ASN1_UTF8STRING && value->type != V_ASN1_IA5STRING)) continue;
    std::string id = text_of(value->value.asn1_string);
    if (id.empty()) continue;
    int nid = OBJ_obj2nid(other->type_id);
    if (nid == NID_SRVName)  // RFC 4985: IA5String
      out.srv_ids.push_back(lower(id));
    else if (nid == NID_XmppAddr)  // RFC 6120 §13.7.1.4: UTF8String
      out.xmpp_addrs.push_back(std::move(id));
  }
  GENERAL_NAMES_free(names);
  // RFC 6125 §6.4.4: the most specific CN, i.e. the last one of the subject.
  X509_NAME* subject = X509_get_subject_name(cert);
  int last = -1;
  for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) >= 0;) last = i;
  if (last >= 0) {
    unsigned char* utf8 = nullptr;
    int len =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, last)));
    if (len > 0) {
      std::string cn(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
      if (cn.find('\0') == std::string::npos) out.common_name = lower(cn);
    }
    OPENSSL_free(utf8);
  }
  return out;
}

PeerCertificate inspect_peer(SSL* ssl) {
  if (!ssl) return {};
  PeerCertificate out = describe(SSL_get0_peer_certificate(ssl));
  if (!out.present) return out;
  long result = SSL_get_verify_result(ssl);
  out.trusted = result == X509_V_OK;
  if (!out.trusted) out.error = X509_verify_cert_error_string(result);
  return out;
}

bool identifies(const PeerCertificate& cert, std::string_view domain_in) {
  std::string domain = lower(domain_in);
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (domain.empty() || domain.find('*') != std::string::npos) return false;
  for (const auto& id : cert.dns_ids)
    if (dns_matches(lower(id), domain)) return true;
  for (const auto& id : cert.srv_ids) {
    std::string srv = lower(id);
    if (srv == "_xmpp-server." + domain || srv == "_xmpps-server." + domain) return true;
  }
  for (const auto& addr : cert.xmpp_addrs)
    if (lower(addr) == domain) return true;
  // RFC 6125 §6.4.4: the CN only when the certificate presents no subjectAltName at all.
  bool no_sans =
      !cert.has_san && cert.dns_ids.empty() && cert.srv_ids.empty() && cert.xmpp_addrs.empty();
  return no_sans && dns_matches(lower(cert.common_name), domain);
}

}  // namespace parley::s2s
