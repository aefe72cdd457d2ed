//! The main job end to end: `intact demo`, `intact run`, `intact record`
//! and `intact verify`, and the reference's verdict on the same chain.

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
        .env_remove("INTACT_KEY_PASSWORD")
        .output()
        .expect("run intact")
}

fn text(o: &Output) -> String {
    intact_tests::output_text(o)
}

fn reference_bin(name: &str) -> PathBuf {
    intact_tests::reference_python().with_file_name(name)
}

/// A consumer directory holding the layout, the owner key and a package.
fn consumer(root: &Path, name: &str, package: &Path) -> PathBuf {
    let d = root.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(root.join("root.layout"), d.join("root.layout")).unwrap();
    std::fs::copy(root.join("keys/alice.pub"), d.join("alice.pub")).unwrap();
    std::fs::copy(package, d.join("demo-project.tar.gz")).unwrap();
    d
}

#[test]
fn demo_verifies_then_catches_the_tampered_package() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("demo");
    let out = intact(dir.path(), &["demo", "--dir", root.to_str().unwrap()]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("verification PASSED"), "{all}");
    // The demo verifies from the package: the tampered one is refused at
    // the subjects stage, before the inspection could unpack it, and the
    // honest one's report ends with its provenance.
    assert!(all.contains("code:  subject-not-produced"), "{all}");
    assert!(!root.join("tampered/demo-project").exists(), "{all}");
    assert!(all.contains("made by   package"), "{all}");

    // The tampered package, checked by a consumer with `intact verify`.
    let tampered = consumer(
        &root,
        "again-tampered",
        &root.join("evil/demo-project.tar.gz"),
    );
    let v = intact(
        &tampered,
        &[
            "verify",
            "--layout",
            "root.layout",
            "--layout-key",
            "alice.pub",
            "--link-dir",
            "../work",
        ],
    );
    let report = text(&v);
    assert_eq!(v.status.code(), Some(1), "{report}");
    assert!(
        report.contains("package") && report.contains("demo-project.tar.gz"),
        "{report}"
    );
    let json = intact(
        &tampered,
        &[
            "verify",
            "-l",
            "root.layout",
            "-k",
            "alice.pub",
            "--link-dir",
            "../work",
            "--format",
            "json",
        ],
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["verified"], false);
    assert_eq!(value["failure"]["stage"], "inspection-rules");
    assert_eq!(
        value["failure"]["artifacts"][0]["problem"],
        "digest-mismatch"
    );

    // The reference agrees on both verdicts for the chain intact recorded.
    let in_toto_verify = reference_bin("in-toto-verify");
    for (name, package, expected) in [
        ("ref-good", root.join("work/demo-project.tar.gz"), 0),
        ("ref-bad", root.join("evil/demo-project.tar.gz"), 1),
    ] {
        let d = consumer(&root, name, &package);
        let out = Command::new(&in_toto_verify)
            .args([
                "--layout",
                "root.layout",
                "--verification-keys",
                "alice.pub",
                "--link-dir",
                "../work",
            ])
            .current_dir(&d)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(expected), "{name}: {}", text(&out));
    }
}

#[test]
fn run_writes_the_link_then_passes_the_exit_status_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    intact(d, &["key", "generate", "k"]);
    std::fs::write(d.join("in.txt"), "x").unwrap();
    let out = intact(
        d,
        &[
            "run",
            "--step",
            "build",
            "--key",
            "k.pem",
            "-m",
            "in.txt",
            "-p",
            "in.txt",
            "--",
            "sh",
            "-c",
            "echo hi; exit 3",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("hi"),
        "output passes through"
    );
    let link = std::fs::read_dir(d)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("build."))
        .unwrap();
    let md = intact_model::Metadata::load(&link.path()).unwrap();
    let payload = md.payload().unwrap();
    let l = payload.as_link().unwrap();
    assert_eq!(l.return_value(), Some(3));
    assert_eq!(l.byproducts["stdout"], "hi\n");
    let missing = intact(
        d,
        &[
            "run", "--step", "b", "--key", "k.pem", "-m", "nope", "--", "true",
        ],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing).contains("nope: no such file"),
        "{}",
        text(&missing)
    );
    let no_cmd = intact(
        d,
        &[
            "run",
            "--step",
            "b",
            "--key",
            "k.pem",
            "--",
            "no-such-command-xyz",
        ],
    );
    assert_eq!(no_cmd.status.code(), Some(2));
    assert!(text(&no_cmd).contains("command not found: no-such-command-xyz"));
}

