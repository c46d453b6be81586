// PostgreSQL backend (DESIGN §6) on libpqxx 6.4: production and the shared store of a cluster.
// SQL arrives with '?' placeholders and is rewritten to $1..$n once, then run as a named
// prepared statement (parsed and planned once per connection).
#include <pqxx/pqxx>

#include <string>
#include <unordered_map>

#include "core/log.h"
#include "storage/backend.h"

namespace parley::storage::detail {
namespace {

// '?' -> $n, leaving string literals, quoted identifiers and comments alone. Dollar-quoted and
// E'' strings are not recognized: the SQL we write with placeholders uses neither.
std::string rewrite_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 8);
  int n = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '\'' || c == '"') {  // a doubled quote inside is just two literals back to back
      size_t end = sql.find(c, i + 1);
      if (end == std::string_view::npos) end = sql.size() - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      if (end == std::string_view::npos) end = sql.size() - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      size_t end = sql.find("*/", i + 2);
      end = end == std::string_view::npos ? sql.size() - 1 : end + 1;
      out.append(sql.substr(i, end - i + 1));
      i = end;
    } else if (c == '?') {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

[[noreturn]] void translate(std::string_view sql) {
  try {
    throw;
  } catch (const pqxx::sql_error& e) {
    std::string state = e.sqlstate();
    throw DatabaseError("postgresql: " + std::string(e.what()) +
                        (state.empty() ? "" : " (SQLSTATE " + state + ")") +
                        " in: " + std::string(sql.substr(0, 200)));
  } catch (const pqxx::broken_connection& e) {
    throw DatabaseError("postgresql: connection lost: " + std::string(e.what()) +
                        " (SQLSTATE 08006)");
  } catch (const pqxx::failure& e) {
    throw DatabaseError("postgresql: " + std::string(e.what()));
  } catch (const pqxx::usage_error& e) {
    throw DatabaseError("postgresql: " + std::string(e.what()));
  }
}

class PgConnection final : public Connection {
 public:
  explicit PgConnection(const std::string& conninfo) {
    try {
      conn_ = std::make_unique<pqxx::connection>(conninfo);
    } catch (...) {
      translate("connect");
    }
  }

  // An open transaction is rolled back by the server when the connection closes.
  Backend backend() const override { return Backend::PostgreSQL; }

  int64_t exec(std::string_view sql, const Params& params) override {
    return run(sql, params).affected_rows();
  }

  Rows query(std::string_view sql, const Params& params) override {
    pqxx::result r = run(sql, params);
    Rows rows;
    rows.reserve(r.size());
    for (const auto& row : r) {
      std::vector<std::optional<std::string>> cols;
      cols.reserve(row.size());
      for (const auto& field : row) {
        if (field.is_null())
          cols.emplace_back(std::nullopt);
        else
          cols.emplace_back(std::string(field.c_str(), field.size()));
      }
      rows.emplace_back(std::move(cols));
    }
    return rows;
  }

  // Transactions are plain SQL on the session (BEGIN, SAVEPOINT, COMMIT): pqxx's transaction
  // objects close themselves after a failed statement, which would make a savepoint useless
  // for recovering from exactly that. Nested begin() calls are savepoints.
  void begin() override {
    run_plain(depth_ == 0 ? "BEGIN" : "SAVEPOINT parley_" + std::to_string(depth_));
    ++depth_;
  }

  void commit() override {
    if (depth_ == 0) throw DatabaseError("postgresql: commit without begin");
    --depth_;
    // A failed COMMIT ends the transaction on the server too (it rolls back).
    run_plain(depth_ == 0 ? "COMMIT" : "RELEASE SAVEPOINT parley_" + std::to_string(depth_));
  }

  void rollback() override {
    if (depth_ == 0) return;
    --depth_;
    try {
      if (depth_ == 0) {
        run_plain("ROLLBACK");
      } else {
        // Allowed even when the transaction is in the aborted state after an error.
        std::string sp = "parley_" + std::to_string(depth_);
        run_plain("ROLLBACK TO SAVEPOINT " + sp + "; RELEASE SAVEPOINT " + sp);
      }
    } catch (const std::exception& e) {
      PLOG(Error, "storage") << "rollback failed: " << e.what();
    }
  }

 private:
  void run_plain(const std::string& statement) {
    try {
      pqxx::nontransaction tx(*conn_);
      tx.exec(statement);
    } catch (...) {
      translate(statement);
    }
  }

  pqxx::result run(std::string_view sql, const Params& params) {
    try {
      pqxx::nontransaction tx(*conn_);
      return run_in(tx, sql, params);
    } catch (const DatabaseError&) {
      throw;
    } catch (...) {
      translate(sql);
    }
  }

  pqxx::result run_in(pqxx::transaction_base& tx, std::string_view sql, const Params& params) {
    // Without parameters: the simple query protocol, which also runs multi-statement scripts
    // (migrations).
    if (params.empty()) return tx.exec(std::string(sql));
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (auto* n = std::get_if<int64_t>(&params[i])) {
        text[i] = std::to_string(*n);
      } else if (auto* s = std::get_if<std::string>(&params[i])) {
        // libpq passes text parameters as C strings, and PostgreSQL text cannot hold NUL.
        if (s->find('\0') != std::string::npos)
          throw DatabaseError("postgresql: NUL byte in a text parameter");
        text[i] = *s;
      } else {
        continue;  // NULL stays nullptr
      }
      values[i] = text[i].c_str();
    }
    return tx.exec_prepared(statement(sql), pqxx::prepare::make_dynamic_params(values));
  }

  // Name of the prepared statement for sql, preparing it on first use.
  const std::string& statement(std::string_view sql) {
    std::string key(sql);
    auto it = statements_.find(key);
    if (it != statements_.end()) return it->second;
    std::string name = "parley_s" + std::to_string(statements_.size());
    conn_->prepare(name, rewrite_placeholders(sql));
    return statements_.emplace(std::move(key), std::move(name)).first->second;
  }

  std::unique_ptr<pqxx::connection> conn_;
  std::unordered_map<std::string, std::string> statements_;
  int depth_ = 0;  // open transaction levels on the server session
};

}  // namespace

std::unique_ptr<Connection> open_postgresql(const std::string& conninfo) {
  return std::make_unique<PgConnection>(conninfo);
}

}  // namespace parley::storage::detail
