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
            // The inner link is evidence too (key status, --require-logged
            // and a VSA's input attestations read these records).
            let records: Vec<(&str, &str)> = r
                .links
                .iter()
                .map(|l| (l.step.as_str(), l.file.as_str()))
                .collect();
            let inner = format!(
                "{}/{}",
                file.trim_end_matches(".link"),
                name("compile").link_file_name(&bob.keyid().unwrap())
            );
            assert!(
                records.contains(&("build/compile", inner.as_str())),
                "{records:?}"
            );
            assert!(records.contains(&("build", file.as_str())), "{records:?}");
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

/// The standard chain, with build producing `app.tar` (digest `hex`) and
/// clone's `src/a.py` recorded with a full SHA-256.
fn chain_producing(hex: &str) -> Chain {
    let mut c = Chain::new();
    c.layout.steps[1].expected_products = rules(&["CREATE app.tar", "DISALLOW *"]);
    let a = "aa".repeat(32);
    let mut clone = Link::new(name("clone"));
    clone
        .products
        .insert("src/a.py".parse().unwrap(), digest(&a));
    let mut build = Link::new(name("build"));
    build
        .materials
        .insert("src/a.py".parse().unwrap(), digest(&a));
    build
        .products
        .insert("app.tar".parse().unwrap(), digest(hex));
    let alice = SigningKey::from_pem(&c.alice.to_pkcs8_pem(None).unwrap(), None).unwrap();
    c.add_link(&alice, clone, Container::Metablock);
    c.add_link(&alice, build, Container::Metablock);
    c
}

fn with_subject(spec: &str, from: Option<&str>) -> VerifyOptions {
    VerifyOptions::new()
        .subjects(vec![Subject::parse(spec).unwrap()])
        .from_step(from.map(name))
}

#[test]
fn a_subject_that_a_final_step_produced_passes_with_its_chain() {
    let hex = "cc".repeat(32);
    let c = chain_producing(&hex);
    let r = c.verify_with(
        &c.signed_layout(),
        &with_subject(&format!("dist/app.tar=sha256:{hex}"), None),
    );
    assert!(r.verified, "{r}");
    let m = &r.subjects[0];
    assert_eq!((m.step.as_str(), m.product.as_str()), ("build", "app.tar"));
    assert_eq!(m.digest, format!("sha256:{hex}"));
    let steps: Vec<&str> = m.chain.iter().map(|c| c.step.as_str()).collect();
    assert_eq!(steps, ["build", "clone"]);
    assert_eq!(m.chain[0].inputs_from, ["clone"]);
    let alice = c.alice.keyid().unwrap();
    assert_eq!(m.chain[1].signers, [alice.as_str().to_string()]);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["subjects"][0]["chain"][0]["step"], "build");
}

#[test]
fn a_swapped_subject_fails_naming_the_step_and_both_digests() {
    let hex = "cc".repeat(32);
    let other = "dd".repeat(32);
    let c = chain_producing(&hex);
    let r = c.verify_with(
        &c.signed_layout(),
        &with_subject(&format!("app.tar=sha256:{other}"), None),
    );
    let f = failure(&r);
    assert_eq!(f.kind, FailureKind::SubjectNotProduced);
    assert_eq!(f.stage, Stage::Subjects);
    assert_eq!(f.scope.as_deref(), Some("build"));
    assert_eq!(f.artifacts[0].name, "app.tar");
    assert_eq!(f.artifacts[0].expected, Some(digest(&hex)));
    assert_eq!(f.artifacts[0].actual, Some(digest(&other)));
    assert!(r.subjects.is_empty());
}

#[test]
fn an_intermediate_product_is_found_only_with_from() {
    let hex = "cc".repeat(32);
    let c = chain_producing(&hex);
    let spec = format!("src/a.py=sha256:{}", "aa".repeat(32));
    // clone is consumed by build, so not a final step ...
    let r = c.verify_with(&c.signed_layout(), &with_subject(&spec, None));
    assert_eq!(failure(&r).kind, FailureKind::SubjectNotProduced);
    // ... unless named.
    let r = c.verify_with(&c.signed_layout(), &with_subject(&spec, Some("clone")));
    assert!(r.verified, "{r}");
    assert_eq!(r.subjects[0].step, "clone");
    let r = c.verify_with(&c.signed_layout(), &with_subject(&spec, Some("nope")));
    assert_eq!(failure(&r).kind, FailureKind::SubjectUnknownStep);
}

