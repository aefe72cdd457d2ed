//! The CI examples' step scripts (examples/ci/*.sh, called by the GitHub
//! and GitLab pipelines) run end to end here: an owner-signed layout and
//! an SSH-signed commit in an upstream repository, a "CI" clone that
//! builds and tests under the recorder, a "release" clone that verifies.

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

fn text(o: &Output) -> String {
    intact_tests::output_text(o)
}

fn path_with_intact() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_intact"))
        .parent()
        .expect("bin dir")
        .display()
        .to_string();
    format!("{bin}:{}", std::env::var("PATH").unwrap_or_default())
}

fn sh(dir: &Path, cmd: &str, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new("bash");
    c.args(["-c", cmd])
        .current_dir(dir)
        .env("PATH", path_with_intact())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("INTACT_KEY_PASSWORD");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("bash runs")
}

fn ok(dir: &Path, cmd: &str, env: &[(&str, &str)]) -> String {
    let o = sh(dir, cmd, env);
    assert_eq!(o.status.code(), Some(0), "{cmd}: {}", text(&o));
    text(&o)
}

const GIT: &str = "git -c user.name=Alice -c user.email=alice@example.com \
                   -c init.defaultBranch=main -c gpg.format=ssh";

/// An upstream repository as the owner and a maintainer leave it.
fn upstream(root: &Path) -> PathBuf {
    let ci_dir = intact_tests::repo_root().join("examples/ci");
    let up = root.join("upstream");
    std::fs::create_dir_all(up.join("src")).expect("mkdir");
    std::fs::write(up.join("src/app.sh"), "echo hello\n").expect("write");
    std::fs::write(up.join("src/test.sh"), "test \"$(echo hello)\" = hello\n").expect("write");
    std::fs::write(up.join(".gitignore"), "links/\ndist/\n").expect("write");
    std::fs::copy(ci_dir.join("layout.yaml"), up.join("layout.yaml")).expect("copy");
    ok(
        root,
        "ssh-keygen -q -t ed25519 -N '' -C alice -f alice_git",
        &[],
    );
    ok(
        root,
        "intact key generate owner && intact key generate ci",
        &[],
    );
    ok(
        &up,
        "cp ../owner.pub ../ci.pub . && \
         echo \"alice@example.com $(cat ../alice_git.pub)\" > allowed_signers && \
         intact layout build layout.yaml --key ../owner.pem -o root.layout",
        &[],
    );
    ok(
        &up,
        &format!(
            "{GIT} init -q && {GIT} add . && \
             {GIT} -c user.signingkey=../alice_git commit -q -S -m 'release 1.0'"
        ),
        &[],
    );
    up
}

#[test]
fn the_ci_scripts_record_and_verify_a_chain_and_catch_tampering() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path();
    let up = upstream(root);
    let scripts = intact_tests::repo_root().join("examples/ci");
    let script = |name: &str| scripts.join(name).display().to_string();
    let key = root.join("ci.pem").display().to_string();
    let env = [("INTACT_KEY", key.as_str())];

    // The CI job: a fresh clone, build and test recorded.
    ok(
        root,
        &format!("git clone -q file://{} ci", up.display()),
        &[],
    );
    let ci = root.join("ci");
    ok(&ci, &format!("bash {}", script("record-build.sh")), &env);
    ok(&ci, &format!("bash {}", script("record-test.sh")), &env);

    // The release job: another clone, plus the job artifacts.
    ok(
        root,
        &format!("git clone -q file://{} release", up.display()),
        &[],
    );
    let release = root.join("release");
    ok(root, "cp -r ci/links ci/dist release/", &[]);
    let out = ok(
        &release,
        &format!("bash {}", script("verify-release.sh")),
        &[],
    );
    assert!(out.contains("verification PASSED"), "{out}");
    assert!(
        out.contains("commit signature: signed by alice@example.com"),
        "{out}"
    );

    // A swapped archive is caught before release.
    std::fs::write(release.join("dist/app.tar.gz"), b"not the build").expect("write");
    let bad = sh(
        &release,
        &format!("bash {}", script("verify-release.sh")),
        &[],
    );
    let report = text(&bad);
    assert_eq!(bad.status.code(), Some(1), "{report}");
    assert!(report.contains("artifact dist/app.tar.gz"), "{report}");
    assert!(report.contains("release-artifact"), "{report}");

    // A build from a checkout with local changes is refused outright
    // (--require-clean), before the command runs.
    ok(
        root,
        &format!("git clone -q file://{} dirty", up.display()),
        &[],
    );
    let dirty = root.join("dirty");
    std::fs::write(dirty.join("src/app.sh"), "echo pwned\n").expect("write");
    let refused = sh(&dirty, &format!("bash {}", script("record-build.sh")), &env);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("(src/app.sh)"),
        "{}",
        text(&refused)
    );
    assert!(!dirty.join("dist/app.tar.gz").exists());
}
