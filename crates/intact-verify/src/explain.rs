//! Saying why a step's link is missing when a link for it does sit in
//! the directory: signed by a key the layout does not authorise for the
//! step. The usual cause is recording with the wrong key, and "no link
//! found" would send people looking in the wrong place.

use std::collections::BTreeMap;

use intact_crypto::{verify_metadata, PublicKey};
use intact_model::{KeyId, Metadata, Step};

use crate::LinkSource;

/// At most this many stray links are described (a directory can hold
/// thousands; the first few tell the story).
const MAX_STRAYS: usize = 3;

/// One sentence per link file named like one of `step`'s (`step.*.link`)
/// that is not among the `expected` files: who signed it.
pub(crate) fn stray_links(
    links: &dyn LinkSource,
    step: &Step,
    expected: &[String],
    keys: &BTreeMap<KeyId, PublicKey>,
    key_names: &BTreeMap<KeyId, String>,
    max_size: u64,
) -> Vec<String> {
    let prefix = format!("{}.", step.name);
    links
        .names()
        .into_iter()
        .filter(|n| n.starts_with(&prefix) && n.ends_with(".link") && !expected.contains(n))
        .take(MAX_STRAYS)
        .map(|file| {
            let shown = links.describe(&file);
            let md = match links.read(&file, max_size) {
                Ok(Some(bytes)) => Metadata::from_slice(&bytes).ok(),
                _ => None,
            };
            let Some(md) = md else {
                return format!(
                    "{shown} is named as a link of this step but cannot be read as one"
                );
            };
            let signers: Vec<String> = md
                .signatures()
                .iter()
                .map(|s| describe_signer(&md, s.keyid, keys, key_names))
                .collect();
            if signers.is_empty() {
                format!("{shown} is a link for this step without any signature")
            } else {
                format!(
                    "{shown} is a link for this step signed by {}, not a key authorised for {}",
                    signers.join(" and "),
                    step.name
                )
            }
        })
        .collect()
}

/// `bob.pub (e6bd3be5)` when the key is named, the short keyid else; with
/// whether the signature was checked.
fn describe_signer(
    md: &Metadata,
    keyid: &KeyId,
    keys: &BTreeMap<KeyId, PublicKey>,
    key_names: &BTreeMap<KeyId, String>,
) -> String {
    let label = key_label(keyid, key_names);
    match keys.get(keyid) {
        Some(key) if verify_metadata(md, keyid, key).is_ok() => {
            format!("{label} (a key of this layout; signature valid)")
        }
        Some(_) => format!("{label} (a key of this layout; the signature does not verify)"),
        None => format!("{label} (a key this layout does not list; signature not checked)"),
    }
}

/// How a key is named in messages: its name where one is known (the file
/// it was given as), with the short keyid people see in link file names.
pub(crate) fn key_label(keyid: &KeyId, key_names: &BTreeMap<KeyId, String>) -> String {
    match key_names.get(keyid) {
        Some(name) => format!("{name} ({})", keyid.short()),
        None => format!("key {}", keyid.short()),
    }
}
