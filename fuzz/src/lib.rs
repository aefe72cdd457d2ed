//! Helpers shared by the fuzz targets in `fuzz_targets/` (docs/fuzzing.md).
//!
//! Targets panic on purpose when an invariant fails: that is how libFuzzer
//! learns of a finding. Everything here is harness code, never linked into
//! intact itself.

use std::sync::OnceLock;

use intact_crypto::PublicKey;
use intact_model::KeyId;
use time::OffsetDateTime;

/// `data` cut at NUL bytes into at most `n` parts (the last keeps any
/// further NULs); missing parts are empty.
pub fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = data.splitn(n, |&b| b == 0).collect();
    while out.len() < n {
        out.push(&[]);
    }
    out
}

/// A fixed "now", so that a finding reproduces on any day.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The ed25519 key that signed the reference fixtures (and the seeds made
/// from them), with its keyid.
pub fn fixture_key() -> &'static (PublicKey, KeyId) {
    static KEY: OnceLock<(PublicKey, KeyId)> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = PublicKey::from_spki_pem(include_str!("../../tests/fixtures/keys/ed25519.pub"))
            .expect("the fixture key parses");
        let keyid = key.keyid().expect("the fixture key has a keyid");
        (key, keyid)
    })
}

/// Whether a JSON value holds a float anywhere.
pub fn has_float(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(a) => a.iter().any(has_float),
        serde_json::Value::Object(m) => m.values().any(has_float),
        _ => false,
    }
}

/// Whether the JSON text `data` (already known to parse) repeats a key in
/// some object: an independent check of `parse_strict`'s refusal.
pub fn has_duplicate_key(data: &[u8]) -> bool {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::collections::HashSet;

    struct Dup;
    impl<'de> DeserializeSeed<'de> for Dup {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Dup {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_str<E>(self, _: &str) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            let mut dup = false;
            while let Some(d) = seq.next_element_seed(Dup)? {
                dup |= d;
            }
            Ok(dup)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut seen = HashSet::new();
            let mut dup = false;
            while let Some(k) = map.next_key::<String>()? {
                dup |= !seen.insert(k);
                dup |= map.next_value_seed(Dup)?;
            }
            Ok(dup)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(data);
    Dup.deserialize(&mut de).unwrap_or(false)
}
