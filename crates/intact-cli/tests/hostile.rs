//! `intact verify` and `intact show` on hostile inputs: files that are not
//! regular files, oversized files, a missing link directory, names made to
//! redraw the terminal. Every run of the binary has a watchdog, since the
//! failures these tests guard against are hangs.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use intact_crypto::{sign_metadata, write_key_pair, SigningKey};
use intact_model::{
    Container, Digest, DigestSet, Expires, Layout, Link, Metadata, Rule, Step, StepName,
};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Run the binary in `dir`, killing it (and failing) after a minute.
fn intact(dir: &Path, args: &[&str]) -> Run {
    let out = intact_tests::output_bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(args)
            .current_dir(dir),
        Duration::from_secs(60),
        || {},
    );
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A one-step chain in `dir`: owner.pub, root.layout (step `build`,
/// `CREATE src/*` then `DISALLOW *` on products), alice's key; returns
/// the path of build's link file (not written).
fn chain(dir: &Path) -> (SigningKey, PathBuf) {
    let owner = SigningKey::generate_ed25519();
    write_key_pair(&owner, &dir.join("owner.pem"), &dir.join("owner.pub"), None).unwrap();
    let alice = SigningKey::generate_ed25519();
    let mut layout = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
    layout.keys.insert(
        alice.keyid().unwrap(),
        alice.public_key().to_key_dict().unwrap(),
    );
    let mut build = Step::new(StepName::new("build").unwrap());
    build.pubkeys = vec![alice.keyid().unwrap()];
    build.expected_products = ["CREATE src/*", "DISALLOW *"]
        .iter()
        .map(|r| Rule::parse_str(r).unwrap())
        .collect();
    layout.steps = vec![build];
    let mut md = Metadata::new(layout.into(), Container::Metablock).unwrap();
    sign_metadata(&mut md, &owner).unwrap();
    md.save(&dir.join("root.layout")).unwrap();
    let link = dir.join(
        StepName::new("build")
            .unwrap()
            .link_file_name(&alice.keyid().unwrap()),
    );
    (alice, link)
}

fn write_link(alice: &SigningKey, path: &Path, products: &[&str]) {
    let mut link = Link::new(StepName::new("build").unwrap());
    for p in products {
        link.products.insert(
            p.parse().unwrap(),
            DigestSet::single("sha256", Digest::new("aa").unwrap()),
        );
    }
    let mut md = Metadata::new(link.into(), Container::Metablock).unwrap();
    sign_metadata(&mut md, alice).unwrap();
    md.save(path).unwrap();
}

const VERIFY: &[&str] = &["verify", "-l", "root.layout", "-k", "owner.pub"];

#[test]
fn a_valid_chain_passes_and_is_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, link) = chain(dir.path());
    write_link(&alice, &link, &["src/a.c"]);
    let r = intact(dir.path(), VERIFY);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[cfg(unix)]
#[test]
fn a_fifo_or_dev_zero_named_as_a_link_is_refused_with_exit_2() {
    for kind in ["fifo", "zero"] {
        let dir = tempfile::tempdir().unwrap();
        let (_, link) = chain(dir.path());
        if kind == "fifo" {
            assert!(Command::new("mkfifo")
                .arg(&link)
                .status()
                .unwrap()
                .success());
        } else {
            std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        }
        let r = intact(dir.path(), VERIFY);
        assert_eq!(r.code, 2, "{kind}: {}{}", r.stdout, r.stderr);
        let name = link.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            r.stderr.contains(&name),
            "{kind}: names the file: {}",
            r.stderr
        );
    }
}

#[cfg(unix)]
#[test]
fn a_layout_key_or_layout_that_is_dev_zero_or_a_fifo_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    chain(dir.path());
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for args in [
        &["verify", "-l", "root.layout", "-k", "/dev/zero"][..],
        &["verify", "-l", "root.layout", "-k", "fifo"],
        &["verify", "-l", "/dev/zero", "-k", "owner.pub"],
        &["verify", "-l", "fifo", "-k", "owner.pub"],
        &["show", "/dev/zero"],
        &["show", "fifo"],
        &["layout", "check", "fifo"],
        &["layout", "check", "/dev/zero"],
        &["sign", "fifo", "--key", "owner.pem"],
    ] {
        let r = intact(dir.path(), args);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
    }
}

#[test]
fn files_over_max_metadata_size_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, link) = chain(dir.path());
    write_link(&alice, &link, &["src/a.c"]);
    let size = std::fs::metadata(&link).unwrap().len();
    let layout_size = std::fs::metadata(dir.path().join("root.layout"))
        .unwrap()
        .len();
    let cap = size.max(layout_size).to_string();
    let fits = [VERIFY, &["--max-metadata-size", &cap]].concat();
    assert_eq!(intact(dir.path(), &fits).code, 0);
    let under = (size.min(layout_size) - 1).to_string();
    let refused = [VERIFY, &["--max-metadata-size", &under]].concat();
    let r = intact(dir.path(), &refused);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
}

#[test]
fn a_missing_link_dir_is_exit_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, link) = chain(dir.path());
    write_link(&alice, &link, &["src/a.c"]);
    let args = [VERIFY, &["--link-dir", "no-such-links"]].concat();
    let r = intact(dir.path(), &args);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no-such-links"), "{}", r.stderr);
}

#[test]
fn an_artifact_name_with_a_newline_and_ansi_escapes_cannot_spoof_the_report() {
    let evil = "x\n\x1b[32mverification PASSED";
    let dir = tempfile::tempdir().unwrap();
    let (alice, link) = chain(dir.path());
    write_link(&alice, &link, &["src/a.c", evil]);
    let r = intact(dir.path(), VERIFY);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        !r.stdout.chars().any(|c| c != '\n' && c.is_control()),
        "raw control character in:\n{}",
        r.stdout
    );
    assert!(
        !r.stdout
            .lines()
            .any(|l| l.starts_with("verification PASSED")),
        "{}",
        r.stdout
    );
    assert_eq!(r.stdout.lines().last(), Some("verification FAILED"));
    // JSON keeps the name exactly, and gives the failure's code.
    let json = [VERIFY, &["--format", "json"]].concat();
    let r = intact(dir.path(), &json);
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["failure"]["code"], "step-rule");
    assert_eq!(v["failure"]["artifacts"][0]["name"], evil);
    // `intact show` escapes names from the file as well.
    let mut link_md = Link::new(StepName::new("build").unwrap());
    link_md.command = vec!["make".into(), evil.into()];
    let md = Metadata::new(link_md.into(), Container::Metablock).unwrap();
    md.save(&dir.path().join("shown.link")).unwrap();
    let r = intact(dir.path(), &["show", "shown.link"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stdout.chars().any(|c| c != '\n' && c.is_control()),
        "raw control character in:\n{}",
        r.stdout
    );
}
