// Schema migrations: schema/<backend>/NNN_name.sql, compiled into the binary (cmake/Embed.cmake)
// and applied in order at start (and by `parleyctl db migrate`). Applied versions are recorded
// in the schema_version table.
#pragma once

#include <string>
#include <vector>

namespace parley::storage {

class Connection;

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

const std::vector<Migration>& schema_sqlite();
const std::vector<Migration>& schema_postgresql();

// Applies every migration newer than the recorded version; returns how many ran.
int migrate(Connection& connection);
int schema_version(Connection& connection);

}  // namespace parley::storage
