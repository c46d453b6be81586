#include "raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>
#include <map>

namespace parley::it {

namespace {

// A bound on any single blocking socket call, so a wedged server fails a test instead of
// hanging the suite.
constexpr int kSocketBoundSeconds = 15;

int ms_until(Clock::time_point until) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

const EVP_MD* scram_digest(const std::string& mechanism) {
  if (mechanism.rfind("SCRAM-SHA-1", 0) == 0) return EVP_sha1();
  if (mechanism.rfind("SCRAM-SHA-256", 0) == 0) return EVP_sha256();
  if (mechanism.rfind("SCRAM-SHA-512", 0) == 0) return EVP_sha512();
  return nullptr;
}

std::string hmac(const EVP_MD* md, const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string digest(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

// "a=1,b=2" -> {a:1, b:2} (RFC 5802 §5.1 attribute-value pairs).
std::map<char, std::string> scram_attrs(const std::string& msg) {
  std::map<char, std::string> out;
  size_t i = 0;
  while (i < msg.size()) {
    size_t comma = msg.find(',', i);
    std::string part = msg.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
    if (part.size() >= 2 && part[1] == '=') out[part[0]] = part.substr(2);
    if (comma == std::string::npos) break;
    i = comma + 1;
  }
  return out;
}

// RFC 5802 §5.1: ',' and '=' in a username are escaped as =2C and =3D.
std::string saslname(const std::string& user) {
  std::string out;
  for (char c : user) {
    if (c == ',')
      out += "=2C";
    else if (c == '=')
      out += "=3D";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  std::string s;
  for (char c : in)
    if (!std::isspace(static_cast<unsigned char>(c))) s += c;
  if (s == "=") return std::string();  // RFC 6120 §6.4.2: "=" is empty data
  if (s.size() % 4 != 0) return std::nullopt;
  std::string out(s.size() / 4 * 3, '\0');
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;
  if (!s.empty() && s.back() == '=') ++pad;
  if (s.size() > 1 && s[s.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

RawClient::RawClient(uint16_t port, const std::string& address) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1) {
    ::close(fd);
    return;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return;
  }
  timeval tv{kSocketBoundSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  fd_ = fd;
}

RawClient::~RawClient() {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

void RawClient::drop() {
  if (fd_ >= 0) {
    // SO_LINGER 0 would send RST; a plain close without close_notify or </stream:stream> is
    // what a phone losing its network looks like to the server once TCP notices.
    ::close(fd_);
    fd_ = -1;
  }
}

bool RawClient::send(std::string_view data) {
  if (fd_ < 0) return false;
  if (data == "</stream:stream>") sent_close_ = true;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n;
    if (ssl_) {
      n = SSL_write(ssl_, data.data() + off, static_cast<int>(data.size() - off));
    } else {
      n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    }
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

size_t RawClient::send_flood(std::string_view data) {
  constexpr size_t kChunk = 16 * 1024;
  size_t sent = 0;
  while (sent < data.size()) {
    size_t n = std::min(kChunk, data.size() - sent);
    if (!send(data.substr(sent, n))) break;
    sent += n;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) break;  // the server answered (an error) or closed
  }
  return sent;
}

bool RawClient::tls_handshake(const TlsOptions& options) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);  // self-signed test certificates
  if (options.min_version) SSL_CTX_set_min_proto_version(ctx_, options.min_version);
  if (options.max_version) SSL_CTX_set_max_proto_version(ctx_, options.max_version);
  if (!options.cert_file.empty() &&
      (SSL_CTX_use_certificate_chain_file(ctx_, options.cert_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx_, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1))
    return false;
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  if (!options.sni.empty()) SSL_set_tlsext_host_name(ssl_, options.sni.c_str());
  if (!options.alpn.empty()) {
    std::string wire;
    for (const auto& p : options.alpn) wire += static_cast<char>(p.size()) + p;
    SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  if (SSL_connect(ssl_) != 1) {
    ERR_clear_error();
    return false;
  }
  return true;
}

x509_st* RawClient::peer_certificate() const {
  return ssl_ ? SSL_get0_peer_certificate(ssl_) : nullptr;
}

std::string RawClient::alpn_selected() const {
  const unsigned char* p = nullptr;
  unsigned len = 0;
  if (ssl_) SSL_get0_alpn_selected(ssl_, &p, &len);
  return p ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

std::string RawClient::channel_binding(const std::string& type) const {
  if (!ssl_) return {};
  if (type == "tls-exporter") {
    // RFC 9266 §2: 32 bytes, label "EXPORTER-Channel-Binding", empty context.
    unsigned char out[32];
    static const char label[] = "EXPORTER-Channel-Binding";
    if (SSL_export_keying_material(ssl_, out, sizeof out, label, sizeof label - 1, nullptr, 0, 0) !=
        1)
      return {};
    return std::string(reinterpret_cast<char*>(out), sizeof out);
  }
  if (type == "tls-server-end-point") {
    // RFC 5929 §4.1: hash of the server certificate with its signature's hash, SHA-256 when
    // that is MD5 or SHA-1.
    X509* cert = SSL_get0_peer_certificate(ssl_);
    if (!cert) return {};
    int md_nid = NID_undef;
    X509_get_signature_info(cert, &md_nid, nullptr, nullptr, nullptr);
    if (md_nid == NID_md5 || md_nid == NID_sha1 || md_nid == NID_undef) md_nid = NID_sha256;
    const EVP_MD* md = EVP_get_digestbynid(md_nid);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    X509_digest(cert, md, out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
  }
  return {};
}

bool RawClient::read_more(Clock::time_point until) {
  if (fd_ < 0 || eof_) return false;
  char buf[16384];
  if (!(ssl_ && SSL_pending(ssl_) > 0)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms_until(until)) <= 0) return false;
  }
  ssize_t n = ssl_ ? SSL_read(ssl_, buf, sizeof buf) : ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    ERR_clear_error();
    eof_ = true;
    return false;
  }
  reader_.feed(buf, static_cast<size_t>(n));
  return true;
}

std::optional<Node> RawClient::next_element(Clock::time_point until) {
  if (!pending_.empty()) {
    Node n = std::move(pending_.front());
    pending_.erase(pending_.begin());
    return n;
  }
  while (true) {
    auto ev = reader_.next();
    switch (ev.kind) {
      case StreamReader::Kind::StreamOpen:
        header_ = ev.node;
        continue;
      case StreamReader::Kind::StreamClose:
        stream_closed_ = true;
        return std::nullopt;
      case StreamReader::Kind::Element:
        last_ = ev.node;
        return ev.node;
      case StreamReader::Kind::None:
        if (stream_closed_) return std::nullopt;
        if (!read_more(until)) return std::nullopt;
    }
  }
}

std::optional<Node> RawClient::wait_for(const std::function<bool(const Node&)>& pred,
                                        Clock::time_point until) {
  while (auto n = next_element(until)) {
    if (pred(*n)) return n;
    skipped_.push_back(*n);
  }
  return std::nullopt;
}

std::optional<Node> RawClient::wait_for_id(const std::string& id, Clock::time_point until) {
  return wait_for([&](const Node& n) { return n.attr("id") == id; }, until);
}

std::string RawClient::stream_error(Clock::time_point until) {
  auto n = wait_for([](const Node& e) { return e.is("error", kNsStream); }, until);
  return n ? n->condition(kNsStreams) : std::string();
}

bool RawClient::wait_eof(Clock::time_point until) {
  while (!eof_) {
    for (auto ev = reader_.next(); ev.kind != StreamReader::Kind::None; ev = reader_.next())
      if (ev.kind == StreamReader::Kind::StreamClose) stream_closed_ = true;
    // RFC 6120 §4.4: answer the server's closing tag with ours, as a client would; the server
    // may otherwise wait a while for it before closing TCP.
    if (stream_closed_ && !sent_close_) send("</stream:stream>");
    if (!read_more(until) && !eof_) return false;
  }
  return true;
}

void RawClient::send_stream_header(const std::string& to, const std::string& ns,
                                   const std::string& stream_ns) {
  send("<?xml version='1.0'?><stream:stream xmlns='" + ns + "' xmlns:stream='" + stream_ns +
       "' to='" + to + "' version='1.0' xml:lang='en'>");
}

std::optional<Node> RawClient::open_stream(const std::string& to, const std::string& ns,
                                           const std::string& stream_ns) {
  send_stream_header(to, ns, stream_ns);
  auto f = next_element();
  if (!f) return std::nullopt;
  if (!f->is("features", kNsStream)) {
    pending_.push_back(*f);  // e.g. a stream error, for stream_error() to find
    return std::nullopt;
  }
  features_ = *f;
  return f;
}

void RawClient::restart_stream() {
  reader_.restart();
}

bool RawClient::starttls(const std::string& domain, const TlsOptions& options) {
  if (!open_stream(domain)) return false;
  if (!features_.child("starttls", kNsTls)) return false;
  send("<starttls xmlns='" + kNsTls + "'/>");
  auto r = next_element();
  if (!r || !r->is("proceed", kNsTls)) return false;
  TlsOptions o = options;
  if (o.sni.empty()) o.sni = domain;
  if (!tls_handshake(o)) return false;
  reader_.restart();  // RFC 6120 §5.4.3.3: a new stream over TLS
  return open_stream(domain).has_value();
}

AuthResult RawClient::auth_plain(const std::string& user, const std::string& password) {
  std::string msg = std::string("\0", 1) + user + std::string("\0", 1) + password;
  send("<auth xmlns='" + kNsSasl + "' mechanism='PLAIN'>" + base64_encode(msg) + "</auth>");
  AuthResult r;
  auto n = next_element();
  if (!n) return r.detail = "no reply to <auth/>", r;
  if (n->is("success", kNsSasl)) {
    r.success = true;
    reader_.restart();
  } else if (n->is("failure", kNsSasl)) {
    r.condition = n->condition(kNsSasl);
  } else {
    r.detail = "unexpected " + n->raw;
  }
  return r;
}

AuthResult RawClient::auth_scram(const std::string& mechanism, const std::string& user,
                                 const std::string& password, const std::string& cb_type) {
  AuthResult r;
  const EVP_MD* md = scram_digest(mechanism);
  if (!md) return r.detail = "unknown mechanism " + mechanism, r;
  bool plus = mechanism.size() > 5 && mechanism.compare(mechanism.size() - 5, 5, "-PLUS") == 0;
  // RFC 5802 §7 gs2-header: "p=<type>" when binding, "y" when the client could bind but
  // thinks the server cannot, "n" when it does not support binding.
  std::string gs2 = plus ? "p=" + cb_type + ",," : (cb_type == "y" ? "y,," : "n,,");
  unsigned char rnd[18];
  RAND_bytes(rnd, sizeof rnd);
  std::string nonce = base64_encode(std::string_view(reinterpret_cast<char*>(rnd), sizeof rnd));
  std::string client_first_bare = "n=" + saslname(user) + ",r=" + nonce;
  send("<auth xmlns='" + kNsSasl + "' mechanism='" + mechanism + "'>" +
       base64_encode(gs2 + client_first_bare) + "</auth>");

  auto n = next_element();
  if (!n) return r.detail = "no reply to <auth/>", r;
  if (n->is("failure", kNsSasl)) return r.condition = n->condition(kNsSasl), r;
  if (!n->is("challenge", kNsSasl)) return r.detail = "expected <challenge/>: " + n->raw, r;
  auto server_first = base64_decode(n->text);
  if (!server_first) return r.detail = "challenge is not base64", r;
  auto a = scram_attrs(*server_first);
  if (a['r'].rfind(nonce, 0) != 0 || a['r'].size() <= nonce.size())
    return r.detail = "server nonce does not extend ours: " + *server_first, r;
  auto salt = base64_decode(a['s']);
  int iterations = std::atoi(a['i'].c_str());
  if (!salt || iterations <= 0) return r.detail = "bad salt or iterations: " + *server_first, r;

  std::string cbind_input = gs2;
  if (plus) {
    std::string cb = cb_override_ ? *cb_override_ : channel_binding(cb_type);
    if (cb.empty()) return r.detail = "no channel binding data for " + cb_type, r;
    cbind_input += cb;
  }
  std::string without_proof = "c=" + base64_encode(cbind_input) + ",r=" + a['r'];

  // RFC 5802 §3.
  std::string salted(static_cast<size_t>(EVP_MD_get_size(md)), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt->data()),
                    static_cast<int>(salt->size()), iterations, md, static_cast<int>(salted.size()),
                    reinterpret_cast<unsigned char*>(salted.data()));
  std::string client_key = hmac(md, salted, "Client Key");
  std::string stored_key = digest(md, client_key);
  std::string auth_message = client_first_bare + "," + *server_first + "," + without_proof;
  std::string client_signature = hmac(md, stored_key, auth_message);
  std::string proof = client_key;
  for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= client_signature[i];
  std::string server_signature = hmac(md, hmac(md, salted, "Server Key"), auth_message);

  send("<response xmlns='" + kNsSasl + "'>" +
       base64_encode(without_proof + ",p=" + base64_encode(proof)) + "</response>");
  n = next_element();
  if (!n) return r.detail = "no reply to <response/>", r;
  if (n->is("failure", kNsSasl)) return r.condition = n->condition(kNsSasl), r;
  std::string final_data;
  if (n->is("challenge", kNsSasl)) {
    // RFC 6120 §6.4.6 allows the server-final message as a challenge with an empty response.
    final_data = base64_decode(n->text).value_or("");
    send("<response xmlns='" + kNsSasl + "'/>");
    n = next_element();
    if (!n) return r.detail = "no reply after server-final", r;
  }
  if (!n->is("success", kNsSasl)) return r.detail = "expected <success/>: " + n->raw, r;
  if (final_data.empty()) final_data = base64_decode(n->text).value_or("");
  auto f = scram_attrs(final_data);
  if (f['v'] != base64_encode(server_signature))
    return r.detail = "server signature mismatch (server-final '" + final_data + "')", r;
  r.success = true;
  reader_.restart();  // RFC 6120 §6.4.6: restart the stream
  return r;
}

std::string RawClient::bind(const std::string& resource) {
  std::string id = "bind" + std::to_string(++next_id_);
  std::string body = resource.empty() ? "<bind xmlns='" + kNsBind + "'/>"
                                      : "<bind xmlns='" + kNsBind + "'><resource>" +
                                            xml_escape(resource) + "</resource></bind>";
  send("<iq type='set' id='" + id + "'>" + body + "</iq>");
  auto n = wait_for_id(id);
  if (!n || n->attr("type") != "result") return {};
  const Node* jid = n->find("jid", kNsBind);
  return jid ? jid->text : std::string();
}

std::string RawClient::login(const std::string& user, const std::string& password,
                             const std::string& resource, const std::string& domain) {
  if (!connected() || !starttls(domain)) return {};
  if (!auth_scram("SCRAM-SHA-256", user, password).success) return {};
  if (!open_stream(domain)) return {};
  return bind(resource);
}

}  // namespace parley::it
