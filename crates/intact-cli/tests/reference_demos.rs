//! The reference's own demo chains (`tests/demo_files`,
//! `tests/demo_dsse_files` and `tests/demo_files_gpg` of the in-toto 3.1.0
//! source distribution, downloaded once into target/ and used from
//! there): intact's verdict must equal in-toto-verify's on each chain and
//! on variants tampered at test time (a swapped `foo.tar.gz`, an edited
//! link, a link signed by the wrong GPG key). Each layout template is
//! signed as the issue says, through the reference's Python API
//! (`Metadata.load(...).create_signature(CryptoSigner(key))`) with the
//! sdist's own ed25519 owner key.

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

/// The sdist's tests/ directory (downloaded once into target/).
fn sdist() -> PathBuf {
    intact_tests::in_toto_sdist().to_path_buf()
}

/// Run a command with a watchdog: killed after two minutes.
fn bounded(cmd: &mut Command) -> Output {
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
    let mut t = Command::new("timeout");
    t.arg("120").arg(program).args(args);
    if let Some(dir) = cmd.get_current_dir() {
        t.current_dir(dir);
    }
    t.output().expect("run under timeout")
}

/// One of the sdist's demo chains: where its files are, in which
/// container, and the links it ships.
struct Demo {
    dir: &'static str,
    links: [&'static str; 2],
}

const FILES: Demo = Demo {
    dir: "demo_files",
    links: ["package.2f89b927.link", "write-code.776a00e2.link"],
};
const DSSE: Demo = Demo {
    dir: "demo_dsse_files",
    links: ["package.2f89b927.link", "write-code.776a00e2.link"],
};
const GPG: Demo = Demo {
    dir: "demo_files_gpg",
    links: ["package.7b3abb26.link", "write-code.8288ef56.link"],
};

/// The demo's layout template signed by the sdist's ed25519 owner key
/// through the reference's API, as loaded: a Metablock template gets the
/// default expiry the reference gives a layout without one (a month from
/// now), the DSSE template's payload stays as it is, without `expires`.
fn sign_layout(tests: &Path, demo: &Demo, out: &Path) {
    let script = r#"
import sys
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from in_toto.models.metadata import Metadata
template, pem, out = sys.argv[1:]
md = Metadata.load(template)
with open(pem, "rb") as f:
    md.create_signature(CryptoSigner(load_pem_private_key(f.read(), None)))
md.dump(out)
"#;
    let o = bounded(
        Command::new(intact_tests::reference_python())
            .arg("-c")
            .arg(script)
            .arg(tests.join(demo.dir).join("demo.layout.template"))
            .arg(tests.join("pems/ed25519_private_unencrypted.pem"))
            .arg(out),
    );
    assert!(o.status.success(), "{}", intact_tests::output_text(&o));
}

/// A GnuPG home with the sdist's RSA keyring (a copy: gpg writes to it),
/// killing its agent when dropped.
struct GnupgHome(tempfile::TempDir);

impl GnupgHome {
    fn new(tests: &Path) -> Self {
        let home = tempfile::tempdir().unwrap();
        for f in ["pubring.gpg", "secring.gpg", "trustdb.gpg"] {
            std::fs::copy(tests.join("gpg_keyrings/rsa").join(f), home.path().join(f)).unwrap();
        }
        GnupgHome(home)
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        let _ = bounded(
            Command::new("gpgconf")
                .arg("--homedir")
                .arg(self.path())
                .args(["--kill", "all"]),
        );
    }
}

/// The GPG owner key of the reference's own test (it signs with its
/// subkey c5a0abe6...).
const GPG_OWNER: &str = "8465a1e2e0fb2b40adb2478e18fb3f537e0c8a17";

/// Sign the layout template with the GPG owner key, as the reference's
/// test_in_toto_verify does, and export that key's public half.
fn sign_layout_gpg(tests: &Path, home: &Path, dir: &Path) {
    let script = r#"
import sys
from in_toto.models.metadata import Metablock
template, home, keyid, out = sys.argv[1:]
md = Metablock.load(template)
md.signed.expires = "2099-01-01T00:00:00Z"
md.sign_gpg(keyid, home)
md.dump(out)
"#;
    let o = bounded(
        Command::new(intact_tests::reference_python())
            .arg("-c")
            .arg(script)
            .arg(tests.join("demo_files_gpg/demo.layout.template"))
            .arg(home)
            .arg(GPG_OWNER)
            .arg(dir.join("root.layout")),
    );
    assert!(o.status.success(), "{}", intact_tests::output_text(&o));
    let o = bounded(
        Command::new("gpg")
            .arg("--homedir")
            .arg(home)
            .args(["--batch", "--export", "--armor", GPG_OWNER]),
    );
    assert!(o.status.success(), "{}", intact_tests::output_text(&o));
    std::fs::write(dir.join("owner.asc"), &o.stdout).unwrap();
}

/// A fresh copy of the demo in `dir` (its links, the package, which the
/// DSSE demo shares with demo_files as the reference's own test does, and
/// the inspection's scripts), with the signed layout and the owner's
/// public key.
fn demo(tests: &Path, demo: &Demo, dir: &Path) {
    std::fs::create_dir_all(dir.join("scripts")).unwrap();
    for f in demo.links {
        std::fs::copy(tests.join(demo.dir).join(f), dir.join(f)).unwrap();
    }
    std::fs::copy(tests.join("demo_files/foo.tar.gz"), dir.join("foo.tar.gz")).unwrap();
    for f in ["tar", "expr", "touch"] {
        std::fs::copy(tests.join("scripts").join(f), dir.join("scripts").join(f)).unwrap();
    }
    std::fs::copy(tests.join("pems/ed25519_public.pem"), dir.join("owner.pub")).unwrap();
    sign_layout(tests, demo, &dir.join("root.layout"));
}

/// The venv's bin first on PATH: the inspections run `python`.
fn path_with_venv() -> std::ffi::OsString {
    let bin = intact_tests::reference_python()
        .parent()
        .unwrap()
        .to_path_buf();
    let mut paths = vec![bin];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

/// (reference passed, intact passed, intact's failure code, both outputs).
fn verdicts(dir: &Path, intact_args: &[&str]) -> (bool, bool, Option<String>, String) {
    let python = intact_tests::reference_python();
    let reference = bounded(
        Command::new(python)
            .arg(python.with_file_name("in-toto-verify"))
            .args(["-l", "root.layout", "--verification-keys", "owner.pub"])
            .env("PATH", path_with_venv())
            .current_dir(dir),
    );
    let ours = bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(["verify", "-l", "root.layout", "-k", "owner.pub"])
            .args(["--format", "json"])
            .args(intact_args)
            .env("PATH", path_with_venv())
            .current_dir(dir),
    );
    let code = serde_json::from_slice::<serde_json::Value>(&ours.stdout)
        .ok()
        .and_then(|r| r["failure"]["code"].as_str().map(str::to_string));
    (
        reference.status.success(),
        ours.status.success(),
        code,
        format!(
            "reference:\n{}\nintact:\n{}",
            intact_tests::output_text(&reference),
            intact_tests::output_text(&ours)
        ),
    )
}

/// Replace foo.tar.gz by a well-formed package of another foo.py: the
/// inspection unpacks it, and the rules must catch it.
fn swap_package(dir: &Path) {
    let evil = dir.join("evil");
    std::fs::create_dir_all(&evil).unwrap();
    std::fs::write(evil.join("foo.py"), "print('evil')\n").unwrap();
    let o = bounded(
        Command::new("tar")
            .arg("czf")
            .arg(dir.join("foo.tar.gz"))
            .arg("-C")
            .arg(&evil)
            .arg("foo.py"),
    );
    assert!(o.status.success(), "{}", intact_tests::output_text(&o));
    std::fs::remove_dir_all(evil).unwrap();
}

/// Rename the product write-code recorded, inside the signed payload
/// (a Metablock's `signed`, or an envelope's base64 `payload`).
fn edit_link(dir: &Path, demo: &Demo) {
    let link = dir.join(demo.links[1]);
    let text = std::fs::read_to_string(&link).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    if let Some(payload) = v["payload"].as_str() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let inner = String::from_utf8(b64.decode(payload).unwrap()).unwrap();
        assert!(inner.contains("\"foo.py\""));
        v["payload"] = b64.encode(inner.replace("\"foo.py\"", "\"bar.py\"")).into();
        std::fs::write(&link, serde_json::to_string(&v).unwrap()).unwrap();
    } else {
        assert!(text.contains("\"foo.py\""));
        std::fs::write(&link, text.replace("\"foo.py\"", "\"bar.py\"")).unwrap();
    }
}

