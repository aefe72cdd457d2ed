//! Strict JSON input and the three byte-exact JSON outputs in-toto needs.
//!
//! * [`parse_strict`] refuses duplicate object keys (which other parsers
//!   silently resolve, last or first wins, so two verifiers could disagree on
//!   what a file says) and floats (which canonical JSON cannot encode).
//! * [`canonical`] is securesystemslib's `encode_canonical`: the bytes that
//!   Metablock signatures and keyids are computed over.
//! * [`to_python_json`] reproduces Python's `json.dumps(..., sort_keys=True)`
//!   with `ensure_ascii`, in the layouts the reference writes files with, so
//!   a file it wrote round-trips through us byte for byte.
//!
//! Object keys are always emitted sorted by code point (= UTF-8 byte order,
//! = Rust `str` order), independent of how the map stores them.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::writer::{self, Format};
use crate::ModelError;

/// Parse JSON, rejecting duplicate keys, floats and trailing garbage.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, ModelError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue::deserialize(&mut de).map_err(|e| ModelError::Json(e.to_string()))?;
    de.end().map_err(|e| ModelError::Json(e.to_string()))?;
    Ok(value.0)
}

/// A `Value` parsed strictly (no duplicate keys, no floats), usable as a
/// field type so that typed parsing keeps the strict rules inside opaque
/// members.
pub(crate) struct StrictValue(pub(crate) Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Value, E> {
        Err(E::custom(
            "floating-point or out-of-range number (in-toto metadata allows only 64-bit integers)",
        ))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            let StrictValue(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// `deserialize_with` for opaque object members (`byproducts`,
/// `environment`): a strict JSON object.
pub(crate) fn strict_object<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Map<String, Value>, D::Error> {
    match StrictValue::deserialize(d)?.0 {
        Value::Object(m) => Ok(m),
        _ => Err(de::Error::custom("expected a JSON object")),
    }
}

/// securesystemslib canonical JSON of a value (UTF-8 bytes).
///
/// Strings escape only `\` and `"`; everything else (control characters,
/// non-ASCII) is emitted raw. Floats are an error.
pub fn canonical(value: &Value) -> Result<Vec<u8>, ModelError> {
    canonical_of(value)
}

/// Canonical JSON of any serialisable value, typed or not, without an
/// intermediate `Value`.
pub fn canonical_of<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ModelError> {
    writer::write(value, Format::Canonical)
}

/// The whitespace layouts of Python's `json.dumps` that in-toto uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyStyle {
    /// `indent=1, separators=(",", ": ")`: Metablock files.
    Pretty,
    /// Default separators `", "` / `": "` on one line: DSSE envelopes and
    /// DSSE payloads.
    OneLine,
    /// `separators=(",", ":")`: the reference's `compact_json` option.
    Compact,
}

/// Python `json.dumps(value, sort_keys=True, ensure_ascii=True)` in `style`.
///
/// Fails only for floats or excessive depth, which strict parsing and the
/// typed model never produce.
pub fn to_python_json(value: &Value, style: PyStyle) -> Result<Vec<u8>, ModelError> {
    python_json_of(value, style)
}

/// As [`to_python_json`], for any serialisable value.
pub fn python_json_of<T: serde::Serialize + ?Sized>(
    value: &T,
    style: PyStyle,
) -> Result<Vec<u8>, ModelError> {
    writer::write(value, Format::Python(style))
}

/// Append `[{"digest":{…},"name":…},…]`, one resource descriptor per
/// `(name, digests)`, in [`PyStyle::Compact`]: byte for byte what
/// [`python_json_of`] writes for those descriptors, without serde's
/// per-member bookkeeping (a statement about 100,000 products).
pub fn compact_descriptor_list<'a>(
    items: impl Iterator<Item = (&'a str, &'a crate::DigestSet)>,
    out: &mut Vec<u8>,
) {
    writer::compact_descriptor_list(items, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_lists_are_what_the_generic_writer_writes() {
        use crate::{Digest, DigestSet};
        let mut two = DigestSet::single("sha256", Digest::new("ab".repeat(32)).unwrap());
        two.insert("sha512", Digest::new("cd".repeat(64)).unwrap());
        let one = DigestSet::single("sha256", Digest::new("ef".repeat(32)).unwrap());
        let items = [("a\u{e9}\"\\\u{1}\u{1F600}", &two), ("b", &one)];
        for n in 0..=items.len() {
            let mut out = Vec::new();
            compact_descriptor_list(items.iter().take(n).map(|(a, d)| (*a, *d)), &mut out);
            let tree: Vec<Value> = items
                .iter()
                .take(n)
                .map(|(name, d)| serde_json::json!({"name": name, "digest": d}))
                .collect();
            assert_eq!(out, python_json_of(&tree, PyStyle::Compact).unwrap());
        }
    }

    #[test]
    fn rejects_duplicate_keys_anywhere() {
        let err = parse_strict(br#"{"a": {"b": 1, "b": 2}}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate key \"b\""), "{err}");
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn rejects_floats_and_trailing_data() {
        assert!(parse_strict(b"[1.0]").is_err());
        assert!(parse_strict(b"1e3").is_err());
        assert!(parse_strict(b"18446744073709551616").is_err());
        assert!(parse_strict(b"{} {}").is_err());
        assert!(parse_strict(b"-9223372036854775808").is_ok());
    }

    #[test]
    fn canonical_matches_spec_example() {
        let v = parse_strict(
            "{\"b\":[1,true,null,\"x\\\"y\\\\z\\n\\t\u{e9}\"],\"a\":{},\"A\":-5,\"\u{e9}\":0,\"z\":\"\\u0000\"}"
                .as_bytes(),
        )
        .unwrap();
        let expected = b"{\"A\":-5,\"a\":{},\"b\":[1,true,null,\"x\\\"y\\\\z\n\t\xc3\xa9\"],\"z\":\"\x00\",\"\xc3\xa9\":0}";
        assert_eq!(canonical(&v).unwrap(), expected.to_vec());
    }

    #[test]
    fn canonical_orders_keys_by_code_point() {
        let v = parse_strict("{\"\u{1F600}\":1,\"\u{FF01}\":2,\"a\":3}".as_bytes()).unwrap();
        let s = String::from_utf8(canonical(&v).unwrap()).unwrap();
        assert_eq!(s, "{\"a\":3,\"\u{FF01}\":2,\"\u{1F600}\":1}");
    }

    #[test]
    fn canonical_rejects_float_values_built_in_memory() {
        let v = serde_json::json!({"x": 1.5});
        assert!(matches!(canonical(&v), Err(ModelError::Canonical(_))));
    }

    #[test]
    fn python_pretty_layout() {
        let v = serde_json::json!({"b": [1, {}], "a": "\u{e9}\u{7f}/\u{1F600}", "c": []});
        let out = String::from_utf8(to_python_json(&v, PyStyle::Pretty).unwrap()).unwrap();
        assert_eq!(
            out,
            "{\n \"a\": \"\\u00e9\\u007f/\\ud83d\\ude00\",\n \"b\": [\n  1,\n  {}\n ],\n \"c\": []\n}"
        );
        let one = String::from_utf8(to_python_json(&v, PyStyle::OneLine).unwrap()).unwrap();
        assert_eq!(
            one,
            "{\"a\": \"\\u00e9\\u007f/\\ud83d\\ude00\", \"b\": [1, {}], \"c\": []}"
        );
        let compact = String::from_utf8(to_python_json(&v, PyStyle::Compact).unwrap()).unwrap();
        assert_eq!(
            compact,
            "{\"a\":\"\\u00e9\\u007f/\\ud83d\\ude00\",\"b\":[1,{}],\"c\":[]}"
        );
    }

    #[test]
    fn python_short_escapes() {
        let v = Value::String("\"\\\n\r\t\u{8}\u{c}\u{1}".into());
        let out = to_python_json(&v, PyStyle::OneLine).unwrap();
        assert_eq!(out, br#""\"\\\n\r\t\b\f\u0001""#.to_vec());
    }

    #[test]
    fn writers_refuse_excessive_depth() {
        let mut v = Value::Null;
        for _ in 0..200 {
            v = Value::Array(vec![v]);
        }
        assert!(canonical(&v).is_err());
        assert!(to_python_json(&v, PyStyle::Pretty).is_err());
    }
}
