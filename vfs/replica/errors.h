// The errors of the replica engine. The engine does not know SQLite; the shim maps each kind to a
// SQLite result code (replica_file.cpp), so an application can tell a retriable lost snapshot from
// a bad parameter or an unreachable store.
#pragma once

#include "base/log_sink.h"

#include <functional>
#include <stdexcept>
#include <string>

namespace ltxvfs::replica {

enum class ReplicaErrorKind {
  kInvalidArgument,  // a bad URI parameter, pragma value or function argument
  kEmpty,            // the replica holds no restorable state (yet)
  kUnreachable,      // the requested TXID or time cannot be reached (gap, retention)
  kSnapshotLost,     // an object the pinned snapshot needs is gone: retry the transaction
  kPinned,           // the replica is held at a fixed TXID/time (time travel)
  kTimeout,          // ltx_wait gave up
  kCorrupt,          // an object does not hold what its index says
};

class ReplicaError : public std::runtime_error {
 public:
  ReplicaError(ReplicaErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  ReplicaErrorKind kind() const { return kind_; }

 private:
  ReplicaErrorKind kind_;
};

// Where the engine reports what an operator should know: the same sink as the writer's.
using LogSeverity = base::LogSeverity;
using ReplicaLog = base::LogSink;

}  // namespace ltxvfs::replica
