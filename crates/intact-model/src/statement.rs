//! The in-toto attestation Statement v1 (ITE-6), for attestations intact
//! emits or consumes beside classic links. Consumers must ignore unknown
//! fields, so unlike links and layouts these types accept them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::tag::StatementTag;

/// `https://in-toto.io/Statement/v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    tag: StatementTag,
    /// The artifacts the statement is about; each must carry a digest.
    pub subject: Vec<ResourceDescriptor>,
    /// URI of the predicate schema.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The predicate, opaque here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<Value>,
}

/// An attestation ResourceDescriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    /// Name, unique within the subject list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// URI of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Algorithm to lowercase hex (`sha256`, `gitCommit`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// Base64 content, for small inline resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Where the resource can be downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_location: Option<String>,
    /// IANA media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub annotations: Map<String, Value>,
}

impl Statement {
    /// A statement about `subject` with `predicate`.
    pub fn new(
        subject: Vec<ResourceDescriptor>,
        predicate_type: impl Into<String>,
        predicate: Option<Value>,
    ) -> Self {
        Statement {
            tag: StatementTag,
            subject,
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// Checks of the v1 spec: every subject has a digest.
    pub fn validate(&self) -> Result<(), String> {
        for (i, s) in self.subject.iter().enumerate() {
            if s.digest.is_empty() {
                return Err(format!("subject[{i}] has no digest"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_ignores_unknown_fields() {
        let s: Statement = serde_json::from_value(serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "a", "digest": {"sha256": "ab"}, "future": 1}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"x": 1}
        }))
        .unwrap();
        assert!(s.validate().is_ok());
        let bad: Result<Statement, _> = serde_json::from_value(serde_json::json!({
            "_type": "https://in-toto.io/Statement/v0.1", "subject": [], "predicateType": "x"}));
        assert!(bad.is_err());
        let no_digest = Statement::new(vec![ResourceDescriptor::default()], "x", None);
        assert!(no_digest.validate().is_err());
    }
}