#[test]
fn subject_specs_are_parsed_strictly() {
    let hex = "Ab".repeat(32);
    let s = Subject::parse(&format!("a=b=sha256:{hex}")).unwrap();
    assert_eq!(s.name, "a=b");
    assert_eq!(s.sha256.to_string(), hex.to_lowercase());
    for bad in [
        "app.tar",
        &format!("=sha256:{hex}"),
        &format!("app.tar=sha512:{hex}"),
        "app.tar=sha256:abc",
        &format!("app.tar=sha256:{}", "zz".repeat(32)),
    ] {
        assert!(
            matches!(Subject::parse(bad), Err(VerifyError::SubjectSpec { .. })),
            "{bad}"
        );
    }
}

#[test]
fn unfilled_and_unknown_parameters_fail_before_any_rule_runs() {
    let mut c = Chain::new();
    c.layout.steps[0].expected_products = rules(&["CREATE {DIR}/*", "DISALLOW *"]);
    c.standard_links("aa");
    let md = c.signed_layout();
    let params = |kv: &[(&str, &str)]| {
        VerifyOptions::new().params(
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    };
    let r = c.verify_with(&md, &VerifyOptions::new());
    let f = failure(&r);
    assert_eq!(f.kind, FailureKind::ParameterMissing);
    assert!(f.message.contains("{DIR}"), "{}", f.message);
    assert!(f.hint.contains("--param DIR=VALUE"), "{}", f.hint);
    assert!(!r.stages.iter().any(|s| s.stage == Stage::StepRules));

    let r = c.verify_with(&md, &params(&[("DIR", "src")]));
    assert!(r.verified, "{r}");

    let r = c.verify_with(&md, &params(&[("DIR", "src"), ("DIRR", "x")]));
    assert_eq!(failure(&r).kind, FailureKind::ParameterUnknown);
    let r = c.verify_with(&md, &params(&[("DIR", "src"), ("DIRR", "x")]).compat(true));
    assert!(r.verified, "{r}");
    assert!(r.warnings.iter().any(|w| w.stage == Stage::Parameters));

    // --compat without any --param: the reference's literal text, so the
    // rule then fails as it does under in-toto-verify.
    let r = c.verify_with(&md, &VerifyOptions::new().compat(true));
    assert_eq!(failure(&r).kind, FailureKind::StepRule);
}

#[test]
fn a_failing_inspection_shows_the_last_lines_of_its_stderr() {
    let mut c = Chain::new();
    c.standard_links("aa");
    let script =
        "for i in $(seq 1 30); do echo line $i >&2; done; echo 'tar: bad archive' >&2; exit 3";
    c.layout.inspect = vec![intact_model::Inspection::new(
        name("untar"),
        vec!["sh".into(), "-c".into(), script.into()],
    )];
    let work = tempfile::tempdir().unwrap();
    let opts = VerifyOptions::new()
        .workdir(work.path())
        .persist_inspection_links(false);
    let r = c.verify_with(&c.signed_layout(), &opts);
    let f = failure(&r);
    assert_eq!(f.kind, FailureKind::InspectionFailed);
    assert_eq!(f.stderr.len(), 10);
    assert_eq!(
        f.stderr.last().map(String::as_str),
        Some("tar: bad archive")
    );
    assert_eq!(f.stderr.first().map(String::as_str), Some("line 22"));
    assert!(r.to_string().contains("    tar: bad archive\n"));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["failure"]["stderr"][9], "tar: bad archive");
}

#[test]
fn a_missing_link_names_the_unauthorised_signer_of_the_link_that_is_there() {
    let mut c = Chain::new();
    let mut clone = Link::new(name("clone"));
    clone
        .products
        .insert("src/a.py".parse().unwrap(), digest("aa"));
    let owner = SigningKey::from_pem(&c.owner.to_pkcs8_pem(None).unwrap(), None).unwrap();
    c.add_link(&owner, clone, Container::Metablock);
    let owner_id = c.owner.keyid().unwrap();
    let names = BTreeMap::from([(owner_id.clone(), "owner.pub".to_string())]);
    let r = c.verify_with(&c.signed_layout(), &VerifyOptions::new().key_names(names));
    let f = failure(&r);
    assert_eq!(f.kind, FailureKind::LinkMissing);
    assert_eq!(f.scope.as_deref(), Some("clone"));
    let file = name("clone").link_file_name(&owner_id);
    assert!(f.message.contains(&file), "{}", f.message);
    assert!(
        f.message
            .contains(&format!("signed by owner.pub ({})", owner_id.short())),
        "{}",
        f.message
    );
    assert!(f.hint.contains("does not authorise"), "{}", f.hint);
}

