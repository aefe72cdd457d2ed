//! `intact run` with a FIFO among the materials, in a walked directory and
//! named directly (issue #14.7): recording skips it, as the reference
//! does, says so on standard error, and never waits on it.
//!
//! Bounded: `intact` runs under a 60-second watchdog.

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

fn intact(dir: &Path, args: &[&str]) -> Output {
    intact_tests::output_bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(args)
            .current_dir(dir)
            .env_remove("INTACT_KEY_PASSWORD"),
        Duration::from_secs(60),
        || {},
    )
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

#[test]
fn fifos_among_materials_are_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = intact(d, &["key", "generate", "bob"]);
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    std::fs::create_dir(d.join("src")).unwrap();
    std::fs::write(d.join("src/main.c"), "int main;\n").unwrap();
    mkfifo(&d.join("src/pipe"));
    mkfifo(&d.join("named"));
    let out = intact(
        d,
        &[
            "run", "--step", "build", "--key", "bob.pem", "--no-git", "-m", "src", "named", "--",
            "true",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        intact_tests::output_text(&out)
    );
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\b[0-9a-f]{8}\.link\b", "[ID8].link");
    settings.bind(|| {
        insta::assert_snapshot!("fifo_warnings", String::from_utf8_lossy(&out.stderr));
    });
    let link = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "link"))
        .expect("a link was written");
    let link: serde_json::Value = serde_json::from_slice(&std::fs::read(link).unwrap()).unwrap();
    let materials: Vec<&String> = link["signed"]["materials"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(materials, ["src/main.c"]);
}
