//! Inputs the fuzz targets in `fuzz/` found (docs/fuzzing.md), each pinned
//! as the behaviour it should have had. Named after the target and what
//! went wrong.

use base64::Engine;
use intact_model::json::parse_strict;
use intact_model::{Metadata, ModelError, Payload};

/// The field error the strict path gives for a payload without `_type`.
fn is_missing_type(e: &ModelError, at: &str) -> bool {
    matches!(e, ModelError::Field { path, .. } if path == at)
}

/// link_fast_vs_generic, crash-0559437794cb…: a link Metablock whose
/// `signed` has no `_type` was accepted by the typed fast path of
/// `Metadata::from_slice` while the strict path (and the reference, which
/// dispatches on `_type`) refuses it.
#[test]
fn link_fast_vs_generic_a_link_without_type_is_refused_on_every_path() {
    let file = br#"{"signatures": [], "signed": {"environment": {}, "materials": {}, "name": "step-21", "products": {}}}"#;
    let strict = parse_strict(file).and_then(Metadata::from_value);
    assert!(
        matches!(&strict, Err(e) if is_missing_type(e, "signed._type")),
        "{strict:?}"
    );
    let fast = Metadata::from_slice(file);
    assert!(
        matches!(&fast, Err(e) if is_missing_type(e, "signed._type")),
        "{fast:?}"
    );
}

/// The same link as a DSSE payload: `Envelope::parse_payload` has the same
/// typed fast path.
#[test]
fn link_fast_vs_generic_an_envelope_payload_without_type_is_refused() {
    let payload = br#"{"name": "step-21"}"#;
    let b64 = base64::engine::general_purpose::STANDARD.encode(payload);
    let file = format!(
        r#"{{"payload": "{b64}", "payloadType": "application/vnd.in-toto+json", "signatures": []}}"#
    );
    let Ok(Metadata::Envelope(env)) = Metadata::from_slice(file.as_bytes()) else {
        panic!("not an envelope");
    };
    let strict = parse_strict(&env.payload).and_then(Payload::from_value);
    assert!(strict.is_err(), "{strict:?}");
    let fast = env.parse_payload();
    assert!(
        matches!(&fast, Err(e) if is_missing_type(e, "payload._type")),
        "{fast:?}"
    );
}
