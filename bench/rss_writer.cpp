// W7 helper: one SQLite process whose peak RSS is measured on its own, printed as JSON on
// standard output. Its whole life counts: loading the extension, opening (for ltx: the writer
// lease, the store check, the initial snapshot), the work, waiting until the replica has
// everything, and closing (the last upload, the spool's sync, state.json). Modes:
//
//   ltxvfs_bench_rss_writer write-unix DIR MEGABYTES EXTENSION   fill DIR/app.db through plain
//       SQLite (the extension not even loaded, as a plain application)
//   ltxvfs_bench_rss_writer write-ltx DIR MEGABYTES EXTENSION    the same through `ltx`
//       (local-directory replica), until the replica has everything
//   ltxvfs_bench_rss_writer touch-unix DIR - EXTENSION           open the existing DIR/app.db
//       through plain SQLite and commit one row
//   ltxvfs_bench_rss_writer touch-ltx DIR - EXTENSION            the same through `ltx` for the
//       first time: the whole database goes up as the initial snapshot
//   ltxvfs_bench_rss_writer read-unix DB - EXTENSION             full scan of a local database
//   ltxvfs_bench_rss_writer read-replica DIR PARAMS EXTENSION    full scan of a read replica
//       opened as file:DIR/replica.db?vfs=ltx&mode=ro&PARAMS (PARAMS names replica= and cache_mb=)
//
// Besides VmHWM (the kernel's peak), a sampler thread reads /proc/self/status every 10 ms and
// keeps the peaks of anonymous memory (heap, stacks), file-backed pages (the mapped libraries,
// mmap'ed files) and shared memory (SQLite's -shm), so that growth can be told apart.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "bench/support/replication.h"
#include "bench/support/sqlite_host.h"
#include "bench/support/workload.h"

using namespace ltxvfs::bench;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kScan = "SELECT count(*), sum(length(v)) FROM t";

double seconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Fields of /proc/self/status, in KiB. VmHWM, not getrusage's ru_maxrss: Linux carries that
// across execve, so a child spawned by a large parent would report the parent's.
struct Status {
  long hwm = -1, anon = -1, file = -1, shmem = -1;
};

Status read_status() {
  Status s;
  std::ifstream status("/proc/self/status");
  auto value = [](const std::string& line, size_t skip) {
    return std::strtol(line.c_str() + skip, nullptr, 10);
  };
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) s.hwm = value(line, 6);
    if (line.rfind("RssAnon:", 0) == 0) s.anon = value(line, 8);
    if (line.rfind("RssFile:", 0) == 0) s.file = value(line, 8);
    if (line.rfind("RssShmem:", 0) == 0) s.shmem = value(line, 9);
  }
  return s;
}

class PeakSampler {
 public:
  PeakSampler() : thread_([this] { loop(); }) {}
  ~PeakSampler() { stop(); }
  Status stop() {
    if (thread_.joinable()) {
      stop_ = true;
      thread_.join();
      sample();
    }
    return peak_;
  }

 private:
  void sample() {
    const Status s = read_status();
    peak_.anon = std::max(peak_.anon, s.anon);
    peak_.file = std::max(peak_.file, s.file);
    peak_.shmem = std::max(peak_.shmem, s.shmem);
  }
  void loop() {
    while (!stop_) {
      sample();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  Status peak_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr,
                 "usage: %s write-unix|write-ltx|touch-unix|touch-ltx|read-unix|read-replica DIR "
                 "ARG EXTENSION\n",
                 argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const std::string dir = argv[2];
  const std::string arg = argv[3];
  try {
    PeakSampler sampler;
    const bool ltx = mode == "write-ltx" || mode == "touch-ltx" || mode == "read-replica";
    if (ltx) load_extension(argv[4]);
    const auto start = Clock::now();
    double work_s = 0, replicated_s = 0, close_s = 0;
    if (mode == "write-unix" || mode == "write-ltx" || mode == "touch-unix" ||
        mode == "touch-ltx") {
      const bool touch = mode.rfind("touch-", 0) == 0;
      std::optional<Connection> db(std::in_place, db_uri(dir + "/app.db", ltx ? "ltx" : "unix"));
      prepare_database(*db);
      if (touch) {
        // One row after the existing ones (ids from fill_to_size start at 1).
        RowWriter(*db, 1000).insert(db->query_int("SELECT coalesce(max(id), 0) + 1 FROM t"));
      } else {
        // Rows of about 1 KiB in transactions of about 1 MiB: an application loading data.
        fill_to_size(*db, std::strtoull(arg.c_str(), nullptr, 10), 1000, 1000);
      }
      work_s = since(start);
      if (ltx) wait_replicated(*db, std::chrono::minutes(10));
      replicated_s = since(start) - work_s;
      const auto closing = Clock::now();
      db.reset();
      close_s = since(closing);
    } else if (mode == "read-unix") {
      Connection db(db_uri(dir, "unix", "mode=ro"), SQLITE_OPEN_READONLY);
      db.query_text(kScan);
      work_s = since(start);
    } else if (mode == "read-replica") {
      Connection db(db_uri(dir + "/replica.db", "ltx", "mode=ro&" + arg), SQLITE_OPEN_READONLY);
      db.query_text(kScan);
      work_s = since(start);
    } else {
      std::fprintf(stderr, "rss_writer: unknown mode %s\n", mode.c_str());
      return 2;
    }
    const double elapsed = since(start);
    const Status peak = sampler.stop();
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    std::printf(
        "{\"peak_rss_kib\": %ld, \"peak_anon_kib\": %ld, \"peak_file_kib\": %ld, "
        "\"peak_shmem_kib\": %ld, \"seconds\": %.3f, \"work_s\": %.3f, \"replicated_s\": %.3f, "
        "\"close_s\": %.3f, \"user_s\": %.3f, \"system_s\": %.3f}\n",
        read_status().hwm, peak.anon, peak.file, peak.shmem, elapsed, work_s, replicated_s, close_s,
        seconds(usage.ru_utime), seconds(usage.ru_stime));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rss_writer: %s\n", e.what());
    return 1;
  }
}
