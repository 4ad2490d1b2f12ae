#!/usr/bin/env bash
# Builds SQLite's `testfixture` (tclsh + SQLite + its test commands) from Debian's sqlite3 source
# package, with the compile options Debian builds libsqlite3 with (read from debian/rules), plus
# ltx_autoload.c (see there). Output: .cache/tcl/bld/testfixture. Cached: rebuilt only when the
# source, this script, testfixture.mk or ltx_autoload.c changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
jobs=${LTXVFS_JOBS:-2}
cache="$root/.cache/tcl"

bash "$here/fetch-source.sh"
src=$(ls -d "$cache"/src/sqlite3-*/ | head -n 1)
src=${src%/}
stamp=$( (echo "$src"; cat "$here/build-testfixture.sh" "$here/testfixture.mk" \
  "$here/ltx_autoload.c" "$src/debian/changelog") | sha256sum | cut -d' ' -f1)
if [ -x "$cache/bld/testfixture" ] && [ "$(cat "$cache/bld/ltx-stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "build-testfixture: $cache/bld/testfixture is up to date"
  exit 0
fi
tclconfig=$(dirname "$(ls /usr/lib/*/tcl8.6/tclConfig.sh 2>/dev/null | head -n 1)")
[ -f "$tclconfig/tclConfig.sh" ] ||
  { echo "build-testfixture: tclConfig.sh not found: install tcl-dev (scripts/setup.sh does)" >&2; exit 1; }

# Debian's CFLAGS for libsqlite3 (`export CFLAGS += ...` in debian/rules, continuation lines
# joined), so the suite exercises the SQLite that Debian ships.
debian_cflags=$(python3 - "$src/debian/rules" <<'PY'
import re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
m = re.search(r"^export CFLAGS \+=(.*)$", text, re.M)
if not m:
    raise SystemExit("build-testfixture: no `export CFLAGS +=` line in " + sys.argv[1])
print(" ".join(m.group(1).split()))
PY
)

start=$(date +%s)
rm -rf "$cache/bld"
mkdir -p "$cache/bld"
cd "$cache/bld"
echo "build-testfixture: configure + make testfixture in $cache/bld (log: $cache/bld/build.log)"
if ! { CFLAGS="-g $debian_cflags" "$src/configure" --with-tcl="$tclconfig" --enable-threadsafe \
         --enable-load-extension &&
       make -j"$jobs" -f Makefile -f "$here/testfixture.mk" LTX_TCL_DIR="$here" testfixture; } \
       >build.log 2>&1; then
  tail -n 40 build.log >&2
  echo "build-testfixture: failed (full log: $cache/bld/build.log)" >&2
  exit 1
fi
echo "$stamp" >ltx-stamp
echo "build-testfixture: built $cache/bld/testfixture in $(($(date +%s) - start)) s"
