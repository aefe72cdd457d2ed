//! Log entries: canonical JSON describing one event (a layout signed, a
//! link recorded, an attestation made, a verification passed or failed).
//!
//! An entry names the metadata file's digest, its signers, the step or
//! subjects it is about, when it was logged, the intact version, and CI
//! identifiers from an allowlist. It never copies a link's `environment`,
//! byproducts or command, nor any other environment variable.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::LogError;

/// The entry schema identifier.
pub const ENTRY_SCHEMA: &str = "intact.log-entry/v1";

/// CI identifiers copied into entries when set: build and run numbers,
/// repository and commit. Nothing else from the environment is read.
pub const CI_VARIABLES: &[&str] = &[
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_SHA",
    "GITHUB_WORKFLOW",
    "CI_PROJECT_PATH",
    "CI_PIPELINE_ID",
    "CI_JOB_ID",
    "CI_COMMIT_SHA",
    "BUILDKITE_BUILD_ID",
    "BUILDKITE_COMMIT",
];

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum EntryKind {
    /// A signed layout.
    LayoutSigned,
    /// A signed link.
    LinkRecorded,
    /// A signed in-toto attestation (DSSE envelope of a Statement).
    AttestationMade,
    /// A verification report that verified.
    VerificationPassed,
    /// A verification report that failed.
    VerificationFailed,
}

impl EntryKind {
    /// The kebab-case name used in entries and output.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::LayoutSigned => "layout-signed",
            EntryKind::LinkRecorded => "link-recorded",
            EntryKind::AttestationMade => "attestation-made",
            EntryKind::VerificationPassed => "verification-passed",
            EntryKind::VerificationFailed => "verification-failed",
        }
    }

    /// Every kind, in a stable order.
    pub const ALL: [EntryKind; 5] = [
        EntryKind::LayoutSigned,
        EntryKind::LinkRecorded,
        EntryKind::AttestationMade,
        EntryKind::VerificationPassed,
        EntryKind::VerificationFailed,
    ];
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// [`ENTRY_SCHEMA`].
    pub schema: String,
    /// What happened.
    pub kind: EntryKind,
    /// The metadata file's name (no directory).
    pub file: String,
    /// The SHA-256 of the file's bytes (lowercase hex).
    pub sha256: String,
    /// Keyids that signed the file (as the file claims them).
    pub signers: Vec<String>,
    /// The step (a link) or layout steps' names, when there are some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    /// Subjects: a link's products, an attestation's subjects, a
    /// verification's layout and links; name to algorithm to hex digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub subjects: BTreeMap<String, BTreeMap<String, String>>,
    /// When the event was logged (RFC 3339, UTC), or the verification's
    /// own time for a verification report.
    pub time: String,
    /// The intact version that logged it.
    pub intact_version: String,
    /// CI identifiers ([`CI_VARIABLES`]) that were set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ci: BTreeMap<String, String>,
    /// The X.509 certificates the file's signatures carry (docs/pki.md),
    /// so that every certificate ever used in signing can be listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertificateRecord>,
}

/// A signer's certificate as a log entry records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateRecord {
    /// The keyid the signature claims.
    pub keyid: String,
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// Serial number, upper-case hex.
    pub serial: String,
    /// Validity start, `YYYY-MM-DDTHH:MM:SSZ`.
    pub not_before: String,
    /// Validity end, `YYYY-MM-DDTHH:MM:SSZ`.
    pub not_after: String,
}

impl CertificateRecord {
    /// The leaf certificates of `md`'s signatures (unparsable ones are
    /// left out: the entry describes, the verifier judges).
    pub fn of(md: &intact_model::Metadata) -> Vec<Self> {
        md.signatures()
            .iter()
            .filter_map(|s| {
                let cert = intact_crypto::x509::Certificate::from_pem(s.cert?).ok()?;
                Some(CertificateRecord {
                    keyid: s.keyid.to_string(),
                    subject: cert.subject(),
                    issuer: cert.issuer(),
                    serial: cert.serial(),
                    not_before: cert.not_before(),
                    not_after: cert.not_after(),
                })
            })
            .collect()
    }
}

/// What an entry takes from outside the file: the time and CI identifiers.
#[derive(Debug, Clone, Default)]
pub struct EntryContext {
    /// RFC 3339 time of logging.
    pub time: String,
    /// CI identifiers.
    pub ci: BTreeMap<String, String>,
}

impl EntryContext {
    /// Now, with the [`CI_VARIABLES`] that are set.
    pub fn now() -> Self {
        let time = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        let ci = CI_VARIABLES
            .iter()
            .filter_map(|k| {
                std::env::var(k)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .map(|v| ((*k).to_string(), v))
            })
            .collect();
        EntryContext { time, ci }
    }
}

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn digest_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

