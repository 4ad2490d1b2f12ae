// The writer's lease object, <root>/lock.json: {"generation":N,"expires_at":"RFC 3339",
// "owner":"host:pid"} (Litestream v0.5's shape). Commands that change a replica (compact,
// retention) refuse while another process holds an unexpired lease: the writer shapes its own
// history, and two engines at once would race each other's deletions.
#pragma once

#include <cstdint>
#include <string>

#include "storage/object_store.h"
#include "storage/replica_layout.h"

namespace ltxvfs::cli {

struct LeaseStatus {
  enum class Kind { kNone, kActive, kExpired, kUnreadable };
  Kind kind = Kind::kNone;
  std::string owner;
  int64_t expires_at_ms = 0;
  std::string detail;  // for kUnreadable: what is wrong with it
};

LeaseStatus read_writer_lease(storage::ObjectStore& store, storage::LayoutStyle layout,
                              int64_t now_ms);

// Prints why `command` refuses (returns false) or a warning (returns true) as the lease requires;
// `force` turns a refusal into a warning.
bool lease_allows(const std::string& command, storage::ObjectStore& store,
                  storage::LayoutStyle layout, bool force);

}  // namespace ltxvfs::cli
