#!/usr/bin/env bash
# What SLSA provenance costs a recorded step (issue 18): `intact run -p TREE
# -- true` on a tree of FILES products (100,000 x 1 KiB by default), without
# and with `--attest slsa`, in turns (A, B, A, B, ...) so that a slow spell
# of a shared machine hits both alike. Prints the median wall time of RUNS
# runs of each, to a tenth of a millisecond, and the overhead in percent
# (the issue's bound: at most 10 %). Release build; --no-git throughout, so
# git capture does not enter the figures; SOURCE_DATE_EPOCH fixed. Each run
# writes into a new directory (REUSE=1: over the last run's files).
#
#   bash scripts/bench-attest.sh                     (FILES=100000 RUNS=9)
#   REUSE=1 bash scripts/bench-attest.sh             (replacing files)
#   FILES=2000 RUNS=3 bash scripts/bench-attest.sh   (a quick check)
#   INTACT=target/debug/intact FILES=2000 RUNS=3 bash scripts/bench-attest.sh
#
# The tree is kept under target/bench-data/attest-FILES between runs; the
# page cache is warm for both (the files were just written or read).
set -euo pipefail
export LC_ALL=C # a "." in $EPOCHREALTIME and in the figures
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
files="${FILES:-100000}"
runs="${RUNS:-9}"
case "$files$runs" in *[!0-9]*) echo "FILES and RUNS are numbers" >&2; exit 2 ;; esac
# INTACT=PATH times another binary (a debug build, to check the script).
intact="${INTACT:-}"
if [ -z "$intact" ]; then
  cargo build -q --release -p intact-cli
  intact="$root/target/release/intact"
fi
key="$root/tests/fixtures/keys/ed25519.pem"
tree="$root/target/bench-data/attest-$files"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1700000000

if [ ! -f "$tree/.done" ]; then
  rm -rf "$tree"; mkdir -p "$tree"
  # 100 directories of 1 KiB files, written by one process.
  awk -v d="$tree" -v n="$files" 'BEGIN {
    srand(1); block = ""
    for (i = 0; i < 1024; i++) block = block sprintf("%c", 97 + int(rand() * 26))
    for (i = 0; i < n; i++) {
      sub_ = sprintf("%s/d%03d", d, i % 100)
      if (i < 100) system("mkdir -p " sub_)
      f = sprintf("%s/f%06d", sub_, i)
      printf "%s%d\n", block, i > f; close(f)
    }
  }'
  touch "$tree/.done"
fi
cd "$tree/.."
name="$(basename "$tree")"

# Wall time of one run, in seconds to a tenth of a millisecond, by bash's
# own clock ($EPOCHREALTIME: no fork inside the measured interval).
wall() {
  local start end
  start=$EPOCHREALTIME
  "$@" >/dev/null 2>&1
  end=$EPOCHREALTIME
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }'
}
median() { printf '%s\n' "$@" | sort -n | awk -v n="$#" 'NR==int((n+1)/2)'; }

# The two commands timed, writing into the directory given.
plain() { "$intact" run -n build -k "$key" --no-git -p "$name" -d "$1" -- true; }
slsa() {
  "$intact" run -n build -k "$key" --no-git -p "$name" -d "$1" --attest slsa \
    --builder-id https://ci.example/runner -- true
}
mkdir -p "$work/plain" "$work/slsa"
# One run each first: both must work, and the attestation must be there.
plain "$work/plain" >/dev/null
slsa "$work/slsa" >/dev/null
ls "$work/slsa"/build.*.slsa.intoto.json >/dev/null
# Nothing of earlier runs (or of removing them) still on its way to the
# disk, where the runs' own flushes would wait behind it.
sync

# Each run writes into a directory of its own, as a CI job writes where
# no link is yet: replacing the last run's files would time the file
# system freeing them (3-4 ms per file in the rename here, the disk being
# mounted with discard), not the recorder. REUSE=1 writes over them.
ta=(); tb=()
for i in $(seq "$runs"); do
  da="$work/plain"; db="$work/slsa"
  if [ -z "${REUSE:-}" ]; then
    da="$work/plain$i"; db="$work/slsa$i"
    mkdir "$da" "$db"
  fi
  ta+=("$(wall plain "$da")")
  tb+=("$(wall slsa "$db")")
done
a="$(median "${ta[@]}")"; b="$(median "${tb[@]}")"
printf '%s products, median of %s runs\n' "$files" "$runs"
printf '  intact run             %8.4f s\n' "$a"
printf '  intact run --attest slsa %6.4f s\n' "$b"
awk -v a="$a" -v b="$b" 'BEGIN { printf "  overhead               %+7.1f %%\n", (b - a) / a * 100 }'
printf '  link %s bytes, provenance %s bytes\n' \
  "$(stat -c %s "$work/plain"/build.*.link)" "$(stat -c %s "$work/slsa"/build.*.slsa.intoto.json)"
