#include "net/tls13_records.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "core/hmac.h"

namespace parley::tls13 {

namespace {

constexpr uint8_t kChangeCipherSpec = 20, kAlert = 21, kHandshake = 22, kApplicationData = 23;
constexpr uint8_t kKeyUpdate = 24, kFinished = 20;  // handshake message types
constexpr uint8_t kCloseNotify = 0, kUnexpectedMessage = 10, kBadRecordMac = 20,
                  kRecordOverflow = 22, kDecodeError = 50, kUserCanceled = 90;
constexpr size_t kHeader = 5, kTag = 16, kMaxPlain = 16384;

// What the callbacks learn during one handshake, attached to the SSL as ex_data (freed with
// it). The message callback reports every record's header and every handshake message; the
// records after our Finished are under the server application key, those after the client's
// Finished under the client application key.
struct Capture {
  std::string client_secret, server_secret;  // *_TRAFFIC_SECRET_0, raw bytes
  bool sent_finished = false, got_finished = false, key_update = false;
  uint64_t sent_records = 0, got_records = 0;  // under the application keys
};

void free_capture(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<Capture*>(ptr);
}

int capture_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_capture);
  return index;
}

Capture* capture_of(const SSL* ssl, bool create) {
  auto* c = static_cast<Capture*>(SSL_get_ex_data(ssl, capture_index()));
  if (!c && create) {
    c = new Capture;
    SSL_set_ex_data(const_cast<SSL*>(ssl), capture_index(), c);
  }
  return c;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// NSS key log format: "LABEL <client random hex> <secret hex>".
void on_keylog(const SSL* ssl, const char* line) {
  std::string_view l(line);
  std::string* into = nullptr;
  Capture* c = capture_of(ssl, true);
  if (l.rfind("CLIENT_TRAFFIC_SECRET_0 ", 0) == 0)
    into = &c->client_secret;
  else if (l.rfind("SERVER_TRAFFIC_SECRET_0 ", 0) == 0)
    into = &c->server_secret;
  else
    return;
  auto space = l.rfind(' ');
  std::string_view hex = l.substr(space + 1);
  into->clear();
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      into->clear();
      return;
    }
    into->push_back(static_cast<char>(hi << 4 | lo));
  }
}

void on_message(int write_p, int, int content_type, const void* buf, size_t len, SSL* ssl, void*) {
  Capture* c = capture_of(ssl, true);
  if (content_type == SSL3_RT_HEADER) {
    if (write_p && c->sent_finished) ++c->sent_records;
    if (!write_p && c->got_finished) ++c->got_records;
    return;
  }
  if (content_type != SSL3_RT_HANDSHAKE || len == 0) return;
  uint8_t type = static_cast<const uint8_t*>(buf)[0];
  if (type == kKeyUpdate) c->key_update = true;
  if (type == kFinished) (write_p ? c->sent_finished : c->got_finished) = true;
}

// RFC 8446 §7.1 HKDF-Expand-Label with an empty context, for outputs of at most one hash
// block (every use here: keys, IVs and next secrets are never longer than the hash).
void expand_label(HmacDigest digest, const uint8_t* secret, size_t secret_len,
                  std::string_view label, uint8_t* out, size_t out_len) {
  uint8_t info[2 + 1 + 6 + 32 + 1 + 1];
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out_len >> 8);
  info[n++] = static_cast<uint8_t>(out_len);
  info[n++] = static_cast<uint8_t>(6 + label.size());
  std::memcpy(info + n, "tls13 ", 6);
  n += 6;
  std::memcpy(info + n, label.data(), label.size());
  n += label.size();
  info[n++] = 0;  // context length
  info[n++] = 1;  // HKDF-Expand's block counter T(1)
  uint8_t block[EVP_MAX_MD_SIZE];
  size_t block_len = hmac(digest, secret, secret_len, info, n, block);
  if (block_len < out_len) throw std::runtime_error("TLS 1.3: HKDF-Expand-Label failed");
  std::memcpy(out, block, out_len);
}

HmacDigest suite_hash(uint8_t suite) {
  return suite == 2 ? HmacDigest::Sha384 : HmacDigest::Sha256;
}
size_t suite_hash_len(uint8_t suite) {
  return suite == 2 ? 48 : 32;
}
size_t suite_key_len(uint8_t suite) {
  return suite == 1 ? 16 : 32;
}

