// libFuzzer target: the TLS 1.3 record layer (net/tls13_records.h) on what a client can send
// after the handshake. Raw bytes alone would almost never get past the AEAD tag, so the input
// is a script: a peer layer with the mirrored keys seals records of chosen content types and
// contents (application data, alerts, handshake messages such as KeyUpdate, garbage), some
// bytes of the wire may then be flipped, and the result is fed to the server's layer in
// pieces of a chosen size, as the transport does. Whatever it sees, the layer must not crash,
// must return only data it authenticated, and must stop at the first Closed or Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "net/tls13_records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using parley::tls13::RecordLayer;
  if (size < 3) return 0;
  uint8_t suite = static_cast<uint8_t>(1 + data[0] % 3);
  size_t hash = suite == 2 ? 48 : 32;
  std::string c(hash, 'c'), s(hash, 's');
  auto server = RecordLayer::from_secrets(suite, c, s);
  auto client = RecordLayer::from_secrets(suite, s, c);
  if (!server || !client) std::abort();
  size_t chunk = 1 + data[1] * 67u;
  bool raw = data[2] & 1;  // the rest is the wire itself, not a script
  std::string wire, expected;
  size_t at = 3;
  if (raw) {
    wire.assign(reinterpret_cast<const char*>(data) + at, size - at);
  } else {
    // Script: [type][len][len bytes] ... ; type 0xff = flip the wire byte at `len`.
    while (at + 2 <= size) {
      uint8_t type = data[at];
      size_t len = data[at + 1];
      at += 2;
      if (type == 0xff) {
        if (!wire.empty()) wire[len % wire.size()] ^= 0x5a;
        continue;
      }
      len = std::min(len, size - at);
      std::string_view body(reinterpret_cast<const char*>(data) + at, len);
      at += len;
      client->seal_record(type, body, wire);
    }
  }
  std::string pending, reply, plain;
  for (size_t pos = 0; pos < wire.size(); pos += chunk) {
    pending += wire.substr(pos, chunk);
    auto o = server->open(pending.data(), pending.size(), reply);
    if (o.plaintext > pending.size() || o.consumed > pending.size()) std::abort();
    plain.append(pending.data(), o.plaintext);
    if (o.status != RecordLayer::Status::Ok) break;
    pending.erase(0, o.consumed);
  }
  // Whatever the server answered (a KeyUpdate, an alert) is well-formed records the peer opens.
  std::string back;
  auto b = client->open(reply.data(), reply.size(), back);
  if (b.consumed != reply.size() && b.status == RecordLayer::Status::Ok) std::abort();
  return 0;
}
