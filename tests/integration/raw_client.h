// A raw XMPP client over a blocking loopback socket (plain or OpenSSL TLS), for what libstrophe
// cannot do: choose a SASL mechanism and channel binding, direct TLS with ALPN and SNI, send
// garbage and observe the exact stream error and the stream close. Every read is bounded by a
// deadline that counts as failure, never as the thing asserted.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness.h"
#include "xml_reader.h"

struct ssl_st;
struct ssl_ctx_st;
struct x509_st;

namespace parley::it {

inline const std::string kNsClient = "jabber:client";
inline const std::string kNsStream = "http://etherx.jabber.org/streams";
inline const std::string kNsStreams = "urn:ietf:params:xml:ns:xmpp-streams";
inline const std::string kNsStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline const std::string kNsTls = "urn:ietf:params:xml:ns:xmpp-tls";
inline const std::string kNsSasl = "urn:ietf:params:xml:ns:xmpp-sasl";
inline const std::string kNsBind = "urn:ietf:params:xml:ns:xmpp-bind";
inline const std::string kNsSaslCb = "urn:xss:sasl-cb:0";  // XEP-0440

struct TlsOptions {
  std::string sni;                // server name indication; empty = none
  std::vector<std::string> alpn;  // e.g. {"xmpp-client"} (XEP-0368)
  int min_version = 0;            // e.g. TLS1_3_VERSION; 0 = library default
  int max_version = 0;
  std::string cert_file = {},
              key_file = {};  // a client certificate (s2s SASL EXTERNAL); empty = none
};

struct AuthResult {
  bool success = false;
  std::string condition;  // the SASL failure condition (RFC 6120 §6.5)
  std::string detail;     // what went wrong on the client side, for messages
};

class RawClient {
 public:
  // Connects TCP to address:port (IPv4 loopback). connected() tells whether that worked.
  explicit RawClient(uint16_t port, const std::string& address = "127.0.0.1");
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends bytes (over TLS once negotiated). False if the peer is gone.
  bool send(std::string_view data);
  // Sends a large payload in chunks, stopping early once the server has answered or closed
  // (it may stop reading after a stream error). Returns the number of bytes sent.
  size_t send_flood(std::string_view data);
  // Client TLS handshake on the current socket (after <proceed/>, or at once for direct TLS).
  bool tls_handshake(const TlsOptions& options);
  ssl_st* ssl() const { return ssl_; }
  x509_st* peer_certificate() const;  // owned by the SSL object
  std::string alpn_selected() const;

  // Sends the stream header and waits for the server's header and <stream:features/>.
  // Returns the features, or nullopt (the server's reply, e.g. a stream error, is in last()).
  std::optional<Node> open_stream(const std::string& to = kHost, const std::string& ns = kNsClient,
                                  const std::string& stream_ns = kNsStream);
  void send_stream_header(const std::string& to = kHost, const std::string& ns = kNsClient,
                          const std::string& stream_ns = kNsStream);
  const Node& stream_header() const { return header_; }
  // Starts reading a new stream (after a TLS handshake or SASL success done by hand).
  void restart_stream();

  // The next top-level element; nullopt when the deadline passes, the stream closes or the
  // connection ends (see stream_closed() / eof()).
  std::optional<Node> next_element(Clock::time_point until = deadline());
  // The next element matching `pred`; others are kept in skipped().
  std::optional<Node> wait_for(const std::function<bool(const Node&)>& pred,
                               Clock::time_point until = deadline());
  std::optional<Node> wait_for_id(const std::string& id, Clock::time_point until = deadline());
  const std::vector<Node>& skipped() const { return skipped_; }
  const Node& last() const { return last_; }

  // Reads until a stream error arrives; returns its defined condition ("" if none came).
  std::string stream_error(Clock::time_point until = deadline());
  // True once the server sent </stream:stream>.
  bool stream_closed() const { return stream_closed_; }
  // Reads until the server closes the TCP connection (EOF); true if it did within the bound.
  bool wait_eof(Clock::time_point until = deadline());
  bool eof() const { return eof_; }

  // RFC 6120 §5.4: <starttls/>, <proceed/>, handshake (SNI = domain), stream restart.
  bool starttls(const std::string& domain = kHost, const TlsOptions& options = {});
  AuthResult auth_plain(const std::string& user, const std::string& password);
  // RFC 5802 / RFC 7677 client. For "-PLUS" mechanisms, cb_type is "tls-exporter" (RFC 9266)
  // or "tls-server-end-point" (RFC 5929). For non-PLUS, cb_type "y" sends the "y" GS2 flag.
  AuthResult auth_scram(const std::string& mechanism, const std::string& user,
                        const std::string& password, const std::string& cb_type = "");
  // Resource binding (RFC 6120 §7); empty resource asks the server to pick. Returns the JID.
  std::string bind(const std::string& resource = "");
  // Connect + STARTTLS + SCRAM-SHA-256 + restart + bind. Returns the bound JID or "".
  std::string login(const std::string& user, const std::string& password,
                    const std::string& resource = "", const std::string& domain = kHost);
  const Node& features() const { return features_; }

  // Closes the socket without </stream:stream> or TLS close_notify (an abrupt disconnect).
  void drop();

  // Channel binding data for the current TLS connection.
  std::string channel_binding(const std::string& type) const;
  // Sends this instead of the real binding data in the next SCRAM -PLUS exchange.
  void set_channel_binding_override(std::string data) { cb_override_ = std::move(data); }

 private:
  bool read_more(Clock::time_point until);

  int fd_ = -1;
  ssl_ctx_st* ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  StreamReader reader_;
  Node header_;
  Node features_;
  Node last_;
  std::vector<Node> skipped_;
  std::vector<Node> pending_;  // read but handed back (open_stream's non-features reply)
  bool sent_close_ = false;
  bool stream_closed_ = false;
  bool eof_ = false;
  int next_id_ = 0;
  std::optional<std::string> cb_override_;
};

std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace parley::it
