// Internal to sasl/: the SCRAM and PLAIN mechanism classes and the hash primitives they share
// with credentials.cpp. Other code goes through sasl/mechanism.h; tests include this header to
// pin the server nonce (RFC 5802 §5 and RFC 7677 §3 vectors need a known one).
#pragma once

#include <string>
#include <string_view>

#include "sasl/mechanism.h"

namespace parley::sasl {

namespace crypto {
size_t hash_size(Hash h);
std::string hash(Hash h, std::string_view data);
std::string hmac(Hash h, std::string_view key, std::string_view data);
std::string pbkdf2(Hash h, std::string_view password, std::string_view salt, uint32_t iterations);
std::string random_bytes(size_t n);
bool equal(std::string_view a, std::string_view b);  // constant time for equal lengths
}  // namespace crypto

// RFC 5802 / RFC 7677 server side, with -PLUS channel binding (RFC 5802 §6, RFC 9266, RFC 5929).
class Scram final : public Mechanism {
 public:
  // `server_nonce` empty = random per exchange (always, outside tests).
  Scram(Hash hash, bool plus, ChannelBindings cb, std::string server_nonce = {});

  std::string_view name() const override { return name_; }
  Step start(std::string_view initial_response) override;
  Step step(std::string_view response) override;
  Step resume(const std::optional<Credentials>& credentials) override;
  const std::string& username() const override { return username_; }
  const std::string& authzid() const override { return authzid_; }

  // Iterations used for the fake keys of unknown accounts; should match the iterations new
  // credentials are stored with (c2s.scram_iterations) so that both look alike.
  static void set_unknown_account_iterations(uint32_t iterations);

 private:
  enum class State { Initial, AwaitClientFirst, AwaitCredentials, AwaitClientFinal, Done };
  Step client_first(std::string_view message);
  Step client_final(std::string_view message);
  Step fail(std::string condition, std::string text);
  Step wrong_credentials();  // not-authorized, counted for throttling

  Hash hash_;
  bool plus_;
  ChannelBindings cb_;
  std::string name_;
  std::string fixed_server_nonce_;
  State state_ = State::Initial;
  std::string username_;
  std::string authzid_;
  std::string gs2_header_;         // as sent, for the c= check (RFC 5802 §7 cbind-input)
  std::string cb_data_;            // binding data for the type the client chose ("p=")
  std::string client_first_bare_;  // for AuthMessage
  std::string server_first_;
  std::string nonce_;  // client nonce + server nonce
  ScramKeys keys_;
  bool unknown_account_ = false;
};

// RFC 4616. Created only on TLS connections.
class Plain final : public Mechanism {
 public:
  std::string_view name() const override { return "PLAIN"; }
  Step start(std::string_view initial_response) override;
  Step step(std::string_view response) override;
  Step resume(const std::optional<Credentials>& credentials) override;
  const std::string& username() const override { return username_; }
  const std::string& authzid() const override { return authzid_; }
  std::string take_password() override;
  Step finish_password_check(bool ok) override;

 private:
  enum class State { Initial, AwaitResponse, AwaitCredentials, AwaitCheck, Done };
  Step parse(std::string_view message);
  Step fail(std::string condition, std::string text);
  Step wrong_credentials();  // not-authorized, counted for throttling

  State state_ = State::Initial;
  std::string username_;
  std::string authzid_;
  std::string password_;
  bool unknown_account_ = false;
};

}  // namespace parley::sasl
