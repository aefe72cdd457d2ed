//! `intact drill` and `intact layout coverage` on the demo chain and on the
//! deliberately weak layout of examples/weak-layout (issue 20).

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn intact(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_intact"));
    cmd.args(args).current_dir(dir);
    intact_tests::output_bounded(&mut cmd, Duration::from_secs(300), || {})
}

/// A demo chain built with `layout` (None: the built-in one) in D/chain,
/// and a fresh verifier directory D/chain/verifier holding what a
/// consumer has: the layout, the owner's key, the package.
fn chain(layout: Option<&Path>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["demo", "--dir", "chain"];
    let l;
    if let Some(p) = layout {
        l = p.display().to_string();
        args.extend(["--layout", &l]);
    }
    let out = intact(dir.path(), &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        intact_tests::output_text(&out)
    );
    let c = dir.path().join("chain");
    let v = c.join("verifier");
    std::fs::create_dir(&v).unwrap();
    for (from, to) in [
        ("root.layout", "root.layout"),
        ("keys/alice.pub", "alice.pub"),
        ("work/demo-project.tar.gz", "demo-project.tar.gz"),
    ] {
        std::fs::copy(c.join(from), v.join(to)).unwrap();
    }
    dir
}

fn weak_layout() -> PathBuf {
    intact_tests::repo_root().join("examples/weak-layout/layout.yaml")
}

const DRILL: &[&str] = &[
    "drill",
    "--layout",
    "root.layout",
    "--layout-key",
    "keys/alice.pub",
    "--link-dir",
    "work",
    "--workdir",
    "verifier",
];

fn run(dir: &Path, base: &[&str], extra: &[&str], code: i32) -> String {
    let mut args = base.to_vec();
    args.extend_from_slice(extra);
    let out = intact(dir, &args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        intact_tests::output_text(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every file under `dir` (not following symbolic links), with its bytes.
fn hashes(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    use sha2::Digest;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else if m.is_file() {
                out.insert(
                    p.clone(),
                    sha2::Sha256::digest(std::fs::read(&p).unwrap()).to_vec(),
                );
            }
        }
    }
    out
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn the_demo_chain_catches_every_drill_and_is_left_untouched() {
    let dir = chain(None);
    let c = dir.path().join("chain");
    // The chain, the verifier's directory and the repository, before.
    let before = hashes(&c);
    let text = run(&c, DRILL, &[], 0);
    insta::assert_snapshot!("drill_demo_text", text);
    let j = run(&c, DRILL, &["--format", "json"], 0);
    insta::assert_snapshot!("drill_demo_json", j);
    let v = json(&j);
    assert_eq!(v["summary"]["not_caught"], 0);
    for a in v["attacks"].as_array().unwrap() {
        assert_ne!(a["verdict"], "not-caught", "{a}");
    }
    let md = run(&c, DRILL, &["--format", "markdown"], 0);
    assert!(md.starts_with("| attack |"), "{md}");
    assert_eq!(before, hashes(&c), "the drill changed the originals");

    let cov = run(&c, &["layout", "coverage", "demo.yaml"], &[], 0);
    insta::assert_snapshot!("coverage_demo_text", cov);
    let cj = run(
        &c,
        &["layout", "coverage", "demo.yaml"],
        &["--format", "json"],
        0,
    );
    insta::assert_snapshot!("coverage_demo_json", cj);
    assert_eq!(json(&cj)["summary"]["high"], 0);
}

#[test]
fn the_weak_layout_lets_drills_through_and_coverage_names_the_holes() {
    let dir = chain(Some(&weak_layout()));
    let c = dir.path().join("chain");
    let before = hashes(&c);
    let text = run(&c, DRILL, &[], 1);
    insta::assert_snapshot!("drill_weak_text", text);
    let j = run(&c, DRILL, &["--format", "json"], 1);
    insta::assert_snapshot!("drill_weak_json", j);
    let v = json(&j);
    let verdict = |id: &str, target: &str| {
        v["attacks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id && a["target"] == target)
            .map(|a| a["verdict"].as_str().unwrap().to_string())
    };
    // package takes ALLOW * materials and may add any product.
    assert_eq!(
        verdict("modify-material", "package").as_deref(),
        Some("not-caught")
    );
    assert_eq!(
        verdict("add-product", "package").as_deref(),
        Some("not-caught")
    );
    // What the weak layout still checks.
    assert_eq!(
        verdict("modify-material", "update-version").as_deref(),
        Some("caught")
    );
    assert_eq!(before, hashes(&c), "the drill changed the originals");

    let cov = run(&c, &["layout", "coverage", "demo.yaml"], &[], 0);
    insta::assert_snapshot!("coverage_weak_text", cov);
    let cj = run(
        &c,
        &["layout", "coverage", "demo.yaml"],
        &["--format", "json"],
        0,
    );
    insta::assert_snapshot!("coverage_weak_json", cj);
    let cj = json(&cj);
    let codes: Vec<(&str, &str)> = cj["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["risk"].as_str().unwrap()))
        .collect();
    for hole in [
        ("open-allow", "high"),
        ("shared-key", "high"),
        ("implicit-allow", "medium"),
    ] {
        assert!(codes.contains(&hole), "{hole:?} missing: {codes:?}");
    }
    // Findings from YAML name their line.
    assert!(cj["findings"][0]["location"]["line"].is_u64());
}

#[test]
fn a_chain_that_does_not_verify_is_refused() {
    let dir = chain(None);
    let c = dir.path().join("chain");
    // A link of the chain removed: there is nothing to drill.
    for e in std::fs::read_dir(c.join("work")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("clone.")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    let out = intact(&c, DRILL);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"));
}

#[test]
fn the_weak_layout_example_script_runs() {
    let dir = tempfile::tempdir().unwrap();
    let script = intact_tests::repo_root().join("examples/weak-layout/run.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script)
        .arg(dir.path().join("w"))
        .env("INTACT", env!("CARGO_BIN_EXE_intact"));
    let out = intact_tests::output_bounded(&mut cmd, Duration::from_secs(300), || {});
    let all = intact_tests::output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("high[open-allow]"), "{all}");
    assert!(all.contains("2 NOT caught"), "{all}");
}

/// The chain of examples/git-provenance/run.sh in D/chain (an SSH-signed
/// commit, a clone and a package step); with `attest`, both steps are
/// recorded again with `--attest link` (a link attestation beside each
/// link), from a fresh clone.
fn git_chain(attest: bool) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("chain");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_intact"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = intact_tests::repo_root().join("examples/git-provenance/run.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script).arg(&work).env("PATH", &path);
    let out = intact_tests::output_bounded(&mut cmd, Duration::from_secs(300), || {});
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        intact_tests::output_text(&out)
    );
    if attest {
        std::fs::remove_dir_all(work.join("project")).unwrap();
        for e in std::fs::read_dir(&work).unwrap() {
            let p = e.unwrap().path();
            if p.to_string_lossy().ends_with(".link") || p.ends_with("project.tar.gz") {
                std::fs::remove_file(p).unwrap();
            }
        }
        let upstream = format!("file://{}/upstream", work.display());
        for args in [
            vec![
                "run",
                "--step",
                "clone",
                "--key",
                "keys/builder.pem",
                "--products",
                "project",
                "--attest",
                "link",
                "--",
                "git",
                "clone",
                "-q",
                &upstream,
                "project",
            ],
            vec![
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
                "--attest",
                "link",
                "--",
                "tar",
                "--exclude",
                ".git",
                "-czf",
                "project.tar.gz",
                "project",
            ],
        ] {
            let mut cmd = Command::new(&bin);
            cmd.args(&args)
                .current_dir(&work)
                .env("PATH", &path)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_CONFIG_NOSYSTEM", "1");
            let out = intact_tests::output_bounded(&mut cmd, Duration::from_secs(120), || {});
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                intact_tests::output_text(&out)
            );
        }
        let names: Vec<String> = std::fs::read_dir(&work)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().any(|n| n.ends_with(".link.intoto.json")),
            "{names:?}"
        );
    }
    (tmp, work)
}

