// libFuzzer target: a XEP-0045 room (modules/muc) fed arbitrary stanzas from three users. The
// input is one XML element whose children are the stanzas, in order; the n-th child comes from
// the (n mod 3)-th user, and its 'to' is kept only for its resource (the nick), so every
// stanza reaches this room. Whatever arrives, the room never crashes, and everything it sends
// is addressed ('to' set) and comes from the room or one of its occupants. Also: the stored
// settings text round-trips, and reading arbitrary text as settings never crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../../modules/muc/admin.cpp"        // NOLINT(bugprone-suspicious-include)
#include "../../modules/muc/large_rooms.cpp"  // NOLINT(bugprone-suspicious-include)
#include "../../modules/muc/moderation.cpp"   // NOLINT(bugprone-suspicious-include)
#include "../../modules/muc/room.cpp"         // NOLINT(bugprone-suspicious-include)
#include "../../modules/muc/room_config.cpp"  // NOLINT(bugprone-suspicious-include)
#include "../../modules/muc/voice.cpp"        // NOLINT(bugprone-suspicious-include)
#include "xep/stored_element.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto settings = muc::deserialize(input)) {
    auto again = muc::deserialize(muc::serialize(*settings));
    if (!again || !(*again == *settings)) std::abort();
  }
  auto batch = xep::load_element(input);
  if (!batch) return 0;

  const Jid room = *Jid::parse("room@groups.example.org");
  const Jid users[] = {*Jid::parse("owner@example.org/a"), *Jid::parse("bob@example.org/b"),
                       *Jid::parse("carol@other.example/c")};
  muc::Room r(room, muc::ServiceOptions{}, "secret", users[0]);
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  size_t n = 0;
  for (const auto& node : batch->nodes()) {
    if (node.is_text()) continue;
    xml::Element stanza = *node.element;
    auto to = Jid::parse(stanza.get("to"));
    std::string target = room.str();
    if (to && to->has_resource()) target += "/" + std::string(to->resource());
    stanza.set("to", target);
    const Jid& from = users[n++ % 3];
    stanza.set("from", from.str());
    muc::Outbox out;
    r.handle(stanza, from, out, now);
    now += std::chrono::milliseconds(250);
    for (const auto& s : out.expand()) {
      auto dest = Jid::parse(s->get("to"));
      auto src = Jid::parse(s->get("from"));
      if (!dest || !src) std::abort();
      if (src->bare() != room && src->str() != room.domain()) std::abort();
    }
    if (n > 64) break;
  }
  return 0;
}
