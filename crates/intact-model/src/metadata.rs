//! Any signed in-toto file: detection, loading, saving, signing hooks.

use std::path::Path;

use serde_json::Value;

use crate::envelope::{EnvelopeSignature, IN_TOTO_PAYLOAD_TYPE};
use crate::io::{read_limited, write_atomic, DEFAULT_MAX_METADATA_SIZE};
use crate::json::{parse_strict, StrictValue};
use crate::metablock::{Signature, SignatureValue};
use crate::{Envelope, KeyId, Metablock, ModelError, Payload};

/// Which container a file uses; writers keep the container they loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    /// `{"signed": …, "signatures": …}` over canonical JSON.
    Metablock,
    /// DSSE over PAE of the payload bytes.
    Envelope,
}

/// A signature as the verifier sees it, whatever the container.
#[derive(Debug, Clone, Copy)]
pub struct SignatureRef<'a> {
    /// The keyid the signature claims.
    pub keyid: &'a KeyId,
    /// The raw signature bytes, or `None` for a GPG signature.
    pub sig: Option<&'a [u8]>,
    /// The signer's PEM certificate (and chain), in-toto-golang's `cert`
    /// member, when the signature was made with a certificate's key.
    pub cert: Option<&'a str>,
}

/// The signature member holding the signer's certificate (in-toto-golang's
/// `Signature.Certificate`).
pub const CERT_MEMBER: &str = "cert";

/// A link or layout in either container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metadata {
    /// Classic Metablock.
    Metablock(Metablock),
    /// DSSE envelope.
    Envelope(Envelope),
}

impl Metadata {
    /// Wrap an unsigned payload in `container`.
    pub fn new(payload: Payload, container: Container) -> Result<Self, ModelError> {
        Ok(match container {
            Container::Metablock => Metadata::Metablock(Metablock {
                signed: payload,
                signatures: Vec::new(),
            }),
            Container::Envelope => Metadata::Envelope(Envelope::for_payload(&payload)?),
        })
    }

