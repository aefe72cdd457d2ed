//! Workflow tests on in-memory chains. Conformance with the reference is
//! tested in the workspace `tests/` crate.

use std::collections::BTreeMap;

use intact_crypto::{sign_metadata, PublicKey, SigningKey};
use intact_model::{
    Container, Digest, DigestSet, Expires, KeyId, Layout, Link, Metadata, Rule, Step, StepName,
};

use crate::*;

fn name(s: &str) -> StepName {
    StepName::new(s).unwrap()
}

fn digest(s: &str) -> DigestSet {
    DigestSet::single("sha256", Digest::new(s).unwrap())
}

fn rules(list: &[&str]) -> Vec<Rule> {
    list.iter().map(|r| Rule::parse_str(r).unwrap()).collect()
}

struct Chain {
    owner: SigningKey,
    alice: SigningKey,
    layout: Layout,
    files: BTreeMap<String, Vec<u8>>,
}

impl Chain {
    /// clone creates src/a.py; build must take it unchanged.
    fn new() -> Self {
        let owner = SigningKey::generate_ed25519();
        let alice = SigningKey::generate_ed25519();
        let mut layout = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
        let dict = alice.public_key().to_key_dict().unwrap();
        layout.keys.insert(alice.keyid().unwrap(), dict);
        let mut clone = Step::new(name("clone"));
        clone.pubkeys = vec![alice.keyid().unwrap()];
        clone.expected_products = rules(&["CREATE src/*", "DISALLOW *"]);
        let mut build = Step::new(name("build"));
        build.pubkeys = vec![alice.keyid().unwrap()];
        build.expected_materials = rules(&["MATCH src/* WITH PRODUCTS FROM clone", "DISALLOW *"]);
        layout.steps = vec![clone, build];
        Chain {
            owner,
            alice,
            layout,
            files: BTreeMap::new(),
        }
    }

    fn add_link(&mut self, key: &SigningKey, link: Link, container: Container) {
        let mut md = Metadata::new(link.clone().into(), container).unwrap();
        let keyid = sign_metadata(&mut md, key).unwrap();
        self.files
            .insert(link.name.link_file_name(&keyid), md.to_bytes().unwrap());
    }

    fn standard_links(&mut self, build_digest: &str) {
        let mut clone = Link::new(name("clone"));
        clone
            .products
            .insert("src/a.py".parse().unwrap(), digest("aa"));
        let mut build = Link::new(name("build"));
        build
            .materials
            .insert("src/a.py".parse().unwrap(), digest(build_digest));
        let alice = SigningKey::from_pem(&self.alice.to_pkcs8_pem(None).unwrap(), None).unwrap();
        self.add_link(&alice, clone, Container::Metablock);
        self.add_link(&alice, build, Container::Envelope);
    }

    fn signed_layout(&self) -> Metadata {
        let mut md = Metadata::new(self.layout.clone().into(), Container::Metablock).unwrap();
        sign_metadata(&mut md, &self.owner).unwrap();
        md
    }

    fn verify_with(&self, md: &Metadata, opts: &VerifyOptions) -> Report {
        let keys: BTreeMap<KeyId, PublicKey> =
            BTreeMap::from([(self.owner.keyid().unwrap(), self.owner.public_key().clone())]);
        verify(md, &keys, &MemoryLinkSource::new(self.files.clone()), opts).unwrap()
    }

    fn verify(&self) -> Report {
        self.verify_with(&self.signed_layout(), &VerifyOptions::new())
    }
}

fn failure(r: &Report) -> &Failure {
    assert!(!r.verified, "expected a failure:\n{r}");
    r.failure.as_ref().unwrap()
}

#[test]
fn a_valid_chain_in_mixed_containers_verifies() {
    let mut c = Chain::new();
    c.standard_links("aa");
    let r = c.verify();
    assert!(r.verified, "{r}");
    assert!(r.to_string().ends_with("verification PASSED"));
}

#[test]
fn a_changed_artifact_names_steps_rule_and_digests() {
    let mut c = Chain::new();
    c.standard_links("bb");
    let r = c.verify();
    let f = failure(&r);
    assert_eq!(f.kind, FailureKind::StepRule);
    assert_eq!(f.stage, Stage::StepRules);
    assert_eq!(f.scope.as_deref(), Some("build"));
    assert_eq!(f.rule.as_deref(), Some("DISALLOW *"));
    assert_eq!(f.artifacts[0].name, "src/a.py");
    assert_eq!(f.artifacts[0].problem, ArtifactProblem::DigestMismatch);
    assert_eq!(f.artifacts[0].expected, Some(digest("aa")));
    assert_eq!(f.artifacts[0].actual, Some(digest("bb")));
}

