//! The reference's own GPG demo chain (`tests/demo_files_gpg` of the
//! in-toto 3.1.0 source distribution, downloaded once into target/ and
//! used from there): functionaries with GPG keys listed in the layout.
//! intact's verdict must equal in-toto-verify's on the chain and on
//! variants tampered at test time.

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

/// The layout template signed by an owner key of the sdist's, with an
/// expiry added (the template has none; intact refuses such layouts, see
/// docs/interoperability.md).
fn sign_layout(tests: &Path, out: &Path) {
    let script = r#"
import sys
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from in_toto.models.metadata import Metablock
template, pem, out = sys.argv[1:]
md = Metablock.load(template)
md.signed.expires = "2099-01-01T00:00:00Z"
with open(pem, "rb") as f:
    md.create_signature(CryptoSigner(load_pem_private_key(f.read(), None)))
md.dump(out)
"#;
    let o = bounded(
        Command::new(intact_tests::reference_python())
            .arg("-c")
            .arg(script)
            .arg(tests.join("demo_files_gpg/demo.layout.template"))
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

/// A fresh copy of the demo in `dir`, with the signed layout and the
/// owner's public key.
fn demo(tests: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for f in [
        "foo.tar.gz",
        "package.7b3abb26.link",
        "write-code.8288ef56.link",
    ] {
        std::fs::copy(tests.join("demo_files_gpg").join(f), dir.join(f)).unwrap();
    }
    std::fs::copy(tests.join("pems/ed25519_public.pem"), dir.join("owner.pub")).unwrap();
    sign_layout(tests, &dir.join("root.layout"));
}

/// (reference passed, intact passed, intact's output).
fn verdicts(dir: &Path) -> (bool, bool, String) {
    let python = intact_tests::reference_python();
    let reference = bounded(
        Command::new(python)
            .arg(python.with_file_name("in-toto-verify"))
            .args(["-l", "root.layout", "--verification-keys", "owner.pub"])
            .current_dir(dir),
    );
    let ours = bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(["verify", "-l", "root.layout", "-k", "owner.pub"])
            .current_dir(dir),
    );
    (
        reference.status.success(),
        ours.status.success(),
        format!(
            "reference:\n{}\nintact:\n{}",
            intact_tests::output_text(&reference),
            intact_tests::output_text(&ours)
        ),
    )
}

#[test]
fn the_reference_gpg_demo_gets_the_reference_verdict() {
    let tests = sdist();
    let root = tempfile::tempdir().unwrap();

    let good = root.path().join("good");
    demo(&tests, &good);
    let (reference, ours, text) = verdicts(&good);
    assert!(reference && ours, "{text}");

    // A swapped package.
    let swapped = root.path().join("swapped");
    demo(&tests, &swapped);
    std::fs::write(swapped.join("foo.tar.gz"), b"not the package").unwrap();
    let (reference, ours, text) = verdicts(&swapped);
    assert!(!reference && !ours, "{text}");

    // An edited link: the signature no longer covers it.
    let edited = root.path().join("edited");
    demo(&tests, &edited);
    let link = edited.join("write-code.8288ef56.link");
    let text = std::fs::read_to_string(&link).unwrap();
    assert!(text.contains("\"foo.py\""));
    std::fs::write(&link, text.replace("\"foo.py\"", "\"bar.py\"")).unwrap();
    let (reference, ours, text) = verdicts(&edited);
    assert!(!reference && !ours, "{text}");

    // write-code's link signed by the wrong GPG key (the packager's).
    let wrong = root.path().join("wrong-key");
    demo(&tests, &wrong);
    std::fs::copy(
        wrong.join("package.7b3abb26.link"),
        wrong.join("write-code.8288ef56.link"),
    )
    .unwrap();
    let (reference, ours, text) = verdicts(&wrong);
    assert!(!reference && !ours, "{text}");
}

#[test]
fn the_gpg_demo_with_a_gpg_signed_layout_gets_the_reference_verdict() {
    let tests = sdist();
    let home = GnupgHome::new(&tests);
    let root = tempfile::tempdir().unwrap();
    for (name, tamper) in [("good", false), ("swapped", true)] {
        let dir = root.path().join(name);
        demo(&tests, &dir);
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
