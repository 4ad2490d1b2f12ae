#!/usr/bin/env bash
# Sets everything up, builds, and runs the main job on the embedded default: a database written
# through the `ltx` VFS in the sqlite3 shell replicates to a local directory beside it (no cloud
# account); the replica is listed and restored, and the restored copy is compared with the
# original.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${LTXVFS_JOBS:-2}" --target ltxvfs ltxvfs_cli

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
