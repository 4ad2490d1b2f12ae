// Logging and the error type of the SQLite-facing layer.
//
// One sink for every layer, governed by the LTXVFS_LOG environment variable (off, error, warn,
// info, debug; default warn): nothing below that level is reported anywhere.
//
// - What the shim reports on a thread that is calling SQLite (an open refused, a failed file
//   method: log_error/log_at) goes to stderr and to sqlite3_log() (the host's SQLITE_CONFIG_LOG
//   callback, if any). A VFS cannot attach text to SQLite's error messages, so without stderr a
//   user would see only "disk I/O error".
// - What the SQLite-free engines report (log_from_core: the writer's and the replica's threads
//   among them) goes to stderr only: a host's log callback need not be thread-safe (Tcl's is not),
//   SQLite itself only calls it on the threads that call SQLite, and ltx_stats() shows the
//   engines' last error either way.
//
// Callers must never pass a secret to these functions.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "base/log_sink.h"

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

// LTXVFS_LOG set to something that is not a level: says so (on stderr and to sqlite3_log), naming
// the accepted values. Called when the extension is loaded.
void warn_about_log_setting();

void log_error(int code, const char* format, ...) __attribute__((format(printf, 2, 3)));
void log_at(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

// The sink the SQLite-free engines (writer, replica, store) report through: stderr at LTXVFS_LOG's
// level (see above).
void log_from_core(base::LogSeverity severity, const std::string& message);
inline base::LogSink core_log_sink() {
  return log_from_core;
}
// For storage::StoreSettings::log (store warnings, e.g. TLS verification disabled).
inline void log_store_warning(std::string_view message) {
  log_from_core(base::LogSeverity::kWarn, std::string(message));
}

}  // namespace ltxvfs::vfs
