//! Round trips, strictness and the verification checks.

use serde_json::json;

use crate::predicate::*;
use crate::verify::{verify_envelope, Expectations, Status};
use crate::*;

fn hex(c: char) -> String {
    c.to_string().repeat(64)
}

pub(crate) fn provenance() -> Predicate {
    let p: Provenance = serde_json::from_value(json!({
        "buildDefinition": {
            "buildType": "https://example.invalid/intact/step/v1",
            "externalParameters": {"source": {"repository": "https://git.example/app", "ref": "refs/heads/main"}},
            "resolvedDependencies": [{"uri": "git+https://git.example/app@refs/heads/main", "digest": {"gitCommit": "c".repeat(40)}}]
        },
        "runDetails": {
            "builder": {"id": "https://ci.example/builder"},
            "metadata": {"invocationId": "42", "startedOn": "2024-01-01T00:00:00Z", "finishedOn": "2024-01-01T00:01:00Z"}
        }
    }))
    .unwrap();
    Predicate::Provenance(Box::new(p))
}

fn vsa() -> Predicate {
    let v: VerificationSummary = serde_json::from_value(json!({
        "verifier": {"id": "https://example.invalid/intact", "version": {"intact": "0.1.0"}},
        "timeVerified": "2024-01-01T00:00:00Z",
        "resourceUri": "file:app",
        "policy": {"uri": "root.layout", "digest": {"sha256": hex('1')}},
        "inputAttestations": [{"uri": "build.link", "digest": {"sha256": hex('2')}}],
        "verificationResult": "PASSED",
        "verifiedLevels": ["SLSA_BUILD_LEVEL_1"]
    }))
    .unwrap();
    Predicate::Vsa(Box::new(v))
}

fn link() -> Predicate {
    Predicate::Link(LinkPredicate {
        name: "build".into(),
        command: vec!["make".into()],
        materials: vec![ResourceDescriptor::sha256("src/a.c", hex('a'))],
        ..Default::default()
    })
}

fn subjects() -> Vec<ResourceDescriptor> {
    vec![ResourceDescriptor::sha256("app", hex('b'))]
}

#[test]
fn every_predicate_round_trips() {
    for p in [provenance(), vsa(), link()] {
        let st = Statement::new(subjects(), p);
        let bytes = st.to_bytes().unwrap();
        assert_eq!(Statement::from_slice(&bytes).unwrap(), st);
    }
}

#[test]
fn verified_levels_is_an_array_of_strings() {
    let st = Statement::new(subjects(), vsa());
    let v: serde_json::Value = serde_json::from_slice(&st.to_bytes().unwrap()).unwrap();
    assert_eq!(
        v["predicate"]["verifiedLevels"],
        json!(["SLSA_BUILD_LEVEL_1"])
    );
    let mut bad = v.clone();
    bad["predicate"]["verifiedLevels"] = json!("SLSA_BUILD_LEVEL_1");
    assert!(Statement::from_value(bad).is_err());
}

#[test]
fn output_is_sorted_and_deterministic() {
    let key = intact_crypto::SigningKey::generate_ed25519();
    let st = Statement::new(subjects(), provenance());
    let a = sign_statement(&st, &[&key]).unwrap().to_bytes().unwrap();
    let b = sign_statement(&st, &[&key]).unwrap().to_bytes().unwrap();
    assert_eq!(a, b);
    let payload = String::from_utf8(st.to_bytes().unwrap()).unwrap();
    assert!(
        payload.starts_with(
            r#"{"_type":"https://in-toto.io/Statement/v1","predicate":{"buildDefinition""#
        ),
        "{payload}"
    );
}

/// The typed writer and the tree give the same bytes, for every predicate
/// kind, non-ASCII and control characters included (the payload is written
/// straight from the typed statement; `to_value` is what callers inspect).
#[test]
fn typed_bytes_equal_the_trees_bytes() {
    let mut other = serde_json::Map::new();
    other.insert(
        "z\u{e9}\u{1}".into(),
        json!({"b": [1, "\u{1F600}"], "a": null}),
    );
    let predicates = [
        provenance(),
        vsa(),
        Predicate::Other {
            type_uri: "https://example.com/p/v1".into(),
            value: other,
        },
    ];
    for p in predicates {
        let mut subject = subjects();
        subject[0].name = Some("caf\u{e9}/\u{7f}\"q".into());
        let st = Statement::new(subject, p);
        let tree = intact_model::json::python_json_of(
            &st.to_value().unwrap(),
            intact_model::json::PyStyle::Compact,
        )
        .unwrap();
        assert_eq!(st.to_bytes().unwrap(), tree);
    }
}

fn refused(v: serde_json::Value) -> bool {
    Statement::from_value(v).is_err()
}

#[test]
fn strict_parsing_refuses_what_it_does_not_understand() {
    let good: serde_json::Value =
        serde_json::from_slice(&Statement::new(subjects(), provenance()).to_bytes().unwrap())
            .unwrap();
    assert!(!refused(good.clone()));
    let mut v = good.clone();
    v["extra"] = json!(1);
    assert!(refused(v), "unknown statement member");
    let mut v = good.clone();
    v["subject"][0]["sha256"] = json!("x");
    assert!(refused(v), "unknown descriptor member");
    let mut v = good.clone();
    v["predicate"]["runDetails"]["bulider"] = json!({"id": "x"});
    assert!(refused(v), "unknown provenance member");
    let mut v = good.clone();
    v["_type"] = json!("https://in-toto.io/Statement/v0.1");
    assert!(refused(v), "wrong _type");
    let mut v = good.clone();
    v["subject"] = json!([]);
    assert!(refused(v), "no subject");
    let mut v = good.clone();
    v["subject"][0]["digest"] = json!({});
    assert!(refused(v), "subject without digest");
    let mut v = good.clone();
    v["subject"][0]["digest"] = json!({"sha256": "ABC"});
    assert!(refused(v), "malformed digest");
    let mut v = good.clone();
    v["predicate"]["runDetails"]["metadata"]["startedOn"] = json!("yesterday");
    assert!(refused(v), "bad timestamp");
    let mut v = good.clone();
    v.as_object_mut().unwrap().remove("predicate");
    assert!(refused(v), "no predicate");
    let dup = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"x"}}],"predicateType":"a","predicateType":"b","predicate":{}}"#;
    assert!(Statement::from_slice(dup).is_err(), "duplicate key");
}

