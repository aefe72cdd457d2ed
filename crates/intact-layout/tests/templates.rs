//! The templates in layouts/ build and check clean, as shipped.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::{Path, PathBuf};

use intact_crypto::SigningKey;
use intact_layout::{check_signed, sign_layout, BuildOptions, KeySpec, Source};
use intact_model::Container;

fn templates() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../layouts");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    found.sort();
    found
}

/// Copy a template next to freshly generated keys for its `keys:` entries.
fn install(template: &Path, dir: &Path) -> PathBuf {
    let target = dir.join(template.file_name().unwrap());
    std::fs::copy(template, &target).unwrap();
    let source = Source::load(&target).unwrap();
    for (_, spec) in source.spec().keys.iter() {
        let KeySpec::File(rel) = spec else {
            panic!("templates name key files")
        };
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let key = SigningKey::generate_ed25519();
        std::fs::write(&path, key.public_key().to_spki_pem().unwrap()).unwrap();
    }
    // `principal keys/x.pub` git signers name OpenSSH public key files.
    for line in source.spec().git.iter().flat_map(|g| g.signers.iter()) {
        if let [_, rel] = line.split_whitespace().collect::<Vec<_>>().as_slice() {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, format!("{SSH_KEY} maintainer\n")).unwrap();
        }
    }
    target
}

const SSH_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIARMDqJGytSxdsEDAT0M2kpolsN7fVEFW8QTA8XTneZf";

#[test]
fn every_template_builds_and_checks_clean() {
    let names: Vec<String> = templates()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["container-image.yaml", "demo.yaml", "rust-crate.yaml"]
    );
    let owner = SigningKey::generate_ed25519();
    for template in templates() {
        let text = std::fs::read_to_string(&template).unwrap();
        assert!(
            text.lines().take(6).any(|l| l.starts_with("# Use when: ")),
            "{}: says when to use it",
            template.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let file = install(&template, dir.path());
        let compiled = Source::load(&file)
            .unwrap()
            .compile(&BuildOptions::default())
            .unwrap();
        assert!(
            compiled.findings.is_empty(),
            "{}: {:#?}",
            template.display(),
            compiled.findings
        );
        for container in [Container::Metablock, Container::Envelope] {
            let signed =
                sign_layout(&compiled.layout, std::slice::from_ref(&owner), container).unwrap();
            let findings =
                check_signed(&signed.to_bytes().unwrap(), time::OffsetDateTime::now_utc()).unwrap();
            assert!(findings.is_empty(), "{}: {findings:#?}", template.display());
        }
    }
}

#[test]
fn rust_template_takes_the_tag_at_build_or_verification_time() {
    let dir = tempfile::tempdir().unwrap();
    let template = templates()
        .into_iter()
        .find(|p| p.ends_with("rust-crate.yaml"))
        .unwrap();
    let file = install(&template, dir.path());
    let source = Source::load(&file).unwrap();
    let later = source.compile(&BuildOptions::default()).unwrap();
    assert_eq!(later.unbound_parameters.iter().collect::<Vec<_>>(), ["TAG"]);
    let mut options = BuildOptions::default();
    options.parameters.insert("TAG".into(), "v1.2.3".into());
    options.parameters.insert("CRATE".into(), "intact".into());
    let now = source.compile(&options).unwrap();
    assert!(now.findings.is_empty() && now.unbound_parameters.is_empty());
    let package = &now.layout.steps[2];
    assert_eq!(
        package.expected_products[0].to_string(),
        "CREATE intact-v1.2.3.tar.gz"
    );
    // Binding later gives the same layout.
    let params = std::collections::BTreeMap::from([("TAG".to_string(), "v1.2.3".to_string())]);
    let mut crate_now = BuildOptions::default();
    crate_now.parameters.insert("CRATE".into(), "intact".into());
    let partial = source.compile(&crate_now).unwrap();
    assert_eq!(
        intact_layout::substitute_parameters(&partial.layout, &params)
            .unwrap()
            .steps,
        now.layout.steps
    );
}
