#!/usr/bin/env bash
# Every check CI runs, in one command: the in-toto reference for the interop
# tests (a venv under target/), formatting, lints, licences, all tests and a
# fuzz smoke run. Each phase prints its wall time (to stderr), so a slow CI
# run says where the time went; the budget is 20 minutes on 2 cores from a
# clean checkout (docs/architecture.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# A clean checkout builds everything once: incremental compilation only
# adds work there (its caches are written and never read).
export CARGO_INCREMENTAL=0

# CPU seconds used by finished child processes, from bash's `times` (its
# second line), into $cpu. `times` must run in this shell, not in a
# command substitution's subshell, which has children of its own.
cpu_file=$(mktemp)
trap 'rm -f "$cpu_file"' EXIT
children_cpu() {
    times >"$cpu_file"
    cpu=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/)
        printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$cpu_file")
}
children_cpu
phase_start=$SECONDS
phase_cpu=$cpu
phase() {
    children_cpu
    echo "ci: $1 took $((SECONDS - phase_start)) s ($((cpu - phase_cpu)) s of CPU)" >&2
    phase_start=$SECONDS
    phase_cpu=$cpu
}

bash tests/interop/setup-venv.sh >/dev/null
phase "in-toto reference venv"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
phase "fmt and clippy"

# --- cargo-deny: licenses, bans, sources (deny.toml) ----------------------
# Installed on first use into target/tools and kept there, so only a cold
# target/ pays for the build. Its release profile asks for fat LTO with one
# codegen unit, minutes of one core for a check that runs in a second:
# installed without them. No advisories: they need the RustSec database
# from the network, and checking only licenses, bans and sources never
# fetches it. --hide-inclusion-graph keeps the duplicate-version warnings
# to one line each; run `target/tools/bin/cargo-deny check bans` for the
# graphs.
cargo_deny_version=0.20.2
cargo_deny=target/tools/bin/cargo-deny
if [ "$("$cargo_deny" --version 2>/dev/null)" != "cargo-deny $cargo_deny_version" ]; then
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        cargo install --locked --quiet cargo-deny --version "$cargo_deny_version" --root target/tools
fi
"$cargo_deny" --locked check --hide-inclusion-graph licenses bans sources
phase "cargo-deny"
# --- end cargo-deny --------------------------------------------------------

cargo test --workspace
phase "tests"

# --- fuzz smoke (docs/fuzzing.md): every fuzz target for a few seconds from
# its committed seeds; installs cargo-fuzz under target/tools when missing.
bash fuzz/smoke.sh
phase "fuzz smoke"
