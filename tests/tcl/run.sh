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
for s in "${scripts[@]}"; do
  [ -f "$src/test/$s" ] || { echo "tcl: no script $s in $src/test" >&2; exit 1; }
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
  local -a env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$dir" LANG=C.UTF-8 TZ=UTC)
  [ "$mode" = ltx ] && env+=(LTXVFS_TEST_EXTENSION="$scratch/bin/$(basename "$so")" LTXVFS_DEFAULT_VFS=1)
  "${run_as[@]}" mkdir -p "$dir"
  local start=${EPOCHREALTIME/./} rc=0
  (cd "$dir" && "${run_as[@]}" "${env[@]}" timeout -k 10 "$timeout_s" \
    "$scratch/bin/testfixture" "$scratch/bin/harness.tcl" "$scratch/sqlite/test/$script" \
    >"$dir/out" 2>&1 </dev/null) || rc=$?
  echo "$rc" >"$dir/rc"
  echo $((${EPOCHREALTIME/./} - start)) >"$dir/micros"
}

echo "tcl: ${#scripts[@]} scripts x 2 runs (unix, ltx), $jobs at a time, ${timeout_s}s timeout each, as $user"
stage_start=${EPOCHREALTIME/./}
for s in "${scripts[@]}"; do
  for mode in ltx unix; do
    while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
    run_one "$mode" "$s" &
  done
done
wait
wall_us=$((${EPOCHREALTIME/./} - stage_start))

# Anything the test user still runs was started by a test and outlived it.
if [ "$(id -u)" = 0 ] && pids=$(pgrep -u "$user"); then
  echo "tcl: processes of $user outlived their scripts:"; ps -o pid,etime,args -p "${pids//$'\n'/,}" || true
  kill -KILL $pids 2>/dev/null || true
  leftover=1
fi

rc=0
python3 "$here/compare.py" --runs "$scratch/runs" --expected "$here/expected-differences.txt" \
  --all "$( (($#)) && echo 0 || echo 1)" --wall-us "$wall_us" --load "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "${scripts[@]}" || rc=$?
[ "${leftover:-0}" = 1 ] && rc=1
if ((rc)) && [ "${LTXVFS_TCL_KEEP:-0}" != 1 ]; then
  # Keep the logs of a failed run where CI (and a person) can read them (not the databases:
  # walbig.test's alone is a 5 GB sparse file).
  rm -rf "$root/build/tcl-runs"
  mkdir -p "$root/build/tcl-runs"
  (cd "$scratch/runs" && find . -mindepth 3 -maxdepth 3 \( -name out -o -name rc -o -name micros \) \
    -exec cp --parents {} "$root/build/tcl-runs/" \;) || true
  echo "tcl: logs of every script and run in $root/build/tcl-runs/<mode>/<script>/out"
fi
exit "$rc"
