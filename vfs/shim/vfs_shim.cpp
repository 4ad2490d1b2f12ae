// The `ltx` VFS: trampolines between SQLite's C structs and the C++ replication code.
//
// Every function here is a thin forwarder. Anything that can throw runs inside guard(), which
// turns exceptions into SQLite error codes (and logs them), because an exception must never
// unwind through SQLite's C frames.
#include "vfs/shim/vfs_shim.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "vfs/shim/connection_hooks.h"
#include "vfs/shim/guard.h"
#include "vfs/shim/lent_db_files.h"
#include "vfs/shim/log.h"
#include "vfs/shim/primary_connection.h"
#include "vfs/shim/refused_open.h"
#include "vfs/shim/replica_file.h"
#include "vfs/shim/shim_file.h"
#include "vfs/shim/vfs_context.h"

namespace ltxvfs::vfs {
namespace {

VfsContext& context_of(sqlite3_vfs* vfs) {
  return *static_cast<VfsContext*>(vfs->pAppData);
}
ShimFile& shim(sqlite3_file* file) {
  return *reinterpret_cast<ShimFile*>(file);
}
sqlite3_file* real(sqlite3_file* file) {
  return shim(file).real;
}

// ---- io methods shared by every role: forward to the real file ---------------------------

int x_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  return real(f)->pMethods->xRead(real(f), buf, amount, offset);
}
int x_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  return real(f)->pMethods->xWrite(real(f), buf, amount, offset);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return real(f)->pMethods->xTruncate(real(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
  return real(f)->pMethods->xSync(real(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real(f)->pMethods->xFileSize(real(f), size);
}
int x_lock(sqlite3_file* f, int level) {
  return real(f)->pMethods->xLock(real(f), level);
}
int x_unlock(sqlite3_file* f, int level) {
  return real(f)->pMethods->xUnlock(real(f), level);
}
int x_check_reserved_lock(sqlite3_file* f, int* out) {
  return real(f)->pMethods->xCheckReservedLock(real(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return real(f)->pMethods->xFileControl(real(f), op, arg);
}
int x_sector_size(sqlite3_file* f) {
  return real(f)->pMethods->xSectorSize(real(f));
}
int x_device_characteristics(sqlite3_file* f) {
  return real(f)->pMethods->xDeviceCharacteristics(real(f));
}
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return real(f)->pMethods->xShmMap(real(f), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
  real(f)->pMethods->xShmBarrier(real(f));
}
int x_shm_unmap(sqlite3_file* f, int delete_flag) {
  return real(f)->pMethods->xShmUnmap(real(f), delete_flag);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return real(f)->pMethods->xFetch(real(f), offset, amount, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return real(f)->pMethods->xUnfetch(real(f), offset, p);
}

int x_close(sqlite3_file* f) {
  ShimFile& s = shim(f);
  int rc = SQLITE_OK;
  if ((s.role == FileRole::kPrimaryDb || s.owns_hooks) && s.hooks != nullptr) {
    // Drops this connection's share of the replicator; the last one drains and stops it (its
    // destructor catches everything).
    delete s.hooks;  // and ends the loan of the file: no read of the replicator's is under way
    s.hooks = nullptr;
    s.lent = nullptr;
  }
  if (s.real->pMethods != nullptr) rc = s.real->pMethods->xClose(s.real);
  s.real->pMethods = nullptr;
  return rc;
}

// ---- the primary database file: watch WAL locks and pragmas ------------------------------

int primary_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  int rc = x_shm_map(f, region, size, extend, out);
  if (rc == SQLITE_OK && *out != nullptr) {
    shim(f).hooks->on_shm_region(region, const_cast<const void*>(*out));
  }
  return rc;
}

int primary_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  ConnectionHooks& hooks = *shim(f).hooks;
  return guard(SQLITE_IOERR_SHMLOCK, "ltx shm lock", [&] {
    const bool exclusive = (flags & SQLITE_SHM_EXCLUSIVE) != 0;
    if ((flags & SQLITE_SHM_UNLOCK) != 0) {
      // Capture the commit while the lock is still ours, so commits are queued in WAL order.
      hooks.before_shm_unlock(offset, n, exclusive);
      int rc = x_shm_lock(f, offset, n, flags);
      hooks.after_shm_unlock(offset, n, exclusive);
      return rc;
    }
    int rc = x_shm_lock(f, offset, n, flags);
    if (rc == SQLITE_OK) hooks.after_shm_lock(offset, n, exclusive);
    return rc;
  });
}

int primary_file_control(sqlite3_file* f, int op, void* arg) {
  ConnectionHooks& hooks = *shim(f).hooks;
  return guard(SQLITE_IOERR, "ltx file control", [&] {
    int rc = SQLITE_NOTFOUND;
    if (hooks.file_control(op, arg, rc)) return rc;
    // Some (SQLITE_FCNTL_SIZE_HINT, MMAP_SIZE) write or remap the file: under its lock.
    return shim(f).lent->locked(
        [&](sqlite3_file* real) { return real->pMethods->xFileControl(real, op, arg); });
  });
}

int primary_lock(sqlite3_file* f, int level) {
  if (level == SQLITE_LOCK_EXCLUSIVE) {
    ConnectionHooks& hooks = *shim(f).hooks;
    int rc = guard(SQLITE_IOERR_LOCK, "ltx lock", [&] {
      hooks.before_exclusive_lock();
      return SQLITE_OK;
    });
    if (rc != SQLITE_OK) return rc;
  }
  return x_lock(f, level);
}

int primary_unlock(sqlite3_file* f, int level) {
  int rc = x_unlock(f, level);
  shim(f).hooks->after_unlock(level);
  return rc;
}

// The database file's reads, writes, truncation and mapping: under the lock of the file lent to
// the replicator, whose reads share its offset and mapping (lent_db_files.h).
int primary_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  return shim(f).lent->locked(
      [&](sqlite3_file* real) { return real->pMethods->xRead(real, buf, amount, offset); });
}

int primary_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  const int rc = shim(f).lent->locked(
      [&](sqlite3_file* real) { return real->pMethods->xWrite(real, buf, amount, offset); });
  if (rc == SQLITE_OK) shim(f).hooks->on_db_write();  // outside the lock: it may wait
  return rc;
}

int primary_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return shim(f).lent->locked(
      [&](sqlite3_file* real) { return real->pMethods->xTruncate(real, size); });
}

int primary_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return shim(f).lent->locked(
      [&](sqlite3_file* real) { return real->pMethods->xFetch(real, offset, amount, out); });
}

int primary_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return shim(f).lent->locked(
      [&](sqlite3_file* real) { return real->pMethods->xUnfetch(real, offset, p); });
}

