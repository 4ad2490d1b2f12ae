// A mixed workload modelled on SQLite's speedtest1 (test/speedtest1.c, "main" test set), written
// for this benchmark: the same kinds of operations — bulk INSERTs in one transaction, ordered and
// unordered keys, indexed and unindexed SELECTs, CREATE INDEX, UPDATEs and DELETEs by range and
// by key, a whole-table UPDATE, a refill with INSERT ... SELECT, VACUUM — plus what speedtest1
// lacks and applications do all day: many small auto-committed transactions, and a
// wal_checkpoint(TRUNCATE). Deterministic: every run and every VFS does exactly the same work.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/support/sqlite_host.h"

namespace ltxvfs::bench {

struct MixedPhase {
  std::string name;  // "5000 1-row INSERT txns"
  std::function<void(Connection&)> run;
};

// The phases for tables of `rows` rows, in the order they must run (each builds on the
// previous ones), on a fresh database in WAL mode.
std::vector<MixedPhase> mixed_phases(int64_t rows);

// A digest of the final content (row counts and sums of every table), to check that two runs
// did the same work.
std::string mixed_digest(Connection& db);

// English words for `n` ("one thousand two hundred three"): text that sorts and compresses like
// names, as speedtest1's does.
std::string number_words(uint64_t n);

}  // namespace ltxvfs::bench
