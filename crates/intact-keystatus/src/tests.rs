use super::*;

fn at(s: &str) -> Instant {
    Instant::parse_canonical(s).unwrap()
}

fn owner() -> (SigningKey, BTreeMap<KeyId, PublicKey>) {
    let k = SigningKey::generate_ed25519();
    let map = BTreeMap::from([(k.keyid().unwrap(), k.public_key().clone())]);
    (k, map)
}

fn kid(c: char) -> KeyId {
    KeyId::new(c.to_string().repeat(64)).unwrap()
}

fn revoked_doc() -> KeyStatus {
    let mut doc = KeyStatus::default();
    let e = doc.entry_mut(&kid('a'), Some("alice"));
    e.revoked_at = Some(at("2026-06-01T00:00:00Z"));
    e.reason = Some("laptop stolen".into());
    let e = doc.entry_mut(&kid('b'), Some("bob"));
    e.not_before = Some(at("2026-01-01T00:00:00Z"));
    e.not_after = Some(at("2026-12-31T00:00:00Z"));
    doc
}

#[test]
fn round_trip_signed_and_opened() {
    let (k, owners) = owner();
    let env = sign(&revoked_doc(), &[&k]).unwrap();
    assert_eq!(env.payload_type, PAYLOAD_TYPE);
    let back = open(&env, &owners).unwrap();
    assert_eq!(back, revoked_doc());
    // Same document, same bytes.
    assert_eq!(sign(&revoked_doc(), &[&k]).unwrap(), env);
}

#[test]
fn wrong_signer_refused() {
    let (_, owners) = owner();
    let other = SigningKey::generate_ed25519();
    let env = sign(&revoked_doc(), &[&other]).unwrap();
    assert!(matches!(
        open(&env, &owners),
        Err(KeyStatusError::WrongSigner(_))
    ));
}

#[test]
fn edited_after_signing_refused() {
    let (k, owners) = owner();
    let mut env = sign(&revoked_doc(), &[&k]).unwrap();
    let text = String::from_utf8(env.payload.clone()).unwrap();
    env.payload = text.replace("laptop stolen", "never mind").into_bytes();
    assert!(matches!(
        open(&env, &owners),
        Err(KeyStatusError::BadSignature(_))
    ));
}

#[test]
fn unsigned_and_wrong_type_refused() {
    let (k, owners) = owner();
    let mut env = sign(&revoked_doc(), &[&k]).unwrap();
    env.payload_type = intact_model::IN_TOTO_PAYLOAD_TYPE.into();
    assert!(matches!(
        open(&env, &owners),
        Err(KeyStatusError::Invalid(_))
    ));
    env.payload_type = PAYLOAD_TYPE.into();
    env.signatures.clear();
    assert!(matches!(open(&env, &owners), Err(KeyStatusError::Unsigned)));
}

#[test]
fn only_revoked_signers_refused() {
    let (k, owners) = owner();
    let mut doc = KeyStatus::default();
    let e = doc.entry_mut(&k.keyid().unwrap(), None);
    e.revoked_at = Some(at("2026-01-01T00:00:00Z"));
    e.reason = Some("stolen".into());
    let env = sign(&doc, &[&k]).unwrap();
    assert!(matches!(
        open(&env, &owners),
        Err(KeyStatusError::OnlyRevokedSigners)
    ));
}

