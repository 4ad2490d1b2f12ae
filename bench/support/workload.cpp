#include "bench/support/workload.h"

namespace ltxvfs::bench {
namespace {

uint64_t mix(uint64_t x) {
  // splitmix64: cheap, and good enough that the text does not compress better than real data.
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

void prepare_database(Connection& db, const std::string& synchronous) {
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=" + synchronous);
  db.exec(
      "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, v TEXT NOT NULL);"
      "CREATE INDEX IF NOT EXISTS t_k ON t(k)");
}

std::string payload(int64_t row, size_t bytes) {
  static constexpr char kAlphabet[] = "abcdefghijklmnop";
  std::string out(bytes, ' ');
  uint64_t state = static_cast<uint64_t>(row);
  for (size_t i = 0; i < bytes; i += 16) {
    state = mix(state);
    for (size_t j = 0; j < 16 && i + j < bytes; ++j)
      out[i + j] = kAlphabet[(state >> (4 * j)) & 15];
  }
  return out;
}

int64_t key_of(int64_t id) {
  return id * 1024 + static_cast<int64_t>(mix(static_cast<uint64_t>(id)) & 1023);
}

RowWriter::RowWriter(Connection& db, size_t payload_bytes)
    : db_(db),
      insert_(db, "INSERT INTO t(id, k, v) VALUES (?1, ?2, ?3)"),
      begin_(db, "BEGIN"),
      commit_(db, "COMMIT"),
      payload_bytes_(payload_bytes) {}

void RowWriter::insert(int64_t id) {
  insert_.bind(1, id).bind(2, key_of(id)).bind(3, payload(id, payload_bytes_)).run();
}

int64_t RowWriter::insert_transactions(int64_t first_id, int64_t txns, int64_t rows_per_txn) {
  int64_t id = first_id;
  for (int64_t t = 0; t < txns; ++t) {
    begin_.run();
    for (int64_t r = 0; r < rows_per_txn; ++r) insert(id++);
    commit_.run();
  }
  return id;
}

int64_t fill_to_size(Connection& db, uint64_t megabytes, size_t payload_bytes,
                     int64_t rows_per_txn) {
  // A row costs its payload plus about 40 bytes of record, cell and index entry.
  const auto rows = static_cast<int64_t>((megabytes << 20) / (payload_bytes + 40));
  RowWriter writer(db, payload_bytes);
  int64_t id = 1;
  while (id <= rows) {
    const int64_t n = std::min(rows_per_txn, rows - id + 1);
    id = writer.insert_transactions(id, 1, n);
  }
  return rows;
}

}  // namespace ltxvfs::bench
