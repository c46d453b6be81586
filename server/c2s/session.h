// A client connection (RFC 6120): stream negotiation (STARTTLS, SASL, resource binding), then
// stanzas in and out. One actor per connection on its own strand (DESIGN §2); the public
// Session methods may be called from any thread and post to the strand. Never blocks:
// credential lookups and password checks run on database workers and post back.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "c2s/stream_management.h"
#include "net/transport.h"
#include "router/session.h"
#include "sasl/mechanism.h"
#include "xml/stream_parser.h"

namespace parley {

class Server;
class Metric;

namespace c2s {

// State shared by every connection of one Listeners instance: the server, the live-connection
// set (for close_all and the shutdown wait) and cached metrics.
struct Shared;

class ClientSession final : public Session {
 public:
  // `socket` must have been accepted on a strand executor; that strand is the session's.
  ClientSession(std::shared_ptr<Shared> shared, boost::asio::ip::tcp::socket socket,
                bool direct_tls);
  ~ClientSession() override;

  // Registers the connection and starts reading (or the TLS handshake for direct TLS).
  void start();

  void deliver(std::shared_ptr<const xml::Element> stanza) override;
  void deliver_bytes(std::shared_ptr<const std::string> bytes) override;
  void deliver_serialized(std::shared_ptr<const xml::Element> shared, std::string bytes) override;
  void close(std::string_view condition, std::string_view text = {}) override;
  std::string remote_address() const override { return remote_; }
  bool secure() const override { return secure_; }

  uint64_t id() const { return id_; }

 private:
  friend struct Handling;
  enum class TimerPurpose { None, Auth, Keepalive, Hibernate, Close };
  struct Out {
    std::shared_ptr<const std::string> shared;  // fan-out bytes, or
    std::string own;                            // bytes serialized for this session
    std::string_view view() const { return shared ? std::string_view(*shared) : own; }
  };

  std::shared_ptr<ClientSession> self() {
    return std::static_pointer_cast<ClientSession>(shared_from_this());
  }
  Server& server() const;

  // I/O (session.cpp)
  void wait_readable();
  void wait_writable();
  void on_readable();
  void read_available();
  void begin_tls();
  void continue_handshake();
  // `shared_form`: `stanza` is a fan-out's shared form without 'to' (deliver_serialized); only
  // the bytes are this client's copy, so only they are kept and rerouted.
  void outgoing(std::shared_ptr<const xml::Element> stanza, Out out, bool shared_form = false);
  void emit(std::shared_ptr<const xml::Element> stanza, Out out);
  void undeliverable(std::shared_ptr<const xml::Element> stanza,
                     std::shared_ptr<const std::string> bytes, int64_t sent_at_ms);
  void send(std::string bytes);
  void send(std::shared_ptr<const std::string> bytes);
  void queued(size_t bytes);
  void schedule_flush();
  void flush();
  void drained();
  void arm_timer(std::chrono::milliseconds delay, TimerPurpose purpose);
  void on_timer();
  // `resumable`: the session outlives the stream (XEP-0198 §5; a keepalive timeout). Any
  // other stream error ends the session with the stream.
  void stream_error(std::string_view condition, std::string_view text = {}, bool resumable = false,
                    std::string_view application = {});
  void end_stream();
  void maybe_finish();
  void finalize(bool abrupt);
  void end_session();
  void keepalive();
  // The keepalive timer, for whichever comes first: the next probe, or compacting a session
  // that has been quiet for c2s.compact_after.
  void arm_keepalive(std::chrono::milliseconds quiet);
  // Frees what a quiet session does not need until its next byte (the XML parser, buffers).
  void compact();

  // Stream management (stream_management.cpp)
  void handle_sm(const xml::Element& el);
  void handle_enable(const xml::Element& el);
  void handle_resume(const xml::Element& el);
  void handle_ack(const xml::Element& el);
  void handle_ack_request();
  void stanza_handled(uint32_t seq);
  void send_acks();
  struct HandOver;
  void hand_over(std::shared_ptr<ClientSession> successor, uint32_t h);
  void complete_hand_over();
  void resumed(const std::shared_ptr<ClientSession>& old, HandOver state);
  void resume_failed(std::string_view condition);
  void replay_held_input();
  void hibernate();

