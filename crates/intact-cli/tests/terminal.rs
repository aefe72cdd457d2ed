//! `intact run` at a terminal behaves as the command alone would (issue
//! 14 review): the command can read what is typed, and Ctrl-C stops it
//! along with intact. A command in a process group of its own behind an
//! interactive intact was stopped by SIGTTIN on its first read of the
//! terminal (forever, without a timeout) and outlived a Ctrl-C that
//! reached intact only.
//!
//! The terminal is a real pseudo-terminal: util-linux `script` runs
//! intact as the foreground job of a new one and types what the test
//! writes to its standard input. Bounded: `script` is killed after 60 s,
//! which hangs up the terminal and so ends what runs on it.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Single-quoted for `sh`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Run `intact ARGS` in `dir` on a new terminal, typing `typed` after
/// `delay`; fail if it has not ended 60 s later.
fn on_terminal(dir: &Path, args: &[&str], delay: Duration, typed: &[u8]) -> Output {
    let line = std::iter::once(env!("CARGO_BIN_EXE_intact"))
        .chain(args.iter().copied())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(dir)
        .env_remove("INTACT_KEY_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(delay);
    stdin.write_all(typed).unwrap();
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("intact {args:?} on a terminal did not end within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn keyed_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_intact"))
        .args(["key", "generate", "alice"])
        .current_dir(dir.path())
        .env_remove("INTACT_KEY_PASSWORD")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    dir
}

#[test]
fn a_command_reads_what_is_typed_at_the_terminal() {
    let dir = keyed_dir();
    let d = dir.path();
    let out = on_terminal(
        d,
        &[
            "run",
            "--step",
            "ask",
            "--key",
            "alice.pem",
            "--no-git",
            "-p",
            "answer",
            "--",
            "sh",
            "-c",
            "read x; echo got:$x > answer",
        ],
        Duration::from_millis(500),
        b"hello\n",
    );
    assert_eq!(
        std::fs::read_to_string(d.join("answer")).ok().as_deref(),
        Some("got:hello\n"),
        "{}",
        intact_tests::output_text(&out)
    );
    assert_eq!(out.status.code(), Some(0));
    let links: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("ask."))
        .collect();
    assert_eq!(links.len(), 1, "one link for the step");
}

#[test]
fn ctrl_c_stops_the_command_with_intact() {
    let dir = keyed_dir();
    let d = dir.path();
    let out = on_terminal(
        d,
        &[
            "run",
            "--step",
            "slow",
            "--key",
            "alice.pem",
            "--no-git",
            "--",
            "sh",
            "-c",
            "sleep 3; touch survived",
        ],
        Duration::from_millis(1000),
        b"\x03",
    );
    // The command would have created `survived` 3 s after it started;
    // give it that time and more.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !d.join("survived").exists(),
        "the command outlived Ctrl-C: {}",
        intact_tests::output_text(&out)
    );
    let linked = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with("slow."));
    assert!(!linked, "an interrupted step writes no link");
}