    /// Parse bytes, detecting the container as the reference does
    /// (../shared/in-toto-spec.md §1.6): `payload` means envelope (and then
    /// the type must be in-toto's), else `signed` means Metablock.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ModelError> {
        if let Some(md) = Self::link_metablock(bytes) {
            return Ok(md);
        }
        let value = parse_strict(bytes)?;
        Self::from_value(value)
    }

    /// Links are most of what a verifier reads, and the largest files: a
    /// link Metablock is parsed straight into the typed model, without a
    /// `Value` tree. It accepts a subset of what the strict path accepts
    /// (duplicate keys, floats and unknown members are refused member by
    /// member); anything else, and every error, takes the strict path,
    /// which gives the message.
    fn link_metablock(bytes: &[u8]) -> Option<Self> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            signed: crate::link::TaggedLink,
            #[serde(default)]
            signatures: Vec<StrictValue>,
        }
        // One UTF-8 check of the whole file (ASCII runs go a word at a
        // time) instead of one per string: parsing from `str` skips them.
        let text = std::str::from_utf8(bytes).ok()?;
        let file: File = serde_json::from_str(text).ok()?;
        let signatures = file
            .signatures
            .into_iter()
            .enumerate()
            .map(|(i, s)| Signature::from_value(s.0, &format!("signatures[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        Some(Metadata::Metablock(Metablock {
            signed: Payload::Link(file.signed.into()),
            signatures,
        }))
    }

    /// As [`Metadata::from_slice`], from a parsed value.
    pub fn from_value(value: Value) -> Result<Self, ModelError> {
        let Value::Object(map) = &value else {
            return Err(ModelError::Container(
                "the document is not a JSON object".into(),
            ));
        };
        if map.contains_key("payload") {
            match map.get("payloadType") {
                Some(Value::String(t)) if t == IN_TOTO_PAYLOAD_TYPE => {}
                Some(Value::String(t)) => {
                    return Err(ModelError::Container(format!(
                        "DSSE payloadType {t:?} is not {IN_TOTO_PAYLOAD_TYPE:?}"
                    )))
                }
                _ => {
                    return Err(ModelError::Container(
                        "DSSE envelope without a string payloadType".into(),
                    ))
                }
            }
            Envelope::from_value(value).map(Metadata::Envelope)
        } else if map.contains_key("signed") {
            Metablock::from_value(value).map(Metadata::Metablock)
        } else {
            Err(ModelError::Container(
                "expected a Metablock (`signed`) or a DSSE envelope (`payload`)".into(),
            ))
        }
    }

    /// Read and parse a file of at most [`DEFAULT_MAX_METADATA_SIZE`]
    /// bytes; errors name the file.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        Self::load_limited(path, DEFAULT_MAX_METADATA_SIZE)
    }

    /// Read and parse a file, refusing anything but a regular file of at
    /// most `cap` bytes ([`read_limited`]); errors name the file.
    pub fn load_limited(path: &Path, cap: u64) -> Result<Self, ModelError> {
        let bytes = read_limited(path, cap)?;
        Self::from_slice(&bytes).map_err(|e| e.in_file(path))
    }

    /// The bytes the reference would write for this metadata.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        match self {
            Metadata::Metablock(m) => m.to_bytes(),
            Metadata::Envelope(e) => e.to_bytes(),
        }
    }

    /// Write to `path` atomically (temp file in the same directory, then
    /// rename), so a crash never leaves a half-written file.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let bytes = self.to_bytes().map_err(|e| e.in_file(path))?;
        write_atomic(path, &bytes, 0o644)
    }

    /// Which container this is.
    pub fn container(&self) -> Container {
        match self {
            Metadata::Metablock(_) => Container::Metablock,
            Metadata::Envelope(_) => Container::Envelope,
        }
    }

    /// The link or layout. For an envelope this parses the payload bytes;
    /// callers verifying signatures should do so first.
    pub fn payload(&self) -> Result<Payload, ModelError> {
        match self {
            Metadata::Metablock(m) => Ok(m.signed.clone()),
            Metadata::Envelope(e) => e.parse_payload(),
        }
    }

    /// The link of a Metablock, borrowed (an envelope holds only bytes).
    pub fn link(&self) -> Option<&crate::Link> {
        match self {
            Metadata::Metablock(Metablock {
                signed: Payload::Link(link),
                ..
            }) => Some(link),
            _ => None,
        }
    }

    /// The link of a Metablock, moved out without a copy; anything else
    /// (a layout, an envelope) comes back unchanged.
    pub fn into_link(self) -> Result<crate::Link, Box<Self>> {
        match self {
            Metadata::Metablock(Metablock {
                signed: Payload::Link(link),
                ..
            }) => Ok(link),
            other => Err(Box::new(other)),
        }
    }

    /// The exact bytes signatures cover: canonical JSON of the re-built
    /// payload, or the DSSE PAE of the payload as received.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, ModelError> {
        match self {
            Metadata::Metablock(m) => m.signed.canonical_bytes(),
            Metadata::Envelope(e) => Ok(e.pae()),
        }
    }

    /// [`Metadata::signed_bytes`] handed to `sink` in chunks, so a large
    /// link's canonical form is hashed without being held in memory.
    /// `Ok(false)`: not streamable, the sink saw a prefix only; use
    /// `signed_bytes`.
    pub fn stream_signed_bytes(&self, sink: &mut dyn FnMut(&[u8])) -> Result<bool, ModelError> {
        match self {
            Metadata::Metablock(m) => m.signed.stream_canonical_bytes(sink),
            Metadata::Envelope(e) => {
                sink(&e.pae());
                Ok(true)
            }
        }
    }

    /// All signatures in file order.
    pub fn signatures(&self) -> Vec<SignatureRef<'_>> {
        match self {
            Metadata::Metablock(m) => m
                .signatures
                .iter()
                .map(|s| SignatureRef {
                    keyid: &s.keyid,
                    sig: match &s.value {
                        SignatureValue::Raw(b) => Some(b.as_slice()),
                        SignatureValue::Gpg { .. } => None,
                    },
                    cert: s.extra.get(CERT_MEMBER).and_then(serde_json::Value::as_str),
                })
                .collect(),
            Metadata::Envelope(e) => e
                .signatures
                .iter()
                .map(|s| SignatureRef {
                    keyid: &s.keyid,
                    sig: Some(s.sig.as_slice()),
                    cert: s.extra.get(CERT_MEMBER).and_then(serde_json::Value::as_str),
                })
                .collect(),
        }
    }

    /// The signature the reference would check for `keyid`: the first one
    /// carrying that keyid.
    pub fn signature_by(&self, keyid: &KeyId) -> Option<SignatureRef<'_>> {
        self.signatures().into_iter().find(|s| s.keyid == keyid)
    }

    /// Add a signature, replacing any earlier one by the same keyid (in
    /// place, so the order of other signers is kept).
    pub fn set_signature(&mut self, keyid: KeyId, sig: Vec<u8>) {
        match self {
            Metadata::Metablock(m) => m.set_signature(Signature::raw(keyid, sig)),
            Metadata::Envelope(e) => {
                let new = EnvelopeSignature {
                    keyid,
                    sig,
                    extra: Default::default(),
                };
                match e.signatures.iter_mut().find(|s| s.keyid == new.keyid) {
                    Some(slot) => *slot = new,
                    None => e.signatures.push(new),
                }
            }
        }
    }

    /// Attach the signer's PEM certificate (leaf first, then its chain) to
    /// the signature by `keyid`, in the `cert` member in-toto-golang reads
    /// (it takes the first PEM block: the leaf). `false` when there is no
    /// such signature.
    pub fn set_signature_cert(&mut self, keyid: &KeyId, pem: &str) -> bool {
        let extra = match self {
            Metadata::Metablock(m) => m
                .signatures
                .iter_mut()
                .find(|s| &s.keyid == keyid)
                .map(|s| &mut s.extra),
            Metadata::Envelope(e) => e
                .signatures
                .iter_mut()
                .find(|s| &s.keyid == keyid)
                .map(|s| &mut s.extra),
        };
        match extra {
            Some(extra) => {
                extra.insert(
                    CERT_MEMBER.to_string(),
                    serde_json::Value::String(pem.to_string()),
                );
                true
            }
            None => false,
        }
    }

    /// Remove every signature.
    pub fn clear_signatures(&mut self) {
        match self {
            Metadata::Metablock(m) => m.signatures.clear(),
            Metadata::Envelope(e) => e.signatures.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_follows_the_reference() {
        let env =
            br#"{"payload": "e30=", "payloadType": "text/plain", "signatures": [], "signed": {}}"#;
        let err = Metadata::from_slice(env).unwrap_err().to_string();
        assert!(err.contains("payloadType"), "{err}");
        let neither = br#"{"signatures": []}"#;
        assert!(matches!(
            Metadata::from_slice(neither),
            Err(ModelError::Container(_))
        ));
        let mb = br#"{"signed": {"_type": "link", "name": "a"}}"#;
        assert_eq!(
            Metadata::from_slice(mb).unwrap().container(),
            Container::Metablock
        );
    }

    #[test]
    fn unknown_type_is_named() {
        let mb = br#"{"signed": {"_type": "statement"}, "signatures": []}"#;
        let err = Metadata::from_slice(mb).unwrap_err().to_string();
        assert!(err.contains("signed._type"), "{err}");
        assert!(err.contains("statement"), "{err}");
    }

    #[test]
    fn errors_name_the_field_path() {
        let mb = br#"{"signed": {"_type": "layout", "expires": "2030-01-01T00:00:00Z", "steps": [{"name": "a", "threshold": "2"}], "inspect": []}}"#;
        let err = Metadata::from_slice(mb).unwrap_err().to_string();
        assert!(err.contains("signed.steps[0].threshold"), "{err}");
    }

    #[test]
    fn set_signature_replaces_same_key_in_place() {
        let link = crate::Link::new(crate::StepName::new("a").unwrap());
        for container in [Container::Metablock, Container::Envelope] {
            let mut md = Metadata::new(link.clone().into(), container).unwrap();
            let a = KeyId::new("aa").unwrap();
            let b = KeyId::new("bb").unwrap();
            md.set_signature(a.clone(), vec![1]);
            md.set_signature(b.clone(), vec![2]);
            md.set_signature(a.clone(), vec![3]);
            let sigs: Vec<_> = md
                .signatures()
                .iter()
                .map(|s| (s.keyid.to_string(), s.sig.map(<[u8]>::to_vec)))
                .collect();
            assert_eq!(
                sigs,
                vec![("aa".into(), Some(vec![3])), ("bb".into(), Some(vec![2]))]
            );
        }
    }

    #[test]
    fn a_link_with_invalid_utf8_is_refused_with_the_strict_message() {
        let mut link = crate::Link::new(crate::StepName::new("a").unwrap());
        link.materials.insert(
            crate::ArtifactName::new("caf\u{e9}.txt").unwrap(),
            crate::DigestSet::single("sha256", crate::Digest::from_bytes(&[1; 32])),
        );
        let good = Metadata::new(link.into(), Container::Metablock)
            .unwrap()
            .to_bytes()
            .unwrap();
        assert!(Metadata::from_slice(&good).is_ok());
        // The file writes é as \u00e9; a raw invalid byte in its place:
        let text = String::from_utf8(good).unwrap();
        let bad = text.replace("\\u00e9", "\u{fffd}").into_bytes();
        let bad: Vec<u8> = bad
            .windows(3)
            .position(|w| w == "\u{fffd}".as_bytes())
            .map(|i| [&bad[..i], &[0xff][..], &bad[i + 3..]].concat())
            .unwrap();
        let err = Metadata::from_slice(&bad).unwrap_err().to_string();
        assert!(
            err.to_lowercase().contains("utf-8") || err.contains("unicode"),
            "{err}"
        );
    }
}
