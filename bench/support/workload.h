// The rows the figures write: t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT) with an index on k,
// and text that compresses about as well as typical application data (about 2:1), generated
// deterministically so that every run and every VFS writes the same bytes. k grows with id, like
// a timestamp (k = id * 1024 + jitter): the index is appended to, and rows with neighbouring k
// share table pages, as in a typical time-ordered table.
#pragma once

#include <cstdint>
#include <string>

#include "bench/support/sqlite_host.h"

namespace ltxvfs::bench {

// WAL mode, the given synchronous level, and the table (with its index).
void prepare_database(Connection& db, const std::string& synchronous = "NORMAL");

// `bytes` characters from a 16-letter alphabet, seeded by `row`.
std::string payload(int64_t row, size_t bytes);
// The k of row `id`.
int64_t key_of(int64_t id);

class RowWriter {
 public:
  RowWriter(Connection& db, size_t payload_bytes);
  // Inserts row `id`.
  void insert(int64_t id);
  // `txns` transactions of `rows_per_txn` rows, ids from `first_id`. Returns the next id.
  int64_t insert_transactions(int64_t first_id, int64_t txns, int64_t rows_per_txn);

 private:
  Connection& db_;
  Statement insert_;
  Statement begin_;
  Statement commit_;
  size_t payload_bytes_;
};

// Fills the table to about `megabytes` of database in transactions of `rows_per_txn` rows.
// Returns the number of rows.
int64_t fill_to_size(Connection& db, uint64_t megabytes, size_t payload_bytes,
                     int64_t rows_per_txn);

}  // namespace ltxvfs::bench
