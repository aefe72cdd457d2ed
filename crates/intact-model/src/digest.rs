//! Artifact digests as in-toto links record them.
//!
//! The reference compares digest sets as whole dictionaries, case-sensitive,
//! so we keep the hex text exactly as read and never normalise it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A hex digest string (`^[0-9a-fA-F]+$`, the reference's schema).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

/// Written as its text, without the copy `#[serde(into)]` would make for
/// every one of a link's artifacts.
impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Digest;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a hex digest string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Digest, E> {
                check_hex(v).map_err(E::custom)?;
                Ok(Digest(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Digest, E> {
                Digest::new(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

fn check_hex(hex: &str) -> Result<(), String> {
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("digest {hex:?} is not a hex string"));
    }
    Ok(())
}

impl Digest {
    /// Validate a hex digest.
    pub fn new(hex: impl Into<String>) -> Result<Self, String> {
        let hex = hex.into();
        check_hex(&hex)?;
        Ok(Digest(hex))
    }

    /// Lowercase hex of raw digest bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Digest(hex::encode(bytes))
    }

    /// The hex text as recorded.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Digest {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        Digest::new(v)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Algorithm name to digest, e.g. `{"sha256": "…"}`.
///
/// Stored as a vector sorted by algorithm: links hold one set per artifact
/// and usually one algorithm, and a one-entry `BTreeMap` would allocate a
/// whole B-tree node (about half a kilobyte) for each of them.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct DigestSet(Vec<(String, Digest)>);

impl Serialize for DigestSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de> Deserialize<'de> for DigestSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map: BTreeMap<String, Digest> = crate::json::strict_btree(d)?;
        Ok(DigestSet(map.into_iter().collect()))
    }
}

impl DigestSet {
    /// An empty set.
    pub fn new() -> Self {
        DigestSet(Vec::new())
    }

    /// A set holding one digest.
    pub fn single(algorithm: impl Into<String>, digest: Digest) -> Self {
        let mut set = DigestSet::new();
        set.insert(algorithm, digest);
        set
    }

    /// Add or replace the digest for `algorithm`.
    pub fn insert(&mut self, algorithm: impl Into<String>, digest: Digest) {
        let algorithm = algorithm.into();
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&algorithm)) {
            Ok(i) => {
                if let Some(slot) = self.0.get_mut(i) {
                    slot.1 = digest;
                }
            }
            Err(i) => self.0.insert(i, (algorithm, digest)),
        }
    }

    /// The digest for `algorithm`, if recorded.
    pub fn get(&self, algorithm: &str) -> Option<&Digest> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(algorithm))
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, d)| d)
    }

    /// Algorithm/digest pairs in algorithm order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Digest)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of algorithms recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no digest is recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for DigestSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl fmt::Display for DigestSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (alg, d)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{alg}:{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_is_whole_set_and_case_sensitive() {
        let a = DigestSet::single("sha256", Digest::new("ab").unwrap());
        let b = DigestSet::single("sha256", Digest::new("AB").unwrap());
        assert_ne!(a, b);
        let mut c = a.clone();
        c.insert("sha512", Digest::new("cd").unwrap());
        assert_ne!(a, c);
    }

    #[test]
    fn keeps_algorithms_sorted_and_unique() {
        let mut s = DigestSet::new();
        s.insert("sha512", Digest::new("02").unwrap());
        s.insert("sha256", Digest::new("01").unwrap());
        s.insert("sha512", Digest::new("03").unwrap());
        assert_eq!(s.len(), 2);
        assert_eq!(s.get("sha512").unwrap().as_str(), "03");
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"sha256":"01","sha512":"03"}"#
        );
        let back: DigestSet = serde_json::from_str(r#"{"sha512":"03","sha256":"01"}"#).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn rejects_base64_digests() {
        assert!(serde_json::from_str::<DigestSet>(r#"{"sha256": "q80="}"#).is_err());
        assert!(serde_json::from_str::<DigestSet>(r#"{"sha256": ""}"#).is_err());
    }
}
