//! Signature checks, and the only place a [`Verified`] value is made.
//!
//! Layouts and links that passed their signature checks are
//! `Verified<Layout>`, `Verified<Payload>`, `Verified<Link>`; the stages
//! after them (sublayouts, threshold agreement, rules, inspections,
//! summaries) take only such values, so no code path can hand them
//! metadata whose signatures were never checked. `Verified` has no public
//! constructor: its field is private to this module (cf. rust-tuf's
//! `src/verify.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;

use intact_crypto::{parse_and_verify_link, verify_metadata, CryptoError, PublicKey};
use intact_model::io::ReadError;
use intact_model::{KeyId, Layout, Link, Metadata, ModelError, Payload, Step, StepName};
use rayon::prelude::*;

use crate::LinkSource;

/// A value whose signatures were checked, or which was derived only from
/// such values (a parameter-substituted layout, a sublayout's summary).
#[derive(Debug, Clone)]
pub(crate) struct Verified<T>(T);

impl<T> Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Verified<T> {
    /// The value, leaving the verified world (to free it, or to hand it
    /// to a caller that does not need the guarantee any more).
    pub fn into_inner(self) -> T {
        self.0
    }

    /// Derive a value from this one alone; it stays verified.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Verified<U>, E> {
        f(self.0).map(Verified)
    }
}

impl Verified<Payload> {
    /// The link, or the layout when this is a sublayout.
    // Both variants are moved to the caller, never copied around: the
    // layout grew past clippy's size bound with its CA members (docs/pki.md).
    #[allow(clippy::result_large_err)]
    pub fn into_link(self) -> Result<Verified<Link>, Verified<Layout>> {
        match self.0 {
            Payload::Link(l) => Ok(Verified(l)),
            Payload::Layout(l) => Err(Verified(l)),
        }
    }
}

impl Verified<Link> {
    /// A link in the place of a payload (a sublayout's summary).
    pub fn into_payload(self) -> Verified<Payload> {
        Verified(Payload::Link(self.0))
    }
}

/// A map of verified values is itself verified.
impl<K: Ord, V> FromIterator<(K, Verified<V>)> for Verified<BTreeMap<K, V>> {
    fn from_iter<I: IntoIterator<Item = (K, Verified<V>)>>(iter: I) -> Self {
        Verified(iter.into_iter().map(|(k, v)| (k, v.0)).collect())
    }
}

/// Why a root or sub layout is not verified.
pub(crate) enum LayoutRejected {
    /// A required key did not sign it.
    Signature(CryptoError),
    /// Signed, but a link.
    NotALayout,
    /// Signed, but its payload does not parse.
    Malformed(ModelError),
}

/// Check that every key in `keys` signed `md`, then that it is a layout.
pub(crate) fn verify_layout(
    md: &Metadata,
    keys: &BTreeMap<KeyId, PublicKey>,
) -> Result<Verified<Layout>, LayoutRejected> {
    for (keyid, key) in keys {
        verify_metadata(md, keyid, key).map_err(LayoutRejected::Signature)?;
    }
    match md.payload() {
        Ok(Payload::Layout(l)) => Ok(Verified(l)),
        Ok(Payload::Link(_)) => Err(LayoutRejected::NotALayout),
        Err(e) => Err(LayoutRejected::Malformed(e)),
    }
}

/// The reference's summary link of a verified sublayout: materials of the
/// first step, products, byproducts and command of the last.
pub(crate) fn summary(
    name: &StepName,
    layout: &Verified<Layout>,
    links: &Verified<BTreeMap<StepName, Link>>,
) -> Verified<Link> {
    let mut out = Link::new(name.clone());
    let first = layout.steps.first().and_then(|s| links.get(&s.name));
    let last = layout.steps.last().and_then(|s| links.get(&s.name));
    if let Some(f) = first {
        out.materials = f.materials.clone();
    }
    if let Some(l) = last {
        out.products = l.products.clone();
        out.byproducts = l.byproducts.clone();
        out.command = l.command.clone();
    }
    Verified(out)
}

