#!/usr/bin/env bash
# SQLite's own speedtest1 (issue 17: "speedtest1 --size 25 --journal wal <= 1.05x plain's
# time") through plain SQLite's `unix` VFS and through `ltx` (a directory replica, the default
# <db>-ltx/replica), alternating in each round so that the machine's drift falls on both alike:
#
#   bash bench/speedtest1/run.sh [SO=build/libltxvfs.so] [ROUNDS=3] [SIZE=25] [TESTSET=main]
#
# Builds speedtest1 from the SQLite source that `bash scripts/setup.sh --tests` fetches
# (.cache/tcl/src/sqlite3-*/test/speedtest1.c), linked with the system's libsqlite3 as any
# application, with a main() that loads the extension first (load_ltx.c). Prints each run's
# TOTAL (speedtest1's own: its statements, the issue's figure) and the process's wall time (with
# the open and the close, which waits for the last uploads), then the medians and their ratios.
# After each ltx run the replica is restored with the `ltxvfs` CLI beside the extension and
# compared with the database SQLite closed (`.sha3sum` of the sqlite3 shell): a mismatch ends
# the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
so=$(realpath "${1:-$root/build/libltxvfs.so}")
rounds=${2:-3} size=${3:-25} testset=${4:-main}
cli=$(dirname "$so")/ltxvfs
src=$(compgen -G "$root/.cache/tcl/src/sqlite3-*/test/speedtest1.c" | head -n1 || true)
[ -n "$src" ] || { echo "speedtest1: no SQLite source; run: bash scripts/setup.sh --tests" >&2; exit 1; }
[ -x "$cli" ] || { echo "speedtest1: no ltxvfs CLI beside $so" >&2; exit 1; }
work=$(mktemp -d /tmp/ltxvfs-speedtest1.XXXXXX)
trap 'rm -rf "$work"' EXIT
bin=$work/speedtest1
cc -O2 -w -Dmain=speedtest1_main -c "$src" -o "$work/speedtest1.o"
cc -O2 -Wall -Wextra -c "$root/bench/speedtest1/load_ltx.c" -o "$work/load_ltx.o"
cc "$work/speedtest1.o" "$work/load_ltx.o" -o "$bin" -lsqlite3 -lm

run() {  # run VFS ROUND: prints the TOTAL seconds and the process's wall seconds
  local vfs=$1 dir=$work/$1-$2 start end
  mkdir -p "$dir"
  start=$EPOCHREALTIME
  LTXVFS_SO=$so "$bin" --size "$size" --journal wal --testset "$testset" --vfs "$vfs" \
    "$dir/speedtest1.db" > "$dir/out.txt"
  end=$EPOCHREALTIME
  if [ "$vfs" = ltx ]; then
    "$cli" restore "$dir/speedtest1.db-ltx/replica" -o "$dir/restored.db" > /dev/null
    local a b
    a=$(sqlite3 "$dir/speedtest1.db" .sha3sum)
    b=$(sqlite3 "$dir/restored.db" .sha3sum)
    [ "$a" = "$b" ] || { echo "speedtest1: the restored replica differs from the database" >&2; exit 1; }
  fi
  awk -v wall="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')" \
    '/TOTAL/ { sub(/s$/, "", $NF); print $NF, wall }' "$dir/out.txt"
  rm -rf "$dir"
}

echo "speedtest1 --size $size --journal wal --testset $testset, $rounds rounds; load $(cut -d' ' -f1-3 /proc/loadavg)"
plain=() ltx=() plain_wall=() ltx_wall=()
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then order="unix ltx"; else order="ltx unix"; fi
  for vfs in $order; do
    read -r t w < <(run "$vfs" "$r")
    if [ "$vfs" = unix ]; then plain+=("$t") plain_wall+=("$w"); else ltx+=("$t") ltx_wall+=("$w"); fi
    echo "round $r: $vfs TOTAL $t s, process $w s"
  done
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
mp=$(median "${plain[@]}") ml=$(median "${ltx[@]}")
mpw=$(median "${plain_wall[@]}") mlw=$(median "${ltx_wall[@]}")
echo "median TOTAL: unix $mp s, ltx $ml s, ltx / unix $(ratio "$ml" "$mp")"
echo "median process: unix $mpw s, ltx $mlw s, ltx / unix $(ratio "$mlw" "$mpw"); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "every ltx run's replica restored equal to its database"
