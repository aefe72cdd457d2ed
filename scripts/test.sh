#!/usr/bin/env bash
# Every check CI runs, in one command: the in-toto reference for the interop
# tests (a venv under target/), formatting, lints, and all tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tests/interop/setup-venv.sh >/dev/null
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

# --- cargo-deny: licenses, bans, sources (deny.toml) ----------------------
# Installed on first use into target/tools and kept there, so only a cold
# target/ pays for the build (docs/architecture.md has the figure). No
# advisories: they need the RustSec database from the network, and checking
# only licenses, bans and sources never fetches it. --hide-inclusion-graph
# keeps the duplicate-version warnings to one line each; run
# `target/tools/bin/cargo-deny check bans` for the graphs.
cargo_deny_version=0.20.2
cargo_deny=target/tools/bin/cargo-deny
if [ "$("$cargo_deny" --version 2>/dev/null)" != "cargo-deny $cargo_deny_version" ]; then
    cargo install --locked --quiet cargo-deny --version "$cargo_deny_version" --root target/tools
fi
"$cargo_deny" --locked check --hide-inclusion-graph licenses bans sources
# --- end cargo-deny --------------------------------------------------------

cargo test --workspace

# --- fuzz smoke (docs/fuzzing.md): every fuzz target for a few seconds from
# its committed seeds; installs cargo-fuzz under target/tools when missing.
bash fuzz/smoke.sh
