#!/usr/bin/env bash
# The drill's benchmark (docs/performance.md, "Attack drills"): a full
# `intact drill` of the demo chain, and of a 3-step chain with N artifacts
# per link (goal: under 5 s for N = 10,000). A release build; run it on a
# quiet machine.
#
#   scripts/bench-drill.sh            # N = 10,000
#   scripts/bench-drill.sh 50         # a quick check of the script itself
#
# INTACT=/path/to/intact skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
if [ -z "${INTACT:-}" ]; then
  cargo build --release -p intact-cli
  INTACT="$PWD/target/release/intact"
fi
# The script changes directory: a relative INTACT is taken from here.
case "$INTACT" in /*) ;; *) INTACT="$PWD/$INTACT" ;; esac
source scripts/lib/big-chain.sh
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# seconds OUT CMD...: run CMD with its output in OUT, print the wall time.
# The drill exits 1 when it finds a hole; that is still a timing.
seconds() {
  local out="$1" s e; shift
  s=$(date +%s.%N); "$@" > "$out" || true; e=$(date +%s.%N)
  echo "$e - $s" | bc
}

echo "== demo chain"
"$INTACT" demo --dir "$work/demo" > /dev/null
mkdir "$work/demo/verifier"
cp "$work/demo/root.layout" "$work/demo/keys/alice.pub" "$work/demo/work/demo-project.tar.gz" "$work/demo/verifier/"
cd "$work/demo"
t=$(seconds "$work/demo-drill.txt" "$INTACT" drill --layout root.layout --layout-key keys/alice.pub --link-dir work --workdir verifier)
tail -1 "$work/demo-drill.txt"
echo "demo chain: full drill in ${t}s"

echo "== 3-step chain, $n artifacts per link"
big_chain "$work/big" "$n"
cd "$work/big"
mkdir verifier
t=$(seconds "$work/big-drill.txt" "$INTACT" drill --layout root.layout --layout-key keys/owner.pub --link-dir work --workdir verifier)
tail -1 "$work/big-drill.txt"
echo "3-step chain, $n artifacts per link: full drill in ${t}s"
