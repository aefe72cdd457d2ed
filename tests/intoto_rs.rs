//! Differential tests against in-toto-rs 0.4, a second implementation
//! beside the Python reference: a supply chain it writes (its layout
//! builder, its recorder, its legacy keyids with `keyid_hash_algorithms`)
//! verifies under intact, one intact writes verifies under it, and a
//! tampered artifact fails under both.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use in_toto::crypto::{KeyType, PrivateKey, PublicKey as RsPublicKey, SignatureScheme};
use in_toto::models::rule::{Artifact, ArtifactRule};
use in_toto::models::step::Step as RsStep;
use in_toto::models::{
    LayoutMetadataBuilder, LinkMetadataBuilder, Metablock as RsMetablock, MetablockBuilder,
    VirtualTargetPath,
};
use intact_crypto::{sign_metadata, PublicKey, SigningKey};
use intact_model::{Container, KeyDict, Metadata};
use intact_verify::{verify, MemoryLinkSource, VerifyOptions};

fn rs_key() -> PrivateKey {
    let der = PrivateKey::new(KeyType::Ed25519).unwrap();
    PrivateKey::from_pkcs8(&der, SignatureScheme::Ed25519).unwrap()
}

fn path(p: &str) -> VirtualTargetPath {
    VirtualTargetPath::new(p.into()).unwrap()
}

/// Two steps: `write` creates foo.py; `package` takes it as written and
/// creates foo.tar.gz, nothing else.
fn rs_layout(owner: &PrivateKey, functionary: &RsPublicKey) -> RsMetablock {
    let id = functionary.key_id().clone();
    let layout = LayoutMetadataBuilder::new()
        .add_key(functionary.clone())
        .add_step(
            RsStep::new("write")
                .threshold(1)
                .add_key(id.clone())
                .add_expected_product(ArtifactRule::Create(path("foo.py")))
                .add_expected_product(ArtifactRule::Disallow(path("*"))),
        )
        .add_step(
            RsStep::new("package")
                .threshold(1)
                .add_key(id)
                .add_expected_material(ArtifactRule::Match {
                    pattern: path("foo.py"),
                    in_src: None,
                    with: Artifact::Products,
                    in_dst: None,
                    from: "write".into(),
                })
                .add_expected_material(ArtifactRule::Disallow(path("*")))
                .add_expected_product(ArtifactRule::Create(path("foo.tar.gz")))
                .add_expected_product(ArtifactRule::Match {
                    pattern: path("foo.py"),
                    in_src: None,
                    with: Artifact::Materials,
                    in_dst: None,
                    from: "package".into(),
                })
                .add_expected_product(ArtifactRule::Disallow(path("*"))),
        )
        .build()
        .unwrap();
    MetablockBuilder::from_metadata(Box::new(layout))
        .sign(&[owner])
        .unwrap()
        .build()
}

/// A link in-toto-rs records over `paths` (absolute, under `dir`, whose
/// prefix it strips), signed by `key`.
fn rs_link(
    name: &str,
    dir: &Path,
    materials: &[&str],
    products: &[&str],
    key: &PrivateKey,
) -> RsMetablock {
    rs_link_with_env(name, dir, materials, products, key, Some(BTreeMap::new()))
}

fn rs_link_with_env(
    name: &str,
    dir: &Path,
    materials: &[&str],
    products: &[&str],
    key: &PrivateKey,
    env: Option<BTreeMap<String, String>>,
) -> RsMetablock {
    let prefix = format!("{}/", dir.display());
    let abs =
        |names: &[&str]| -> Vec<String> { names.iter().map(|n| format!("{prefix}{n}")).collect() };
    let (m, p) = (abs(materials), abs(products));
    let record = |paths: &[String]| {
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        in_toto::runlib::record_artifacts(&refs, None, Some(&[prefix.as_str()])).unwrap()
    };
    LinkMetadataBuilder::new()
        .name(name.into())
        // Without one in-toto-rs writes `environment: null`, which the
        // Python reference refuses (see the last test).
        .env(env)
        .materials(record(&m))
        .products(record(&p))
        .signed::<in_toto::interchange::Json>(key)
        .unwrap()
}

