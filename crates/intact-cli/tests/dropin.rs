//! Recording that in-toto users can drop in (issue #15): a project's own
//! git checkout with untracked files, a classic layout, the reference's
//! flags and documented command lines.

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

fn intact_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_intact"));
    c.args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("INTACT_KEY_PASSWORD")
        .env_remove("INTACT_KEY");
    c
}

fn intact(dir: &Path, args: &[&str]) -> Output {
    intact_cmd(dir, args).output().expect("run intact")
}

fn text(o: &Output) -> String {
    intact_tests::output_text(o)
}

fn reference_bin(name: &str) -> PathBuf {
    intact_tests::reference_python().with_file_name(name)
}

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args([
            "-c",
            "user.name=Dev",
            "-c",
            "user.email=dev@example.com",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(o.status.success(), "git {args:?}: {}", text(&o));
}

/// A project's git checkout (no remote) with a committed source, then the
/// files a new user leaves around: keys generated where the guide says,
/// notes. Returns (tempdir, checkout).
fn checkout() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let proj = tmp.path().join("proj");
    std::fs::create_dir_all(proj.join("src")).expect("mkdir");
    std::fs::write(proj.join("src/hello.py"), "print('hello')\n").expect("write");
    std::fs::write(proj.join("README.md"), "# proj\n").expect("write");
    git(&proj, &["init", "-q"]);
    git(&proj, &["add", "."]);
    git(&proj, &["commit", "-q", "-m", "initial"]);
    std::fs::create_dir_all(proj.join("keys")).expect("mkdir");
    for k in ["keys/owner", "keys/dev"] {
        let o = intact(&proj, &["key", "generate", k]);
        assert!(o.status.success(), "{}", text(&o));
    }
    (tmp, proj)
}

/// Every `*.link` file in `dir`.
fn links_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "link"))
        .collect();
    v.sort();
    v
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

const CLASSIC_LAYOUT: &str = r#"
expires: 30d
keys:
  dev: keys/dev.pub
