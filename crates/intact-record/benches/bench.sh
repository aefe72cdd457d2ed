#!/usr/bin/env bash
# Recorder benchmark: intact against the in-toto 3.1.0 reference, timed
# as users run them (whole processes), and the hashing engines alone.
#
#   commands  `intact run ... -m TREE -x` vs `in-toto-run` with the same
#             arguments (record, sign, write the link; no command)
#   run       `intact run ... -p TREE -- true` and `-m TREE -- true` vs
#             `in-toto-run` with the same arguments: a command run, as
#             every real step has one
#   record    `intact record start -m TREE` / `record stop -p TREE` vs
#             `in-toto-record start` / `stop`
#   empty     a step with no artifacts: `intact run ... -- true` vs
#             `intact run ... -x` (what running the command costs), and
#             `in-toto-run ... -- true`
#   engines   record_artifacts vs runlib.record_artifacts_as_dict (the
#             reference's recorder with in-toto-run's default excludes and
#             symlink following)
#   throughput  1 GiB and 4 x 256 MiB through intact, `openssl dgst` and
#             single-core `openssl speed -evp sha256` as the hardware's
#             reference
#
# on 10,000 x 4 KiB files, 100,000 x 1 KiB files, one 1 GiB file and four
# 256 MiB files (under target/bench-data, kept between runs). Prints the
# median wall time of RUNS runs (to a tenth of a millisecond; the two tools take
# turns, so a slow spell of this shared machine hits both), the ratio and
# peak RSS of one more run. `intact` runs with --no-git throughout, so
# git capture does not enter the figures.
#
#   bash crates/intact-record/benches/bench.sh                (RUNS=9)
#   RUNS=15 SECTIONS="run empty" SETS=small-4k bash crates/intact-record/benches/bench.sh
#
# The page cache is warm for both tools (files were just written or read).
set -euo pipefail
export LC_ALL=C # a "." in $EPOCHREALTIME and in the figures
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
runs="${RUNS:-9}"
small_sets="${SETS:-small-4k small-1k}" # trees of the run and record sections
sections=" ${SECTIONS:-commands run record empty engines throughput} "
want() { [[ "$sections" == *" $1 "* ]]; }
data="$root/target/bench-data"
python="$(bash tests/interop/setup-venv.sh | tail -n 1)"
bindir="$(dirname "$python")"
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
cargo build -q --release -p intact-record --example hash_tree
cargo build -q --release -p intact-cli
bin="$root/target/release/examples/hash_tree"
intact="$root/target/release/intact"
key="$root/tests/fixtures/keys/ed25519.pem"
links="$(mktemp -d)"; trap 'rm -rf "$links"' EXIT

make_tree() { # dir count size
  [ -f "$1/.done" ] && return
  rm -rf "$1"; mkdir -p "$1"
  "$python" - "$1" "$2" "$3" <<'PY'
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    sub = os.path.join(d, "d%03d" % (i % 100))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%06d" % i), "wb") as f:
        f.write(os.urandom(size))
PY
  touch "$1/.done"
}
make_tree "$data/small-4k" 10000 4096
make_tree "$data/small-1k" 100000 1024
if [ ! -f "$data/big4/.done" ]; then
  mkdir -p "$data/big4"
  for i in 1 2 3 4; do head -c 268435456 /dev/urandom > "$data/big4/quarter-$i"; done
  touch "$data/big4/.done"
fi
if [ ! -f "$data/big/.done" ]; then
  mkdir -p "$data/big"; head -c 1073741824 /dev/urandom > "$data/big/one-gib"; touch "$data/big/.done"
fi

