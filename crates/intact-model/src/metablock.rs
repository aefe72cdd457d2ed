//! The classic `{"signed": …, "signatures": […]}` container.

use serde_json::{Map, Value};

use crate::json::{python_json_of, PyStyle};
use crate::writer::{self, Format};
use crate::{KeyId, ModelError, Payload};

/// Metablock files are written as the reference's CLI tools write them.
const FILE_FORMAT: Format = Format::Python(PyStyle::Pretty);

/// A signature in a Metablock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The keyid the signer claims; looked up, never recomputed.
    pub keyid: KeyId,
    /// The signature value.
    pub value: SignatureValue,
    /// Members we do not interpret, kept so files round-trip.
    pub extra: Map<String, Value>,
}

/// The two signature shapes the reference reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureValue {
    /// `sig`: raw signature bytes, hex in the file.
    Raw(Vec<u8>),
    /// GPG: `signature` and `other_headers`, both hex. Parsed so such files
    /// load; verifying them needs a GPG verifier.
    Gpg {
        /// The OpenPGP signature bytes.
        signature: Vec<u8>,
        /// The hashed subpacket data.
        other_headers: Vec<u8>,
    },
}

impl Signature {
    /// A signature with raw bytes.
    pub fn raw(keyid: KeyId, sig: Vec<u8>) -> Self {
        Signature {
            keyid,
            value: SignatureValue::Raw(sig),
            extra: Map::new(),
        }
    }

    pub(crate) fn from_value(v: Value, at: &str) -> Result<Self, ModelError> {
        let Value::Object(mut m) = v else {
            return Err(ModelError::field(at, "a signature must be an object"));
        };
        let mut take_str = |name: &str| -> Result<Option<String>, ModelError> {
            match m.remove(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(ModelError::field(
                    format!("{at}.{name}"),
                    "must be a string",
                )),
            }
        };
        let keyid = take_str("keyid")?
            .ok_or_else(|| ModelError::field(format!("{at}.keyid"), "missing"))?;
        let keyid = KeyId::new(keyid).map_err(|e| ModelError::field(format!("{at}.keyid"), e))?;
        let hex_field = |name: &str, s: String| {
            hex::decode(&s)
                .map_err(|e| ModelError::field(format!("{at}.{name}"), format!("not hex: {e}")))
        };
        let value = match (take_str("sig")?, take_str("signature")?) {
            (Some(sig), None) => SignatureValue::Raw(hex_field("sig", sig)?),
            (None, Some(sig)) => {
                let headers = take_str("other_headers")?.ok_or_else(|| {
                    ModelError::field(format!("{at}.other_headers"), "missing (GPG signature)")
                })?;
                SignatureValue::Gpg {
                    signature: hex_field("signature", sig)?,
                    other_headers: hex_field("other_headers", headers)?,
                }
            }
            (Some(_), Some(_)) => {
                return Err(ModelError::field(at, "has both `sig` and `signature`"))
            }
            (None, None) => return Err(ModelError::field(format!("{at}.sig"), "missing")),
        };
        Ok(Signature {
            keyid,
            value,
            extra: m,
        })
    }

    pub(crate) fn to_value(&self) -> Value {
        let mut m = self.extra.clone();
        m.insert("keyid".into(), Value::String(self.keyid.to_string()));
        match &self.value {
            SignatureValue::Raw(sig) => {
                m.insert("sig".into(), Value::String(hex::encode(sig)));
            }
            SignatureValue::Gpg {
                signature,
                other_headers,
            } => {
                m.insert("signature".into(), Value::String(hex::encode(signature)));
                m.insert(
                    "other_headers".into(),
                    Value::String(hex::encode(other_headers)),
                );
            }
        }
        Value::Object(m)
    }
}

/// A payload with detached signatures over its canonical JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metablock {
    /// The signed link or layout.
    pub signed: Payload,
    /// Signatures in signing order.
    pub signatures: Vec<Signature>,
}

