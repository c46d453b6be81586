// PLAIN (RFC 4616): message = [authzid] NUL authcid NUL passwd. Offered only over TLS
// (RFC 6120 §13.8, DESIGN §8). The password is checked against the stored SCRAM keys by the
// session on a worker thread (verify_password is PBKDF2: too slow for an I/O thread).
#include <openssl/crypto.h>
#include <unicode/utf8.h>

#include "sasl/scram.h"

namespace parley::sasl {

namespace {

// RFC 4616 §2 lets each field be up to 255 octets; a little slack for UTF-8 heavy input.
constexpr size_t kMaxField = 1024;

bool printable_utf8(std::string_view s) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  const auto length = static_cast<int32_t>(s.size());
  int32_t i = 0;
  while (i < length) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) return false;
  }
  return true;
}

void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace

Step Plain::fail(std::string condition, std::string text) {
  state_ = State::Done;
  wipe(password_);
  return {Step::Status::Failure, {}, std::move(condition), std::move(text)};
}

Step Plain::wrong_credentials() {
  Step step = fail("not-authorized", "invalid credentials");
  step.wrong_credentials = true;
  return step;
}

Step Plain::start(std::string_view initial_response) {
  if (state_ != State::Initial) return fail("malformed-request", "unexpected start");
  if (initial_response.empty()) {  // RFC 6120 §6.4.2: empty challenge, response follows
    state_ = State::AwaitResponse;
    return {Step::Status::Challenge, {}, {}, {}};
  }
  return parse(initial_response);
}

Step Plain::step(std::string_view response) {
  if (state_ != State::AwaitResponse) return fail("malformed-request", "unexpected response");
  return parse(response);
}

Step Plain::parse(std::string_view msg) {
  size_t n1 = msg.find('\0');
  if (n1 == msg.npos) return fail("malformed-request", "bad PLAIN message");
  size_t n2 = msg.find('\0', n1 + 1);
  if (n2 == msg.npos || msg.find('\0', n2 + 1) != msg.npos)
    return fail("malformed-request", "bad PLAIN message");
  std::string_view authzid = msg.substr(0, n1);
  std::string_view authcid = msg.substr(n1 + 1, n2 - n1 - 1);
  std::string_view passwd = msg.substr(n2 + 1);
  if (authcid.empty() || passwd.empty() || authzid.size() > kMaxField ||
      authcid.size() > kMaxField || passwd.size() > kMaxField)
    return fail("malformed-request", "bad PLAIN message");
  if (!printable_utf8(authzid) || !printable_utf8(authcid))
    return fail("malformed-request", "bad PLAIN identity");
  // Stored keys come from the OpaqueString form of the password (RFC 8265 §4.2); a password
  // that cannot be prepared cannot match any account.
  auto prepared = prep_password(passwd);
  if (!prepared) return wrong_credentials();
  authzid_ = std::string(authzid);
  username_ = std::string(authcid);
  password_ = std::move(*prepared);
  state_ = State::AwaitCredentials;
  return {Step::Status::NeedCredentials, {}, {}, {}};
}

Step Plain::resume(const std::optional<Credentials>& credentials) {
  if (state_ != State::AwaitCredentials) return fail("malformed-request", "unexpected resume");
  // For an unknown account the session still runs a check (against nothing), and the answer is
  // forced to failure in finish_password_check.
  unknown_account_ = !credentials.has_value();
  state_ = State::AwaitCheck;
  return {Step::Status::NeedPasswordCheck, {}, {}, {}};
}

std::string Plain::take_password() {
  if (state_ != State::AwaitCheck) return {};
  std::string out = std::move(password_);
  password_.clear();
  return out;
}

Step Plain::finish_password_check(bool ok) {
  if (state_ != State::AwaitCheck) return fail("malformed-request", "unexpected password check");
  wipe(password_);
  if (!ok || unknown_account_) return wrong_credentials();
  state_ = State::Done;
  return {Step::Status::Success, {}, {}, {}};
}

}  // namespace parley::sasl
