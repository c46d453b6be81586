// One server-to-server stream (RFC 6120): a TCP connection, optionally TLS (STARTTLS or
// XEP-0368 direct TLS), the XML stream parser, the output queue and one timer. An actor on its
// own strand (DESIGN §2): the public methods post to it. Negotiation lives in the two roles,
// IncomingLink (incoming.cpp) and OutgoingLink (outgoing.cpp).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/transport.h"
#include "xml/stream_parser.h"

namespace parley {
class Server;
namespace s2s {

class S2s;

class Link : public std::enable_shared_from_this<Link> {
 public:
  // `socket` lives on a strand executor; that strand is the link's.
  Link(S2s& s2s, boost::asio::ip::tcp::socket socket, std::string role);
  virtual ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  uint64_t id() const { return id_; }
  // Any thread: ends the stream with a stream error (RFC 6120 §4.9), or orderly when
  // `condition` is empty.
  void close(std::string condition, std::string text = {});

 protected:
  // ---- For the roles, on the strand only ----
  S2s& s2s() const { return s2s_; }
  Server& server() const;
  const boost::asio::any_io_executor& strand() const { return strand_; }
  Transport& transport() { return transport_; }
  bool secure() const { return transport_.secure(); }
  bool finished() const { return finished_; }
  const std::string& remote_address() const { return remote_; }
  const std::string& role() const { return role_; }

  // Sets the peer address for logs once connected (outgoing), and starts reading.
  void connected();
  void start_reading();
  // Queues bytes; dropped once our </stream:stream> is queued. Past s2s.max_queue_bytes the
  // stream ends with resource-constraint.
  void send(std::string bytes);
  // Our stream header went out (stream errors before that are preceded by fallback_header()).
  void header_sent() { header_sent_ = true; }
  size_t queued_bytes() const { return out_.size() + (wbuf_.size() - wbuf_offset_); }
  // TLS on this connection (after <proceed/>, or at once for direct TLS): the handshake starts
  // once everything queued (the <proceed/>) is written, and nothing is read meanwhile. `done`
  // runs on success; a failure ends the link.
  void start_tls(TlsConnection tls, std::function<void()> done);
  // RFC 6120 §4.3.3: a new stream after TLS or SASL; the parser starts over.
  void restart_parser();
  // Sends <stream:error/> and </stream:stream>, then closes.
  void stream_error(std::string_view condition, std::string_view text = {});
  // Sends </stream:stream> and closes once the peer's arrives (or after a grace period).
  void end_stream();
  // One timer per link; a new arm replaces the previous one. The pending wait holds the link,
  // so `fn` captures `this`, never a shared_ptr to the link (that would be a cycle).
  void arm_timer(std::chrono::milliseconds delay, std::function<void()> fn);
  void cancel_timer();
  // Ends the link now, without a word to the peer (nothing was opened yet).
  void abort(std::string reason) { finalize(std::move(reason)); }
  // True once our </stream:stream> is queued.
  bool closing() const { return closing_; }

  virtual void on_open(const xml::Element& header, std::string_view default_ns) = 0;
  virtual void on_element(std::unique_ptr<xml::Element> element) = 0;
  // The link is gone (socket closed), exactly once. `reason` for logs and bounces.
  virtual void on_closed(std::string_view reason) = 0;
  // A header to send before a stream error when ours is not out yet.
  virtual std::string fallback_header() const { return {}; }

 private:
  std::shared_ptr<Link> self() { return shared_from_this(); }
  void wait_readable();
  void wait_writable();
  void on_readable();
  void read_available();
  void begin_handshake();
  void continue_handshake();
  void schedule_flush();
  void flush();
  void on_stream_close();
  void finalize(std::string reason);

  S2s& s2s_;
  boost::asio::any_io_executor strand_;
  Transport transport_;
  boost::asio::steady_timer timer_;
  xml::StreamParser parser_;
  const uint64_t id_;
  const std::string role_;  // "incoming" / "outgoing", for logs
  std::string remote_;

  std::string out_;   // queued
  std::string wbuf_;  // being written (a TLS retry must pass the same bytes)
  size_t wbuf_offset_ = 0;
  std::function<void()> tls_done_;
  std::unique_ptr<TlsConnection> tls_pending_;
  std::string after_tls_;  // queued between <proceed/> and the handshake
  bool header_sent_ = false;
  std::function<void()> timer_fn_;
  uint32_t timer_generation_ = 0;
  bool handshaking_ = false;
  bool feeding_ = false;          // inside parser_.feed(): the parser cannot be reset now
  bool restart_pending_ = false;  // reset it when feed() returns; ignore the rest until then
  bool read_waiting_ = false;
  bool write_waiting_ = false;
  bool flush_posted_ = false;
  bool read_posted_ = false;
  bool reading_ = false;
  bool closing_ = false;
  bool peer_closed_ = false;
  bool finished_ = false;
};

}  // namespace s2s
}  // namespace parley
