// Events the group chat module fires for other modules (DESIGN §4: events are C++ types). A
// module includes this header and registers with ctx.on<muc::...>(priority, handler); it does
// not need to depend on muc (an event nobody fires is simply never seen).
#pragma once

#include <memory>
#include <string_view>

#include "jid/jid.h"
#include "xml/element.h"

namespace parley {
class Server;
}

namespace parley::muc {

// A groupchat message of a members-only room, for a member (member, admin or owner) who has no
// session joined in the room. Fired on the room's strand, in the room's order, just before the
// copy is routed to the member's bare JID, where the offline module keeps it when the member
// has no available resource (and drops it when they are online but not joined: they read the
// room's archive when they open the room). A push module (XEP-0357) listens here to wake the
// member's phone. Handlers must not block; Flow::Stop = the copy is not routed (a handler that
// took it over).
struct GroupMessageForAbsentMember {
  static constexpr std::string_view kName = "muc/group-message-for-absent-member";
  Server& server;
  Jid room;    // room@service, bare
  Jid member;  // the member's bare JID
  // As the room broadcast it (from room/nick, with the room's <stanza-id/> and <occupant-id/>),
  // to = the member's bare JID.
  std::shared_ptr<const xml::Element> message;
};

}  // namespace parley::muc
