//! Artifact digests as in-toto links record them.
//!
//! The reference compares digest sets as whole dictionaries, case-sensitive,
//! so we keep the hex text exactly as read and never normalise it.

use std::borrow::Cow;
use std::fmt;

use smallvec::SmallVec;

use serde::{Deserialize, Serialize};

/// A hex digest string (`^[0-9a-fA-F]+$`, the reference's schema).
///
/// The usual digests (lowercase hex of up to 32 bytes: sha256, sha1, git
/// commits) are stored as their bytes, anything else as its text. Every
/// text has exactly one representation, so equality stays equality of the
/// text while comparing half the bytes, and an artifact's entry in a link
/// takes 96 bytes instead of 128: a verifier holds one per artifact,
/// hundreds of thousands per run, and first-touch page faults on that
/// memory were a large part of its time (docs/performance.md).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Digest(Repr);

/// Bytes of the longest digest stored packed (sha256).
const PACKED: usize = 32;

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    /// Lowercase hex of an even length up to `2 * PACKED`: its bytes.
    Packed { len: u8, bytes: [u8; PACKED] },
    /// Any other hex text (uppercase letters, odd lengths, sha512).
    Text(Box<str>),
}

impl Repr {
    /// `hex` is already checked to be hex.
    fn of(hex: &str) -> Self {
        let packable = hex.len() % 2 == 0
            && hex.len() <= 2 * PACKED
            && !crate::scan::any_byte(hex.as_bytes(), |b| b.is_ascii_uppercase());
        if packable {
            let mut bytes = [0u8; PACKED];
            if let Some(out) = bytes.get_mut(..hex.len() / 2) {
                if const_hex::decode_to_slice(hex, out).is_ok() {
                    return Repr::Packed {
                        len: out.len() as u8,
                        bytes,
                    };
                }
            }
        }
        Repr::Text(hex.into())
    }
}

/// A digest's hex text: borrowed, or encoded on the stack from its bytes.
pub struct HexStr<'a>(HexRepr<'a>);

enum HexRepr<'a> {
    Encoded { buf: [u8; 2 * PACKED], len: usize },
    Borrowed(&'a str),
}

impl HexStr<'_> {
    /// The text's bytes, without the UTF-8 check `&str` needs.
    fn bytes(&self) -> &[u8] {
        match &self.0 {
            HexRepr::Encoded { buf, len } => buf.get(..*len).unwrap_or_default(),
            HexRepr::Borrowed(s) => s.as_bytes(),
        }
    }
}

impl std::ops::Deref for HexStr<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        // Hex digits, so always UTF-8.
        std::str::from_utf8(self.bytes()).unwrap_or_default()
    }
}

impl PartialEq<str> for HexStr<'_> {
    fn eq(&self, other: &str) -> bool {
        **self == *other
    }
}

impl PartialEq<&str> for HexStr<'_> {
    fn eq(&self, other: &&str) -> bool {
        **self == **other
    }
}

impl PartialEq<String> for HexStr<'_> {
    fn eq(&self, other: &String) -> bool {
        **self == *other.as_str()
    }
}

