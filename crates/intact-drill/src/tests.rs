#![allow(clippy::disallowed_methods)] // Tests may use std::fs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use intact_crypto::SigningKey;
use intact_model::{
    ArtifactName, Container, Digest, DigestSet, Expires, Inspection, Layout, Link, Metadata,
    Payload, Rule, Step, StepName,
};

use super::*;

fn digest(b: u8) -> DigestSet {
    DigestSet::single("sha256", Digest::from_bytes(&[b; 32]))
}

fn step(name: &str, key: &SigningKey, materials: &[&str], products: &[&str]) -> Step {
    let mut s = Step::new(StepName::new(name).unwrap());
    s.pubkeys = vec![key.keyid().unwrap()];
    s.expected_command = vec!["make".into()];
    s.expected_materials = materials
        .iter()
        .map(|r| Rule::parse_str(r).unwrap())
        .collect();
    s.expected_products = products
        .iter()
        .map(|r| Rule::parse_str(r).unwrap())
        .collect();
    s
}

/// How the test chain's links are written.
#[derive(Clone, Copy, PartialEq)]
enum Forms {
    /// Classic links only.
    Classic,
    /// Link attestations only (`--attest link` with the classic link
    /// removed).
    Attestation,
    /// Both, as `intact run --attest link` writes them.
    Both,
}

fn write_link_as(
    dir: &Path,
    name: &str,
    key: &SigningKey,
    materials: &[(&str, u8)],
    products: &[(&str, u8)],
    forms: Forms,
) {
    let mut link = Link::new(StepName::new(name).unwrap());
    link.command = vec!["make".into()];
    for (n, d) in materials {
        link.materials
            .insert(ArtifactName::new(*n).unwrap(), digest(*d));
    }
    for (n, d) in products {
        link.products
            .insert(ArtifactName::new(*n).unwrap(), digest(*d));
    }
    let file = dir.join(format!("{name}.{}.link", key.keyid().unwrap().short()));
    if forms != Forms::Attestation {
        let mut md = Metadata::new(Payload::Link(link.clone()), Container::Metablock).unwrap();
        intact_crypto::sign_metadata(&mut md, key).unwrap();
        md.save(&file).unwrap();
    }
    if forms != Forms::Classic {
        let st = intact_attest::slsa::link_statement(&link).unwrap();
        let env = intact_attest::sign_statement(&st, &[key]).unwrap();
        let mut path = file.into_os_string();
        path.push(".intoto.json");
        std::fs::write(path, env.to_bytes().unwrap()).unwrap();
    }
}

/// A two-step chain (fetch, then build) in `dir`; `weak` lets build take
/// any material and uses one key for both steps.
fn chain(dir: &Path, weak: bool) -> Chain {
    chain_as(dir, weak, Forms::Classic)
}