// ---- the primary's WAL file: note writes so a lock hold can tell commits from recovery ----

int wal_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  ConnectionHooks* hooks = shim(f).hooks;
  if (hooks == nullptr) return x_write(f, buf, amount, offset);
  return guard(SQLITE_IOERR_WRITE, "ltx wal write", [&] {
    sqlite3_int64 size = -1;
    if (offset == 0 && x_file_size(f, &size) != SQLITE_OK) size = -1;  // unknown: not empty
    hooks->on_wal_write(offset, amount, size == 0);  // throws for writes it cannot replicate
    return x_write(f, buf, amount, offset);
  });
}

int wal_truncate(sqlite3_file* f, sqlite3_int64 size) {
  ConnectionHooks* hooks = shim(f).hooks;
  return guard(SQLITE_IOERR_TRUNCATE, "ltx wal truncate", [&] {
    // Truncating the WAL discards frames: everything in it must be safely spooled first.
    if (hooks != nullptr) hooks->before_wal_overwrite();
    return x_truncate(f, size);
  });
}

constexpr sqlite3_io_methods make_methods(FileRole role) {
  sqlite3_io_methods m{};
  m.iVersion = 3;
  m.xClose = x_close;
  const bool db = role == FileRole::kPrimaryDb;
  m.xRead = db ? primary_read : x_read;
  m.xWrite = role == FileRole::kPrimaryWal ? wal_write : db ? primary_write : x_write;
  m.xTruncate = role == FileRole::kPrimaryWal ? wal_truncate : db ? primary_truncate : x_truncate;
  m.xSync = x_sync;
  m.xFileSize = x_file_size;
  m.xLock = db ? primary_lock : x_lock;
  m.xUnlock = db ? primary_unlock : x_unlock;
  m.xCheckReservedLock = x_check_reserved_lock;
  m.xFileControl = db ? primary_file_control : x_file_control;
  m.xSectorSize = x_sector_size;
  m.xDeviceCharacteristics = x_device_characteristics;
  m.xShmMap = db ? primary_shm_map : x_shm_map;
  m.xShmLock = db ? primary_shm_lock : x_shm_lock;
  m.xShmBarrier = x_shm_barrier;
  m.xShmUnmap = x_shm_unmap;
  m.xFetch = db ? primary_fetch : x_fetch;
  m.xUnfetch = db ? primary_unfetch : x_unfetch;
  return m;
}

