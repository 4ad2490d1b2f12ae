// The C ABI layer of the `ltx` VFS: static sqlite3_vfs / sqlite3_io_methods tables whose
// trampolines forward to the wrapped (default) VFS and to the replication core, and turn every
// C++ exception into a specific SQLite error code at the boundary.
#pragma once

#include <string>

namespace ltxvfs::vfs {

inline constexpr const char* kVfsName = "ltx";

// Registers the `ltx` VFS over the current default VFS; it becomes the default itself only when
// the environment variable LTXVFS_DEFAULT_VFS is "1". Idempotent: a second
// call finds the registered VFS and returns SQLITE_OK. On failure returns a SQLite error code and
// sets `error`.
int register_ltx_vfs(std::string& error);

}  // namespace ltxvfs::vfs
