#!/usr/bin/env bash
# Sets everything up, builds, and runs the main job on the embedded default: a database written
# through the `ltx` VFS in the sqlite3 shell replicates to a local directory beside it (no cloud
# account); the replica is listed and restored, and the restored copy is compared with the
# original.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh  # build and run only; the tests' servers and sources are setup.sh --tests
start=$SECONDS
echo "== building libltxvfs.so and the ltxvfs tool (Release): about 2 minutes on 2 cores, once"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLTXVFS_BUILD_TESTS=OFF -DLTXVFS_BUILD_BENCH=OFF \
  >/dev/null
# make's lines reduced to a progress figure; compiler errors still reach the terminal (stderr).
cmake --build build -j"${LTXVFS_JOBS:-2}" --target ltxvfs ltxvfs_cli |
  awk '/^\[ *[0-9]+%\]/ { p = $2; if (p != last) { printf "\r   %s", p; fflush(); last = p } }
       END { print "" }'
echo "   built in $((SECONDS - start)) s"

demo=$(mktemp -d /tmp/ltxvfs-demo.XXXXXX)
echo "== writing $demo/app.db through the ltx VFS"
sqlite3 <<SQL
.load $root/build/libltxvfs
.open file:$demo/app.db?vfs=ltx
CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT, at TEXT DEFAULT CURRENT_TIMESTAMP);
INSERT INTO notes(body) VALUES ('first'), ('second');
INSERT INTO notes(body) SELECT 'bulk ' || value FROM generate_series(1, 1000);
UPDATE notes SET body = 'edited' WHERE id = 1;
SELECT 'committed TXID', ltx_txid();
SQL
echo "== the replica (default: $demo/app.db-ltx/replica, a local directory)"
"$root/build/ltxvfs" ls "$demo/app.db-ltx/replica"
echo "== restoring it"
"$root/build/ltxvfs" restore "$demo/app.db-ltx/replica" -o "$demo/restored.db"
a=$(sqlite3 "$demo/app.db" .sha3sum)
b=$(sqlite3 "$demo/restored.db" .sha3sum)
echo "original: $a"
echo "restored: $b"
[ "$a" = "$b" ] && echo "== identical: the replica holds every committed transaction" || {
  echo "MISMATCH"; exit 1; }
