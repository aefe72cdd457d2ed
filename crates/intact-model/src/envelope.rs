//! DSSE envelopes (v1.0.2) as in-toto 3.x writes them.
//!
//! The signature covers PAE(payloadType, payload) over the payload bytes as
//! received; we never re-serialise a received payload.

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use serde_json::{Map, Value};

use crate::json::{parse_strict, to_python_json, PyStyle};
use crate::pae::pae;
use crate::{KeyId, ModelError, Payload};

/// The payload type in-toto uses for links and layouts.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// One envelope signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// Required by the reference; only keys with this keyid are tried.
    pub keyid: KeyId,
    /// Raw signature bytes (base64 in the file).
    pub sig: Vec<u8>,
    /// Members we do not interpret, kept so files round-trip.
    pub extra: Map<String, Value>,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The payload bytes exactly as received or produced.
    pub payload: Vec<u8>,
    /// The payload type (for in-toto metadata, [`IN_TOTO_PAYLOAD_TYPE`]).
    pub payload_type: String,
    /// Signatures, unique by keyid.
    pub signatures: Vec<EnvelopeSignature>,
}

/// How the reference's one-line envelope starts: the payload's base64
/// follows, then [`Envelope::bytes_after_payload`].
pub const ENVELOPE_HEAD: &[u8] = b"{\"payload\": \"";

/// Decode base64 the way securesystemslib does: standard alphabet with
/// padding, else URL-safe with padding; unpadded input is rejected.
fn decode_b64(text: &str, at: &str) -> Result<Vec<u8>, ModelError> {
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .map_err(|e| ModelError::field(at, format!("invalid base64: {e}")))
}

fn take_string(m: &mut Map<String, Value>, name: &str, at: &str) -> Result<String, ModelError> {
    let path = if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    };
    match m.remove(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ModelError::field(path, "must be a string")),
        None => Err(ModelError::field(path, "missing")),
    }
}

impl Envelope {
    /// An unsigned in-toto envelope for `payload`, serialised as the
    /// reference does (`json.dumps(sort_keys=True)`).
    pub fn for_payload(payload: &Payload) -> Result<Self, ModelError> {
        Ok(Envelope {
            payload: payload.dsse_payload_bytes()?,
            payload_type: IN_TOTO_PAYLOAD_TYPE.into(),
            signatures: Vec::new(),
        })
    }

    /// Parse the object form.
    pub fn from_value(value: Value) -> Result<Self, ModelError> {
        let Value::Object(mut top) = value else {
            return Err(ModelError::Container("not a JSON object".into()));
        };
        let payload = take_string(&mut top, "payload", "")?;
        let payload = decode_b64(&payload, "payload")?;
        let payload_type = take_string(&mut top, "payloadType", "")?;
        let signatures = match top.remove("signatures") {
            Some(Value::Array(items)) => items,
            Some(_) => return Err(ModelError::field("signatures", "must be a list")),
            None => return Err(ModelError::field("signatures", "missing")),
        };
        if let Some(extra) = top.keys().next() {
            return Err(ModelError::field(
                extra.as_str(),
                "unknown member of a DSSE envelope",
            ));
        }
        let mut sigs: Vec<EnvelopeSignature> = Vec::with_capacity(signatures.len());
        for (i, s) in signatures.into_iter().enumerate() {
            let at = format!("signatures[{i}]");
            let Value::Object(mut m) = s else {
                return Err(ModelError::field(at, "a signature must be an object"));
            };
            let keyid = take_string(&mut m, "keyid", &at)?;
            let keyid =
                KeyId::new(keyid).map_err(|e| ModelError::field(format!("{at}.keyid"), e))?;
            let sig = decode_b64(&take_string(&mut m, "sig", &at)?, &format!("{at}.sig"))?;
            if sigs.iter().any(|s| s.keyid == keyid) {
                return Err(ModelError::field(
                    format!("{at}.keyid"),
                    format!("duplicate signature by key {keyid}"),
                ));
            }
            sigs.push(EnvelopeSignature {
                keyid,
                sig,
                extra: m,
            });
        }
        Ok(Envelope {
            payload,
            payload_type,
            signatures: sigs,
        })
    }

    /// The object form.
    pub fn to_value(&self) -> Value {
        self.to_value_with(STANDARD.encode(&self.payload))
    }

    /// The object form with `payload` as the payload member's text.
    fn to_value_with(&self, payload: String) -> Value {
        let sigs = self
            .signatures
            .iter()
            .map(|s| {
                let mut m = s.extra.clone();
                m.insert("keyid".into(), Value::String(s.keyid.to_string()));
                m.insert("sig".into(), Value::String(STANDARD.encode(&s.sig)));
                Value::Object(m)
            })
            .collect();
        let mut m = Map::new();
        m.insert("payload".into(), Value::String(payload));
        m.insert(
            "payloadType".into(),
            Value::String(self.payload_type.clone()),
        );
        m.insert("signatures".into(), Value::Array(sigs));
        Value::Object(m)
    }

