//! The in-toto Statement v1 and ResourceDescriptor, parsed strictly.
//!
//! intact-model's `Statement` follows the framework's advice to consumers
//! (ignore unknown fields). Here, where intact *verifies* an attestation
//! and reports on it, a member we do not understand is refused: a verifier
//! that ignores `predicate.runDetails.bulider` would pass a statement that
//! says something else than it seems to. Duplicate keys and floats are
//! refused by intact-model's strict JSON parser before typing.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::predicate::Predicate;
use crate::AttestError;

/// `_type` of a Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// An attestation ResourceDescriptor (in-toto Attestation Framework v1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceDescriptor {
    /// URI of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Algorithm to lowercase hex (`sha256`, `gitCommit`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// Name, unique within a subject list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where the resource can be downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_location: Option<String>,
    /// IANA media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Base64 content, for small inline resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub annotations: Map<String, Value>,
}

/// Hex lengths of the digest algorithms the framework names.
fn hex_len(algorithm: &str) -> Option<usize> {
    Some(match algorithm {
        "sha256" | "sha512_256" | "sha3_256" | "dirHash" => 64,
        "sha224" | "sha512_224" | "sha3_224" => 56,
        "sha384" | "sha3_384" => 96,
        "sha512" | "sha3_512" => 128,
        "sha1" | "gitCommit" | "gitTree" | "gitBlob" | "gitTag" => 40,
        "md5" => 32,
        _ => return None,
    })
}

/// One digest of a descriptor: a known algorithm's value is lowercase hex
/// of its length (a git object id 40 or 64 digits); none is empty. The
/// error is the part of a message after the descriptor's location.
pub(crate) fn check_digest(alg: &str, value: &str) -> Result<(), String> {
    let ok_hex = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let len_ok = match (alg, hex_len(alg)) {
        ("gitCommit" | "gitTree" | "gitBlob" | "gitTag", _) => {
            value.len() == 40 || value.len() == 64
        }
        (_, Some(n)) => value.len() == n,
        (_, None) => true,
    };
    if hex_len(alg).is_some() && !(ok_hex && len_ok) {
        return Err(format!(
            ".digest.{alg}: {value:?} is not a {alg} digest in lowercase hex"
        ));
    }
    if value.is_empty() {
        return Err(format!(".digest.{alg}: empty"));
    }
    Ok(())
}

/// [`check_digest`] of a digest the model holds (hex and not empty by
/// construction): its length and case are known without reading its text.
pub(crate) fn check_model_digest(alg: &str, d: &intact_model::Digest) -> Result<(), String> {
    let len = d.hex_len();
    let Some(n) = hex_len(alg) else {
        // Only emptiness to refuse (a digest of no bytes can be made).
        return if len == 0 {
            check_digest(alg, "")
        } else {
            Ok(())
        };
    };
    let len_ok = match alg {
        "gitCommit" | "gitTree" | "gitBlob" | "gitTag" => len == 40 || len == 64,
        _ => len == n,
    };
    if len_ok && d.is_lowercase() {
        return Ok(());
    }
    // The message, from the text.
    check_digest(alg, &d.as_str())
}

impl ResourceDescriptor {
    /// A descriptor naming `name` with one `sha256` digest.
    pub fn sha256(name: impl Into<String>, hex: impl Into<String>) -> Self {
        ResourceDescriptor {
            name: Some(name.into()),
            digest: BTreeMap::from([("sha256".to_string(), hex.into())]),
            ..Default::default()
        }
    }

    /// The framework's rules: one of uri, digest, content; digests of
    /// known algorithms lowercase hex of the right length (gitCommit may
    /// also be a 64-digit SHA-256 object id); content is base64.
    pub fn validate(&self, at: &str) -> Result<(), AttestError> {
        self.check()
            .map_err(|e| AttestError::Statement(format!("{at}{e}")))
    }

    /// [`ResourceDescriptor::validate`] without the location, which is
    /// formatted only for an error (a statement has 100,000 subjects).
    fn check(&self) -> Result<(), String> {
        if self.uri.is_none() && self.digest.is_empty() && self.content.is_none() {
            return Err(": a resource descriptor needs one of uri, digest, content".into());
        }
        for (alg, value) in &self.digest {
            check_digest(alg, value)?;
        }
        if let Some(content) = &self.content {
            STANDARD
                .decode(content)
                .map_err(|e| format!(".content: not base64: {e}"))?;
        }
        Ok(())
    }
}

