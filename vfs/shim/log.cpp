#include "vfs/shim/log.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "vfs/shim/sqlite_api.h"

namespace ltxvfs::vfs {
namespace {

// Read on every message rather than cached: logging is rare, and this keeps no global state.
// LTXVFS_LOG's level; nullopt when it names none (then the default, warn, applies).
std::optional<LogLevel> parse_level(const char* v) {
  if (v == nullptr || *v == '\0') return LogLevel::kWarn;
  if (std::strcmp(v, "off") == 0) return LogLevel::kOff;
  if (std::strcmp(v, "error") == 0) return LogLevel::kError;
  if (std::strcmp(v, "warn") == 0 || std::strcmp(v, "warning") == 0) return LogLevel::kWarn;
  if (std::strcmp(v, "info") == 0) return LogLevel::kInfo;
  if (std::strcmp(v, "debug") == 0) return LogLevel::kDebug;
  return std::nullopt;
}

LogLevel configured_level() {
  return parse_level(std::getenv("LTXVFS_LOG")).value_or(LogLevel::kWarn);
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarn:
      return "warning";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
    default:
      return "";
  }
}

bool enabled(LogLevel level) {
  return level != LogLevel::kOff && level <= configured_level();
}

void to_stderr(LogLevel level, const char* text) {
  std::fprintf(stderr, "ltxvfs %s: %s\n", level_name(level), text);
}

// The format attribute lets the compilers check every caller's format against its arguments.
__attribute__((format(printf, 3, 0))) void emit(int code, LogLevel level, const char* format,
                                                va_list args) {
  if (!enabled(level)) return;
  char buf[2048];
  std::vsnprintf(buf, sizeof buf, format, args);
  sqlite3_log(code, "ltxvfs: %s", buf);
  to_stderr(level, buf);
}

}  // namespace

void warn_about_log_setting() {
  const char* v = std::getenv("LTXVFS_LOG");
  if (parse_level(v)) return;
  std::string text = std::string("LTXVFS_LOG='") + v +
                     "' is not a level; expected off, error, warn, info or debug. Using warn";
  sqlite3_log(SQLITE_WARNING, "ltxvfs: %s", text.c_str());
  to_stderr(LogLevel::kWarn, text.c_str());
}

void log_error(int code, const char* format, ...) {
  va_list args;
  va_start(args, format);
  emit(code, LogLevel::kError, format, args);
  va_end(args);
}

void log_at(LogLevel level, const char* format, ...) {
  va_list args;
  va_start(args, format);
  emit(level <= LogLevel::kWarn ? SQLITE_WARNING : SQLITE_NOTICE, level, format, args);
  va_end(args);
}

void log_from_core(base::LogSeverity severity, const std::string& message) {
  LogLevel level = LogLevel::kDebug;
  switch (severity) {
    case base::LogSeverity::kError:
      level = LogLevel::kError;
      break;
    case base::LogSeverity::kWarn:
      level = LogLevel::kWarn;
      break;
    case base::LogSeverity::kInfo:
      level = LogLevel::kInfo;
      break;
    default:
      break;
  }
  if (enabled(level)) to_stderr(level, message.c_str());
}

}  // namespace ltxvfs::vfs
