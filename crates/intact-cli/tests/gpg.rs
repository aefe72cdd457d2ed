//! `intact key show|id` on exported GPG public keys: the dict is the one
//! securesystemslib's export_pubkey wrote for the same key
//! (tests/fixtures/gpg/generate.sh).

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/gpg/keys")
}

fn intact(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_intact"))
        .args(args)
        .current_dir(fixtures())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn reference(name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixtures().join(format!("{name}.json"))).unwrap())
        .unwrap()
}

#[test]
fn key_show_prints_the_reference_dict_of_an_exported_gpg_key() {
    for (file, name) in [
        ("rsa.asc", "rsa"),
        ("rsa.gpg", "rsa"),
        ("dsa.asc", "dsa"),
        ("eddsa.asc", "eddsa"),
        ("subkey.asc", "subkey"),
        ("expired.asc", "expired"),
        ("eddsa-expiring.asc", "eddsa-expiring"),
    ] {
        let (code, out) = intact(&["key", "show", file]);
        assert_eq!(code, 0, "{file}");
        let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(shown, reference(name), "{file}");
        let (code, id) = intact(&["key", "id", file]);
        assert_eq!(code, 0);
        assert_eq!(id.trim(), reference(name)["keyid"].as_str().unwrap());
    }
}

#[test]
fn key_show_refuses_a_damaged_export() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixtures().join("rsa.gpg")).unwrap();
    let cut = dir.path().join("cut.gpg");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (code, out) = intact(&["key", "show", cut.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(out.is_empty());
}