# Wall time of one run, in seconds to a tenth of a millisecond. Bash's own clock
# ($EPOCHREALTIME, microseconds): `$(date +%s%N)` forks and runs `date`
# inside the measured interval, about 1.8 ms added to every run here, and
# /usr/bin/time only resolves 10 ms.
wall() {
  local start end
  start=$EPOCHREALTIME
  "$@" >/dev/null 2>&1
  end=$EPOCHREALTIME
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }'
}
# Peak RSS in KiB of one more run.
rss() { { /usr/bin/time -f "%M" "$@" >/dev/null; } 2>&1 | tail -n 1; }
median() { printf '%s\n' "$@" | sort -n | awk -v n="$#" 'NR==int((n+1)/2)'; }

# "median_seconds peak_rss_kib" of RUNS runs of one command.
measure() { # label cmd...
  shift
  local times=()
  for _ in $(seq "$runs"); do times+=("$(wall "$@")"); done
  echo "$(median "${times[@]}") $(rss "$@")"
}

# Two commands run in turns (A, B, A, B, ...) so that this shared
# machine's slow and fast spells hit both alike; prints
# "a_seconds a_rss_kib b_seconds b_rss_kib" (medians of RUNS runs each).
pair() { # cmdA... :: cmdB...  (`::`, as the commands hold `--`)
  local a=() b=() cur=a x ta=() tb=()
  for x in "$@"; do
    if [ "$x" = "::" ]; then cur=b; continue; fi
    if [ "$cur" = a ]; then a+=("$x"); else b+=("$x"); fi
  done
  for _ in $(seq "$runs"); do
    ta+=("$(wall "${a[@]}")")
    tb+=("$(wall "${b[@]}")")
  done
  echo "$(median "${ta[@]}") $(rss "${a[@]}") $(median "${tb[@]}") $(rss "${b[@]}")"
}

