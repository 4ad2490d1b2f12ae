// libFuzzer target: one LTX file, through every reader the project has.
//
//  - Decoder::verify: the whole-file decoder (header, frames, index, trailer, file checksum).
//  - decode_file: the decode (and writes) the restorer runs on worker threads.
//  - ChainApplier, streaming and from a DecodedFile: the input as the first file of a chain.
//  - parse_file_tail: the index read of a remote file, from a 64 KiB tail then what it asks for.
//  - parse_index_part: the index read a part at a time through a directory (a replica's long
//    indexes): the file's own directory must give exactly its index (a property check), and one
//    with a mark moved must be rejected cleanly or parse.
// A mutated file almost never carries a valid checksum, so everything behind the file checksum
// (the applier, compaction) would go unexplored. First, the input's checksums are repaired the way
// a forger would: decode, and where the decoder names the checksum it computed, write that into
// the trailer and decode again (fix_checksums). Then every reader runs on the repaired bytes.
//
//  - compact: a file that verifies is compacted alone; the output must verify and carry the
//    same pages (a property check, not just "no crash").
//
// Allocation bound: nothing here may allocate much more than the input justifies. libFuzzer's
// -malloc_limit_mb turns any single huge allocation into a reported crash.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ltx/applier.h"
#include "ltx/compactor.h"
#include "ltx/decoded_file.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/encryption_key.h"
#include "ltx/error.h"
#include "ltx/index_directory.h"
#include "ltx/legacy_v1.h"
#include "ltx/page_index.h"
#include "ltx/sink.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace ltxvfs;

class NullWriter final : public ltx::PageWriter {
 public:
  void write_page(std::uint32_t, std::span<const std::uint8_t>) override {}
  void truncate(std::uint32_t, std::uint32_t) override {}
};

void read_tail(std::span<const std::uint8_t> file) {
  std::size_t want = std::min<std::size_t>(file.size(), ltx::kDefaultTailFetch);
  for (int round = 0; round < 3; ++round) {
    const auto parsed = ltx::parse_file_tail(file.last(want), file.size(), "tail");
    const auto* need = std::get_if<ltx::NeedTailBytes>(&parsed);
    if (need == nullptr) return;
    // The replica fetches what it is told; a request past the file is a bad file, not a fetch.
    if (need->bytes > file.size() || need->bytes <= want) return;
    want = static_cast<std::size_t>(need->bytes);
  }
  std::abort();  // asked for more bytes three times: would loop forever
}

// Every part of `marks`, parsed; with `exact`, they must be `index` (else abort).
void read_parts(std::span<const std::uint8_t> file, const std::vector<ltx::IndexMark>& marks,
                const ltx::IndexArea& area, const ltx::PageIndex* exact) {
  std::vector<ltx::PageIndexEntry> all;
  for (std::size_t i = 0; i < marks.size(); ++i) {
    const ltx::IndexPartRange r = ltx::index_part_range(marks, area, i);
    const auto part =
        ltx::parse_index_part(file.subspan(r.start, r.read_end - r.start), marks, area, i, "part");
    all.insert(all.end(), part.begin(), part.end());
  }
  if (exact != nullptr && all != exact->entries) std::abort();
}

void read_by_directory(std::span<const std::uint8_t> file) {
  if (file.size() < ltx::kMinTailSize) return;
  std::optional<ltx::FileTail> tail;
  try {
    auto parsed = ltx::parse_file_tail(file, file.size(), "tail");
    if (auto* t = std::get_if<ltx::FileTail>(&parsed)) tail = std::move(*t);
  } catch (const ltx::LtxError&) {
  }
  if (!tail || tail->index.entries.empty()) return;
  const ltx::IndexArea area = ltx::index_area(
      file.size(), ltx::index_tail_bytes(file.last(ltx::kMinTailSize), file.size()));
  const std::uint8_t knob = file[file.size() / 2];
  auto marks = ltx::index_directory(tail->index, 1 + knob % 64);
  if (!ltx::directory_fits(marks, area)) std::abort();
  try {
    read_parts(file, marks, area, &tail->index);
  } catch (const ltx::LtxError&) {
    std::abort();  // the file's own directory must read
  }
  // One mark moved by the input's byte: rejected cleanly, or parsed.
  auto& m = marks[knob % marks.size()];
  const unsigned by = 1 + knob / 8;
  if (knob & 1) {
    m.index_offset += by;
  } else if (knob & 2) {
    m.frame_offset += by;
  } else {
    m.pgno += by;
  }
  if (ltx::directory_fits(marks, area)) {
    fuzz::expect_clean_rejection([&] { read_parts(file, marks, area, nullptr); });
  }
}

