// Server-side SASL mechanisms (RFC 6120 §6, RFC 4422): SCRAM-SHA-1/256/512 and their -PLUS
// variants (RFC 5802, RFC 7677, channel binding per RFC 9266 tls-exporter and RFC 5929
// tls-server-end-point, XEP-0440), and PLAIN (RFC 4616, only over TLS).
//
// A mechanism never touches storage: when it has learned the username it returns
// NeedCredentials; the session looks the account up off the I/O thread and calls
// resume(credentials). Messages are raw bytes (the session does base64).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sasl/credentials.h"

namespace parley::sasl {

// What the TLS layer can provide for channel binding.
struct ChannelBindings {
  bool tls = false;
  std::string tls_exporter;          // 32 bytes from the exporter label "EXPORTER-Channel-Binding"
  std::string tls_server_end_point;  // hash of the server certificate (RFC 5929 §4.1)
  std::vector<std::string> types() const;  // supported binding types, for XEP-0440
};

struct Step {
  enum class Status { Challenge, NeedCredentials, NeedPasswordCheck, Success, Failure };
  Status status;
  std::string data;       // challenge, or additional data with success
  std::string condition;  // failure: RFC 6120 §6.5 condition (not-authorized, malformed-request...)
  std::string text;       // failure: human-readable text (never echoes secrets)
  // failure: the proof or password was wrong (or the account unknown). Only these look like
  // password guessing and count towards login throttling; a protocol failure (an unsupported
  // channel-binding type, a "y" flag after we offered -PLUS) does not, so clients can go on to
  // their next mechanism.
  bool wrong_credentials = false;
};

class Mechanism {
 public:
  virtual ~Mechanism() = default;
  virtual std::string_view name() const = 0;
  // The client's initial response (may be empty when the client sent none).
  virtual Step start(std::string_view initial_response) = 0;
  // A response to our challenge.
  virtual Step step(std::string_view response) = 0;
  // After NeedCredentials: the account's credentials, or nullopt if no such account (SCRAM then
  // continues with fake values and fails at the proof so that account existence does not leak).
  virtual Step resume(const std::optional<Credentials>& credentials) = 0;
  // The authentication identity (localpart) once known.
  virtual const std::string& username() const = 0;
  // The authorization identity the client asked for (SCRAM "a=", PLAIN's first field), empty
  // when none. The mechanism cannot know the host, so the session must check it: empty or equal
  // to the bare JID username@host (after normalization), otherwise fail with invalid-authzid
  // (RFC 6120 §6.4.6).
  virtual const std::string& authzid() const {
    static const std::string none;
    return none;
  }
  // For PLAIN: the password to check with verify_password on a worker (NeedPasswordCheck),
  // then finish_password_check(ok).
  virtual std::string take_password() { return {}; }
  virtual Step finish_password_check(bool ok) {
    return {Step::Status::Failure, {}, "not-authorized", {}};
  }
};

// Mechanism names we offer for these bindings and this transport security, in preference order.
// `enabled` (from config) filters; empty = all.
std::vector<std::string> offered(const ChannelBindings& cb,
                                 const std::vector<std::string>& enabled);
// Creates a mechanism by name; null if unknown or not allowed on this connection.
std::unique_ptr<Mechanism> create(std::string_view name, const ChannelBindings& cb);

}  // namespace parley::sasl
