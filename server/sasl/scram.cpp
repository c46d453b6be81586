// SCRAM server side: RFC 5802 (SCRAM-SHA-1), RFC 7677 (SCRAM-SHA-256), SCRAM-SHA-512 by the same
// construction, and the -PLUS variants with channel binding (RFC 5802 §6, RFC 9266
// tls-exporter, RFC 5929 tls-server-end-point).
//
// Authorization identity: an "a=" in the GS2 header is accepted, decoded and exposed through
// authzid(); the session compares it with username@host (the mechanism does not know the host).
#include <unicode/utf8.h>

#include <atomic>
#include <charconv>

#include "core/base64.h"
#include "sasl/scram.h"

namespace parley::sasl {

namespace {

// SASL messages are a few hundred bytes; anything far larger is an attack, not a login.
constexpr size_t kMaxMessage = 4096;
constexpr size_t kServerNonceBytes = 18;  // 24 base64 characters

std::atomic<uint32_t> g_unknown_iterations{4096};

// Secret for the fake salts of unknown accounts: random per process, so the fake salt of a
// name is stable across attempts (as a real one is) but cannot be predicted.
const std::string& fake_secret() {
  static const std::string secret = crypto::random_bytes(32);
  return secret;
}

// Well-formed UTF-8 with no control characters: what a username or authzid may be before the
// session's PRECIS normalization.
bool printable_utf8(std::string_view s) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  const auto length = static_cast<int32_t>(s.size());
  int32_t i = 0;
  while (i < length) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) return false;  // also ill-formed (<0)
  }
  return true;
}

// RFC 5802 §5.1: saslname encodes ',' as "=2C" and '=' as "=3D"; any other '=' is invalid.
std::optional<std::string> decode_saslname(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '=') {
      std::string_view esc = in.substr(i + 1, 2);
      if (esc == "2C")
        out.push_back(',');
      else if (esc == "3D")
        out.push_back('=');
      else
        return std::nullopt;
      i += 2;
    } else if (c == ',') {
      return std::nullopt;
    } else {
      out.push_back(c);
    }
  }
  if (out.empty() || !printable_utf8(out)) return std::nullopt;
  return out;
}

// RFC 5802 §7: printable = %x21-2B / %x2D-7E (no comma).
bool printable_nonce(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e || c == ',') return false;
  }
  return true;
}

// RFC 5802 §7: attr-val = ALPHA "=" value; value = 1*value-char (no NUL, no comma).
bool extension(std::string_view a) {
  if (a.size() < 3 || a[1] != '=') return false;
  char k = a[0];
  if (!((k >= 'a' && k <= 'z') || (k >= 'A' && k <= 'Z'))) return false;
  for (char c : a.substr(2))
    if (c == '\0') return false;
  return true;
}

// RFC 5802 §7 cb-name = 1*(ALPHA / DIGIT / "." / "-").
bool cb_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '-'))
      return false;
  return true;
}

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    parts.push_back(s.substr(start, comma == std::string_view::npos ? s.npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return parts;
}

}  // namespace

void Scram::set_unknown_account_iterations(uint32_t iterations) {
  if (iterations > 0) g_unknown_iterations = iterations;
}

Scram::Scram(Hash hash, bool plus, ChannelBindings cb, std::string server_nonce)
    : hash_(hash), plus_(plus), cb_(std::move(cb)), fixed_server_nonce_(std::move(server_nonce)) {
  name_ = "SCRAM-" + std::string(to_string(hash)) + (plus ? "-PLUS" : "");
}

Step Scram::fail(std::string condition, std::string text) {
  state_ = State::Done;
  keys_ = {};
  return {Step::Status::Failure, {}, std::move(condition), std::move(text)};
}

Step Scram::wrong_credentials() {
  Step step = fail("not-authorized", "invalid credentials");
  step.wrong_credentials = true;
  return step;
}