impl Entry {
    /// The entry for the file at `path` whose bytes are `bytes`.
    pub fn describe(path: &Path, bytes: &[u8], ctx: &EntryContext) -> Result<Self, LogError> {
        let not = |reason: String| LogError::NotLoggable {
            path: path.to_path_buf(),
            reason,
        };
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut entry = Entry {
            schema: ENTRY_SCHEMA.to_string(),
            kind: EntryKind::LinkRecorded,
            file,
            sha256: sha256_hex(bytes),
            signers: Vec::new(),
            steps: Vec::new(),
            subjects: BTreeMap::new(),
            time: ctx.time.clone(),
            intact_version: env!("CARGO_PKG_VERSION").to_string(),
            ci: ctx.ci.clone(),
            certificates: Vec::new(),
        };
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            not(format!(
                "not JSON ({e}); expected a link, layout, attestation or verification report"
            ))
        })?;
        if value.get("schema").and_then(Value::as_str) == Some("intact.verify-report/v1") {
            return Self::from_report(entry, &value).map_err(not);
        }
        // A DSSE link and an attestation share the payload type; what the
        // payload is tells them apart (a Statement goes on below).
        let metadata = intact_model::Metadata::from_slice(bytes)
            .ok()
            .and_then(|md| md.payload().ok().map(|p| (md, p)));
        if let Some((md, payload)) = metadata {
            entry.signers = md
                .signatures()
                .iter()
                .map(|s| s.keyid.to_string())
                .collect();
            entry.certificates = CertificateRecord::of(&md);
            match payload {
                intact_model::Payload::Link(link) => {
                    entry.kind = EntryKind::LinkRecorded;
                    entry.steps = vec![link.name.to_string()];
                    let products =
                        serde_json::to_value(&link.products).map_err(|e| not(e.to_string()))?;
                    if let Some(m) = products.as_object() {
                        for (name, d) in m {
                            entry.subjects.insert(name.clone(), digest_map(d));
                        }
                    }
                }
                intact_model::Payload::Layout(layout) => {
                    entry.kind = EntryKind::LayoutSigned;
                    entry.steps = layout.steps.iter().map(|s| s.name.to_string()).collect();
                }
            }
            return Ok(entry);
        }
        // An attestation: a DSSE envelope of an in-toto Statement.
        let payload_type = value.get("payloadType").and_then(Value::as_str);
        if payload_type == Some(intact_model::IN_TOTO_PAYLOAD_TYPE) {
            use base64::Engine as _;
            let payload = value
                .get("payload")
                .and_then(Value::as_str)
                .and_then(|p| base64::engine::general_purpose::STANDARD.decode(p).ok())
                .ok_or_else(|| not("a DSSE envelope without a base64 payload".into()))?;
            let statement: intact_model::Statement =
                serde_json::from_slice(&payload).map_err(|e| {
                    not(format!(
                        "a DSSE envelope whose payload is not a link, layout or Statement: {e}"
                    ))
                })?;
            entry.kind = EntryKind::AttestationMade;
            entry.signers = value
                .get("signatures")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.get("keyid").and_then(Value::as_str).map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            for (i, s) in statement.subject.iter().enumerate() {
                let name = s.name.clone().unwrap_or_else(|| format!("subject-{i}"));
                entry.subjects.insert(name, s.digest.clone());
            }
            return Ok(entry);
        }
        Err(not(
            "not a link, layout, attestation (DSSE Statement) or verification report (intact verify --format json)".into(),
        ))
    }

    fn from_report(mut entry: Entry, report: &Value) -> Result<Self, String> {
        let verified = report
            .get("verified")
            .and_then(Value::as_bool)
            .ok_or("a verification report without a boolean `verified`")?;
        entry.kind = if verified {
            EntryKind::VerificationPassed
        } else {
            EntryKind::VerificationFailed
        };
        if let Some(t) = report.get("verified_at").and_then(Value::as_str) {
            entry.time = t.to_string();
        }
        if let Some(layout) = report.get("layout") {
            if let Some(d) = layout.get("signed_sha256").and_then(Value::as_str) {
                let mut m = BTreeMap::new();
                m.insert("sha256".to_string(), d.to_string());
                entry.subjects.insert("layout".into(), m);
            }
            if let Some(signers) = layout.get("signers").and_then(Value::as_array) {
                entry.signers = signers
                    .iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect();
            }
        }
        for link in report
            .get("links")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(file), Some(sha)) = (
                link.get("file").and_then(Value::as_str),
                link.get("sha256").and_then(Value::as_str),
            ) else {
                continue;
            };
            if let Some(step) = link.get("step").and_then(Value::as_str) {
                entry.steps.push(step.to_string());
            }
            let mut m = BTreeMap::new();
            m.insert("sha256".to_string(), sha.to_string());
            entry.subjects.insert(format!("link:{file}"), m);
        }
        Ok(entry)
    }

    /// The entry's bytes in the log: canonical JSON.
    pub fn to_bytes(&self) -> Result<Vec<u8>, LogError> {
        Ok(intact_model::json::canonical_of(self)?)
    }

    /// Parse an entry from the log.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}