constexpr sqlite3_io_methods kPassThroughMethods = make_methods(FileRole::kPassThrough);
constexpr sqlite3_io_methods kPrimaryDbMethods = make_methods(FileRole::kPrimaryDb);
constexpr sqlite3_io_methods kPrimaryWalMethods = make_methods(FileRole::kPrimaryWal);

// Version-1 and -2 tables for wrapped files that do not offer shm or mmap: advertising methods
// the real file lacks would make SQLite call into nothing.
constexpr sqlite3_io_methods with_version(sqlite3_io_methods m, int version) {
  m.iVersion = version;
  if (version < 3) m.xFetch = nullptr, m.xUnfetch = nullptr;
  if (version < 2)
    m.xShmMap = nullptr, m.xShmLock = nullptr, m.xShmBarrier = nullptr, m.xShmUnmap = nullptr;
  return m;
}
constexpr sqlite3_io_methods kPassThroughV1 = with_version(kPassThroughMethods, 1);
constexpr sqlite3_io_methods kPassThroughV2 = with_version(kPassThroughMethods, 2);

const sqlite3_io_methods* pass_through_methods(int real_version) {
  if (real_version >= 3) return &kPassThroughMethods;
  return real_version == 2 ? &kPassThroughV2 : &kPassThroughV1;
}

// ---- the VFS ---------------------------------------------------------------------------

// A rollback journal of a database we replicate means the database left WAL mode (another
// process switched it): its commits would bypass the WAL, and so the replica. Throws then.
void refuse_rollback_journal(sqlite3_filename name) {
  sqlite3_file* db_file = sqlite3_database_file_object(name);
  if (db_file != nullptr && db_file->pMethods == &kPrimaryDbMethods) {
    throw SqliteError(SQLITE_CANTOPEN,
                      std::string("the replicated database ") + name +
                          " is no longer in WAL mode (another process changed its "
                          "journal_mode); ltx cannot replicate rollback-journal "
                          "transactions. Close it and open it again through ltx, which "
                          "puts it back in WAL mode");
  }
}

// The WAL of a database we replicate gets its replicator's hooks: kPrimaryWal. Any other WAL is
// passed through.
FileRole attach_wal_hooks(VfsContext& ctx, ShimFile& s, sqlite3_filename name) {
  sqlite3_file* db_file = sqlite3_database_file_object(name);
  if (db_file != nullptr && db_file->pMethods == &kPrimaryDbMethods) {
    s.hooks = shim(db_file).hooks;  // borrowed from the database file
    return FileRole::kPrimaryWal;
  }
  if (auto replicator = ctx.replicator_of_wal(name)) {
    // A VFS stacked on ltx opened it: its database file object is not ours.
    s.hooks = new WalFileHooks(std::move(replicator));
    s.owns_hooks = true;
    return FileRole::kPrimaryWal;
  }
  return FileRole::kPassThrough;
}

// A main database, just opened by the default VFS (`opened_flags`, methods of `real_version`):
// kPrimaryDb when the context replicates it (the file exists now, so the replicator can open it
// too).
FileRole attach_database_hooks(VfsContext& ctx, ShimFile& s, sqlite3_filename name, int flags,
                               int opened_flags, int real_version) {
  if (real_version < 3 && (flags & SQLITE_OPEN_READONLY) == 0) {
    throw SqliteError(SQLITE_CANTOPEN, "the default VFS '" + std::string(ctx.base()->zName) +
                                           "' has no shared-memory support; ltx needs WAL mode");
  }
  // A read-write open of a file this process may only read falls back to read-only: it
  // commits nothing, so it is not replicated (as for mode=ro).
  const int effective = (opened_flags & SQLITE_OPEN_READONLY) != 0
                            ? (flags & ~SQLITE_OPEN_READWRITE) | SQLITE_OPEN_READONLY
                            : flags;
  std::unique_ptr<PrimaryConnection> hooks = ctx.open_database_hooks(name, effective, s.real);
  if (!hooks) return FileRole::kPassThrough;
  s.lent = &hooks->lent_file();
  s.hooks = hooks.release();
  return FileRole::kPrimaryDb;
}

void drop_hooks(ShimFile& s) {
  if (s.owns_hooks) delete s.hooks;
  s.hooks = nullptr;
  s.owns_hooks = false;
}

const sqlite3_io_methods* methods_of(FileRole role, int real_version) {
  switch (role) {
    case FileRole::kPrimaryDb:
      return &kPrimaryDbMethods;
    case FileRole::kPrimaryWal:
      return &kPrimaryWalMethods;
    default:
      return pass_through_methods(real_version);
  }
}

