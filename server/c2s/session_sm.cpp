// ClientSession, XEP-0198 Stream Management: <enable/>, acknowledgements both ways, and
// resumption — a session whose connection was lost waits (hibernates) and a new connection of
// the same account takes it over with everything the client had not acknowledged.
//
// Acknowledgements are durable (DESIGN §6): a stanza counts as handled when every module that
// kept its InFlight token let go, e.g. after the offline store or the archive committed it,
// so an <a h/> never covers a message that a crash could still lose.
#include <boost/asio/post.hpp>

#include <algorithm>

#include "c2s/session.h"
#include "c2s/shared.h"
#include "c2s/stream_util.h"
#include "core/log.h"
#include "core/server.h"
#include "router/registry.h"
#include "router/stanza_events.h"

namespace parley::c2s {

namespace asio = boost::asio;

namespace {

std::string sm_failed(std::string_view condition) {
  std::string out = "<failed xmlns='urn:xmpp:sm:3'><";
  out += condition;
  out += " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>";
  return out;
}

std::string ack(uint32_t h) {
  return "<a xmlns='urn:xmpp:sm:3' h='" + std::to_string(h) + "'/>";
}

bool truthy(std::string_view v) {
  return v == "true" || v == "1";  // xs:boolean
}

// a >= b for 32-bit counters that wrap (XEP-0198 §4).
bool reached(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b) >= 0;
}

}  // namespace

// What moves from the old session to the one that resumes it.
struct ClientSession::HandOver {
  Jid jid;
  std::unique_ptr<StreamManagement> sm;
  std::string sm_id;
  std::chrono::milliseconds resume_max;
};

void ClientSession::handle_sm(const xml::Element& el) {
  const auto& name = el.name();
  if (name == "enable") return handle_enable(el);
  if (name == "resume") return handle_resume(el);
  if (name == "a") return handle_ack(el);
  if (name == "r") return handle_ack_request();
  stream_error("unsupported-stanza-type", "unknown stream management element");
}

void ClientSession::handle_enable(const xml::Element& el) {
  // §3: after resource binding, and only once (a resumed stream is already enabled).
  if (!bound_ || sm_) return send(sm_failed("unexpected-request"));
  sm_ = std::make_unique<StreamManagement>();
  std::string out = "<enabled xmlns='urn:xmpp:sm:3'";
  if (truthy(el.get("resume"))) {
    // The client's 'max' is a preference; the server's limit wins (§5).
    auto max = server().config().c2s.resume_timeout;
    if (auto wanted = StreamManagement::parse_h(el.get("max")); wanted && *wanted > 0)
      max = std::min<std::chrono::milliseconds>(max, std::chrono::seconds(*wanted));
    resume_max_ = std::max<std::chrono::milliseconds>(max, std::chrono::seconds(1));
    // §5: unguessable, never reused while the server runs.
    sm_id_ = random_id(18);
    shared_->remember_resumable(sm_id_, self());
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(resume_max_).count();
    out += " id='" + sm_id_ + "' resume='true' max='" + std::to_string(seconds) + "'";
  }
  out += "/>";
  send(std::move(out));
  PLOG(Debug, "c2s") << jid_.str() << " enabled stream management"
                     << (sm_id_.empty() ? "" : " with resumption");
}

void ClientSession::handle_ack(const xml::Element& el) {
  if (!sm_) return;  // nothing was counted
  auto h = StreamManagement::parse_h(el.get("h"));
  if (!h) return stream_error("undefined-condition", "<a/> needs an 'h' counter");
  if (!sm_->acknowledge(*h)) {
    // §6: the client acknowledged more than it was sent.
    std::string detail = "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='" + std::to_string(*h) +
                         "' send-count='" + std::to_string(sm_->sent_count()) + "'/>";
    return stream_error("undefined-condition", "acknowledged more stanzas than were sent", false,
                        detail);
  }
  ack_requested_ = false;
  if (sm_->unacked() > 0) schedule_flush();  // the next request goes out with the next write
}

void ClientSession::handle_ack_request() {
  if (!sm_) return;
  // §4: answered with the number handled, once everything received before this request is.
  acks_wanted_.push_back(sm_->received_count());
  send_acks();
}

void ClientSession::send_acks() {
  while (sm_ && !acks_wanted_.empty() && reached(sm_->handled_count(), acks_wanted_.front())) {
    acks_wanted_.erase(acks_wanted_.begin());
    if (!closing_ && !finished_) send(ack(sm_->handled_count()));
  }
}

void ClientSession::stanza_handled(uint32_t seq) {
  if (!sm_) return;
  sm_->handled(seq);
  send_acks();
  if (successor_ && !handed_over_ && sm_->all_handled()) complete_hand_over();
}

// ---- Resumption (§5) ----

