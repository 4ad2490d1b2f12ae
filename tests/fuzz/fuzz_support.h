// Shared by the libFuzzer targets: what a harness may swallow and what it must not.
//
// A parser rejecting bad input throws its documented error type (LtxError, StoreError,
// std::runtime_error, ...): the harness catches std::exception. Running out of memory is never a
// valid answer to a few KB of input, so std::bad_alloc and std::length_error (a vector asked for
// more than it can hold) abort: libFuzzer then reports a crash with the reproducer.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <stdexcept>
#include <string_view>

namespace ltxvfs::fuzz {

template <class Fn>
void expect_clean_rejection(Fn&& fn) {
  try {
    fn();
  } catch (const std::bad_alloc&) {
    std::fputs("fuzz: std::bad_alloc escaped a parser\n", stderr);
    std::abort();
  } catch (const std::length_error& e) {
    std::fprintf(stderr, "fuzz: std::length_error escaped a parser: %s\n", e.what());
    std::abort();
  } catch (const std::exception&) {
    // A clean rejection.
  }
}

// The key of the encrypted seeds (make_ltx_seeds), registered by fuzz_ltx_decode so that the
// fuzzer gets past the header of an encrypted file into its frames and file MAC.
inline constexpr const char* kFuzzKeyHex =
    "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace ltxvfs::fuzz
