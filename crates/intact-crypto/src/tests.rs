//! Unit tests on self-contained vectors; differential tests against the
//! reference live in the workspace `tests/` crate.

use intact_model::{Container, KeyDict, KeyId, Link, Metadata, StepName};
use serde_json::json;

use crate::*;

/// RFC 8032 §7.1 test 1.
const RFC8032_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const RFC8032_SIG_EMPTY: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

pub(crate) fn rfc8032_key() -> SigningKey {
    // PKCS#8 v1 wrapper around the raw seed (RFC 8410 §7 layout).
    let der = [
        &hex::decode("302e020100300506032b657004220420").unwrap()[..],
        &hex::decode(RFC8032_SECRET).unwrap()[..],
    ]
    .concat();
    let pem = pkcs8::der::pem::encode_string("PRIVATE KEY", pkcs8::der::pem::LineEnding::LF, &der)
        .unwrap();
    SigningKey::from_pem(&pem, None).unwrap()
}

#[test]
fn ed25519_matches_rfc8032_and_modern_keyid() {
    let key = rfc8032_key();
    assert_eq!(key.public_key().public_value().unwrap(), RFC8032_PUBLIC);
    assert_eq!(hex::encode(key.sign(b"").unwrap()), RFC8032_SIG_EMPTY);
    // sha256 of {"keytype":"ed25519","keyval":{"public":"d75a…"},"scheme":"ed25519"}
    assert_eq!(
        key.keyid().unwrap().as_str(),
        "74c181c7ad8a0855d4b55e44d2ba87aabdddb196832571f15f92fece332e4916"
    );
}

#[test]
fn key_dict_round_trip_and_lookup_by_given_keyid() {
    let key = rfc8032_key();
    let dict = key.public_key().to_key_dict().unwrap();
    assert_eq!(dict.keyid(), Some(key.keyid().unwrap()));
    let back = PublicKey::from_key_dict(&dict).unwrap();
    assert_eq!(&back, key.public_key());
    // A legacy dict (extra members, a keyid we would not compute) still
    // yields a working verifier: keyids are never recomputed.
    let legacy: KeyDict = serde_json::from_value(json!({
        "keyid": "00ff", "keyid_hash_algorithms": ["sha256", "sha512"],
        "keytype": "ed25519", "scheme": "ed25519",
        "keyval": {"public": RFC8032_PUBLIC, "private": ""}
    }))
    .unwrap();
    let k = PublicKey::from_key_dict(&legacy).unwrap();
    assert!(k.verify(b"", &hex::decode(RFC8032_SIG_EMPTY).unwrap()));
}

