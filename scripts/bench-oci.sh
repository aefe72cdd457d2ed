#!/usr/bin/env bash
# What the registry round trip costs a consumer (issue 21): a 3-step chain
# with N artifacts per link (10,000 by default) is pushed to a local
# registry (Debian's docker-registry on 127.0.0.1, plain HTTP), then
# `intact verify --image REF@sha256:D` (pull the layout and links, verify,
# check the pushed file is a product) is timed against the same
# verification from local files (`intact verify --artifact FILE`), in turns
# (A, B, A, B, ...), medians of RUNS runs each. The issue's bound: the round
# trip adds under 100 ms. The push is timed once. Release build; run it on
# a quiet machine (docs/performance.md).
#
#   bash scripts/bench-oci.sh                  (N=10000 RUNS=9)
#   N=200 RUNS=3 bash scripts/bench-oci.sh     (a quick check of the script)
#
# INTACT=/path/to/intact skips the build. Needs docker-registry
# (tests/oci/setup.sh installs it).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
n="${N:-10000}"
runs="${RUNS:-9}"
case "$n$runs" in *[!0-9]*) echo "N and RUNS are numbers" >&2; exit 2 ;; esac
if [ -z "${INTACT:-}" ]; then
  cargo build -q --release -p intact-cli
  INTACT="$PWD/target/release/intact"
fi
case "$INTACT" in /*) ;; *) INTACT="$PWD/$INTACT" ;; esac
command -v docker-registry >/dev/null || bash tests/oci/setup.sh
source scripts/lib/big-chain.sh
work="$(mktemp -d)"
registry_pid=
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The registry, on a free port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/registry.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: 127.0.0.1:$port
YAML
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

# The chain (scripts/lib/big-chain.sh).
big_chain "$work/big" "$n"
cd "$work/big"
mkdir links
cp work/*.link links/

# wall CMD...: the wall time of one run, in seconds (bash's own clock).
wall() {
  local start end
  start=$EPOCHREALTIME
  "$@" > /dev/null 2>&1
  end=$EPOCHREALTIME
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }'
}
repo="127.0.0.1:$port/bench/bundle"
digest=$("$INTACT" oci push "$repo:v1" --artifact work/bundle.tar --insecure | grep -o 'sha256:[0-9a-f]\{64\}' | head -1)
push=$(wall "$INTACT" oci push "$repo@$digest" --layout root.layout --link-dir links --insecure)
image=("$INTACT" verify --image "$repo@$digest" --layout-key keys/owner.pub --insecure)
local_=("$INTACT" verify -l root.layout -k keys/owner.pub --link-dir links --artifact work/bundle.tar)
# Both must pass before they are timed.
"${image[@]}" > "$work/image.out" 2>&1 || { cat "$work/image.out"; exit 1; }
"${local_[@]}" > "$work/local.out" 2>&1 || { cat "$work/local.out"; exit 1; }
a=(); b=()
for _ in $(seq 1 "$runs"); do
  a+=("$(wall "${local_[@]}")")
  b+=("$(wall "${image[@]}")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
echo "3-step chain, $n artifacts per link, median of $runs runs"
printf '  oci push (layout + 3 links, once)  %8.4f s\n' "$push"
printf '  verify from local files             %8.4f s\n' "$ma"
printf '  verify --image (pull + verify)      %8.4f s\n' "$mb"
awk -v a="$ma" -v b="$mb" 'BEGIN { printf "  registry round trip adds            %8.1f ms\n", (b - a) * 1000 }'