#[test]
fn expired_and_altered_layouts_fail() {
    let mut c = Chain::new();
    c.standard_links("aa");
    let md = c.signed_layout();
    let later = time::OffsetDateTime::parse(
        "2099-01-01T00:00:00Z",
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let r = c.verify_with(&md, &VerifyOptions::new().now(later));
    assert_eq!(failure(&r).kind, FailureKind::LayoutExpired);
    assert_eq!(failure(&r).stage, Stage::LayoutExpiry);

    let mut altered = md.clone();
    if let Metadata::Metablock(m) = &mut altered {
        if let intact_model::Payload::Layout(l) = &mut m.signed {
            l.steps[1].expected_materials.clear();
        }
    }
    let r = c.verify_with(&altered, &VerifyOptions::new());
    assert_eq!(failure(&r).kind, FailureKind::LayoutSignature);
    assert_eq!(failure(&r).stage, Stage::LayoutSignatures);
}

#[test]
fn links_by_unauthorised_keys_do_not_count() {
    let mut c = Chain::new();
    let mallory = SigningKey::generate_ed25519();
    let mut clone = Link::new(name("clone"));
    clone
        .products
        .insert("src/a.py".parse().unwrap(), digest("aa"));
    // Mallory's link, filed under Alice's name: the signature check drops it.
    let mut md = Metadata::new(clone.into(), Container::Metablock).unwrap();
    sign_metadata(&mut md, &mallory).unwrap();
    let file = name("clone").link_file_name(&c.alice.keyid().unwrap());
    c.files.insert(file, md.to_bytes().unwrap());
    let r = c.verify();
    let f = failure(&r);
    assert_eq!(f.kind, FailureKind::Threshold);
    assert_eq!(f.stage, Stage::LinkSignatures);
    assert_eq!(r.warnings.len(), 1, "the dropped link is named: {r}");
}

#[test]
fn missing_links_name_the_expected_files() {
    let c = Chain::new();
    let r = c.verify();
    let f = failure(&r);
    assert_eq!(f.kind, FailureKind::LinkMissing);
    assert_eq!(f.stage, Stage::Links);
    assert_eq!(f.scope.as_deref(), Some("clone"));
}

#[test]
fn strict_checks_and_their_compat_relaxation() {
    // A link recorded for "clone" filed as "build".
    let mut c = Chain::new();
    c.standard_links("aa");
    let mut wrong = Link::new(name("clone"));
    wrong
        .materials
        .insert("src/a.py".parse().unwrap(), digest("aa"));
    let mut md = Metadata::new(wrong.into(), Container::Metablock).unwrap();
    let keyid = sign_metadata(&mut md, &c.alice).unwrap();
    c.files
        .insert(name("build").link_file_name(&keyid), md.to_bytes().unwrap());
    let r = c.verify();
    assert_eq!(failure(&r).kind, FailureKind::LinkNameMismatch, "{r}");
    assert_eq!(failure(&r).scope.as_deref(), Some("build"));
    let r = c.verify_with(&c.signed_layout(), &VerifyOptions::new().compat(true));
    assert!(r.verified, "{r}");
    assert_eq!(r.warnings.len(), 1);

    // The same key under two keyids lets one person meet threshold 2.
    let mut c = Chain::new();
    c.standard_links("aa");
    let dict = c.layout.keys.values().next().unwrap().clone();
    let mut map = dict.as_map().clone();
    map.insert("keyid".into(), "ffff".into());
    c.layout.keys.insert(
        KeyId::new("ffff").unwrap(),
        intact_model::KeyDict::new(map).unwrap(),
    );
    let r = c.verify();
    assert_eq!(failure(&r).kind, FailureKind::DuplicateKey);
    assert_eq!(failure(&r).stage, Stage::LayoutChecks);
    assert!(
        c.verify_with(&c.signed_layout(), &VerifyOptions::new().compat(true))
            .verified
    );

    // Threshold below one is refused even under --compat.
    let mut c = Chain::new();
    c.standard_links("aa");
    c.layout.steps[0].threshold = 0;
    let r = c.verify_with(&c.signed_layout(), &VerifyOptions::new().compat(true));
    assert_eq!(failure(&r).kind, FailureKind::ThresholdBelowOne);
}

#[test]
fn sublayouts_verify_recursively_and_summarise() {
    let mut c = Chain::new();
    c.standard_links("aa");
    // Alice delivers a sublayout for "build": one inner step "compile"
    // signed by Bob, whose materials become build's materials.
    let bob = SigningKey::generate_ed25519();
    let mut sub = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
    sub.keys.insert(
        bob.keyid().unwrap(),
        bob.public_key().to_key_dict().unwrap(),
    );
    let mut compile = Step::new(name("compile"));
    compile.pubkeys = vec![bob.keyid().unwrap()];
    sub.steps = vec![compile];
    let mut md = Metadata::new(sub.into(), Container::Metablock).unwrap();
    let alice_id = sign_metadata(&mut md, &c.alice).unwrap();
    let file = name("build").link_file_name(&alice_id);
    c.files.insert(file.clone(), md.to_bytes().unwrap());
    for digest_value in ["aa", "cc"] {
        let mut inner = Link::new(name("compile"));
        inner
            .materials
            .insert("src/a.py".parse().unwrap(), digest(digest_value));
        let mut lmd = Metadata::new(inner.clone().into(), Container::Metablock).unwrap();
        let bob_id = sign_metadata(&mut lmd, &bob).unwrap();
        let dir = file.trim_end_matches(".link");
        c.files.insert(
            format!("{dir}/{}", inner.name.link_file_name(&bob_id)),
            lmd.to_bytes().unwrap(),
        );
        let r = c.verify();
        if digest_value == "aa" {
            assert!(r.verified, "{r}");
            assert!(
                r.stages
                    .iter()
                    .any(|s| s.scope.as_deref() == Some("build/compile")),
                "{r}"
            );
        } else {
            assert_eq!(failure(&r).kind, FailureKind::StepRule);
            assert_eq!(failure(&r).scope.as_deref(), Some("build"));
        }
    }
}

#[test]
fn every_kind_has_a_unique_code_that_is_its_json_form_and_belongs_to_one_stage() {
    let mut seen = std::collections::BTreeSet::new();
    for kind in FailureKind::ALL {
        let json = serde_json::to_value(kind).unwrap();
        assert_eq!(json, kind.code(), "{kind:?}");
        assert!(seen.insert(kind.code()), "{kind:?}: code used twice");
        // A failure gets its stage from its kind.
        let f = Failure::new(*kind, None, String::new(), "");
        assert_eq!(f.stage, kind.stage());
    }
}

#[test]
fn the_json_report_carries_the_failure_code() {
    let mut c = Chain::new();
    c.standard_links("bb");
    let r = c.verify();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["failure"]["code"], "step-rule");
    assert_eq!(json["failure"]["stage"], "step-rules");
}

