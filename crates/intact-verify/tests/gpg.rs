//! Whole chains with GPG functionaries and a GPG-signed layout, from the
//! fixtures tests/fixtures/gpg/generate.sh makes with GnuPG and in-toto
//! 3.1.0; chain-verdicts.json holds in-toto-verify's exit code on each.

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

use intact_crypto::PublicKey;
use intact_model::{KeyDict, Metadata};
use intact_verify::{verify, MemoryLinkSource, Report, Stage, VerifyOptions};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/gpg")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// Every link the fixtures have, by file name, from the signers in `names`.
fn links(names: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for name in names {
        for entry in std::fs::read_dir(fixtures().join(name)).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_str().unwrap().to_string();
            out.insert(file, read(&path));
        }
    }
    out
}

fn run(layout: &str, links: BTreeMap<String, Vec<u8>>) -> Report {
    let md = Metadata::from_slice(&read(&fixtures().join(layout))).unwrap();
    let dict: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&read(&fixtures().join("keys/rsa.json"))).unwrap();
    let owner = PublicKey::from_key_dict(&KeyDict::new(dict).unwrap()).unwrap();
    let keys = BTreeMap::from([(owner.keyid().unwrap(), owner)]);
    verify(
        &md,
        &keys,
        &MemoryLinkSource::new(links),
        &VerifyOptions::new(),
    )
    .unwrap()
}

fn reference(chain: &str) -> bool {
    let v: serde_json::Value =
        serde_json::from_slice(&read(&fixtures().join("chain-verdicts.json"))).unwrap();
    v[chain].as_i64().unwrap() == 0
}

const ALL: [&str; 5] = ["rsa", "dsa", "eddsa", "subkey", "expired"];

#[test]
fn a_chain_of_gpg_functionaries_verifies_as_in_the_reference() {
    // rsa, dsa and eddsa sign with their main keys; subkey's link is
    // signed by its signing subkey and filed under the subkey's id.
    let report = run("layout.gpg-signed.json", links(&ALL));
    assert!(reference("layout"));
    assert!(report.verified, "{report}");
}

#[test]
fn an_expired_functionary_key_fails_as_in_the_reference() {
    let report = run("layout-expired.gpg-signed.json", links(&ALL));
    assert!(!reference("layout-expired"));
    assert!(!report.verified);
    assert_eq!(report.failure.unwrap().stage, Stage::LinkSignatures);
}

#[test]
fn a_link_by_another_gpg_key_fails_as_in_the_reference() {
    let mut files = links(&ALL);
    let rsa_file = links(&["rsa"]).into_keys().next().unwrap();
    let other = links(&["other"]).into_values().next().unwrap();
    files.insert(rsa_file, other);
    let report = run("layout.gpg-signed.json", files);
    assert!(!reference("layout-forged-rsa-link"));
    assert!(!report.verified);
    assert_eq!(report.failure.unwrap().stage, Stage::LinkSignatures);
}

#[test]
fn a_subkey_link_is_found_under_the_subkey_id_only() {
    // Without the subkey's file the step has no link at all.
    let report = run("layout.gpg-signed.json", links(&["rsa", "dsa", "eddsa"]));
    assert!(!report.verified);
    assert_eq!(report.failure.unwrap().stage, Stage::Links);
}

#[test]
fn a_tampered_gpg_layout_fails() {
    let mut md = Metadata::from_slice(&read(&fixtures().join("layout.gpg-signed.json"))).unwrap();
    let Metadata::Metablock(mb) = &mut md else {
        panic!("a Metablock")
    };
    let intact_model::Payload::Layout(l) = &mut mb.signed else {
        panic!("a layout")
    };
    l.steps.pop();
    let dict: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&read(&fixtures().join("keys/rsa.json"))).unwrap();
    let owner = PublicKey::from_key_dict(&KeyDict::new(dict).unwrap()).unwrap();
    let keys = BTreeMap::from([(owner.keyid().unwrap(), owner)]);
    let report = verify(
        &md,
        &keys,
        &MemoryLinkSource::new(links(&ALL)),
        &VerifyOptions::new(),
    )
    .unwrap();
    assert!(!report.verified);
    assert_eq!(report.failure.unwrap().stage, Stage::LayoutSignatures);
}
