#!/usr/bin/env bash
# Clang's thread-safety analysis over the library (not the tests): every member marked
# GUARDED_BY is touched only with its mutex held (base/thread_annotations.h, base/mutex.h).
# Syntax-only, so it costs a parse of each file, not a second build. Exits non-zero on a warning.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${LTXVFS_JOBS:-2}
clangxx=$(command -v clang++ || command -v clang++-14 || true)
if [ -z "$clangxx" ]; then
  echo "check-thread-safety: clang++ not found (bash scripts/setup.sh --tests installs clang)"; exit 1
fi
# The one generated header (the version, which CMake writes from cmake/ltxvfs_version.h.in at
# configure time) made here the same way, so this check needs no configured build.
generated=$(mktemp -d)
trap 'rm -rf "$generated"' EXIT
version=$(sed -n 's/^project([a-z]* VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
sed "s/@PROJECT_VERSION@/${version:-unknown}/" cmake/ltxvfs_version.h.in > "$generated/ltxvfs_version.h"
# LTXVFS_BIN_TO_LIB: the one compile definition a source needs (tools/CMakeLists.txt sets it).
flags=(-std=c++20 -fsyntax-only -Wthread-safety -Wthread-safety-beta -Werror=thread-safety
  -I"$root" -I"$generated" -DLTXVFS_BIN_TO_LIB='"../lib"'
  $(pkg-config --cflags sqlite3 libcurl libzstd liblz4 openssl))
mapfile -t sources < <(git ls-files 'base/*.cpp' 'ltx/*.cpp' 'storage/*.cpp' 'history/*.cpp' \
  'vfs/*.cpp' 'extension/*.cpp' 'tools/*.cpp')
printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} "$clangxx" "${flags[@]}" {}
echo "thread-safety: ${#sources[@]} files checked"
