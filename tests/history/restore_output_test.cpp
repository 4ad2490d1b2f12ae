// RestoreOutput: a restore's files are written by many threads in whatever order they finish
// decoding; for every page the newest file's bytes must win, and the file must end at the final
// size however the chain shrank and grew on the way.
#include <catch2/catch.hpp>

#include <fcntl.h>

#include <algorithm>
#include <random>
#include <thread>

#include "base/posix_file.h"
#include "history/restore_output.h"
#include "history_support.h"

using namespace ltxvfs;
using history::RestoreOutput;

namespace {

constexpr uint32_t kPageSize = 512;

// `count` pages from `first`, each filled with the byte `file * 16 + pgno % 16`.
std::vector<uint8_t> pages_of(size_t file, uint32_t first, uint32_t count) {
  std::vector<uint8_t> out;
  for (uint32_t p = first; p < first + count; ++p) {
    out.insert(out.end(), kPageSize, static_cast<uint8_t>(file * 16 + p % 16));
  }
  return out;
}

base::Fd create(const std::string& path) {
  base::Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  REQUIRE(fd);
  return fd;
}

}  // namespace

TEST_CASE("restore output: the newest file's page wins whatever the order of the writes",
          "[restorer]") {
  const std::string path = historytest::scratch_dir("restore-output") + "/out.db";
  auto fd = create(path);
  RestoreOutput out(fd.get(), path);
  out.write(2, 5, pages_of(2, 5, 1), kPageSize);       // the newest file, first
  out.write(0, 1, pages_of(0, 1, 600), kPageSize);     // the snapshot: pages 1-600, 3 blocks
  out.write(1, 250, pages_of(1, 250, 20), kPageSize);  // across a block's end
  out.write(2, 255, pages_of(2, 255, 2), kPageSize);
  out.finish(300, kPageSize);  // the chain shrank to 300 pages
  std::vector<uint8_t> expected = pages_of(0, 1, 300);
  auto put = [&](size_t file, uint32_t first, uint32_t count) {
    const auto bytes = pages_of(file, first, count);
    std::copy(bytes.begin(), bytes.end(), expected.begin() + (first - 1) * kPageSize);
  };
  put(1, 250, 20);
  put(2, 5, 1);
  put(2, 255, 2);
  CHECK(base::read_file(path) == expected);
}

TEST_CASE("restore output: files written from many threads at once give the chain's file",
          "[restorer]") {
  const std::string path = historytest::scratch_dir("restore-output-threads") + "/out.db";
  auto fd = create(path);
  RestoreOutput out(fd.get(), path);
  // 64 files of random runs over 2,000 pages; file 0 writes them all.
  std::mt19937 rng(7);
  struct Run {
    uint32_t first, count;
  };
  std::vector<std::vector<Run>> files(64);
  files[0].push_back({1, 2000});
  for (size_t f = 1; f < files.size(); ++f) {
    for (int r = 0; r < 4; ++r) {
      const uint32_t first = 1 + rng() % 1990;
      files[f].push_back({first, 1 + static_cast<uint32_t>(rng() % std::min(300u, 2001 - first))});
    }
  }
  std::vector<uint8_t> expected(2000 * kPageSize);
  for (size_t f = 0; f < files.size(); ++f) {
    for (const auto& run : files[f]) {
      const auto bytes = pages_of(f, run.first, run.count);
      std::copy(bytes.begin(), bytes.end(), expected.begin() + (run.first - 1) * kPageSize);
    }
  }
  // Each of 8 threads writes every 8th file, newest first, so later files often land first.
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (size_t f = files.size() - 1 - t; f < files.size(); f -= 8) {
        for (const auto& run : files[f]) {
          out.write(f, run.first, pages_of(f, run.first, run.count), kPageSize);
        }
        if (f < 8) break;
      }
    });
  }
  for (auto& t : threads) t.join();
  out.finish(2000, kPageSize);
  CHECK(base::read_file(path) == expected);
}