// vfs_open's body, inside guard(): throws SqliteError when ltx refuses the open.
int open_file(VfsContext& ctx, ShimFile& s, sqlite3_filename name, sqlite3_file* file, int flags,
              int* out_flags) {
  FileRole role = FileRole::kPassThrough;
  const bool main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0 && name != nullptr;
  // A read replica: the database is served from object storage, not from a local file.
  if (main_db && sqlite3_uri_parameter(name, "replica") != nullptr &&
      (flags & SQLITE_OPEN_READONLY) != 0) {
    return open_replica_file(ctx, name, file, flags, out_flags);
  }
  if ((flags & SQLITE_OPEN_MAIN_JOURNAL) != 0 && name != nullptr) refuse_rollback_journal(name);
  if ((flags & SQLITE_OPEN_WAL) != 0 && name != nullptr) role = attach_wal_hooks(ctx, s, name);

  // A refused open leaves the filesystem as it found it (the database file SQLite's open
  // creates, WAL mode's files, <db>-ltx/).
  std::optional<OpenFootprint> footprint;
  if (main_db && (flags & SQLITE_OPEN_READWRITE) != 0) footprint.emplace(name);
  int opened_flags = 0;
  int rc = ctx.base()->xOpen(ctx.base(), name, s.real, flags, &opened_flags);
  if (out_flags != nullptr) *out_flags = opened_flags;
  if (rc != SQLITE_OK) {
    drop_hooks(s);
    return rc;
  }
  // From here on, a failure must close the real file again.
  try {
    const int real_version = s.real->pMethods->iVersion;
    if (main_db) role = attach_database_hooks(ctx, s, name, flags, opened_flags, real_version);
    s.role = role;
    s.base.pMethods = methods_of(role, real_version);
    return SQLITE_OK;
  } catch (...) {
    s.real->pMethods->xClose(s.real);
    s.real->pMethods = nullptr;
    drop_hooks(s);
    if (footprint) footprint->undo();
    throw;
  }
}

int vfs_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags,
             int* out_flags) {
  VfsContext& ctx = context_of(vfs);
  ShimFile& s = shim(file);
  s.base.pMethods = nullptr;
  s.role = FileRole::kPassThrough;
  s.hooks = nullptr;
  s.owns_hooks = false;
  s.lent = nullptr;
  s.real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + ctx.shim_header_size());
  s.real->pMethods = nullptr;

  return guard(SQLITE_CANTOPEN, "ltx open", [&] {
    try {
      return open_file(ctx, s, name, file, flags, out_flags);
    } catch (const std::exception& e) {
      // For ltx_last_error(): SQLite itself only says "unable to open database file".
      remember_refused_open(std::string(name != nullptr ? name : "(temporary file)") + ": " +
                            e.what());
      throw;
    }
  });
}

int vfs_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  VfsContext& ctx = context_of(vfs);
  return guard(SQLITE_IOERR_DELETE, "ltx delete", [&] {
    // The last connection's close deletes the WAL: its frames must be spooled durably first.
    if (name != nullptr) ctx.before_wal_delete(name);
    return ctx.base()->xDelete(ctx.base(), name, sync_dir);
  });
}
int vfs_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  sqlite3_vfs* base = context_of(vfs).base();
  return base->xAccess(base, name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  sqlite3_vfs* base = context_of(vfs).base();
  return base->xFullPathname(base, name, n, out);
}
void* vfs_dl_open(sqlite3_vfs* vfs, const char* name) {
  sqlite3_vfs* base = context_of(vfs).base();
  return base->xDlOpen(base, name);
}
void vfs_dl_error(sqlite3_vfs* vfs, int n, char* out) {
  sqlite3_vfs* base = context_of(vfs).base();
  base->xDlError(base, n, out);
}
void (*vfs_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  sqlite3_vfs* base = context_of(vfs).base();
  return base->xDlSym(base, handle, symbol);
}
void vfs_dl_close(sqlite3_vfs* vfs, void* handle) {
  sqlite3_vfs* base = context_of(vfs).base();
  base->xDlClose(base, handle);
}
int vfs_randomness(sqlite3_vfs* vfs, int n, char* out) {
  sqlite3_vfs* base = context_of(vfs).base();
  return base->xRandomness(base, n, out);
}
int vfs_sleep(sqlite3_vfs* vfs, int micros) {
  sqlite3_vfs* base = context_of(vfs).base();
  return base->xSleep(base, micros);
}
int vfs_current_time(sqlite3_vfs* vfs, double* out) {
  sqlite3_vfs* base = context_of(vfs).base();
  return base->xCurrentTime(base, out);
}
int vfs_get_last_error(sqlite3_vfs* vfs, int n, char* out) {
  sqlite3_vfs* base = context_of(vfs).base();
  return base->xGetLastError != nullptr ? base->xGetLastError(base, n, out) : 0;
}
int vfs_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  sqlite3_vfs* base = context_of(vfs).base();
  if (base->iVersion >= 2 && base->xCurrentTimeInt64 != nullptr) {
    return base->xCurrentTimeInt64(base, out);
  }
  double days = 0;
  int rc = base->xCurrentTime(base, &days);
  *out = static_cast<sqlite3_int64>(days * 86400000.0);
  return rc;
}

