//! GPG key dicts written inline in a layout source: kept as the reference
//! exported them, and refused without the keyid (their fingerprint, which
//! the dict alone cannot give).

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::Path;

use intact_layout::{BuildOptions, Source};
use time::macros::datetime;

fn fixture_key() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/gpg/keys/rsa.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn compile(key: &serde_json::Value) -> intact_layout::Compiled {
    // JSON is YAML: the key dict goes in as it is.
    let yaml = format!(
        "expires: 2030-01-01\nkeys:\n  gpg: {key}\nsteps:\n  - name: build\n    functionaries: [gpg]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let opts = BuildOptions {
        parameters: Default::default(),
        now: datetime!(2025-06-01 12:00 UTC),
        key_names: true,
        warn_expiry: intact_layout::DEFAULT_WARN_EXPIRY,
    };
    Source::parse(&yaml, dir.path())
        .unwrap()
        .compile(&opts)
        .unwrap()
}

#[test]
fn an_inline_gpg_key_is_kept_as_exported() {
    let key = fixture_key();
    let compiled = compile(&key);
    assert!(!compiled.has_errors(), "{:?}", compiled.findings);
    let keyid = key["keyid"].as_str().unwrap();
    let (id, dict) = compiled.layout.keys.iter().next().unwrap();
    assert_eq!(id.as_str(), keyid);
    assert_eq!(&serde_json::Value::Object(dict.as_map().clone()), &key);
}

#[test]
fn an_inline_gpg_key_without_its_keyid_is_refused() {
    let mut key = fixture_key();
    key.as_object_mut().unwrap().remove("keyid");
    let compiled = compile(&key);
    assert!(compiled.has_errors());
    let codes: Vec<_> = compiled.findings.iter().map(|f| f.code).collect();
    assert!(codes.contains(&"invalid-key"), "{codes:?}");
    assert!(compiled.layout.keys.is_empty());
}
