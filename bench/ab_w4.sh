#!/usr/bin/env bash
# W4 (a lazy replica's open, point query, range query and scan through the latency proxy) for two
# builds of the extension, alternating, so that the machine's drift falls on both alike:
#
#   bash bench/ab_w4.sh OLD/libltxvfs.so NEW/libltxvfs.so [ROUNDS=3] [BENCH=build/ltxvfs_bench]
#
# Each round runs `ltxvfs_bench --only W4 --runs 3` once per build (each copy must be named
# libltxvfs.so: SQLite derives the entry point from the file name). Starts its own moto on
# loopback, which stops with this script (and after 90 minutes at most).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
old=$1 new=$2 rounds=${3:-3} bench=${4:-$root/build/ltxvfs_bench}
state=$(mktemp -d /tmp/ltxvfs-ab-w4.XXXXXX)
cleanup() {
  python3 "$root/tests/harness/server_ctl.py" stop moto --state-dir "$state" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
python3 "$root/tests/harness/server_ctl.py" start moto --state-dir "$state" --watch-pid $$ \
  --max-lifetime 5400
port=$(cat "$state/moto.port")
for round in $(seq 1 "$rounds"); do
  for side in old new; do
    so=$old
    [ "$side" = new ] && so=$new
    echo "== $side ($so), round $round, load $(cut -d' ' -f1-3 /proc/loadavg)"
    "$bench" --moto "http://127.0.0.1:$port" --only W4 --runs 3 --extension "$so" \
      --work-dir "$state/work" | grep -E '^W4|the open before it took'
  done
done