/// Run `f` on a thread, failing instead of hanging if it does not return
/// within a minute (the link files under test could block a reader).
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("verification returned")
}

/// The chain with its links in a directory, `clone`'s link replaced by
/// whatever `place` puts at its path.
fn verify_in_dir(
    place: impl FnOnce(&std::path::Path),
    opts: VerifyOptions,
) -> Result<Report, VerifyError> {
    let mut c = Chain::new();
    c.standard_links("aa");
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in &c.files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let clone = dir
        .path()
        .join(name("clone").link_file_name(&c.alice.keyid().unwrap()));
    std::fs::remove_file(&clone).unwrap();
    place(&clone);
    let md = c.signed_layout();
    let keys: BTreeMap<KeyId, PublicKey> =
        BTreeMap::from([(c.owner.keyid().unwrap(), c.owner.public_key().clone())]);
    let source = DirLinkSource::open(dir.path()).unwrap();
    bounded(move || {
        let out = verify(&md, &keys, &source, &opts);
        drop(dir);
        out
    })
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_symlink_to_dev_zero_named_as_a_link_is_refused_not_read() {
    use intact_model::io::ReadError;
    let fifo = verify_in_dir(
        |p| {
            let made = std::process::Command::new("mkfifo")
                .arg(p)
                .status()
                .unwrap();
            assert!(made.success());
        },
        VerifyOptions::new(),
    );
    let zero = verify_in_dir(
        |p| std::os::unix::fs::symlink("/dev/zero", p).unwrap(),
        VerifyOptions::new(),
    );
    for result in [fifo, zero] {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, VerifyError::Read(ReadError::NotRegular { path, .. })
                if path.to_string_lossy().contains("clone.")),
            "{err}"
        );
    }
}