/// One link file of a step, read, parsed and (when its key is usable)
/// signature-checked, with the payload of a verified file.
pub(crate) struct Loaded {
    pub keyid: KeyId,
    pub file: String,
    pub read: Result<Option<Result<Parsed, String>>, ReadError>,
    pub verified: Option<Result<Verified<Payload>, Rejected>>,
}

/// A parsed link file: how often the step's key signed it, and the file
/// itself unless its link payload was moved out into the evidence (a
/// link with 100,000 artifacts is not worth a copy).
pub(crate) struct Parsed {
    pub signatures_by_key: usize,
    pub md: Option<Metadata>,
    /// SHA-256 of the file's bytes, when an audit record was asked for.
    pub sha256: Option<String>,
}

/// Why a link file is not evidence.
pub(crate) enum Rejected {
    /// Its signature does not verify with the key: ignored, like the reference.
    Signature(intact_crypto::CryptoError),
    /// Signed, but the payload is malformed: verification fails.
    Payload(String),
}

/// Check a link file's signature, then parse its payload.
pub(crate) fn check_link(
    md: &Metadata,
    keyid: &KeyId,
    key: &PublicKey,
) -> Result<Verified<Payload>, Rejected> {
    verify_metadata(md, keyid, key).map_err(Rejected::Signature)?;
    payload_of(md).map(Verified).map_err(Rejected::Payload)
}

/// What the file name of a key's link attestation adds to its classic
/// link's: `STEP.KEYID8.link.intoto.json`, as `intact run --attest link`
/// writes it.
pub const ATTESTATION_SUFFIX: &str = ".intoto.json";

/// The names a key's evidence for a step is looked for under: the
/// classic link, then the link attestation.
pub(crate) fn evidence_file_names(step: &StepName, keyid: &KeyId) -> [String; 2] {
    let classic = step.link_file_name(keyid);
    let attestation = format!("{classic}{ATTESTATION_SUFFIX}");
    [classic, attestation]
}

/// The `<step>.<keyid8>` a sublayout's links live under, from the name
/// of the file that held the sublayout.
pub(crate) fn sublayout_dir(file: &str) -> &str {
    let file = file.strip_suffix(ATTESTATION_SUFFIX).unwrap_or(file);
    file.strip_suffix(".link").unwrap_or(file)
}

/// Whether an envelope's payload is an in-toto Statement (a link
/// attestation), by its `_type`, rather than a classic link or layout.
fn is_statement(payload: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Tag {
        #[serde(rename = "_type", default)]
        tag: Option<String>,
    }
    serde_json::from_slice::<Tag>(payload)
        .is_ok_and(|t| t.tag.as_deref() == Some(intact_attest::STATEMENT_TYPE))
}

/// The payload of a signature-checked file: a classic link or layout, or,
/// when a DSSE envelope carries an in-toto Statement, the link its link
/// predicate (v0.3) stands for (products from the subjects). A Statement
/// of any other predicate type is no link: the file is malformed.
pub(crate) fn payload_of(md: &Metadata) -> Result<Payload, String> {
    if let Metadata::Envelope(env) = md {
        if is_statement(&env.payload) {
            return intact_attest::statement_of(env)
                .and_then(|st| intact_attest::slsa::link_of_statement(&st))
                .map(Payload::Link)
                .map_err(|e| format!("link attestation: {e}"));
        }
    }
    md.payload().map_err(|e| e.to_string())
}

