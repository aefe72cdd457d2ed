# Shared by smoke.sh and campaign.sh (sourced, run from the repository root).
# cargo-fuzz pinned and installed under target/tools; builds in target/fuzz
# on the nightly toolchain, without a sanitizer: the fuzzed crates are safe
# Rust (no `unsafe`), so what a run can find is a panic, an overflow (debug
# assertions are on), a hang or a blown memory limit, and ASan would only
# halve the executions.
CARGO_FUZZ_VERSION=0.13.2
FUZZ_TOOLS=target/tools
FUZZ_TARGET_DIR=target/fuzz
FUZZ_BIN="$FUZZ_TARGET_DIR/x86_64-unknown-linux-gnu/release"
# The smoke run's unoptimised build: it compiles in less CPU than the
# optimised one campaigns need, and a few seconds from the seeds do not
# need the speed.
FUZZ_DEV_BIN="$FUZZ_TARGET_DIR/x86_64-unknown-linux-gnu/debug"
FUZZ_TARGETS=(json_strict link_fast_vs_generic dsse_envelope rule_parse layout_yaml allowed_signers canonical_roundtrip)
# Per-input limits: a hang is an input slower than 10 s, an OOM above 2 GiB.
FUZZ_LIMITS=(-timeout=10 -rss_limit_mb=2048)

fuzz_install() {
  if ! "$FUZZ_TOOLS/bin/cargo-fuzz" --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
    # --debug: an unoptimised build of a thin wrapper compiles in a
    # fraction of the time and runs as fast.
    cargo install --locked --debug cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$FUZZ_TOOLS"
  fi
  export PATH="$PWD/$FUZZ_TOOLS/bin:$PATH"
}

fuzz_build() {
  fuzz_install
  cargo +nightly fuzz build -s none --target-dir "$FUZZ_TARGET_DIR" "$@"
}
