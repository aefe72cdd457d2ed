#!/usr/bin/env bash
# Verifier benchmark: `intact verify` against the reference's `in-toto-verify`
# on a 3-step chain whose links carry N artifacts (10,000 and 50,000 by
# default), with `MATCH * WITH PRODUCTS FROM <previous>` and `DISALLOW *`.
# Prints the median wall time of RUNS runs (default 3; the two tools take
# turns) and the ratio.
#
#   bash crates/intact-verify/benches/bench.sh [N...]
set -euo pipefail
export LC_ALL=C # a "." in $EPOCHREALTIME and in the figures
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
runs="${RUNS:-3}"
python="$(bash tests/interop/setup-venv.sh | tail -n 1)"
bindir="$(dirname "$python")"
cargo build -q --release -p intact-cli
intact="$root/target/release/intact"
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(10000 50000)

# Wall time of one run in seconds, to the millisecond, by bash's own
# clock: `$(date +%s%N)` would fork and run `date` inside the measured
# interval (about 1.8 ms more per run here).
wall() {
  local start end
  start=$EPOCHREALTIME
  "$@" >/dev/null 2>&1 || true
  end=$EPOCHREALTIME
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}
median() { printf '%s\n' "$@" | sort -n | awk -v n="$#" 'NR==int((n+1)/2)'; }

printf '%-10s %10s %14s %8s\n' artifacts intact_s in-toto_s ratio
for n in "${sizes[@]}"; do
  dir="$root/target/bench-data/verify-$n"
  [ -f "$dir/root.layout" ] || "$python" crates/intact-verify/benches/make_chain.py "$dir" "$n"
  cd "$dir"
  "$intact" verify -l root.layout -k owner.pub >/dev/null       # must pass
  "$bindir/in-toto-verify" -l root.layout --verification-keys owner.pub >/dev/null 2>&1
  # The two verifiers take turns, so this shared machine's slow and fast
  # spells hit both alike.
  wi=(); wr=()
  for _ in $(seq "$runs"); do
    wi+=("$(wall "$intact" verify -l root.layout -k owner.pub)")
    wr+=("$(wall "$bindir/in-toto-verify" -l root.layout --verification-keys owner.pub)")
  done
  ti=$(median "${wi[@]}"); tr=$(median "${wr[@]}")
  cd "$root"
  printf '%-10s %10s %14s %7sx\n' "$n" "$ti" "$tr" "$(awk -v a="$tr" -v b="$ti" 'BEGIN{ if (b > 0) printf "%.1f", a/b; else print "inf" }')"
done