/// The wire form, typed only as far as the framework types it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatement {
    #[serde(rename = "_type")]
    tag: String,
    subject: Vec<ResourceDescriptor>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default)]
    predicate: Option<Map<String, Value>>,
}

/// The wire form borrowed from a [`Statement`], for writing: the subjects
/// and predicate are serialised in place, not copied into a tree. The
/// subjects are any sequence of descriptors: a link's products are
/// written straight from the link (`slsa::provenance_payload`).
#[derive(Serialize)]
struct StatementOut<'a, S: Serialize + ?Sized> {
    #[serde(rename = "_type")]
    tag: &'static str,
    subject: &'a S,
    #[serde(rename = "predicateType")]
    predicate_type: &'a str,
    predicate: &'a Predicate,
}

/// The payload bytes of a statement about `subject` (a sequence of
/// descriptors, already validated by the caller) with `predicate`, as
/// [`Statement::to_bytes`] writes them.
pub(crate) fn payload_bytes<S: Serialize + ?Sized>(
    subject: &S,
    predicate: &Predicate,
) -> Result<Vec<u8>, AttestError> {
    let out = StatementOut {
        tag: STATEMENT_TYPE,
        subject,
        predicate_type: predicate.type_uri(),
        predicate,
    };
    Ok(intact_model::json::python_json_of(
        &out,
        intact_model::json::PyStyle::Compact,
    )?)
}

/// An in-toto Statement v1 with a typed predicate.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// What the statement is about; each subject carries a digest.
    pub subject: Vec<ResourceDescriptor>,
    /// The predicate (its type URI is [`Predicate::type_uri`]).
    pub predicate: Predicate,
}

impl Statement {
    /// A statement about `subject`.
    pub fn new(subject: Vec<ResourceDescriptor>, predicate: Predicate) -> Self {
        Statement { subject, predicate }
    }

    /// The predicate type URI.
    pub fn predicate_type(&self) -> &str {
        self.predicate.type_uri()
    }

    /// Parse a statement strictly: duplicate keys, floats and unknown
    /// members (of the statement and of a known predicate) refused, then
    /// [`Statement::validate`]d.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, AttestError> {
        let value = intact_model::json::parse_strict(bytes)
            .map_err(|e| AttestError::Statement(e.to_string()))?;
        Self::from_value(value)
    }

    /// As [`Statement::from_slice`], from a parsed value.
    pub fn from_value(value: Value) -> Result<Self, AttestError> {
        let raw: RawStatement =
            serde_json::from_value(value).map_err(|e| AttestError::Statement(e.to_string()))?;
        if raw.tag != STATEMENT_TYPE {
            return Err(AttestError::Statement(format!(
                "_type is {:?}, expected {STATEMENT_TYPE:?}",
                raw.tag
            )));
        }
        let predicate = Predicate::from_parts(&raw.predicate_type, raw.predicate)?;
        let st = Statement {
            subject: raw.subject,
            predicate,
        };
        st.validate()?;
        Ok(st)
    }

    /// The framework's rules: at least one subject, each with a digest
    /// and valid as a descriptor; a predicate type; the predicate's own.
    pub fn validate(&self) -> Result<(), AttestError> {
        if self.subject.is_empty() {
            return Err(AttestError::Statement(
                "at least one subject required".into(),
            ));
        }
        for (i, s) in self.subject.iter().enumerate() {
            let at = || format!("subject[{i}]");
            s.check()
                .map_err(|e| AttestError::Statement(format!("{}{e}", at())))?;
            if s.digest.is_empty() {
                return Err(AttestError::Statement(format!(
                    "{}: a subject needs a digest",
                    at()
                )));
            }
        }
        if self.predicate_type().is_empty() {
            return Err(AttestError::Statement("predicateType required".into()));
        }
        self.predicate.validate()
    }

    fn out(&self) -> StatementOut<'_, [ResourceDescriptor]> {
        StatementOut {
            tag: STATEMENT_TYPE,
            subject: &self.subject,
            predicate_type: self.predicate_type(),
            predicate: &self.predicate,
        }
    }

    /// The JSON object.
    pub fn to_value(&self) -> Result<Value, AttestError> {
        serde_json::to_value(self.out()).map_err(|e| AttestError::Statement(e.to_string()))
    }

    /// The payload bytes: keys sorted, no whitespace, ASCII only, so the
    /// same statement always gives the same bytes. Written from the typed
    /// statement directly: the tree `to_value` builds cost more than the
    /// rest of a 100,000-product provenance together.
    pub fn to_bytes(&self) -> Result<Vec<u8>, AttestError> {
        payload_bytes(&self.subject, &self.predicate)
    }
}
