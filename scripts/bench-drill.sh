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
mkdir -p "$work/big/keys" "$work/big/work/src"
cd "$work/big"
for k in owner fetcher builder packager; do "$INTACT" key generate "keys/$k" > /dev/null 2>&1; done
cat > layout.yaml <<'YAML'
expires: 90d
keys:
  fetcher: keys/fetcher.pub
  builder: keys/builder.pub
  packager: keys/packager.pub
steps:
  - name: fetch
    functionaries: [fetcher]
    expected_command: "true"
    expected_products: [CREATE src/*, DISALLOW *]
  - name: build
    functionaries: [builder]
    expected_command: cp -r src out
    expected_materials: [MATCH src/* WITH PRODUCTS FROM fetch, DISALLOW *]
    expected_products: [MATCH src/* WITH PRODUCTS FROM fetch, CREATE out/*, DISALLOW *]
  - name: package
    functionaries: [packager]
    expected_command: tar cf bundle.tar out
    expected_materials: [MATCH out/* WITH PRODUCTS FROM build, DISALLOW *]
    expected_products: [MATCH out/* WITH PRODUCTS FROM build, CREATE bundle.tar, DISALLOW *]
YAML
"$INTACT" layout build layout.yaml --key keys/owner.pem -o root.layout > /dev/null
cd work
for i in $(seq 1 "$n"); do echo "$i" > "src/f$i"; done
"$INTACT" run --step fetch --key ../keys/fetcher.pem --no-git -p src -- true > /dev/null 2>&1
"$INTACT" run --step build --key ../keys/builder.pem --no-git -m src -p src out -- cp -r src out > /dev/null 2>&1
"$INTACT" run --step package --key ../keys/packager.pem --no-git -m out -p out bundle.tar -- tar cf bundle.tar out > /dev/null 2>&1
cd ..
mkdir verifier
t=$(seconds "$work/big-drill.txt" "$INTACT" drill --layout root.layout --layout-key keys/owner.pub --link-dir work --workdir verifier)
tail -1 "$work/big-drill.txt"
echo "3-step chain, $n artifacts per link: full drill in ${t}s"