#[test]
fn unknown_predicate_types_are_carried() {
    let p = Predicate::from_parts(
        "https://example.com/x/v1",
        Some(json!({"a": 1}).as_object().unwrap().clone()),
    )
    .unwrap();
    assert!(!p.is_known());
    let st = Statement::new(subjects(), p);
    assert_eq!(Statement::from_slice(&st.to_bytes().unwrap()).unwrap(), st);
}

fn status(r: &verify::Report, name: &str) -> Status {
    r.checks.iter().find(|c| c.name == name).unwrap().status
}

#[test]
fn verification_checks_each_expectation() {
    let key = intact_crypto::SigningKey::generate_ed25519();
    let pubkey = key.public_key().clone();
    let st = Statement::new(subjects(), provenance());
    let env = sign_statement(&st, &[&key]).unwrap();
    let all = Expectations {
        subjects: subjects(),
        predicate_type: None,
        builder_id: Some("https://ci.example/builder".into()),
        source_uri: Some("https://git.example/app".into()),
        source_ref: Some("refs/heads/main".into()),
    };
    let r = verify_envelope(&env, std::slice::from_ref(&pubkey), &all);
    assert!(r.passed, "{r:?}");
    assert_eq!(r.checks.len(), verify::CHECK_NAMES.len());

    let mut e = all.clone();
    e.subjects = vec![ResourceDescriptor::sha256("app", hex('c'))];
    let r = verify_envelope(&env, std::slice::from_ref(&pubkey), &e);
    assert!(!r.passed);
    assert_eq!(status(&r, "subject"), Status::Fail);

    let mut e = all.clone();
    e.builder_id = Some("https://other".into());
    assert_eq!(
        status(
            &verify_envelope(&env, std::slice::from_ref(&pubkey), &e),
            "builder-id"
        ),
        Status::Fail
    );

    let mut e = all.clone();
    e.source_uri = Some("https://git.example/evil".into());
    assert_eq!(
        status(
            &verify_envelope(&env, std::slice::from_ref(&pubkey), &e),
            "source"
        ),
        Status::Fail
    );
    let mut e = all.clone();
    e.source_ref = Some("refs/heads/dev".into());
    assert_eq!(
        status(
            &verify_envelope(&env, std::slice::from_ref(&pubkey), &e),
            "source"
        ),
        Status::Fail
    );

    let other = intact_crypto::SigningKey::generate_ed25519()
        .public_key()
        .clone();
    let r = verify_envelope(&env, &[other], &all);
    assert_eq!(status(&r, "signature"), Status::Fail);
    assert_eq!(status(&r, "statement"), Status::Skip);

    let mut tampered = env.clone();
    tampered.payload = String::from_utf8(tampered.payload)
        .unwrap()
        .replace("ci.example", "ci.exampl3")
        .into_bytes();
    let r = verify_envelope(&tampered, std::slice::from_ref(&pubkey), &all);
    assert_eq!(status(&r, "signature"), Status::Fail);

    let p = Predicate::from_parts(
        "https://example.com/x/v1",
        Some(json!({"a": 1}).as_object().unwrap().clone()),
    )
    .unwrap();
    let env = sign_statement(&Statement::new(subjects(), p), &[&key]).unwrap();
    let r = verify_envelope(
        &env,
        std::slice::from_ref(&pubkey),
        &Expectations::default(),
    );
    assert_eq!(status(&r, "predicate-type"), Status::Fail);
    let asked = Expectations {
        predicate_type: Some("https://example.com/x/v1".into()),
        ..Default::default()
    };
    assert!(verify_envelope(&env, std::slice::from_ref(&pubkey), &asked).passed);
}

/// The shortcut for the model's digests gives `check_digest`'s verdict
/// and message on every kind of value.
#[test]
fn model_digests_are_judged_as_their_text() {
    use crate::statement::{check_digest, check_model_digest};
    let values = [
        "ab".repeat(32),
        "AB".repeat(32),
        "ab".repeat(20),
        "ab".repeat(64),
        "abc".to_string(),
        "0".to_string(),
    ];
    for alg in ["sha256", "gitCommit", "sha512", "md5", "custom"] {
        for v in &values {
            let d = intact_model::Digest::new(v).unwrap();
            assert_eq!(
                check_model_digest(alg, &d),
                check_digest(alg, v),
                "{alg} {v}"
            );
        }
    }
    let upper = intact_model::Digest::new("AB".repeat(32)).unwrap();
    assert!(check_model_digest("sha256", &upper).is_err());
    // A digest of no bytes is empty text: refused under any algorithm.
    let empty = intact_model::Digest::from_bytes(&[]);
    for alg in ["custom", "sha256"] {
        assert_eq!(
            check_model_digest(alg, &empty),
            check_digest(alg, ""),
            "{alg}"
        );
        assert!(check_model_digest(alg, &empty).is_err(), "{alg}");
    }
}
