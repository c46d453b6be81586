// XEP-0297 Stanza Forwarding: a copy of a stanza wrapped in <forwarded
// xmlns='urn:xmpp:forward:0'/>, used by carbons (XEP-0280) and archive results (XEP-0313).
#pragma once

#include <string_view>

#include "xml/element.h"

namespace parley::xep {

inline constexpr std::string_view kForwardNs = "urn:xmpp:forward:0";

// <forwarded><message xmlns='jabber:client' .../></forwarded>. The copy keeps its jabber:client
// namespace, declared on it when serialized (XEP-0297 §3). An optional <delay/> goes first.
xml::Element forwarded(const xml::Element& stanza, const xml::Element* delay = nullptr);

// The forwarded stanza inside a <forwarded/> element, or null.
const xml::Element* forwarded_stanza(const xml::Element& forwarded);

}  // namespace parley::xep
