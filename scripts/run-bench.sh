#!/usr/bin/env bash
# Runs the benchmark suite (issue 5) with one command: sets up, builds in Release mode, starts
# moto (the S3-compatible server) on loopback, runs ltxvfs_bench, prints the table and writes
# build-bench/bench-results.json and bench-results.md (the table for bench/RESULTS.md). The
# servers and the scratch data are removed on exit. W4 and W5 also read a copy of their replica
# from s3rver (--s3rver), which answers a ranged GET in proportion to the range as S3 does, where
# moto copies the whole object for each; s3rver has no conditional writes, so nothing writes
# to it but that copy.
#
#   scripts/run-bench.sh            default size (under 15 minutes on 2 cores, build included)
#   scripts/run-bench.sh --smoke    tiny size (under a minute after the build), for CI
#   scripts/run-bench.sh --only W1,W8 --runs 3   (other arguments go to ltxvfs_bench --help)
#
# Environment: LTXVFS_BENCH_BUILD_DIR (default build-bench), LTXVFS_JOBS (default 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${LTXVFS_BENCH_BUILD_DIR:-$root/build-bench}
jobs=${LTXVFS_JOBS:-2}
started=$(date +%s)

bash scripts/setup.sh --tests
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$jobs" --target ltxvfs ltxvfs_cli ltxvfs_bench ltxvfs_bench_rss_writer

state=$(mktemp -d /tmp/ltxvfs-bench-servers.XXXXXX)
work="$build/bench-work"
ctl="$root/tests/harness/server_ctl.py"
cleanup() {
  python3 "$ctl" stop moto --state-dir "$state" >/dev/null 2>&1 || true
  python3 "$ctl" stop s3rver --state-dir "$state" >/dev/null 2>&1 || true
  rm -rf "$state" "$work"
}
trap cleanup EXIT

# The server watches this script and stops with it even if the trap cannot run; an hour at most.
python3 "$ctl" start moto --state-dir "$state" --max-lifetime 3600
python3 "$ctl" start s3rver --state-dir "$state" --max-lifetime 3600 --node "$(command -v node)" \
  --node-prefix "$root/.cache/node"

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM; load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/ltxvfs_bench" --moto "http://127.0.0.1:$(cat "$state/moto.port")" \
  --s3rver "http://127.0.0.1:$(cat "$state/s3rver.port")" --work-dir "$work" \
  --json "$build/bench-results.json" --markdown "$build/bench-results.md" "$@"
# SQLite's own speedtest1 (issue 17) and a large database's open through index directories (as
# a writer with the default upload window leaves it, then a fast writer's),
# beside the suite's figures; skipped with --only.
case " $* " in
  *" --only "*) ;;
  *) if [ "${1:-}" = --smoke ]; then bash bench/speedtest1/run.sh "$build/libltxvfs.so" 1 1
     else
       bash bench/speedtest1/run.sh "$build/libltxvfs.so" 3 25
       /usr/bin/python3 bench/large_open.py "$build/libltxvfs.so" "$build/ltxvfs" 1024
       # A fast writer (each transaction its own object): its chain is compacted early.
       /usr/bin/python3 bench/large_open.py "$build/libltxvfs.so" "$build/ltxvfs" 1024 \
         upload_interval_ms=0
     fi ;;
esac
echo "== run-bench: total $(($(date +%s) - started)) s (setup and build included)"
