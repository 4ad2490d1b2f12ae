// LocalState: where the writer stands — the newest TXID built, the LTX database checksum and size
// at that TXID, and the place in the WAL just past its commit frame — so a restarted process can
// tell whether the database still continues the replicated history.
//
// The spool carries it: every spooled record holds the state after it (spool.h), so recording the
// position costs nothing beyond the append that spools the transaction. <db>-ltx/state.json holds
// it too, written durably when the replicator closes: the fallback when the spool is gone.
// Whatever is read back is validated before use (validate()): a corrupted or hand-edited file must
// never crash the host process, it only costs a new snapshot.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "vfs/writer/wal_scanner.h"

namespace ltxvfs::writer {

// The largest TXID a state may record: TXIDs reach SQL as signed 64-bit integers (ltx_txid(),
// PRAGMA ltx_txid), and no real history comes near it.
inline constexpr uint64_t kMaxTxid = std::numeric_limits<int64_t>::max();

struct LocalState {
  uint32_t page_size = 0;  // 0: the database was empty (no page yet) at `txid`
  uint64_t txid = 0;       // last TXID built and spooled
  uint64_t checksum = 0;   // LTX database checksum of the state at `txid`
  uint32_t commit = 0;     // database size in pages at `txid`
  WalPosition wal;         // just past the commit frame of `txid` in the WAL
  int64_t timestamp_ms = 0;

  bool operator==(const LocalState&) const = default;
};

// "" when `state` is usable; otherwise what is wrong with it (for a message). Checks the page
// size (0, or a power of two from 512 to 65536), the TXID (at most kMaxTxid), that an empty state
// has no pages, and that the WAL offset is a frame boundary of that page size.
std::string validate(const LocalState& state);

// Reads the state file; nullopt when there is none. Throws std::runtime_error when it exists but
// cannot be parsed or fails validate() (the message names the file and the problem).
std::optional<LocalState> read_local_state(const std::string& path);
// Writes via a temporary file and rename; `durable` adds fsync of the file and its directory.
void write_local_state(const std::string& path, const LocalState& state, bool durable,
                       uint32_t file_mode);

}  // namespace ltxvfs::writer