reference() { "$python" -c 'import sys
from in_toto.runlib import record_artifacts_as_dict
record_artifacts_as_dict([sys.argv[1]], follow_symlink_dirs=True)' "$1"; }
export -f reference; export python

row() { # label intact_result reference_result
  local ti ri tr rr ratio
  read -r ti ri <<<"$2"; read -r tr rr <<<"$3"
  ratio=$(awk -v a="$tr" -v b="$ti" 'BEGIN{ if (b > 0) printf "%.1f", a/b; else print "inf" }')
  printf '%-28s %12s %12s %8s %12.1f %12.1f\n' "$1" "$ti" "$tr" "${ratio}x" "$(awk -v k="$ri" 'BEGIN{print k/1024}')" "$(awk -v k="$rr" 'BEGIN{print k/1024}')"
}

header() { # title left right
  echo "$1"
  printf '%-28s %12s %12s %8s %12s %12s\n' dataset "$2_s" "$3_s" ratio "$2_MiB" "$3_MiB"
}
# The key (and for intact --no-git) go before the other arguments: after
# `--` they would be the command's.
ik=(--key "$key" --no-git)
tk=(--signing-key "$key")
run_i=("$intact" run "${ik[@]}" --step s)
run_t=("$bindir/in-toto-run" "${tk[@]}" -n s)

if want commands; then
  header "Whole commands: intact run vs in-toto-run (record, sign, write the link; -x, materials only)" intact in-toto
  for set in small-4k small-1k big big4; do
    read -r ti ri tr rr < <(cd "$links" && pair \
      "${run_i[@]}" --base-path "$data/$set" -m . -x :: \
      "${run_t[@]}" --base-path "$data/$set" -m . -x)
    row "$set" "$ti $ri" "$tr $rr"
  done
  echo
fi
if want run; then
  header "With a command: intact run ... -- true vs in-toto-run ... -- true" intact in-toto
  for set in $small_sets; do
    for side in p m; do
      read -r ti ri tr rr < <(cd "$links" && pair \
        "${run_i[@]}" --base-path "$data/$set" "-$side" . -- true :: \
        "${run_t[@]}" --base-path "$data/$set" "-$side" . -- true)
      row "$set -$side . -- true" "$ti $ri" "$tr $rr"
    done
  done
  echo
fi
if want record; then
  header "Two halves: intact record start|stop vs in-toto-record start|stop" intact in-toto
  for set in $small_sets; do
    # Each stop needs its own start's unfinished link: the four commands
    # take turns, each timed alone.
    start_i=("$intact" record start "${ik[@]}" --step s --base-path "$data/$set" -m .)
    stop_i=("$intact" record stop "${ik[@]}" --step s --base-path "$data/$set" -p .)
    start_t=("$bindir/in-toto-record" start "${tk[@]}" -n s --base-path "$data/$set" -m .)
    stop_t=("$bindir/in-toto-record" stop "${tk[@]}" -n s --base-path "$data/$set" -p .)
    sa=() so=() ra=() ro=()
    for _ in $(seq "$runs"); do
      sa+=("$(cd "$links" && wall "${start_i[@]}")")
      so+=("$(cd "$links" && wall "${stop_i[@]}")")
      ra+=("$(cd "$links" && wall "${start_t[@]}")")
      ro+=("$(cd "$links" && wall "${stop_t[@]}")")
    done
    rsa=$(cd "$links" && rss "${start_i[@]}")
    rso=$(cd "$links" && rss "${stop_i[@]}")
    rra=$(cd "$links" && rss "${start_t[@]}")
    rro=$(cd "$links" && rss "${stop_t[@]}")
    row "$set start -m ." "$(median "${sa[@]}") $rsa" "$(median "${ra[@]}") $rra"
    row "$set stop -p ." "$(median "${so[@]}") $rso" "$(median "${ro[@]}") $rro"
  done
  echo
fi
if want empty; then
  echo "A step with no artifacts (what running the command adds to a step)"
  printf '%-28s %12s %12s %8s %12s %12s\n' step "-- true_s" "-x_s" "+ms" "-- true_MiB" "-x_MiB"
  read -r ti ri tx rx < <(cd "$links" && pair \
    "${run_i[@]}" -- true :: \
    "${run_i[@]}" -x)
  row_ms() { # label a_s a_kib b_s b_kib
    printf '%-28s %12s %12s %8s %12.1f %12.1f\n' "$1" "$2" "$4" \
      "$(awk -v a="$2" -v b="$4" 'BEGIN{printf "%+.1f", (a-b)*1000}')" \
      "$(awk -v k="$3" 'BEGIN{print k/1024}')" "$(awk -v k="$5" 'BEGIN{print k/1024}')"
  }
  row_ms "intact run" "$ti" "$ri" "$tx" "$rx"
  read -r ti ri tx rx < <(cd "$links" && pair \
    "${run_t[@]}" -- true :: \
    "${run_t[@]}" -x)
  row_ms "in-toto-run" "$ti" "$ri" "$tx" "$rx"
  echo
fi
if want engines; then
  header "Hashing engines: record_artifacts vs runlib.record_artifacts_as_dict" intact reference
  for set in small-4k small-1k big big4; do
    read -r ti ri tr rr < <(pair "$bin" "$data/$set" :: bash -c 'reference "$0"' "$data/$set")
    row "$set" "$ti $ri" "$tr $rr"
  done
  echo
fi
if want throughput; then
  echo "1 GiB through intact: $(awk -v t="$(measure big "$bin" "$data/big" | cut -d' ' -f1)" 'BEGIN{printf "%.0f MB/s", 1073.741824/t}')"
  echo "4 x 256 MiB through intact (spread over the cores): $(awk -v t="$(measure big4 "$bin" "$data/big4" | cut -d' ' -f1)" 'BEGIN{printf "%.0f MB/s", 1073.741824/t}')"
  echo "openssl dgst -sha256 on the 1 GiB file: $(measure big openssl dgst -sha256 "$data/big/one-gib" | cut -d' ' -f1) s"
  echo "openssl speed -evp sha256 (1 core, 16 KiB blocks): $(openssl speed -evp sha256 -bytes 16384 -seconds 3 2>/dev/null | awk '/^sha256|^SHA256/{print $NF}')"
fi
