// A stanza's way through the router, suspended by a handler that has to wait (DESIGN §4): one
// that cannot decide without the database (is the contact in the roster? what does the
// account's blocklist say?) calls suspend(event), starts the work, and returns Flow::Stop.
// When the work is done, on any thread, it calls resume(): the handlers after it run on the
// same event, then what the router does after the last of them — after StanzaFromClient the
// stanza is routed unless a handler stopped it; after any event, a handler that threw gets the
// sender internal-server-error where a reply is due. Handlers above the one that waited do not
// run again. Or it calls fail(): answered as if it had thrown. Or neither: the stanza ends
// there, as with Flow::Stop (the handler dropped it, or answered it itself).
//
//   ctx.on<MessageToBare>(priority::kNormal, [](MessageToBare& e) {
//     auto waiting = suspend(e);
//     e.server.db().post(e.to.str(), [waiting](storage::Connection& c) {
//       if (allowed(c, waiting.event())) waiting.resume();
//     });
//     return Flow::Stop;
//   });
//
// The event is copied with its in-flight token, so the sender's XEP-0198 ack waits until
// resume() or fail() returns (or, if neither is called, until the last copy is gone). Once the
// handler has handed the continuation on it leaves the event alone: it may be resumed at once,
// on another thread, before the handler has returned. Copies of a Continuation share one
// suspension: the first resume() or fail() counts, later ones are logged and ignored.
#pragma once

#include <concepts>
#include <memory>

#include "router/stanza_events.h"

namespace parley {

class Continuation {
 public:
  // The suspended event (the handler's copy). A handler may change the stanza before resume(),
  // on the thread that resumes; the in-flight token is released once the way is finished.
  const StanzaEvent& event() const;
  // The handlers after the one that suspended, then the router's own steps after them.
  void resume() const;
  // As if the handler that suspended had thrown: internal-server-error where a reply is due.
  void fail() const;

  struct State;  // one per suspension, defined in router.cpp

 private:
  template <std::derived_from<StanzaEvent> E>
  friend Continuation suspend(E& event);
  explicit Continuation(std::shared_ptr<State> state) : state_(std::move(state)) {}
  bool claim() const;
  std::shared_ptr<State> state_;
};

// Suspends the chain of `event`: only inside one of its handlers, for the events the router
// fires (StanzaFromClient, MessageTo*, PresenceTo*, IqTo*, StanzaToRemote,
// StanzaToComponent). Throws
// std::logic_error elsewhere.
template <std::derived_from<StanzaEvent> E>
Continuation suspend(E& event);

}  // namespace parley