impl fmt::Debug for HexStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Written as its text, without the copy `#[serde(into)]` would make for
/// every one of a link's artifacts.
impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
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
                Digest::new(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

fn check_hex(hex: &str) -> Result<(), String> {
    // Runs once per artifact of every link read.
    let all_hex = !crate::scan::any_byte(hex.as_bytes(), |b| {
        !(b.wrapping_sub(b'0') < 10 || (b | 0x20).wrapping_sub(b'a') < 6)
    });
    if hex.is_empty() || !all_hex {
        return Err(format!("digest {hex:?} is not a hex string"));
    }
    Ok(())
}

impl Digest {
    /// Validate a hex digest.
    pub fn new(hex: impl AsRef<str>) -> Result<Self, String> {
        let hex = hex.as_ref();
        check_hex(hex)?;
        Ok(Digest(Repr::of(hex)))
    }

    /// The lowercase hex of raw digest bytes (what the recorder makes,
    /// one per file).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut packed = [0u8; PACKED];
        match packed.get_mut(..bytes.len()) {
            Some(out) => {
                out.copy_from_slice(bytes);
                Digest(Repr::Packed {
                    len: bytes.len() as u8,
                    bytes: packed,
                })
            }
            None => Digest(Repr::Text(const_hex::encode(bytes).into())),
        }
    }

    /// The length of the hex text, without writing it.
    pub fn hex_len(&self) -> usize {
        match &self.0 {
            Repr::Packed { len, .. } => 2 * usize::from(*len),
            Repr::Text(s) => s.len(),
        }
    }

    /// Whether the hex text has no uppercase letter: known without a look
    /// for the digests the recorder makes (stored as bytes), which a
    /// statement about 100,000 products checks one by one.
    pub fn is_lowercase(&self) -> bool {
        match &self.0 {
            Repr::Packed { .. } => true,
            Repr::Text(s) => !s.bytes().any(|b| b.is_ascii_uppercase()),
        }
    }

    /// The hex text as recorded.
    pub fn as_str(&self) -> HexStr<'_> {
        match &self.0 {
            Repr::Packed { len, bytes } => {
                let mut buf = [0u8; 2 * PACKED];
                let len = usize::from(*len);
                if let (Some(src), Some(dst)) = (bytes.get(..len), buf.get_mut(..2 * len)) {
                    let _ = const_hex::encode_to_slice(src, dst);
                }
                HexStr(HexRepr::Encoded { buf, len: 2 * len })
            }
            Repr::Text(s) => HexStr(HexRepr::Borrowed(s)),
        }
    }

    /// Append the digest as a JSON string (hex needs no escaping), for
    /// writers that go through every digest of a link.
    pub(crate) fn push_json(&self, out: &mut Vec<u8>) {
        out.push(b'"');
        out.extend_from_slice(self.as_str().bytes());
        out.push(b'"');
    }
}

// Ordered by the text, whichever way it is stored.
impl PartialOrd for Digest {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Digest {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self.as_str()).cmp(&*other.as_str())
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
        d.as_str().to_string()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.as_str(), f)
    }
}

/// Algorithm name to digest, e.g. `{"sha256": "…"}`.
///
/// Stored inline, sorted by algorithm, with the common algorithm names as
/// static strings: a link holds one set per artifact, usually with one
/// digest, and every allocation per artifact costs time and memory on
/// links with 100,000 of them (a one-entry `BTreeMap` would even allocate
/// a whole B-tree node).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct DigestSet(SmallVec<[(Algorithm, Digest); 1]>);

/// An algorithm name; the usual ones are not allocated.
type Algorithm = Cow<'static, str>;

fn algorithm(name: &str) -> Algorithm {
    match name {
        "sha256" => Cow::Borrowed("sha256"),
        "sha512" => Cow::Borrowed("sha512"),
        "sha384" => Cow::Borrowed("sha384"),
        "sha1" => Cow::Borrowed("sha1"),
        "gitCommit" => Cow::Borrowed("gitCommit"),
        other => Cow::Owned(other.to_string()),
    }
}

impl Serialize for DigestSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k.as_ref(), v)))
    }
}

impl<'de> Deserialize<'de> for DigestSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Key(Algorithm);
        impl<'de> Deserialize<'de> for Key {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = Key;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("an algorithm name")
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key, E> {
                        Ok(Key(algorithm(v)))
                    }
                }
                d.deserialize_str(V)
            }
        }
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = DigestSet;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of algorithm names to hex digests")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<DigestSet, A::Error> {
                let mut set = DigestSet::new();
                while let Some(Key(alg)) = map.next_key()? {
                    let digest: Digest = map.next_value()?;
                    if set.is_empty() {
                        // The usual single digest: nothing to search.
                        set.0.push((alg, digest));
                        continue;
                    }
                    if set.get(&alg).is_some() {
                        return Err(serde::de::Error::custom(format_args!(
                            "duplicate key {alg:?}"
                        )));
                    }
                    set.insert_algorithm(alg, digest);
                }
                Ok(set)
            }
        }
        d.deserialize_map(V)
    }
}

impl DigestSet {
    /// An empty set.
    pub fn new() -> Self {
        DigestSet(SmallVec::new())
    }

    /// A set holding one digest.
    pub fn single(algorithm: impl AsRef<str>, digest: Digest) -> Self {
        let mut set = DigestSet::new();
        set.insert(algorithm, digest);
        set
    }

    /// Add or replace the digest for `algorithm`.
    pub fn insert(&mut self, name: impl AsRef<str>, digest: Digest) {
        self.insert_algorithm(algorithm(name.as_ref()), digest);
    }

