//! Saying why a step's link is missing when a link for it does sit in
//! the directory: signed by a key the layout does not authorise for the
//! step. The usual cause is recording with the wrong key, and "no link
//! found" would send people looking in the wrong place. And naming keys
//! as people know them ("alice (e6bd3be5)"), never as 64 hex digits.

use std::collections::BTreeMap;

use intact_crypto::{verify_metadata, CryptoError, PublicKey};
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
        .filter(|n| {
            n.starts_with(&prefix)
                && (n.ends_with(".link") || n.ends_with(".link.intoto.json"))
                && !expected.contains(n)
        })
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

/// A signature check's error with its key named by [`key_label`] (the
/// crypto crate knows keys only by keyid).
pub(crate) fn crypto_error(e: &CryptoError, key_names: &BTreeMap<KeyId, String>) -> String {
    let label = |k: &KeyId| key_label(k, key_names);
    match e {
        CryptoError::NoSignature(k) => format!("no signature by {}", label(k)),
        CryptoError::BadSignature(k) => format!("the signature by {} does not verify", label(k)),
        CryptoError::GpgSignature(k) => format!(
            "the signature by {} is a GPG signature, and the key is not a GPG key",
            label(k)
        ),
        CryptoError::GpgEnvelope(k) => format!(
            "{} is a GPG key; DSSE envelopes carry no GPG signatures",
            label(k)
        ),
        CryptoError::GpgKeyExpired { keyid, expired } => {
            format!("GPG {} has expired (key {expired})", label(keyid))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_named_with_their_short_keyid_or_by_it_alone() {
        let id = KeyId::new("e6bd3be5".repeat(8)).unwrap();
        let names = BTreeMap::from([(id.clone(), "alice.pub".to_string())]);
        assert_eq!(key_label(&id, &names), "alice.pub (e6bd3be5)");
        assert_eq!(key_label(&id, &BTreeMap::new()), "key e6bd3be5");
        let e = CryptoError::BadSignature(id.clone());
        let said = crypto_error(&e, &names);
        assert!(said.contains("alice.pub (e6bd3be5)"), "{said}");
        assert!(!said.contains(id.as_str()), "{said}");
    }
}
