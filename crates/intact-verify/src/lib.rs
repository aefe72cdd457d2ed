//! End-to-end in-toto verification, with reports people can act on.
//!
//! [`verify`] runs the reference's workflow in its order — layout
//! signatures, expiry, parameters, links and thresholds, sublayouts,
//! command alignment, threshold agreement, step rules, inspections,
//! inspection rules — and is stricter where the reference is unsafe (see
//! [`VerifyOptions::compat`]). A failed verification is a [`Report`] with
//! `verified == false`, not an error: errors mean the inputs were unusable.
//!
//! A [`Report`] prints as text (`Display`), serialises as JSON, and
//! renders as Markdown ([`Report::to_markdown`]) and as a self-contained
//! HTML page with a picture of the chain ([`Report::to_html`]).
//!
//! ```no_run
//! use std::collections::BTreeMap;
//! use std::path::Path;
//! use intact_verify::{verify, DirLinkSource, VerifyOptions};
//!
//! let layout = intact_model::Metadata::load(Path::new("root.layout")).unwrap();
//! let owner = intact_crypto::load_public_key(Path::new("owner.pub")).unwrap();
//! let keys = BTreeMap::from([(owner.keyid().unwrap(), owner)]);
//! let report = verify(&layout, &keys, &DirLinkSource::new("."), &VerifyOptions::new()).unwrap();
//! println!("{report}");
//! assert!(report.verified);
//! ```

mod describe;
mod diff;
mod explain;
mod git;
mod inspect;
pub mod inventory;
mod keystatus;
mod logged;
mod options;
mod pki;
mod render;
mod report;
mod rules;
mod separation;
mod signatures;
mod source;
mod subjects;
pub mod vsa;
mod workflow;

use std::collections::BTreeMap;

use intact_crypto::PublicKey;
use intact_model::{KeyId, Metadata};

pub use describe::{
    describe, ArtifactLine, Description, ItemSummary, LayoutSummary, LinkSummary, SignatureStatus,
};
pub use keystatus::{apply_key_status, warn_expiry};
pub use logged::require_logged;
pub use options::VerifyOptions;
pub use report::{
    ArtifactIssue, ArtifactProblem, Failure, FailureKind, LayoutRecord, LinkRecord, Report,
    RuleDetail, Stage, StageResult, Status, Warning, WarningKind, REPORT_SCHEMA, RULE_DETAIL_NAMES,
};
pub use source::{DirLinkSource, LinkSource, MemoryLinkSource};
pub use subjects::{ChainStep, Subject, SubjectMatch};

/// Inputs that make verification impossible (as opposed to a chain that
/// fails verification, which is a [`Report`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No layout key was given: nothing anchors trust.
    #[error("at least one layout key is required")]
    NoLayoutKeys,
    /// A rule's pattern cannot be compiled (e.g. too large for the regex
    /// engine), so the rules cannot be evaluated: the chain is refused.
    #[error("cannot evaluate the layout's rules: {0}")]
    UncompilablePattern(Box<intact_rules::UncompilableRule>),
    /// A link file was refused: not a regular file (a FIFO, a device, a
    /// symlink to one), or larger than [`VerifyOptions::max_metadata_size`].
    #[error(transparent)]
    Read(#[from] intact_model::io::ReadError),
    /// An `--artifact` file cannot be hashed (missing, unreadable, not a
    /// regular file).
    #[error("artifact {cause}")]
    SubjectFile {
        /// The file given.
        path: std::path::PathBuf,
        /// Why it cannot be hashed (names the file).
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A `--subject` is not `NAME=sha256:HEX`.
    #[error("subject {spec:?}: {reason}")]
    SubjectSpec {
        /// As given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The key inventory cannot read an input.
    #[error("{}: {reason}", path.display())]
    Inventory {
        /// The file or directory.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The link directory does not exist or is not a directory.
    #[error("link directory {}: {cause}", dir.display())]
    LinkDir {
        /// The directory given.
        dir: std::path::PathBuf,
        /// Why it cannot be used.
        cause: std::io::Error,
    },
}

/// Verify a supply chain: `layout` signed by every key in `keys`, links
/// from `links`.
pub fn verify(
    layout: &Metadata,
    keys: &BTreeMap<KeyId, PublicKey>,
    links: &dyn LinkSource,
    options: &VerifyOptions,
) -> Result<Report, VerifyError> {
    if keys.is_empty() {
        return Err(VerifyError::NoLayoutKeys);
    }
    let mut ctx = workflow::Ctx {
        opts: options,
        stages: Vec::new(),
        warnings: Vec::new(),
        subjects: Vec::new(),
        signers: BTreeMap::new(),
        layout: None,
        links: Vec::new(),
        inner_signers: Vec::new(),
        cert_keys: BTreeMap::new(),
        names: options.key_names.clone(),
    };
    let outcome = workflow::verify_level(
        &mut ctx,
        layout,
        keys,
        links,
        &workflow::Scope::default(),
        None,
        0,
    );
    let failure = match outcome {
        Ok(_) => None,
        Err(workflow::Halt::Failed(f)) => Some(*f),
        Err(workflow::Halt::Unusable(e)) => return Err(e),
    };
    if let Some(f) = &failure {
        ctx.stages.push(StageResult {
            stage: f.stage,
            status: Status::Failed,
            scope: f.scope.clone(),
            message: f.message.clone(),
            rules: Vec::new(),
        });
    }
    Ok(Report {
        schema: REPORT_SCHEMA,
        intact_version: env!("CARGO_PKG_VERSION"),
        verified_at: options
            .now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        layout: ctx.layout,
        links: ctx.links,
        verified: failure.is_none(),
        stages: ctx.stages,
        warnings: ctx.warnings,
        subjects: ctx.subjects,
        key_names: ctx
            .names
            .into_iter()
            .map(|(k, n)| (k.to_string(), n))
            .collect(),
        failure,
    })
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Tests may use std::fs.
mod tests;
