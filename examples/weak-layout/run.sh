#!/usr/bin/env bash
# Build the demo chain with the deliberately weak layout beside this
# script, then show what coverage and a drill find (docs/attack-drills.md):
#
#   bash examples/weak-layout/run.sh [DIR]
#
# Needs intact on PATH (or INTACT=/path/to/intact), git and tar.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
intact="${INTACT:-intact}"
dir="${1:-$(mktemp -d)}"
mkdir -p "$dir"
"$intact" demo --dir "$dir/chain" --layout "$here/layout.yaml" > "$dir/demo.log"
cd "$dir/chain"
"$intact" layout coverage demo.yaml || true
mkdir -p verifier
cp root.layout keys/alice.pub work/demo-project.tar.gz verifier/
# Exit 1: the drill finds attacks the weak layout does not catch.
"$intact" drill --layout root.layout --layout-key keys/alice.pub --link-dir work --workdir verifier || test $? -eq 1
