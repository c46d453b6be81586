// The TLS 1.3 record layer (RFC 8446 §5) for a connection whose handshake OpenSSL has
// finished. OpenSSL's SSL object costs ~15 KB per connection even with its buffers released;
// after a TLS 1.3 handshake all a connection needs is two traffic keys, two IVs and two
// sequence numbers (~200 bytes). So once the handshake is done the transport takes the keys
// over and frees the SSL object (DESIGN §10: an idle TLS session costs a few kilobytes). This
// is what kernel TLS offload does too: OpenSSL negotiates, a smaller record layer carries data.
//
// What it does after the handshake, as RFC 8446 asks of a server:
// - application data in records of at most 2^14 bytes, AEAD-protected with the negotiated
//   suite (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256), the
//   per-record nonce and sequence numbers of §5.3;
// - KeyUpdate from the client (§4.6.3): the read key moves on; when the client asks for it, a
//   KeyUpdate of our own goes out before any more data and the write key moves on too;
// - alerts: close_notify ends the stream in order; user_canceled is ignored; any other alert is
//   a fatal error; our own fatal alerts (bad_record_mac, record_overflow, unexpected_message,
//   decode_error) are sent before failing;
// - anything else (a plaintext record, change_cipher_spec, other post-handshake messages) is
//   unexpected_message.
// Not thread-safe: used only on the owning session's strand. Pure buffers, no sockets, so it
// can be unit-tested against OpenSSL's client and fuzzed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct ssl_st;
struct ssl_ctx_st;

namespace parley::tls13 {

// Largest TLS record on the wire: header + 2^14 + 256 (RFC 8446 §5.2).
constexpr size_t kMaxRecord = 5 + 16384 + 256;

// Arms an SSL_CTX so that its connections can be taken over: records the traffic secrets
// (keylog callback) and counts the records sent and received under the application keys
// (message callback). Call once per context.
void prepare(ssl_ctx_st* ctx);

class RecordLayer {
 public:
  // The record layer of `ssl` once its handshake has finished, or nullptr when it cannot be
  // taken over (not TLS 1.3, another suite, data OpenSSL still holds, a key update during the
  // handshake, a context not prepared): the caller then keeps using OpenSSL.
  static std::unique_ptr<RecordLayer> take_over(ssl_st* ssl);
  // From known traffic secrets (raw, the suite's hash length): `suite` is the low byte of the
  // TLS 1.3 suite (1 AES-128-GCM, 2 AES-256-GCM, 3 ChaCha20-Poly1305). For tests and fuzzing,
  // and for the peer's side of a connection in them (swap the secrets). nullptr when invalid.
  static std::unique_ptr<RecordLayer> from_secrets(uint8_t suite, std::string_view read_secret,
                                                   std::string_view write_secret,
                                                   uint64_t read_seq = 0, uint64_t write_seq = 0);
  ~RecordLayer();
  RecordLayer(const RecordLayer&) = delete;
  RecordLayer& operator=(const RecordLayer&) = delete;

  // Appends the records that carry `data` as application data to `out`.
  void seal(std::string_view data, std::string& out);
  // Appends an alert record (RFC 8446 §6): close_notify is 0.
  void seal_alert(uint8_t description, std::string& out);
  // Appends one record of content type `type` (at most 2^14 bytes): what seal() and
  // seal_alert() use; tests and the fuzz target use it to write what a client could send.
  void seal_record(uint8_t type, std::string_view data, std::string& out);

  enum class Status { Ok, Closed, Error };
  struct Opened {
    Status status = Status::Ok;
    size_t plaintext = 0;  // application data now at buf[0 .. plaintext)
    size_t consumed = 0;   // ciphertext bytes used; buf[consumed .. len) is a partial record
  };
  // Decrypts the complete records in buf[0 .. len) in place: their application data is
  // compacted at the start of buf. Records to send in answer (a KeyUpdate, a fatal alert) are
  // appended to `reply`. After Closed or Error the layer must not be used again; error() says
  // why.
  Opened open(char* buf, size_t len, std::string& reply);
  const std::string& error() const { return error_; }

  // One direction: the current traffic secret, the key and IV derived from it (RFC 8446 §7.3)
  // and the sequence number of the next record.
  struct Keys {
    uint8_t secret[48];
    uint8_t key[32];
    uint8_t iv[12];
    uint64_t seq = 0;
  };

 private:
  RecordLayer() = default;
  enum class Step { Data, Closed, Fatal };
  Step open_record(char* inner, size_t len, size_t& plain, std::string& reply);
  void derive(Keys& k) const;
  void next_secret(Keys& k) const;
  Opened fail(Opened o, uint8_t alert, std::string why, std::string& reply);
  Keys read_{}, write_{};
  uint8_t suite_ = 0;  // 1 AES-128-GCM, 2 AES-256-GCM, 3 ChaCha20-Poly1305 (the suite's low byte)
  std::string error_;
};

}  // namespace parley::tls13
