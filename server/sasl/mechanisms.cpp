// The mechanism registry: which SASL mechanisms a connection gets (RFC 6120 §6.3.3) and in
// which order, and the factory the session uses once the client picked one.
#include <algorithm>

#include "sasl/scram.h"

namespace parley::sasl {

namespace {

struct Entry {
  std::string_view name;
  Hash hash;
  bool plus;
};

// Preference order: strongest hash first, channel-bound variants before the plain ones.
constexpr Entry kScram[] = {
    {"SCRAM-SHA-512-PLUS", Hash::Sha512, true}, {"SCRAM-SHA-256-PLUS", Hash::Sha256, true},
    {"SCRAM-SHA-1-PLUS", Hash::Sha1, true},     {"SCRAM-SHA-512", Hash::Sha512, false},
    {"SCRAM-SHA-256", Hash::Sha256, false},     {"SCRAM-SHA-1", Hash::Sha1, false},
};

bool can_bind(const ChannelBindings& cb) {
  return cb.tls && !cb.types().empty();
}

}  // namespace

// XEP-0440 advertises these; RFC 9266 tls-exporter first as the binding of choice for TLS 1.3.
std::vector<std::string> ChannelBindings::types() const {
  std::vector<std::string> out;
  if (!tls) return out;
  if (!tls_exporter.empty()) out.emplace_back("tls-exporter");
  if (!tls_server_end_point.empty()) out.emplace_back("tls-server-end-point");
  return out;
}

std::vector<std::string> offered(const ChannelBindings& cb,
                                 const std::vector<std::string>& enabled) {
  auto allowed = [&](std::string_view name) {
    return enabled.empty() || std::find(enabled.begin(), enabled.end(), name) != enabled.end();
  };
  std::vector<std::string> out;
  for (const auto& e : kScram) {
    if (e.plus && !can_bind(cb)) continue;
    if (allowed(e.name)) out.emplace_back(e.name);
  }
  if (cb.tls && allowed("PLAIN")) out.emplace_back("PLAIN");
  return out;
}

std::unique_ptr<Mechanism> create(std::string_view name, const ChannelBindings& cb) {
  if (name == "PLAIN") return cb.tls ? std::make_unique<Plain>() : nullptr;
  for (const auto& e : kScram) {
    if (e.name != name) continue;
    if (e.plus && !can_bind(cb)) return nullptr;
    return std::make_unique<Scram>(e.hash, e.plus, cb);
  }
  return nullptr;
}

}  // namespace parley::sasl
