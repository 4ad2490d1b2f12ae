#include "vfs/writer/local_state.h"

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "base/posix_file.h"

namespace ltxvfs::writer {

std::string validate(const LocalState& s) {
  const uint32_t ps = s.page_size;
  if (ps != 0 && (ps < 512 || ps > 65536 || (ps & (ps - 1)) != 0)) {
    return "page size " + std::to_string(ps) + " is not a power of two from 512 to 65536";
  }
  if (s.txid > kMaxTxid) return "TXID " + std::to_string(s.txid) + " is beyond any history";
  if (ps == 0 && s.commit != 0) {
    return "page size 0 with " + std::to_string(s.commit) + " pages";
  }
  if (s.wal.offset < kWalHeaderSize) return "WAL offset " + std::to_string(s.wal.offset);
  if (ps != 0 && (s.wal.offset - kWalHeaderSize) % (kWalFrameHeaderSize + ps) != 0) {
    return "WAL offset " + std::to_string(s.wal.offset) + " is not a frame boundary";
  }
  return {};
}

namespace {

// A JSON number that fits `T` exactly: nlohmann's get<uint64_t>() turns -5 into 2^64-5 and
// get<uint32_t>() truncates, so a hand-edited or corrupted file would pass as a huge TXID.
template <class T>
T unsigned_field(const nlohmann::json& j, const char* name, uint64_t max) {
  const auto& v = j.at(name);
  if (!v.is_number_unsigned()) {
    throw std::runtime_error(std::string("'") + name + "' is " + v.dump() +
                             ", not a non-negative integer");
  }
  const uint64_t n = v.get<uint64_t>();
  if (n > max) {
    throw std::runtime_error(std::string("'") + name + "' is " + std::to_string(n) + ", above " +
                             std::to_string(max));
  }
  return static_cast<T>(n);
}

template <class T>
T unsigned_field(const nlohmann::json& j, const char* name) {
  return unsigned_field<T>(j, name, std::numeric_limits<T>::max());
}

}  // namespace

std::optional<LocalState> read_local_state(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream buf;
  buf << in.rdbuf();
  LocalState s;
  try {
    auto j = nlohmann::json::parse(buf.str());
    // Integers only: nlohmann's get<int>() of 1e300 is a float-to-int overflow (undefined).
    if (unsigned_field<uint64_t>(j, "version") != 1) throw std::runtime_error("unknown version");
    s.page_size = unsigned_field<uint32_t>(j, "page_size");
    // TXIDs reach SQL as signed 64-bit integers (ltx_txid(), PRAGMA ltx_txid).
    s.txid = unsigned_field<uint64_t>(j, "txid", kMaxTxid);
    s.checksum = unsigned_field<uint64_t>(j, "checksum");
    s.commit = unsigned_field<uint32_t>(j, "commit");
    const auto& w = j.at("wal");
    s.wal.salts = {unsigned_field<uint32_t>(w, "salt1"), unsigned_field<uint32_t>(w, "salt2")};
    s.wal.page_size = s.page_size;
    s.wal.big_endian_checksums = w.at("big_endian").get<bool>();
    s.wal.offset = unsigned_field<uint64_t>(w, "offset");
    s.wal.checksum = {unsigned_field<uint32_t>(w, "cksum1"), unsigned_field<uint32_t>(w, "cksum2")};
    const auto& ts = j.at("timestamp_ms");
    if (!ts.is_number_integer()) {
      throw std::runtime_error("'timestamp_ms' is " + ts.dump() + ", not an integer");
    }
    s.timestamp_ms = ts.get<int64_t>();
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": unreadable replication state (" + e.what() + ")");
  }
  if (const std::string problem = validate(s); !problem.empty()) {
    throw std::runtime_error(path + ": invalid replication state (" + problem + ")");
  }
  return s;
}

void write_local_state(const std::string& path, const LocalState& s, bool durable,
                       uint32_t file_mode) {
  nlohmann::json j = {
      {"version", 1},
      {"page_size", s.page_size},
      {"txid", s.txid},
      {"checksum", s.checksum},
      {"commit", s.commit},
      {"wal",
       {{"salt1", s.wal.salts.salt1},
        {"salt2", s.wal.salts.salt2},
        {"big_endian", s.wal.big_endian_checksums},
        {"offset", s.wal.offset},
        {"cksum1", s.wal.checksum.s1},
        {"cksum2", s.wal.checksum.s2}}},
      {"timestamp_ms", s.timestamp_ms},
  };
  const std::string text = j.dump(1) + "\n";
  base::write_file_atomically(path,
                              std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                              durable, file_mode);
}

}  // namespace ltxvfs::writer
