#!/usr/bin/env bash
# The transparency log's benchmark (docs/performance.md, "Transparency log"):
# appends one at a time and batched, `log verify` of the whole log, inclusion
# proof checks, bytes per entry. A release build; run it on a quiet machine.
#
#   scripts/bench-log.sh                       # 1,000,000 batched, 1,000 one by one, 10,000 proofs
#   scripts/bench-log.sh 100000 200 1000       # smaller
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p intact-log --example bench
# TMPDIR decides the disk the log is written to (fsync costs differ).
exec target/release/examples/bench "${1:-1000000}" "${2:-1000}" "${3:-10000}"