#[test]
fn an_owner_who_has_not_signed_is_named_as_such() {
    let mut c = Chain::new();
    c.standard_links("aa");
    let md = c.signed_layout();
    let other = SigningKey::generate_ed25519();
    let other_id = other.keyid().unwrap();
    let keys: BTreeMap<KeyId, PublicKey> = BTreeMap::from([
        (c.owner.keyid().unwrap(), c.owner.public_key().clone()),
        (other_id.clone(), other.public_key().clone()),
    ]);
    let opts = VerifyOptions::new().key_names(BTreeMap::from([(
        other_id.clone(),
        "carol.pub".to_string(),
    )]));
    let r = verify(&md, &keys, &MemoryLinkSource::new(c.files.clone()), &opts).unwrap();
    let f = failure(&r);
    assert_eq!(f.kind, FailureKind::LayoutSignature);
    // Named as people know the key, and not suspected of tampering.
    assert!(f
        .message
        .contains(&format!("carol.pub ({})", other_id.short())));
    assert!(!f.hint.contains("changed"), "{}", f.hint);
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

#[test]
fn functionaries_are_named_as_the_signed_layout_names_them() {
    let mut c = Chain::new();
    let alice_id = c.alice.keyid().unwrap();
    let named = c.layout.keys[&alice_id].clone().with_name("alice").unwrap();
    c.layout.keys.insert(alice_id.clone(), named);
    c.standard_links("aa");
    // The clone link, re-signed by another key but filed under alice's.
    let file = name("clone").link_file_name(&alice_id);
    let md = Metadata::from_slice(&c.files[&file]).unwrap();
    let intact_model::Payload::Link(link) = md.payload().unwrap() else {
        panic!("a link")
    };
    let mut forged = Metadata::new(link.into(), Container::Metablock).unwrap();
    sign_metadata(&mut forged, &SigningKey::generate_ed25519()).unwrap();
    c.files.insert(file, forged.to_bytes().unwrap());

    let r = c.verify_with(&c.signed_layout(), &VerifyOptions::new());
    let f = failure(&r);
    assert_eq!(f.kind, FailureKind::Threshold);
    let label = format!("alice ({})", alice_id.short());
    assert!(f.message.contains(&label), "{}", f.message);
    assert!(!f.message.contains(alice_id.as_str()), "{}", f.message);
    assert_eq!(
        r.key_names.get(alice_id.as_str()).map(String::as_str),
        Some("alice")
    );

    // A layout whose signature does not hold names nothing.
    let mut md = c.signed_layout();
    let stranger = SigningKey::generate_ed25519();
    md = Metadata::new(md.payload().unwrap(), Container::Metablock).unwrap();
    sign_metadata(&mut md, &stranger).unwrap();
    let r = c.verify_with(&md, &VerifyOptions::new());
    assert_eq!(failure(&r).kind, FailureKind::LayoutSignature);
    assert!(r.key_names.is_empty(), "{:?}", r.key_names);
}

/// Link attestations (DSSE Statements with the link predicate v0.3) in
/// place of, and beside, classic links.
mod link_attestations {
    use super::*;

    /// A full-length SHA-256 (statements check digest lengths).
    fn digest(s: &str) -> DigestSet {
        super::digest(&s.repeat(64 / s.len()))
    }

    fn attestation(key: &SigningKey, link: &Link) -> (String, Vec<u8>) {
        let st = intact_attest::slsa::link_statement(link).unwrap();
        let env = intact_attest::sign_statement(&st, &[key]).unwrap();
        let file = format!(
            "{}.intoto.json",
            link.name.link_file_name(&key.keyid().unwrap())
        );
        (file, env.to_bytes().unwrap())
    }

    /// clone creates src/a.py; build takes it and creates app.
    fn links(src: &str) -> (Link, Link) {
        let mut clone = Link::new(name("clone"));
        clone
            .products
            .insert("src/a.py".parse().unwrap(), digest("aa"));
        let mut build = Link::new(name("build"));
        build
            .materials
            .insert("src/a.py".parse().unwrap(), digest(src));
        build.products.insert("app".parse().unwrap(), digest("bb"));
        build.command = vec!["make".into()];
        (clone, build)
    }

    fn chain() -> Chain {
        let mut c = Chain::new();
        c.layout.steps[1].expected_products = rules(&["CREATE app", "DISALLOW *"]);
        c
    }

    fn add_attestation(c: &mut Chain, key: &SigningKey, link: &Link) {
        let (file, bytes) = attestation(key, link);
        c.files.insert(file, bytes);
    }

    fn alice(c: &Chain) -> SigningKey {
        SigningKey::from_pem(&c.alice.to_pkcs8_pem(None).unwrap(), None).unwrap()
    }

    #[test]
    fn a_chain_of_link_attestations_verifies_like_its_classic_twin() {
        for src in ["aa", "cc"] {
            let (clone, build) = links(src);
            let mut c = chain();
            let a = alice(&c);
            c.add_link(&a, clone.clone(), Container::Metablock);
            c.add_link(&a, build.clone(), Container::Envelope);
            let r1 = c.verify();
            c.files.clear();
            add_attestation(&mut c, &a, &clone);
            add_attestation(&mut c, &a, &build);
            assert!(c.files.keys().all(|f| f.ends_with(".link.intoto.json")));
            let r2 = c.verify();
            assert_eq!(r1.verified, src == "aa", "{r1}");
            assert_eq!(r2.verified, r1.verified, "{r2}");
            assert_eq!(
                r1.failure.as_ref().map(|f| (f.kind, f.scope.clone())),
                r2.failure.as_ref().map(|f| (f.kind, f.scope.clone()))
            );
        }
    }

    #[test]
    fn a_mixed_chain_verifies() {
        let (clone, build) = links("aa");
        let mut c = chain();
        let a = alice(&c);
        c.add_link(&a, clone, Container::Metablock);
        add_attestation(&mut c, &a, &build);
        let r = c.verify();
        assert!(r.verified, "{r}");
        let files: Vec<&str> = r.links.iter().map(|l| l.file.as_str()).collect();
        assert!(files.iter().any(|f| f.ends_with(".link")), "{files:?}");
        assert!(
            files.iter().any(|f| f.ends_with(".link.intoto.json")),
            "{files:?}"
        );
    }

    /// Threshold 2 on build, with bob authorised too.
    fn two_functionaries() -> (Chain, SigningKey) {
        let mut c = chain();
        let bob = SigningKey::generate_ed25519();
        c.layout.keys.insert(
            bob.keyid().unwrap(),
            bob.public_key().to_key_dict().unwrap(),
        );
        c.layout.steps[1].pubkeys.push(bob.keyid().unwrap());
        c.layout.steps[1].threshold = 2;
        (c, bob)
    }

    #[test]
    fn one_step_with_one_functionary_each_way_meets_a_threshold() {
        let (mut c, bob) = two_functionaries();
        let (clone, build) = links("aa");
        let a = alice(&c);
        c.add_link(&a, clone, Container::Metablock);
        c.add_link(&a, build.clone(), Container::Metablock);
        add_attestation(&mut c, &bob, &build);
        let r = c.verify();
        assert!(r.verified, "{r}");

        // Bob's attestation recording other products disagrees.
        let mut other = build;
        other
            .products
            .insert("extra".parse().unwrap(), digest("cc"));
        add_attestation(&mut c, &bob, &other);
        assert_eq!(
            failure(&c.verify()).kind,
            FailureKind::ThresholdDisagreement
        );
    }

    #[test]
    fn a_key_counts_once_whatever_form_its_link_takes() {
        let (mut c, _bob) = two_functionaries();
        let (clone, build) = links("aa");
        let a = alice(&c);
        c.add_link(&a, clone, Container::Metablock);
        c.add_link(&a, build.clone(), Container::Metablock);
        add_attestation(&mut c, &a, &build);
        let r = c.verify();
        let f = failure(&r);
        assert_eq!(f.kind, FailureKind::LinkMissing, "{r}");
        assert!(f.message.contains("found 1 of the 2"), "{}", f.message);
    }

    #[test]
    fn both_forms_of_one_key_must_agree() {
        let (clone, build) = links("aa");
        let mut c = chain();
        let a = alice(&c);
        c.add_link(&a, clone, Container::Metablock);
        c.add_link(&a, build.clone(), Container::Metablock);
        add_attestation(&mut c, &a, &build);
        // What `intact run --attest link` writes: both, from one run.
        let r = c.verify();
        assert!(r.verified, "{r}");
        assert_eq!(r.links.len(), 3);

        let mut other = build;
        other.command = vec!["make".into(), "evil".into()];
        add_attestation(&mut c, &a, &other);
        let r = c.verify();
        let f = failure(&r);
        assert_eq!(f.kind, FailureKind::LinkFormsDisagree, "{r}");
        assert_eq!(f.scope.as_deref(), Some("build"));
    }

    #[test]
    fn attestations_obey_the_rules_of_links() {
        let (clone, build) = links("aa");
        let base = || {
            let mut c = chain();
            let a = alice(&c);
            c.add_link(&a, clone.clone(), Container::Metablock);
            (c, a)
        };
        // Signed by a key the layout does not authorise: not evidence.
        let (mut c, _) = base();
        let mallory = SigningKey::generate_ed25519();
        let (_, bytes) = attestation(&mallory, &build);
        let (file, _) = attestation(&c.alice, &build);
        c.files.insert(file.clone(), bytes);
        assert_eq!(failure(&c.verify()).kind, FailureKind::Threshold);

        // Tampered payload: the signature fails, the file is ignored.
        let (mut c, a) = base();
        let (file, bytes) = attestation(&a, &build);
        let mut env = intact_attest::parse_envelope(&bytes).unwrap();
        let text = String::from_utf8(env.payload.clone()).unwrap();
        env.payload = text.replace("make", "evil").into_bytes();
        c.files.insert(file, env.to_bytes().unwrap());
        assert_eq!(failure(&c.verify()).kind, FailureKind::Threshold);

        // A link for another step filed under build.
        let (mut c, a) = base();
        let mut renamed = build.clone();
        renamed.name = name("test");
        let (_, bytes) = attestation(&a, &renamed);
        let (file, _) = attestation(&a, &build);
        c.files.insert(file, bytes);
        assert_eq!(failure(&c.verify()).kind, FailureKind::LinkNameMismatch);

        // A signed Statement of another predicate type is no link.
        let (mut c, a) = base();
        let st = intact_attest::slsa::provenance_statement(&build, &Default::default()).unwrap();
        let env = intact_attest::sign_statement(&st, &[&a]).unwrap();
        let (file, _) = attestation(&a, &build);
        c.files.insert(file, env.to_bytes().unwrap());
        assert_eq!(failure(&c.verify()).kind, FailureKind::LinkPayloadMalformed);

        // A link attestation under the classic name is recognised by its content.
        let (mut c, a) = base();
        let (_, bytes) = attestation(&a, &build);
        c.files
            .insert(build.name.link_file_name(&a.keyid().unwrap()), bytes);
        let r = c.verify();
        assert!(r.verified, "{r}");
    }
}

#[test]
fn one_key_performing_two_separated_steps_fails_verification() {
    let separate = |c: &mut Chain, groups: &[&[&str]]| {
        let policy = intact_model::Separation {
            groups: groups
                .iter()
                .map(|g| g.iter().map(|s| name(s)).collect())
                .collect(),
        };
        c.layout.inspect = vec![intact_model::Inspection::new(
            name("separation-of-duties"),
            policy.to_run(),
        )];
    };
    // Alice records both clone and build.
    let mut c = Chain::new();
    c.standard_links("aa");
    assert!(c.verify().verified);
    separate(&mut c, &[&["clone", "build"]]);
    let r = c.verify();
    let f = failure(&r);
    assert_eq!(f.kind, FailureKind::SeparationOfDuties);
    assert_eq!(f.stage, Stage::SeparationOfDuties);
    assert!(f.message.contains("clone and build"), "{}", f.message);
    // A group naming no step of the layout is malformed.
    separate(&mut c, &[&["clone", "nope"]]);
    assert_eq!(failure(&c.verify()).kind, FailureKind::SeparationMalformed);
}

/// Separation of duties charges a sublayout step with everyone who signed
/// inside it: carol records `clone` and, inside alice's sublayout for
/// `build`, its one inner step; with `separate: [[clone, build]]` that is
/// one person on both sides.
#[test]
fn separation_sees_the_signers_inside_a_sublayout() {
    let mut c = Chain::new();
    let carol = SigningKey::generate_ed25519();
    let carol_id = carol.keyid().unwrap();
    c.layout
        .keys
        .insert(carol_id.clone(), carol.public_key().to_key_dict().unwrap());
    c.layout.steps[0].pubkeys = vec![carol_id.clone()];
    let mut clone = Link::new(name("clone"));
    clone
        .products
        .insert("src/a.py".parse().unwrap(), digest("aa"));
    c.add_link(&carol, clone, Container::Metablock);
    // The sublayout for build, signed by alice; its step by carol.
    let mut sub = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
    sub.keys
        .insert(carol_id.clone(), carol.public_key().to_key_dict().unwrap());
    let mut compile = Step::new(name("compile"));
    compile.pubkeys = vec![carol_id.clone()];
    sub.steps = vec![compile];
    let mut md = Metadata::new(sub.into(), Container::Metablock).unwrap();
    let alice_id = sign_metadata(&mut md, &c.alice).unwrap();
    let file = name("build").link_file_name(&alice_id);
    c.files.insert(file.clone(), md.to_bytes().unwrap());
    let mut inner = Link::new(name("compile"));
    inner
        .materials
        .insert("src/a.py".parse().unwrap(), digest("aa"));
    let mut lmd = Metadata::new(inner.clone().into(), Container::Metablock).unwrap();
    sign_metadata(&mut lmd, &carol).unwrap();
    c.files.insert(
        format!(
            "{}/{}",
            file.trim_end_matches(".link"),
            inner.name.link_file_name(&carol_id)
        ),
        lmd.to_bytes().unwrap(),
    );
    let r = c.verify();
    assert!(r.verified, "{r}");
    let policy = intact_model::Separation {
        groups: vec![vec![name("clone"), name("build")]],
    };
    c.layout.inspect = vec![intact_model::Inspection::new(
        name("separation-of-duties"),
        policy.to_run(),
    )];
    let r = c.verify();
    assert_eq!(failure(&r).kind, FailureKind::SeparationOfDuties, "{r}");
}

/// A threshold counts distinct keys by material: one RSA key listed under
/// two schemes (two keyids; --compat lets such a layout through) is one
/// signer, so two links by it do not meet a threshold of two.
#[test]
fn one_key_under_two_schemes_is_one_signer() {
    use intact_crypto::{RsaHash, Scheme};
    let pem = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/keys/rsa.pem"),
    )
    .unwrap();
    let pss = SigningKey::from_pem(&pem, None).unwrap();
    let pkcs = SigningKey::from_pem(&pem, None)
        .unwrap()
        .with_scheme(Scheme::RsaPkcs1v15(RsaHash::Sha256))
        .unwrap();
    assert_ne!(pss.keyid().unwrap(), pkcs.keyid().unwrap());
    let mut c = Chain::new();
    for k in [&pss, &pkcs] {
        c.layout
            .keys
            .insert(k.keyid().unwrap(), k.public_key().to_key_dict().unwrap());
    }
    c.layout.steps[0].pubkeys = vec![pss.keyid().unwrap(), pkcs.keyid().unwrap()];
    c.layout.steps[0].threshold = 2;
    let mut clone = Link::new(name("clone"));
    clone
        .products
        .insert("src/a.py".parse().unwrap(), digest("aa"));
    c.add_link(&pss, clone.clone(), Container::Metablock);
    c.add_link(&pkcs, clone, Container::Metablock);
    let mut build = Link::new(name("build"));
    build
        .materials
        .insert("src/a.py".parse().unwrap(), digest("aa"));
    let alice = SigningKey::from_pem(&c.alice.to_pkcs8_pem(None).unwrap(), None).unwrap();
    c.add_link(&alice, build, Container::Metablock);
    let r = c.verify_with(&c.signed_layout(), &VerifyOptions::new().compat(true));
    assert_eq!(failure(&r).kind, FailureKind::Threshold, "{r}");
}
