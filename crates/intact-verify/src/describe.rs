//! What a metadata file is, at a glance (`intact show`): its kind,
//! container, signatures and contents, as data that prints as text or
//! serialises as JSON.
//!
//! A signature is only ever reported as valid when a key was given and it
//! verified: a list of keyids read from a file says who *claims* to have
//! signed, so without a key each one is marked as not checked.

use std::fmt;

use intact_crypto::{verify_metadata, PublicKey};
use intact_model::escape::escape;
use intact_model::{Artifacts, Container, KeyId, Metadata, Payload, Rule};
use serde::Serialize;

/// A metadata file described.
#[derive(Debug, Clone, Serialize)]
pub struct Description {
    /// `link` or `layout`.
    pub kind: &'static str,
    /// `metablock` or `envelope`.
    pub container: &'static str,
    /// Each signature, in file order, with what is known about it.
    pub signatures: Vec<SignatureStatus>,
    /// The link's contents, for a link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkSummary>,
    /// The layout's contents, for a layout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layout: Option<LayoutSummary>,
}

/// One signature and whether it was checked.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureStatus {
    /// The keyid the signature claims.
    pub keyid: String,
    /// `not-checked` (no key given), `valid`, `invalid` (the given key's
    /// signature does not verify), `other-key` (a key was given, this
    /// signature is by another).
    pub status: &'static str,
}

/// A link's contents.
#[derive(Debug, Clone, Serialize)]
pub struct LinkSummary {
    /// The step it is evidence for.
    pub name: String,
    /// The command recorded.
    pub command: Vec<String>,
    /// The command's return value, when recorded.
    pub return_value: Option<i64>,
    /// How many materials.
    pub material_count: usize,
    /// How many products.
    pub product_count: usize,
    /// Every material with its digests (only when asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub materials: Option<Vec<ArtifactLine>>,
    /// Every product with its digests (only when asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub products: Option<Vec<ArtifactLine>>,
}

/// An artifact and its digests, `algorithm:hex`.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactLine {
    /// The artifact's name.
    pub name: String,
    /// `sha256:...`, one per algorithm recorded.
    pub digests: Vec<String>,
}

/// A layout's contents.
#[derive(Debug, Clone, Serialize)]
pub struct LayoutSummary {
    /// `expires`, as written; `None` when the layout has none.
    pub expires: Option<String>,
    /// Keyids of the functionary keys.
    pub keys: Vec<String>,
    /// Steps in order.
    pub steps: Vec<ItemSummary>,
    /// Inspections in order.
    pub inspections: Vec<ItemSummary>,
}

/// A step or an inspection.
#[derive(Debug, Clone, Serialize)]
pub struct ItemSummary {
    /// Its name.
    pub name: String,
    /// Threshold (steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<i64>,
    /// Authorised keyids (steps).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pubkeys: Vec<String>,
    /// Expected command (steps) or the command run (inspections).
    pub command: Vec<String>,
    /// Material rules as written.
    pub material_rules: Vec<String>,
    /// Product rules as written.
    pub product_rules: Vec<String>,
}

/// Describe `md`; with `key`, check the signatures by it.
pub fn describe(
    md: &Metadata,
    key: Option<(&KeyId, &PublicKey)>,
    with_artifacts: bool,
) -> Result<Description, intact_model::ModelError> {
    let payload = md.payload()?;
    let signatures = md
        .signatures()
        .iter()
        .map(|s| SignatureStatus {
            keyid: s.keyid.to_string(),
            status: match key {
                None => "not-checked",
                Some((id, _)) if id != s.keyid => "other-key",
                Some((id, k)) if verify_metadata(md, id, k).is_ok() => "valid",
                Some(_) => "invalid",
            },
        })
        .collect();
    let container = match md.container() {
        Container::Metablock => "metablock",
        Container::Envelope => "envelope",
    };
    let rules = |r: &[Rule]| r.iter().map(ToString::to_string).collect();
    let (kind, link, layout) = match payload {
        Payload::Link(l) => (
            "link",
            Some(LinkSummary {
                name: l.name.to_string(),
                command: l.command.clone(),
                return_value: l.return_value(),
                material_count: l.materials.len(),
                product_count: l.products.len(),
                materials: with_artifacts.then(|| lines(&l.materials)),
                products: with_artifacts.then(|| lines(&l.products)),
            }),
            None,
        ),
        Payload::Layout(l) => (
            "layout",
            None,
            Some(LayoutSummary {
                expires: l.expires.as_ref().map(ToString::to_string),
                keys: l.keys.keys().map(ToString::to_string).collect(),
                steps: l
                    .steps
                    .iter()
                    .map(|s| ItemSummary {
                        name: s.name.to_string(),
                        threshold: Some(s.threshold),
                        pubkeys: s.pubkeys.iter().map(ToString::to_string).collect(),
                        command: s.expected_command.clone(),
                        material_rules: rules(&s.expected_materials),
                        product_rules: rules(&s.expected_products),
                    })
                    .collect(),
                inspections: l
                    .inspect
                    .iter()
                    .map(|i| ItemSummary {
                        name: i.name.to_string(),
                        threshold: None,
                        pubkeys: Vec::new(),
                        command: i.run.clone(),
                        material_rules: rules(&i.expected_materials),
                        product_rules: rules(&i.expected_products),
                    })
                    .collect(),
            }),
        ),
    };
    Ok(Description {
        kind,
        container,
        signatures,
        link,
        layout,
    })
}

