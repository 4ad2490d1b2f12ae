// error_of(f): the StoreError that f() throws, for checking its kind and message; fails the test
// when f() throws nothing.
#pragma once

#include <catch2/catch.hpp>
#include <functional>

#include "storage/object_store.h"

namespace ltxvfs::testing {

inline storage::StoreError error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const storage::StoreError& e) {
    return e;
  }
  FAIL("no StoreError thrown");
  return storage::StoreError(storage::StoreErrorKind::kProtocol, "");
}

}  // namespace ltxvfs::testing
