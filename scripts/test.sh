#!/usr/bin/env bash
# Every check CI runs, in one command: the in-toto reference for the interop
# tests (a venv under target/), formatting, lints, licences, all tests and a
# fuzz smoke run. The budget is 20 minutes on 2 cores from a clean checkout
# (docs/architecture.md), so waiting is overlapped with work: the venv is
# made (mostly downloads) while clippy runs, and the tools and the fuzz
# build compile while the tests run (which wait on subprocesses, the
# reference and git much of the time). Each phase prints its wall and CPU
# time to stderr, so a slow run says where the time went.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# A clean checkout builds everything once: incremental compilation only
# adds work there (its caches are written and never read).
export CARGO_INCREMENTAL=0
mkdir -p target

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

# A background job's output goes to its log, shown if it fails.
await() {
    local pid=$1 log=$2 what=$3
    if ! wait "$pid"; then
        cat "$log" >&2
        echo "ci: $what FAILED (log above: $log)" >&2
        exit 1
    fi
}

bash tests/interop/setup-venv.sh >target/ci-venv.log 2>&1 &
venv_pid=$!
# Debian packages the tests drive, installed when missing while clippy
# runs, one after the other (apt takes one install at a time): SoftHSM2,
# OpenSC and OpenSSH for the PKCS#11 and ssh-agent tests
# (crates/intact-cli/tests/hsm.rs), the registry and skopeo for the OCI
# tests (docs/oci.md).
{ bash tests/hsm/setup.sh && bash tests/oci/setup.sh; } >target/ci-packages.log 2>&1 &
packages_pid=$!

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
phase "fmt and clippy"
cargo test --workspace --no-run
await "$venv_pid" target/ci-venv.log "the in-toto reference venv (tests/interop/setup-venv.sh)"
await "$packages_pid" target/ci-packages.log "the test packages (tests/hsm/setup.sh, tests/oci/setup.sh)"
phase "test build (and the venv)"

# --- cargo-deny: licenses, bans, sources (deny.toml) ----------------------
# Installed on first use into target/tools and kept there, so only a cold
# target/ pays for the build; unoptimised (--debug): its release profile
# (fat LTO, one codegen unit, opt-level 3) costs minutes of CPU for a
# check that runs in seconds either way. No advisories: they need the
# RustSec database from the network, and checking only licenses, bans and
# sources never fetches it. --hide-inclusion-graph keeps the
# duplicate-version warnings to one line each; run
# `target/tools/bin/cargo-deny check bans` for the graphs.
cargo_deny_version=0.20.2
cargo_deny=target/tools/bin/cargo-deny
tools() {
    if [ "$("$cargo_deny" --version 2>/dev/null)" != "cargo-deny $cargo_deny_version" ]; then
        cargo install --locked --debug --quiet cargo-deny --version "$cargo_deny_version" --root target/tools
    fi
    "$cargo_deny" --locked check --hide-inclusion-graph licenses bans sources
    # fuzz smoke (docs/fuzzing.md): cargo-fuzz and the targets' build.
    bash fuzz/smoke.sh build
}
# --- end cargo-deny --------------------------------------------------------

tools >target/ci-tools.log 2>&1 &
tools_pid=$!
cargo test --workspace
phase "tests"
await "$tools_pid" target/ci-tools.log "cargo-deny or the fuzz build"
grep -E '^(warning|error)\[|^(advisories|bans|licenses|sources) ' target/ci-tools.log >&2 || true
phase "cargo-deny and the fuzz build (after the tests)"

# Every fuzz target for a few seconds from its committed seeds.
bash fuzz/smoke.sh run
phase "fuzz smoke"
