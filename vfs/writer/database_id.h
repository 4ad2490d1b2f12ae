// The database id of an encrypted history (ltx::Header::database_id, docs/SECURITY.md): a random
// 64-bit number every encrypted file of one database carries and every frame's authenticated data
// binds, so that a file of another database sealed with the same key does not open in this one's
// history.
//
// The writer keeps it in <db>-ltx/database-id (16 hex digits), written durably before the first
// file that binds it is built: a process that crashes with encrypted files in its spool finds the
// id they were sealed for at its next open. Where the file is missing (a restored database, a lost
// sidecar, a key given for the first time), the writer takes the id from the replica's newest
// file when that file is encrypted, and draws a new one otherwise (settle_database_id).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "history/committed_history.h"
#include "storage/object_store.h"

namespace ltxvfs::writer {

// nullopt when the file does not exist. Throws std::runtime_error naming the file when it exists
// but holds no id (16 hex digits, not all zero): a damaged file must not silently start a second
// database id in one history.
std::optional<uint64_t> read_database_id(const std::string& path);
// Writes via a temporary file, rename and fsync (file and directory).
void write_database_id(const std::string& path, uint64_t id, uint32_t file_mode);

// The id this writer seals for, recorded at `path` before it returns: `adopted` when the open
// adopted a history (the id its newest file names; 0 when none), else the one recorded at
// `path`, else the newest file's of `remote` (the history read at open; nullopt when the store
// was unreachable) when it is encrypted (one 100-byte GET of `probe`), else a new one. Throws
// std::runtime_error when that GET fails: guessing would seal this database's files for an id
// its history may not have, and the open is better refused until the store answers.
uint64_t settle_database_id(const std::string& path, uint64_t adopted,
                            const std::optional<history::History>& remote,
                            storage::ObjectStore& probe, uint32_t file_mode);

}  // namespace ltxvfs::writer