// The 16 hex digits after the last "0x" in `message`, if any.
std::optional<std::uint64_t> last_hex(std::string_view message) {
  const std::size_t at = message.rfind("0x");
  if (at == std::string_view::npos || message.size() - at < 18) return std::nullopt;
  return std::strtoull(std::string(message.substr(at + 2, 16)).c_str(), nullptr, 16);
}

void store_be64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}

// Rewrites the trailer's post-apply and file checksums to what the decoder computes.
void fix_checksums(std::vector<std::uint8_t>& file) {
  if (file.size() < ltx::kHeaderSize + ltx::kTrailerSize) return;
  for (int round = 0; round < 3; ++round) {
    try {
      const ltx::MemorySource source(file);
      ltx::Decoder dec(source, "fix");
      dec.verify();
      return;
    } catch (const ltx::LtxError& e) {
      const std::string_view what = e.what();
      std::uint8_t* trailer = file.data() + file.size() - ltx::kTrailerSize;
      if (e.kind() == ltx::LtxErrorKind::kChecksumMismatch) {
        const std::size_t at = what.find("computed 0x");
        if (at == std::string_view::npos) return;
        const auto v = last_hex(what.substr(0, at + 27));
        if (!v) return;
        store_be64(trailer + 8, *v);
      } else if (e.kind() == ltx::LtxErrorKind::kPostApplyMismatch) {
        const auto v = last_hex(what);
        if (!v) return;
        store_be64(trailer, *v);  // the file checksum covers it: repaired next round
      } else {
        return;
      }
    } catch (const std::exception&) {
      return;
    }
  }
}

void compact_roundtrip(const ltx::Source& source) {
  const ltx::FileSummary in = ltx::verify_file(source, "in");
  for (const auto& options : {ltx::EncodeOptions::native(), ltx::EncodeOptions::litestream()}) {
    if (options.checksums && !in.header.has_checksums()) continue;
    ltx::VectorSink sink;
    const ltx::NamedSource inputs[] = {{&source, "in"}};
    ltx::compact(inputs, sink, options, "out");
    const ltx::MemorySource out_source(sink.bytes());
    const ltx::FileSummary out = ltx::verify_file(out_source, "out");
    if (out.index.entries.size() != in.index.entries.size() ||
        out.header.commit != in.header.commit || out.header.min_txid != in.header.min_txid ||
        out.header.max_txid != in.header.max_txid) {
      std::abort();  // compaction of one verified file changed what it describes
    }
  }
}

}  // namespace

// The legacy v1 recogniser (ltx/legacy_v1.h), on the bytes as given: a file it accepts is refused
// by the decoder as kLegacyV1, never read as a current-format file. (Its own target once; folded
// in here so that CI's fuzz stage is two rounds of 60 s, and its coverage was flat after a
// minute.)
void check_legacy(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < ltx::kHeaderSize) return;
  const ltx::MemorySource source(bytes);
  bool legacy = false;
  fuzz::expect_clean_rejection([&] {
    const auto header = ltx::Header::decode(bytes.first<ltx::kHeaderSize>(), "fuzz");
    legacy = ltx::is_legacy_v1(source, header);
  });
  if (!legacy) return;
  try {
    ltx::Decoder dec(source, "fuzz");
    dec.verify();
  } catch (const ltx::LtxError& e) {
    if (e.kind() == ltx::LtxErrorKind::kLegacyV1) return;
  }
  std::abort();  // a v1 file the decoder did not call v1
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool keys_loaded = [] {
    ltx::register_keys(ltx::KeyRing::parse(fuzz::kFuzzKeyHex));
    return true;
  }();
  (void)keys_loaded;
  check_legacy(std::span<const std::uint8_t>(data, size));
  std::vector<std::uint8_t> repaired(data, data + size);
  fix_checksums(repaired);
  const std::span<const std::uint8_t> bytes(repaired);
  const ltx::MemorySource source(bytes);
  bool verified = false;
  fuzz::expect_clean_rejection([&] {
    ltx::Decoder dec(source, "fuzz");
    dec.verify();
    verified = true;
  });
  fuzz::expect_clean_rejection([&] {
    ltx::PageDecompressor decompressor;
    NullWriter writer;
    const auto file = ltx::decode_file(source, "fuzz", decompressor, writer);
    ltx::ChainApplier applier(writer);
    applier.apply(file, "fuzz");
  });
  fuzz::expect_clean_rejection([&] {
    NullWriter writer;
    ltx::ChainApplier applier(writer);
    applier.apply(source, "fuzz");
  });
  fuzz::expect_clean_rejection([&] { read_tail(bytes); });
  read_by_directory(bytes);
  if (verified) fuzz::expect_clean_rejection([&] { compact_roundtrip(source); });
  return 0;
}