// Version 3: the wrapped VFS's system-call overrides (tests use them to inject failures).
int vfs_set_system_call(sqlite3_vfs* vfs, const char* name, sqlite3_syscall_ptr call) {
  sqlite3_vfs* base = context_of(vfs).base();
  if (base->iVersion < 3 || base->xSetSystemCall == nullptr) return SQLITE_NOTFOUND;
  return base->xSetSystemCall(base, name, call);
}
sqlite3_syscall_ptr vfs_get_system_call(sqlite3_vfs* vfs, const char* name) {
  sqlite3_vfs* base = context_of(vfs).base();
  if (base->iVersion < 3 || base->xGetSystemCall == nullptr) return nullptr;
  return base->xGetSystemCall(base, name);
}
const char* vfs_next_system_call(sqlite3_vfs* vfs, const char* name) {
  sqlite3_vfs* base = context_of(vfs).base();
  if (base->iVersion < 3 || base->xNextSystemCall == nullptr) return nullptr;
  return base->xNextSystemCall(base, name);
}

// LTXVFS_DEFAULT_VFS=1: `ltx` is to be the default VFS.
bool wanted_as_default() {
  const char* v = std::getenv("LTXVFS_DEFAULT_VFS");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

}  // namespace

int register_ltx_vfs(std::string& error) {
  if (sqlite3_vfs* existing = sqlite3_vfs_find(kVfsName)) {
    // Loaded again (sqlite3_shutdown() and sqlite3_initialize() make `unix` the default again):
    // make it the default once more if asked to.
    return wanted_as_default() ? sqlite3_vfs_register(existing, 1) : SQLITE_OK;
  }
  warn_about_log_setting();  // once, at the first load: every later message depends on it
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  if (base == nullptr) {
    error = "ltx: SQLite has no default VFS to wrap";
    return SQLITE_ERROR;
  }
  // The context (and the sqlite3_vfs inside it) lives as long as the process: SQLite keeps a
  // pointer to it and the extension is loaded permanently.
  auto* ctx = new (std::nothrow) VfsContext(base);
  if (ctx == nullptr) return SQLITE_NOMEM;
  sqlite3_vfs& v = ctx->vfs();
  v.iVersion = 3;
  v.szOsFile = static_cast<int>(ctx->shim_header_size()) + base->szOsFile;
  v.mxPathname = base->mxPathname;
  v.zName = kVfsName;
  v.pAppData = ctx;
  v.xOpen = vfs_open;
  v.xDelete = vfs_delete;
  v.xAccess = vfs_access;
  v.xFullPathname = vfs_full_pathname;
  v.xDlOpen = vfs_dl_open;
  v.xDlError = vfs_dl_error;
  v.xDlSym = vfs_dl_sym;
  v.xDlClose = vfs_dl_close;
  v.xRandomness = vfs_randomness;
  v.xSleep = vfs_sleep;
  v.xCurrentTime = vfs_current_time;
  v.xGetLastError = vfs_get_last_error;
  v.xCurrentTimeInt64 = vfs_current_time_int64;
  v.xSetSystemCall = vfs_set_system_call;
  v.xGetSystemCall = vfs_get_system_call;
  v.xNextSystemCall = vfs_next_system_call;
  // LTXVFS_DEFAULT_VFS=1 makes `ltx` the default VFS, for programs that cannot name a VFS (and
  // for running SQLite's own test suite through it).
  int rc = sqlite3_vfs_register(&v, wanted_as_default() ? 1 : 0);
  if (rc != SQLITE_OK) {
    error = "ltx: sqlite3_vfs_register failed";
    delete ctx;
  }
  return rc;
}

}  // namespace ltxvfs::vfs
