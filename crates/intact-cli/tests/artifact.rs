//! Verifying from the artifact (issue 16): `intact verify --artifact FILE`
//! on the demo chain. The artifact must be a product of the chain, it is
//! checked before any inspection runs, and a pass ends with the chain
//! that made it.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

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

/// The demo's chain (once per test process): its directory.
fn demo() -> PathBuf {
    intact_tests::demo_chain(Path::new(env!("CARGO_BIN_EXE_intact"))).to_path_buf()
}

/// A consumer's directory: the layout, its key and the given package.
fn consumer(package: &Path) -> tempfile::TempDir {
    let d = demo();
    let dir = tempfile::tempdir().unwrap();
    for f in ["root.layout", "alice.pub"] {
        std::fs::copy(d.join("final").join(f), dir.path().join(f)).unwrap();
    }
    std::fs::copy(package, dir.path().join("demo-project.tar.gz")).unwrap();
    dir
}

fn verify(dir: &Path, extra: &[&str]) -> Output {
    let links = demo().join("work");
    let mut args = vec![
        "verify",
        "--layout",
        "root.layout",
        "--layout-key",
        "alice.pub",
        "--link-dir",
        links.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    intact(dir, &args)
}

fn settings(dir: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex_escape(&demo().display().to_string()), "[DEMO]");
    s.add_filter(&regex_escape(&dir.display().to_string()), "[TMP]");
    s.add_filter(r"\b[0-9a-f]{64}\b", "[SHA256]");
    s.add_filter(r"\b[0-9a-f]{40}\b", "[COMMIT]");
    s.add_filter(r"\b[0-9a-f]{8}\b", "[ID8]");
    s.add_filter(r"valid until \S+", "valid until [EXPIRES]");
    s.add_filter(r"on refs/heads/\S+", "on refs/heads/[BRANCH]");
    s.add_filter(r"expires:  \S+", "expires:  [EXPIRES]");
    s.add_filter(r"on `refs/heads/[^`]+`", "on `refs/heads/[BRANCH]`");
    s
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

/// Verify `package` (a file of the demo directory) from the artifact in
/// `format`; the exit code must be `code`. The consumer directory and
/// standard output.
fn verify_package(package: &str, format: &str, code: i32) -> (tempfile::TempDir, String) {
    let dir = consumer(&demo().join(package));
    let out = verify(
        dir.path(),
        &["--artifact", "demo-project.tar.gz", "--format", format],
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        intact_tests::output_text(&out)
    );
    (dir, String::from_utf8(out.stdout).unwrap())
}

#[test]
fn the_released_package_verifies_with_its_chain() {
    let (dir, stdout) = verify_package("final/demo-project.tar.gz", "text", 0);
    settings(dir.path()).bind(|| insta::assert_snapshot!("artifact_pass", stdout));
}

#[test]
fn a_swapped_package_fails_before_the_inspection_unpacks_it() {
    let (dir, stdout) = verify_package("evil/demo-project.tar.gz", "json", 1);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["failure"]["code"], "subject-not-produced");
    assert_eq!(report["failure"]["scope"], "package");
    let a = &report["failure"]["artifacts"][0];
    assert_ne!(a["expected"]["sha256"], a["actual"]["sha256"]);
    // The demo's inspection runs `tar xzf demo-project.tar.gz`, which
    // would create demo-project/: it never ran.
    assert!(!dir.path().join("demo-project").exists());
    assert!(!dir.path().join("untar.link").exists());
}

#[test]
fn an_unreadable_artifact_or_a_bad_subject_is_an_error() {
    let dir = consumer(&demo().join("final/demo-project.tar.gz"));
    let out = verify(dir.path(), &["--artifact", "missing.tar.gz"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.tar.gz"));
    let out = verify(dir.path(), &["--subject", "x=sha256:12"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("x=sha256:12"));
}

#[test]
fn the_markdown_summary_of_the_released_package() {
    let (dir, stdout) = verify_package("final/demo-project.tar.gz", "markdown", 0);
    settings(dir.path()).bind(|| insta::assert_snapshot!("artifact_markdown", stdout));
}

#[test]
fn the_html_report_of_a_swapped_package_marks_the_step_red() {
    let (_dir, html) = verify_package("evil/demo-project.tar.gz", "html", 1);
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Self-contained: no script, nothing fetched.
    for banned in ["<script", "src=", "href=", "@import", "url(http"] {
        assert!(!html.contains(banned), "{banned} in the report");
    }
    // The chain is drawn; the failed stage's step is its red node.
    let start = html.find("<svg").unwrap();
    let end = html.find("</svg>").unwrap() + "</svg>".len();
    let svg = roxmltree::Document::parse(&html[start..end]).unwrap();
    let failed: Vec<&str> = svg
        .descendants()
        .filter(|n| {
            n.attribute("class")
                .is_some_and(|c| c.starts_with("node ") && c.contains("failed"))
        })
        .filter_map(|n| n.children().find(|c| c.has_tag_name("title"))?.text())
        .collect();
    assert_eq!(failed, ["package"]);
    assert!(html.contains("subject-not-produced"));
}