// One cipher context per suite and I/O thread, re-keyed for every record: connections keep
// only their keys, not OpenSSL's ~1 KB of cipher state each.
EVP_CIPHER_CTX* cipher_context(uint8_t suite) {
  struct Contexts {
    EVP_CIPHER_CTX* ctx[4] = {};
    ~Contexts() {
      for (auto* c : ctx) EVP_CIPHER_CTX_free(c);
    }
  };
  thread_local Contexts contexts;
  EVP_CIPHER_CTX*& c = contexts.ctx[suite];
  if (!c) {
    const EVP_CIPHER* cipher = suite == 1   ? EVP_aes_128_gcm()
                               : suite == 2 ? EVP_aes_256_gcm()
                                            : EVP_chacha20_poly1305();
    c = EVP_CIPHER_CTX_new();
    if (!c || EVP_CipherInit_ex(c, cipher, nullptr, nullptr, nullptr, 1) != 1)
      throw std::runtime_error("TLS 1.3: cannot create a cipher context");
  }
  return c;
}

// RFC 8446 §5.3: the nonce is the IV XORed with the big-endian sequence number.
void make_nonce(const RecordLayer::Keys& k, uint8_t nonce[12]) {
  std::memcpy(nonce, k.iv, 12);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(k.seq >> (8 * i));
}

}  // namespace

void prepare(SSL_CTX* ctx) {
  SSL_CTX_set_keylog_callback(ctx, on_keylog);
  SSL_CTX_set_msg_callback(ctx, on_message);
}

std::unique_ptr<RecordLayer> RecordLayer::take_over(SSL* ssl) {
  Capture* c = capture_of(ssl, false);
  if (!c || SSL_version(ssl) != TLS1_3_VERSION || SSL_has_pending(ssl) || c->key_update ||
      !c->sent_finished || !c->got_finished)
    return nullptr;
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  uint32_t id = cipher ? SSL_CIPHER_get_id(cipher) : 0;
  uint8_t suite = 0;
  if (id == TLS1_3_CK_AES_128_GCM_SHA256) suite = 1;
  if (id == TLS1_3_CK_AES_256_GCM_SHA384) suite = 2;
  if (id == TLS1_3_CK_CHACHA20_POLY1305_SHA256) suite = 3;
  auto layer =
      from_secrets(suite, c->client_secret, c->server_secret, c->got_records, c->sent_records);
  // The secrets leave OpenSSL's care here; wipe the copies the callbacks made.
  OPENSSL_cleanse(c->client_secret.data(), c->client_secret.size());
  OPENSSL_cleanse(c->server_secret.data(), c->server_secret.size());
  return layer;
}

std::unique_ptr<RecordLayer> RecordLayer::from_secrets(uint8_t suite, std::string_view read_secret,
                                                       std::string_view write_secret,
                                                       uint64_t read_seq, uint64_t write_seq) {
  if (suite < 1 || suite > 3) return nullptr;
  size_t hash_len = suite_hash_len(suite);
  if (read_secret.size() != hash_len || write_secret.size() != hash_len) return nullptr;
  std::unique_ptr<RecordLayer> layer(new RecordLayer);
  layer->suite_ = suite;
  std::memcpy(layer->read_.secret, read_secret.data(), hash_len);
  std::memcpy(layer->write_.secret, write_secret.data(), hash_len);
  layer->derive(layer->read_);
  layer->derive(layer->write_);
  layer->read_.seq = read_seq;
  layer->write_.seq = write_seq;
  return layer;
}

RecordLayer::~RecordLayer() {
  OPENSSL_cleanse(&read_, sizeof read_);
  OPENSSL_cleanse(&write_, sizeof write_);
}

void RecordLayer::derive(Keys& k) const {
  HmacDigest md = suite_hash(suite_);
  size_t hash_len = suite_hash_len(suite_);
  expand_label(md, k.secret, hash_len, "key", k.key, suite_key_len(suite_));
  expand_label(md, k.secret, hash_len, "iv", k.iv, sizeof k.iv);
  k.seq = 0;
}

