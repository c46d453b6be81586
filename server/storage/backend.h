// Private to server/storage: the backend factories behind connect() and Database::open().
#pragma once

#include <memory>
#include <string>

#include "storage/database.h"

namespace parley::storage::detail {

// Opens (creating the file and its directory if missing) an SQLite database in WAL mode.
std::unique_ptr<Connection> open_sqlite(const std::string& path);
// Opens a PostgreSQL connection from a libpq connection string.
std::unique_ptr<Connection> open_postgresql(const std::string& conninfo);

}  // namespace parley::storage::detail
