// The SQLite face of a read replica: a static sqlite3_io_methods table (version 1: no shared
// memory, no mmap — the replica is presented in rollback mode) whose trampolines drive a
// replica::Replica and turn every exception into a specific SQLite result code.
//
// Locking is how SQLite tells us where a read transaction begins and ends: xLock(SHARED) pins
// the replica's current snapshot, every xRead and xFileSize is served from it, xUnlock(NONE)
// releases it. A lock above SHARED means SQLite is about to write: refused (SQLITE_READONLY).
#include "vfs/shim/replica_file.h"

#include <strings.h>

#include <charconv>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/time_spec.h"
#include "ltx/error.h"
#include "storage/object_store.h"
#include "vfs/replica/errors.h"
#include "vfs/replica/options.h"
#include "vfs/replica/read_tracker.h"
#include "vfs/replica/replica.h"
#include "vfs/shim/guard.h"
#include "vfs/shim/log.h"
#include "vfs/shim/open_databases.h"
#include "vfs/shim/shim_file.h"

namespace ltxvfs::vfs {
namespace {

struct ReplicaFile {
  std::unique_ptr<replica::Replica> replica;
  std::shared_ptr<const replica::Snapshot> pinned;  // held from xLock(SHARED) to xUnlock(NONE)
  // nolock=1 / immutable=1: SQLite takes no locks at all, so the first read pins a snapshot for
  // the life of the connection (a consistent, if frozen, view rather than a torn one).
  bool pin_forever = false;
  uint64_t tracked_txid = 0, tracked_epoch = 0;  // the snapshot the read tracker describes
  replica::ReadTracker tracker;
  std::string name;

  ReplicaFile(std::unique_ptr<replica::Replica> r, uint32_t budget, std::string n)
      : replica(std::move(r)), tracker(budget), name(std::move(n)) {
    OpenDatabases::process().add_replica(name, replica.get());
  }
  // Out of the process's registry (ltx_metrics()) before the replica goes.
  ~ReplicaFile() { OpenDatabases::process().remove_replica(replica.get()); }

  // The snapshot a read outside any lock sees: the pinned one, or the current one.
  std::shared_ptr<const replica::Snapshot> view() {
    if (pinned) return pinned;
    if (pin_forever) return pin();
    return replica->current();
  }
  std::shared_ptr<const replica::Snapshot> pin() {
    pinned = replica->pin();
    if (pinned->txid() != tracked_txid || pinned->epoch() != tracked_epoch) {
      tracker.reset();
      tracked_txid = pinned->txid();
      tracked_epoch = pinned->epoch();
    }
    return pinned;
  }
};

ReplicaFile& state(sqlite3_file* f) {
  ReplicaFile* p = nullptr;
  std::memcpy(&p, reinterpret_cast<ShimFile*>(f)->real, sizeof p);
  return *p;
}

int code_for(const replica::ReplicaError& e, int on_error) {
  switch (e.kind()) {
    case replica::ReplicaErrorKind::kSnapshotLost:
      // What SQLite itself returns when a read transaction's snapshot is no longer available:
      // applications already retry on it.
      return SQLITE_BUSY_SNAPSHOT;
    default:
      return on_error;
  }
}

// guard() (guard.h) with the replica engine's errors mapped to their own codes first.
template <typename Body>
int replica_guard(int on_error, const char* what, Body&& body) noexcept {
  return guard(on_error, what, [&]() -> int {
    try {
      return body();
    } catch (const replica::ReplicaError& e) {
      throw SqliteError(code_for(e, on_error), e.what());
    }
  });
}

int refuse_write(sqlite3_file* f, const char* what) {
  ReplicaFile& st = state(f);
  log_error(SQLITE_READONLY,
            "%s: %s is a read replica of %s and cannot be written; write through the primary "
            "(the database opened with vfs=ltx without mode=ro)",
            what, st.name.c_str(), st.replica->source().c_str());
  return SQLITE_READONLY;
}

int r_close(sqlite3_file* f) {
  ShimFile& s = *reinterpret_cast<ShimFile*>(f);
  ReplicaFile* p = &state(f);
  s.base.pMethods = nullptr;
  return replica_guard(SQLITE_IOERR_CLOSE, "ltx replica close", [&] {
    delete p;
    return SQLITE_OK;
  });
}

int r_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  return replica_guard(SQLITE_IOERR_READ, "ltx replica read", [&] {
    ReplicaFile& st = state(f);
    auto snap = st.view();
    const bool full = st.replica->read(
        *snap, static_cast<uint64_t>(offset),
        std::span(static_cast<uint8_t*>(buf), static_cast<size_t>(amount)), &st.tracker);
    return full ? SQLITE_OK : SQLITE_IOERR_SHORT_READ;
  });
}

int r_write(sqlite3_file* f, const void*, int, sqlite3_int64) {
  return refuse_write(f, "ltx replica write");
}
int r_truncate(sqlite3_file* f, sqlite3_int64) {
  return refuse_write(f, "ltx replica truncate");
}
int r_sync(sqlite3_file*, int) {
  return SQLITE_OK;
}

int r_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return replica_guard(SQLITE_IOERR_FSTAT, "ltx replica file size", [&] {
    *size = static_cast<sqlite3_int64>(state(f).view()->size_bytes());
    return SQLITE_OK;
  });
}

