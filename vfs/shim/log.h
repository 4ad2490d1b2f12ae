// Logging and the error type of the SQLite-facing layer.
//
// One sink for every layer: messages at or above the level named by the LTXVFS_LOG environment
// variable (off, error, warn, info, debug; default warn) go to stderr — a VFS cannot attach text to
// SQLite's error messages, so without it a user would see only "disk I/O error" — and to
// sqlite3_log() (the host's SQLITE_CONFIG_LOG callback, if any) when they are reported on a thread
// that is inside a call from SQLite. Reports of ltx's own background threads go to stderr only: a
// host's log callback need not be thread-safe (Tcl's is not), and SQLite itself only calls it on
// the threads that call SQLite. ltx_stats() shows the background's last error either way.
// Callers must never pass a secret to these functions.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "vfs/core/log_sink.h"

namespace ltxvfs::vfs {

enum class LogLevel { kOff = 0, kError = 1, kWarn = 2, kInfo = 3, kDebug = 4 };

// An error that carries the SQLite result code to return at the C boundary.
class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// Marks the current thread as inside a call from SQLite for the scope's life (guard() does).
class SqliteCallScope {
 public:
  SqliteCallScope();
  ~SqliteCallScope();
  SqliteCallScope(const SqliteCallScope&) = delete;
  SqliteCallScope& operator=(const SqliteCallScope&) = delete;
};

void log_error(int code, const char* format, ...) __attribute__((format(printf, 2, 3)));
void log_at(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

// The sink the SQLite-free engines (writer, replica, store) report through: the same path as
// above, so LTXVFS_LOG governs every layer.
void log_from_core(core::LogSeverity severity, const std::string& message);
inline core::LogSink core_log_sink() {
  return log_from_core;
}
// For storage::StoreSettings::log (store warnings, e.g. TLS verification disabled).
inline void log_store_warning(std::string_view message) {
  log_from_core(core::LogSeverity::kWarn, std::string(message));
}

}  // namespace ltxvfs::vfs
