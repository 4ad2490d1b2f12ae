#!/usr/bin/env bash
# Sets everything up, builds, and runs every test: a formatting check, a release build (warnings
# are errors) and its tests, a subset of SQLite's own TCL test suite through ltx (tests/tcl), a
# smoke run of the benchmarks, then the tests again under AddressSanitizer + UndefinedBehavior-
# Sanitizer and ThreadSanitizer, and a minute of fuzzing per parser (tests/fuzz). Exits non-zero
# on any failure. `.ci/run` runs this.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${LTXVFS_JOBS:-2}
# Tests run twice as many at once as the builds: most of a test's time is spent waiting (for a
# server, a lease, a child process, a timeout), so two at a time kept the 2 cores 20 % busy
# (release: 252 s at -j2, 124 s at -j4, 444 s of tests in all).
test_jobs=${LTXVFS_TEST_JOBS:-$((jobs * 2))}
# Every stage line says how long the run has taken so far, to keep CI well inside its budget.
stage() { echo "== [$((SECONDS / 60))m$((SECONDS % 60))s] $*"; }

bash scripts/setup.sh --tests

stage "format check (clang-format)"
mapfile -t sources < <(git ls-files '*.cpp' '*.h' 2>/dev/null || find base ltx storage history vfs extension tools tests bench examples -name '*.cpp' -o -name '*.h')
clang-format --dry-run --Werror "${sources[@]}"

stage "floors: no include climbs a floor (scripts/check-floors.py)"
python3 scripts/check-floors.py
stage "test names: none that CTest or Catch would mangle (scripts/check-test-names.py)"
python3 scripts/check-test-names.py
stage "code size: files within 600 lines, functions within 80 or saying why (scripts/check-code-size.py)"
python3 scripts/check-code-size.py

stage "release build"
# -g1 (line tables: enough for backtraces) instead of -g: full debug info nearly doubles the
# compile time of the Catch2 test files (12 s -> 7 s each here), the longest stage of CI.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DLTXVFS_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
stage "extension reaches SQLite only through the API table, and has no thread_local"
if nm -D --undefined-only build/libltxvfs.so | grep -q ' sqlite3_'; then
  echo "libltxvfs.so links sqlite3_ symbols directly:"; nm -D --undefined-only build/libltxvfs.so | grep sqlite3_
  exit 1
fi
# No thread_local in the extension: LeakSanitizer's exit scan crashed on a dlopen'ed library's
# dynamic TLS in worker threads (bench/RESULTS.md, 2026-12-07; ltx/page_codec.h plain_buffer).
if readelf -lW build/libltxvfs.so | grep -q ' TLS '; then
  echo "libltxvfs.so has a TLS segment (a thread_local): LeakSanitizer crashes on it; use a"
  echo "buffer its caller owns instead"; readelf -lW build/libltxvfs.so | grep ' TLS '
  exit 1
fi
stage "tests (release)"
# SQLite's testfixture, which the TCL stage needs, builds meanwhile (one compiler, ~70 s): the
# tests mostly wait. The TCL stage builds it itself if this failed, and shows why.
LTXVFS_JOBS=1 bash tests/tcl/build-testfixture.sh >build/testfixture-build.log 2>&1 &
testfixture_build=$!
ctest --test-dir build -j"$test_jobs" --output-on-failure --timeout 600
wait "$testfixture_build" || echo "(building testfixture beside the tests failed; the next stage retries)"

stage "SQLite's TCL test suite through ltx vs unix (tests/tcl; needs the release build's libltxvfs.so)"
# A failure here does not stop the later stages (their results matter too); it fails the run
# at the end.
tcl_rc=0
# Four scripts at a time like the tests (82 s of scripts at two, 63 s at four).
LTXVFS_JOBS=$test_jobs LTXVFS_SO="$root/build/libltxvfs.so" bash tests/tcl/run.sh || tcl_rc=$?

