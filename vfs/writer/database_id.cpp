#include "vfs/writer/database_id.h"

#include <cerrno>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "base/posix_file.h"
#include "history/restore_plan.h"
#include "ltx/encryption_key.h"
#include "ltx/error.h"
#include "ltx/file_name.h"
#include "ltx/header.h"

namespace ltxvfs::writer {

std::optional<uint64_t> read_database_id(const std::string& path) {
  std::vector<uint8_t> bytes;
  try {
    bytes = base::read_file(path);
  } catch (const std::system_error& e) {
    if (e.code().value() == ENOENT) return std::nullopt;
    throw;
  }
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  const std::optional<uint64_t> id =
      text.size() == 16 ? ltx::parse_hex16(text) : std::optional<uint64_t>();
  if (!id || *id == 0) {
    throw std::runtime_error(
        path +
        " holds no database id (16 hex digits expected): it is damaged. If the replica's "
        "newest file is encrypted, delete " +
        path + " and open again (the id is read back from that file)");
  }
  return id;
}

void write_database_id(const std::string& path, uint64_t id, uint32_t file_mode) {
  const std::string text = ltx::database_id_hex(id) + "\n";
  base::write_file_atomically(path,
                              std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                              /*durable=*/true, file_mode);
}

uint64_t settle_database_id(const std::string& path, uint64_t adopted,
                            const std::optional<history::History>& remote,
                            storage::ObjectStore& probe, uint32_t file_mode) {
  if (adopted == 0) {
    // What this database's spool and uploads were sealed for.
    if (const auto recorded = read_database_id(path)) return *recorded;
  }
  uint64_t id = adopted;
  if (id == 0 && remote && !remote->files.empty()) {
    // No record (a sidecar lost, a key given for the first time): the replica's newest file says
    // which database it is, when it is encrypted. (With the store unreachable at open, `remote` is
    // empty and a new id is drawn: should the replica hold encrypted files nevertheless, its
    // readers and this writer's compactions refuse the mix loudly; nothing opens wrongly.)
    const history::RemoteFile* newest = history::newest_file(remote->files);
    storage::GetResult got;
    try {
      got = probe.get(newest->key, storage::ByteRange::at(0, ltx::kHeaderSize));
    } catch (const storage::StoreError& e) {
      throw std::runtime_error(
          std::string("cannot read the newest file of the encrypted replica to learn its "
                      "database id (") +
          e.what() + "); open again when the store answers");
    }
    try {
      const ltx::Header header = ltx::Header::decode(got.body, newest->key);
      if (header.is_encrypted()) id = header.database_id;
    } catch (const ltx::LtxError&) {
      // Not an LTX header (junk the uploader replaces): it names no database.
    }
  }
  if (id == 0) id = ltx::new_database_id();
  // Durable before the first file sealed for it is built.
  write_database_id(path, id, file_mode);
  return id;
}

}  // namespace ltxvfs::writer
