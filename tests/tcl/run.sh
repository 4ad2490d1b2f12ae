#!/usr/bin/env bash
# Runs a subset of SQLite's TCL test suite twice, one testfixture process per script and run:
#   unix: the default VFS, every connection put in WAL mode (the baseline);
#   ltx:  the same, with libltxvfs.so loaded and `ltx` the default VFS (LTXVFS_DEFAULT_VFS=1).
# Then compares, per script, the failing test names and the error count (compare.py). Fails on any
# difference not listed in expected-differences.txt, on a listed script that no longer differs, and
# on any crash or hang (a script that outlives its timeout).
#
#   bash tests/tcl/run.sh                 # the scripts listed in scripts.txt
#   bash tests/tcl/run.sh wal2.test ...   # only these (their expected differences still apply)
#
# Environment: LTXVFS_SO (default build/libltxvfs.so), LTXVFS_TCL_TIMEOUT (seconds per script and
# run, default 90), LTXVFS_JOBS (parallel processes, default 2), LTXVFS_TCL_KEEP=1 (keep the
# scratch directory). As root, scripts run as the user `ltxtest` (created if missing): SQLite's
# tests of read-only files and permissions mean nothing as root.
set -euo pipefail
export LC_ALL=C  # EPOCHREALTIME with a decimal point
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
jobs=${LTXVFS_JOBS:-2}
timeout_s=${LTXVFS_TCL_TIMEOUT:-90}
so=$(realpath "${LTXVFS_SO:-$root/build/libltxvfs.so}")
[ -f "$so" ] || { echo "tcl: $so does not exist; build it first (cmake --build build --target ltxvfs)" >&2; exit 1; }

bash "$here/build-testfixture.sh"
src=$(ls -d "$root"/.cache/tcl/src/sqlite3-*/ | head -n 1)
src=${src%/}

