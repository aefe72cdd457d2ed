#!/usr/bin/env bash
# Every check CI runs, in one command: the in-toto reference for the interop
# tests (a venv under target/), formatting, lints, and all tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tests/interop/setup-venv.sh >/dev/null
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace

# --- fuzz smoke (docs/fuzzing.md): every fuzz target for a few seconds from
# its committed seeds; installs cargo-fuzz under target/tools when missing.
bash fuzz/smoke.sh