fn lines(artifacts: &Artifacts) -> Vec<ArtifactLine> {
    artifacts
        .iter()
        .map(|(name, set)| ArtifactLine {
            name: name.to_string(),
            digests: set.iter().map(|(alg, d)| format!("{alg}:{d}")).collect(),
        })
        .collect()
}

/// The text form. Names, commands and rules come from the file: they are
/// printed through [`escape`], so control characters cannot redraw the
/// terminal.
impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let container = match self.container {
            "envelope" => "DSSE envelope",
            _ => "Metablock",
        };
        writeln!(f, "{} in a {container}", self.kind)?;
        if self.signatures.is_empty() {
            writeln!(f, "  signed by: (unsigned)")?;
        }
        for s in &self.signatures {
            let status = match s.status {
                "not-checked" => "not checked (give --key to check it)",
                "valid" => "valid",
                "invalid" => "INVALID",
                _ => "by another key, not checked",
            };
            writeln!(f, "  signature by {}: {status}", s.keyid)?;
        }
        if let Some(l) = &self.link {
            writeln!(f, "  name: {}", escape(&l.name))?;
            if !l.command.is_empty() {
                writeln!(f, "  command: {}", escape(&l.command.join(" ")))?;
            }
            if let Some(rv) = l.return_value {
                writeln!(f, "  return value: {rv}")?;
            }
            writeln!(f, "  materials: {}", l.material_count)?;
            for a in l.materials.iter().flatten() {
                writeln!(f, "    {}  {}", a.digests.join(" "), escape(&a.name))?;
            }
            writeln!(f, "  products: {}", l.product_count)?;
            for a in l.products.iter().flatten() {
                writeln!(f, "    {}  {}", a.digests.join(" "), escape(&a.name))?;
            }
        }
        if let Some(l) = &self.layout {
            match &l.expires {
                Some(e) => writeln!(f, "  expires: {e}")?,
                None => writeln!(
                    f,
                    "  expires: (none; the reference treats it as never expiring)"
                )?,
            }
            writeln!(f, "  keys: {}", l.keys.len())?;
            for s in &l.steps {
                let n = s.pubkeys.len();
                writeln!(
                    f,
                    "  step {} (threshold {}, {n} key{}):",
                    escape(&s.name),
                    s.threshold.unwrap_or(1),
                    if n == 1 { "" } else { "s" }
                )?;
                if !s.command.is_empty() {
                    writeln!(f, "    expected command: {}", escape(&s.command.join(" ")))?;
                }
                write_rules(f, s)?;
            }
            for i in &l.inspections {
                writeln!(
                    f,
                    "  inspection {}: {}",
                    escape(&i.name),
                    escape(&i.command.join(" "))
                )?;
                write_rules(f, i)?;
            }
        }
        Ok(())
    }
}

fn write_rules(f: &mut fmt::Formatter<'_>, item: &ItemSummary) -> fmt::Result {
    for r in &item.material_rules {
        writeln!(f, "    material: {}", escape(r))?;
    }
    for r in &item.product_rules {
        writeln!(f, "    product:  {}", escape(r))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use intact_crypto::{sign_metadata, SigningKey};
    use intact_model::{Link, StepName};

    fn signed() -> (Metadata, SigningKey) {
        let key = SigningKey::generate_ed25519();
        let mut link = Link::new(StepName::new("build").unwrap());
        link.products.insert(
            "app".parse().unwrap(),
            intact_model::DigestSet::single("sha256", intact_model::Digest::new("ab").unwrap()),
        );
        let mut md = Metadata::new(link.into(), Container::Metablock).unwrap();
        sign_metadata(&mut md, &key).unwrap();
        (md, key)
    }

    #[test]
    fn signatures_are_not_checked_without_a_key_and_checked_with_one() {
        let (md, key) = signed();
        let id = key.keyid().unwrap();
        let d = describe(&md, None, false).unwrap();
        assert_eq!(d.signatures[0].status, "not-checked");
        let d = describe(&md, Some((&id, key.public_key())), false).unwrap();
        assert_eq!(d.signatures[0].status, "valid");
        let other = SigningKey::generate_ed25519();
        let d = describe(&md, Some((&id, other.public_key())), false).unwrap();
        assert_eq!(d.signatures[0].status, "invalid");
        let other_id = other.keyid().unwrap();
        let d = describe(&md, Some((&other_id, other.public_key())), false).unwrap();
        assert_eq!(d.signatures[0].status, "other-key");
    }

    #[test]
    fn artifacts_are_listed_only_when_asked_for() {
        let (md, _) = signed();
        let d = describe(&md, None, false).unwrap();
        let l = d.link.as_ref().unwrap();
        assert!(l.products.is_none());
        assert_eq!(l.product_count, 1);
        let d = describe(&md, None, true).unwrap();
        let products = d.link.as_ref().unwrap().products.as_ref().unwrap();
        assert_eq!(products[0].name, "app");
        assert_eq!(products[0].digests, ["sha256:ab"]);
        assert!(d.to_string().contains("    sha256:ab  app\n"));
    }
}
