//! `intact match-products` against the reference's
//! `in-toto-match-products -v` on the same trees: the same lines and the
//! same exit code for a clean match, each kind of difference, all at
//! once, and with --paths, --exclude and --lstrip-paths.

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

/// Exit code and stdout lines. The reference prints each group in the
/// order of a Python set (random per process): lines after the first are
/// compared sorted.
fn outcome(o: &Output) -> (Option<i32>, Vec<String>) {
    let text = String::from_utf8_lossy(&o.stdout);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.len() > 1 {
        lines[1..].sort();
    }
    (o.status.code(), lines)
}

/// Both tools on `dir` with `args`; asserts they agree and returns the
/// shared outcome.
fn both(dir: &Path, args: &[&str]) -> (Option<i32>, Vec<String>) {
    let python = intact_tests::reference_python();
    let reference = bounded(
        Command::new(python)
            .arg(python.with_file_name("in-toto-match-products"))
            .arg("-v")
            .args(args)
            .current_dir(dir),
    );
    let ours = bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .arg("match-products")
            .args(args)
            .current_dir(dir),
    );
    let text = format!(
        "{args:?}\nreference:\n{}\nintact:\n{}",
        intact_tests::output_text(&reference),
        intact_tests::output_text(&ours)
    );
    let r = outcome(&reference);
    assert_eq!(r, outcome(&ours), "{text}");
    r
}

/// A tree, and `step.link` recorded on it by in-toto-mock (products:
/// every file).
fn recorded(dir: &Path) {
    std::fs::create_dir_all(dir.join("dist/sub")).unwrap();
    std::fs::write(dir.join("README"), "read me\n").unwrap();
    std::fs::write(dir.join("dist/app"), "binary\n").unwrap();
    std::fs::write(dir.join("dist/app.log"), "log\n").unwrap();
    std::fs::write(dir.join("dist/sub/lib.so"), "lib\n").unwrap();
    let python = intact_tests::reference_python();
    let out = bounded(
        Command::new(python)
            .arg(python.with_file_name("in-toto-mock"))
            .args(["--name", "step", "--", "true"])
            .current_dir(dir),
    );
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
}

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

#[test]
fn match_products_agrees_with_the_reference() {
    let root = tempfile::tempdir().unwrap();
    let link = ["--link", "step.link"];
    let dir = root.path().join("tree");
    recorded(&dir);

    // A clean match (the link itself is excluded by default).
    assert_eq!(
        both(&dir, &link),
        (
            Some(0),
            lines(&["Local artifacts match products in passed link."])
        )
    );

    // Each kind of difference alone, then all three at once.
    std::fs::remove_file(dir.join("README")).unwrap();
    let (code, out) = both(&dir, &link);
    assert_eq!(code, Some(1));
    assert_eq!(out[1..], lines(&["Only in products: README"]));
    std::fs::write(dir.join("README"), "read me\n").unwrap();

    std::fs::write(dir.join("dist/new"), "new\n").unwrap();
    let (code, out) = both(&dir, &link);
    assert_eq!(code, Some(1));
    assert_eq!(out[1..], lines(&["Not in products: dist/new"]));

    std::fs::write(dir.join("dist/app"), "swapped\n").unwrap();
    std::fs::remove_file(dir.join("dist/sub/lib.so")).unwrap();
    let (code, out) = both(&dir, &link);
    assert_eq!(code, Some(1));
    assert_eq!(
        out[1..],
        lines(&[
            "Hashes differ: dist/app",
            "Not in products: dist/new",
            "Only in products: dist/sub/lib.so",
        ])
    );

    // --paths: the products outside them are "only in products".
    let (code, _) = both(&dir, &["--link", "step.link", "--paths", "README"]);
    assert_eq!(code, Some(1));
    // A path that does not exist is skipped by both.
    both(&dir, &["--link", "step.link", "--paths", "missing", "dist"]);
    // --exclude replaces the default patterns (so the link is recorded).
    both(&dir, &["--link", "step.link", "--exclude", "*.log", "new"]);
    // --lstrip-paths renames the local artifacts.
    both(&dir, &["--link", "step.link", "--lstrip-paths", "dist/"]);
}

#[test]
fn a_dsse_link_works_and_bad_input_is_exit_2() {
    // The reference fails on a DSSE link (its CLI reads `.signed`);
    // intact reads both containers.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), "a").unwrap();
    let intact = |args: &[&str]| {
        bounded(
            Command::new(env!("CARGO_BIN_EXE_intact"))
                .arg("match-products")
                .args(args)
                .current_dir(dir.path()),
        )
    };
    let out = bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(["mock", "-n", "s", "--use-dsse", "--", "true"])
            .current_dir(dir.path()),
    );
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    let out = intact(&["-l", "s.link"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        intact_tests::output_text(&out)
    );
    let out = intact(&["-l", "s.link", "-q", "-e", "nothing"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        intact_tests::output_text(&out)
    );
    assert!(out.stdout.is_empty());

    for bad in ["missing.link", "a"] {
        let out = intact(&["-l", bad]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            intact_tests::output_text(&out)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains(bad));
    }
}

#[test]
fn a_symlinked_directory_is_followed_where_the_reference_does_not_follow_it() {
    // A documented difference (docs/interoperability.md): in-toto-run
    // follows a symlinked directory when recording, in-toto-match-products
    // does not, so it reports the files behind it as only in the products;
    // intact records local files as a step records them.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("real")).unwrap();
    std::fs::write(dir.path().join("real/f"), "f").unwrap();
    std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
    let python = intact_tests::reference_python();
    let out = bounded(
        Command::new(python)
            .arg(python.with_file_name("in-toto-mock"))
            .args(["--name", "s", "--", "true"])
            .current_dir(dir.path()),
    );
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    let reference = bounded(
        Command::new(python)
            .arg(python.with_file_name("in-toto-match-products"))
            .args(["-v", "-l", "s.link"])
            .current_dir(dir.path()),
    );
    let (code, out) = outcome(&reference);
    assert_eq!(code, Some(1));
    assert_eq!(out[1..], lines(&["Only in products: link/f"]));
    let ours = bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(["match-products", "-l", "s.link"])
            .current_dir(dir.path()),
    );
    assert_eq!(
        ours.status.code(),
        Some(0),
        "{}",
        intact_tests::output_text(&ours)
    );
}

#[test]
fn match_products_output_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["keep", "change", "remove"] {
        std::fs::write(dir.path().join(f), f).unwrap();
    }
    let intact = |args: &[&str]| {
        bounded(
            Command::new(env!("CARGO_BIN_EXE_intact"))
                .args(args)
                .current_dir(dir.path()),
        )
    };
    let out = intact(&["mock", "-n", "s", "--", "true"]);
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    let same = intact(&["match-products", "-l", "s.link"]);
    std::fs::write(dir.path().join("change"), "changed").unwrap();
    std::fs::remove_file(dir.path().join("remove")).unwrap();
    std::fs::write(dir.path().join("add"), "add").unwrap();
    let differ = intact(&["match-products", "-l", "s.link"]);
    let text = format!(
        "$ intact match-products -l s.link   # exit {:?}\n{}\n$ intact match-products -l s.link   # exit {:?}\n{}",
        same.status.code(),
        intact_tests::output_text(&same),
        differ.status.code(),
        intact_tests::output_text(&differ),
    );
    insta::assert_snapshot!("match_products", text);
}
