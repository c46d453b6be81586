// Logging: one line per event with level and component (DESIGN §7). Thread-safe.
//   PLOG(Info, "c2s") << "bound " << jid.str();
// Never log passwords, tokens or message bodies above Debug.
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace parley::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

bool enabled(Level level);
void set_level(Level level);
std::optional<Level> parse_level(std::string_view name);
// Log to a file instead of stderr; reopen() is called on SIGHUP for log rotation.
bool set_file(const std::string& path);
void reopen();
void write(Level level, std::string_view component, std::string_view text);

class Line {
 public:
  Line(Level level, std::string_view component) : level_(level), component_(component) {}
  ~Line() { write(level_, component_, out_.str()); }
  std::ostringstream& stream() { return out_; }

 private:
  Level level_;
  std::string_view component_;
  std::ostringstream out_;
};

}  // namespace parley::log

#define PLOG(level, component)                                \
  if (!::parley::log::enabled(::parley::log::Level::level)) { \
  } else                                                      \
    ::parley::log::Line(::parley::log::Level::level, component).stream()