steps:
  - name: test
    functionaries: [dev]
    expected_command: sh -c "grep -q hello src/hello.py"
    expected_materials: [ALLOW src/*, DISALLOW *]
    expected_products: [DISALLOW *]
  - name: build
    functionaries: [dev]
    expected_command: sh -c "mkdir -p dist && cp src/hello.py dist/app.py"
    expected_materials: [MATCH src/* WITH MATERIALS FROM test, DISALLOW *]
    expected_products: [CREATE dist/app.py, DISALLOW *]
  - name: package
    functionaries: [dev]
    expected_command: tar -cf app.tar dist/app.py
    expected_materials: [MATCH dist/app.py WITH PRODUCTS FROM build, DISALLOW *]
    expected_products: [CREATE app.tar, DISALLOW *]
inspect: []
"#;

/// The three steps, with default options (git facts recorded).
fn steps() -> [Vec<&'static str>; 3] {
    let base = |name| vec!["run", "--step", name, "--key", "keys/dev.pem"];
    let mut test = base("test");
    test.extend(["-m", "src", "--", "sh", "-c", "grep -q hello src/hello.py"]);
    let mut build = base("build");
    build.extend([
        "-m",
        "src",
        "-p",
        "dist/app.py",
        "--",
        "sh",
        "-c",
        "mkdir -p dist && cp src/hello.py dist/app.py",
    ]);
    let mut package = base("package");
    package.extend([
        "-m",
        "dist/app.py",
        "-p",
        "app.tar",
        "--",
        "tar",
        "-cf",
        "app.tar",
        "dist/app.py",
    ]);
    [test, build, package]
}

#[test]
fn a_chain_in_a_dirty_checkout_verifies_against_a_classic_layout_under_both_verifiers() {
    let (_tmp, proj) = checkout();
    std::fs::write(proj.join("notes.txt"), "todo\n").expect("write");
    std::fs::write(proj.join("layout.yaml"), CLASSIC_LAYOUT).expect("write");
    let built = intact(
        &proj,
        &[
            "layout",
            "build",
            "layout.yaml",
            "--key",
            "keys/owner.pem",
            "-o",
            "root.layout",
        ],
    );
    assert!(built.status.success(), "{}", text(&built));
    for args in steps() {
        let o = intact(&proj, &args);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {out}");
        // Warned as dirty, and no key is among the paths it names.
        assert!(out.contains("notes.txt"), "{out}");
        assert!(!out.contains(".pem"), "{out}");
    }
    let links = links_in(&proj);
    assert_eq!(links.len(), 3, "{links:?}");
    for l in &links {
        let signed = &json(l)["signed"];
        let git = &signed["environment"]["git"];
        assert_eq!(git["dirty"], true, "{}", l.display());
        let changed: Vec<&str> = git["changed"]
            .as_array()
            .expect("changed paths")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert!(changed.contains(&"notes.txt"), "{changed:?}");
        assert!(
            changed.iter().all(|p| !p.starts_with("keys/")),
            "{changed:?}"
        );
        assert!(
            signed["materials"]
                .as_object()
                .expect("materials")
                .keys()
                .all(|n| !n.starts_with("git+")),
            "{signed}"
        );
    }
    let v = intact(
        &proj,
        &[
            "verify",
            "--layout",
            "root.layout",
            "--layout-key",
            "keys/owner.pub",
        ],
    );
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
    let theirs = Command::new(reference_bin("in-toto-verify"))
        .args(["-l", "root.layout", "--verification-keys", "keys/owner.pub"])
        .current_dir(&proj)
        .output()
        .expect("in-toto-verify runs");
    assert_eq!(theirs.status.code(), Some(0), "{}", text(&theirs));

    // --require-clean refuses before the command runs.
    let mut strict = vec![
        "run",
        "--step",
        "build",
        "--key",
        "keys/dev.pem",
        "--require-clean",
    ];
    strict.extend([
        "-m",
        "src",
        "-p",
        "dist/app.py",
        "--",
        "sh",
        "-c",
        "touch marker && cp src/hello.py dist/app.py",
    ]);
    for l in &links {
        std::fs::remove_file(l).expect("rm link");
    }
    let refused = intact(&proj, &strict);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(!proj.join("marker").exists());
    assert!(links_in(&proj).is_empty());
}

#[test]
fn a_product_made_in_a_checkout_gets_its_link() {
    let (_tmp, proj) = checkout();
    // Clean but for the keys and the product: even --require-clean runs.
    for extra in [&[][..], &["--require-clean"][..]] {
        let mut args = vec!["run", "-n", "hi", "-k", "keys/dev.pem", "-p", "out"];
        args.extend_from_slice(extra);
        args.extend(["--", "sh", "-c", "echo hi > out"]);
        let o = intact(&proj, &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let links = links_in(&proj);
        assert_eq!(links.len(), 1, "{links:?}");
        let signed = &json(&links[0])["signed"];
        assert!(signed["products"]["out"].is_object(), "{signed}");
        assert_eq!(signed["environment"]["git"]["dirty"], false, "{signed}");
        std::fs::remove_file(&links[0]).expect("rm");
        std::fs::remove_file(proj.join("out")).expect("rm");
    }
}

#[test]
fn no_link_recorded_in_a_checkout_without_a_remote_holds_its_path() {
    let (tmp, proj) = checkout();
    std::fs::write(proj.join("notes.txt"), "todo\n").expect("write");
    for args in steps() {
        let o = intact(&proj, &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    // And the two halves, and an explicit --git.
    for args in [
        &[
            "record",
            "start",
            "-n",
            "edit",
            "-k",
            "keys/dev.pem",
            "-m",
            ".",
        ][..],
        &[
            "record",
            "stop",
            "-n",
            "edit",
            "-k",
            "keys/dev.pem",
            "-p",
            ".",
        ][..],
        &[
            "run",
            "-n",
            "review",
            "-k",
            "keys/dev.pem",
            "--git",
            ".",
            "-m",
            "README.md",
            "-x",
        ][..],
    ] {
        let o = intact(&proj, args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
    }
    let links = links_in(&proj);
    assert_eq!(links.len(), 5, "{links:?}");
    let paths = [
        proj.display().to_string(),
        proj.canonicalize().expect("canon").display().to_string(),
        tmp.path().display().to_string(),
    ];
    for l in &links {
        let body = std::fs::read_to_string(l).expect("read");
        assert!(body.contains("\"git\""), "{}: no git facts", l.display());
        for p in &paths {
            assert!(!body.contains(p.as_str()), "{} holds {p}", l.display());
        }
    }
}

#[test]
fn run_help_ends_with_examples_and_exit_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = intact(dir.path(), &["run", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout).into_owned();
    let examples = help.find("Examples:").expect("examples");
    let codes = help.find("Exit codes:").expect("exit codes");
    assert!(examples < codes);
    insta::assert_snapshot!(help);
}

/// A plain directory with a key and one file to record.
fn plain() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = tmp.path().to_path_buf();
    let o = intact(&d, &["key", "generate", "k"]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(d.join("a.txt"), "a\n").expect("write");
    (tmp, d)
}

fn only_link(dir: &Path) -> serde_json::Value {
    let links = links_in(dir);
    assert_eq!(links.len(), 1, "{links:?}");
    json(&links[0])
}

#[test]
fn alias_signing_key_is_key() {
    let (_t, d) = plain();
    let o = intact(
        &d,
        &[
            "run",
            "-n",
            "s",
            "--signing-key",
            "k.pem",
            "-m",
            "a.txt",
            "-x",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(only_link(&d)["signed"]["materials"]["a.txt"].is_object());
}

#[test]
fn alias_step_name_is_step() {
    let (_t, d) = plain();
    let o = intact(&d, &["run", "--step-name", "named", "-k", "k.pem", "-x"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(only_link(&d)["signed"]["name"], "named");
}

#[test]
fn alias_use_dsse_is_dsse() {
    let (_t, d) = plain();
    let o = intact(&d, &["run", "-n", "s", "-k", "k.pem", "--use-dsse", "-x"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(only_link(&d)["payloadType"].is_string());
    // On record start too; stop keeps the container (and takes the flag).
    let start = intact(
        &d,
        &[
            "record",
            "start",
            "-n",
            "e",
            "-k",
            "k.pem",
            "--use-dsse",
            "-m",
            "a.txt",
        ],
    );
    assert_eq!(start.status.code(), Some(0), "{}", text(&start));
    let stop = intact(
        &d,
        &[
            "record",
            "stop",
            "-n",
            "e",
            "-k",
            "k.pem",
            "--use-dsse",
            "-p",
            "a.txt",
        ],
    );
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
}

#[test]
fn alias_run_timeout_is_timeout() {
    let (_t, d) = plain();
    // Bounded by the timeout itself: the command is killed after 1 s.
    let o = intact(
        &d,
        &[
            "run",
            "-n",
            "s",
            "-k",
            "k.pem",
            "--run-timeout",
            "1",
            "--",
            "sleep",
            "60",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(links_in(&d).is_empty());
}

#[test]
fn alias_metadata_directory_is_the_link_directory() {
    let (_t, d) = plain();
    std::fs::create_dir(d.join("out")).expect("mkdir");
    let o = intact(
        &d,
        &[
            "run",
            "-n",
            "s",
            "-k",
            "k.pem",
            "--metadata-directory",
            "out",
            "-x",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(links_in(&d.join("out")).len(), 1);
    let o = intact(
        &d,
        &["record", "start", "-n", "e", "-k", "k.pem", "-m", "a.txt"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = intact(
        &d,
        &[
            "record",
            "stop",
            "-n",
            "e",
            "-k",
            "k.pem",
            "--metadata-directory",
            "out",
            "-p",
            "a.txt",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(links_in(&d.join("out")).len(), 2);
}

#[test]
fn alias_record_streams_is_accepted_streams_are_always_recorded() {
    for flag in ["-s", "--record-streams"] {
        let (_t, d) = plain();
        let o = intact(
            &d,
            &[
                "run", "-n", "s", "-k", "k.pem", flag, "--", "sh", "-c", "echo out",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert_eq!(only_link(&d)["signed"]["byproducts"]["stdout"], "out\n");
    }
}

#[test]
fn alias_password_asks_and_refuses_a_value() {
    let (_t, d) = plain();
    // -P alone: ask when the key is encrypted (this one is not).
    let o = intact(&d, &["run", "-n", "s", "-k", "k.pem", "-P", "-x"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A password on the command line is refused, nothing is recorded.
    std::fs::remove_file(&links_in(&d)[0]).expect("rm");
    let o = intact(
        &d,
        &[
            "run",
            "-n",
            "s",
            "-k",
            "k.pem",
            "--password",
            "hunter2",
            "-x",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(links_in(&d).is_empty());
}

#[test]
fn gpg_cannot_map_and_is_refused_before_recording() {
    let (_t, d) = plain();
    for args in [
        &["run", "-n", "s", "-k", "k.pem", "-g", "8465A1E2", "-x"][..],
        &["run", "-n", "s", "-k", "k.pem", "--gpg", "-x"][..],
        &["run", "-n", "s", "-k", "k.pem", "--gpg-home", ".", "-x"][..],
    ] {
        let o = intact(&d, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(links_in(&d).is_empty());
    }
}

#[test]
fn key_comes_from_intact_key() {
    let (_t, d) = plain();
    let o = intact_cmd(&d, &["run", "-n", "s", "-m", "a.txt", "-x"])
        .env("INTACT_KEY", "k.pem")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(links_in(&d).len(), 1);
}

#[test]
fn quiet_and_verbose() {
    let (_t, d) = plain();
    let q = intact(
        &d,
        &["run", "-n", "q", "-k", "k.pem", "-q", "-m", "a.txt", "-x"],
    );
    assert_eq!(q.status.code(), Some(0));
    assert!(q.stderr.is_empty(), "{}", text(&q));
    let v = intact(
        &d,
        &["run", "-n", "v", "-k", "k.pem", "-v", "-m", "a.txt", "-x"],
    );
    assert_eq!(v.status.code(), Some(0));
    let err = String::from_utf8_lossy(&v.stderr);
    assert!(
        err.lines().any(|l| l.contains("material a.txt sha256:")),
        "{err}"
    );
    let both = intact(&d, &["run", "-n", "b", "-k", "k.pem", "-q", "-v", "-x"]);
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn run_exits_with_the_command_code_and_128_plus_the_signal() {
    let (_t, d) = plain();
    let o = intact(
        &d,
        &["run", "-n", "c", "-k", "k.pem", "--", "sh", "-c", "exit 3"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let o = intact(
        &d,
        &[
            "run",
            "-n",
            "t",
            "-k",
            "k.pem",
            "--",
            "sh",
            "-c",
            "kill -TERM $$",
        ],
    );
    assert_eq!(o.status.code(), Some(128 + 15), "{}", text(&o));
    // Both links were written first.
    assert_eq!(links_in(&d).len(), 2);
}

/// The artifacts a link recorded, as JSON.
fn artifacts(link: &serde_json::Value) -> (serde_json::Value, serde_json::Value) {
    let s = &link["signed"];
    (s["materials"].clone(), s["products"].clone())
}

#[test]
fn the_references_documented_command_lines_work_with_intact() {
    // From `in-toto-run --help` and `in-toto-record --help` (3.1.0), with
    // `intact run` / `intact record` in place of the tool; each line runs
    // under both tools in twin directories and records the same artifacts.
    let lines: [&[&str]; 4] = [
        &[
            "-n",
            "review",
            "--signing-key",
            "key_file",
            "-m",
            "document.pdf",
            "-x",
        ],
        &[
            "-n",
            "review",
            "--signing-key",
            "key_file",
            "-m",
            "document.pdf",
            "--base-path",
            "my/review/docs/",
            "-x",
        ],
        &[
            "-n",
            "review",
            "--signing-key",
            "key_file",
            "-m",
            "ABS/my/review/docs/document.pdf",
            "--lstrip-paths",
            "ABS/my/review/docs/",
            "-x",
        ],
        &[
            "-n",
            "tag",
            "-p",
            ".",
            "--signing-key",
            "key_file",
            "--",
            "git",
            "tag",
            "v1.0",
        ],
    ];
    let keys = tempfile::tempdir().expect("temp dir");
    let o = intact(keys.path(), &["key", "generate", "key_file"]);
    assert!(o.status.success(), "{}", text(&o));
    let twin = |tool: &str| {
        let tmp = tempfile::tempdir().expect("temp dir");
        let d = tmp.path().join("same");
        std::fs::create_dir_all(d.join("my/review/docs")).expect("mkdir");
        std::fs::write(d.join("document.pdf"), "pdf").expect("write");
        std::fs::write(d.join("my/review/docs/document.pdf"), "pdf 2").expect("write");
        git(&d, &["init", "-q"]);
        git(&d, &["add", "."]);
        git(&d, &["commit", "-q", "-m", "docs"]);
        std::fs::copy(keys.path().join("key_file.pem"), d.join("key_file"))
            .unwrap_or_else(|e| panic!("{tool}: copy key: {e}"));
        (tmp, d)
    };
    for line in lines {
        let (_a, ours) = twin("intact");
        let (_b, theirs) = twin("reference");
        let args = |d: &Path| -> Vec<String> {
            line.iter()
                .map(|a| a.replace("ABS", &d.display().to_string()))
                .collect()
        };
        let mut ours_args = vec!["run".to_string()];
        ours_args.extend(args(&ours));
        let ours_args: Vec<&str> = ours_args.iter().map(String::as_str).collect();
        let o = intact(&ours, &ours_args);
        assert_eq!(o.status.code(), Some(0), "{line:?}: {}", text(&o));
        let r = Command::new(reference_bin("in-toto-run"))
            .args(args(&theirs))
            .current_dir(&theirs)
            .output()
            .expect("in-toto-run runs");
        assert_eq!(r.status.code(), Some(0), "{line:?}: {}", text(&r));
        let (ol, tl) = (only_link(&ours), only_link(&theirs));
        assert_eq!(artifacts(&ol), artifacts(&tl), "{line:?}");
    }
    // in-toto-record's example, start then stop into a directory.
    let (_c, d) = twin("intact");
    std::fs::create_dir_all(d.join("path/to/target/dir")).expect("mkdir");
    std::fs::create_dir_all(d.join("path/to")).expect("mkdir");
    std::fs::rename(d.join("key_file"), d.join("path/to/key_file")).expect("mv");
    for args in [
        &[
            "record",
            "start",
            "-n",
            "edit-files",
            "--signing-key",
            "path/to/key_file",
            "-m",
            ".",
        ][..],
        &[
            "record",
            "stop",
            "-d",
            "path/to/target/dir",
            "-n",
            "edit-files",
            "--signing-key",
            "path/to/key_file",
            "-p",
            ".",
        ][..],
    ] {
        let o = intact(&d, args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
    }
    assert_eq!(links_in(&d.join("path/to/target/dir")).len(), 1);
    // The GPG example cannot map: refused, nothing recorded.
    let o = intact(
        &d,
        &[
            "run",
            "-n",
            "package",
            "-m",
            "document.pdf",
            "-p",
            "project.tar.gz",
            "-g",
            "8465A1E2E0FB2B40ADB2478E18FB3F537E0C8A17",
            "--",
            "tar",
            "czf",
            "project.tar.gz",
            "document.pdf",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!d.join("project.tar.gz").exists());
}

/// A verified one-step chain in a plain directory: (tempdir, dir).
fn verified_chain() -> (tempfile::TempDir, PathBuf) {
    let (t, d) = plain();
    let o = intact(&d, &["key", "generate", "owner"]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(
        d.join("layout.yaml"),
        "expires: 30d\nkeys:\n  k: k.pub\nsteps:\n  - name: s\n    functionaries: [k]\n    expected_materials: [ALLOW a.txt, DISALLOW *]\n    expected_products: [DISALLOW *]\ninspect: []\n",
    )
    .expect("write");
    let o = intact(
        &d,
        &[
            "layout",
            "build",
            "layout.yaml",
            "--key",
            "owner.pem",
            "-o",
            "root.layout",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = intact(&d, &["run", "-n", "s", "-k", "k.pem", "-m", "a.txt", "-x"]);
    assert!(o.status.success(), "{}", text(&o));
    (t, d)
}

#[test]
fn verify_takes_in_toto_verifys_key_flags() {
    let (_t, d) = verified_chain();
    for flag in ["--verification-keys", "--layout-keys", "--layout-key", "-k"] {
        let o = intact(
            &d,
            &[
                "verify",
                "--layout",
                "root.layout",
                flag,
                "owner.pub",
                "--link-dir",
                ".",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{flag}: {}", text(&o));
    }
    let o = intact(
        &d,
        &[
            "verify",
            "-l",
            "root.layout",
            "-k",
            "owner.pub",
            "-g",
            "8465A1E2",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn verify_quiet_prints_nothing_on_success_and_reads_the_layout_from_stdin() {
    let (_t, d) = verified_chain();
    let o = intact(
        &d,
        &["verify", "-l", "root.layout", "-k", "owner.pub", "-q"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(o.stdout.is_empty(), "{}", text(&o));
    let layout = std::fs::File::open(d.join("root.layout")).expect("open");
    let o = intact_cmd(&d, &["verify", "--layout", "-", "-k", "owner.pub"])
        .stdin(layout)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let link = links_in(&d).remove(0);
    let o = intact_cmd(&d, &["show", "-"])
        .stdin(std::fs::File::open(link).expect("open"))
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!o.stdout.is_empty());
}

#[test]
fn verify_help_ends_with_examples_and_exit_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = intact(dir.path(), &["verify", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout).into_owned();
    let examples = help.find("Examples:").expect("examples");
    let codes = help.find("Exit codes:").expect("exit codes");
    assert!(examples < codes);
    insta::assert_snapshot!(help);
}

#[test]
fn completions_for_every_shell_and_man_pages() {
    let dir = tempfile::tempdir().expect("temp dir");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = intact(dir.path(), &["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", text(&o));
        let script = String::from_utf8_lossy(&o.stdout);
        assert!(script.contains("record-env"), "{shell}");
    }
    assert_eq!(
        intact(dir.path(), &["completions", "tcsh"]).status.code(),
        Some(2)
    );
    let o = intact(dir.path(), &["man", "man"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for page in [
        "intact.1",
        "intact-run.1",
        "intact-verify.1",
        "intact-record-start.1",
    ] {
        let body = std::fs::read_to_string(dir.path().join("man").join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(body.contains(".TH"), "{page}");
    }
}

#[test]
fn layout_check_reads_standard_input() {
    let (_t, d) = verified_chain();
    for file in ["layout.yaml", "root.layout"] {
        let o = intact_cmd(&d, &["layout", "check", "-"])
            .stdin(std::fs::File::open(d.join(file)).expect("open"))
            .output()
            .expect("run");
        assert_eq!(o.status.code(), Some(0), "{file}: {}", text(&o));
    }
    // A layout naming a step with no functionary has errors: exit 1.
    let o = intact_cmd(&d, &["layout", "check", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(b"expires: 30d\nsteps:\n  - name: s\n    functionaries: [nobody]\n")?;
            c.wait_with_output()
        })
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn reports_piped_or_under_no_color_are_plain() {
    let (_t, d) = verified_chain();
    for no_color in [false, true] {
        let mut c = intact_cmd(&d, &["verify", "-l", "root.layout", "-k", "owner.pub"]);
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("CLICOLOR_FORCE").env_remove("NO_COLOR");
        }
        let o = c.output().expect("run");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(!o.stdout.contains(&0x1b), "{}", text(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains('✓'));
    }
}