stage "benchmark smoke run (tiny sizes: keeps bench/ working; the figures mean nothing)"
bench_state=$(mktemp -d)
python3 tests/harness/server_ctl.py start moto --state-dir "$bench_state" >/dev/null
python3 tests/harness/server_ctl.py start s3rver --state-dir "$bench_state" --node "$(command -v node)" \
  --node-prefix "$root/.cache/node" >/dev/null
trap 'python3 tests/harness/server_ctl.py stop moto --state-dir "$bench_state" >/dev/null 2>&1 || true
  python3 tests/harness/server_ctl.py stop s3rver --state-dir "$bench_state" >/dev/null 2>&1 || true
  rm -rf "$bench_state"' EXIT
build/ltxvfs_bench --smoke --moto "http://127.0.0.1:$(cat "$bench_state/moto.port")" \
  --s3rver "http://127.0.0.1:$(cat "$bench_state/s3rver.port")" \
  --work-dir build/bench-smoke --json build/bench-smoke.json >build/bench-smoke.log 2>&1 || {
  cat build/bench-smoke.log; exit 1; }
python3 tests/harness/server_ctl.py stop moto --state-dir "$bench_state" >/dev/null
python3 tests/harness/server_ctl.py stop s3rver --state-dir "$bench_state" >/dev/null
rm -rf "$bench_state"
tail -n 3 build/bench-smoke.log
# SQLite's own speedtest1 through unix and ltx, one tiny round (its replica restored and compared).
bash bench/speedtest1/run.sh build/libltxvfs.so 1 1 >build/speedtest1-smoke.log 2>&1 || {
  cat build/speedtest1-smoke.log; exit 1; }
tail -n 3 build/speedtest1-smoke.log

stage "sanitizer build (ASan + UBSan, clang: also its -Wthread-safety analysis, as errors)"
# clang, not gcc: the same build takes 3.5 min instead of 5 here (gcc's ASan instrumentation at
# -O0 compiles 1.5-2x slower), and clang's build enforces the GUARDED_BY annotations
# (cmake/Warnings.cmake). -g1: line tables are all a sanitizer report needs.
CC=clang CXX=clang++ cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
  -DLTXVFS_SANITIZE=ON -DLTXVFS_WERROR=ON -DLTXVFS_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
stage "tests (sanitizers)"
# LTXVFS_TEST_QUICK: a quarter of the rounds of the statistical tests (the release stage ran them
# all); a round under the sanitizers costs several times more.
# The release run's durations (same test names) let ctest start the longest first, so a test of
# 80 s under the sanitizers does not begin last and run alone.
mkdir -p build-asan/Testing/Temporary
cp build/Testing/Temporary/CTestCostData.txt build-asan/Testing/Temporary/ 2>/dev/null || true
LTXVFS_TEST_QUICK=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$test_jobs" --output-on-failure --timeout 900 -LE no-sanitizer

stage "ThreadSanitizer build (the multi-threaded suites)"
# The floors below the shim and the writer's pipeline end to end: base (the scheduler), storage
# (stores shared by threads), history (engine, restorer, lease), the writer's stages, the replica
# engine, and a few SQLite-level writer tests that drive every stage at once. Tests needing a
# server or child processes run in the other stages.
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DLTXVFS_TSAN=ON -DLTXVFS_WERROR=ON -DLTXVFS_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$jobs" --target base_tests storage_tests history_tests writer_unit_tests \
  replica_engine_tests vfs_tests
