// kill -9 of the history engine at random moments (a child process compacting, snapshotting and
// deleting as fast as it can) while this process keeps uploading level-0 files: after every kill
// the store must restore the newest TXID and every restorable TXID byte for byte.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "base/time_spec.h"
#include "history_support.h"
#include "storage/file_store.h"

using namespace historytest;
using namespace ltxvfs;

namespace {

pid_t spawn_child(const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

TEST_CASE("crash: the engine killed -9 at random moments never leaves the store unrestorable",
          "[crash]") {
  for (const char* format : {"native", "litestream"}) {
    INFO(format);
    const std::string dir = scratch_dir(std::string("crash-") + format);
    const std::string temp = scratch_dir(std::string("crash-tmp-") + format);
    storage::FileStore store(dir);
    L0Writer writer(store, LayoutStyle::kDirectory,
                    L0Writer::Options{std::string(format) == "native" ? OutputFormat::kNative
                                                                      : OutputFormat::kLitestream,
                                      512, 12, 40, true, 11});
    std::mt19937_64 rng(42);
    size_t kills = 0;
    for (int round = 0; round < 15; ++round) {
      const pid_t child = spawn_child({LTXVFS_HISTORY_CHILD_PATH, dir, format, "20ms,80ms,300ms",
                                       "500ms", "1s", "100ms", temp});
      // Keep committing while the engine works, then kill it wherever it is.
      const auto until =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(50 + rng() % 400);
      while (std::chrono::steady_clock::now() < until) {
        writer.commit(ltxvfs::base::now_ms(), 1 + static_cast<int>(rng() % 3));
        std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 8));
      }
      int status = 0;
      REQUIRE(::waitpid(child, &status, WNOHANG) == 0);  // still running: it did not fail
      ::kill(child, SIGKILL);
      REQUIRE(::waitpid(child, &status, 0) == child);
      REQUIRE(WIFSIGNALED(status));
      ++kills;

      const auto files = ltxvfs::history::list_ltx_files(store, LayoutStyle::kDirectory);
      const ltxvfs::history::RestoreGraph graph(files);
      INFO("round " << round << ", " << files.size() << " files");
      REQUIRE(graph.newest() == writer.txid());
      // The newest and a sample of the others, byte for byte.
      const auto txids = graph.restorable_txids();
      std::vector<uint64_t> sample{writer.txid()};
      for (int i = 0; i < 20; ++i) sample.push_back(txids[rng() % txids.size()]);
      for (uint64_t t : sample) {
        INFO("TXID " << t);
        const Restored r = restore_in_memory(store, files, t);
        REQUIRE(r.image == writer.image(t));
      }
      // Outputs are written to anonymous temporary files: nothing is left behind.
      CHECK(std::filesystem::is_empty(temp));
    }
    // The engine did its work between kills: levels and snapshots exist, old files went away.
    const auto files = ltxvfs::history::list_ltx_files(store, LayoutStyle::kDirectory);
    const auto totals = level_totals(files);
    CHECK(totals.count(1) == 1);
    CHECK(totals.count(9) == 1);
    CHECK(kills == 15);
  }
}