// RFC 8446 §7.2: application_traffic_secret_N+1.
void RecordLayer::next_secret(Keys& k) const {
  size_t hash_len = suite_hash_len(suite_);
  uint8_t next[48];
  expand_label(suite_hash(suite_), k.secret, hash_len, "traffic upd", next, hash_len);
  std::memcpy(k.secret, next, hash_len);
  OPENSSL_cleanse(next, sizeof next);
  derive(k);
}

void RecordLayer::seal_record(uint8_t type, std::string_view text, std::string& out) {
  const char* data = text.data();
  size_t len = std::min(text.size(), kMaxPlain);
  // TLSInnerPlaintext = content || type, no padding; the header is the AEAD's additional data.
  size_t inner = len + 1, total = inner + kTag;
  size_t at = out.size();
  out.resize(at + kHeader + total);
  auto* p = reinterpret_cast<uint8_t*>(out.data() + at);
  p[0] = kApplicationData;
  p[1] = 0x03;
  p[2] = 0x03;
  p[3] = static_cast<uint8_t>(total >> 8);
  p[4] = static_cast<uint8_t>(total);
  std::memcpy(p + kHeader, data, len);
  p[kHeader + len] = type;
  uint8_t nonce[12];
  make_nonce(write_, nonce);
  EVP_CIPHER_CTX* ctx = cipher_context(suite_);
  int outl = 0;
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, write_.key, nonce, 1) != 1 ||
      EVP_CipherUpdate(ctx, nullptr, &outl, p, kHeader) != 1 ||
      EVP_CipherUpdate(ctx, p + kHeader, &outl, p + kHeader, static_cast<int>(inner)) != 1 ||
      EVP_CipherFinal_ex(ctx, p + kHeader + inner, &outl) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTag, p + kHeader + inner) != 1)
    throw std::runtime_error("TLS 1.3: record encryption failed");
  ++write_.seq;
}

void RecordLayer::seal(std::string_view data, std::string& out) {
  out.reserve(out.size() + data.size() + (data.size() / kMaxPlain + 1) * (kHeader + 1 + kTag));
  while (!data.empty()) {
    size_t n = std::min(data.size(), kMaxPlain);
    seal_record(kApplicationData, data.substr(0, n), out);
    data.remove_prefix(n);
  }
}

void RecordLayer::seal_alert(uint8_t description, std::string& out) {
  // Every alert after the handshake is fatal except close_notify and user_canceled (§6); the
  // level byte is ignored by TLS 1.3 receivers but set as §6 describes.
  char alert[2] = {static_cast<char>(description == kCloseNotify ? 1 : 2),
                   static_cast<char>(description)};
  seal_record(kAlert, std::string_view(alert, sizeof alert), out);
}

RecordLayer::Opened RecordLayer::fail(Opened o, uint8_t alert, std::string why,
                                      std::string& reply) {
  if (alert != 0xff) seal_alert(alert, reply);
  error_ = std::move(why);
  o.status = Status::Error;
  return o;
}

