//! GPG keys and signatures against fixtures made by GnuPG and the in-toto
//! reference (tests/fixtures/gpg/generate.sh), whose verdicts on every
//! link/key pair are recorded in reference-verdicts.json.

use std::path::PathBuf;

use intact_model::{KeyDict, KeyId, Metadata, Payload, SignatureValue};
use serde_json::{Map, Value};

use crate::{verify_metadata, CryptoError, PublicKey};

const NAMES: [&str; 6] = ["rsa", "dsa", "eddsa", "subkey", "expired", "other"];

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/gpg")
}

fn dict(name: &str) -> Map<String, Value> {
    let text = std::fs::read(fixtures().join("keys").join(format!("{name}.json"))).unwrap();
    serde_json::from_slice(&text).unwrap()
}

fn key(name: &str) -> (KeyId, PublicKey) {
    let d = KeyDict::new(dict(name)).unwrap();
    let k = PublicKey::from_key_dict(&d).unwrap();
    (k.keyid().unwrap(), k)
}

fn link(name: &str) -> Metadata {
    let dir = fixtures().join(name);
    let mut files = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path());
    let path = files.next().unwrap();
    assert!(files.next().is_none(), "one link in {dir:?}");
    Metadata::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn layout() -> Metadata {
    Metadata::from_slice(&std::fs::read(fixtures().join("layout.gpg-signed.json")).unwrap())
        .unwrap()
}

/// What the reference's verdict class means as an intact outcome.
fn same_verdict(reference: &str, ours: &Result<(), CryptoError>) -> bool {
    matches!(
        (reference, ours),
        ("ok", Ok(()))
            | ("KeyExpirationError", Err(CryptoError::GpgKeyExpired { .. }))
            | (
                "SignatureVerificationError",
                Err(CryptoError::NoSignature(_) | CryptoError::BadSignature(_)),
            )
    )
}

