//! Differential: the fast link paths against the generic strict one.
//!
//! * `Metadata::from_slice` (typed link fast path, then strict) against
//!   `parse_strict` + `Metadata::from_value`: same verdict, same value.
//! * An envelope's `parse_payload` (typed fast path) against
//!   `parse_strict` + `Payload::from_value` on its payload.
//! * `teed::parse_link_teed` may decline anything; what it accepts the
//!   strict path accepts as the same metadata, and the bytes it streamed
//!   are exactly `signed_bytes()`.
//! * `intact_crypto::parse_and_verify_link` with the fixtures' ed25519 key:
//!   the same metadata and the same verdict as `verify_metadata`.
#![no_main]

use intact_crypto::{parse_and_verify_link, verify_metadata};
use intact_fuzz::fixture_key;
use intact_model::json::parse_strict;
use intact_model::teed::parse_link_teed;
use intact_model::{Metadata, Payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let generic = parse_strict(data).and_then(Metadata::from_value);
    let fast = Metadata::from_slice(data);
    match (&fast, &generic) {
        (Ok(a), Ok(b)) => assert_eq!(
            a, b,
            "from_slice and the strict path read different metadata"
        ),
        (Err(_), Err(_)) => {}
        _ => panic!("verdicts differ: from_slice {fast:?}, strict path {generic:?}"),
    }
    if let Ok(Metadata::Envelope(e)) = &generic {
        let fast = e.parse_payload();
        let strict = parse_strict(&e.payload).and_then(Payload::from_value);
        match (&fast, &strict) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "envelope payload read differently"),
            (Err(_), Err(_)) => {}
            _ => panic!("payload verdicts differ: parse_payload {fast:?}, strict {strict:?}"),
        }
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut streamed = Vec::new();
    let mut signatures = None;
    let teed = {
        let parsed = parse_link_teed(text, |sigs| {
            signatures = Some(sigs.to_vec());
            Some(|chunk: Vec<u8>| streamed.extend(chunk))
        });
        parsed.map(|(md, sink)| (md, sink.is_some()))
    };
    let Some((md, had_sink)) = teed else {
        return;
    };
    let generic = generic.expect("the teed parser accepted what the strict path refuses");
    assert_eq!(md, generic, "the teed parser read different metadata");
    assert!(had_sink, "the sink start returned was dropped");
    let signed = generic
        .signed_bytes()
        .expect("signed bytes of parsed metadata");
    assert_eq!(
        streamed, signed,
        "the teed bytes are not the canonical bytes"
    );
    if let (Some(sigs), Metadata::Metablock(mb)) = (signatures, &generic) {
        assert_eq!(sigs, mb.signatures, "start saw other signatures");
    }

    let (key, keyid) = fixture_key();
    let (md, verdict) = parse_and_verify_link(text, keyid, key)
        .expect("parse_and_verify_link declined a teed file");
    assert_eq!(md, generic, "parse_and_verify_link read different metadata");
    let expected = verify_metadata(&generic, keyid, key);
    assert_eq!(
        verdict.is_ok(),
        expected.is_ok(),
        "verdicts differ: teed {verdict:?}, verify_metadata {expected:?}"
    );
});