    /// The file bytes the reference writes (one line).
    ///
    /// `payload` sorts first and its base64 needs no escaping, so the rest
    /// is written as a tree and the base64 put in front of it, not copied
    /// into the tree and scanned by the writer: an attestation of 100,000
    /// subjects is 17 MB of base64.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        let Some(tail) = self.bytes_after_payload()? else {
            // Not the layout expected: the tree with the payload in it.
            return to_python_json(&self.to_value(), PyStyle::OneLine);
        };
        let encoded_len = self.payload.len().div_ceil(3) * 4;
        let mut out = Vec::with_capacity(ENVELOPE_HEAD.len() + encoded_len + tail.len());
        out.extend_from_slice(ENVELOPE_HEAD);
        let start = out.len();
        out.resize(start + encoded_len, 0);
        let n = out
            .get_mut(start..)
            .map(|buf| STANDARD.encode_slice(&self.payload, buf))
            .unwrap_or(Ok(0))
            .map_err(|e| ModelError::field("payload", e.to_string()))?;
        out.truncate(start + n);
        out.extend_from_slice(&tail);
        Ok(out)
    }

    /// What [`Envelope::to_bytes`] writes after [`ENVELOPE_HEAD`] and the
    /// payload's base64 (its `payload` is not read): a signer can write
    /// the head and the base64 while the signature is still being made.
    /// `None` when the members do not come out in that order.
    pub fn bytes_after_payload(&self) -> Result<Option<Vec<u8>>, ModelError> {
        let written = to_python_json(&self.to_value_with(String::new()), PyStyle::OneLine)?;
        Ok(written.strip_prefix(ENVELOPE_HEAD).map(<[u8]>::to_vec))
    }

    /// What the signatures cover.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Parse the payload as in-toto metadata (after verification, as the
    /// reference does; errors are reported under `payload`).
    pub fn parse_payload(&self) -> Result<Payload, ModelError> {
        // Links straight into the typed model (see `Metadata::from_slice`).
        if let Ok(link) = serde_json::from_slice::<crate::link::TaggedLink>(&self.payload) {
            return Ok(Payload::Link(link.into()));
        }
        let value =
            parse_strict(&self.payload).map_err(|e| ModelError::field("payload", e.to_string()))?;
        Payload::from_value(value).map_err(|e| e.under("payload"))
    }

    /// The signature by `keyid`, if any (keyids are unique).
    pub fn signature_by(&self, keyid: &KeyId) -> Option<&EnvelopeSignature> {
        self.signatures.iter().find(|s| &s.keyid == keyid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spliced bytes are the tree's bytes, for payloads of every
    /// length modulo 3 and with extra signature members.
    #[test]
    fn to_bytes_is_the_whole_tree_written() {
        for n in 0..7 {
            let mut extra = Map::new();
            extra.insert("z\u{e9}".into(), Value::from("\u{1F600}"));
            let env = Envelope {
                payload: b"{\"a\":\"\xc3\xa9\"}"
                    .iter()
                    .copied()
                    .cycle()
                    .take(n * 5)
                    .collect(),
                payload_type: "application/x-\u{e9}".into(),
                signatures: vec![EnvelopeSignature {
                    keyid: KeyId::new("ab".repeat(32)).unwrap(),
                    sig: vec![1, 2, 3],
                    extra,
                }],
            };
            let tree = to_python_json(&env.to_value(), PyStyle::OneLine).unwrap();
            assert_eq!(env.to_bytes().unwrap(), tree);
        }
    }

    #[test]
    fn base64_rules_follow_securesystemslib() {
        assert_eq!(decode_b64("+/8=", "x").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(decode_b64("-_8=", "x").unwrap(), vec![0xfb, 0xff]);
        assert!(decode_b64("-_8", "x").is_err());
        assert!(decode_b64("*", "x").is_err());
    }

    #[test]
    fn duplicate_keyids_are_rejected() {
        let v = serde_json::json!({"payload": "e30=", "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"keyid": "aa", "sig": "AA=="}, {"keyid": "aa", "sig": "AQ=="}]});
        let err = Envelope::from_value(v).unwrap_err().to_string();
        assert!(
            err.contains("signatures[1].keyid") && err.contains("duplicate"),
            "{err}"
        );
    }

    #[test]
    fn keyid_is_required() {
        let v = serde_json::json!({"payload": "e30=", "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": "AA=="}]});
        assert!(Envelope::from_value(v).is_err());
    }
}
