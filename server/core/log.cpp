#include "core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace parley::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::mutex g_mutex;
FILE* g_out = nullptr;  // null = stderr
std::string g_path;

const char* name(Level l) {
  switch (l) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
    default:
      return "off";
  }
}
}  // namespace

bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}
void set_level(Level level) {
  g_level.store(static_cast<int>(level));
}

std::optional<Level> parse_level(std::string_view n) {
  if (n == "debug") return Level::Debug;
  if (n == "info") return Level::Info;
  if (n == "warn" || n == "warning") return Level::Warn;
  if (n == "error") return Level::Error;
  if (n == "off") return Level::Off;
  return std::nullopt;
}

bool set_file(const std::string& path) {
  std::lock_guard lock(g_mutex);
  FILE* f = std::fopen(path.c_str(), "a");
  if (!f) return false;
  if (g_out) std::fclose(g_out);
  g_out = f;
  g_path = path;
  return true;
}

void reopen() {
  std::lock_guard lock(g_mutex);
  if (g_path.empty()) return;
  if (FILE* f = std::fopen(g_path.c_str(), "a")) {
    if (g_out) std::fclose(g_out);
    g_out = f;
  }
}

void write(Level level, std::string_view component, std::string_view text) {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::lock_guard lock(g_mutex);
  FILE* out = g_out ? g_out : stderr;
  std::fprintf(out, "%s.%03dZ %-5s %.*s: %.*s\n", stamp, static_cast<int>(ms), name(level),
               static_cast<int>(component.size()), component.data(), static_cast<int>(text.size()),
               text.data());
  std::fflush(out);
}

}  // namespace parley::log