stage "tests (ThreadSanitizer)"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
tsan_run() { echo "-- $*"; "$@" --reporter compact --warn NoTests | tail -n 2; }
# One test spec, the names joined by commas (Catch ORs them; a comma in a name is escaped). The
# TSan build of vfs_tests holds only these tests' files (tests/vfs/CMakeLists.txt): a name that
# matches nothing (renamed, or in another file) fails here instead of going untested.
tsan_vfs_names=("every commit restores to exactly the database SQLite sees"
  "checkpoint gate: a checkpoint and a read of the database file never overlap"
  "connections of one process share one replication"
  "the replicator reads the database through whichever connection is still open"
  "a commit into an empty WAL waits only for the first build\\, a WAL restart for the pipeline"
  "an unreachable store at open does not hold the application"
  "a silent store bounds the open\\, remote-durability commits and the close"
  "a writer whose lease was taken over stops uploading and refuses writes"
  "an open waiting for a lease does not hold up other databases"
  "short-lived connections: history upkeep keeps level 0 bounded"
  "ltx's background work runs on the process's bounded pool of named workers"
  "an idle writer holds no stage thread\\, and its next commit is replicated"
  "an idle writer closes without waiting for its stages\\, and leaves no thread"
  "a close releases its lease while other databases' uploads hold every worker")
tsan_vfs_spec=$(printf '%s,' "${tsan_vfs_names[@]}")
tsan_vfs_found=$(build-tsan/tests/vfs/vfs_tests --list-test-names-only "$tsan_vfs_spec" | grep -c . || true)
if [ "$tsan_vfs_found" != "${#tsan_vfs_names[@]}" ]; then
  echo "== FAILED: the TSan vfs_tests build holds $tsan_vfs_found of the ${#tsan_vfs_names[@]} tests" \
    "named for it (add the test's file to LTXVFS_VFS_TSAN_SOURCES, or fix the name):"
  build-tsan/tests/vfs/vfs_tests --list-test-names-only "$tsan_vfs_spec"
  exit 1
fi
# Two lanes at once, each into its own log (printed when both are done): the SQLite-level tests
# (84 s here) beside the rest (95 s, 67 of them history's); one after the other took 180 s.
tsan_lanes=build-tsan/lanes
mkdir -p "$tsan_lanes"
(
  tsan_run build-tsan/tests/history/history_tests "~[moto]~[bench]~[shell]"
  tsan_run build-tsan/tests/base/base_tests
  tsan_run build-tsan/tests/storage/storage_tests "~[moto]~[s3rver]"
  tsan_run build-tsan/tests/vfs/writer_unit_tests
  tsan_run build-tsan/tests/replica/replica_engine_tests
) >"$tsan_lanes/units.log" 2>&1 &
tsan_units=$!
tsan_run build-tsan/tests/vfs/vfs_tests "$tsan_vfs_spec" >"$tsan_lanes/vfs.log" 2>&1 &
tsan_vfs=$!
tsan_rc=0
wait "$tsan_units" || tsan_rc=1
wait "$tsan_vfs" || tsan_rc=1
cat "$tsan_lanes/units.log" "$tsan_lanes/vfs.log"
if ((tsan_rc)); then
  echo "== FAILED: a ThreadSanitizer lane (its log is above)"
  exit 1
fi
unset TSAN_OPTIONS

stage "fuzzing (tests/fuzz: libFuzzer + ASan + UBSan, 4 targets 30 s each, all at once)"
# Every parser of bytes from the bucket or the user, from the checked-in seed corpus. -O0: the
# instrumented build is most of this stage (1 min 34 s here, 2 min 20 s at -O1); a minute's smoke
# run needs no speed (450-1,900 execs/s per target at -O0). The long runs of tests/fuzz/README.md
# use -O1.
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -g1" -DLTXVFS_FUZZ=ON -DLTXVFS_WERROR=ON \
  -DLTXVFS_BUILD_TESTS=OFF -DLTXVFS_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target ltxvfs_fuzzers
# 30 s, not 60: fresh-clone runs here reached 28.5-30 minutes (2026-12-06), the stages before
# this one slower by up to a minute from run to run. This run shows that every target builds and
# runs its seed corpus and a little more; the runs that look for bugs are tests/fuzz/README.md's.
bash tests/fuzz/run.sh 30 build-fuzz 4

if ((tcl_rc)); then
  echo "== FAILED: SQLite's TCL test suite through ltx (see the tcl: lines above)"
  exit 1
fi
stage "all tests passed"