#[test]
fn bad_key_dicts_are_rejected_with_reason() {
    let cases = [
        (
            json!({"keyid": "aa", "keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "abcd"}}),
            "32 bytes",
        ),
        (
            json!({"keyid": "aa", "keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "zz"}}),
            "not hex",
        ),
        (
            json!({"keyid": "aa", "keytype": "dsa", "scheme": "dsa", "keyval": {"public": "aa"}}),
            "unsupported key type",
        ),
        (
            json!({"keyid": "aa", "keytype": "rsa", "scheme": "rsassa-pss-sha256", "keyval": {"public": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}}),
            "invalid key",
        ),
        (
            json!({"keyid": "aa", "keytype": "ed25519", "scheme": "ed25519", "keyval": {}}),
            "keyval.public",
        ),
    ];
    for (dict, expected) in cases {
        let dict: KeyDict = serde_json::from_value(dict).unwrap();
        let err = PublicKey::from_key_dict(&dict).unwrap_err().to_string();
        assert!(err.contains(expected), "{err} lacks {expected}");
    }
}

#[test]
fn pkcs8_round_trip_plain_and_encrypted() {
    let key = SigningKey::generate_ed25519();
    let plain = key.to_pkcs8_pem(None).unwrap();
    assert!(plain.starts_with("-----BEGIN PRIVATE KEY-----"));
    // PKCS#8 v1, 48 bytes, like `openssl genpkey -algorithm ed25519`: the
    // reference's loader refuses v2 with an attached public key.
    let (_, der) = pkcs8::SecretDocument::from_pem(&plain).unwrap();
    assert_eq!(der.as_bytes().len(), 48);
    assert_eq!(
        &der.as_bytes()[..16],
        &hex::decode("302e020100300506032b657004220420").unwrap()[..]
    );
    assert_eq!(
        SigningKey::from_pem(&plain, None).unwrap().keyid().unwrap(),
        key.keyid().unwrap()
    );
    let enc = key.to_pkcs8_pem(Some(b"hunter2")).unwrap();
    assert!(enc.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert!(matches!(
        SigningKey::from_pem(&enc, None),
        Err(CryptoError::PasswordRequired)
    ));
    assert!(matches!(
        SigningKey::from_pem(&enc, Some(b"wrong")),
        Err(CryptoError::WrongPassword)
    ));
    let back = SigningKey::from_pem(&enc, Some(b"hunter2")).unwrap();
    assert_eq!(back.keyid().unwrap(), key.keyid().unwrap());
}

#[test]
fn ecdsa_and_rsa_sign_and_verify_all_schemes() {
    let p256 = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let pem =
        pkcs8::EncodePrivateKey::to_pkcs8_pem(&p256, pkcs8::der::pem::LineEnding::LF).unwrap();
    let k = SigningKey::from_pem(&pem, None).unwrap();
    assert_eq!(k.public_key().scheme(), Scheme::EcdsaP256);
    let sig = k.sign(b"msg").unwrap();
    assert_eq!(sig[0], 0x30, "DER encoded");
    assert!(k.public_key().verify(b"msg", &sig));
    assert!(!k.public_key().verify(b"other", &sig));

    let rsa = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
    let pem = pkcs8::EncodePrivateKey::to_pkcs8_pem(&rsa, pkcs8::der::pem::LineEnding::LF).unwrap();
    let base = SigningKey::from_pem(&pem, None).unwrap();
    assert_eq!(base.public_key().scheme(), Scheme::RsaPss(RsaHash::Sha256));
    for h in [RsaHash::Sha256, RsaHash::Sha384, RsaHash::Sha512] {
        for scheme in [Scheme::RsaPss(h), Scheme::RsaPkcs1v15(h)] {
            let k = SigningKey::from_pem(&pem, None)
                .unwrap()
                .with_scheme(scheme)
                .unwrap();
            let sig = k.sign(b"msg").unwrap();
            assert!(k.public_key().verify(b"msg", &sig), "{scheme:?}");
            assert!(!k.public_key().verify(b"msg!", &sig), "{scheme:?}");
        }
    }
    // PSS with a salt length other than the digest length (OpenSSL's
    // default is the maximum) still verifies, like the reference's AUTO.
    let max_salt = 256 - 32 - 2;
    let signer = rsa::pss::SigningKey::<sha2::Sha256>::new_with_salt_len(rsa.clone(), max_salt);
    let sig = signature::RandomizedSigner::sign_with_rng(&signer, &mut rand_core::OsRng, b"m");
    assert!(base
        .public_key()
        .verify(b"m", &signature::SignatureEncoding::to_vec(&sig)));
    assert!(base
        .public_key()
        .clone()
        .with_scheme(Scheme::EcdsaP256)
        .is_err());
}

#[test]
fn metadata_sign_verify_both_containers() {
    let key = SigningKey::generate_ed25519();
    let other = SigningKey::generate_ed25519();
    for container in [Container::Metablock, Container::Envelope] {
        let link = Link::new(StepName::new("build").unwrap());
        let mut md = Metadata::new(link.into(), container).unwrap();
        let id = sign_metadata(&mut md, &key).unwrap();
        verify_metadata(&md, &id, key.public_key()).unwrap();
        // Same keyid, wrong key: bad signature. Unknown keyid: no signature.
        assert!(matches!(
            verify_metadata(&md, &id, other.public_key()),
            Err(CryptoError::BadSignature(_))
        ));
        let unknown = KeyId::new("abcdef").unwrap();
        assert!(matches!(
            verify_metadata(&md, &unknown, key.public_key()),
            Err(CryptoError::NoSignature(_))
        ));
        // Re-signing replaces rather than appends.
        sign_metadata(&mut md, &key).unwrap();
        assert_eq!(md.signatures().len(), 1);
        // Tampering with the payload breaks the signature.
        let mut tampered = md.clone();
        match &mut tampered {
            Metadata::Metablock(m) => {
                if let intact_model::Payload::Link(l) = &mut m.signed {
                    l.command.push("evil".into());
                }
            }
            Metadata::Envelope(e) => e.payload.push(b' '),
        }
        assert!(verify_metadata(&tampered, &id, key.public_key()).is_err());
    }
}

#[test]
fn key_files_are_written_atomically_with_modes_and_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate_ed25519();
    let (pem, public) = (dir.path().join("k.pem"), dir.path().join("k.pub"));
    write_key_pair(&key, &pem, &public, None).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&pem).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(write_key_pair(&key, &pem, &public, None).is_err());
    let loaded = load_key_file(&public, None).unwrap();
    assert_eq!(loaded.public_key().keyid().unwrap(), key.keyid().unwrap());
    let err = load_public_key(&pem).unwrap_err().to_string();
    assert!(
        err.contains("k.pem") && err.contains("private key"),
        "{err}"
    );
    let err = load_signing_key(&dir.path().join("missing.pem"), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.pem"), "{err}");
    std::fs::write(dir.path().join("junk.pem"), "not a key").unwrap();
    let err = load_key_file(&dir.path().join("junk.pem"), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("junk.pem") && err.contains("invalid key"),
        "{err}"
    );
}

#[test]
fn small_order_keys_and_r_values_are_refused_whatever_the_message_size() {
    // With A and R the identity and s = 0, the cofactorless equation holds
    // for every message; only verify_strict's small-order checks refuse it.
    let identity = format!("01{}", "00".repeat(31));
    let dict: KeyDict = serde_json::from_value(json!({
        "keyid": "ab", "keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": identity}
    }))
    .unwrap();
    let weak = PublicKey::from_key_dict(&dict).unwrap();
    let sig = hex::decode(format!("01{}", "00".repeat(63))).unwrap();
    assert!(!weak.verify(b"anything", &sig));
    let keyid = KeyId::new("ab").unwrap();
    for artifacts in [0, 5_000] {
        let md = big_link(artifacts, &keyid, &sig);
        assert!(matches!(
            verify_metadata(&md, &keyid, &weak),
            Err(CryptoError::BadSignature(_))
        ));
    }
}

/// A Metablock link with `n` artifacts (over 64 KiB of canonical JSON for
/// a few thousand) carrying `sig` under `keyid`.
fn big_link(n: usize, keyid: &KeyId, sig: &[u8]) -> Metadata {
    let mut link = Link::new(StepName::new("build").unwrap());
    for i in 0..n {
        link.products.insert(
            intact_model::ArtifactName::new(format!("src/file-{i:06}.c")).unwrap(),
            intact_model::DigestSet::single("sha256", intact_model::Digest::from_bytes(&[7; 32])),
        );
    }
    let mut md = Metadata::new(link.into(), Container::Metablock).unwrap();
    md.set_signature(keyid.clone(), sig.to_vec());
    md
}

#[test]
fn streamed_and_buffered_checks_agree_on_large_links() {
    let key = SigningKey::generate_ed25519();
    let mut md = big_link(5_000, &KeyId::new("ab").unwrap(), &[]);
    assert!(md.signed_bytes().unwrap().len() > 4 * 64 * 1024);
    let id = sign_metadata(&mut md, &key).unwrap();
    verify_metadata(&md, &id, key.public_key()).unwrap();
    let sig = md.signature_by(&id).unwrap().sig.unwrap().to_vec();
    assert!(key.public_key().verify(&md.signed_bytes().unwrap(), &sig));
    // One digest changed deep inside the stream breaks it.
    if let Metadata::Metablock(m) = &mut md {
        if let intact_model::Payload::Link(l) = &mut m.signed {
            l.products.insert(
                intact_model::ArtifactName::new("src/file-004321.c").unwrap(),
                intact_model::DigestSet::single(
                    "sha256",
                    intact_model::Digest::from_bytes(&[8; 32]),
                ),
            );
        }
    }
    assert!(matches!(
        verify_metadata(&md, &id, key.public_key()),
        Err(CryptoError::BadSignature(_))
    ));
}

#[test]
fn sign_and_save_writes_what_signing_then_saving_writes() {
    let dir = tempfile::tempdir().unwrap();
    let p256 = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let pem =
        pkcs8::EncodePrivateKey::to_pkcs8_pem(&p256, pkcs8::der::pem::LineEnding::LF).unwrap();
    for key in [rfc8032_key(), SigningKey::from_pem(&pem, None).unwrap()] {
        for container in [Container::Metablock, Container::Envelope] {
            let mut md = big_link(3_000, &KeyId::new("ab").unwrap(), &[1]);
            let mut saved = Metadata::new(md.payload().unwrap(), container).unwrap();
            let (id, path) = sign_and_save(&mut saved, &key, |id| {
                dir.path().join(format!("{}.link", id.short()))
            })
            .unwrap();
            let read = Metadata::load(&path).unwrap();
            verify_metadata(&read, &id, key.public_key()).unwrap();
            if key.public_key().scheme() == Scheme::Ed25519 {
                // Deterministic signatures: byte-identical to the slow path.
                md = Metadata::new(md.payload().unwrap(), container).unwrap();
                sign_metadata(&mut md, &key).unwrap();
                assert_eq!(std::fs::read(&path).unwrap(), md.to_bytes().unwrap());
            }
        }
    }
}

#[test]
fn verifying_while_parsing_gives_verify_metadata_s_verdicts() {
    let key = rfc8032_key();
    let mut md = big_link(5_000, &KeyId::new("ab").unwrap(), &[]);
    let id = sign_metadata(&mut md, &key).unwrap();
    let text = String::from_utf8(md.to_bytes().unwrap()).unwrap();
    let (parsed, verdict) = parse_and_verify_link(&text, &id, key.public_key()).unwrap();
    assert!(verdict.is_ok());
    assert_eq!(parsed, md);
    // A digest changed after signing: the hash made during the parse
    // no longer matches.
    let tampered = text.replacen(&"07".repeat(32), &"08".repeat(32), 1);
    assert_ne!(tampered, text);
    let (_, verdict) = parse_and_verify_link(&tampered, &id, key.public_key()).unwrap();
    assert!(matches!(verdict, Err(CryptoError::BadSignature(_))));
    // No signature by this key: the ordinary check's reason.
    let other = SigningKey::generate_ed25519();
    let other_id = other.keyid().unwrap();
    let (_, verdict) = parse_and_verify_link(&text, &other_id, other.public_key()).unwrap();
    assert!(matches!(verdict, Err(CryptoError::NoSignature(_))));
    // Not in canonical key order: declined, for the ordinary path.
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let swapped = format!(
        r#"{{"signed":{},"signatures":{}}}"#,
        value["signed"], value["signatures"]
    );
    assert!(parse_and_verify_link(&swapped, &id, key.public_key()).is_none());
    // Another key type: parsed here, checked the ordinary way.
    let p256 = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let pem =
        pkcs8::EncodePrivateKey::to_pkcs8_pem(&p256, pkcs8::der::pem::LineEnding::LF).unwrap();
    let ecdsa = SigningKey::from_pem(&pem, None).unwrap();
    let eid = sign_metadata(&mut md, &ecdsa).unwrap();
    let text = String::from_utf8(md.to_bytes().unwrap()).unwrap();
    let (_, verdict) = parse_and_verify_link(&text, &eid, ecdsa.public_key()).unwrap();
    assert!(verdict.is_ok());
}

#[test]
fn rsa_under_2048_bits_is_weak_and_does_not_sign() {
    let weak = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 1024).unwrap();
    let pem =
        pkcs8::EncodePrivateKey::to_pkcs8_pem(&weak, pkcs8::der::pem::LineEnding::LF).unwrap();
    let key = SigningKey::from_pem(&pem, None).unwrap();
    assert_eq!(
        key.public_key().weakness(),
        Some(KeyWeakness::ShortRsa { bits: 1024 })
    );
    assert!(key.public_key().is_weak());
    assert!(matches!(
        key.sign(b"msg"),
        Err(CryptoError::WeakKey(KeyWeakness::ShortRsa { bits: 1024 }))
    ));
    // Its public key still verifies (with a weakness to warn about): a
    // signature made elsewhere checks out.
    let signer = rsa::pss::BlindedSigningKey::<sha2::Sha256>::new(weak);
    let sig = signature::RandomizedSigner::sign_with_rng(&signer, &mut rand_core::OsRng, b"msg");
    assert!(key
        .public_key()
        .verify(b"msg", &signature::SignatureEncoding::to_vec(&sig)));

    let strong = SigningKey::generate_ed25519();
    assert_eq!(strong.public_key().weakness(), None);
}

#[cfg(unix)]
#[test]
fn key_files_that_are_not_regular_files_are_refused_without_blocking() {
    use intact_model::io::ReadError;
    let dir = tempfile::tempdir().unwrap();
    let zero = dir.path().join("zero.pub");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let fifo = dir.path().join("fifo.pub");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for path in [zero, fifo] {
        // On a thread with a deadline: before the fix, both never returned.
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || {
            let _ = tx.send((
                load_public_key(&p).map(|_| ()),
                load_key_file(&p, None).map(|_| ()),
            ));
        });
        let (public, any) = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the key load returned");
        for err in [public.unwrap_err(), any.unwrap_err()] {
            assert!(
                matches!(&err, CryptoError::Read(ReadError::NotRegular { path: p, .. }) if *p == path),
                "{err}"
            );
        }
    }
}

/// RFC 8032's first test key; the OpenSSH line and fingerprint are what
/// `ssh-keygen -l` prints for it.
#[test]
fn openssh_form_and_fingerprint_match_ssh_keygen() {
    let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";
    let k = PublicKey::from_spki_pem(pem).unwrap();
    assert_eq!(
        k.to_openssh().as_deref(),
        Some("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea")
    );
    assert_eq!(
        k.ssh_fingerprint().as_deref(),
        Some("SHA256:bbXpuKG6zhzdmnxq256TlqzFBzRl2f6OOg722cYNbU8")
    );
    assert_eq!(
        PublicKey::ssh_fingerprint_of(&k.to_openssh().unwrap()),
        k.ssh_fingerprint()
    );
    assert_eq!(
        PublicKey::ssh_fingerprint_of(
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea"
        ),
        None
    );
    let other = SigningKey::generate_ed25519();
    assert!(k.same_material(&k.clone()));
    assert!(!k.same_material(other.public_key()));
}

/// What runs beside the signing failing after the link's file was
/// finished and flushed leaves no file (not even a temporary one) and no
/// signature on the metadata, for links written whole and streamed.
#[test]
fn a_failure_beside_the_signing_leaves_nothing() {
    let key = SigningKey::generate_ed25519();
    let dir = tempfile::tempdir().unwrap();
    for n in [1usize, 6000] {
        let mut md = big_link(n, &key.keyid().unwrap(), &[]);
        if let Metadata::Metablock(mb) = &mut md {
            mb.signatures.clear();
        }
        let saved = sign_and_save_alongside(
            &mut md,
            &key,
            |_| dir.path().join("x.link"),
            |_| {
                // Long enough for the link to be finished first.
                std::thread::sleep(std::time::Duration::from_millis(300));
                Err::<(), _>("refused")
            },
        )
        .unwrap();
        assert_eq!(saved.unwrap_err(), "refused");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{n} artifacts: {left:?}");
        assert!(
            md.signatures().is_empty(),
            "{n} artifacts: signed, not saved"
        );
    }
}
