//! Artifact digests as in-toto links record them.
//!
//! The reference compares digest sets as whole dictionaries, case-sensitive,
//! so we keep the hex text exactly as read and never normalise it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A hex digest string (`^[0-9a-fA-F]+$`, the reference's schema).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    /// Validate a hex digest.
    pub fn new(hex: impl Into<String>) -> Result<Self, String> {
        let hex = hex.into();
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("digest {hex:?} is not a hex string"));
        }
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
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DigestSet(BTreeMap<String, Digest>);

impl DigestSet {
    /// An empty set.
    pub fn new() -> Self {
        DigestSet(BTreeMap::new())
    }

    /// A set holding one digest.
    pub fn single(algorithm: impl Into<String>, digest: Digest) -> Self {
        let mut set = DigestSet::new();
        set.insert(algorithm, digest);
        set
    }

    /// Add or replace the digest for `algorithm`.
    pub fn insert(&mut self, algorithm: impl Into<String>, digest: Digest) {
        self.0.insert(algorithm.into(), digest);
    }

    /// The digest for `algorithm`, if recorded.
    pub fn get(&self, algorithm: &str) -> Option<&Digest> {
        self.0.get(algorithm)
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
        f.debug_map().entries(self.0.iter()).finish()
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
    fn rejects_base64_digests() {
        assert!(serde_json::from_str::<DigestSet>(r#"{"sha256": "q80="}"#).is_err());
        assert!(serde_json::from_str::<DigestSet>(r#"{"sha256": ""}"#).is_err());
    }
}