Step Scram::start(std::string_view initial_response) {
  if (state_ != State::Initial) return fail("malformed-request", "unexpected start");
  // RFC 6120 §6.4.2: without an initial response the server sends an empty challenge and the
  // client-first-message arrives as the response.
  if (initial_response.empty()) {
    state_ = State::AwaitClientFirst;
    return {Step::Status::Challenge, {}, {}, {}};
  }
  return client_first(initial_response);
}

Step Scram::step(std::string_view response) {
  switch (state_) {
    case State::AwaitClientFirst:
      return client_first(response);
    case State::AwaitClientFinal:
      return client_final(response);
    default:
      return fail("malformed-request", "unexpected response");
  }
}

Step Scram::client_first(std::string_view msg) {
  if (msg.empty() || msg.size() > kMaxMessage)
    return fail("malformed-request", "bad client-first-message");

  // gs2-header = gs2-cbind-flag "," [authzid] "," (RFC 5802 §7).
  size_t c1 = msg.find(',');
  if (c1 == msg.npos) return fail("malformed-request", "missing GS2 header");
  size_t c2 = msg.find(',', c1 + 1);
  if (c2 == msg.npos) return fail("malformed-request", "missing GS2 header");
  std::string_view flag = msg.substr(0, c1);
  std::string_view authz = msg.substr(c1 + 1, c2 - c1 - 1);
  gs2_header_ = std::string(msg.substr(0, c2 + 1));

  if (!authz.empty()) {
    if (authz.substr(0, 2) != "a=") return fail("malformed-request", "bad authzid");
    auto decoded = decode_saslname(authz.substr(2));
    if (!decoded) return fail("malformed-request", "bad authzid");
    authzid_ = std::move(*decoded);
  }

  // Channel binding negotiation, RFC 5802 §6.
  const bool offered_plus = cb_.tls && !cb_.types().empty();
  if (flag == "n") {
    if (plus_) return fail("malformed-request", "-PLUS mechanism without channel binding");
  } else if (flag == "y") {
    if (plus_) return fail("malformed-request", "-PLUS mechanism without channel binding");
    // The client supports binding but believes we do not: we offered -PLUS, so someone
    // stripped it from our feature list (downgrade attack).
    if (offered_plus) return fail("not-authorized", "server-does-support-channel-binding");
  } else if (flag.substr(0, 2) == "p=") {
    std::string_view type = flag.substr(2);
    if (!cb_name(type)) return fail("malformed-request", "bad channel binding type");
    if (!plus_) return fail("malformed-request", "channel binding requires a -PLUS mechanism");
    if (type == "tls-exporter" && cb_.tls && !cb_.tls_exporter.empty())
      cb_data_ = cb_.tls_exporter;
    else if (type == "tls-server-end-point" && cb_.tls && !cb_.tls_server_end_point.empty())
      cb_data_ = cb_.tls_server_end_point;
    else
      return fail("malformed-request", "unsupported-channel-binding-type");
  } else {
    return fail("malformed-request", "bad GS2 channel binding flag");
  }

  // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
  std::string_view bare = msg.substr(c2 + 1);
  auto attrs = split(bare);
  if (!attrs.empty() && attrs[0].substr(0, 2) == "m=")
    return fail("malformed-request", "extensions-not-supported");  // RFC 5802 §5.1
  if (attrs.size() < 2 || attrs[0].substr(0, 2) != "n=" || attrs[1].substr(0, 2) != "r=")
    return fail("malformed-request", "bad client-first-message");
  auto user = decode_saslname(attrs[0].substr(2));
  if (!user) return fail("malformed-request", "bad username");
  std::string_view client_nonce = attrs[1].substr(2);
  if (!printable_nonce(client_nonce)) return fail("malformed-request", "bad nonce");
  for (size_t i = 2; i < attrs.size(); ++i)
    if (!extension(attrs[i])) return fail("malformed-request", "bad attribute");

  username_ = std::move(*user);
  client_first_bare_ = std::string(bare);
  nonce_ = std::string(client_nonce);
  state_ = State::AwaitCredentials;
  return {Step::Status::NeedCredentials, {}, {}, {}};
}

