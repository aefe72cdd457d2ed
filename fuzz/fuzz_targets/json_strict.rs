//! The strict JSON parser: accepts a subset of what serde_json accepts,
//! with the same meaning, refusing exactly floats and duplicate keys; every
//! value it accepts can be written by all four writers, and the Python
//! layouts parse back to the same value.
#![no_main]

use intact_fuzz::{has_duplicate_key, has_float};
use intact_model::json::{canonical, parse_strict, to_python_json, PyStyle};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let loose = serde_json::from_slice::<Value>(data);
    match parse_strict(data) {
        Ok(v) => {
            let loose = loose.expect("strict accepted what serde_json refuses");
            assert_eq!(v, loose, "strict and serde_json read different values");
            assert!(!has_float(&v), "strict accepted a float");
            assert!(!has_duplicate_key(data), "strict accepted a duplicate key");
            let c = canonical(&v).expect("canonical JSON of a strictly parsed value");
            // Canonical JSON leaves control characters raw, so it is not
            // always JSON; when it is, it means the same value.
            if let Ok(back) = serde_json::from_slice::<Value>(&c) {
                assert_eq!(back, v, "canonical JSON reads back differently");
            }
            for style in [PyStyle::Pretty, PyStyle::OneLine, PyStyle::Compact] {
                let bytes = to_python_json(&v, style).expect("Python JSON of a strict value");
                assert!(bytes.is_ascii(), "ensure_ascii output has non-ASCII bytes");
                let again = parse_strict(&bytes).expect("Python JSON parses strictly");
                assert_eq!(again, v, "{style:?} reads back differently");
                assert_eq!(
                    to_python_json(&again, style).expect("written once already"),
                    bytes,
                    "{style:?} is not idempotent"
                );
                assert_eq!(canonical(&again).expect("canonical"), c);
            }
        }
        Err(_) => {
            // Refused, but JSON: then it holds a float or repeats a key.
            if let Ok(loose) = loose {
                assert!(
                    has_float(&loose) || has_duplicate_key(data),
                    "strict refused JSON without floats or duplicate keys"
                );
            }
        }
    }
});
