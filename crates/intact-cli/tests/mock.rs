//! `intact mock` and `intact run --no-sign` against the reference's
//! `in-toto-mock`: the same unsigned link, byte for byte, under the same
//! file name, in both containers.

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

fn bounded(cmd: &mut Command) -> Output {
    intact_tests::output_bounded(cmd, Duration::from_secs(120), || {})
}

/// A tree to record: files, a subdirectory, a name with a space, and
/// files the default excludes leave out.
fn tree(dir: &Path) {
    std::fs::create_dir_all(dir.join("src/sub")).unwrap();
    std::fs::write(dir.join("README"), "read me\n").unwrap();
    std::fs::write(dir.join("src/a b.txt"), "a\r\nb\n").unwrap();
    std::fs::write(dir.join("src/sub/c.py"), "print(1)\n").unwrap();
    std::fs::write(dir.join("src/sub/c.pyc"), "x").unwrap();
    std::fs::write(dir.join("old.link"), "{}").unwrap();
}

/// The step's command: prints to both streams, makes a product, changes
/// a material.
const SCRIPT: &str = "echo out; echo err >&2; echo made > made.txt; echo more >> README";

/// The link file each tool writes in a fresh copy of the tree.
fn written(dir: &Path, cmd: &mut Command) -> Vec<u8> {
    tree(dir);
    let out = bounded(cmd.current_dir(dir));
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".link") && n != "old.link")
        .collect();
    names.sort();
    assert_eq!(names, ["try-it.link"], "the link's file name");
    std::fs::read(dir.join("try-it.link")).unwrap()
}

#[test]
fn mock_and_run_no_sign_write_what_in_toto_mock_writes() {
    let python = intact_tests::reference_python();
    let root = tempfile::tempdir().unwrap();
    for dsse in [false, true] {
        let sub = |n: &str| root.path().join(format!("{n}-{dsse}"));
        let dsse_flag: &[&str] = if dsse { &["--use-dsse"] } else { &[] };

        let reference = written(
            &sub("reference"),
            Command::new(python)
                .arg(python.with_file_name("in-toto-mock"))
                .args(["--name", "try-it"])
                .args(dsse_flag)
                .args(["--", "sh", "-c", SCRIPT]),
        );
        let mock = written(
            &sub("mock"),
            Command::new(env!("CARGO_BIN_EXE_intact"))
                .args(["mock", "--name", "try-it"])
                .args(dsse_flag)
                .args(["--", "sh", "-c", SCRIPT]),
        );
        let run = written(
            &sub("run"),
            Command::new(env!("CARGO_BIN_EXE_intact"))
                .args(["run", "--no-sign", "--no-git", "-n", "try-it"])
                .args(["-m", ".", "-p", "."])
                .args(dsse_flag)
                .args(["--", "sh", "-c", SCRIPT]),
        );
        let text = String::from_utf8_lossy(&reference);
        assert_eq!(
            String::from_utf8_lossy(&mock),
            text,
            "intact mock, dsse: {dsse}"
        );
        assert_eq!(
            String::from_utf8_lossy(&run),
            text,
            "intact run --no-sign, dsse: {dsse}"
        );
        // And what was written is an unsigned link of the step.
        let md = intact_model::Metadata::from_slice(&mock).unwrap();
        assert!(md.signatures().is_empty());
        let link = md.payload().unwrap();
        let link = link.as_link().unwrap();
        assert_eq!(link.name.as_str(), "try-it");
        assert!(link.products.iter().any(|(n, _)| n.as_str() == "made.txt"));
    }
}

#[test]
fn no_sign_refuses_a_given_key_and_mock_needs_a_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(["run", "--no-sign", "-k", "bob.pem", "-n", "s", "--", "true"])
            .current_dir(dir.path()),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        intact_tests::output_text(&out)
    );
    let out = bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(["mock", "-n", "s"])
            .current_dir(dir.path()),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        intact_tests::output_text(&out)
    );
    // Nothing was written.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // A key in INTACT_KEY (set for a whole job) does not stop a trial run.
    let out = bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(["run", "--no-sign", "--no-git", "-n", "s", "--", "true"])
            .env("INTACT_KEY", "bob.pem")
            .current_dir(dir.path()),
    );
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    assert!(dir.path().join("s.link").is_file());
}