/// Replace foo.tar.gz by bytes that are no package: the inspection
/// cannot unpack it.
fn break_package(dir: &Path) {
    std::fs::write(dir.join("foo.tar.gz"), b"not the package").unwrap();
}

/// A variant's name, how it is made from the demo, and intact's failure
/// code on it.
type Variant<'a> = (&'a str, &'a dyn Fn(&Path), Option<&'a str>);

/// The demo and its tampered variants get the same verdict from both
/// verifiers (intact with `intact_args`), and intact the failure code
/// given.
fn same_verdicts(demo_: &Demo, intact_args: &[&str]) {
    let tests = sdist();
    let root = tempfile::tempdir().unwrap();
    let variants: [Variant<'_>; 4] = [
        ("good", &|_| {}, None),
        // The demo layout's rules end in no DISALLOW: a MATCH that fails
        // leaves the artifact unconsumed, nothing refuses it, and a
        // well-formed swapped package passes under both verifiers.
        ("swapped", &swap_package, None),
        ("broken", &break_package, Some("inspection-failed")),
        // The signature no longer covers the link: it does not count.
        ("edited", &|d| edit_link(d, demo_), Some("threshold")),
    ];
    for (name, tamper, expected) in variants {
        let dir = root.path().join(name);
        demo(&tests, demo_, &dir);
        tamper(&dir);
        let (reference, ours, code, text) = verdicts(&dir, intact_args);
        assert_eq!(ours, reference, "{name}: {text}");
        assert_eq!(code.as_deref(), expected, "{name}: {text}");
    }
}

