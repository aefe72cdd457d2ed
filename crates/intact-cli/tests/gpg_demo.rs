//! The reference's own GPG demo chain (`tests/demo_files_gpg` of the
//! in-toto 3.1.0 source distribution, downloaded once into target/ and
//! used from there): functionaries with GPG keys listed in the layout.
//! intact's verdict must equal in-toto-verify's on the chain and on
//! variants tampered at test time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The unpacked sdist (pip download into target/, cached).
fn sdist() -> PathBuf {
    let root = intact_tests::repo_root();
    let dir = root.join("target/in-toto-sdist");
    let unpacked = dir.join("in_toto-3.1.0");
    if !unpacked.join("tests/demo_files_gpg").is_dir() {
        let tarball = dir.join("in_toto-3.1.0.tar.gz");
        if !tarball.is_file() {
            let out = bounded(
                Command::new(intact_tests::reference_python())
                    .args(["-m", "pip", "download", "--quiet", "--no-deps"])
                    .args(["--no-binary", ":all:", "in-toto==3.1.0", "-d"])
                    .arg(&dir),
            );
            assert!(out.status.success(), "{}", intact_tests::output_text(&out));
        }
        let out = bounded(
            Command::new("tar")
                .arg("xzf")
                .arg(&tarball)
                .arg("-C")
                .arg(&dir),
        );
        assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    }
    unpacked.join("tests")
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
