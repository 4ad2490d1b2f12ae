#include "vfs/shim/log.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "extension/sqlite_api.h"

namespace ltxvfs::vfs {
namespace {

// Read on every message rather than cached: logging is rare, and this keeps no global state.
LogLevel configured_level() {
  const char* v = std::getenv("LTXVFS_LOG");
  if (v == nullptr || *v == '\0') return LogLevel::kWarn;
  if (std::strcmp(v, "off") == 0) return LogLevel::kOff;
  if (std::strcmp(v, "error") == 0) return LogLevel::kError;
  if (std::strcmp(v, "info") == 0) return LogLevel::kInfo;
  if (std::strcmp(v, "debug") == 0) return LogLevel::kDebug;
  return LogLevel::kWarn;
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

// How deep the current thread is in calls from SQLite (0: one of ltx's background threads, or a
// thread that is not calling SQLite). Per-thread call bookkeeping, like errno.
thread_local int sqlite_call_depth = 0;

void emit(int code, LogLevel level, const char* format, va_list args) {
  if (level == LogLevel::kOff || level > configured_level()) return;
  char buf[2048];
  std::vsnprintf(buf, sizeof buf, format, args);
  if (sqlite_call_depth > 0) sqlite3_log(code, "ltxvfs: %s", buf);
  std::fprintf(stderr, "ltxvfs %s: %s\n", level_name(level), buf);
}

}  // namespace

SqliteCallScope::SqliteCallScope() {
  ++sqlite_call_depth;
}

SqliteCallScope::~SqliteCallScope() {
  --sqlite_call_depth;
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

void log_from_core(core::LogSeverity severity, const std::string& message) {
  switch (severity) {
    case core::LogSeverity::kError:
      log_error(SQLITE_ERROR, "%s", message.c_str());
      break;
    case core::LogSeverity::kWarn:
      log_at(LogLevel::kWarn, "%s", message.c_str());
      break;
    case core::LogSeverity::kInfo:
      log_at(LogLevel::kInfo, "%s", message.c_str());
      break;
    default:
      log_at(LogLevel::kDebug, "%s", message.c_str());
  }
}

}  // namespace ltxvfs::vfs
