// A raw XMPP client that speaks XEP-0198 stream management itself, so tests know exactly which
// stanzas each side has acknowledged: the stream management tests and the crash test use it.
// Built on RawClient; every wait is bounded.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raw_client.h"

namespace parley::it {

inline const std::string kNsSm = "urn:xmpp:sm:3";

class SmClient {
 public:
  // Connects to 127.0.0.1:port; `direct_tls`: TLS from the first byte (XEP-0368 listener).
  explicit SmClient(uint16_t port, bool direct_tls = false);

  RawClient& raw() { return *raw_; }

  // STARTTLS (or direct TLS), SCRAM-SHA-256, bind. Returns the bound JID or "".
  std::string login(const std::string& user, const std::string& password,
                    const std::string& resource = "");
  // Sends <enable/> (resume='true' unless told otherwise) and waits for the answer: the
  // <enabled/> (its id is kept) or the <failed/>.
  std::optional<Node> enable(bool resume = true, const std::string& max = "");
  const std::string& sm_id() const { return sm_id_; }

  // Authenticates on this (new) connection and sends <resume previd h/> instead of binding;
  // returns <resumed/> or <failed/>. On success the counters continue from `h` (received) and
  // the server's 'h' (sent), as XEP-0198 §5 says.
  std::optional<Node> resume(const std::string& user, const std::string& password,
                             const std::string& previd, uint32_t h);

  // ---- Outbound ----
  // Sends a stanza and counts it; `id` (its id attribute, read from the XML) is remembered
  // until the server's 'h' covers it.
  void send_stanza(const std::string& xml);
  void request_ack();  // <r/>
  // Reads (handling what arrives) until the server's 'h' covers `count` stanzas; returns the
  // last 'h' seen, or nullopt if none came within the bound.
  std::optional<uint32_t> wait_acked(uint32_t count, Clock::time_point until = deadline());
  uint32_t sent() const { return sent_; }
  uint32_t acked() const { return acked_; }
  // The ids of the stanzas sent and not yet covered by the server's 'h', oldest first.
  std::vector<std::string> unacked_ids() const;

  // ---- Inbound ----
  // The next element matching `pred`. Every stanza read on the way is counted as handled and
  // kept in received(); the server's <r/> is answered with <a h/> when auto_ack is on, and its
  // <a/> is recorded.
  std::optional<Node> wait_for(const std::function<bool(const Node&)>& pred,
                               Clock::time_point until = deadline());
  // Reads until the connection ends or the bound passes, handling everything.
  void drain(Clock::time_point until);
  uint32_t handled() const { return handled_; }
  void set_auto_ack(bool on) { auto_ack_ = on; }
  void send_ack() { raw_->send("<a xmlns='urn:xmpp:sm:3' h='" + std::to_string(handled_) + "'/>"); }
  const std::vector<Node>& received() const { return received_; }
  size_t ack_requests() const { return ack_requests_; }  // <r/>s the server sent

  // Closes the socket without a closing tag: a phone losing its network.
  void drop() { raw_->drop(); }

 private:
  void handle(const Node& n);
  bool open(const std::string& user, const std::string& password);

  std::unique_ptr<RawClient> raw_;
  bool direct_tls_;
  std::string sm_id_;
  uint32_t sent_ = 0, acked_ = 0, handled_ = 0;
  std::vector<std::pair<uint32_t, std::string>> outstanding_;  // (sequence, id)
  std::vector<Node> received_;
  bool auto_ack_ = true;
  size_t ack_requests_ = 0;
};

}  // namespace parley::it
