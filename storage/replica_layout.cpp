#include "storage/replica_layout.h"

#include <cstdio>
#include <stdexcept>

namespace ltxvfs::storage {
namespace {

// Exactly `n` lower-case hex digits.
std::optional<uint64_t> parse_hex(std::string_view s, size_t n) {
  if (s.size() != n) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

// A decimal level without leading zeros (as Go's strconv.Itoa writes it).
std::optional<uint32_t> parse_decimal_level(std::string_view s) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > kMaxLevel) return std::nullopt;
  return v;
}

std::string file_name(uint64_t min_txid, uint64_t max_txid) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%016llx-%016llx.ltx", static_cast<unsigned long long>(min_txid),
                static_cast<unsigned long long>(max_txid));
  return buf;
}

}  // namespace

const char* to_string(LayoutStyle style) {
  return style == LayoutStyle::kS3 ? "s3" : "directory";
}

std::string level_prefix(LayoutStyle style, uint32_t level) {
  if (level > kMaxLevel) throw std::invalid_argument("LTX level out of range");
  if (style == LayoutStyle::kS3) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04x/", level);
    return buf;
  }
  return "ltx/" + std::to_string(level) + "/";
}

std::string ltx_root_prefix(LayoutStyle style) {
  return style == LayoutStyle::kS3 ? "" : "ltx/";
}

std::string ltx_key(LayoutStyle style, uint32_t level, uint64_t min_txid, uint64_t max_txid) {
  return level_prefix(style, level) + file_name(min_txid, max_txid);
}

std::optional<LtxKey> parse_ltx_key(LayoutStyle style, std::string_view key) {
  const std::string root = ltx_root_prefix(style);
  if (key.substr(0, root.size()) != root) return std::nullopt;
  key.remove_prefix(root.size());
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view level_text = key.substr(0, slash);
  const std::string_view name = key.substr(slash + 1);

  LtxKey out;
  if (style == LayoutStyle::kS3) {
    auto level = parse_hex(level_text, 4);
    if (!level) return std::nullopt;
    out.level = static_cast<uint32_t>(*level);
  } else {
    auto level = parse_decimal_level(level_text);
    if (!level) return std::nullopt;
    out.level = *level;
  }
  // "<16 hex>-<16 hex>.ltx"
  if (name.size() != 16 + 1 + 16 + 4 || name[16] != '-' || name.substr(33) != ".ltx") {
    return std::nullopt;
  }
  auto min_txid = parse_hex(name.substr(0, 16), 16);
  auto max_txid = parse_hex(name.substr(17, 16), 16);
  if (!min_txid || !max_txid || *min_txid > *max_txid) return std::nullopt;
  out.min_txid = *min_txid;
  out.max_txid = *max_txid;
  return out;
}

std::string lock_key(LayoutStyle /*style*/) {
  return "lock.json";
}

std::string head_key(LayoutStyle /*style*/) {
  return "head.json";
}

}  // namespace ltxvfs::storage
