// LogSink: where the replication engines (writer and replica) report what an operator should
// know. The shim sends it to sqlite3_log() and, at or above LTXVFS_LOG's level, to stderr: one
// sink for every layer, so LTXVFS_LOG=off silences everything. Messages never contain secrets.
#pragma once

#include <functional>
#include <string>

namespace ltxvfs::base {

enum class LogSeverity { kError, kWarn, kInfo, kDebug };
using LogSink = std::function<void(LogSeverity, const std::string&)>;

}  // namespace ltxvfs::base
