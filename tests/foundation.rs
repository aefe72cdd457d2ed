//! Issue "foundation": intact and the in-toto 3.1.0 reference agree on
//! bytes, keyids and signatures, in both directions. Fixtures come from
//! tests/interop/gen_fixtures.py (run with the reference).

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use intact_crypto::{load_key_file, load_public_key, sign_metadata, verify_metadata, SigningKey};
use intact_model::json::{canonical, parse_strict, to_python_json, PyStyle};
use intact_model::{Container, KeyId, Link, Metadata, Payload};
use intact_tests::{fixture, refcheck};
use serde_json::Value;

const KEY_NAMES: [&str; 4] = ["ed25519", "rsa", "ecdsa-p256", "ecdsa-p384"];

fn json_file(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(rel)).unwrap()).unwrap()
}

fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn canonical_and_python_json_equal_the_reference_on_the_corpus() {
    let corpus = json_file("canonical/corpus.json");
    let entries = corpus.as_array().unwrap();
    assert!(entries.len() > 300);
    for (i, e) in entries.iter().enumerate() {
        let v = parse_strict(e["json"].as_str().unwrap().as_bytes()).unwrap();
        assert_eq!(
            canonical(&v).unwrap(),
            b64(&e["canonical_b64"]),
            "canonical #{i}: {}",
            e["json"]
        );
        assert_eq!(
            to_python_json(&v, PyStyle::Pretty).unwrap(),
            b64(&e["pretty_b64"]),
            "pretty #{i}"
        );
        assert_eq!(
            to_python_json(&v, PyStyle::OneLine).unwrap(),
            b64(&e["oneline_b64"]),
            "one line #{i}"
        );
    }
    for reject in json_file("canonical/rejects.json").as_array().unwrap() {
        assert!(
            parse_strict(reject.as_str().unwrap().as_bytes()).is_err(),
            "{reject}"
        );
    }
}

#[test]
fn keyids_equal_the_reference_for_every_key_type_and_file_form() {
    let index = json_file("keys/keys.json");
    for name in KEY_NAMES {
        let expected = index[name]["keyid"].as_str().unwrap();
        let public = load_public_key(&fixture(&format!("keys/{name}.pub"))).unwrap();
        assert_eq!(public.keyid().unwrap().as_str(), expected, "{name}.pub");
        // The embedded key dict equals the reference's too.
        let dict = public.to_key_dict().unwrap();
        let mut theirs = index[name]["key"].as_object().unwrap().clone();
        theirs.insert("keyid".into(), Value::String(expected.into()));
        assert_eq!(dict.as_map(), &theirs, "{name} key dict");
        let private = load_key_file(&fixture(&format!("keys/{name}.pem")), None).unwrap();
        assert_eq!(
            private.public_key().keyid().unwrap().as_str(),
            expected,
            "{name}.pem"
        );
        let enc =
            load_key_file(&fixture(&format!("keys/{name}.enc.pem")), Some(b"hunter2")).unwrap();
        assert_eq!(
            enc.public_key().keyid().unwrap().as_str(),
            expected,
            "{name}.enc.pem"
        );
    }
}

