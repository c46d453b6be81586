// Accounts and their SCRAM credentials (DESIGN §6: never a password, RFC 5802 §3). Binary
// values are stored as lower-case hex text so both backends hold identical data.
#include "storage/account_store.h"

#include <chrono>

namespace parley::storage {
namespace {

struct HashColumns {
  std::optional<sasl::ScramKeys> sasl::Credentials::*member;
  const char* prefix;
};
constexpr HashColumns kHashes[] = {
    {&sasl::Credentials::sha1, "sha1"},
    {&sasl::Credentials::sha256, "sha256"},
    {&sasl::Credentials::sha512, "sha512"},
};

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

std::string unhex(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.size() % 2) throw DatabaseError("stored credential is not hex");
  std::string out(text.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) throw DatabaseError("stored credential is not hex");
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

// The 12 credential parameters, in column order sha1_salt .. sha512_server_key.
void append_credentials(Params& p, const sasl::Credentials& creds) {
  for (const auto& h : kHashes) {
    const auto& keys = creds.*h.member;
    if (keys) {
      p.emplace_back(hex(keys->salt));
      p.emplace_back(int64_t{keys->iterations});
      p.emplace_back(hex(keys->stored_key));
      p.emplace_back(hex(keys->server_key));
    } else {
      p.insert(p.end(), 4, nullptr);
    }
  }
}

constexpr const char* kCredentialColumns =
    "sha1_salt, sha1_iterations, sha1_stored_key, sha1_server_key, "
    "sha256_salt, sha256_iterations, sha256_stored_key, sha256_server_key, "
    "sha512_salt, sha512_iterations, sha512_stored_key, sha512_server_key";

// Tables holding per-account rows; AccountStore::remove clears each of them. Child tables
// first (roster_groups also cascades from roster_items, this just saves the lookups).
constexpr const char* kAccountTables[] = {"roster_groups",   "roster_items",
                                          "roster_versions", "subscription_requests",
                                          "user_data",       "accounts"};

Params key(const Jid& bare) {
  return {std::string(bare.domain()), std::string(bare.local())};
}

int64_t now_seconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

bool AccountStore::create(const Jid& bare, const sasl::Credentials& creds) {
  Params p = key(bare);
  p.emplace_back(now_seconds());
  append_credentials(p, creds);
  return c_.exec(std::string("INSERT INTO accounts (host, username, created_at, ") +
                     kCredentialColumns +
                     ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT (host, username) DO NOTHING",
                 p) == 1;
}

std::optional<sasl::Credentials> AccountStore::credentials(const Jid& bare) {
  auto rows = c_.query(std::string("SELECT ") + kCredentialColumns +
                           " FROM accounts WHERE host = ? AND username = ?",
                       key(bare));
  if (rows.empty()) return std::nullopt;
  const Row& r = rows[0];
  sasl::Credentials creds;
  size_t col = 0;
  for (const auto& h : kHashes) {
    if (!r.is_null(col)) {
      sasl::ScramKeys k;
      k.salt = unhex(r.str(col));
      k.iterations = static_cast<uint32_t>(r.integer(col + 1));
      k.stored_key = unhex(r.str(col + 2));
      k.server_key = unhex(r.str(col + 3));
      creds.*h.member = std::move(k);
    }
    col += 4;
  }
  return creds;
}

bool AccountStore::set_credentials(const Jid& bare, const sasl::Credentials& creds) {
  Params p;
  append_credentials(p, creds);
  auto k = key(bare);
  p.insert(p.end(), k.begin(), k.end());
  return c_.exec(
             "UPDATE accounts SET sha1_salt = ?, sha1_iterations = ?, sha1_stored_key = ?, "
             "sha1_server_key = ?, sha256_salt = ?, sha256_iterations = ?, "
             "sha256_stored_key = ?, sha256_server_key = ?, sha512_salt = ?, "
             "sha512_iterations = ?, sha512_stored_key = ?, sha512_server_key = ? "
             "WHERE host = ? AND username = ?",
             p) > 0;
}

bool AccountStore::exists(const Jid& bare) {
  return !c_.query("SELECT 1 FROM accounts WHERE host = ? AND username = ?", key(bare)).empty();
}

bool AccountStore::remove(const Jid& bare) {
  return c_.transaction([&] {
    int64_t accounts = 0;
    for (const char* table : kAccountTables)
      accounts = c_.exec(std::string("DELETE FROM ") + table + " WHERE host = ? AND username = ?",
                         key(bare));
    return accounts > 0;  // the last table is accounts
  });
}

std::vector<std::string> AccountStore::list(std::string_view host) {
  // Bytewise order on both backends (COLLATE "C" columns on PostgreSQL).
  auto rows = c_.query("SELECT username FROM accounts WHERE host = ? ORDER BY username",
                       {std::string(host)});
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(r.str(0));
  return out;
}

int64_t AccountStore::count(std::string_view host) {
  return c_.query("SELECT COUNT(*) FROM accounts WHERE host = ?", {std::string(host)})
      .at(0)
      .integer(0);
}

}  // namespace parley::storage