int r_lock(sqlite3_file* f, int level) {
  if (level > SQLITE_LOCK_SHARED) return refuse_write(f, "ltx replica lock");
  return replica_guard(SQLITE_IOERR_LOCK, "ltx replica lock", [&] {
    ReplicaFile& st = state(f);
    if (!st.pinned) st.pin();
    return SQLITE_OK;
  });
}

int r_unlock(sqlite3_file* f, int level) {
  ReplicaFile& st = state(f);
  if (level == SQLITE_LOCK_NONE && !st.pin_forever) st.pinned.reset();
  return SQLITE_OK;
}

int r_check_reserved_lock(sqlite3_file*, int* out) {
  *out = 0;  // nobody writes through a replica
  return SQLITE_OK;
}

// PRAGMA ltx_txid [= N | 'latest'] and PRAGMA ltx_time [= <when> | 'latest'].
int replica_pragma(ReplicaFile& st, char** args) {
  const char* name = args[1];
  const char* value = args[2];
  const bool txid_pragma = strcasecmp(name, "ltx_txid") == 0;
  const bool time_pragma = strcasecmp(name, "ltx_time") == 0;
  if (!txid_pragma && !time_pragma) return SQLITE_NOTFOUND;
  try {
    std::shared_ptr<const replica::Snapshot> snap;
    if (value == nullptr) {
      snap = st.pinned ? st.pinned : st.replica->current();
    } else {
      replica::Position pos;
      const std::string v = value;
      const auto t = base::parse_time_target(v, base::now_ms());
      if (t && t->latest) {
        pos.kind = replica::Position::Kind::kLatest;
      } else if (txid_pragma) {
        uint64_t n = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || end != v.data() + v.size() || n == 0) {
          throw replica::ReplicaError(
              replica::ReplicaErrorKind::kInvalidArgument,
              "PRAGMA ltx_txid = '" + v + "': expected a TXID (a whole number from 1) or 'latest'");
        }
        pos.kind = replica::Position::Kind::kTxid;
        pos.txid = n;
      } else if (t) {
        pos.kind = replica::Position::Kind::kTime;
        pos.time_ms = t->ms;
      } else {
        throw replica::ReplicaError(
            replica::ReplicaErrorKind::kInvalidArgument,
            "PRAGMA ltx_time = '" + v + "': " + std::string(base::kTimeSpecHelp));
      }
      // A transaction already open keeps its snapshot; the next one sees the new position.
      snap = st.replica->move_to(pos);
    }
    const std::string result =
        txid_pragma ? std::to_string(snap->txid()) : base::format_rfc3339_ms(snap->timestamp_ms());
    args[0] = sqlite3_mprintf("%s", result.c_str());
    return SQLITE_OK;
  } catch (const std::exception& e) {
    args[0] = sqlite3_mprintf("ltx: %s", e.what());
    return SQLITE_ERROR;
  }
}

