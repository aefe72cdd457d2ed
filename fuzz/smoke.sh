#!/usr/bin/env bash
# Smoke run of every fuzz target (docs/fuzzing.md), for CI: build them all
# once, then run each from its committed seeds for FUZZ_SMOKE_SECONDS
# (default 5) of wall time, unoptimised (fuzz/common.sh). Any crash, hang or OOM fails the run and
# leaves the input in target/fuzz-smoke/<target>/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source fuzz/common.sh
seconds=${FUZZ_SMOKE_SECONDS:-5}
# `smoke.sh build` only builds, `smoke.sh run` only runs (scripts/test.sh
# builds while the tests run); with no argument, both.
mode=${1:-all}

if [ "$mode" != run ]; then
  cargo fmt --manifest-path fuzz/Cargo.toml -- --check
  fuzz_build --dev
fi
[ "$mode" = build ] && exit 0
# One target from its seeds; its log and any failing input under
# target/fuzz-smoke/<target>/.
smoke_one() {
  local t=$1 work=target/fuzz-smoke/$1 runs
  rm -rf "$work"
  mkdir -p "$work/corpus"
  if ! "$FUZZ_DEV_BIN/$t" "$work/corpus" "fuzz/seeds/$t" "${FUZZ_LIMITS[@]}" \
      -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/" \
      >"$work/log" 2>&1; then
    tail -n 40 "$work/log" >&2
    echo "fuzz smoke: $t FAILED; the input is in $work/ (see docs/fuzzing.md to reproduce)" >&2
    return 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
  echo "fuzz smoke: $t ok, ${runs:-?} runs in ${seconds}s"
}

# A fuzzer uses one core: as many at a time as there are cores, so the
# smoke run (nothing else runs by then in CI) takes its seconds once per
# core rather than once per target.
parallel=$(nproc 2>/dev/null || echo 1)
pids=()
failed=0
for t in "${FUZZ_TARGETS[@]}"; do
  smoke_one "$t" &
  pids+=("$!")
  if [ "${#pids[@]}" -ge "$parallel" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do
  wait "$p" || failed=1
done
exit "$failed"