/// The work on every step's links that needs no report, one task per
/// link file so the cores stay busy however the files are spread over the
/// steps. Returns each step's files in key order.
pub(crate) fn preload(
    steps: &[Step],
    links: &dyn LinkSource,
    keys: &BTreeMap<KeyId, PublicKey>,
    max_size: u64,
    audit: bool,
) -> Vec<Vec<Loaded>> {
    // As the reference: a GPG key's links are also looked for under each
    // of its subkeys' ids (the file named by the subkey that signed it).
    // Each key's evidence is looked for under two names: the classic link
    // and the link attestation (the second is 1 in the job).
    let jobs: Vec<(usize, &KeyId, Option<KeyId>, usize)> = steps
        .iter()
        .enumerate()
        .flat_map(|(i, step)| {
            let mut seen = BTreeSet::new();
            step.pubkeys
                .iter()
                .filter(move |k| seen.insert(*k))
                .flat_map(move |k| {
                    let subkeys = keys
                        .get(k)
                        .and_then(PublicKey::as_gpg)
                        .into_iter()
                        .flat_map(|g| g.subkey_ids())
                        .filter_map(|s| KeyId::new(s).ok());
                    std::iter::once((i, k, None)).chain(subkeys.map(move |s| (i, k, Some(s))))
                })
                .flat_map(|(i, k, sub)| [(i, k, sub.clone(), 0), (i, k, sub, 1)])
        })
        .collect();
    let done: Vec<(usize, Loaded)> = jobs
        .into_par_iter()
        .with_max_len(1)
        .filter_map(|(i, keyid, sub, form)| {
            let step = steps.get(i)?;
            let names = evidence_file_names(&step.name, sub.as_ref().unwrap_or(keyid));
            let file = names.into_iter().nth(form)?;
            Some((i, load_one(file, keyid, links, keys, max_size, audit)))
        })
        .collect();
    let mut out: Vec<Vec<Loaded>> = steps.iter().map(|_| Vec::new()).collect();
    for (i, loaded) in done {
        if let Some(v) = out.get_mut(i) {
            v.push(loaded);
        }
    }
    out
}

/// Read, parse and (when its key is usable) signature-check one link file
/// of `keyid`'s, named after it or, for a GPG key, one of its subkeys.
pub(crate) fn load_one(
    file: String,
    keyid: &KeyId,
    links: &dyn LinkSource,
    keys: &BTreeMap<KeyId, PublicKey>,
    max_size: u64,
    audit: bool,
) -> Loaded {
    let key = keys.get(keyid);
    // A link in the reference's key order has its signature checked while
    // it is parsed; anything else is parsed, then checked.
    let mut checked = None;
    let mut sha256 = None;
    let read = links.read(&file, max_size).map(|bytes| {
        bytes.map(|b| {
            if audit {
                use sha2::Digest as _;
                sha256 = Some(hex::encode(sha2::Sha256::digest(&b[..])));
            }
            if let (Some(key), Ok(text)) = (key, std::str::from_utf8(&b)) {
                if let Some((md, verdict)) = parse_and_verify_link(text, keyid, key) {
                    checked = Some(verdict);
                    return Ok(md);
                }
            }
            Metadata::from_slice(&b).map_err(|e| e.to_string())
        })
    });
    let count = |md: &Metadata| md.signatures().iter().filter(|s| s.keyid == keyid).count();
    let (read, verified) = match (read, key) {
        (Ok(Some(Ok(md))), Some(key)) => {
            let signatures_by_key = count(&md);
            let verdict = match checked.take() {
                Some(verdict) => verdict,
                None => verify_metadata(&md, keyid, key),
            };
            let (md, verified) = match verdict {
                Err(e) => (Some(md), Err(Rejected::Signature(e))),
                Ok(()) => match md.into_link() {
                    Ok(link) => (None, Ok(Verified(Payload::Link(link)))),
                    Err(md) => {
                        let payload = payload_of(&md).map(Verified).map_err(Rejected::Payload);
                        (Some(*md), payload)
                    }
                },
            };
            (
                Ok(Some(Ok(Parsed {
                    signatures_by_key,
                    md,
                    sha256,
                }))),
                Some(verified),
            )
        }
        (read, _) => (
            read.map(|o| {
                o.map(|r| {
                    r.map(|md| Parsed {
                        signatures_by_key: count(&md),
                        md: Some(md),
                        sha256,
                    })
                })
            }),
            None,
        ),
    };
    Loaded {
        keyid: keyid.clone(),
        file,
        read,
        verified,
    }
}
