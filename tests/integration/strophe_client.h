// A libstrophe client for the integration tests: a real, independent XMPP client library does
// STARTTLS, SASL and resource binding; the test then sends stanza text and waits for what
// arrives. All clients share one libstrophe context, so waiting on one keeps every
// connection serviced. Waits are bounded: the bound fails the test, it is never the assertion.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness.h"
#include "xml_reader.h"

struct _xmpp_conn_t;

namespace parley::it {

class StropheClient {
 public:
  // `jid` may carry a resource to request at bind time. `stream_management`: let libstrophe
  // enable XEP-0198 (acks and resumption) as it does by default for applications.
  StropheClient(std::string jid, std::string password, uint16_t port,
                bool stream_management = false);
  ~StropheClient();
  StropheClient(const StropheClient&) = delete;
  StropheClient& operator=(const StropheClient&) = delete;

  // Connects and waits until bound (true) or failed (false).
  bool connect(Clock::time_point until = deadline());
  // Connects carrying over the XEP-0198 state of `old`, which lost its connection: libstrophe
  // resumes that session (or, if the server refuses, binds a new one and resends what `old`
  // had not seen acknowledged).
  bool connect_resuming(StropheClient& old, Clock::time_point until = deadline());
  bool connected() const { return state_ == State::Connected; }
  bool disconnected() const { return state_ == State::Disconnected; }
  const std::string& jid() const { return bound_jid_; }  // the full JID the server bound
  std::string bare() const;
  // The stream error condition that ended the connection, as libstrophe reported it.
  const std::string& stream_error() const { return stream_error_; }

  void send(const std::string& xml);
  // Waits for an unconsumed received stanza matching `pred`; consumes and returns it.
  std::optional<Node> wait_for(const std::function<bool(const Node&)>& pred,
                               Clock::time_point until = deadline());
  // Sends an IQ (its id attribute must be set) and waits for the reply with that id.
  std::optional<Node> iq(const std::string& xml, Clock::time_point until = deadline());
  std::string next_id();
  // True if some unconsumed stanza matches (no waiting; pump first if needed).
  bool has(const std::function<bool(const Node&)>& pred) const;
  const std::vector<Node>& received() const { return received_; }
  // Answers requests the moment they arrive, also while the test waits on another client (a
  // PEP service asks a contact's client for its XEP-0115 disco#info whenever it sees an unknown
  // caps ver). `reply` returns the answer's text, or "" to leave the stanza alone; an answered
  // stanza stays in received(), unconsumed, so the test can still see that it came.
  void set_responder(std::function<std::string(const Node&)> reply) {
    responder_ = std::move(reply);
  }

  // Graceful: </stream:stream>, then waits for the disconnect.
  void disconnect(Clock::time_point until = deadline());
  // Abrupt: shuts the socket down under libstrophe (no </stream:stream>).
  void drop();
  // Waits until the connection has ended (e.g. the server closed it).
  bool wait_disconnected(Clock::time_point until = deadline());

  // Services every client's connection until `cond` holds or the bound passes.
  static bool pump_until(const std::function<bool()>& cond, Clock::time_point until);

  // libstrophe callbacks (public for the C trampolines).
  void on_connection(int event, const char* stream_error_condition);
  void on_stanza(const std::string& text);
  void on_socket(int fd) { fd_ = fd; }

 private:
  enum class State { Idle, Connecting, Connected, Disconnected };
  _xmpp_conn_t* conn_ = nullptr;
  std::string requested_jid_;
  std::string password_;
  uint16_t port_;
  bool stream_management_ = false;
  State state_ = State::Idle;
  std::string bound_jid_;
  std::string stream_error_;
  std::vector<Node> received_;
  std::vector<bool> consumed_;
  std::function<std::string(const Node&)> responder_;
  int fd_ = -1;
  int next_id_ = 0;
};

// Stanza helpers.
std::string bare_of(const std::string& jid);
std::string resource_of(const std::string& jid);
// The stanza error condition (RFC 6120 §8.3) of an error reply, or "".
std::string stanza_error(const Node& stanza);

}  // namespace parley::it
