// parley-bench: one XMPP client connection as a small state machine on a single-threaded
// io_context (no thread per connection). It logs in the way a modern client does on a fresh
// connection: direct TLS (XEP-0368), SCRAM-SHA-256 (RFC 7677, without channel binding), stream
// restart, resource binding (RFC 6120 §7), initial presence (RFC 6121 §4.2), and a ping
// (XEP-0199) whose answer proves the server has processed everything before it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::bench {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Microseconds on the steady clock: the stamp a message carries and the delivery time it is
// compared with (sender and receiver live in this one process, so one clock serves both).
int64_t now_us();

// Splits the server's byte stream into the stream header and top-level elements (RFC 6120
// §4.2: every stanza is a direct child of <stream:stream>). It only tracks tag depth, honouring
// quoted attribute values; it is not a general XML parser, and needs none: the server is the
// one under test, not the generator, and it serializes well-formed XML.
class ElementSplitter {
 public:
  enum class Event { None, StreamOpen, Element, StreamClose };
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // Next event; `element` is valid until the next call to next() or feed().
  Event next(std::string_view& element);
  void reset() {
    buf_.clear();
    pos_ = 0;
    depth_ = 0;
    start_ = std::string::npos;
  }

 private:
  std::string buf_;
  size_t pos_ = 0;
  int depth_ = 0;
  size_t start_ = std::string::npos;  // start of the top-level element being read
};

// Helpers on one serialized element.
std::string_view element_name(std::string_view el);  // "message", "iq", ...
std::optional<std::string> attribute(std::string_view el, std::string_view name);   // start tag
std::optional<std::string> child_text(std::string_view el, std::string_view name);  // <name>text<
std::string xml_escape(std::string_view s);

// Client side of SCRAM-SHA-256 (RFC 5802 §3, RFC 7677). SaltedPassword is cached per (salt,
// iterations): PBKDF2 then runs once for thousands of accounts that share one salt.
class ScramSha256Client {
 public:
  ScramSha256Client(std::string username, std::string password);
  std::string client_first();  // the SASL initial response, gs2 header "n,," (no binding)
  std::optional<std::string> client_final(std::string_view server_first);  // nullopt: bad
  bool verify_server_final(std::string_view server_final) const;           // "v=" matches

 private:
  std::string username_, password_, client_nonce_, client_first_bare_, server_signature_;
};

struct ClientOptions {
  std::string domain;  // the XMPP host, also the TLS SNI name
  asio::ip::tcp::endpoint server;
  std::string password;
  std::string resource = "bench";
  // XEP-0198 as a mobile client uses it: <enable resume='true'/> after binding, the server's
  // <r/> answered with the count of stanzas received.
  bool stream_management = false;
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  // ok=false: `error` says where the login failed.
  using ReadyHandler = std::function<void(Client&, bool ok, const std::string& error)>;
  using StanzaHandler = std::function<void(Client&, std::string_view element)>;
  using ClosedHandler = std::function<void(Client&, const std::string& why)>;

  Client(asio::io_context& io, asio::ssl::context& tls, const ClientOptions& options,
         std::string username, asio::ip::address source);
  void start(ReadyHandler on_ready);
  // After login: every stanza except pings (answered here) and presence.
  void on_stanza(StanzaHandler h) { on_stanza_ = std::move(h); }
  // After login: presence stanzas (a group chat's occupants); dropped when no handler is set.
  void on_presence(StanzaHandler h) { on_presence_ = std::move(h); }
  // Called once when an established session ends without close() having been asked for.
  void on_closed(ClosedHandler h) { on_closed_ = std::move(h); }
  void send(std::string_view data);
  // Sends `n` stanzas (counted for XEP-0198 once it is enabled).
  void send_stanzas(std::string_view data, unsigned n);
  // XEP-0198: stanzas sent since <enabled/>, and the server's <a h/> as it arrives.
  uint32_t sm_sent() const { return sm_sent_; }
  bool sm_enabled() const { return sm_enabled_; }
  void on_ack(std::function<void(Client&, uint32_t h)> h) { on_ack_ = std::move(h); }
  // XEP-0198 §5, before start(): on this new connection, resume the session `previd` of an
  // earlier connection (which had received `h` stanzas, bound as `full_jid`) instead of
  // binding; if the server answers <failed/>, bind a fresh session as usual. resumed() tells.
  void resume_from(std::string previd, uint32_t h, std::string full_jid) {
    resume_previd_ = std::move(previd);
    resume_h_ = h;
    full_jid_ = std::move(full_jid);
  }
  bool resumed() const { return resumed_; }
  const std::string& sm_id() const { return sm_id_; }  // <enabled id/>, empty: not resumable
  uint32_t sm_handled() const { return sm_handled_; }  // the 'h' to resume with
  // Graceful end (RFC 6120 §4.4): </stream:stream>, then the socket once the server answers.
  void close();
  void abort();  // the socket, now

  const std::string& full_jid() const { return full_jid_; }
  const std::string& bare_jid() const { return bare_jid_; }
  bool ready() const { return state_ == State::Ready; }
  bool finished() const { return state_ == State::Closed; }
  Clock::duration login_time() const { return ready_at_ - started_at_; }

 private:
  enum class State {
    Idle,
    Connecting,
    Handshake,
    AwaitFeatures,
    AwaitChallenge,
    AwaitSuccess,
    AwaitFeatures2,
    AwaitBind,
    AwaitResume,
    AwaitPing,
    Ready,
    Closing,
    Closed
  };
  void fail(const std::string& why);
  void read();
  void write();
  void on_element(std::string_view el);
  void on_ready_element(std::string_view el);
  void open_stream();
  void bind();

  asio::ssl::stream<asio::ip::tcp::socket> stream_;
  const ClientOptions& options_;
  std::string username_, bare_jid_, full_jid_;
  asio::ip::address source_;
  State state_ = State::Idle;
  ElementSplitter splitter_;
  std::optional<ScramSha256Client> scram_;
  std::vector<char> rbuf_;
  std::string out_pending_, out_writing_;
  bool writing_ = false;
  ReadyHandler on_ready_;
  StanzaHandler on_stanza_, on_presence_;
  ClosedHandler on_closed_;
  Clock::time_point started_at_, ready_at_;
  bool sm_enabled_ = false;
  uint32_t sm_handled_ = 0;  // stanzas received since <enabled/> (XEP-0198 'h')
  uint32_t sm_sent_ = 0;     // stanzas sent since <enabled/>
  std::string sm_id_, resume_previd_;
  uint32_t resume_h_ = 0;
  bool resumed_ = false;
  std::function<void(Client&, uint32_t)> on_ack_;
};

// TLS client context: TLS 1.3, ALPN "xmpp-client" (XEP-0368 §3), no certificate verification
// (the benchmark server uses a throwaway self-signed certificate).
asio::ssl::context make_client_tls();

}  // namespace parley::bench