void ClientSession::handle_resume(const xml::Element& el) {
  // After authentication, instead of binding (§5); never twice.
  if (bound_ || sm_ || resuming_) return send(sm_failed("unexpected-request"));
  auto h = StreamManagement::parse_h(el.get("h"));
  if (!h) return send(sm_failed("bad-request"));
  auto old = shared_->find_resumable(std::string(el.get("previd")));
  // §9: only the account that owns the session may resume it; another account learns nothing
  // more than for an id that does not exist.
  if (!old || old.get() == this || old->jid().bare_str() != account_) {
    PLOG(Info, "c2s") << account_ << " from " << remote_ << " tried to resume an unknown session";
    return send(sm_failed("item-not-found"));
  }
  resuming_ = true;
  auto strand = old->strand_;
  asio::post(strand,
             [old, self = self(), h = *h]() mutable { old->hand_over(std::move(self), h); });
}

// On the old session's strand: the client is back on `successor`, having received h stanzas.
void ClientSession::hand_over(std::shared_ptr<ClientSession> successor, uint32_t h) {
  auto refuse = [&successor](std::string condition) {
    auto strand = successor->strand_;
    asio::post(strand, [successor, condition = std::move(condition)] {
      successor->resume_failed(condition);
    });
  };
  if (ended_ || successor_ || !sm_ || sm_id_.empty()) return refuse("item-not-found");
  if (!sm_->acknowledge(h)) {
    // The client claims stanzas it was never sent (§6): the two sides disagree, so the
    // session is not resumed; what it held goes elsewhere.
    PLOG(Warn, "c2s") << jid_.str() << " resumed with h=" << h << " above the " << sm_->sent_count()
                      << " stanzas sent; ending the session";
    refuse("unexpected-request");
    return end_session();
  }
  successor_ = std::move(successor);
  if (hibernating_) {
    hibernating_ = false;
    shared_->hibernating.dec();
    ++timer_generation_;
    timer_.cancel();
  }
  // §5: an old stream that is still open is closed with a conflict.
  if (!finished_) stream_error("conflict", "the session was resumed on another connection");
  // Stanzas the client sent on the old stream are counted in the 'h' of <resumed/>: wait
  // until each is handled (committed) before handing the counters over.
  if (sm_->all_handled()) complete_hand_over();
}

void ClientSession::complete_hand_over() {
  handed_over_ = true;
  if (finished_) shared_->untrack(id_);
  HandOver state{jid_, std::move(sm_), sm_id_, resume_max_};
  acks_wanted_.clear();
  // Posted before anything outgoing() forwards from now on, so it arrives first.
  auto strand = successor_->strand_;
  asio::post(strand, [successor = successor_, old = self(), state = std::move(state)]() mutable {
    successor->resumed(old, std::move(state));
  });
}

// On the new connection's strand: take the session over.
void ClientSession::resumed(const std::shared_ptr<ClientSession>& old, HandOver state) {
  resuming_ = false;
  jid_ = std::move(state.jid);
  take_state_from(*old);
  sm_ = std::move(state.sm);
  sm_id_ = std::move(state.sm_id);
  resume_max_ = state.resume_max;
  bound_ = true;
  server().sessions().add(shared_from_this());  // in the old one's place
  shared_->remember_resumable(sm_id_, self());
  if (finished_) {
    // This connection was lost too while the old one answered: wait for the next one.
    return hibernate();
  }
  PLOG(Info, "c2s") << "resumed " << jid_.str() << " from " << remote_ << " (" << sm_->unacked()
                    << " stanzas to send again)";
  send("<resumed xmlns='urn:xmpp:sm:3' previd='" + sm_id_ + "' h='" +
       std::to_string(sm_->handled_count()) + "'/>");
  // §5: everything the client did not acknowledge, again, counted as if sent the first time.
  for (auto& u : sm_->take_unacked()) {
    auto bytes = u.bytes;
    sm_->sent(std::move(u));
    shared_->out.inc();
    send(std::move(bytes));
  }
  arm_keepalive(std::chrono::milliseconds(0));
  SessionResumed event{server(), shared_from_this(), old};
  server().hooks().fire(event);
  replay_held_input();
}

void ClientSession::resume_failed(std::string_view condition) {
  resuming_ = false;
  if (finished_) {
    shared_->untrack(id_);
    return;
  }
  // §5: the client may bind a resource now, on this stream.
  send(sm_failed(condition));
  replay_held_input();
}

void ClientSession::replay_held_input() {
  auto held = std::move(held_input_);
  held_input_.clear();
  for (auto& el : held) {
    if (closing_ || finished_) return;
    on_element(std::move(el));
  }
}

// The connection is gone but the stream was not closed cleanly: keep the session (still
// registered, still available to its contacts, queueing what arrives) for resume_max_.
void ClientSession::hibernate() {
  hibernating_ = true;
  detached = true;
  shared_->hibernating.inc();
  PLOG(Info, "c2s") << jid_.str() << " from " << remote_ << ": connection lost; session kept "
                    << std::chrono::duration_cast<std::chrono::seconds>(resume_max_).count()
                    << " s for resumption";
  arm_timer(resume_max_, TimerPurpose::Hibernate);
  // No connection to parse any more: a resumption continues on the new connection's session.
  compact();
}

}  // namespace parley::c2s
