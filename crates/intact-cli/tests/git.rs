//! Git provenance through the CLI: examples/git-provenance/run.sh builds a
//! real chain (SSH-signed commit, layout with a git policy, recorded
//! steps), then each test checks a verdict of `intact verify --git-repo`
//! and of the reference's `in-toto-verify` on the same files.

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

fn intact(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_intact"))
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("INTACT_KEY_PASSWORD")
        .output()
        .expect("run intact")
}

fn text(o: &Output) -> String {
    intact_tests::output_text(o)
}

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_intact"))
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

fn in_toto_verify() -> PathBuf {
    intact_tests::reference_python().with_file_name("in-toto-verify")
}

/// Run the example script in a fresh dir; returns (tempdir, workdir, output).
fn example(with_reference: bool) -> (tempfile::TempDir, PathBuf, Output) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let work = tmp.path().join("chain");
    let script = intact_tests::repo_root().join("examples/git-provenance/run.sh");
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg(&script).arg(&work).env("PATH", path);
    if with_reference {
        cmd.env("IN_TOTO_VERIFY", in_toto_verify());
    }
    let out = cmd.output().expect("bash runs");
    (tmp, work, out)
}

/// The reference's verdict, with our `intact` on PATH for the inspection.
fn reference_verdict(work: &Path, repo: &str) -> (Option<i32>, String) {
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(in_toto_verify())
        .args(["-l", "root.layout", "--verification-keys", "keys/owner.pub"])
        .current_dir(work)
        .env("PATH", path)
        .env("INTACT_GIT_REPO", repo)
        .output()
        .expect("in-toto-verify runs");
    (out.status.code(), text(&out))
}

/// Stable text: ids, fingerprints, dates and paths that change per run.
fn stable(s: &str, work: &Path) -> String {
    let s = s.replace(&work.display().to_string(), "[WORK]");
    let rules = [
        (r"SHA256:[A-Za-z0-9+/]{43}", "[FINGERPRINT]"),
        (r"\b[0-9a-f]{64}\b", "[SHA256]"),
        (r"\b[0-9a-f]{40}\b", "[COMMIT]"),
        (r"\b[0-9a-f]{12}\b", "[ID12]"),
        (r"\b[0-9a-f]{8}\b", "[ID8]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[DATE]"),
    ];
    rules.iter().fold(s, |acc, (re, to)| {
        regex::Regex::new(re)
            .expect("valid regex")
            .replace_all(&acc, *to)
            .into_owned()
    })
}

fn verify(work: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "verify",
        "--layout",
        "root.layout",
        "--layout-key",
        "keys/owner.pub",
    ];
    args.extend_from_slice(extra);
    intact(work, &args)
}

#[test]
fn the_example_chain_verifies_under_intact_and_the_reference() {
    let (_tmp, work, out) = example(true);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("verification PASSED"), "{all}");
    assert!(all.contains("in-toto-verify: PASSED"), "{all}");
    // The clone link carries the commit in environment.git only: its
    // materials are what the step recorded (none), so rules ending in
    // DISALLOW * hold; the local origin's path is not recorded.
    let link = std::fs::read_dir(&work)
        .expect("read work")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("clone.") && n.ends_with(".link"))
        })
        .expect("a clone link");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&link).expect("read link")).expect("json");
    let materials = json["signed"]["materials"].as_object().expect("materials");
    assert!(materials.is_empty(), "{materials:?}");
    let env = &json["signed"]["environment"]["git"];
    assert!(env["commit"].is_string(), "{env}");
    assert_eq!(env["remote"], serde_json::Value::Null);
    assert_eq!(env["ref"], "refs/heads/main");
    assert_eq!(env["dirty"], false);
    assert_eq!(env["prefix"], "project/");

    let v = verify(&work, &["--git-repo", "project"]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
    insta::assert_snapshot!(stable(&text(&v), &work));
}

