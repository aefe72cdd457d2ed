//! A link's recorded artifacts: name to digests, in name order.
//!
//! Kept as one sorted vector rather than a B-tree: a verifier reads
//! hundreds of thousands of artifacts per run, links arrive sorted (the
//! reference and intact both write sorted keys), and building, looking up
//! and freeing a contiguous vector costs a fraction of a tree's node
//! allocations and pointer chasing. Lookups are binary searches.

use std::borrow::Borrow;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{ArtifactName, DigestSet};

/// Recorded artifacts, sorted by name, each name once.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Artifacts(Vec<(ArtifactName, DigestSet)>);

impl Artifacts {
    /// No artifacts.
    pub fn new() -> Self {
        Artifacts(Vec::new())
    }

    /// How many artifacts are recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find<Q: Ord + ?Sized>(&self, name: &Q) -> Result<usize, usize>
    where
        ArtifactName: Borrow<Q>,
    {
        self.0.binary_search_by(|(k, _)| k.borrow().cmp(name))
    }

    /// The digests recorded for `name`.
    pub fn get<Q: Ord + ?Sized>(&self, name: &Q) -> Option<&DigestSet>
    where
        ArtifactName: Borrow<Q>,
    {
        let i = self.find(name).ok()?;
        self.0.get(i).map(|(_, d)| d)
    }

    /// The digests for `name`, searching from `cursor` onwards first: a
    /// run of lookups in ascending name order (a MATCH rule walking one
    /// sorted link against another) then costs a short gallop each
    /// instead of a full binary search. Any order gives correct answers.
    pub fn get_after<'a>(&'a self, name: &str, cursor: &mut usize) -> Option<&'a DigestSet> {
        let at = |i: usize| self.0.get(i).map(|(k, _)| k.as_str());
        let start = *cursor;
        if at(start.wrapping_sub(1)).is_some_and(|k| k >= name) || start > self.0.len() {
            return self.get(name);
        }
        // Gallop: find a bound past `name`, then search the window.
        let mut step = 1;
        let mut hi = start;
        while at(hi).is_some_and(|k| k < name) {
            hi = hi.saturating_add(step);
            step = step.saturating_mul(2);
        }
        let hi = hi.min(self.0.len());
        let window = self.0.get(start..hi.saturating_add(1).min(self.0.len()))?;
        match window.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
            Ok(i) => {
                *cursor = start + i + 1;
                window.get(i).map(|(_, d)| d)
            }
            Err(i) => {
                *cursor = start + i;
                None
            }
        }
    }

    /// Whether `name` is recorded.
    pub fn contains_key<Q: Ord + ?Sized>(&self, name: &Q) -> bool
    where
        ArtifactName: Borrow<Q>,
    {
        self.find(name).is_ok()
    }

    /// Record `digests` for `name`, returning what it replaces. Appending
    /// in name order (how recorders produce them) is constant time.
    pub fn insert(&mut self, name: ArtifactName, digests: DigestSet) -> Option<DigestSet> {
        if self.0.last().is_none_or(|(last, _)| *last < name) {
            self.0.push((name, digests));
            return None;
        }
        match self.find(&name) {
            Ok(i) => self
                .0
                .get_mut(i)
                .map(|slot| std::mem::replace(&mut slot.1, digests)),
            Err(i) => {
                self.0.insert(i, (name, digests));
                None
            }
        }
    }

    /// Forget `name`, returning its digests.
    pub fn remove<Q: Ord + ?Sized>(&mut self, name: &Q) -> Option<DigestSet>
    where
        ArtifactName: Borrow<Q>,
    {
        let i = self.find(name).ok()?;
        Some(self.0.remove(i).1)
    }

    /// Remove every artifact.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Name/digests pairs in name order.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&ArtifactName, &DigestSet)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Names in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &ArtifactName> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    /// Digest sets in name order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &DigestSet> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }

    /// Pairs already sorted by name without duplicates (a parser checked).
    pub(crate) fn from_sorted_unique(pairs: Vec<(ArtifactName, DigestSet)>) -> Self {
        debug_assert!(pairs.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)));
        Artifacts(pairs)
    }

    /// Sort `pairs` by name; a later pair for the same name replaces an
    /// earlier one, as inserting them one by one would.
    fn from_pairs(mut pairs: Vec<(ArtifactName, DigestSet)>) -> Self {
        if !pairs.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)) {
            // Stable, so among equal names the last one given stays last.
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out: Vec<(ArtifactName, DigestSet)> = Vec::with_capacity(pairs.len());
            for pair in pairs {
                match out.last_mut() {
                    Some(last) if last.0 == pair.0 => *last = pair,
                    _ => out.push(pair),
                }
            }
            pairs = out;
        }
        Artifacts(pairs)
    }
}

impl FromIterator<(ArtifactName, DigestSet)> for Artifacts {
    fn from_iter<I: IntoIterator<Item = (ArtifactName, DigestSet)>>(iter: I) -> Self {
        Artifacts::from_pairs(iter.into_iter().collect())
    }
}

