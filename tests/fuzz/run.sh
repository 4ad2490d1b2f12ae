#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz for SECONDS each, PARALLEL at a time, starting from
# the checked-in seed corpus (copied: the seeds are never modified). Fails if any target crashes,
# leaks, times out, exceeds the memory limits, or trips a sanitizer; prints the reproducer.
#
#   bash tests/fuzz/run.sh [SECONDS=60] [BUILD_DIR=build-fuzz] [PARALLEL=2]
#
# Limits: -rss_limit_mb=2048 (whole process) and -malloc_limit_mb=256 (any single allocation:
# no parser may turn a small input into a huge buffer; decode_file's 64 MiB cap is the largest
# legitimate one), -timeout=10 s per input.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-60}
build=${2:-build-fuzz}
parallel=${3:-2}
case $build in /*) ;; *) build=$root/$build ;; esac
targets=(fuzz_ltx_decode fuzz_json_records fuzz_s3_xml fuzz_urls_params)
work=$(mktemp -d "${TMPDIR:-/tmp}/ltxvfs-fuzz.XXXXXX")
# fuzz_json_records writes its state.json under TMPDIR: a tmpfs when there is one (an overlay /tmp
# costs it 5-10x in exec rate).
state_dir=$(mktemp -d /dev/shm/ltxvfs-fuzz.XXXXXX 2>/dev/null || echo "$work")
export TMPDIR=$state_dir

run_one() {
  local t=$1 dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  "$build/tests/fuzz/$t" "$dir/corpus" "$root/tests/fuzz/corpus/$t" -max_total_time="$seconds" \
    -rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" >"$dir/log" 2>&1
  echo $? >"$dir/rc"
}

for t in "${targets[@]}"; do
  [[ -x $build/tests/fuzz/$t ]] || { echo "missing $build/tests/fuzz/$t (build target ltxvfs_fuzzers)"; exit 1; }
  while (($(jobs -rp | wc -l) >= parallel)); do wait -n; done
  run_one "$t" &
done
wait

failed=0
for t in "${targets[@]}"; do
  dir=$work/$t
  rc=$(cat "$dir/rc")
  # The last status line: "#N DONE cov: C ft: F corp: ..."
  summary=$(grep -E '^#[0-9]+' "$dir/log" | tail -n 1)
  echo "-- $t (rc $rc): ${summary}"
  if [[ $rc != 0 ]]; then
    failed=1
    grep -E 'ERROR|SUMMARY|Test unit written|malloc\(|out-of-memory|timeout' "$dir/log" | head -n 20
    for a in "$dir"/artifacts/*; do
      [[ -e $a ]] || continue
      keep=$build/fuzz-artifacts/$t
      mkdir -p "$keep" && cp "$a" "$keep/"
      echo "   reproducer: $keep/$(basename "$a")  (run: $build/tests/fuzz/$t $keep/$(basename "$a"))"
    done
  fi
done
if ((failed)); then
  rm -rf "$state_dir"
  echo "fuzzing found a crash; logs in $work"
  exit 1
fi
rm -rf "$work" "$state_dir"
