// WriteBehind (history/write_behind.h): a restore's pages written on a thread of their own.
#include <catch2/catch.hpp>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "history/write_behind.h"

using ltxvfs::history::WriteBehind;

namespace {

// Records what reaches it; throws on the write numbered `fail_at` (0: never).
class Recorder final : public ltxvfs::ltx::PageWriter {
 public:
  explicit Recorder(int fail_at = 0) : fail_at_(fail_at) {}
  void write_page(uint32_t pgno, std::span<const uint8_t> page) override {
    write_pages(pgno, page, static_cast<uint32_t>(page.size()));
  }
  void write_pages(uint32_t first, std::span<const uint8_t> pages, uint32_t page_size) override {
    std::lock_guard lock(mu);
    if (++writes == fail_at_) throw std::runtime_error("disk full, say");
    log.push_back("w" + std::to_string(first) + "x" + std::to_string(pages.size() / page_size) +
                  ":" + std::to_string(pages.empty() ? 0 : pages[0]));
  }
  void truncate(uint32_t commit, uint32_t) override {
    std::lock_guard lock(mu);
    log.push_back("t" + std::to_string(commit));
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mu);
    return log;
  }
  std::mutex mu;
  std::vector<std::string> log;
  int writes = 0;

 private:
  const int fail_at_;
};

}  // namespace

TEST_CASE("write behind: every run reaches the writer, in order, before drain and truncate return",
          "[restorer]") {
  Recorder target;
  // A bound of two pages: the producer waits for the writer thread most of the time.
  WriteBehind behind(target, 2 * 16);
  std::vector<uint8_t> page(16);
  std::vector<std::string> want;
  for (uint32_t p = 1; p <= 200; ++p) {
    page.assign(16, static_cast<uint8_t>(p));  // the caller's buffer changes after each call
    if (p % 3 == 0) {
      behind.write_page(p, page);
      want.push_back("w" + std::to_string(p) + "x1:" + std::to_string(p % 256));
    } else {
      std::vector<uint8_t> two(32, static_cast<uint8_t>(p));
      behind.write_pages(p, two, 16);
      want.push_back("w" + std::to_string(p) + "x2:" + std::to_string(p % 256));
    }
  }
  behind.drain();
  CHECK(target.get() == want);
  behind.write_page(7, page);
  behind.truncate(150, 16);  // drains first
  want.push_back("w7x1:200");
  want.push_back("t150");
  CHECK(target.get() == want);
}

TEST_CASE("write behind: a failed write is rethrown by the next call and by every one after",
          "[restorer]") {
  Recorder target(/*fail_at=*/3);
  WriteBehind behind(target, 1 << 20);
  const std::vector<uint8_t> page(16, 1);
  for (uint32_t p = 1; p <= 3; ++p) behind.write_page(p, page);
  CHECK_THROWS_WITH(behind.drain(), "disk full, say");
  CHECK_THROWS_WITH(behind.write_page(4, page), "disk full, say");
  CHECK_THROWS_WITH(behind.truncate(4, 16), "disk full, say");
  CHECK(target.get().size() == 2);  // nothing after the failure was written
}