    fn insert_algorithm(&mut self, algorithm: Algorithm, digest: Digest) {
        match self
            .0
            .binary_search_by(|(k, _)| k.as_ref().cmp(algorithm.as_ref()))
        {
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
            .binary_search_by(|(k, _)| k.as_ref().cmp(algorithm))
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, d)| d)
    }

    /// Algorithm/digest pairs in algorithm order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Digest)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
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
    fn length_and_case_are_the_text_s() {
        for hex in [
            "ab",
            "AB",
            "aB",
            "abc",
            &"ab".repeat(32),
            &"AB".repeat(32),
            &"ab".repeat(64),
        ] {
            let d = Digest::new(hex).unwrap();
            assert_eq!(d.hex_len(), hex.len(), "{hex}");
            assert_eq!(d.is_lowercase(), hex == hex.to_lowercase(), "{hex}");
        }
        let d = Digest::from_bytes(&[0xab; 48]);
        assert_eq!((d.hex_len(), d.is_lowercase()), (96, true));
    }

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
    fn long_and_short_digests_keep_their_text() {
        let short = "Ab".repeat(32);
        let long = "cd".repeat(64);
        for hex in [short.as_str(), long.as_str(), "0"] {
            let d: Digest = serde_json::from_str(&format!("{hex:?}")).unwrap();
            assert_eq!(d.as_str(), hex);
            assert_eq!(d, Digest::new(hex).unwrap());
        }
        assert!(Digest::new(&short).unwrap() < Digest::new(&long).unwrap());
        assert_eq!(Digest::from_bytes(&[0xab; 64]).as_str(), "ab".repeat(64));
    }

    #[test]
    fn each_text_has_one_representation() {
        // Packed from the text or from the bytes: the same digest.
        assert_eq!(
            Digest::new("ab01").unwrap(),
            Digest::from_bytes(&[0xab, 0x01])
        );
        assert_eq!(Digest::from_bytes(&[0xab, 0x01]).as_str(), "ab01");
        let sha256 = "0f".repeat(32);
        assert_eq!(
            Digest::new(&sha256).unwrap(),
            Digest::from_bytes(&[0x0f; 32])
        );
        // Texts that are not packed keep their case and length.
        for text in [
            "AB01",
            "aB01",
            "abc",
            "0",
            &"ab".repeat(33),
            &"Ab".repeat(32),
        ] {
            let d = Digest::new(text).unwrap();
            assert_eq!(d.as_str(), text);
            assert!(matches!(d.0, Repr::Text(_)), "{text} was packed");
        }
        assert_ne!(Digest::new("AB01").unwrap(), Digest::new("ab01").unwrap());
    }

    #[test]
    fn an_artifact_entry_takes_96_bytes() {
        let entry = std::mem::size_of::<(crate::ArtifactName, DigestSet)>();
        assert!(entry <= 96, "{entry} bytes");
    }

    proptest::proptest! {
        #[test]
        fn text_equality_order_and_hash_survive_packing(
            a in "[0-9a-fA-F]{1,70}",
            b in "[0-9a-f]{1,70}",
        ) {
            use std::hash::{BuildHasher, RandomState};
            let (da, db) = (Digest::new(&a).unwrap(), Digest::new(&b).unwrap());
            proptest::prop_assert_eq!(&*da.as_str(), a.as_str());
            proptest::prop_assert_eq!(&*db.as_str(), b.as_str());
            proptest::prop_assert_eq!(da == db, a == b);
            proptest::prop_assert_eq!(da.cmp(&db), a.cmp(&b));
            if b.len() % 2 == 0 {
                // The same text from its bytes: equal, and hashed alike.
                let from_bytes = Digest::from_bytes(&hex::decode(&b).unwrap());
                let hasher = RandomState::new();
                proptest::prop_assert_eq!(&from_bytes, &db);
                proptest::prop_assert_eq!(hasher.hash_one(&from_bytes), hasher.hash_one(&db));
            }
            proptest::prop_assert_eq!(&serde_json::to_string(&da).unwrap(), &format!("{a:?}"));
        }
    }

    #[test]
    fn rejects_base64_digests() {
        assert!(serde_json::from_str::<DigestSet>(r#"{"sha256": "q80="}"#).is_err());
        assert!(serde_json::from_str::<DigestSet>(r#"{"sha256": ""}"#).is_err());
    }
}
