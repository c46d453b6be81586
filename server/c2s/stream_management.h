// XEP-0198 Stream Management bookkeeping for one session, without I/O (the session actor in
// session.cpp does the talking): the two counters, the queue of stanzas sent but not yet
// acknowledged, and which of the stanzas received have been handled. Counters are unsigned
// 32-bit and wrap from 2^32-1 to 0 (XEP-0198 §4); every comparison is modulo 2^32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xml/element.h"

namespace parley::c2s {

inline constexpr std::string_view kSmNs = "urn:xmpp:sm:3";

class StreamManagement {
 public:
  // Counters start at 0 (XEP-0198 §4); another start lets a test cross the wrap-around.
  explicit StreamManagement(uint32_t start = 0)
      : sent_(start), acked_(start), received_(start), handled_(start) {}

  struct Unacked {
    std::shared_ptr<const xml::Element> stanza;  // null for pre-serialized fan-out bytes
    std::shared_ptr<const std::string> bytes;    // as written to the client
    int64_t sent_at_ms = 0;                      // Unix ms, for the XEP-0203 stamp on reroute
  };

  // ---- Outbound: what the server sent ----

  // A stanza was sent to the client (or queued for it while the connection is gone).
  void sent(Unacked stanza);
  // The client's 'h' (<a/> or <resume/>): forgets every stanza it covers. False when h
  // acknowledges more than was sent (§6 handled-count-too-high); nothing changes then.
  bool acknowledge(uint32_t h);
  uint32_t sent_count() const { return sent_; }
  uint32_t acknowledged() const { return acked_; }
  size_t unacked() const { return queue_.size() - head_; }
  // Everything still unacknowledged, oldest first; the sent counter goes back to the last
  // acknowledged value, so stanzas sent again (resumption, §5) count as if sent the first time.
  std::vector<Unacked> take_unacked();

  // ---- Inbound: what the client sent ----

  // A stanza arrived; returns its sequence number (1 for the first after <enable/>).
  uint32_t received();
  // The stanza `seq` is handled (durably: delivered, or committed where it must be). Handling
  // may finish out of order; 'h' only covers an unbroken prefix.
  void handled(uint32_t seq);
  uint32_t received_count() const { return received_; }
  uint32_t handled_count() const { return handled_; }
  bool all_handled() const { return handled_ == received_; }

  // <a h='...'/>, and the 'h' of <enabled/>, <resume/>, <resumed/> and <failed/>.
  static std::optional<uint32_t> parse_h(std::string_view text);

 private:
  void compact();

  // A vector with a head index: a deque allocates a block even when empty, and most sessions
  // hold nothing unacknowledged most of the time.
  std::vector<Unacked> queue_;
  size_t head_ = 0;
  uint32_t sent_;
  uint32_t acked_;
  uint32_t received_;
  uint32_t handled_;
  std::vector<bool> done_;  // stanzas handled_+1 .. received_: finished yet?
};

}  // namespace parley::c2s