RecordLayer::Opened RecordLayer::open(char* buf, size_t len, std::string& reply) {
  Opened o;
  auto* p = reinterpret_cast<uint8_t*>(buf);
  while (len - o.consumed >= kHeader) {
    uint8_t* rec = p + o.consumed;
    size_t body = static_cast<size_t>(rec[3]) << 8 | rec[4];
    if (rec[0] != kApplicationData) {
      const char* what = rec[0] == kChangeCipherSpec ? "change_cipher_spec"
                         : rec[0] == kAlert          ? "a plaintext alert"
                         : rec[0] == kHandshake      ? "a plaintext handshake record"
                                                     : "an unknown record type";
      return fail(o, kUnexpectedMessage, std::string("TLS 1.3: ") + what + " after the handshake",
                  reply);
    }
    if (body > kMaxPlain + 256)
      return fail(o, kRecordOverflow, "TLS 1.3: record longer than 2^14 + 256", reply);
    if (body < kTag + 1)
      return fail(o, kDecodeError, "TLS 1.3: record too short for its tag", reply);
    if (len - o.consumed < kHeader + body) break;  // the rest of the record is still coming
    uint8_t nonce[12];
    make_nonce(read_, nonce);
    EVP_CIPHER_CTX* ctx = cipher_context(suite_);
    size_t inner = body - kTag;
    uint8_t* text = rec + kHeader;
    int outl = 0;
    bool ok = EVP_CipherInit_ex(ctx, nullptr, nullptr, read_.key, nonce, 0) == 1 &&
              EVP_CipherUpdate(ctx, nullptr, &outl, rec, kHeader) == 1 &&
              EVP_CipherUpdate(ctx, text, &outl, text, static_cast<int>(inner)) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTag, text + inner) == 1 &&
              EVP_CipherFinal_ex(ctx, text + inner, &outl) == 1;
    if (!ok) return fail(o, kBadRecordMac, "TLS 1.3: record authentication failed", reply);
    ++read_.seq;
    o.consumed += kHeader + body;
    // §5.4: the content type is the last non-zero byte; zeros after it are padding.
    size_t n = inner;
    while (n > 0 && text[n - 1] == 0) --n;
    if (n == 0) return fail(o, kUnexpectedMessage, "TLS 1.3: record without a content type", reply);
    --n;
    if (n > kMaxPlain)
      return fail(o, kRecordOverflow, "TLS 1.3: plaintext longer than 2^14", reply);
    size_t plain = 0;
    switch (open_record(reinterpret_cast<char*>(text), n, plain, reply)) {
      case Step::Data:
        // In place: application data moves down to the front; it never overtakes the
        // ciphertext still to be read, since each record's plaintext is shorter than it.
        std::memmove(buf + o.plaintext, text, plain);
        o.plaintext += plain;
        break;
      case Step::Closed:
        o.status = Status::Closed;
        return o;
      case Step::Fatal:
        o.status = Status::Error;
        return o;
    }
  }
  return o;
}

// One decrypted record of `len` bytes whose content type follows them at inner[len].
RecordLayer::Step RecordLayer::open_record(char* inner, size_t len, size_t& plain,
                                           std::string& reply) {
  auto type = static_cast<uint8_t>(inner[len]);
  auto* d = reinterpret_cast<const uint8_t*>(inner);
  if (type == kApplicationData) {
    plain = len;
    return Step::Data;
  }
  if (type == kAlert) {
    if (len != 2) {
      fail({}, kDecodeError, "TLS 1.3: malformed alert", reply);
      return Step::Fatal;
    }
    if (d[1] == kCloseNotify) return Step::Closed;
    if (d[1] == kUserCanceled) return Step::Data;  // a close_notify should follow (§6.1)
    error_ = "TLS alert " + std::to_string(d[1]) + " from the peer";
    return Step::Fatal;
  }
  if (type == kHandshake) {
    // Post-handshake messages from a client: only KeyUpdate (§4.6.3) is allowed without
    // post-handshake authentication, which Parley never requests. It is 5 bytes and is
    // accepted whole within one record (several in a row are fine).
    for (size_t at = 0; at < len;) {
      if (len - at < 4) {
        fail({}, kUnexpectedMessage, "TLS 1.3: fragmented handshake message", reply);
        return Step::Fatal;
      }
      size_t body =
          static_cast<size_t>(d[at + 1]) << 16 | static_cast<size_t>(d[at + 2]) << 8 | d[at + 3];
      if (d[at] != kKeyUpdate) {
        fail({}, kUnexpectedMessage,
             "TLS 1.3: unexpected handshake message " + std::to_string(d[at]), reply);
        return Step::Fatal;
      }
      if (body != 1 || len - at < 5 || d[at + 4] > 1) {
        fail({}, kDecodeError, "TLS 1.3: malformed KeyUpdate", reply);
        return Step::Fatal;
      }
      bool requested = d[at + 4] == 1;
      next_secret(read_);
      if (requested) {
        // Our KeyUpdate (update_not_requested) goes out under the old key, before any data
        // under the new one.
        const char update[5] = {static_cast<char>(kKeyUpdate), 0, 0, 1, 0};
        seal_record(kHandshake, std::string_view(update, sizeof update), reply);
        next_secret(write_);
      }
      at += 5;
    }
    plain = 0;
    return Step::Data;
  }
  fail({}, kUnexpectedMessage, "TLS 1.3: unexpected content type " + std::to_string(type), reply);
  return Step::Fatal;
}

}  // namespace parley::tls13
