//! Verifier conformance: every scenario tests/conformance/gen_conformance.py
//! wrote with the in-toto 3.1.0 APIs gets the same verdict from intact as
//! from the reference, which is run again here (not only read from the
//! stored verdict). A failure must name the step, rule or stage the
//! scenario was built to break, and the text report is pinned.

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
use std::process::Command;

use intact_crypto::load_public_key;
use intact_model::Metadata;
use intact_verify::{verify, DirLinkSource, Report, VerifyOptions};
use serde_json::Value;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read scenario") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// intact's verdict: 0 verified, 1 failed (with the report), 2 unusable.
fn intact_verdict(dir: &Path, scenario: &Value) -> (i32, Option<Report>, String) {
    let layout = match Metadata::load(&dir.join("root.layout")) {
        Ok(md) => md,
        Err(e) => return (2, None, e.to_string()),
    };
    let mut keys = BTreeMap::new();
    for k in scenario["layout_keys"].as_array().expect("layout_keys") {
        let key = load_public_key(&dir.join(k.as_str().expect("path"))).expect("layout key");
        keys.insert(key.keyid().expect("keyid"), key);
    }
    let params: BTreeMap<String, String> = scenario["params"]
        .as_object()
        .expect("params")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string").to_string()))
        .collect();
    let opts = VerifyOptions::new().params(params).workdir(dir);
    match verify(&layout, &keys, &DirLinkSource::new(dir), &opts) {
        Ok(report) => {
            let text = report.to_string();
            (i32::from(!report.verified), Some(report), text)
        }
        Err(e) => (2, None, e.to_string()),
    }
}

fn reference_verdict(dir: &Path) -> i32 {
    let script = intact_tests::repo_root().join("tests/conformance/ref_verify.py");
    let out = Command::new(intact_tests::reference_python())
        .arg(script)
        .arg(dir)
        .output()
        .expect("the reference runs");
    out.status.code().expect("exit code")
}

/// Keys, digests and dates in the fixtures are fixed; only the temp path
/// changes from run to run.
fn stable(text: &str, dir: &Path) -> String {
    text.replace(&dir.display().to_string(), "[DIR]")
}

fn check(name: &str) {
    let src = intact_tests::fixture(&format!("conformance/{name}"));
    let scenario: Value =
        serde_json::from_slice(&std::fs::read(src.join("scenario.json")).expect("scenario.json"))
            .expect("scenario json");
    let expected = scenario["reference"]["exit"].as_i64().expect("exit");

    let tmp = tempfile::tempdir().expect("temp dir");
    let ours: PathBuf = tmp.path().join("intact");
    copy_dir(&src, &ours);
    let (code, report, text) = intact_verdict(&ours, &scenario);
    assert_eq!(
        i64::from(code),
        expected,
        "{name}: intact says {code}, in-toto-verify said {expected} ({})\n{text}",
        scenario["reference"]["message"]
    );

    let theirs = tmp.path().join("reference");
    copy_dir(&src, &theirs);
    assert_eq!(
        i64::from(reference_verdict(&theirs)),
        expected,
        "{name}: in-toto-verify no longer gives the stored verdict; regenerate the fixtures"
    );

    if let Some(want) = scenario["failure"].as_object() {
        let failure = report
            .as_ref()
            .and_then(|r| r.failure.as_ref())
            .unwrap_or_else(|| panic!("{name}: no failure in the report\n{text}"));
        if let Some(step) = want.get("step").and_then(Value::as_str) {
            assert_eq!(
                failure.scope.as_deref(),
                Some(step),
                "{name}: wrong step\n{text}"
            );
        }
        if let Some(rule) = want.get("rule").and_then(Value::as_str) {
            assert_eq!(
                failure.rule.as_deref(),
                Some(rule),
                "{name}: wrong rule\n{text}"
            );
        }
        if let Some(stage) = want.get("stage").and_then(Value::as_str) {
            let got = serde_json::to_value(failure.stage).expect("stage");
            assert_eq!(got, stage, "{name}: wrong stage\n{text}");
        }
    }
    insta::assert_snapshot!(name, stable(&text, &ours));
}

/// How a scenario's links are turned into link attestations.
#[derive(Clone, Copy, Debug)]
enum Form {
    /// Every link becomes a link attestation (the classic file removed).
    Attested,
    /// Only the first link file (by name) of each directory does: a mixed chain.
    Mixed,
    /// Each link gets its attestation beside it, as `intact run --attest
    /// link` writes them.
    Both,
}

/// The fixture keys' private halves, by keyid.
fn fixture_signers() -> BTreeMap<intact_model::KeyId, intact_crypto::SigningKey> {
    ["ed25519", "rsa", "ecdsa-p256", "ecdsa-p384"]
        .iter()
        .map(|k| {
            let path = intact_tests::fixture(&format!("keys/{k}.pem"));
            let key = intact_crypto::load_signing_key(&path, None).expect("fixture key");
            (key.keyid().expect("keyid"), key)
        })
        .collect()
}