#[test]
fn ed25519_signatures_are_byte_identical_to_the_reference() {
    let vectors = json_file("vectors/vectors.json");
    let link: Link = serde_json::from_value(vectors["link"].clone()).unwrap();
    for (name, pem) in [
        ("upstream-ed25519", "vectors/upstream-ed25519.pem"),
        ("ed25519", "keys/ed25519.pem"),
    ] {
        let v = &vectors["keys"][name];
        let key = intact_crypto::load_signing_key(&fixture(pem), None).unwrap();
        assert_eq!(key.keyid().unwrap().as_str(), v["keyid"].as_str().unwrap());

        let mut mb = Metadata::new(link.clone().into(), Container::Metablock).unwrap();
        assert_eq!(
            mb.signed_bytes().unwrap(),
            b64(&v["canonical_b64"]),
            "{name} canonical"
        );
        sign_metadata(&mut mb, &key).unwrap();
        assert_eq!(
            hex(mb.signatures()[0].sig.unwrap()),
            v["metablock_sig"].as_str().unwrap()
        );

        let mut env = Metadata::new(link.clone().into(), Container::Envelope).unwrap();
        let Metadata::Envelope(e) = &env else {
            unreachable!()
        };
        assert_eq!(
            e.payload,
            b64(&v["dsse_payload_b64"]),
            "{name} DSSE payload"
        );
        assert_eq!(
            env.signed_bytes().unwrap(),
            b64(&v["pae_b64"]),
            "{name} PAE"
        );
        sign_metadata(&mut env, &key).unwrap();
        assert_eq!(
            env.signatures()[0].sig.unwrap(),
            b64(&v["dsse_sig_b64"]).as_slice()
        );
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn reference_index() -> Vec<Value> {
    json_file("reference/index.json")
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn files_signed_by_the_reference_verify_with_intact() {
    let keys = json_file("keys/keys.json");
    let mut checked = BTreeMap::new();
    for entry in reference_index() {
        let file = fixture(&format!("reference/{}", entry["file"].as_str().unwrap()));
        let key_name = entry["key"].as_str().unwrap();
        let md = Metadata::load(&file).unwrap();
        let key = load_public_key(&fixture(&format!("keys/{key_name}.pub"))).unwrap();
        let keyid = KeyId::new(keys[key_name]["keyid"].as_str().unwrap()).unwrap();
        verify_metadata(&md, &keyid, &key).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // Another key with the same keyid claim must not verify.
        let other = load_public_key(&fixture("keys/ecdsa-p256.pub")).unwrap();
        if key_name != "ecdsa-p256" {
            assert!(verify_metadata(&md, &keyid, &other).is_err());
        }
        md.payload().unwrap();
        *checked
            .entry((
                key_name.to_string(),
                entry["container"].as_str().unwrap().to_string(),
            ))
            .or_insert(0) += 1;
    }
    // Every key type in both containers was exercised.
    assert_eq!(checked.len(), 8, "{checked:?}");
}

#[test]
fn load_then_save_is_byte_identity_on_reference_files() {
    let index = reference_index();
    assert!(index.len() >= 70);
    for entry in index {
        let file = fixture(&format!("reference/{}", entry["file"].as_str().unwrap()));
        let bytes = std::fs::read(&file).unwrap();
        let md = Metadata::from_slice(&bytes).unwrap();
        let again = md.to_bytes().unwrap();
        assert!(
            again == bytes,
            "{} does not round-trip:\n{}\n---\n{}",
            file.display(),
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&again)
        );
    }
}

fn sample_payloads() -> Vec<(&'static str, Payload)> {
    let link = Metadata::load(&fixture("reference/link.ed25519.metablock.link")).unwrap();
    let layout = Metadata::load(&fixture("reference/layout.ed25519.metablock.layout")).unwrap();
    vec![
        ("link", link.payload().unwrap()),
        ("layout", layout.payload().unwrap()),
    ]
}

#[test]
fn files_signed_by_intact_verify_with_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    for key_name in KEY_NAMES {
        let key: SigningKey =
            intact_crypto::load_signing_key(&fixture(&format!("keys/{key_name}.pem")), None)
                .unwrap();
        let public = fixture(&format!("keys/{key_name}.pub"));
        for (kind, payload) in sample_payloads() {
            for container in [Container::Metablock, Container::Envelope] {
                let mut md = Metadata::new(payload.clone(), container).unwrap();
                sign_metadata(&mut md, &key).unwrap();
                let path: PathBuf = dir.path().join(format!("{kind}.{key_name}.{container:?}"));
                md.save(&path).unwrap();
                let (code, err) =
                    refcheck(&["verify-sigs".as_ref(), path.as_ref(), public.as_ref()]);
                assert_eq!(code, 0, "{}: {err}", path.display());
                // And the reference rejects a copy whose payload we changed.
                let mut tampered = md.clone();
                match &mut tampered {
                    Metadata::Metablock(m) => {
                        m.signed = sample_payloads()[usize::from(kind == "link")].1.clone()
                    }
                    Metadata::Envelope(e) => e.payload.insert(1, b' '),
                }
                tampered.save(&path).unwrap();
                let (code, _) = refcheck(&["verify-sigs".as_ref(), path.as_ref(), public.as_ref()]);
                assert_eq!(code, 1, "tampered {} verified", path.display());
            }
        }
    }
}

#[test]
fn reference_keyids_of_intact_generated_keys_match() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate_ed25519();
    let (pem, public) = (dir.path().join("k.pem"), dir.path().join("k.pub"));
    intact_crypto::write_key_pair(&key, &pem, &public, Some(b"pw")).unwrap();
    let out = std::process::Command::new(intact_tests::reference_python())
        .arg(intact_tests::repo_root().join("tests/interop/refcheck.py"))
        .args(["keyid".as_ref(), public.as_os_str()])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        key.keyid().unwrap().as_str()
    );
    // The reference's key loader reads our encrypted PKCS#8 file.
    let code = std::process::Command::new(intact_tests::reference_python())
        .arg("-c")
        .arg("import sys; from in_toto.models._signer import load_crypto_signer_from_pkcs8_file as l; print(l(sys.argv[1], b'pw').public_key.keyid)")
        .arg(&pem)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&code.stdout).trim(),
        key.keyid().unwrap().as_str(),
        "{}",
        String::from_utf8_lossy(&code.stderr)
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever we write in the reference's styles parses back to the same value.
        #[test]
        fn python_json_round_trips(v in value()) {
            for style in [PyStyle::Pretty, PyStyle::OneLine, PyStyle::Compact] {
                let bytes = to_python_json(&v, style).unwrap();
                prop_assert!(bytes.is_ascii());
                prop_assert_eq!(parse_strict(&bytes).unwrap(), v.clone());
            }
        }

        /// Links survive save → load in both containers.
        #[test]
        fn links_round_trip(cmd in prop::collection::vec(any::<String>(), 0..4), out in any::<String>(), rv in any::<i64>()) {
            let mut link = Link::new(intact_model::StepName::new("s").unwrap());
            link.command = cmd;
            link.byproducts.insert("stdout".into(), Value::String(out));
            link.byproducts.insert("return-value".into(), Value::from(rv));
            for c in [Container::Metablock, Container::Envelope] {
                let md = Metadata::new(link.clone().into(), c).unwrap();
                let back = Metadata::from_slice(&md.to_bytes().unwrap()).unwrap();
                prop_assert_eq!(back.payload().unwrap(), Payload::Link(link.clone()));
            }
        }
    }
}
