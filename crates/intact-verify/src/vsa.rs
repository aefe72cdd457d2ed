//! The SLSA Verification Summary v1 of a verification (`intact verify
//! --vsa`): who verified what against which layout, with which links, and
//! the verdict, as an in-toto Statement about the artifacts verified.

use std::collections::BTreeMap;

use intact_attest::predicate::{VerificationSummary, Verifier};
use intact_attest::{AttestError, Predicate, ResourceDescriptor, Statement};
use sha2::Digest as _;

use crate::{Report, Subject};

/// `verifier.id` when none is given.
pub const DEFAULT_VERIFIER_ID: &str = "https://intact.invalid/verifier";

/// The level claimed for a verified chain when none is given: its final
/// product (the subject) has provenance that verified (SLSA Build L1).
pub const DEFAULT_VERIFIED_LEVEL: &str = "SLSA_BUILD_LEVEL_1";

/// What the summary says beside the report.
#[derive(Debug, Clone)]
pub struct VsaOptions {
    /// `verifier.id`.
    pub verifier_id: String,
    /// `resourceUri`; else the first subject's name.
    pub resource_uri: Option<String>,
    /// `timeVerified`, RFC 3339.
    pub time_verified: String,
    /// `policy.uri`: where the layout came from (its path as given).
    pub policy_uri: Option<String>,
    /// The layout file's bytes (`policy.digest.sha256` is their SHA-256).
    pub policy_bytes: Vec<u8>,
    /// `verifiedLevels` of a chain that verified, each
    /// `SLSA_<TRACK>_LEVEL_<N>`, one per track; empty means
    /// [`DEFAULT_VERIFIED_LEVEL`]. A failed verification claims `FAILED`.
    pub levels: Vec<String>,
}