const GIT_DRILL: &[&str] = &[
    "drill",
    "--layout",
    "root.layout",
    "--layout-key",
    "keys/owner.pub",
    "--link-dir",
    ".",
    "--git-repo",
    "project",
];

/// With git provenance the three git attacks are mounted, each on a
/// scratch clone of the repository, and each is caught by the git stage
/// for its own reason; the repository (and everything else) is
/// byte-identical afterwards. Recorded with `--attest link`, the link
/// attacks are mounted on the link attestations too.
#[test]
fn git_attacks_are_mounted_on_scratch_clones_and_caught_by_the_git_stage() {
    for attest in [false, true] {
        let (_tmp, work) = git_chain(attest);
        let before = hashes(&work);
        let j = run(&work, GIT_DRILL, &["--format", "json"], 0);
        assert_eq!(before, hashes(&work), "the drill changed the originals");
        let v = json(&j);
        let attacks = v["attacks"].as_array().unwrap();
        let find = |id: &str| attacks.iter().find(|a| a["id"] == id).unwrap().clone();
        for (id, check) in [
            ("git-unsigned-commit", "unsigned"),
            ("git-foreign-signer", "signer-not-allowed"),
            ("git-tree-differs", "tree-mismatch"),
        ] {
            let a = find(id);
            assert_eq!(a["verdict"], "caught", "{a}");
            assert_eq!(a["stage"], "git-provenance", "{a}");
            assert_eq!(a["check"], check, "{a}");
            assert_eq!(a["target"], "clone", "{a}");
        }
        for id in ["modify-material", "add-product", "drop-link", "foreign-key"] {
            assert_eq!(find(id)["verdict"], "caught", "{id} (attest {attest}): {j}");
        }
        assert_eq!(v["summary"]["errors"], 0, "{j}");
        if !attest {
            let text = run(&work, GIT_DRILL, &[], 0);
            insta::assert_snapshot!("drill_git_text", text);
        }
        // Without the repository the git attacks cannot run: the chain
        // does not verify as given.
        let out = intact(&work, &GIT_DRILL[..7]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            intact_tests::output_text(&out)
        );
    }
}
