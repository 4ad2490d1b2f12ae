// Writes the current-format LTX seeds of corpus/fuzz_ltx_decode/ from the first pages of the
// sample databases in tests/data (real SQLite pages), one file per encoding and header variant.
// Usage: make_ltx_seeds <tests/data dir> <out dir>. Built with the fuzzers; run by hand.
#include <cstdio>
#include <string>
#include <vector>

#include "base/posix_file.h"
#include "ltx/checksum.h"
#include "ltx/encoder.h"
#include "ltx/encryption_key.h"
#include "ltx/sink.h"
#include "ltx/source.h"
#include "tests/fuzz/fuzz_support.h"

using namespace ltxvfs;

namespace {

struct Seed {
  const char* name;
  const char* db;
  std::uint32_t page_size;
  std::uint32_t commit;
  std::uint64_t min_txid;
  std::vector<std::uint32_t> pages;
  ltx::EncodeOptions options;
};

void write(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    std::perror(path.c_str());
    std::exit(1);
  }
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const std::string data = argv[1];
  const std::string out = argv[2];
  const ltx::EncodeOptions lz4_block{ltx::PageEncoding::kLz4Block, true, 3, nullptr};
  const ltx::EncodeOptions encrypted =
      ltx::EncodeOptions::of(ltx::OutputFormat::kNative, ltx::parse_key(fuzz::kFuzzKeyHex), 0x5eed);
  const std::vector<Seed> seeds = {
      {"snapshot-zstd",
       "Northwind_small.sqlite",
       1024,
       3,
       1,
       {1, 2, 3},
       ltx::EncodeOptions::native()},
      {"snapshot-lz4frame-nosum",
       "Northwind_small.sqlite",
       1024,
       2,
       1,
       {1, 2},
       ltx::EncodeOptions::litestream()},
      {"snapshot-lz4block", "Northwind_small.sqlite", 1024, 2, 1, {1, 2}, lz4_block},
      {"incremental-zstd",
       "Chinook_Sqlite.sqlite",
       4096,
       9,
       7,
       {2, 9},
       ltx::EncodeOptions::native()},
      {"incremental-lz4frame",
       "Chinook_Sqlite.sqlite",
       4096,
       5,
       3,
       {5},
       ltx::EncodeOptions::litestream()},
      {"snapshot-empty", "Northwind_small.sqlite", 512, 0, 1, {}, ltx::EncodeOptions::native()},
      {"snapshot-encrypted", "Northwind_small.sqlite", 1024, 2, 1, {1, 2}, encrypted},
      {"incremental-encrypted", "Chinook_Sqlite.sqlite", 4096, 9, 7, {2, 9}, encrypted},
  };
  for (const Seed& s : seeds) {
    const auto db = ltx::read_file(data + "/" + s.db);
    ltx::Header h;
    h.page_size = s.page_size;
    h.commit = s.commit;
    h.min_txid = s.min_txid;
    h.max_txid = s.min_txid;
    h.timestamp_ms = 1767225600000;
    ltx::DatabaseChecksum sum;
    h.pre_apply_checksum = s.min_txid == 1 ? 0 : ltx::kChecksumFlag | 0x1234;
    ltx::VectorSink sink;
    ltx::Encoder enc(sink, h, s.options, s.name);
    for (const std::uint32_t pgno : s.pages) {
      const auto page = std::span(db).subspan(std::size_t{pgno - 1} * s.page_size, s.page_size);
      enc.add_page(pgno, page);
      sum.toggle(ltx::page_checksum(pgno, page));
    }
    enc.finish(s.min_txid == 1 ? sum.value() : ltx::kChecksumFlag | 0x5678);
    write(out + "/" + s.name + ".ltx", sink.bytes());
  }
  return 0;
}
