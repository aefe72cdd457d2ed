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
for t in "${FUZZ_TARGETS[@]}"; do
  work=target/fuzz-smoke/$t
  rm -rf "$work"
  mkdir -p "$work/corpus"
  if ! "$FUZZ_DEV_BIN/$t" "$work/corpus" "fuzz/seeds/$t" "${FUZZ_LIMITS[@]}" \
      -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/" \
      >"$work/log" 2>&1; then
    tail -n 40 "$work/log" >&2
    echo "fuzz smoke: $t FAILED; the input is in $work/ (see docs/fuzzing.md to reproduce)" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
  echo "fuzz smoke: $t ok, ${runs:-?} runs in ${seconds}s"
done
