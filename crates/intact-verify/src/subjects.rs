//! Verifying from the artifact (issue 16): the files or digests a
//! consumer holds must be products of the verified chain.
//!
//! A consumer's question is "is *this* file what the chain produced?",
//! as `cosign verify-blob FILE` answers it. The check runs after the step
//! rules (so the products it matches against are those of a chain that
//! holds together) and before any inspection, so an inspection that
//! unpacks or runs a release never sees one that failed it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use intact_model::{Digest, KeyId, Layout, Link, RuleKind, StepName};
use serde::Serialize;

use crate::report::{ArtifactIssue, ArtifactProblem, FailureKind, Stage};
use crate::signatures::Verified;
use crate::workflow::{fail, Ctx, Flow};
use crate::VerifyError;

/// An artifact the consumer holds, to be found among the chain's products.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// How the consumer named it: the file given, or `NAME` of
    /// `NAME=sha256:HEX`.
    pub name: String,
    /// Its SHA-256, the digest every in-toto link records.
    pub sha256: Digest,
    /// The file that was hashed, when one was given.
    pub file: Option<PathBuf>,
}

impl Subject {
    /// Hash the file at `path` (a regular file only: a FIFO or a device
    /// is refused without being read).
    pub fn from_file(path: &Path) -> Result<Self, VerifyError> {
        let set = intact_record::hash_file(path, &[intact_record::Algorithm::Sha256]).map_err(
            |cause| VerifyError::SubjectFile {
                path: path.to_path_buf(),
                cause: Box::new(cause),
            },
        )?;
        let sha256 = set
            .get("sha256")
            .cloned()
            .ok_or_else(|| VerifyError::SubjectFile {
                path: path.to_path_buf(),
                cause: format!("{}: no sha256 digest was computed", path.display()).into(),
            })?;
        Ok(Subject {
            name: path.display().to_string(),
            sha256,
            file: Some(path.to_path_buf()),
        })
    }

    /// Parse `NAME=sha256:HEX` (64 hex digits), as `--subject` takes it.
    pub fn parse(spec: &str) -> Result<Self, VerifyError> {
        let bad = |reason: &str| VerifyError::SubjectSpec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let (name, digest) = spec
            .rsplit_once('=')
            .ok_or_else(|| bad("expected NAME=sha256:HEX"))?;
        if name.is_empty() {
            return Err(bad("the name is empty"));
        }
        let hex = digest
            .strip_prefix("sha256:")
            .ok_or_else(|| bad("the digest must start with sha256:"))?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("a sha256 digest is 64 hexadecimal digits"));
        }
        let sha256 = Digest::new(hex.to_ascii_lowercase()).map_err(|e| bad(&e))?;
        Ok(Subject {
            name: name.to_string(),
            sha256,
            file: None,
        })
    }
}

/// Where a subject was found, and the chain that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectMatch {
    /// The subject as the consumer named it.
    pub name: String,
    /// `sha256:HEX`.
    pub digest: String,
    /// The step whose product it is.
    pub step: String,
    /// Its name among that step's products.
    pub product: String,
    /// The producing step first, then every step its materials were
    /// matched from (following the layout's `MATCH ... FROM` rules).
    pub chain: Vec<ChainStep>,
}

/// One step of a subject's chain, from its verified link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainStep {
    /// The step.
    pub step: String,
    /// Keyids whose links were verified for it.
    pub signers: Vec<String>,
    /// The command its link recorded.
    pub command: Vec<String>,
    /// Steps its material rules match from.
    pub inputs_from: Vec<String>,
    /// The git facts its link recorded (`environment.git`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<serde_json::Value>,
}

/// Steps whose `MATCH ... FROM` rules (materials and products) name
/// `step`: its consumers.
fn consumed(layout: &Layout) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    for s in &layout.steps {
        for r in s.expected_materials.iter().chain(&s.expected_products) {
            if let RuleKind::Match { dest_name, .. } = r.kind() {
                if dest_name != s.name.as_str() {
                    out.insert(dest_name.as_str());
                }
            }
        }
    }
    out
}

/// Steps the material rules of `step` match from.
fn inputs_of(layout: &Layout, step: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let Some(s) = layout.steps.iter().find(|s| s.name.as_str() == step) else {
        return out;
    };
    for r in &s.expected_materials {
        if let RuleKind::Match { dest_name, .. } = r.kind() {
            let is_step = layout.steps.iter().any(|t| t.name.as_str() == dest_name);
            if is_step && dest_name != step && !out.contains(dest_name) {
                out.push(dest_name.clone());
            }
        }
    }
    out
}

