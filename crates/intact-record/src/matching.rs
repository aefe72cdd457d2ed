//! Local files against a link's products (`in-toto-match-products`).
//!
//! This lives in the recorder, not the verifier: it records the local
//! files exactly as a step records its products (same names, excludes,
//! lstrip prefixes and digests, through [`record_artifacts`]) and compares
//! two artifact maps. It checks no signature and applies no rule, so it
//! needs nothing of verification; and what it records follows whatever
//! the recorder learns to record.

use intact_model::{ArtifactName, Artifacts};

use crate::hash::{record_artifacts, HashError, HashOptions};

/// How local artifacts compare with a link's products; each list sorted
/// by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProductMatch {
    /// In the link's products, not recorded locally.
    pub only_in_products: Vec<ArtifactName>,
    /// Recorded locally, not in the link's products.
    pub not_in_products: Vec<ArtifactName>,
    /// In both, with different digests.
    pub differ: Vec<ArtifactName>,
}

impl ProductMatch {
    /// Whether the local artifacts are exactly the link's products.
    pub fn is_match(&self) -> bool {
        self.only_in_products.is_empty()
            && self.not_in_products.is_empty()
            && self.differ.is_empty()
    }
}

/// Record `paths` with `opts` and compare them with `products` (a link's
/// products), as the reference's `in_toto_match_products` does: every
/// product not recorded locally is only in the products, even one outside
/// `paths`; digest sets must be equal as a whole. The link is taken as
/// given: check its signature first if that matters.
///
/// ```
/// use intact_model::{Artifacts, DigestSet, Digest};
/// use intact_record::{match_products, HashOptions};
///
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("a.txt"), b"hello").unwrap();
/// let opts = HashOptions { base_path: Some(dir.path().into()), ..HashOptions::default() };
/// let mut products = Artifacts::new();
/// products.insert("a.txt".parse().unwrap(), DigestSet::single("sha256", Digest::new(
///     "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824").unwrap()));
/// assert!(match_products(&products, &[".".into()], &opts).unwrap().is_match());
/// ```
pub fn match_products(
    products: &Artifacts,
    paths: &[String],
    opts: &HashOptions,
) -> Result<ProductMatch, HashError> {
    let local = record_artifacts(paths, opts)?;
    let mut result = ProductMatch::default();
    for (name, digests) in products {
        match local.get(name.as_str()) {
            None => result.only_in_products.push(name.clone()),
            Some(d) if d != digests => result.differ.push(name.clone()),
            Some(_) => {}
        }
    }
    result.not_in_products = local
        .keys()
        .filter(|name| !products.contains_key(name.as_str()))
        .cloned()
        .collect();
    for list in [
        &mut result.only_in_products,
        &mut result.not_in_products,
        &mut result.differ,
    ] {
        list.sort();
    }
    Ok(result)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Tests may use std::fs.
mod tests {
    use super::*;

    fn names(list: &[ArtifactName]) -> Vec<&str> {
        list.iter().map(ArtifactName::as_str).collect()
    }

    #[test]
    fn reports_each_kind_of_difference_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let opts = HashOptions {
            base_path: Some(dir.path().into()),
            ..HashOptions::default()
        };
        for f in ["same", "changed", "b-local", "a-local"] {
            std::fs::write(dir.path().join(f), f).unwrap();
        }
        let before = record_artifacts(&[".".into()], &opts).unwrap();
        let mut products: Artifacts = before
            .iter()
            .filter(|(n, _)| n.as_str() == "same" || n.as_str() == "changed")
            .map(|(n, d)| (n.clone(), d.clone()))
            .collect();
        let gone = before.get("a-local").unwrap().clone();
        products.insert("z-gone".parse().unwrap(), gone.clone());
        products.insert("y-gone".parse().unwrap(), gone);
        std::fs::write(dir.path().join("changed"), "other").unwrap();

        let m = match_products(&products, &[".".into()], &opts).unwrap();
        assert!(!m.is_match());
        assert_eq!(names(&m.only_in_products), ["y-gone", "z-gone"]);
        assert_eq!(names(&m.not_in_products), ["a-local", "b-local"]);
        assert_eq!(names(&m.differ), ["changed"]);

        // Only some paths: every other product counts as only in the
        // products, as in the reference.
        let m = match_products(&products, &["same".into()], &opts).unwrap();
        assert_eq!(names(&m.only_in_products), ["changed", "y-gone", "z-gone"]);
        assert!(m.not_in_products.is_empty() && m.differ.is_empty());

        // The tree as it is now matches what it records.
        let exact: Artifacts = record_artifacts(&[".".into()], &opts)
            .unwrap()
            .into_iter()
            .collect();
        assert!(match_products(&exact, &[".".into()], &opts)
            .unwrap()
            .is_match());
    }
}