/// Check one `SLSA_<TRACK>_LEVEL_<N>`: the track in capitals, the level a
/// number.
pub fn check_level(level: &str) -> Result<&str, AttestError> {
    let bad = || {
        AttestError::Statement(format!(
            "verified level {level:?} is not SLSA_<TRACK>_LEVEL_<N> (e.g. SLSA_BUILD_LEVEL_2)"
        ))
    };
    let rest = level.strip_prefix("SLSA_").ok_or_else(bad)?;
    let (track, n) = rest.rsplit_once("_LEVEL_").ok_or_else(bad)?;
    let track_ok = !track.is_empty() && track.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
    let n_ok = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    if track_ok && n_ok {
        Ok(track)
    } else {
        Err(bad())
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The summary of `report`, about `subjects` (the artifacts the consumer
/// asked about; at least one). `inputAttestations` are the report's links
/// with their digests (verify with [`crate::VerifyOptions::audit`]).
pub fn summary_statement(
    report: &Report,
    subjects: &[Subject],
    o: &VsaOptions,
) -> Result<Statement, AttestError> {
    if subjects.is_empty() {
        return Err(AttestError::Statement(
            "a verification summary is about artifacts: give --artifact or --subject".into(),
        ));
    }
    let subject: Vec<ResourceDescriptor> = subjects
        .iter()
        .map(|s| ResourceDescriptor::sha256(s.name.clone(), s.sha256.to_string()))
        .collect();
    let mut tracks = Vec::new();
    for level in &o.levels {
        let track = check_level(level)?;
        if tracks.contains(&track) {
            return Err(AttestError::Statement(format!(
                "verified levels name the {track} track twice"
            )));
        }
        tracks.push(track);
    }
    let verified_levels = if !report.verified {
        vec!["FAILED".to_string()]
    } else if o.levels.is_empty() {
        vec![DEFAULT_VERIFIED_LEVEL.to_string()]
    } else {
        o.levels.clone()
    };
    if let Some(l) = report.links.iter().find(|l| l.sha256.is_none()) {
        return Err(AttestError::Statement(format!(
            "{} was not hashed: verify with VerifyOptions::audit for a summary",
            l.file
        )));
    }
    let input_attestations = report
        .links
        .iter()
        // The VSA's input attestations have only `uri` and `digest`: the
        // file's name relative to the link directory is its URI.
        .map(|l| ResourceDescriptor {
            uri: Some(l.file.clone()),
            digest: l
                .sha256
                .iter()
                .map(|d| ("sha256".to_string(), d.clone()))
                .collect(),
            ..Default::default()
        })
        .collect();
    let vsa = VerificationSummary {
        verifier: Verifier {
            id: o.verifier_id.clone(),
            version: BTreeMap::from([(
                "intact".to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            )]),
        },
        time_verified: o.time_verified.clone(),
        resource_uri: o
            .resource_uri
            .clone()
            .unwrap_or_else(|| subjects.first().map(|s| s.name.clone()).unwrap_or_default()),
        policy: ResourceDescriptor {
            uri: o.policy_uri.clone(),
            digest: BTreeMap::from([("sha256".to_string(), sha256_hex(&o.policy_bytes))]),
            ..Default::default()
        },
        input_attestations,
        verification_result: if report.verified { "PASSED" } else { "FAILED" }.to_string(),
        verified_levels,
        dependency_levels: BTreeMap::new(),
        slsa_version: Some("1.0".to_string()),
    };
    let st = Statement::new(subject, Predicate::Vsa(Box::new(vsa)));
    st.validate()?;
    Ok(st)
}

/// Sign the summary and write it to `path` atomically (a temporary file
/// beside it, then a rename): a crash leaves no half-written summary.
pub fn write_summary(
    path: &std::path::Path,
    statement: &Statement,
    key: &intact_crypto::SigningKey,
) -> Result<(), AttestError> {
    let env = intact_attest::sign_statement(statement, &[key])?;
    let mut bytes = env.to_bytes()?;
    bytes.push(b'\n');
    intact_model::io::write_atomic(path, &bytes, 0o644)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LinkRecord, REPORT_SCHEMA};

    fn report(verified: bool) -> Report {
        Report {
            schema: REPORT_SCHEMA,
            intact_version: "0",
            verified_at: String::new(),
            layout: None,
            links: vec![LinkRecord {
                step: "build".into(),
                file: "build.abcd1234.link.intoto.json".into(),
                sha256: Some("a".repeat(64)),
                signer: "b".repeat(64),
            }],
            verified,
            stages: Vec::new(),
            warnings: Vec::new(),
            subjects: Vec::new(),
            key_names: BTreeMap::new(),
            failure: None,
        }
    }

    fn options(levels: &[&str]) -> VsaOptions {
        VsaOptions {
            verifier_id: DEFAULT_VERIFIER_ID.into(),
            resource_uri: None,
            time_verified: "2023-11-14T22:13:20Z".into(),
            policy_uri: Some("root.layout".into()),
            policy_bytes: b"{}".to_vec(),
            levels: levels.iter().map(|l| l.to_string()).collect(),
        }
    }

    fn subject() -> Vec<Subject> {
        vec![Subject::parse(&format!("app=sha256:{}", "c".repeat(64))).unwrap()]
    }

    fn summary(st: &Statement) -> &VerificationSummary {
        match &st.predicate {
            Predicate::Vsa(v) => v,
            _ => unreachable!("summary_statement writes a VSA"),
        }
    }

    #[test]
    fn pass_and_fail_summaries() {
        let st = summary_statement(&report(true), &subject(), &options(&[])).unwrap();
        let v = summary(&st);
        assert_eq!(v.verification_result, "PASSED");
        assert_eq!(v.verified_levels, vec![DEFAULT_VERIFIED_LEVEL.to_string()]);
        assert_eq!(v.resource_uri, "app");
        assert_eq!(v.input_attestations.len(), 1);
        assert_eq!(
            v.policy.digest.get("sha256").map(String::as_str),
            Some("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        );
        assert_eq!(Statement::from_slice(&st.to_bytes().unwrap()).unwrap(), st);

        let st = summary_statement(
            &report(false),
            &subject(),
            &options(&["SLSA_BUILD_LEVEL_3"]),
        )
        .unwrap();
        let v = summary(&st);
        assert_eq!(v.verification_result, "FAILED");
        assert_eq!(v.verified_levels, vec!["FAILED".to_string()]);

        let st = summary_statement(
            &report(true),
            &subject(),
            &options(&["SLSA_BUILD_LEVEL_3", "SLSA_SOURCE_LEVEL_2"]),
        )
        .unwrap();
        assert_eq!(summary(&st).verified_levels.len(), 2);
    }

    #[test]
    fn bad_requests_are_refused() {
        assert!(summary_statement(&report(true), &[], &options(&[])).is_err());
        for bad in [
            &["BUILD_3"][..],
            &["SLSA_build_LEVEL_1"],
            &["SLSA_BUILD_LEVEL_"],
            &["SLSA_BUILD_LEVEL_1", "SLSA_BUILD_LEVEL_2"],
        ] {
            assert!(
                summary_statement(&report(true), &subject(), &options(bad)).is_err(),
                "{bad:?}"
            );
        }
        let mut unhashed = report(true);
        unhashed.links[0].sha256 = None;
        assert!(summary_statement(&unhashed, &subject(), &options(&[])).is_err());
    }
}
