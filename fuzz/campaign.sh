#!/usr/bin/env bash
# A fuzzing campaign measured in CPU time (docs/fuzzing.md):
#
#   fuzz/campaign.sh TARGET CPU_SECONDS   run TARGET until its runs add up
#                                         to CPU_SECONDS of CPU, at nice 19
#   fuzz/campaign.sh report               CPU seconds, executions and
#                                         crashes per target so far
#
# Resumable: the corpus (target/fuzz-corpus/TARGET) and the log of runs
# (target/fuzz-campaign/TARGET/runs.tsv: start, end, CPU seconds,
# executions, outcome, artifact) persist, and a later call goes on from the
# CPU already spent. The fuzzer's CPU (utime + stime from /proc/PID/stat)
# is sampled every 5 s into a progress file, so a run killed with its
# session is still counted (to within one sample) by the next call.
# A crash, hang or OOM stops the campaign with the input under
# target/fuzz-campaign/TARGET/artifacts/: fix it, then call again. A
# "timeout" whose input then runs alone within the limit was the machine,
# not the input: it is kept under starved/ and the campaign goes on.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source fuzz/common.sh

HEADER=$'start\tend\tcpu_s\texecs\toutcome\tartifact'

report() {
  printf '%-22s %10s %14s %8s\n' target cpu_s executions crashes
  for t in "${FUZZ_TARGETS[@]}"; do
    local runs=target/fuzz-campaign/$t/runs.tsv
    [ -f "$runs" ] || { printf '%-22s %10s %14s %8s\n' "$t" 0 0 0; continue; }
    awk -F'\t' -v t="$t" 'NR > 1 { cpu += $3; ex += $4; if ($5 == "crash" && !seen[$6]++) c++ }
      END { printf "%-22s %10d %14d %8d\n", t, cpu, ex, c }' "$runs"
  done
}

if [ "${1:-}" = report ]; then
  report
  exit 0
fi
if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]] || ! printf '%s\n' "${FUZZ_TARGETS[@]}" | grep -qx "$1"; then
  echo "usage: fuzz/campaign.sh TARGET CPU_SECONDS | report   (targets: ${FUZZ_TARGETS[*]})" >&2
  exit 2
fi
t=$1
budget=$2
dir=target/fuzz-campaign/$t
corpus=target/fuzz-corpus/$t
runs=$dir/runs.tsv
progress=$dir/progress
mkdir -p "$dir/artifacts" "$corpus"
[ -f "$runs" ] || echo "$HEADER" >"$runs"

exec 9>"$dir/lock"
if ! flock -n 9; then
  echo "campaign $t: already running" >&2
  exit 1
fi
[ -x "$FUZZ_BIN/$t" ] || fuzz_build || exit 1

tick=$(getconf CLK_TCK)
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
spent() { awk -F'\t' 'NR > 1 { s += $3 } END { printf "%d", s }' "$runs"; }
# CPU seconds of a live process: utime + stime, fields 14 and 15 of
# /proc/PID/stat (counted after the ")" that ends the command name).
cpu_of() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  awk -v tick="$tick" '{ print int(($12 + $13) / tick) }' <<<"${stat##*) }"
}
last_execs() { grep -ao '^#[0-9]*' "$1" 2>/dev/null | tail -n 1 | tr -d '#'; }

# A run that ended with its session: count what its progress file saw.
if [ -f "$progress" ]; then
  IFS=$'\t' read -r p_start p_end p_cpu p_execs <"$progress"
  printf '%s\t%s\t%s\t%s\tkilled\t-\n' "$p_start" "$p_end" "${p_cpu:-0}" "${p_execs:-0}" >>"$runs"
  rm -f "$progress"
fi

stop=0
while :; do
  done_cpu=$(spent)
  if ((done_cpu >= budget)); then
    echo "campaign $t: $done_cpu of $budget CPU seconds spent, done"
    exit 0
  fi
  start=$(now)
  out=$dir/run-$start.log
  nice -n 19 "$FUZZ_BIN/$t" "$corpus" "fuzz/seeds/$t" "${FUZZ_LIMITS[@]}" \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" >"$out" 2>&1 &
  pid=$!
  trap 'stop=1; kill -INT "$pid" 2>/dev/null' INT TERM
  cpu=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    c=$(cpu_of "$pid") && cpu=$c
    printf '%s\t%s\t%s\t%s\n' "$start" "$(now)" "$cpu" "$(last_execs "$out")" >"$progress"
    if ((done_cpu + cpu >= budget)); then
      kill -INT "$pid" 2>/dev/null
    fi
  done
  wait "$pid"
  rc=$?
  trap - INT TERM
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -n 1)
  execs=${execs:-$(last_execs "$out")}
  artifact=$(grep -ao 'Test unit written to [^ ]*' "$out" | tail -n 1 | sed 's/Test unit written to //')
  if [[ $artifact == */timeout-* ]] && timeout 10 "$FUZZ_BIN/$t" "${FUZZ_LIMITS[@]}" "$artifact" >/dev/null 2>&1; then
    # libFuzzer's -timeout is wall time, and at nice 19 beside a compiler
    # the fuzzer gets a sliver of a core: an input that runs in 0.3 s was
    # once killed after 10 s. Run alone (at normal priority) it finished
    # within the limit, so it is no hang: set it aside and go on.
    mkdir -p "$dir/starved"
    mv "$artifact" "$dir/starved/"
    outcome=starved
  elif [ -n "$artifact" ]; then
    outcome=crash
  elif ((rc == 0 || rc == 72)); then
    outcome=ok
  else
    outcome=exit-$rc
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$start" "$(now)" "$cpu" "${execs:-0}" "$outcome" "${artifact:--}" >>"$runs"
  rm -f "$progress"
  gzip -f "$out"
  if [ "$outcome" != ok ] && [ "$outcome" != starved ]; then
    echo "campaign $t: $outcome (exit $rc), see $out.gz; input: ${artifact:-none}" >&2
    exit 1
  fi
  if ((stop)); then
    echo "campaign $t: stopped at $((done_cpu + cpu)) CPU seconds" >&2
    exit 130
  fi
done