Step Scram::resume(const std::optional<Credentials>& credentials) {
  if (state_ != State::AwaitCredentials) return fail("malformed-request", "unexpected resume");
  const size_t hlen = crypto::hash_size(hash_);
  const ScramKeys* real = nullptr;
  if (credentials) {
    const auto& k = credentials->get(hash_);
    if (k && k->iterations > 0 && !k->salt.empty() && k->stored_key.size() == hlen &&
        k->server_key.size() == hlen)
      real = &*k;
  }
  if (real) {
    keys_ = *real;
  } else {
    // No such account (or none stored for this hash): carry on with keys that look real and
    // stay the same for this name, and fail at the proof (mechanism.h), so the exchange does
    // not tell whether the account exists.
    unknown_account_ = true;
    const std::string& secret = fake_secret();
    keys_.salt = crypto::hmac(Hash::Sha256, secret, "salt:" + username_).substr(0, 16);
    keys_.iterations = g_unknown_iterations.load();
    keys_.stored_key = crypto::hmac(hash_, secret, "stored:" + username_);
    keys_.server_key = crypto::hmac(hash_, secret, "server:" + username_);
  }
  nonce_ += fixed_server_nonce_.empty() ? base64_encode(crypto::random_bytes(kServerNonceBytes))
                                        : fixed_server_nonce_;
  server_first_ =
      "r=" + nonce_ + ",s=" + base64_encode(keys_.salt) + ",i=" + std::to_string(keys_.iterations);
  state_ = State::AwaitClientFinal;
  return {Step::Status::Challenge, server_first_, {}, {}};
}

Step Scram::client_final(std::string_view msg) {
  if (msg.empty() || msg.size() > kMaxMessage)
    return fail("malformed-request", "bad client-final-message");
  // client-final-message = client-final-message-without-proof "," proof; proof comes last.
  size_t p = msg.rfind(",p=");
  if (p == msg.npos) return fail("malformed-request", "missing proof");
  std::string_view without_proof = msg.substr(0, p);
  std::string_view proof_b64 = msg.substr(p + 3);
  auto attrs = split(without_proof);
  if (attrs.size() < 2 || attrs[0].substr(0, 2) != "c=" || attrs[1].substr(0, 2) != "r=")
    return fail("malformed-request", "bad client-final-message");
  for (size_t i = 2; i < attrs.size(); ++i)
    if (!extension(attrs[i])) return fail("malformed-request", "bad attribute");

  auto cbind = base64_decode(attrs[0].substr(2));
  if (!cbind) return fail("malformed-request", "bad channel binding encoding");
  auto proof = base64_decode(proof_b64);
  if (!proof || proof->size() != crypto::hash_size(hash_))
    return fail("malformed-request", "bad proof encoding");

  // RFC 5802 §7: c= is base64(gs2-header [cbind-data]) and must repeat exactly what the client
  // said in client-first plus the binding data of this TLS connection.
  if (!crypto::equal(*cbind, gs2_header_ + cb_data_))
    return fail("not-authorized", "channel-bindings-dont-match");
  if (attrs[1].substr(2) != nonce_) return fail("not-authorized", "nonce mismatch");

  // RFC 5802 §3: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) must
  // be StoredKey.
  const std::string auth_message =
      client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  std::string client_key = crypto::hmac(hash_, keys_.stored_key, auth_message);
  for (size_t i = 0; i < client_key.size(); ++i) client_key[i] ^= (*proof)[i];
  bool ok = crypto::equal(crypto::hash(hash_, client_key), keys_.stored_key);
  if (!ok || unknown_account_) return wrong_credentials();

  std::string server_signature = crypto::hmac(hash_, keys_.server_key, auth_message);
  state_ = State::Done;
  keys_ = {};
  return {Step::Status::Success, "v=" + base64_encode(server_signature), {}, {}};
}

}  // namespace parley::sasl