#[test]
fn a_layout_with_a_git_policy_needs_the_repository() {
    let (_tmp, work, out) = example(false);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = verify(&work, &[]);
    assert_eq!(v.status.code(), Some(1), "{}", text(&v));
    insta::assert_snapshot!(stable(&text(&v), &work));
}

#[test]
fn a_source_that_is_not_the_commit_fails_under_both_verifiers() {
    let (_tmp, work, out) = example(false);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The builder slips a file into the checkout and re-records the
    // clone step (dirty, recorded by default): its link still names the
    // signed commit. --require-clean would have refused it.
    std::fs::write(work.join("project/src/evil.py"), "import os\n").expect("write");
    let refused = intact(
        &work,
        &[
            "run",
            "--step",
            "clone",
            "--key",
            "keys/builder.pem",
            "--require-clean",
            "--no-command",
            "--products",
            "project",
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    insta::assert_snapshot!("dirty_refused", stable(&text(&refused), &work));
    let forced = intact(
        &work,
        &[
            "run",
            "--step",
            "clone",
            "--key",
            "keys/builder.pem",
            "--no-command",
            "--products",
            "project",
        ],
    );
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced));
    let v = verify(&work, &["--git-repo", "project"]);
    assert_eq!(v.status.code(), Some(1), "{}", text(&v));
    let report = text(&v);
    assert!(report.contains("tree mismatch"), "{report}");
    assert!(report.contains("artifact src/evil.py"), "{report}");
    insta::assert_snapshot!("tree_mismatch", stable(&report, &work));
    let (code, out) = reference_verdict(&work, "project");
    assert_eq!(code, Some(1), "{out}");
    // It ran our inspection, which failed.
    assert!(out.contains("verify-source"), "{out}");
}

#[test]
fn an_unsigned_commit_on_main_fails_under_both_verifiers() {
    let (_tmp, work, out) = example(false);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Upstream gets an unsigned commit; the builder clones and records it.
    let git = |dir: &Path, args: &[&str]| {
        let o = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args(["-c", "user.name=Mallory", "-c", "user.email=m@example.com"])
            .args(args)
            .output()
            .expect("git");
        assert!(o.status.success(), "{}", text(&o));
    };
    std::fs::write(work.join("upstream/README.md"), "# changed\n").expect("write");
    git(
        &work.join("upstream"),
        &["commit", "-q", "-am", "unsigned change"],
    );
    std::fs::remove_dir_all(work.join("project")).expect("rm");
    for f in std::fs::read_dir(&work).expect("ls").filter_map(Result::ok) {
        if f.file_name().to_string_lossy().ends_with(".link") {
            std::fs::remove_file(f.path()).expect("rm link");
        }
    }
    let url = format!("file://{}/upstream", work.display());
    let clone = intact(
        &work,
        &[
            "run",
            "--step",
            "clone",
            "--key",
            "keys/builder.pem",
            "--products",
            "project",
            "--",
            "git",
            "clone",
            "-q",
            &url,
            "project",
        ],
    );
    assert_eq!(clone.status.code(), Some(0), "{}", text(&clone));
    let package = intact(
        &work,
        &[
            "run",
            "--step",
            "package",
            "--key",
            "keys/builder.pem",
            "--no-git",
            "--materials",
            "project",
            "--products",
            "project.tar.gz",
            "--",
            "tar",
            "--exclude",
            ".git",
            "-czf",
            "project.tar.gz",
            "project",
        ],
    );
    assert_eq!(package.status.code(), Some(0), "{}", text(&package));
    let v = verify(&work, &["--git-repo", "project"]);
    assert_eq!(v.status.code(), Some(1), "{}", text(&v));
    assert!(text(&v).contains("unsigned commit"), "{}", text(&v));
    insta::assert_snapshot!(stable(&text(&v), &work));
    let (code, out) = reference_verdict(&work, "project");
    assert_eq!(code, Some(1), "{out}");
}