#[test]
fn the_reference_demo_gets_the_reference_verdict() {
    same_verdicts(&FILES, &[]);
}

#[test]
fn the_reference_dsse_demo_gets_the_reference_verdict_under_compat() {
    // Its layout has no expiry: the reference treats it as never
    // expiring, intact refuses it unless --compat.
    same_verdicts(&DSSE, &["--compat"]);
    let tests = sdist();
    let dir = tempfile::tempdir().unwrap();
    demo(&tests, &DSSE, dir.path());
    let (reference, ours, code, text) = verdicts(dir.path(), &[]);
    assert!(reference && !ours, "{text}");
    assert_eq!(code.as_deref(), Some("layout-no-expiry"), "{text}");
    // The text reports, refused and accepted.
    let report = |args: &[&str]| {
        let o = bounded(
            Command::new(env!("CARGO_BIN_EXE_intact"))
                .args(["verify", "-l", "root.layout", "-k", "owner.pub"])
                .args(args)
                .env("PATH", path_with_venv())
                .env("NO_COLOR", "1")
                .env("LC_ALL", "C.UTF-8")
                .current_dir(dir.path()),
        );
        format!(
            "$ intact verify -l root.layout -k owner.pub {}   # exit {:?}\n{}",
            args.join(" "),
            o.status.code(),
            intact_tests::output_text(&o)
        )
    };
    let text = format!("{}\n{}", report(&[]), report(&["--compat"]));
    insta::assert_snapshot!("dsse_demo_without_expiry", text);
    // `intact show` says so too.
    let show = bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(["show", "root.layout"])
            .current_dir(dir.path()),
    );
    assert!(
        show.status.success(),
        "{}",
        intact_tests::output_text(&show)
    );
    assert!(String::from_utf8_lossy(&show.stdout).contains("expires: (none"));
}

