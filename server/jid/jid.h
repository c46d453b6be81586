// JID value type (RFC 7622). Parts are normalized on construction: localpart with the PRECIS
// UsernameCaseMapped profile, domainpart via IDNA2008/UTS 46 to its U-label form, lower-cased,
// resourcepart with the OpaqueString profile. Normalization results are cached.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace parley {

class Jid {
 public:
  Jid() = default;

  // Parse and normalize "local@domain/resource". std::nullopt when malformed (jid-malformed).
  static std::optional<Jid> parse(std::string_view text);
  static std::optional<Jid> from_parts(std::string_view local, std::string_view domain,
                                       std::string_view resource = {});

  // Individual part normalization; std::nullopt when the part is invalid.
  static std::optional<std::string> prep_local(std::string_view local);
  static std::optional<std::string> prep_domain(std::string_view domain);
  static std::optional<std::string> prep_resource(std::string_view resource);

  std::string_view local() const { return std::string_view(full_).substr(0, local_len_); }
  std::string_view domain() const {
    return std::string_view(full_).substr(domain_pos(), domain_len_);
  }
  std::string_view resource() const {
    size_t pos = domain_pos() + domain_len_;
    return pos < full_.size() ? std::string_view(full_).substr(pos + 1) : std::string_view{};
  }
  bool has_local() const { return local_len_ > 0; }
  bool has_resource() const { return domain_pos() + domain_len_ < full_.size(); }
  bool is_bare() const { return !has_resource(); }
  bool empty() const { return full_.empty(); }

  Jid bare() const;
  Jid with_resource(std::string_view resource) const;  // resource must already be valid
  std::string_view bare_str() const {
    return std::string_view(full_).substr(0, domain_pos() + domain_len_);
  }
  const std::string& str() const { return full_; }

  friend bool operator==(const Jid& a, const Jid& b) { return a.full_ == b.full_; }
  friend bool operator<(const Jid& a, const Jid& b) { return a.full_ < b.full_; }

 private:
  size_t domain_pos() const { return local_len_ ? local_len_ + 1 : 0; }
  std::string full_;  // normalized "local@domain/resource"
  unsigned short local_len_ = 0;
  unsigned short domain_len_ = 0;
};

}  // namespace parley

template <>
struct std::hash<parley::Jid> {
  size_t operator()(const parley::Jid& j) const noexcept {
    return std::hash<std::string>{}(j.str());
  }
};
