//! `intact run` and `intact record` refuse what they cannot finish before
//! they hash or run anything: an unusable link directory, a step name with
//! control characters.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// Run intact in `dir`, killed if it is still running after a generous
/// bound (a watchdog against a hang, not a timing assertion).
fn intact(dir: &Path, args: &[&str]) -> Output {
    intact_tests::output_bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(args)
            .current_dir(dir)
            .env_remove("INTACT_KEY_PASSWORD"),
        Duration::from_secs(120),
        || {},
    )
}

fn text(o: &Output) -> String {
    intact_tests::output_text(o)
}

/// A directory with a key `k.pem` and a material `in.txt`.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(intact(d, &["key", "generate", "k"]).status.success());
    std::fs::write(d.join("in.txt"), "x").unwrap();
    dir
}

fn run_into(d: &Path, step: &str, link_dir: &str) -> Output {
    intact(
        d,
        &[
            "run", "--step", step, "--key", "k.pem", "--no-git", "-m", "in.txt", "-d", link_dir,
            "--", "touch", "marker",
        ],
    )
}

fn files_ending(d: &Path, suffix: &str) -> usize {
    std::fs::read_dir(d)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
        .count()
}

#[test]
fn run_refuses_an_unusable_link_directory_before_running_the_command() {
    let dir = setup();
    let d = dir.path();
    let mut unusable = vec!["missing", "in.txt", "missing/deeper"];
    if cfg!(target_os = "linux") {
        // A directory that takes no new files, even from root.
        unusable.push("/proc");
    }
    for link_dir in unusable {
        let out = run_into(d, "build", link_dir);
        assert_eq!(out.status.code(), Some(2), "{link_dir}: {}", text(&out));
        assert!(!d.join("marker").exists(), "{link_dir}: the command ran");
    }
    // The same command with a usable directory runs and records.
    std::fs::create_dir(d.join("links")).unwrap();
    let out = run_into(d, "build", "links");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(d.join("marker").exists());
    assert_eq!(files_ending(&d.join("links"), ".link"), 1);
}

#[test]
fn record_stop_refuses_an_unusable_link_directory_and_keeps_the_hand_over() {
    let dir = setup();
    let d = dir.path();
    let start = intact(
        d,
        &[
            "record", "start", "--step", "edit", "--key", "k.pem", "--no-git", "-m", "in.txt",
        ],
    );
    assert_eq!(start.status.code(), Some(0), "{}", text(&start));
    let stop = |link_dir: &str| {
        intact(
            d,
            &[
                "record", "stop", "--step", "edit", "--key", "k.pem", "--no-git", "-p", "in.txt",
                "-d", link_dir,
            ],
        )
    };
    let refused = stop("missing");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert_eq!(files_ending(d, ".link-unfinished"), 1);
    std::fs::create_dir(d.join("links")).unwrap();
    let done = stop("links");
    assert_eq!(done.status.code(), Some(0), "{}", text(&done));
    assert_eq!(files_ending(d, ".link-unfinished"), 0);
    assert_eq!(files_ending(&d.join("links"), ".link"), 1);
}

#[test]
fn step_names_with_control_characters_are_refused_when_recording() {
    let dir = setup();
    let d = dir.path();
    for name in ["two\nlines", "paint\u{1b}[32m", "bell\u{7}"] {
        let run = run_into(d, name, ".");
        assert_eq!(run.status.code(), Some(2), "{name:?}: {}", text(&run));
        let start = intact(
            d,
            &[
                "record", "start", "--step", name, "--key", "k.pem", "--no-git", "-m", "in.txt",
            ],
        );
        assert_eq!(start.status.code(), Some(2), "{name:?}: {}", text(&start));
    }
    assert!(!d.join("marker").exists(), "the command ran");
    assert_eq!(files_ending(d, ".link"), 0);
    assert_eq!(files_ending(d, ".link-unfinished"), 0);
}

/// The secrets intact reads to sign (a token's PIN, a key's password, a
/// registry password) are not passed on to the command a step runs.
#[test]
fn the_step_command_does_not_see_intacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = intact_tests::output_bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args([
                "run",
                "--no-sign",
                "--step",
                "s",
                "--",
                "sh",
                "-c",
                "echo pin=${INTACT_PKCS11_PIN:-none} pw=${INTACT_KEY_PASSWORD:-none} \
                 reg=${INTACT_REGISTRY_PASSWORD:-none} other=${INTACT_TEST_OTHER:-none}",
            ])
            .current_dir(d)
            .env("INTACT_PKCS11_PIN", "1234")
            .env("INTACT_KEY_PASSWORD", "pw")
            .env("INTACT_REGISTRY_PASSWORD", "reg")
            .env("INTACT_TEST_OTHER", "kept"),
        Duration::from_secs(120),
        || {},
    );
    assert!(out.status.success(), "{}", text(&out));
    let link = std::fs::read_to_string(d.join("s.link")).unwrap();
    assert!(
        link.contains("pin=none pw=none reg=none other=kept"),
        "{link}"
    );
}