/// A keyid as in-toto-rs writes it (its `prefix` is only 8 digits).
fn rs_id(key: &RsPublicKey) -> String {
    serde_json::to_value(key.key_id())
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

fn rs_file(name: &str, key: &RsPublicKey) -> String {
    format!("{name}.{}.link", key.key_id().prefix())
}

/// intact's verdict on a layout and links given as file bytes: `Ok` or
/// the failure's message.
fn intact_verdict(
    layout: &[u8],
    owner: &KeyDict,
    links: BTreeMap<String, Vec<u8>>,
) -> Result<(), String> {
    let layout = Metadata::from_slice(layout).unwrap();
    let key = PublicKey::from_key_dict(owner).unwrap();
    let keys = BTreeMap::from([(owner.keyid().unwrap(), key)]);
    let options = VerifyOptions::default();
    let report = verify(&layout, &keys, &MemoryLinkSource::new(links), &options).unwrap();
    match report.failure {
        None if report.verified => Ok(()),
        failure => Err(failure.map_or_else(|| "not verified".into(), |f| f.message)),
    }
}

fn key_dict(key: &RsPublicKey) -> KeyDict {
    let mut value = serde_json::to_value(key).unwrap();
    if let Some(map) = value.as_object_mut() {
        map.insert("keyid".into(), rs_id(key).into());
    }
    serde_json::from_value(value).unwrap()
}

#[test]
fn a_chain_in_toto_rs_writes_verifies_under_intact_and_tampering_fails() {
    let dir = tempfile::tempdir().unwrap();
    let owner = rs_key();
    let functionary = rs_key();
    std::fs::write(dir.path().join("foo.py"), "print('hi')\n").unwrap();
    let write = rs_link("write", dir.path(), &[], &["foo.py"], &functionary);
    std::fs::write(dir.path().join("foo.tar.gz"), "archive").unwrap();
    let package = rs_link(
        "package",
        dir.path(),
        &["foo.py"],
        &["foo.py", "foo.tar.gz"],
        &functionary,
    );
    let layout = serde_json::to_vec(&rs_layout(&owner, functionary.public())).unwrap();
    let links = |package: &RsMetablock| {
        BTreeMap::from([
            (
                rs_file("write", functionary.public()),
                serde_json::to_vec(&write).unwrap(),
            ),
            (
                rs_file("package", functionary.public()),
                serde_json::to_vec(package).unwrap(),
            ),
        ])
    };
    let owner_dict = key_dict(owner.public());
    assert_eq!(
        intact_verdict(&layout, &owner_dict, links(&package)),
        Ok(())
    );

    // foo.py changed between the steps: both implementations refuse.
    std::fs::write(dir.path().join("foo.py"), "print('owned')\n").unwrap();
    let tampered = rs_link(
        "package",
        dir.path(),
        &["foo.py"],
        &["foo.py", "foo.tar.gz"],
        &functionary,
    );
    let refused = intact_verdict(&layout, &owner_dict, links(&tampered)).unwrap_err();
    // MATCH finds no equal foo.py, so the DISALLOW after it catches it.
    assert!(refused.contains("material rule 2 failed"), "{refused}");
    let link_dir = tempfile::tempdir().unwrap();
    for (name, bytes) in links(&tampered) {
        std::fs::write(link_dir.path().join(name), bytes).unwrap();
    }
    let rs_layout_block: RsMetablock = serde_json::from_slice(&layout).unwrap();
    let keys = HashMap::from([(owner.public().key_id().clone(), owner.public().clone())]);
    assert!(in_toto::verifylib::in_toto_verify(
        &rs_layout_block,
        keys,
        link_dir.path().to_str().unwrap(),
        None
    )
    .is_err());
}

/// The same chain written by intact (model types, intact's recorder and
/// signer) verifies under in-toto-rs.
#[test]
fn a_chain_intact_writes_verifies_under_in_toto_rs() {
    let dir = tempfile::tempdir().unwrap();
    let owner = SigningKey::generate_ed25519();
    let functionary = SigningKey::generate_ed25519();
    let fid = functionary.keyid().unwrap();
    // in-toto-rs checks signatures over its own re-serialisation, which
    // always writes `keyval.private: ""`: a layout meant for it carries
    // that member (the Python reference and intact sign the dict as given).
    let mut fdict = serde_json::to_value(functionary.public_key().to_key_dict().unwrap()).unwrap();
    fdict["keyval"]["private"] = "".into();
    let layout = serde_json::json!({
        "_type": "layout",
        "expires": "2099-01-01T00:00:00Z",
        "readme": "",
        "keys": { fid.as_str(): fdict },
        "steps": [
            {
                "_type": "step", "name": "write", "threshold": 1,
                "pubkeys": [fid.as_str()], "expected_command": [],
                "expected_materials": [],
                "expected_products": [["CREATE", "foo.py"], ["DISALLOW", "*"]]
            },
            {
                "_type": "step", "name": "package", "threshold": 1,
                "pubkeys": [fid.as_str()], "expected_command": [],
                "expected_materials": [
                    ["MATCH", "foo.py", "WITH", "PRODUCTS", "FROM", "write"],
                    ["DISALLOW", "*"]
                ],
                "expected_products": [
                    ["CREATE", "foo.tar.gz"],
                    ["MATCH", "foo.py", "WITH", "MATERIALS", "FROM", "package"],
                    ["DISALLOW", "*"]
                ]
            }
        ],
        "inspect": []
    });
    let payload = intact_model::Payload::from_value(layout).unwrap();
    let mut layout = Metadata::new(payload, Container::Metablock).unwrap();
    sign_metadata(&mut layout, &owner).unwrap();

    let opts = intact_record::HashOptions {
        base_path: Some(dir.path().into()),
        ..Default::default()
    };
    let link_dir = tempfile::tempdir().unwrap();
    let record = |name: &str, materials: &[&str], products: &[&str]| {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (link, _) = intact_record::record_run(
            intact_model::StepName::new(name).unwrap(),
            &names(materials),
            &names(products),
            None,
            &opts,
            &intact_record::RunOptions::default(),
        )
        .unwrap();
        let mut md = Metadata::new(link.into(), Container::Metablock).unwrap();
        sign_metadata(&mut md, &functionary).unwrap();
        let file = intact_model::StepName::new(name)
            .unwrap()
            .link_file_name(&fid);
        md.save(&link_dir.path().join(file)).unwrap();
    };
    std::fs::write(dir.path().join("foo.py"), "print('hi')\n").unwrap();
    record("write", &[], &["foo.py"]);
    std::fs::write(dir.path().join("foo.tar.gz"), "archive").unwrap();
    record("package", &["foo.py"], &["foo.py", "foo.tar.gz"]);

    let rs_layout_block: RsMetablock = serde_json::from_slice(&layout.to_bytes().unwrap()).unwrap();
    let owner_dict = serde_json::to_value(owner.public_key().to_key_dict().unwrap()).unwrap();
    let rs_owner: RsPublicKey = serde_json::from_value(owner_dict).unwrap();
    assert_eq!(
        rs_id(&rs_owner),
        owner.keyid().unwrap().as_str(),
        "both compute the same modern keyid"
    );
    let keys = HashMap::from([(rs_owner.key_id().clone(), rs_owner)]);
    in_toto::verifylib::in_toto_verify(
        &rs_layout_block,
        keys,
        link_dir.path().to_str().unwrap(),
        None,
    )
    .unwrap();
}

#[test]
fn keyids_agree_for_keys_without_legacy_hash_algorithms() {
    let key = SigningKey::generate_ed25519();
    let dict = serde_json::to_value(key.public_key().to_key_dict().unwrap()).unwrap();
    let rs: RsPublicKey = serde_json::from_value(dict).unwrap();
    assert_eq!(rs_id(&rs), key.keyid().unwrap().as_str());
}

/// in-toto-rs writes `"environment": null` for a link recorded without an
/// environment; the Python reference refuses such a link (`environment`
/// must be a dict), and so does intact, naming the field.
#[test]
fn a_link_with_a_null_environment_is_refused_as_the_reference_does() {
    let dir = tempfile::tempdir().unwrap();
    let owner = rs_key();
    let functionary = rs_key();
    std::fs::write(dir.path().join("foo.py"), "print('hi')\n").unwrap();
    let write = rs_link_with_env("write", dir.path(), &[], &["foo.py"], &functionary, None);
    let bytes = serde_json::to_vec(&write).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(value["signed"]["environment"].is_null());
    let layout = serde_json::to_vec(&rs_layout(&owner, functionary.public())).unwrap();
    let links = BTreeMap::from([(rs_file("write", functionary.public()), bytes)]);
    let refused = intact_verdict(&layout, &key_dict(owner.public()), links).unwrap_err();
    assert!(refused.contains("signed.environment"), "{refused}");
}