impl Extend<(ArtifactName, DigestSet)> for Artifacts {
    fn extend<I: IntoIterator<Item = (ArtifactName, DigestSet)>>(&mut self, iter: I) {
        let mut pairs = std::mem::take(&mut self.0);
        pairs.extend(iter);
        *self = Artifacts::from_pairs(pairs);
    }
}

impl IntoIterator for Artifacts {
    type Item = (ArtifactName, DigestSet);
    type IntoIter = std::vec::IntoIter<(ArtifactName, DigestSet)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Artifacts {
    type Item = (&'a ArtifactName, &'a DigestSet);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (ArtifactName, DigestSet)>,
        fn(&'a (ArtifactName, DigestSet)) -> (&'a ArtifactName, &'a DigestSet),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl fmt::Debug for Artifacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Artifacts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// Strict: a name given twice is an error, as everywhere in intact's
/// parsing (the reference's `json` would keep the last one silently).
impl<'de> Deserialize<'de> for Artifacts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Artifacts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of artifact names to digest sets")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Artifacts, A::Error> {
                let mut pairs: Vec<(ArtifactName, DigestSet)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(0));
                let mut sorted = true;
                while let Some(name) = map.next_key::<ArtifactName>()? {
                    let digests = map.next_value::<DigestSet>()?;
                    if let Some((last, _)) = pairs.last() {
                        match last.cmp(&name) {
                            std::cmp::Ordering::Less => {}
                            std::cmp::Ordering::Greater => sorted = false,
                            std::cmp::Ordering::Equal => return Err(duplicate(&name)),
                        }
                    }
                    pairs.push((name, digests));
                }
                if !sorted {
                    pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                    if let Some(w) = pairs.windows(2).find(|w| matches!(w, [a, b] if a.0 == b.0)) {
                        if let Some((name, _)) = w.first() {
                            return Err(duplicate(name));
                        }
                    }
                }
                Ok(Artifacts(pairs))
            }
        }
        d.deserialize_map(V)
    }
}

fn duplicate<E: de::Error>(name: &ArtifactName) -> E {
    E::custom(format_args!("duplicate key {:?}", name.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Digest;

    fn name(s: &str) -> ArtifactName {
        ArtifactName::new(s).unwrap()
    }

    fn set(hex: &str) -> DigestSet {
        DigestSet::single("sha256", Digest::new(hex).unwrap())
    }

    #[test]
    fn behaves_like_a_sorted_map() {
        let mut a = Artifacts::new();
        assert_eq!(a.insert(name("b"), set("01")), None);
        assert_eq!(a.insert(name("d"), set("02")), None);
        assert_eq!(a.insert(name("a"), set("03")), None);
        assert_eq!(a.insert(name("b"), set("04")), Some(set("01")));
        assert_eq!(
            a.keys().map(ArtifactName::as_str).collect::<Vec<_>>(),
            ["a", "b", "d"]
        );
        assert_eq!(a.get("b"), Some(&set("04")));
        assert!(a.contains_key("d") && !a.contains_key("c"));
        assert_eq!(a.remove("a"), Some(set("03")));
        assert_eq!(a.len(), 2);
        let collected: Artifacts = [
            (name("z"), set("1")),
            (name("y"), set("2")),
            (name("z"), set("3")),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            collected
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect::<Vec<_>>(),
            [("y", set("2")), ("z", set("3"))]
        );
    }

    #[test]
    fn cursor_lookups_agree_with_get_in_any_order() {
        let a: Artifacts = (0..200)
            .filter(|i| i % 3 != 0)
            .map(|i| (name(&format!("f{i:03}")), set("ab")))
            .collect();
        let probes: Vec<String> = (0..210).map(|i| format!("f{i:03}")).collect();
        let mut ascending = 0;
        for p in &probes {
            assert_eq!(a.get_after(p, &mut ascending), a.get(p.as_str()), "{p}");
        }
        let mut jumping = 0;
        for p in probes.iter().rev().chain(probes.iter().step_by(7)) {
            assert_eq!(a.get_after(p, &mut jumping), a.get(p.as_str()), "{p}");
        }
        assert_eq!(a.get_after("f001", &mut usize::MAX.clone()), a.get("f001"));
        assert_eq!(Artifacts::new().get_after("x", &mut 0), None);
    }

    #[test]
    fn parses_sorted_and_unsorted_objects_and_refuses_duplicates() {
        let parse = |s: &str| serde_json::from_str::<Artifacts>(s);
        let sorted = parse(r#"{"a": {"sha256": "01"}, "b": {"sha256": "02"}}"#).unwrap();
        let unsorted = parse(r#"{"b": {"sha256": "02"}, "a": {"sha256": "01"}}"#).unwrap();
        assert_eq!(sorted, unsorted);
        assert_eq!(
            serde_json::to_string(&unsorted).unwrap(),
            r#"{"a":{"sha256":"01"},"b":{"sha256":"02"}}"#
        );
        for dup in [
            r#"{"a": {}, "a": {}}"#,
            r#"{"b": {}, "a": {}, "b": {}}"#,
            r#"{"a": {}, "c": {}, "b": {}, "c": {}}"#,
        ] {
            let err = parse(dup).unwrap_err().to_string();
            assert!(err.contains("duplicate key"), "{dup}: {err}");
        }
    }
}
