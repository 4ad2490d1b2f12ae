// W5 restore: restoring the large replica (and again after 10 k small transactions on top)
// through the simulated distant store, against the raw parallel download of the same objects
// through the same proxy with the same parallelism (8), plus the CPU time of decoding alone
// (every object verified and every page decompressed, from memory, on one thread and on all
// cores), and hydrate=1 of the same replica.
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "base/parallel_for.h"
#include "bench/figures/large_replica.h"
#include "bench/support/machine.h"
#include "bench/support/scratch.h"
#include "bench/support/sqlite_host.h"
#include "history/read_ahead_source.h"
#include "history/restorer.h"
#include "ltx/decoded_file.h"
#include "ltx/source.h"

namespace ltxvfs::bench {
namespace {

// Where the decode rows' pages go: counted, not written.
struct CountingWriter final : ltx::PageWriter {
  uint64_t bytes = 0;
  void write_page(uint32_t, std::span<const uint8_t> page) override { bytes += page.size(); }
  void write_pages(uint32_t, std::span<const uint8_t> pages, uint32_t) override {
    bytes += pages.size();
  }
  void truncate(uint32_t, uint32_t) override {}
};

using Clock = std::chrono::steady_clock;
constexpr unsigned kParallelism = 8;  // the restorer's default

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

void plan_newest(LargeReplica& replica) {
  auto opened = replica.bucket->open(replica.prefix);
  const auto files = ltxvfs::history::list_ltx_files(*opened.store, opened.layout);
  replica.plan =
      ltxvfs::history::plan_restore(files, ltxvfs::history::newest_restorable_txid(files));
  replica.plan_bytes = 0;
  for (const auto& f : replica.plan) replica.plan_bytes += f.size;
}

void measure_restore(const Context& ctx, LargeReplica& replica, const std::string& name,
                     bool report) {
  plan_newest(replica);
  std::vector<double> raw, restore, db_rate, integrity, raw_busy, restore_busy;
  std::vector<StoreCost> costs;
  for (int r = 0; r < ctx.sizes().heavy_runs; ++r) {
    const BusyCores raw_cores;
    raw.push_back(raw_parallel_download(replica, kParallelism));
    raw_busy.push_back(raw_cores.cores());
    if (!report) continue;
    ScratchDir out(ctx.work_dir(), "w5-restore");
    auto opened = replica.bucket->open(replica.prefix, replica.via);
    ltxvfs::history::RestoreOptions options;
    options.parallelism = kParallelism;
    const BusyCores restore_cores;
    const auto start = Clock::now();
    ltxvfs::history::restore(*opened.store, replica.plan, out.file("restored.db"), options);
    restore.push_back(seconds_since(start));
    restore_busy.push_back(restore_cores.cores());
    costs.push_back(store_cost_of(opened.stats->snapshot()));
    db_rate.push_back(static_cast<double>(file_bytes(out.file("restored.db"))) / 1e6 /
                      restore.back());
    // Beside the restore, not in it (issue 17): what checking the result costs, plain SQLite.
    const auto check_start = Clock::now();
    Connection db(db_uri(out.file("restored.db"), "unix", "mode=ro"), SQLITE_OPEN_READONLY);
    if (db.query_text("PRAGMA integrity_check") != "ok") {
      throw std::runtime_error("W5: the restored database fails integrity_check");
    }
    integrity.push_back(seconds_since(check_start));
  }
  replica.raw_download_s = summarize(raw).median;
  replica.raw_busy_cores = summarize(raw_busy).median;
  if (!report) return;
  auto mb_s = [&](std::vector<double> secs) {
    for (auto& s : secs) s = static_cast<double>(replica.plan_bytes) / 1e6 / s;
    return summarize(secs);
  };
  Row row;
  row.figure = "W5";
  row.name = name;
  row.unit = "MB/s";
  row.baseline_label = "raw parallel download";
  row.baseline = mb_s(raw);
  row.ltx = mb_s(restore);
  row.store = median_cost(costs);
  row.note = std::to_string(replica.plan.size()) + " objects, " +
             format_bytes(static_cast<double>(replica.plan_bytes)) + " (MB/s of object bytes); " +
             format_number(summarize(db_rate).median) + " MB/s of database written; " +
             format_number(summarize(restore).median) + " s restore vs " +
             format_number(replica.raw_download_s) + " s download; integrity_check of the result " +
             format_number(summarize(integrity).median) + " s; " +
             busy_note(replica, "restore", summarize(restore_busy).median);
  row.extra = {{"objects", replica.plan.size()},
               {"object_bytes", replica.plan_bytes},
               {"restore_s", summarize(restore).median},
               {"raw_download_s", replica.raw_download_s},
               {"integrity_check_s", summarize(integrity).median}};
  ctx.report.add(std::move(row));
}

void measure_decode(const Context& ctx, const LargeReplica& replica) {
  auto direct = replica.bucket->open(replica.prefix).store;
  std::vector<std::vector<uint8_t>> objects;
  for (const auto& f : replica.plan) objects.push_back(direct->get(f.key).body);
  std::vector<double> rates;
  double cpu = 0;
  uint64_t page_bytes = 0;
  for (int r = 0; r < ctx.sizes().heavy_runs; ++r) {
    // What a restore's worker does with each object (ltx::decode_file: every check, the pages
    // gathered in runs for the output), here not written.
    ltx::PageDecompressor decompressor;
    CountingWriter pages;
    const double start = thread_cpu_seconds();
    for (size_t i = 0; i < objects.size(); ++i) {
      ltx::decode_file(ltx::MemorySource(objects[i]), replica.plan[i].key, decompressor, pages);
    }
    cpu = thread_cpu_seconds() - start;
    page_bytes = pages.bytes;
    rates.push_back(static_cast<double>(replica.plan_bytes) / 1e6 / cpu);
  }
  Row row;
  row.figure = "W5";
  row.name = "decode only (verify + decompress), 1 thread";
  row.unit = "MB/s";
  row.ltx = summarize(rates);
  // Pages out per object byte in: the same rates in MB/s of database pages (what a restore
  // writes) are the object rates times this.
  const double expansion =
      static_cast<double>(page_bytes) / static_cast<double>(replica.plan_bytes);
  row.note = format_number(cpu) + " CPU s for " +
             format_bytes(static_cast<double>(replica.plan_bytes)) + " of objects -> " +
             format_bytes(static_cast<double>(page_bytes)) + " of pages (" +
             format_number(summarize(rates).median * expansion) +
             " MB/s of pages; ltx::decode_file, as the restore's workers)";
  row.extra = {{"cpu_seconds", cpu}, {"page_bytes", page_bytes}};
  ctx.report.add(std::move(row));
  measure_parallel_decode(ctx, replica, objects, summarize(rates).median, expansion);
}

void measure_parallel_decode(const Context& ctx, const LargeReplica& replica,
                             const std::vector<std::vector<uint8_t>>& objects, double one_thread,
                             double expansion) {
  // The 1-thread row's work on every core at once, as wall-clock MB/s of objects.
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<double> rates;
  for (int r = 0; r < ctx.sizes().heavy_runs; ++r) {
    const auto start = Clock::now();
    base::parallel_for(objects.size(), threads, "bench-decode", [&](size_t i) {
      ltx::PageDecompressor decompressor;
      CountingWriter discard;
      ltx::decode_file(ltx::MemorySource(objects[i]), replica.plan[i].key, decompressor, discard);
    });
    rates.push_back(static_cast<double>(replica.plan_bytes) / 1e6 / seconds_since(start));
  }
  Row row;
  row.figure = "W5";
  row.name = "decode (verify + decompress), all cores";
  row.unit = "MB/s";
  row.baseline_label = "1 thread";
  row.baseline = Summary{1, one_thread, one_thread, one_thread};
  row.ltx = summarize(rates);
  row.note = std::to_string(threads) + " threads, one object each at a time (ltx::decode_file, " +
             "as the restore's workers); baseline = the 1-thread row; " +
             format_number(summarize(rates).median * expansion) + " MB/s of pages";
  row.extra = {{"threads", threads}};
  ctx.report.add(std::move(row));
}

void measure_hydrate(const Context& ctx, const LargeReplica& replica) {
  // hydrate=1 through the proxy: from the open until ltx_stats() says the local file is done,
  // against the raw parallel download of the same objects (measured by measure_restore).
  std::vector<double> secs, busy;
  uint64_t bytes = 0;
  for (int r = 0; r < ctx.sizes().heavy_runs; ++r) {
    ScratchDir dir(ctx.work_dir(), "w5-hydrate");
    const BusyCores cores;
    const auto start = Clock::now();
    Connection db(
        db_uri(dir.file("hydrated.db"), "ltx",
               "mode=ro&hydrate=1&" + replica.bucket->uri_params(replica.prefix, replica.via)),
        SQLITE_OPEN_READONLY);
    for (;;) {
      const auto stats = db.ltx_stats();
      const auto& h = stats["hydration"];
      const std::string state = h.value("state", "");
      if (state == "failed") throw std::runtime_error("hydration failed: " + h.value("error", ""));
      if (state == "done") {
        bytes = h.value("bytes", uint64_t{0});
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    secs.push_back(seconds_since(start));
    busy.push_back(cores.cores());
  }
  auto mb_s = [&](std::vector<double> v) {
    for (auto& x : v) x = static_cast<double>(replica.plan_bytes) / 1e6 / x;
    return summarize(v);
  };
  Row row;
  row.figure = "W5";
  row.name = "hydrate=1 (" + replica.shaping + ")";
  row.unit = "MB/s";
  row.baseline_label = "raw parallel download";
  row.baseline = mb_s({replica.raw_download_s});
  row.ltx = mb_s(secs);
  row.note = "open to hydration done (the open's listing and index reads included), " +
             format_bytes(static_cast<double>(bytes)) + " fetched; " +
             format_number(summarize(secs).median) + " s vs " +
             format_number(replica.raw_download_s) + " s download; " +
             busy_note(replica, "hydrate", summarize(busy).median);
  row.extra = {{"hydrate_s", summarize(secs).median}, {"bytes", bytes}};
  ctx.report.add(std::move(row));
}

std::string busy_note(const LargeReplica& replica, const std::string& what, double busy_cores) {
  return "cores busy (of " + std::to_string(std::thread::hardware_concurrency()) +
         ", every process): download " + format_number(replica.raw_busy_cores) + ", " + what + " " +
         format_number(busy_cores);
}

double raw_parallel_download(const LargeReplica& replica, unsigned parallelism) {
  // The bytes the restore fetches, as fast as `parallelism` connections fetch them: whole objects,
  // and those the restorer streams (above kStreamAbove: a big database's snapshot) in the ranges
  // of its read-ahead, so that one large object is not held to one connection's speed. Largest
  // first: in plan order an 18 MB object after a snapshot's 4 MiB pieces started last and ran
  // alone on its connection, and the restore (which starts it beside the snapshot) beat the
  // download by 1.5x when the link was the bound (16 MiB/s per connection).
  struct Piece {
    const std::string* key;
    std::optional<ltxvfs::storage::ByteRange> range;
    uint64_t size;
  };
  std::vector<Piece> pieces;
  for (const auto& f : replica.plan) {
    if (f.size <= ltxvfs::history::kStreamAbove) {
      pieces.push_back({&f.key, std::nullopt, f.size});
      continue;
    }
    for (uint64_t at = 0; at < f.size; at += ltxvfs::history::kDefaultRemoteChunk) {
      const uint64_t n = std::min(ltxvfs::history::kDefaultRemoteChunk, f.size - at);
      pieces.push_back({&f.key, ltxvfs::storage::ByteRange::at(at, n), n});
    }
  }
  std::stable_sort(pieces.begin(), pieces.end(),
                   [](const Piece& a, const Piece& b) { return a.size > b.size; });
  auto opened = replica.bucket->open(replica.prefix, replica.via);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < parallelism; ++t) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < pieces.size() && !failed; i = next++) {
        try {
          opened.store->get(*pieces[i].key, pieces[i].range);
        } catch (const std::exception&) {
          failed = true;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failed) throw std::runtime_error("raw download through the proxy failed");
  return seconds_since(start);
}

}  // namespace ltxvfs::bench
