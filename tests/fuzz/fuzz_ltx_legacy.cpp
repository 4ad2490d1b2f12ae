// libFuzzer target: the legacy LTX v1 recogniser (ltx/legacy_v1.cpp), seeded with the one v1
// file known to exist (Litestream's testdata). Checks, besides "no crash": a file is_legacy_v1()
// accepts is refused by the current decoder as kLegacyV1, never read as a current-format file.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ltx/decoder.h"
#include "ltx/error.h"
#include "ltx/header.h"
#include "ltx/legacy_v1.h"
#include "tests/fuzz/fuzz_support.h"

using namespace ltxvfs;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < ltx::kHeaderSize) return 0;
  const ltx::MemorySource source(std::span<const std::uint8_t>(data, size));
  bool legacy = false;
  fuzz::expect_clean_rejection([&] {
    const auto header =
        ltx::Header::decode(std::span<const std::uint8_t>(data, ltx::kHeaderSize), "fuzz");
    legacy = ltx::is_legacy_v1(source, header);
  });
  if (!legacy) return 0;
  try {
    ltx::Decoder dec(source, "fuzz");
    dec.verify();
  } catch (const ltx::LtxError& e) {
    if (e.kind() == ltx::LtxErrorKind::kLegacyV1) return 0;
  }
  std::abort();  // a v1 file the decoder did not call v1
}
