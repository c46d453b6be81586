// Which messages a user archive keeps (XEP-0313 §6.1.1, XEP-0334 hints) and how the owner's
// XEP-0441 preferences apply to a message with a given contact.
#pragma once

#include "archive_store.h"
#include "jid/jid.h"
#include "xml/element.h"

namespace parley::mam {

// A message of type chat or normal that holds conversation content: a body, a store hint
// (XEP-0334 §4.4, e.g. encrypted payloads without a body), or a chat marker (XEP-0333 §2:
// displayed state must be fetchable while the sender is offline, so it is kept with the
// conversation). Not kept: groupchat (a room keeps its own archive), headline, error,
// no-store and no-permanent-store hints (XEP-0334 §4.2, §4.1), messages holding only chat
// states (XEP-0313 §3: state changes, not content) or only delivery receipts (XEP-0184 acks
// are about delivery, not conversation, and XEP-0184 §5.5 forbids acking archived copies).
bool worth_archiving(const xml::Element& message);

enum class Verdict { Archive, Skip, AskRoster };

// XEP-0441: a JID in 'never' is never archived, one in 'always' always is (a bare JID in a
// list matches every resource), otherwise the default applies; Roster means "archive if the
// contact is in the owner's roster", which only the database can answer.
Verdict decide(const Prefs& prefs, const Jid& with);

}  // namespace parley::mam
