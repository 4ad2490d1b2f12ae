// The replica's key names — the only place that knows them (Litestream v0.5 layout).
//
//   kS3        (S3 and S3-compatible): <level as %04x>/<min %016x>-<max %016x>.ltx
//              e.g. "0000/0000000000000007-0000000000000007.ltx"
//   kDirectory (a local directory):    ltx/<level in decimal>/<min %016x>-<max %016x>.ltx
//              e.g. "ltx/9/0000000000000001-00000000000003e8.ltx"
//
// Keys are relative to the store root (bucket+prefix, or the directory), which the store adds.
// Level 0 holds the newest small files, 1..3 compactions, 9 snapshots. The lease object
// "lock.json" and the head "head.json" sit at the root in both styles.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ltxvfs::storage {

enum class LayoutStyle { kS3, kDirectory };

inline constexpr uint32_t kSnapshotLevel = 9;
inline constexpr uint32_t kMaxLevel = 0xffff;  // %04x

struct LtxKey {
  uint32_t level = 0;
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  friend bool operator==(const LtxKey&, const LtxKey&) = default;
};

const char* to_string(LayoutStyle style);

// The key of the LTX file covering TXIDs [min_txid, max_txid] at `level`.
std::string ltx_key(LayoutStyle style, uint32_t level, uint64_t min_txid, uint64_t max_txid);
// The prefix under which every file of `level` lives, ending in '/': "0000/" or "ltx/0/".
std::string level_prefix(LayoutStyle style, uint32_t level);
// The prefix under which every LTX file of every level lives: "" (kS3) or "ltx/" (kDirectory).
std::string ltx_root_prefix(LayoutStyle style);
// Parses a key produced by ltx_key; nullopt for anything else (other files, wrong digit counts,
// upper-case hex, min > max), so listings can simply skip what is not an LTX file.
std::optional<LtxKey> parse_ltx_key(LayoutStyle style, std::string_view key);
// The writer lease object.
std::string lock_key(LayoutStyle style);
// The history's head: the newest TXID its owner committed (history/head_record.h).
std::string head_key(LayoutStyle style);

}  // namespace ltxvfs::storage