#[test]
fn every_link_and_key_pair_gets_the_reference_verdict() {
    let verdicts: Map<String, Value> =
        serde_json::from_slice(&std::fs::read(fixtures().join("reference-verdicts.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    for signer in NAMES.iter().map(|n| Some(*n)).chain([None]) {
        let md = signer.map_or_else(layout, link);
        for name in NAMES {
            let (keyid, key) = key(name);
            let ours = verify_metadata(&md, &keyid, &key);
            let at = format!("{}/{name}", signer.unwrap_or("layout"));
            let reference = verdicts[&at].as_str().unwrap();
            assert!(
                same_verdict(reference, &ours),
                "{at}: reference {reference}, intact {ours:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, verdicts.len());
}

#[test]
fn each_key_type_verifies_its_own_link() {
    for name in ["rsa", "dsa", "eddsa", "subkey", "other"] {
        let (keyid, key) = key(name);
        assert!(key.as_gpg().is_some());
        verify_metadata(&link(name), &keyid, &key).unwrap();
    }
    let (keyid, key) = key("rsa");
    verify_metadata(&layout(), &keyid, &key).unwrap();
}

#[test]
fn a_tampered_link_fails() {
    for name in ["rsa", "dsa", "eddsa", "subkey"] {
        let (keyid, key) = key(name);
        let mut md = link(name);
        let Metadata::Metablock(mb) = &mut md else {
            panic!("a Metablock")
        };
        let Payload::Link(l) = &mut mb.signed else {
            panic!("a link")
        };
        l.products.clear();
        assert!(matches!(
            verify_metadata(&md, &keyid, &key),
            Err(CryptoError::BadSignature(_))
        ));
    }
}

#[test]
fn tampered_other_headers_fail() {
    let (keyid, key) = key("eddsa");
    let mut md = link("eddsa");
    let Metadata::Metablock(mb) = &mut md else {
        panic!("a Metablock")
    };
    let SignatureValue::Gpg { other_headers, .. } = &mut mb.signatures[0].value else {
        panic!("a GPG signature")
    };
    let last = other_headers.len() - 1;
    other_headers[last] ^= 1;
    assert!(matches!(
        verify_metadata(&md, &keyid, &key),
        Err(CryptoError::BadSignature(_))
    ));
}

#[test]
fn a_link_by_a_key_not_given_fails() {
    let (keyid, key) = key("rsa");
    assert!(matches!(
        verify_metadata(&link("other"), &keyid, &key),
        Err(CryptoError::NoSignature(_))
    ));
    // Claiming the listed key's keyid does not help the other key's signature.
    let mut md = link("other");
    let Metadata::Metablock(mb) = &mut md else {
        panic!("a Metablock")
    };
    mb.signatures[0].keyid = keyid.clone();
    assert!(matches!(
        verify_metadata(&md, &keyid, &key),
        Err(CryptoError::BadSignature(_))
    ));
}

#[test]
fn an_expired_key_is_refused_though_its_signature_is_good() {
    let (keyid, key) = key("expired");
    assert!(matches!(
        verify_metadata(&link("expired"), &keyid, &key),
        Err(CryptoError::GpgKeyExpired { .. })
    ));
    // Without the validity period the same signature verifies: the refusal
    // is the expiry alone.
    let mut d = dict("expired");
    d.remove("validity_period");
    let unexpiring = PublicKey::from_key_dict(&KeyDict::new(d).unwrap()).unwrap();
    verify_metadata(&link("expired"), &keyid, &unexpiring).unwrap();
}

#[test]
fn a_subkey_signature_counts_for_its_main_key() {
    let (keyid, key) = key("subkey");
    let md = link("subkey");
    let signer = &md.signatures()[0];
    assert_ne!(signer.keyid, &keyid, "signed by the subkey");
    assert!(key
        .as_gpg()
        .unwrap()
        .subkey_ids()
        .any(|s| s == signer.keyid.as_str()));
    verify_metadata(&md, &keyid, &key).unwrap();
    // Without the subkey in the dict, the signature belongs to no listed key.
    let mut d = dict("subkey");
    d.remove("subkeys");
    let bare = PublicKey::from_key_dict(&KeyDict::new(d).unwrap()).unwrap();
    assert!(matches!(
        verify_metadata(&md, &keyid, &bare),
        Err(CryptoError::NoSignature(_))
    ));
}

#[test]
fn an_expired_subkey_is_refused() {
    let (keyid, _) = key("subkey");
    let mut d = dict("subkey");
    let subs = d["subkeys"].as_object_mut().unwrap();
    for sub in subs.values_mut() {
        sub["creation_time"] = 1_000.into();
        sub["validity_period"] = 1_000.into();
    }
    let k = PublicKey::from_key_dict(&KeyDict::new(d).unwrap()).unwrap();
    assert!(matches!(
        verify_metadata(&link("subkey"), &keyid, &k),
        Err(CryptoError::GpgKeyExpired { .. })
    ));
}

#[test]
fn key_dicts_round_trip_and_keep_their_fingerprint() {
    for name in NAMES {
        let d = dict(name);
        let (keyid, k) = key(name);
        assert_eq!(keyid.as_str(), d["keyid"].as_str().unwrap());
        assert_eq!(k.to_key_dict().unwrap().as_map(), &d);
        assert!(k.public_value().is_err());
    }
    assert_ne!(key("rsa").1, key("dsa").1);
    assert_eq!(key("rsa").1, key("rsa").1);
}

#[test]
fn malformed_gpg_key_dicts_are_refused() {
    let edits: [(&str, Value); 4] = [
        ("method", "pgp+dsa-fips-180-2".into()),
        ("type", "elgamal".into()),
        (
            "keyval",
            serde_json::json!({"public": {"n": "zz", "e": "010001"}}),
        ),
        ("subkeys", serde_json::json!(["not", "a", "map"])),
    ];
    for (field, value) in edits {
        let mut d = dict("rsa");
        d.insert(field.into(), value);
        let r = PublicKey::from_key_dict(&KeyDict::new(d).unwrap());
        assert!(matches!(r, Err(CryptoError::InvalidKey(_))), "{field}");
    }
}

#[test]
fn a_gpg_key_never_accepts_a_dsse_envelope() {
    let (keyid, key) = key("rsa");
    let Metadata::Metablock(mb) = link("rsa") else {
        panic!("a Metablock")
    };
    let md = Metadata::new(mb.signed, intact_model::Container::Envelope).unwrap();
    assert!(matches!(
        verify_metadata(&md, &keyid, &key),
        Err(CryptoError::GpgEnvelope(_))
    ));
}

#[test]
fn exported_keys_give_the_reference_key_dicts() {
    // eddsa-expiring has an expiry and a subkey the reference does not see
    // (docs/interoperability.md): the dicts must agree on that too.
    for name in NAMES.into_iter().chain(["eddsa-expiring"]) {
        let asc = std::fs::read(fixtures().join("keys").join(format!("{name}.asc"))).unwrap();
        assert_eq!(
            crate::key_dict_from_openpgp(&asc).unwrap(),
            dict(name),
            "{name}"
        );
    }
    let binary = std::fs::read(fixtures().join("keys/rsa.gpg")).unwrap();
    assert_eq!(crate::key_dict_from_openpgp(&binary).unwrap(), dict("rsa"));
    let quirk = dict("eddsa-expiring");
    assert!(!quirk.contains_key("validity_period") && !quirk.contains_key("subkeys"));
}

#[test]
fn damaged_exports_are_refused_without_panicking() {
    let binary = std::fs::read(fixtures().join("keys/rsa.gpg")).unwrap();
    for cut in [0, 1, 2, 5, 40, binary.len() / 2, binary.len() - 1] {
        let r = crate::key_dict_from_openpgp(&binary[..cut]);
        assert!(matches!(r, Err(CryptoError::InvalidKey(_))), "cut at {cut}");
    }
    assert!(matches!(
        crate::key_dict_from_openpgp(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n"),
        Err(CryptoError::InvalidKey(_))
    ));
    // Two keys in one export: the reference refuses them too.
    let mut two = binary.clone();
    two.extend_from_slice(&binary);
    assert!(matches!(
        crate::key_dict_from_openpgp(&two),
        Err(CryptoError::InvalidKey(_))
    ));
}

#[test]
fn a_short_gpg_rsa_key_is_weak() {
    assert_eq!(key("rsa").1.weakness(), None);
    let mut d = dict("rsa");
    // The first 1024 bits of the modulus, made odd (an RSA modulus is).
    let n = format!("{}1", &d["keyval"]["public"]["n"].as_str().unwrap()[..255]);
    d["keyval"]["public"]["n"] = n.into();
    let k = PublicKey::from_key_dict(&KeyDict::new(d).unwrap()).unwrap();
    assert_eq!(
        k.weakness(),
        Some(crate::KeyWeakness::ShortRsa { bits: 1024 })
    );
}
