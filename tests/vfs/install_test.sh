#!/usr/bin/env bash
# `cmake --install --strip` into a prefix the loader does not know (issue 19, item 6): the files
# land in bin/ and the library directory, stripped, and work from there — `ltxvfs run` finds the
# extension beside its own installation, and the shell loads it by path.
# argv: <build dir> <scratch dir>
set -euo pipefail
build=$1 scratch=$2
rm -rf "$scratch"; mkdir -p "$scratch"
prefix="$scratch/prefix"
cmake --install "$build" --prefix "$prefix" --strip >"$scratch/install.log"
libdir=$(dirname "$(find "$prefix" -name libltxvfs.so | head -n 1)")
[ -f "$libdir/libltxvfs.so" ] && [ -f "$libdir/libltxvfs_preload.so" ] && [ -x "$prefix/bin/ltxvfs" ] ||
  { echo "missing installed files:"; find "$prefix"; exit 1; }
for f in "$libdir/libltxvfs.so" "$prefix/bin/ltxvfs"; do
  if readelf -S "$f" | grep -q '\.debug_'; then echo "$f is not stripped"; exit 1; fi
done
"$prefix/bin/ltxvfs" --version
"$prefix/bin/ltxvfs" run --check | grep -q "$libdir/libltxvfs.so" ||
  { echo "ltxvfs run does not find the installed extension"; exit 1; }
printf '.load %s\n.open file:%s/app.db?vfs=ltx\nCREATE TABLE t(x);\nINSERT INTO t VALUES (1);\n' \
  "$libdir/libltxvfs" "$scratch" | sqlite3
"$prefix/bin/ltxvfs" restore "$scratch/app.db-ltx/replica" -o "$scratch/copy.db" | grep -q "integrity_check: ok"
echo "ok: installed to $prefix, stripped; run --check and .load by path work"