#[test]
fn strict_parsing() {
    let good = String::from_utf8(revoked_doc().to_bytes().unwrap()).unwrap();
    assert!(KeyStatus::from_slice(good.as_bytes()).is_ok());
    let cases = [
        good.replace("\"version\"", "\"extra\": 1,\n  \"version\""),
        good.replace(
            "\"name\": \"bob\"",
            "\"name\": \"bob\", \"colour\": \"red\"",
        ),
        good.replace("2026-06-01T00:00:00Z", "2026-06-01T02:00:00+02:00"),
        good.replace("2026-06-01T00:00:00Z", "yesterday"),
        good.replace("intact.key-status/v1", "intact.key-status/v2"),
        good.replace(",\n      \"reason\": \"laptop stolen\"", ""),
        good.replace("\"version\": 0", "\"version\": 0, \"version\": 1"),
        good.replace(&"a".repeat(64), "not-hex"),
        good.replace("2026-12-31T00:00:00Z", "2025-12-31T00:00:00Z"),
    ];
    for bad in cases {
        assert_ne!(bad, good);
        assert!(KeyStatus::from_slice(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn judging_revocation() {
    let doc = revoked_doc();
    let now = at("2026-07-01T00:00:00Z");
    let a = kid('a');
    assert!(matches!(
        doc.judge(&a, None, now),
        Judgement::Refuse(Problem::Revoked, _)
    ));
    assert!(matches!(
        doc.judge(&a, Some(at("2026-05-31T23:59:59Z")), now),
        Judgement::Warn(Problem::Revoked, _)
    ));
    assert!(matches!(
        doc.judge(&a, Some(at("2026-06-01T00:00:00Z")), now),
        Judgement::Refuse(Problem::Revoked, _)
    ));
    // Revoked in the future still refuses an unproven signature: the
    // owners have said the key is compromised.
    assert!(matches!(
        doc.judge(&a, None, at("2026-01-01T00:00:00Z")),
        Judgement::Refuse(Problem::Revoked, _)
    ));
    assert_eq!(doc.judge(&kid('c'), None, now), Judgement::Good);
}

#[test]
fn judging_windows() {
    let doc = revoked_doc();
    let b = kid('b');
    // Inside the window.
    assert_eq!(
        doc.judge(&b, None, at("2026-07-01T00:00:00Z")),
        Judgement::Good
    );
    // Before it: refused however signed.
    assert!(matches!(
        doc.judge(&b, None, at("2025-12-01T00:00:00Z")),
        Judgement::Refuse(Problem::NotYetValid, _)
    ));
    // Proven signed before not_before.
    assert!(matches!(
        doc.judge(
            &b,
            Some(at("2025-12-01T00:00:00Z")),
            at("2026-07-01T00:00:00Z")
        ),
        Judgement::Refuse(Problem::NotYetValid, _)
    ));
    // After not_after: refused without proof, warned with proof inside.
    let later = at("2027-02-01T00:00:00Z");
    assert!(matches!(
        doc.judge(&b, None, later),
        Judgement::Refuse(Problem::Retired, _)
    ));
    assert!(matches!(
        doc.judge(&b, Some(at("2026-12-30T00:00:00Z")), later),
        Judgement::Warn(Problem::Retired, _)
    ));
    assert!(matches!(
        doc.judge(&b, Some(at("2027-01-02T00:00:00Z")), later),
        Judgement::Refuse(Problem::Retired, _)
    ));
}

#[test]
fn retiring_soon() {
    let doc = revoked_doc();
    let b = kid('b');
    let d30 = parse_duration("30d").unwrap();
    assert!(doc
        .retires_within(&b, at("2026-12-02T00:00:00Z"), d30)
        .is_some()); // 29 days
    assert!(doc
        .retires_within(&b, at("2026-11-30T00:00:00Z"), d30)
        .is_none()); // 31 days
    assert!(doc
        .retires_within(&kid('a'), at("2026-12-02T00:00:00Z"), d30)
        .is_none());
    // A window past the year 9999 covers every not_after (it panicked in
    // the time addition before).
    let forever = parse_duration("1000000w").unwrap();
    assert!(doc
        .retires_within(&b, at("2026-11-30T00:00:00Z"), forever)
        .is_some());
}

#[test]
fn durations() {
    assert_eq!(parse_duration("30d").unwrap(), time::Duration::days(30));
    assert_eq!(parse_duration("2w").unwrap(), time::Duration::days(14));
    assert_eq!(parse_duration("90m").unwrap(), time::Duration::minutes(90));
    for bad in ["", "30", "d", "3.5d", "30y", "-1d", "99999999999999999999d"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}

#[test]
fn files_round_trip_and_name_the_file() {
    let (k, owners) = owner();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.status");
    save(&path, &sign(&revoked_doc(), &[&k]).unwrap()).unwrap();
    assert_eq!(load(&path, &owners).unwrap(), revoked_doc());
    std::fs::write(&path, b"{\"payload\": 1}").unwrap();
    let e = load(&path, &owners).unwrap_err();
    assert!(matches!(e, KeyStatusError::File { .. }));
    assert!(e.to_string().contains("keys.status"));
}
