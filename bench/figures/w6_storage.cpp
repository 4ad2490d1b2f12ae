// W6 storage: bytes in the store after loading the sample databases through `ltx` (the SQLite
// backup API copies every page into a WAL-mode database in one transaction), and after 10 k
// one-row UPDATE transactions on top (Chinook only), native output (zstd pages, checksums)
// against format=litestream (LZ4), relative to the database size. Local-directory replica: the
// bytes are the same for any store. Uploads are grouped by the default window (1 s), so the
// number of objects after the updates depends on how fast they were committed; it is reported.
#include <sqlite3.h>

#include "bench/figures/figures.h"
#include "bench/support/replication.h"
#include "bench/support/scratch.h"
#include "bench/support/sqlite_host.h"

namespace ltxvfs::bench {
namespace {

struct SampleDb {
  const char* name;
  const char* file;
  const char* update;  // one-row update, ?1 = key
  int64_t keys;        // keys 1..keys exist
};

constexpr SampleDb kChinook{"Chinook", "Chinook_Sqlite.sqlite",
                            "UPDATE Track SET UnitPrice = UnitPrice + 0.01 WHERE TrackId = ?1",
                            3503};
constexpr SampleDb kNorthwind{"Northwind", "Northwind_small.sqlite", nullptr, 0};

void copy_database(Connection& from, Connection& to) {
  sqlite3_backup* backup = sqlite3_backup_init(to.get(), "main", from.get(), "main");
  if (backup == nullptr)
    throw std::runtime_error(std::string("backup: ") + sqlite3_errmsg(to.get()));
  const int rc = sqlite3_backup_step(backup, -1);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) throw std::runtime_error(std::string("backup: ") + sqlite3_errstr(rc));
}

double db_kib(Connection& db) {
  return static_cast<double>(db.query_int("PRAGMA page_count") * db.query_int("PRAGMA page_size")) /
         1024;
}

void add_row(const Context& ctx, const std::string& name, double db, const std::string& replica,
             const nlohmann::json& stats) {
  Row row;
  row.figure = "W6";
  row.name = name;
  row.unit = "KiB";
  row.baseline_label = "database size";
  row.baseline = Summary{1, db, db, db};
  const double store = static_cast<double>(tree_bytes(replica)) / 1024;
  row.ltx = Summary{1, store, store, store};
  row.store = store_cost_of(stats);
  const auto objects = tree_files(replica);
  row.note = std::to_string(objects) + " objects; plain column = database size";
  row.extra = {{"objects", objects}};
  ctx.report.add(std::move(row));
}

}  // namespace

void run_w6_storage(const Context& ctx) {
  for (const std::string format : {"native", "litestream"}) {
    const std::string label = format == "native" ? "native zstd" : "litestream lz4";
    for (const SampleDb& sample : {kChinook, kNorthwind}) {
      ScratchDir dir(ctx.work_dir(), "w6");
      Connection source(db_uri(std::string(LTXVFS_BENCH_DATA_DIR) + "/" + sample.file, "unix",
                               "mode=ro&immutable=1"),
                        SQLITE_OPEN_READONLY);
      // A WAL database cannot change its page size: create it with the sample's.
      const auto page_size = source.query_int("PRAGMA page_size");
      Connection db(db_uri(dir.file("app.db"), "ltx",
                           "format=" + format + "&page_size=" + std::to_string(page_size)));
      db.exec("PRAGMA journal_mode=WAL");
      copy_database(source, db);
      const std::string replica = dir.file("app.db-ltx/replica");
      add_row(ctx, std::string(sample.name) + " loaded, " + label, db_kib(db), replica,
              wait_replicated(db));
      if (sample.update == nullptr) continue;
      Statement update(db, sample.update);
      uint64_t state = 1;
      for (int i = 0; i < ctx.sizes().small_txns; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        update.bind(1, static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(sample.keys)) + 1)
            .run();
      }
      add_row(ctx,
              std::string(sample.name) + " + " + format_number(ctx.sizes().small_txns) +
                  " updates, " + label,
              db_kib(db), replica, wait_replicated(db, std::chrono::minutes(5)));
    }
  }
}

}  // namespace ltxvfs::bench