#[test]
fn record_stop_refuses_another_key_or_an_altered_handover() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    intact(d, &["key", "generate", "bob"]);
    intact(d, &["key", "generate", "eve"]);
    std::fs::write(d.join("f"), "1").unwrap();
    let start = intact(
        d,
        &[
            "record", "start", "--step", "edit", "--key", "bob.pem", "-m", "f",
        ],
    );
    assert_eq!(start.status.code(), Some(0), "{}", text(&start));
    let unfinished = std::fs::read_dir(d)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with(".link-unfinished")
        })
        .unwrap()
        .path();
    // Eve has no hand-over of her own.
    let eve = intact(
        d,
        &[
            "record", "stop", "--step", "edit", "--key", "eve.pem", "-p", "f",
        ],
    );
    assert_eq!(eve.status.code(), Some(2));
    // An altered hand-over is refused.
    let original = std::fs::read_to_string(&unfinished).unwrap();
    std::fs::write(&unfinished, original.replace("\"f\"", "\"g\"")).unwrap();
    let altered = intact(
        d,
        &[
            "record", "stop", "--step", "edit", "--key", "bob.pem", "-p", "f",
        ],
    );
    assert_eq!(altered.status.code(), Some(2));
    assert!(
        text(&altered).contains("changed after `record start`"),
        "{}",
        text(&altered)
    );
    std::fs::write(&unfinished, original).unwrap();
    std::fs::write(d.join("f"), "2").unwrap();
    let stop = intact(
        d,
        &[
            "record", "stop", "--step", "edit", "--key", "bob.pem", "-p", "f",
        ],
    );
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    assert!(!unfinished.exists());
}

#[test]
fn steps_recorded_by_both_tools_chain_under_one_layout() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for k in ["owner", "ref", "us"] {
        assert!(intact(d, &["key", "generate", k]).status.success());
    }
    let layout = r#"
expires: 30d
keys:
  ref: ref.pub
  us: us.pub
steps:
  - name: write
    functionaries: [ref]
    expected_command: sh -c "echo v1 > src/a.txt"
    expected_materials: [DISALLOW *]
    expected_products: [CREATE src/a.txt, DISALLOW *]
  - name: pack
    functionaries: [us]
    expected_command: tar -cf out.tar src
    expected_materials: [MATCH src/* WITH PRODUCTS FROM write, DISALLOW *]
    expected_products: [MATCH src/* WITH PRODUCTS FROM write, CREATE out.tar, DISALLOW *]
inspect: []
"#;
    std::fs::write(d.join("layout.yaml"), layout).unwrap();
    let built = intact(
        d,
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
    assert!(built.status.success(), "{}", text(&built));
    let work = d.join("work");
    std::fs::create_dir_all(work.join("src")).unwrap();
    // Step 1 by the reference's in-toto-run.
    let run = Command::new(reference_bin("in-toto-run"))
        .args([
            "-n",
            "write",
            "--signing-key",
            "../ref.pem",
            "-p",
            "src",
            "--",
            "sh",
            "-c",
            "echo v1 > src/a.txt",
        ])
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run));
    // Step 2 by intact, in a DSSE envelope for good measure.
    let ours = intact(
        &work,
        &[
            "run",
            "--step",
            "pack",
            "--key",
            "../us.pem",
            "--dsse",
            "-m",
            "src",
            "-p",
            "src",
            "out.tar",
            "--",
            "tar",
            "-cf",
            "out.tar",
            "src",
        ],
    );
    assert!(ours.status.success(), "{}", text(&ours));
    let theirs = Command::new(reference_bin("in-toto-verify"))
        .args([
            "--layout",
            "../root.layout",
            "--verification-keys",
            "../owner.pub",
        ])
        .current_dir(&work)
        .output()
        .unwrap();
    assert_eq!(theirs.status.code(), Some(0), "{}", text(&theirs));
    let v = intact(
        &work,
        &["verify", "-l", "../root.layout", "-k", "../owner.pub"],
    );
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
}