  // Negotiation (negotiation.cpp)
  void on_open(const xml::Element& header, std::string_view default_ns);
  void on_element(std::unique_ptr<xml::Element> element);
  void on_stream_close();
  void send_features();
  void handle_starttls(const xml::Element& el);
  void handle_auth(const xml::Element& el);
  void handle_response(const xml::Element& el);
  void handle_abort();
  void handle_step(sasl::Step step);
  void lookup_credentials();
  void check_password();
  void auth_succeeded(const std::string& additional);
  enum class Failure { Counted, NotCounted, Throttled };
  void auth_failed(std::string_view condition, std::string_view text,
                   Failure kind = Failure::Counted);
  void handle_unauthenticated_stanza(std::unique_ptr<xml::Element> stanza);
  void handle_bind(const xml::Element& iq);
  void handle_stanza(std::unique_ptr<xml::Element> stanza);
  void reply_error(const xml::Element& stanza, std::string_view condition,
                   std::string_view text = {});

  std::shared_ptr<Shared> shared_;
  boost::asio::any_io_executor strand_;  // the socket's strand executor
  Transport transport_;
  boost::asio::steady_timer timer_;
  xml::StreamParser parser_;
  const uint64_t id_;
  const std::string remote_;
  const bool direct_tls_;

  // Stream state (strand only).
  std::string domain_;  // the stream's 'to', normalized
  bool header_sent_ = false;
  bool stream_open_ = false;   // the client's header of the current stream arrived
  bool ignore_input_ = false;  // between <starttls/>/<success/> and the restart
  bool tls_pending_ = false;   // <proceed/> queued; TLS starts when it is written
  bool handshaking_ = false;
  std::atomic<bool> secure_{false};
  bool authenticated_ = false;
  bool bound_ = false;
  bool closing_ = false;      // our </stream:stream> is queued
  bool peer_closed_ = false;  // the client's </stream:stream> arrived
  bool finished_ = false;

  // SASL (strand only; released after authentication).
  std::unique_ptr<sasl::Mechanism> sasl_;
  std::optional<sasl::ChannelBindings> bindings_;
  std::optional<sasl::Credentials> credentials_;
  std::string account_;  // bare JID of the authenticating account
  uint32_t sasl_generation_ = 0;
  bool sasl_busy_ = false;  // waiting on a database worker
  unsigned auth_failures_ = 0;

  // Output (strand only). A vector with a head index rather than a deque: an empty deque
  // still holds a node, and idle sessions should hold nothing.
  std::vector<Out> out_;
  size_t out_head_ = 0;
  size_t out_bytes_ = 0;   // queued, including the unwritten part of wbuf_
  size_t out_offset_ = 0;  // bytes of out_.front() already written (plain TCP)
  std::string wbuf_;       // TLS: the record being written (stable across retries)
  size_t wbuf_offset_ = 0;
  bool flush_posted_ = false;
  bool write_waiting_ = false;
  bool read_waiting_ = false;
  bool read_paused_ = false;
  bool read_posted_ = false;

  // Timers (strand only): one timer, reused for every purpose.
  TimerPurpose timer_purpose_ = TimerPurpose::None;
  uint32_t timer_generation_ = 0;
  std::chrono::steady_clock::time_point last_received_;
  std::chrono::steady_clock::time_point probe_sent_{};  // keepalive probe outstanding since

  // Session lifetime beyond the stream (strand only). A bound session ends once: when its
  // stream ends for good, or when a lost connection is not resumed in time.
  bool keep_session_ = false;  // the current close leaves the session resumable
  bool hibernating_ = false;   // the connection is gone; waiting for <resume/>
  bool ended_ = false;         // unregistered, SessionClosed fired
  bool resuming_ = false;      // this connection sent <resume/> and waits for the old one
  std::vector<std::unique_ptr<xml::Element>> held_input_;  // what arrived meanwhile

  // XEP-0198 (strand only): null until <enable/>.
  std::unique_ptr<StreamManagement> sm_;
  std::string sm_id_;  // resumption id; empty = not resumable
  std::chrono::milliseconds resume_max_{0};
  bool ack_requested_ = false;         // our <r/> is unanswered
  std::vector<uint32_t> acks_wanted_;  // client <r/>s waiting for stanzas to be handled
  // Resumption from the old session's side: the connection that takes over, and whether the
  // hand-over is done (then everything for this session goes to the successor).
  std::shared_ptr<ClientSession> successor_;
  bool handed_over_ = false;
};

}  // namespace c2s
}  // namespace parley