#[test]
fn the_reference_gpg_demo_gets_the_reference_verdict() {
    same_verdicts(&GPG, &[]);
}

#[test]
fn a_gpg_demo_link_signed_by_the_wrong_gpg_key_fails_under_both() {
    // write-code's link signed by the packager's GPG key.
    let tests = sdist();
    let dir = tempfile::tempdir().unwrap();
    demo(&tests, &GPG, dir.path());
    std::fs::copy(dir.path().join(GPG.links[0]), dir.path().join(GPG.links[1])).unwrap();
    let (reference, ours, code, text) = verdicts(dir.path(), &[]);
    assert!(!reference && !ours, "{text}");
    assert_eq!(code.as_deref(), Some("threshold"), "{text}");
}

#[test]
fn the_gpg_demo_with_a_gpg_signed_layout_gets_the_reference_verdict() {
    let tests = sdist();
    let home = GnupgHome::new(&tests);
    let root = tempfile::tempdir().unwrap();
    for (name, tamper) in [("good", false), ("swapped", true)] {
        let dir = root.path().join(name);
        demo(&tests, &GPG, &dir);
        sign_layout_gpg(&tests, home.path(), &dir);
        if tamper {
            std::fs::write(dir.join("foo.tar.gz"), b"not the package").unwrap();
        }
        let python = intact_tests::reference_python();
        let reference = bounded(
            Command::new(python)
                .arg(python.with_file_name("in-toto-verify"))
                .args(["-l", "root.layout", "--gpg", GPG_OWNER, "--gpg-home"])
                .arg(home.path())
                .current_dir(&dir),
        );
        let ours = bounded(
            Command::new(env!("CARGO_BIN_EXE_intact"))
                .args(["verify", "-l", "root.layout", "-k", "owner.asc"])
                .current_dir(&dir),
        );
        let text = format!(
            "reference:\n{}\nintact:\n{}",
            intact_tests::output_text(&reference),
            intact_tests::output_text(&ours)
        );
        assert_eq!(reference.status.success(), !tamper, "{text}");
        assert_eq!(ours.status.success(), !tamper, "{text}");
    }
}

#[test]
fn key_show_equals_export_pubkey_on_the_reference_keyring() {
    let tests = sdist();
    let home = GnupgHome::new(&tests);
    let dir = tempfile::tempdir().unwrap();
    for keyid in [
        GPG_OWNER,
        "7b3abb26b97b655ab9296bd15b0bd02e1c768c43",
        "8288ef560ed3795f9df2c0db56193089b285da58",
    ] {
        let reference = bounded(
            Command::new(intact_tests::reference_python())
                .arg("-c")
                .arg(
                    "import json, sys\n\
                     from securesystemslib._gpg.functions import export_pubkey\n\
                     print(json.dumps(export_pubkey(sys.argv[1], homedir=sys.argv[2])))",
                )
                .arg(keyid)
                .arg(home.path()),
        );
        assert!(
            reference.status.success(),
            "{}",
            intact_tests::output_text(&reference)
        );
        let export = bounded(
            Command::new("gpg")
                .arg("--homedir")
                .arg(home.path())
                .args(["--batch", "--export", keyid]),
        );
        let file = dir.path().join(format!("{keyid}.gpg"));
        std::fs::write(&file, &export.stdout).unwrap();
        let ours = bounded(
            Command::new(env!("CARGO_BIN_EXE_intact"))
                .args(["key", "show"])
                .arg(&file),
        );
        assert!(
            ours.status.success(),
            "{}",
            intact_tests::output_text(&ours)
        );
        let a: serde_json::Value = serde_json::from_slice(&reference.stdout).unwrap();
        let b: serde_json::Value = serde_json::from_slice(&ours.stdout).unwrap();
        assert_eq!(a, b, "{keyid}");
    }
}
