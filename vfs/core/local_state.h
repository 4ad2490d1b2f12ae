// LocalState: where the writer stands, persisted beside the database (<db>-ltx/state.json) so a
// restarted process can tell whether the database still continues the replicated history.
//
// It is rewritten (atomically, by rename, without fsync) before each upload, so the store never
// holds a TXID it does not record, and durably with the spool before SQLite may checkpoint. What a
// crash loses from it (transactions spooled since) is rebuilt from the WAL on the next open.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "vfs/core/wal_scanner.h"

namespace ltxvfs::core {

struct LocalState {
  uint32_t page_size = 0;
  uint64_t txid = 0;           // last TXID built and spooled
  uint64_t checksum = 0;       // LTX database checksum of the state at `txid`
  uint32_t commit = 0;         // database size in pages at `txid`
  WalPosition wal;             // just past the commit frame of `txid` in the WAL
  uint64_t uploaded_txid = 0;  // last TXID the store acknowledged
  int64_t timestamp_ms = 0;

  bool operator==(const LocalState&) const = default;
};

// Reads the state file; nullopt when there is none. Throws std::runtime_error when it exists but
// cannot be parsed (the message names the file and says it can be deleted to start afresh).
std::optional<LocalState> read_local_state(const std::string& path);
// Writes via a temporary file and rename; `durable` adds fsync of the file and its directory.
void write_local_state(const std::string& path, const LocalState& state, bool durable);

}  // namespace ltxvfs::core