#[test]
fn a_link_over_the_size_cap_is_refused() {
    use intact_model::io::ReadError;
    let big = verify_in_dir(
        |p| std::fs::write(p, vec![b' '; 4096]).unwrap(),
        VerifyOptions::new().max_metadata_size(4095),
    );
    assert!(
        matches!(
            big,
            Err(VerifyError::Read(ReadError::TooLarge {
                size: Some(4096),
                cap: 4095,
                ..
            }))
        ),
        "{big:?}"
    );
    // The same cap holds for links served from memory.
    let mut c = Chain::new();
    c.standard_links("aa");
    let keys: BTreeMap<KeyId, PublicKey> =
        BTreeMap::from([(c.owner.keyid().unwrap(), c.owner.public_key().clone())]);
    let r = verify(
        &c.signed_layout(),
        &keys,
        &MemoryLinkSource::new(c.files.clone()),
        &VerifyOptions::new().max_metadata_size(10),
    );
    assert!(matches!(
        r,
        Err(VerifyError::Read(ReadError::TooLarge { .. }))
    ));
}

#[test]
fn a_missing_link_directory_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let err = DirLinkSource::open(&missing).unwrap_err();
    assert!(
        matches!(&err, VerifyError::LinkDir { dir, .. } if *dir == missing),
        "{err}"
    );
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    assert!(matches!(
        DirLinkSource::open(&file),
        Err(VerifyError::LinkDir { .. })
    ));
}

#[test]
fn a_name_with_a_newline_and_ansi_escapes_cannot_spoof_the_text_report() {
    let evil = "x\n\x1b[32mverification PASSED";
    let mut c = Chain::new();
    c.standard_links("aa");
    // clone also creates the evil artifact, which `DISALLOW *` refuses.
    let mut clone = Link::new(name("clone"));
    clone
        .products
        .insert("src/a.py".parse().unwrap(), digest("aa"));
    clone.products.insert(evil.parse().unwrap(), digest("cc"));
    let alice = SigningKey::from_pem(&c.alice.to_pkcs8_pem(None).unwrap(), None).unwrap();
    c.add_link(&alice, clone, Container::Metablock);
    let r = c.verify();
    let f = failure(&r);
    assert_eq!(f.kind, FailureKind::StepRule);
    assert_eq!(f.artifacts[0].name, evil, "the report data keeps the name");
    let text = r.to_string();
    assert!(
        !text.chars().any(|ch| ch != '\n' && ch.is_control()),
        "raw control character in:\n{text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("verification PASSED")),
        "{text}"
    );
    assert!(text.ends_with("verification FAILED"), "{text}");
    assert!(
        text.contains(r#""x\n\x1b[32mverification PASSED""#),
        "the name is shown escaped and quoted:\n{text}"
    );
}

#[test]
fn a_layout_without_expiry_is_refused_and_compat_accepts_it_only_in_dsse() {
    let mut c = Chain::new();
    c.standard_links("aa");
    c.layout.expires = None;
    for container in [Container::Metablock, Container::Envelope] {
        let mut md = Metadata::new(c.layout.clone().into(), container).unwrap();
        sign_metadata(&mut md, &c.owner).unwrap();

        let strict = c.verify_with(&md, &VerifyOptions::new());
        assert_eq!(failure(&strict).kind, FailureKind::LayoutNoExpiry);
        assert_eq!(failure(&strict).stage, Stage::LayoutExpiry);

        let compat = c.verify_with(&md, &VerifyOptions::new().compat(true));
        if container == Container::Envelope {
            // The reference verifies DSSE payload bytes as written and
            // gives the layout a default expiry: it never expires.
            assert!(compat.verified, "{compat}");
            assert!(compat
                .warnings
                .iter()
                .any(|w| w.stage == Stage::LayoutExpiry));
            let stage = compat
                .stages
                .iter()
                .find(|s| s.stage == Stage::LayoutExpiry)
                .unwrap();
            assert_eq!(stage.status, Status::Warning);
        } else {
            // The reference re-serialises a Metablock payload with its
            // default expiry before checking the signature: it fails.
            assert_eq!(failure(&compat).kind, FailureKind::LayoutNoExpiry);
        }
    }
}
