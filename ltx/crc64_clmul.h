// The two ways ltx computes CRC-64/GO-ISO, exposed so that tests can hold them against each
// other. Callers use Crc64 (crc64.h), which picks the fastest one the CPU supports.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ltxvfs::ltx::detail {

// Advances the CRC register `crc` (not inverted) over n bytes, slice-by-16 tables: any CPU.
std::uint64_t crc64_update_tables(std::uint64_t crc, const std::uint8_t* p, std::size_t n);

// The same with carry-less multiplication (x86-64 PCLMULQDQ): about 4x faster on 4 KiB pages.
// Only to be called when crc64_clmul_supported().
std::uint64_t crc64_update_clmul(std::uint64_t crc, const std::uint8_t* p, std::size_t n);
bool crc64_clmul_supported();

}  // namespace ltxvfs::ltx::detail
