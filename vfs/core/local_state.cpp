#include "vfs/core/local_state.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "vfs/core/posix_file.h"

namespace ltxvfs::core {

std::optional<LocalState> read_local_state(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream buf;
  buf << in.rdbuf();
  try {
    auto j = nlohmann::json::parse(buf.str());
    if (j.at("version").get<int>() != 1) throw std::runtime_error("unknown version");
    LocalState s;
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
    s.uploaded_txid = j.at("uploaded_txid").get<uint64_t>();
    s.timestamp_ms = j.at("timestamp_ms").get<int64_t>();
    return s;
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": unreadable replication state (" + e.what() +
                             "); delete the file to make the next commit start a new snapshot");
  }
}

void write_local_state(const std::string& path, const LocalState& s, bool durable) {
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
      {"uploaded_txid", s.uploaded_txid},
      {"timestamp_ms", s.timestamp_ms},
  };
  const std::string text = j.dump(1) + "\n";
  write_file_atomically(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                        durable);
}

}  // namespace ltxvfs::core