/// Stage "subjects": every subject must be a product of a final step
/// (one no other step consumes) or of the `--from` step.
pub(crate) fn check(
    ctx: &mut Ctx<'_>,
    layout: &Verified<Layout>,
    chosen: &Verified<BTreeMap<StepName, Link>>,
    signers: &BTreeMap<StepName, Vec<KeyId>>,
) -> Flow<()> {
    let subjects = &ctx.opts.subjects;
    if subjects.is_empty() {
        return Ok(());
    }
    let candidates: Vec<&str> = match &ctx.opts.from_step {
        Some(from) => {
            if !layout.steps.iter().any(|s| &s.name == from) {
                let names: Vec<&str> = layout.steps.iter().map(|s| s.name.as_str()).collect();
                return Err(fail(
                    FailureKind::SubjectUnknownStep,
                    None,
                    format!("--from names no step of the layout: {from}"),
                    format!("the layout's steps: {}", names.join(", ")),
                )
                .into());
            }
            vec![from.as_str()]
        }
        None => {
            let consumed = consumed(layout);
            layout
                .steps
                .iter()
                .map(|s| s.name.as_str())
                .filter(|n| !consumed.contains(n))
                .collect()
        }
    };
    let mut matches = Vec::with_capacity(subjects.len());
    for subject in subjects {
        let found = candidates.iter().find_map(|step| {
            let link = chosen.get(*step)?;
            link.products
                .iter()
                .find(|(_, d)| d.get("sha256") == Some(&subject.sha256))
                .map(|(name, _)| (*step, name.to_string()))
        });
        let Some((step, product)) = found else {
            return Err(not_produced(subject, &candidates, chosen).into());
        };
        matches.push(SubjectMatch {
            name: subject.name.clone(),
            digest: format!("sha256:{}", subject.sha256),
            step: step.to_string(),
            product,
            chain: chain(layout, chosen, signers, step),
        });
        ctx.pass(
            Stage::Subjects,
            Some(step.to_string()),
            format!("{} is {step}'s product", subject.name),
        );
    }
    ctx.subjects = matches;
    Ok(())
}

/// The producing step, then the steps it matched its materials from,
/// breadth first, each once.
fn chain(
    layout: &Layout,
    chosen: &BTreeMap<StepName, Link>,
    signers: &BTreeMap<StepName, Vec<KeyId>>,
    step: &str,
) -> Vec<ChainStep> {
    let mut out = Vec::new();
    let mut queue = std::collections::VecDeque::from([step.to_string()]);
    let mut seen = BTreeSet::new();
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let inputs = inputs_of(layout, &name);
        let link = chosen.get(name.as_str());
        out.push(ChainStep {
            signers: signers
                .get(name.as_str())
                .map(|ks| ks.iter().map(|k| k.as_str().to_string()).collect())
                .unwrap_or_default(),
            command: link.map(|l| l.command.clone()).unwrap_or_default(),
            git: link.and_then(|l| l.environment.get("git").cloned()),
            inputs_from: inputs.clone(),
            step: name,
        });
        queue.extend(inputs);
    }
    out
}

/// The failure for a subject no candidate step produced, with the
/// closest candidates: products of the same file name, else none.
fn not_produced(
    subject: &Subject,
    candidates: &[&str],
    chosen: &BTreeMap<StepName, Link>,
) -> Box<crate::report::Failure> {
    let base = |n: &str| n.rsplit('/').next().unwrap_or(n).to_string();
    let wanted = base(&subject.name);
    let mut near = Vec::new();
    for step in candidates {
        if let Some(link) = chosen.get(*step) {
            for (name, digests) in link.products.iter() {
                if base(name.as_str()) == wanted {
                    near.push(ArtifactIssue {
                        name: name.to_string(),
                        problem: ArtifactProblem::DigestMismatch,
                        expected: Some(digests.clone()),
                        actual: Some(intact_model::DigestSet::single(
                            "sha256",
                            subject.sha256.clone(),
                        )),
                        note: match digests.get("sha256") {
                            Some(d) => format!("{step} recorded {name} as sha256:{d}"),
                            None => format!("{step} recorded {name} without a sha256 digest"),
                        },
                    });
                }
            }
        }
    }
    let steps = candidates.join(", ");
    let message = match near.first() {
        Some(n) => format!(
            "{} (sha256:{}) is not what the chain produced: {}",
            subject.name, subject.sha256, n.note
        ),
        None => format!(
            "{} (sha256:{}) is not a product of {steps}",
            subject.name, subject.sha256
        ),
    };
    let mut failure = fail(
        FailureKind::SubjectNotProduced,
        candidates.first().map(|s| s.to_string()),
        message,
        "this file is not the one the supply chain produced: do not use it; \
         fetch the release again or check --from names the step that makes it",
    );
    failure.artifacts = near;
    failure
}
