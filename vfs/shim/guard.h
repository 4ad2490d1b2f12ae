// guard(): runs the body of a VFS method and turns any escaping exception into a SQLite result
// code (and a log line). An exception must never unwind through SQLite's C frames; every
// trampoline that can throw runs its body through this.
#pragma once

#include <exception>
#include <new>

#include "vfs/shim/log.h"
#include "vfs/shim/sqlite_api.h"

namespace ltxvfs::vfs {

// `on_error` is the code for unexpected exceptions; SqliteError carries its own code.
template <typename Body>
int guard(int on_error, const char* what, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    log_error(SQLITE_NOMEM, "%s: out of memory", what);
    return SQLITE_NOMEM;
  } catch (const SqliteError& e) {
    log_error(e.code(), "%s: %s", what, e.what());
    return e.code();
  } catch (const std::exception& e) {
    log_error(on_error, "%s: %s", what, e.what());
    return on_error;
  } catch (...) {
    log_error(on_error, "%s: unknown exception", what);
    return on_error;
  }
}

}  // namespace ltxvfs::vfs
