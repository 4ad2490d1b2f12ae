// libltxvfs_preload.so: what `ltxvfs run -- COMMAND` puts in LD_PRELOAD (issue 19: "a way to
// replicate a program that cannot load extensions"). It defines sqlite3_open, sqlite3_open_v2 and
// sqlite3_open16, which the dynamic linker then prefers to the system SQLite's own: at the first
// of them it loads libltxvfs.so into the system's shared SQLite (LTXVFS_DEFAULT_VFS=1, set by
// `ltxvfs run`, makes `ltx` its default VFS), then calls SQLite's function. So every database the
// program opens through that SQLite is replicated without a change to the program: Python built
// without load_extension, the sqlite3 shell, any program linking libsqlite3.so.0.
//
// Why at the first open and not before main(): loading the extension initializes SQLite, and a
// program's sqlite3_config() calls (the sqlite3 shell makes three) fail after that. The first
// open is the earliest moment a program cannot configure SQLite any more.
//
// It links nothing of SQLite (the symbols come from dlsym on the library already loaded) so that a
// program that never uses SQLite pays nothing. A program with its own copy of SQLite compiled in is
// not affected: README.md says so. Inert unless LTXVFS_RUN_EXTENSION names the extension: a stray
// LD_PRELOAD changes nothing. A failure ends the process with exit status 70 and a message,
// because a program that runs on without replication is exactly the silent no-op `ltxvfs run`
// exists to prevent (`ltxvfs run` checks the same steps before it starts the command).
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace {

// The few SQLite entry points used, with SQLite's own signatures (sqlite3.h is not included: this
// file must not depend on the headers matching the library found at run time).
using OpenV2Fn = int (*)(const char*, void**, int, const char*);
using OpenFn = int (*)(const char*, void**);
using Open16Fn = int (*)(const void*, void**);
using LoadFn = int (*)(void*, const char*, const char*, char**);
using EnableFn = int (*)(void*, int);
using CloseFn = int (*)(void*);
using FindFn = void* (*)(const char*);
using FreeFn = void (*)(void*);

constexpr int kOk = 0;
constexpr int kOpenFlags = 0x00000002 | 0x00000004;  // SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
constexpr int kExitFailure = 70;                     // EX_SOFTWARE

[[noreturn]] void fail(const char* what, const char* detail) {
  std::fprintf(stderr,
               "ltxvfs run: %s%s%s; nothing of this program would be replicated, so it is "
               "stopped. `ltxvfs run --check` takes the same steps.\n",
               what, detail != nullptr ? ": " : "", detail != nullptr ? detail : "");
  _exit(kExitFailure);
}

// The system SQLite, as the program loaded it (or loads it now: same instance either way).
void* sqlite_library() {
  static void* const lib = [] {
    void* l = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_GLOBAL);
    if (l == nullptr) fail("cannot load the system SQLite (libsqlite3.so.0)", dlerror());
    return l;
  }();
  return lib;
}

template <typename Fn>
Fn symbol(const char* name) {
  void* p = dlsym(sqlite_library(), name);
  if (p == nullptr) fail("libsqlite3.so.0 lacks", name);
  return reinterpret_cast<Fn>(p);
}

void load_extension(const char* extension) {
  const auto open = symbol<OpenV2Fn>("sqlite3_open_v2");
  const auto enable = symbol<EnableFn>("sqlite3_enable_load_extension");
  const auto load = symbol<LoadFn>("sqlite3_load_extension");
  const auto close = symbol<CloseFn>("sqlite3_close");
  const auto find = symbol<FindFn>("sqlite3_vfs_find");
  const auto free_message = symbol<FreeFn>("sqlite3_free");
  void* db = nullptr;
  if (open(":memory:", &db, kOpenFlags, nullptr) != kOk) fail("cannot open :memory:", nullptr);
  char* error = nullptr;
  // The extension returns SQLITE_OK_LOAD_PERMANENTLY: it stays loaded after this close.
  if (enable(db, 1) != kOk || load(db, extension, "sqlite3_ltxvfs_init", &error) != kOk) {
    std::fprintf(stderr, "ltxvfs run: cannot load %s: %s\n", extension,
                 error != nullptr ? error : "sqlite3_load_extension failed");
    free_message(error);
    close(db);
    fail("the extension did not load", nullptr);
  }
  close(db);
  if (find("ltx") == nullptr || find("ltx") != find(nullptr)) {
    fail("ltx is not the default VFS after loading the extension",
         "is LTXVFS_DEFAULT_VFS=1 set in the environment?");
  }
}

// Loads the extension once, at the first open of any thread.
void before_open() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* extension = std::getenv("LTXVFS_RUN_EXTENSION");
    if (extension != nullptr && extension[0] != '\0') load_extension(extension);
  });
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int sqlite3_open_v2(const char* name, void** db,
                                                                      int flags, const char* vfs) {
  before_open();
  static const auto real = symbol<OpenV2Fn>("sqlite3_open_v2");
  return real(name, db, flags, vfs);
}

extern "C" __attribute__((visibility("default"))) int sqlite3_open(const char* name, void** db) {
  before_open();
  static const auto real = symbol<OpenFn>("sqlite3_open");
  return real(name, db);
}

extern "C" __attribute__((visibility("default"))) int sqlite3_open16(const void* name, void** db) {
  before_open();
  static const auto real = symbol<Open16Fn>("sqlite3_open16");
  return real(name, db);
}