/// Turn the links under `dir` (and its sublayout directories) into link
/// attestations (`NAME.link.intoto.json`), signed by the keys that signed
/// them. Layouts (sublayouts) stay as they are. Returns how many were made.
fn attest_links(
    dir: &Path,
    form: Form,
    signers: &BTreeMap<intact_model::KeyId, intact_crypto::SigningKey>,
) -> usize {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("scenario dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    let mut made = 0;
    for path in entries {
        if path.is_dir() {
            made += attest_links(&path, form, signers);
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".link") || (matches!(form, Form::Mixed) && made > 0) {
            continue;
        }
        let md = Metadata::load(&path).expect("fixture link");
        let Ok(intact_model::Payload::Link(link)) = md.payload() else {
            continue;
        };
        let st = intact_attest::slsa::link_statement(&link).expect("a link with products");
        let keys: Vec<&intact_crypto::SigningKey> = md
            .signatures()
            .iter()
            .map(|s| signers.get(s.keyid).expect("a fixture key signed it"))
            .collect();
        let env = intact_attest::sign_statement(&st, &keys).expect("sign");
        std::fs::write(
            dir.join(format!("{name}.intoto.json")),
            env.to_bytes().expect("envelope"),
        )
        .expect("write attestation");
        if !matches!(form, Form::Both) {
            std::fs::remove_file(&path).expect("remove classic link");
        }
        made += 1;
    }
    made
}

/// What a verdict is compared by: exit code and the failure's kind,
/// stage, scope and rule.
fn verdict_of(code: i32, report: Option<&Report>) -> (i32, Option<Value>) {
    let failure = report.and_then(|r| r.failure.as_ref()).map(
        |f| serde_json::json!({"kind": f.kind, "stage": f.stage, "scope": f.scope, "rule": f.rule}),
    );
    (code, failure)
}

/// Every scenario, with its links as link attestations (all, some, or
/// beside the classic links), gets the verdict of its classic twin.
#[test]
fn link_attestations_get_the_verdicts_of_their_classic_twins() {
    let signers = fixture_signers();
    let root = intact_tests::fixture("conformance");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .expect("fixtures")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut attested = 0;
    for name in &names {
        let src = root.join(name);
        let scenario: Value =
            serde_json::from_slice(&std::fs::read(src.join("scenario.json")).expect("scenario"))
                .expect("scenario json");
        let tmp = tempfile::tempdir().expect("temp dir");
        let classic = tmp.path().join("classic");
        copy_dir(&src, &classic);
        let (code, report, text) = intact_verdict(&classic, &scenario);
        let want = verdict_of(code, report.as_ref());
        for form in [Form::Attested, Form::Mixed, Form::Both] {
            let dir = tmp.path().join(format!("{form:?}"));
            copy_dir(&src, &dir);
            let made = attest_links(&dir, form, &signers);
            attested += made;
            let (code2, report2, text2) = intact_verdict(&dir, &scenario);
            assert_eq!(
                verdict_of(code2, report2.as_ref()),
                want,
                "{name} ({form:?}, {made} attestation(s)): the classic chain said\n{text}\nthe attested one\n{text2}"
            );
        }
    }
    // Every scenario but those without a link has some to convert.
    assert!(
        attested >= names.len() * 3,
        "only {attested} attestations made"
    );
}

macro_rules! scenarios {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check($name);
            }
        )*

        #[test]
        fn every_generated_scenario_has_a_test() {
            let listed = [$($name),*];
            let dir = intact_tests::fixture("conformance");
            let mut found: Vec<String> = std::fs::read_dir(dir)
                .expect("fixtures")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            found.sort();
            let mut listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
            listed.sort();
            assert_eq!(found, listed);
        }
    };
}

scenarios! {
    valid_metablock => "valid-metablock",
    valid_dsse => "valid-dsse",
    mixed_containers => "mixed-containers",
    tampered_artifact => "tampered-artifact",
    expired_layout => "expired-layout",
    unauthorised_key => "unauthorised-key",
    threshold_not_met => "threshold-not-met",
    threshold_met => "threshold-met",
    sublayout => "sublayout",
    sublayout_tampered => "sublayout-tampered",
    rsa_keys => "rsa-keys",
    ecdsa_keys => "ecdsa-keys",
    disallow => "disallow",
    layout_altered => "layout-altered",
    match_in_prefixes => "match-in-prefixes",
    match_in_prefixes_tampered => "match-in-prefixes-tampered",
    parameters => "parameters",
    parameter_missing => "parameter-missing",
    inspection_passes => "inspection-passes",
    inspection_finds_a_swapped_file => "inspection-finds-a-swapped-file",
    failing_inspection => "failing-inspection",
    wrong_layout_key => "wrong-layout-key",
    missing_link => "missing-link",
}