/// [`chain`] with its links in `forms`, and an inspection that compares
/// the package in the verifier's directory (`dir/verifier/app.bin`) with
/// a reference copy (`marker`).
fn chain_as(dir: &Path, weak: bool, forms: Forms) -> Chain {
    let owner = SigningKey::generate_ed25519();
    let alice = SigningKey::generate_ed25519();
    let other = SigningKey::generate_ed25519();
    let bob = if weak { &alice } else { &other };
    let mut layout = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
    for k in [&alice, bob] {
        layout
            .keys
            .insert(k.keyid().unwrap(), k.public_key().to_key_dict().unwrap());
    }
    layout.steps.push(step(
        "fetch",
        &alice,
        &[],
        &["CREATE src.txt", "DISALLOW *"],
    ));
    let materials: &[&str] = if weak {
        &["ALLOW *"]
    } else {
        &["MATCH src.txt WITH PRODUCTS FROM fetch", "DISALLOW *"]
    };
    let products: &[&str] = if weak {
        &["CREATE app.bin"]
    } else {
        &["CREATE app.bin", "DISALLOW *"]
    };
    layout.steps.push(step("build", bob, materials, products));
    // The verifier holds the package (app.bin) and a reference copy of
    // it (marker); the inspection compares them.
    layout.inspect.push(Inspection::new(
        StepName::new("check").unwrap(),
        vec!["cmp".into(), "-s".into(), "marker".into(), "app.bin".into()],
    ));
    let verifier = dir.join("verifier");
    std::fs::create_dir(&verifier).unwrap();
    std::fs::write(verifier.join("marker"), "the package").unwrap();
    std::fs::write(verifier.join("app.bin"), "the package").unwrap();
    let mut md = Metadata::new(Payload::Layout(layout), Container::Metablock).unwrap();
    intact_crypto::sign_metadata(&mut md, &owner).unwrap();
    md.save(&dir.join("root.layout")).unwrap();
    std::fs::write(
        dir.join("owner.pub"),
        owner.public_key().to_spki_pem().unwrap(),
    )
    .unwrap();
    let links = dir.join("links");
    std::fs::create_dir(&links).unwrap();
    write_link_as(&links, "fetch", &alice, &[], &[("src.txt", 1)], forms);
    write_link_as(
        &links,
        "build",
        bob,
        &[("src.txt", 1)],
        &[("app.bin", 2)],
        forms,
    );
    let old = dir.join("old");
    std::fs::create_dir(&old).unwrap();
    write_link_as(&old, "fetch", &alice, &[], &[("src.txt", 9)], forms);
    Chain::load(
        &dir.join("root.layout"),
        &[dir.join("owner.pub")],
        &links,
        Some(&verifier),
        Some(&old),
    )
    .unwrap()
}

fn verdicts(report: &DrillReport) -> BTreeMap<&'static str, &'static str> {
    report
        .attacks
        .iter()
        .map(|a| {
            (
                a.id,
                match a.verdict {
                    Verdict::Caught { .. } => "caught",
                    Verdict::NotCaught => "NOT",
                    Verdict::NotApplicable(_) => "n/a",
                    Verdict::Error { .. } => "ERROR",
                },
            )
        })
        .collect()
}

/// Every file under `dir`, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_tight_layout_catches_every_attack() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path(), false);
    let before = snapshot(dir.path());
    let report = drill(&c, &DrillOptions::default()).unwrap();
    assert!(report.passed(), "{}", report.to_text());
    let v = verdicts(&report);
    for id in [
        "swap-final-product",
        "modify-material",
        "add-product",
        "delete-product",
        "drop-link",
        "misfiled-link",
        "foreign-key",
        "layout-edited",
        "expired-layout",
        "replay-old-link",
    ] {
        assert_eq!(v.get(id), Some(&"caught"), "{id}: {}", report.to_text());
    }
    assert_eq!(v.get("threshold-duplicate-link"), Some(&"n/a"));
    // The originals are byte-identical.
    assert_eq!(before, snapshot(dir.path()));
}

#[test]
fn a_weak_layout_lets_attacks_through() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path(), true);
    let report = drill(&c, &DrillOptions::default()).unwrap();
    let v = verdicts(&report);
    assert_eq!(
        v.get("modify-material"),
        Some(&"NOT"),
        "{}",
        report.to_text()
    );
    assert_eq!(v.get("add-product"), Some(&"NOT"), "{}", report.to_text());
    assert_eq!(
        v.get("replay-old-link"),
        Some(&"NOT"),
        "{}",
        report.to_text()
    );
    assert_eq!(v.get("layout-edited"), Some(&"caught"));
    assert!(report.uncaught() >= 3);
    let json = report.to_json();
    assert_eq!(json["schema"], DRILL_SCHEMA);
    assert_eq!(json["summary"]["not_caught"], report.uncaught());
}

#[test]
fn a_chain_that_does_not_verify_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = chain(dir.path(), false);
    c.links.retain(|n, _| !n.starts_with("fetch."));
    let err = drill(&c, &DrillOptions::default()).unwrap_err();
    assert!(matches!(err, DrillError::Baseline { .. }), "{err}");
}