if (($#)); then
  scripts=("$@")
else
  mapfile -t scripts < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$here/scripts.txt" | grep -v '^$')
fi
# A script is named relative to test/ (sort.test), or to the source tree when it lives elsewhere
# (ext/recover/recoverold.test).
script_rel() {
  case $1 in
  */*) echo "$1" ;;
  *) echo "test/$1" ;;
  esac
}
for s in "${scripts[@]}"; do
  [ -f "$src/$(script_rel "$s")" ] || { echo "tcl: no script $(script_rel "$s") in $src" >&2; exit 1; }
done

# A scratch directory the test user owns, holding everything the runs read: the repository may
# sit where that user cannot reach.
run_as=()
user=$(id -un)
if [ "$(id -u)" = 0 ]; then
  user=ltxtest
  id -u "$user" >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
  run_as=(runuser -u "$user" --)
fi
scratch=$(mktemp -d /tmp/ltxvfs-tcl.XXXXXX)
# Marks every process this run starts (see this_runs_processes below).
run_id=$(basename "$scratch")-$$
cleanup() {
  if [ "${LTXVFS_TCL_KEEP:-0}" = 1 ]; then echo "tcl: kept $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT
mkdir -p "$scratch/bin" "$scratch/sqlite" "$scratch/runs"
cp "$root/.cache/tcl/bld/testfixture" "$so" "$here/harness.tcl" "$scratch/bin/"
cp -r "$src/test" "$src/ext" "$scratch/sqlite/"
[ "$(id -u)" = 0 ] && chown -R "$user:" "$scratch"
chmod 755 "$scratch"

# One script in one mode: runs/<mode>/<script>/{out,rc,micros}. `timeout` runs testfixture in
# its own process group and signals the whole group, so child testfixtures die with it.
run_one() {
  local mode=$1 script=$2 dir="$scratch/runs/$1/$2"
  local -a env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$dir" LANG=C.UTF-8 TZ=UTC
    LTXVFS_TCL_RUN="$run_id")
  [ "$mode" = ltx ] && env+=(LTXVFS_TEST_EXTENSION="$scratch/bin/$(basename "$so")" LTXVFS_DEFAULT_VFS=1)
  "${run_as[@]}" mkdir -p "$dir"
  local start=${EPOCHREALTIME/./} rc=0
  (cd "$dir" && "${run_as[@]}" "${env[@]}" timeout -k 10 "$timeout_s" \
    "$scratch/bin/testfixture" "$scratch/bin/harness.tcl" "$scratch/sqlite/$(script_rel "$script")" \
    >"$dir/out" 2>&1 </dev/null) || rc=$?
  echo "$rc" >"$dir/rc"
  echo $((${EPOCHREALTIME/./} - start)) >"$dir/micros"
}

run_all() {
  for s in "$@"; do
    for mode in ltx unix; do
      while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
      rm -rf "$scratch/runs/$mode/$s"
      run_one "$mode" "$s" &
    done
  done
  wait
}

echo "tcl: ${#scripts[@]} scripts x 2 runs (unix, ltx), $jobs at a time, ${timeout_s}s timeout each, as $user"
stage_start=${EPOCHREALTIME/./}
run_all "${scripts[@]}"
wall_us=$((${EPOCHREALTIME/./} - stage_start))

# A process that still carries this run's LTXVFS_TCL_RUN (children inherit it) was started by one
# of its scripts and outlived it. Only those are killed: another run on the same machine (a
# second CI job, a developer's run) has its own id, and its scripts are left alone.
this_runs_processes() {
  local env_file
  for env_file in /proc/[0-9]*/environ; do
    grep -qzx "LTXVFS_TCL_RUN=$run_id" "$env_file" 2>/dev/null && basename "$(dirname "$env_file")"
  done
  return 0
}
pids=$(this_runs_processes)
if [ -n "$pids" ]; then
  echo "tcl: processes of this run outlived their scripts:"; ps -o pid,etime,args -p "${pids//$'\n'/,}" || true
  kill -KILL $pids 2>/dev/null || true
  leftover=1
fi

# compare ALL SCRIPT...: ALL=1 also checks that every listed difference was run.
compare() {
  local all=$1
  shift
  python3 "$here/compare.py" --runs "$scratch/runs" --expected "$here/expected-differences.txt" \
    --all "$all" --wall-us "$wall_us" --load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --retryable "$scratch/retryable" "$@"
}
rc=0
compare "$( (($#)) && echo 0 || echo 1)" "${scripts[@]}" || rc=$?
# SQLite's scripts time things and race their own connections; on a loaded 2-core machine one of
# 180 occasionally fails a test once (delete3.test: "disk I/O error" from the unix layer, once in
# some ten CI runs, never again in 50 runs by hand). A script whose only problem is an unexpected
# difference runs again, both ways; it fails the stage only if it differs again. Crashes, hangs
# and everything else are never retried.
if ((rc)) && [ -s "$scratch/retryable" ] && [ "$(wc -l <"$scratch/retryable")" -le 3 ]; then
  mapfile -t again <"$scratch/retryable"
  echo
  echo "tcl: running again, to tell a flaky test from a real difference: ${again[*]}"
  for s in "${again[@]}"; do
    for mode in ltx unix; do
      [ -d "$scratch/runs/$mode/$s" ] && mv "$scratch/runs/$mode/$s" "$scratch/runs/$mode/$s.first-run"
    done
  done
  stage_start=${EPOCHREALTIME/./}
  run_all "${again[@]}"
  wall_us=$((${EPOCHREALTIME/./} - stage_start))
  rc=0
  compare 0 "${again[@]}" || rc=$?
  ((rc)) || echo "tcl: FLAKY (differed once, the same on a second run): ${again[*]}"
fi
[ "${leftover:-0}" = 1 ] && rc=1
if ((rc)) && [ "${LTXVFS_TCL_KEEP:-0}" != 1 ]; then
  # Keep the logs of a failed run where CI (and a person) can read them (not the databases:
  # walbig.test's alone is a 5 GB sparse file).
  rm -rf "$root/build/tcl-runs"
  mkdir -p "$root/build/tcl-runs"
  (cd "$scratch/runs" && find . -mindepth 3 -maxdepth 5 \( -name out -o -name rc -o -name micros \) \
    -exec cp --parents {} "$root/build/tcl-runs/" \;) || true
  echo "tcl: logs of every script and run in $root/build/tcl-runs/<mode>/<script>/out"
fi
exit "$rc"