impl Metablock {
    /// Parse the object form (`signed` required, `signatures` optional).
    pub fn from_value(value: Value) -> Result<Self, ModelError> {
        let Value::Object(mut top) = value else {
            return Err(ModelError::Container("not a JSON object".into()));
        };
        let signed = top
            .remove("signed")
            .ok_or_else(|| ModelError::field("signed", "missing"))?;
        let signatures = match top.remove("signatures") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, s)| Signature::from_value(s, &format!("signatures[{i}]")))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(ModelError::field("signatures", "must be a list")),
        };
        if let Some(extra) = top.keys().next() {
            return Err(ModelError::field(
                extra.as_str(),
                "unknown member of a Metablock",
            ));
        }
        let signed = Payload::from_value(signed).map_err(|e| e.under("signed"))?;
        Ok(Metablock { signed, signatures })
    }

    /// The object form.
    pub fn to_value(&self) -> Result<Value, ModelError> {
        let mut m = Map::new();
        m.insert("signed".into(), self.signed.to_value()?);
        m.insert(
            "signatures".into(),
            Value::Array(self.signatures.iter().map(Signature::to_value).collect()),
        );
        Ok(Value::Object(m))
    }

    /// The file bytes the reference's CLI tools write (pretty, indent 1),
    /// written from the typed payload without an intermediate `Value`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        let signatures: Vec<Value> = self.signatures.iter().map(Signature::to_value).collect();
        writer::write_with(FILE_FORMAT, |w| w.metablock_file(&signatures, &self.signed))
    }

    /// [`Metablock::to_bytes`] in two parts, `head` then `tail`. The tail
    /// (the `signed` member on) does not depend on the signatures, so a
    /// signer can write it while the signature is computed: for a link of
    /// 100,000 artifacts each part is tens of milliseconds.
    pub fn file_tail(&self) -> Result<Vec<u8>, ModelError> {
        let mut bytes = writer::write_with(FILE_FORMAT, |w| self.unsigned_file(w))?;
        if !bytes.starts_with(FILE_HEAD_WITHOUT_SIGNATURES) {
            return Err(ModelError::Canonical(
                "unexpected start of a Metablock".into(),
            ));
        }
        bytes.drain(..FILE_HEAD_WITHOUT_SIGNATURES.len());
        Ok(bytes)
    }

    /// [`Metablock::file_tail`] handed to `sink` in chunks, without holding
    /// it. `Ok(false)`: the payload cannot be streamed (an object's keys
    /// are out of order) and the sink saw a prefix only.
    pub fn stream_file_tail(&self, sink: &mut dyn FnMut(&[u8])) -> Result<bool, ModelError> {
        let mut skip = FILE_HEAD_WITHOUT_SIGNATURES.len();
        writer::stream_with(
            FILE_FORMAT,
            &mut |chunk| {
                let rest = chunk.get(skip..).unwrap_or_default();
                skip = skip.saturating_sub(chunk.len());
                if !rest.is_empty() {
                    sink(rest);
                }
            },
            |w| self.unsigned_file(w),
        )
    }

    /// The file without signatures.
    fn unsigned_file(&self, w: &mut writer::Writer<'_>) -> Result<(), ModelError> {
        w.metablock_file(&[(); 0], &self.signed)
    }

    /// The part of [`Metablock::to_bytes`] before [`Metablock::file_tail`].
    pub fn file_head(&self) -> Result<Vec<u8>, ModelError> {
        Self::file_head_for(&self.signatures)
    }

    /// [`Metablock::file_head`] as it will be once `new` is set: with a
    /// placeholder of the right length, a signer learns where the tail
    /// starts before the signature exists.
    pub fn file_head_with(&self, new: Signature) -> Result<Vec<u8>, ModelError> {
        let mut signatures = self.signatures.clone();
        set_signature(&mut signatures, new);
        Self::file_head_for(&signatures)
    }

    fn file_head_for(signatures: &[Signature]) -> Result<Vec<u8>, ModelError> {
        #[derive(serde::Serialize)]
        struct Head {
            signatures: Vec<Value>,
        }
        let head = Head {
            signatures: signatures.iter().map(Signature::to_value).collect(),
        };
        let mut bytes = python_json_of(&head, PyStyle::Pretty)?;
        if !bytes.ends_with(b"\n}") {
            return Err(ModelError::Canonical(
                "unexpected end of a Metablock".into(),
            ));
        }
        bytes.truncate(bytes.len() - 2);
        Ok(bytes)
    }

    /// Add a signature, replacing any earlier one by the same keyid (in
    /// place, so the order of other signers is kept).
    pub fn set_signature(&mut self, new: Signature) {
        set_signature(&mut self.signatures, new);
    }

    /// The first signature by `keyid` (the only one the reference tries).
    pub fn signature_by(&self, keyid: &KeyId) -> Option<&Signature> {
        self.signatures.iter().find(|s| &s.keyid == keyid)
    }
}

/// How a pretty Metablock without signatures starts.
const FILE_HEAD_WITHOUT_SIGNATURES: &[u8] = b"{\n \"signatures\": []";

/// [`Metablock::set_signature`] on a list of signatures.
fn set_signature(signatures: &mut Vec<Signature>, new: Signature) {
    match signatures.iter().position(|s| s.keyid == new.keyid) {
        Some(i) => {
            // Every signature before `i` has another keyid, so `i` stays
            // valid after dropping all stale ones.
            signatures.retain(|s| s.keyid != new.keyid);
            signatures.insert(i, new);
        }
        None => signatures.push(new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ArtifactName, Digest, DigestSet, Link, StepName};

    #[test]
    fn head_and_tail_make_the_whole_file_with_any_number_of_signatures() {
        let mut link = Link::new(StepName::new("build").unwrap());
        for name in ["src/a.rs", "caf\u{e9}/\"quoted\"", "tab\there"] {
            let mut d = DigestSet::new();
            d.insert("sha256", Digest::from_bytes(&[7; 32]));
            link.materials.insert(ArtifactName::new(name).unwrap(), d);
        }
        let mut mb = Metablock {
            signed: Payload::Link(link),
            signatures: Vec::new(),
        };
        for n in 0..3u8 {
            let mut whole = mb.file_head().unwrap();
            whole.extend(mb.file_tail().unwrap());
            assert_eq!(whole, mb.to_bytes().unwrap(), "{n} signatures");
            let mut streamed = Metablock::file_head_for(&mb.signatures).unwrap();
            assert!(mb
                .stream_file_tail(&mut |chunk| streamed.extend_from_slice(chunk))
                .unwrap());
            assert_eq!(streamed, whole);
            let keyid = KeyId::new(format!("{n:02x}").repeat(32)).unwrap();
            mb.signatures.push(Signature::raw(keyid, vec![n; 64]));
        }
    }
}