int r_file_control(sqlite3_file* f, int op, void* arg) {
  return replica_guard(SQLITE_IOERR, "ltx replica file control", [&] {
    ReplicaFile& st = state(f);
    if (op == kFcntlLtxReplica) {
      *static_cast<replica::Replica**>(arg) = st.replica.get();
      return SQLITE_OK;
    }
    if (op == SQLITE_FCNTL_PRAGMA) return replica_pragma(st, static_cast<char**>(arg));
    return SQLITE_NOTFOUND;
  });
}

int r_sector_size(sqlite3_file*) {
  return 4096;
}
int r_device_characteristics(sqlite3_file*) {
  // Not SQLITE_IOCAP_IMMUTABLE: the content changes as the replica follows the primary.
  return SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

constexpr sqlite3_io_methods make_replica_methods() {
  sqlite3_io_methods m{};
  m.iVersion = 1;  // no xShm* (rollback mode: never WAL) and no xFetch (no mmap)
  m.xClose = r_close;
  m.xRead = r_read;
  m.xWrite = r_write;
  m.xTruncate = r_truncate;
  m.xSync = r_sync;
  m.xFileSize = r_file_size;
  m.xLock = r_lock;
  m.xUnlock = r_unlock;
  m.xCheckReservedLock = r_check_reserved_lock;
  m.xFileControl = r_file_control;
  m.xSectorSize = r_sector_size;
  m.xDeviceCharacteristics = r_device_characteristics;
  return m;
}
constexpr sqlite3_io_methods kReplicaMethods = make_replica_methods();

}  // namespace

int open_replica_file(VfsContext& ctx, sqlite3_filename name, sqlite3_file* file, int flags,
                      int* out_flags) {
  ShimFile& s = *reinterpret_cast<ShimFile*>(file);
  if (static_cast<size_t>(ctx.base()->szOsFile) < sizeof(ReplicaFile*)) {
    throw SqliteError(SQLITE_CANTOPEN,
                      "the default VFS's file object is too small to hold a "
                      "replica (szOsFile < pointer size)");
  }
  std::vector<std::pair<std::string, std::string>> params;
  for (int i = 0;; ++i) {
    const char* key = sqlite3_uri_key(name, i);
    if (key == nullptr) break;
    const char* value = sqlite3_uri_parameter(name, key);
    params.emplace_back(key, value != nullptr ? value : "");
  }
  replica::ReplicaOptions options;
  try {
    options = replica::parse_replica_options(name, params);
  } catch (const std::exception& e) {
    throw SqliteError(SQLITE_CANTOPEN, e.what());
  }
  std::unique_ptr<replica::Replica> r;
  try {
    // Connections of this process to the same location share its store and caches.
    auto location = replica::Location::shared(options.store_url(), options.cache_bytes, [&] {
      return storage::open_store(options.store_url(), replica::replica_store_settings());
    });
    r = std::make_unique<replica::Replica>(options, std::move(location), core_log_sink());
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw SqliteError(SQLITE_CANTOPEN, "read replica " + options.url + ": " + e.what());
  }
  auto* st = new ReplicaFile(std::move(r), options.prefetch_pages, name);
  st->pin_forever =
      sqlite3_uri_boolean(name, "nolock", 0) != 0 || sqlite3_uri_boolean(name, "immutable", 0) != 0;
  std::memcpy(s.real, &st, sizeof st);
  s.role = FileRole::kReplicaDb;
  s.hooks = nullptr;
  s.base.pMethods = &kReplicaMethods;
  // Reported as writable on purpose: a read-only pager refuses writes before it reaches the VFS,
  // which leaves no way to say why. This way a write reaches xLock(RESERVED), which refuses it
  // with SQLITE_READONLY and logs that this is a replica. Nothing else writes: every write path
  // of SQLite starts with that lock.
  if (out_flags != nullptr) {
    *out_flags = (flags & ~SQLITE_OPEN_READONLY) | SQLITE_OPEN_READWRITE;
  }
  return SQLITE_OK;
}

}  // namespace ltxvfs::vfs
