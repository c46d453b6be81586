// Presence (RFC 6121 §4) and subscription processing (§3): broadcast of a session's presence to
// its subscribers, probes and their answers, directed presence, and the outbound and inbound
// halves of the subscription state machine (im/subscription.h) wired to the roster store.
#pragma once

#include <vector>

#include "core/events.h"
#include "jid/jid.h"

namespace parley {
class Server;
}

namespace parley::im {

// Sends the current presence of each available resource of `user` to `to` (§3.1.5, §4.3.2).
void send_current_presence(Server& server, const Jid& user, const Jid& to);
// Sends unavailable presence from each available resource of `user` to `to` (§3.2.2, §3.3.3).
void send_unavailable(Server& server, const Jid& user, const Jid& to);

// The presence hooks: StanzaFromClient (outbound subscriptions, directed presence),
// PresenceToBare / PresenceToFull (broadcast, probes, inbound subscriptions), SessionClosed.
std::vector<HookToken> register_presence(Server& server);

// Priority of the IM handlers: after modules (blocking, carbons), before the core's defaults.
inline constexpr int kImPriority = priority::kDefault + 100;

}  // namespace parley::im
