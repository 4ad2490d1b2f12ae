#include "vfs/writer/local_state.h"

#include <fstream>
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
  if (ps == 0 && s.commit != 0) {
    return "page size 0 with " + std::to_string(s.commit) + " pages";
  }
  if (s.wal.offset < kWalHeaderSize) return "WAL offset " + std::to_string(s.wal.offset);
  if (ps != 0 && (s.wal.offset - kWalHeaderSize) % (kWalFrameHeaderSize + ps) != 0) {
    return "WAL offset " + std::to_string(s.wal.offset) + " is not a frame boundary";
  }
  return {};
}

std::optional<LocalState> read_local_state(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream buf;
  buf << in.rdbuf();
  LocalState s;
  try {
    auto j = nlohmann::json::parse(buf.str());
    if (j.at("version").get<int>() != 1) throw std::runtime_error("unknown version");
    s.page_size = j.at("page_size").get<uint32_t>();
    s.txid = j.at("txid").get<uint64_t>();
    s.checksum = j.at("checksum").get<uint64_t>();
    s.commit = j.at("commit").get<uint32_t>();
    const auto& w = j.at("wal");
    s.wal.salts = {w.at("salt1").get<uint32_t>(), w.at("salt2").get<uint32_t>()};
    s.wal.page_size = s.page_size;
    s.wal.big_endian_checksums = w.at("big_endian").get<bool>();
    s.wal.offset = w.at("offset").get<uint64_t>();
    s.wal.checksum = {w.at("cksum1").get<uint32_t>(), w.at("cksum2").get<uint32_t>()};
    s.timestamp_ms = j.at("timestamp_ms").get<int64_t>();
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