/// The swap attack writes only to regular files inside the scratch copy:
/// product names are what a link says, and an absolute or escaping name
/// or a copied symlink would otherwise lead to an original.
#[test]
fn only_plain_files_inside_the_scratch_copy_are_swapped() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("original");
    std::fs::write(&outside, "the real product").unwrap();
    let root = tmp.path().join("work");
    std::fs::create_dir_all(root.join("dist")).unwrap();
    std::fs::write(root.join("dist/app"), "copy").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    std::os::unix::fs::symlink(tmp.path(), root.join("up")).unwrap();
    assert_eq!(
        contained_file(&root, "dist/app"),
        Some(root.join("dist/app"))
    );
    let abs = outside.to_string_lossy().into_owned();
    for name in [
        abs.as_str(),
        "../original",
        "link",
        "up/original",
        "dist",
        "missing",
    ] {
        assert_eq!(contained_file(&root, name), None, "{name}");
    }
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "the real product"
    );
}

/// Exactly `STEP.KEYID8.link` and `STEP.KEYID8.link.intoto.json` are a
/// step's link files: `build` does not take `build.extra.*` files.
#[test]
fn link_files_are_matched_exactly() {
    assert_eq!(
        link_name_parts("build.0123abcd.link"),
        Some(("build", "0123abcd", false))
    );
    assert_eq!(
        link_name_parts("build.0123abcd.link.intoto.json"),
        Some(("build", "0123abcd", true))
    );
    assert_eq!(
        link_name_parts("build.extra.0123abcd.link"),
        Some(("build.extra", "0123abcd", false))
    );
    for not_a_link in [
        "build.0123ABCD.link",
        "build.0123abc.link",
        "build.0123abcde.link",
        "build.0123abcd.link.bak",
        "build.link",
        ".0123abcd.link",
        "sub/build.0123abcd.link",
        "build.0123abcd.intoto.json",
    ] {
        assert_eq!(link_name_parts(not_a_link), None, "{not_a_link}");
    }
    let links: BTreeMap<String, Vec<u8>> = [
        "build.0123abcd.link",
        "build.0123abcd.link.intoto.json",
        "build.extra.0123abcd.link",
        "build.notes.txt",
        "builder.0123abcd.link",
    ]
    .into_iter()
    .map(|n| (n.to_string(), Vec::new()))
    .collect();
    let mine: Vec<&str> = links_of(&links, "build").map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        mine,
        ["build.0123abcd.link", "build.0123abcd.link.intoto.json"]
    );
}

/// Link attestations (`intact run --attest link`) are drilled like
/// classic links: alone or beside them, every link attack mounts, on the
/// tight layout everything is caught, on the weak one the same holes show.
#[test]
fn link_attestations_are_drilled_too() {
    for forms in [Forms::Attestation, Forms::Both] {
        let dir = tempfile::tempdir().unwrap();
        let c = chain_as(dir.path(), false, forms);
        assert!(c.links.keys().any(|n| n.ends_with(".link.intoto.json")));
        let report = drill(&c, &DrillOptions::default()).unwrap();
        assert!(report.passed(), "{}", report.to_text());
        let v = verdicts(&report);
        for id in [
            "swap-final-product",
            "modify-material",
            "add-product",
            "delete-product",
            "drop-link",
            "misfiled-link",
            "foreign-key",
            "replay-old-link",
        ] {
            assert_eq!(v.get(id), Some(&"caught"), "{id}: {}", report.to_text());
        }
        let dir = tempfile::tempdir().unwrap();
        let c = chain_as(dir.path(), true, forms);
        let report = drill(&c, &DrillOptions::default()).unwrap();
        let v = verdicts(&report);
        assert_eq!(v.get("add-product"), Some(&"NOT"), "{}", report.to_text());
        assert_eq!(
            v.get("modify-material"),
            Some(&"NOT"),
            "{}",
            report.to_text()
        );
        assert_eq!(report.errors(), 0, "{}", report.to_text());
    }
}

