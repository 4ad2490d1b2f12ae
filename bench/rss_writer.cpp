// W7 helper: one SQLite process whose peak RSS is measured on its own, printed as JSON on
// standard output. Modes:
//
//   ltxvfs_bench_rss_writer write-unix DIR MEGABYTES EXTENSION   fill DIR/app.db through plain
//       SQLite (the extension not even loaded, as a plain application)
//   ltxvfs_bench_rss_writer write-ltx DIR MEGABYTES EXTENSION    the same through `ltx`
//       (local-directory replica), until the replica has everything
//   ltxvfs_bench_rss_writer read-unix DB - EXTENSION             full scan of a local database
//   ltxvfs_bench_rss_writer read-replica DIR PARAMS EXTENSION    full scan of a read replica
//       opened as file:DIR/replica.db?vfs=ltx&mode=ro&PARAMS (PARAMS names replica= and cache_mb=)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>

#include "bench/support/replication.h"
#include "bench/support/sqlite_host.h"
#include "bench/support/workload.h"

using namespace ltxvfs::bench;

namespace {

constexpr const char* kScan = "SELECT count(*), sum(length(v)) FROM t";

double seconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

// Peak RSS of this process's own memory (VmHWM), in KiB. Not getrusage's ru_maxrss: Linux
// carries that across execve, so a child spawned by a large parent would report the parent's.
long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr,
                 "usage: %s write-unix|write-ltx|read-unix|read-replica DIR ARG EXTENSION\n",
                 argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const std::string dir = argv[2];
  const std::string arg = argv[3];
  try {
    if (mode != "write-unix" && mode != "read-unix") load_extension(argv[4]);
    const auto start = std::chrono::steady_clock::now();
    if (mode == "write-unix" || mode == "write-ltx") {
      const bool ltx = mode == "write-ltx";
      Connection db(db_uri(dir + "/app.db", ltx ? "ltx" : "unix"));
      prepare_database(db);
      // Rows of about 1 KiB in transactions of about 1 MiB: an application loading data.
      fill_to_size(db, std::strtoull(arg.c_str(), nullptr, 10), 1000, 1000);
      if (ltx) wait_replicated(db, std::chrono::minutes(10));
    } else if (mode == "read-unix") {
      Connection db(db_uri(dir, "unix", "mode=ro"), SQLITE_OPEN_READONLY);
      db.query_text(kScan);
    } else if (mode == "read-replica") {
      Connection db(db_uri(dir + "/replica.db", "ltx", "mode=ro&" + arg), SQLITE_OPEN_READONLY);
      db.query_text(kScan);
    } else {
      std::fprintf(stderr, "rss_writer: unknown mode %s\n", mode.c_str());
      return 2;
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    std::printf(
        "{\"peak_rss_kib\": %ld, \"seconds\": %.3f, \"user_s\": %.3f, \"system_s\": %.3f}\n",
        peak_rss_kib(), elapsed, seconds(usage.ru_utime), seconds(usage.ru_stime));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rss_writer: %s\n", e.what());
    return 1;
  }
}