/// An attack counts as caught only for the reason it targets: the weak
/// layout lets an unexpected product through, and when the scratch copy
/// that attack verifies in is broken (its inspection then fails) the drill
/// says ERROR, not caught.
#[test]
fn a_failure_for_another_reason_is_an_error_not_a_catch() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path(), true);
    let opts = DrillOptions::default();
    let honest = drill(&c, &opts).unwrap();
    assert_eq!(verdicts(&honest).get("add-product"), Some(&"NOT"));
    let broken = run_drill(Driller {
        chain: &c,
        opts: &opts,
        sabotage: Some("add-product"),
    })
    .unwrap();
    let add = broken
        .attacks
        .iter()
        .find(|a| a.id == "add-product")
        .unwrap();
    match &add.verdict {
        Verdict::Error { code, scope, .. } => {
            assert_eq!(code, "inspection-failed");
            assert_eq!(scope.as_deref(), Some("check"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(broken.errors(), 1);
    assert!(!broken.passed());
    assert!(broken.to_text().contains("ERROR"), "{}", broken.to_text());
    assert_eq!(broken.to_json()["summary"]["errors"], 1);

    // The swapped package makes the inspection fail: caught. In a broken
    // scratch copy the inspection fails without the attack too: ERROR.
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path(), false);
    let swap = |r: &DrillReport| {
        r.attacks
            .iter()
            .find(|a| a.id == "swap-final-product")
            .unwrap()
            .verdict
            .clone()
    };
    let honest = drill(&c, &opts).unwrap();
    assert!(
        matches!(swap(&honest), Verdict::Caught { ref code, .. } if code == "inspection-failed"),
        "{}",
        honest.to_text()
    );
    let broken = run_drill(Driller {
        chain: &c,
        opts: &opts,
        sabotage: Some("swap-final-product"),
    })
    .unwrap();
    match swap(&broken) {
        Verdict::Error { message, .. } => {
            assert!(message.contains("without the attack too"), "{message}")
        }
        other => panic!("{other:?}"),
    }

    // A tight layout's rule failure stays a catch; the same code for the
    // wrong attack does not.
    let rule = intact_verify::Failure::new(
        intact_verify::FailureKind::StepRule,
        Some("build".into()),
        "DISALLOW *".into(),
        "",
    );
    assert!(matches!(
        judge(&expect::MODIFY, Some(rule.clone())),
        Verdict::Caught { .. }
    ));
    assert!(matches!(
        judge(&expect::EXPIRED, Some(rule)),
        Verdict::Error { .. }
    ));
    assert_eq!(judge(&expect::EXPIRED, None), Verdict::NotCaught);
    // Git provenance: the sub-check decides.
    let mut git = intact_verify::Failure::new(
        intact_verify::FailureKind::GitProvenance,
        Some("git-provenance".into()),
        "commit not found".into(),
        "",
    );
    git.checks = vec!["commit-not-found".into()];
    assert!(matches!(
        judge(&expect::GIT_UNSIGNED, Some(git.clone())),
        Verdict::Error { .. }
    ));
    git.checks = vec!["tree-mismatch".into(), "unsigned".into()];
    assert!(matches!(
        judge(&expect::GIT_UNSIGNED, Some(git.clone())),
        Verdict::Caught { check: Some(ref c), .. } if c == "unsigned"
    ));
}

/// The expiry drill moves the verifier's clock (`DrillOptions::now`, then
/// a day past the expiry), never the system's: every verification of the
/// drill judges time by that clock, so a drill run "just before expiry"
/// passes its baseline and one run after it is refused.
#[test]
fn the_expiry_drill_moves_the_verifiers_clock() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path(), false);
    let expiry = time::macros::datetime!(2099-01-01 00:00 UTC);
    let before = DrillOptions::default().now(expiry - time::Duration::hours(1));
    let report = drill(&c, &before).unwrap();
    let expired = report
        .attacks
        .iter()
        .find(|a| a.id == "expired-layout")
        .unwrap();
    assert!(
        matches!(&expired.verdict, Verdict::Caught { code, .. } if code == "layout-expired"),
        "{:?}",
        expired.verdict
    );
    assert!(report.passed(), "{}", report.to_text());
    let after = DrillOptions::default().now(expiry + time::Duration::seconds(1));
    match drill(&c, &after) {
        Err(DrillError::Baseline { code, .. }) => assert_eq!(code, "layout-expired"),
        other => panic!("{other:?}"),
    }
}
