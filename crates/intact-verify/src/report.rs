//! The verification report: what was checked, in order, and for a failure
//! what failed, where, and what to do about it.
//!
//! The JSON form (`serde`) is a stable schema documented in
//! docs/verify-report.md; the text form (`Display`) is for people.

use std::collections::BTreeMap;
use std::fmt;

use intact_model::escape::escape;
use intact_model::DigestSet;
use serde::Serialize;

/// Identifier of the JSON schema, bumped on incompatible changes.
pub const REPORT_SCHEMA: &str = "intact.verify-report/v1";

/// The stages of verification, in the reference's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Stage {
    /// Every given layout key signed the layout.
    LayoutSignatures,
    /// The layout is not expired.
    LayoutExpiry,
    /// Parameters were substituted.
    Parameters,
    /// The layout's own consistency (keys, thresholds).
    LayoutChecks,
    /// Link files were found for every step.
    Links,
    /// Link signatures by authorised keys reach each threshold.
    LinkSignatures,
    /// Sublayouts verified recursively.
    Sublayouts,
    /// Commands match the expected commands (warnings only).
    Commands,
    /// Links of a step with threshold > 1 agree.
    ThresholdAgreement,
    /// Step artifact rules.
    StepRules,
    /// The consumer's artifacts are products of the chain.
    Subjects,
    /// Inspections ran and returned 0.
    Inspections,
    /// Inspection artifact rules.
    InspectionRules,
    /// Source provenance from a git commit.
    GitProvenance,
    /// Separated steps were performed by different keys (a layout's
    /// `separate:`), and the source's commit signer performs none of the
    /// steps separated from it.
    SeparationOfDuties,
    /// The layout and every link carry a valid inclusion proof in the
    /// transparency log (`--require-logged`).
    TransparencyLog,
    /// No signature the chain rests on is by a key the key-status
    /// document revokes or whose window excludes it (`--key-status`).
    KeyStatus,
}

impl Stage {
    /// Human name of the stage.
    pub fn label(self) -> &'static str {
        match self {
            Stage::LayoutSignatures => "layout signatures",
            Stage::LayoutExpiry => "layout expiry",
            Stage::Parameters => "parameters",
            Stage::LayoutChecks => "layout checks",
            Stage::Links => "links",
            Stage::LinkSignatures => "link signatures and thresholds",
            Stage::Sublayouts => "sublayouts",
            Stage::Commands => "expected commands",
            Stage::ThresholdAgreement => "threshold agreement",
            Stage::StepRules => "step rules",
            Stage::Subjects => "subjects",
            Stage::Inspections => "inspections",
            Stage::InspectionRules => "inspection rules",
            Stage::GitProvenance => "git provenance",
            Stage::SeparationOfDuties => "separation of duties",
            Stage::TransparencyLog => "transparency log",
            Stage::KeyStatus => "key status",
        }
    }
}

/// What kind of failure stopped verification: a machine-readable verdict.
///
/// Each kind belongs to one [`Stage`] ([`FailureKind::stage`]) and has a
/// [`code`](FailureKind::code), the `failure.code` of the JSON report.
/// Codes are stable: once published, a code keeps its meaning forever
/// (docs/verify-report.md lists them); new kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FailureKind {
    /// A layout key did not sign the layout (or the signature is bad).
    LayoutSignature,
    /// The signed root metadata is a link, not a layout.
    NotALayout,
    /// The signed layout's payload does not parse.
    LayoutMalformed,
    /// The layout expired.
    LayoutExpired,
    /// The layout has no `expires` (the reference treats it as never
    /// expiring); accepted in a DSSE envelope with `--compat`.
    LayoutNoExpiry,
    /// Parameter substitution failed (a parameter is missing or invalid).
    Parameters,
    /// The layout has placeholders no `--param` fills.
    ParameterMissing,
    /// A `--param` names no placeholder of the layout.
    ParameterUnknown,
    /// The same public key is listed under two keyids.
    DuplicateKey,
    /// A step's threshold is below 1.
    ThresholdBelowOne,
    /// A step names a key the layout does not carry.
    UnknownStepKey,
    /// A link file exists but cannot be read.
    LinkUnreadable,
    /// A link file is not valid in-toto metadata.
    LinkMalformed,
    /// Fewer link files than the step's threshold were found.
    LinkMissing,
    /// A step's threshold is not met and a link's certificate was refused
    /// (expired, revoked, no chain to a layout root, outside the step's
    /// certificate constraints); the message names it by subject and serial.
    CertificateRejected,
    /// A link carries more than one signature by the same key.
    DuplicateSignature,
    /// A correctly signed link's payload is malformed.
    LinkPayloadMalformed,
    /// A link recorded for one step is filed under another.
    LinkNameMismatch,
    /// A key's classic link and its link attestation for one step both
    /// verified but differ.
    LinkFormsDisagree,
    /// Fewer distinct authorised keys signed a step's links than its
    /// threshold requires.
    Threshold,
    /// Sublayouts nest deeper than allowed.
    SublayoutTooDeep,
    /// A sublayout could not be verified for a reason internal to intact.
    SublayoutInternal,
    /// The links of a threshold step recorded different artifacts.
    ThresholdDisagreement,
    /// A step's artifact rule failed.
    StepRule,
    /// A subject (`--artifact`, `--subject`) is no product of the chain.
    SubjectNotProduced,
    /// `--from` names no step of the layout.
    SubjectUnknownStep,
    /// An inspection has no command.
    InspectionNoCommand,
    /// An inspection's command could not be run.
    InspectionNotRun,
    /// An inspection's command returned non-zero.
    InspectionFailed,
    /// An inspection's artifact rule failed.
    InspectionRule,
    /// The layout's git policy does not parse.
    GitPolicyMalformed,
    /// The layout requires git provenance and no repository was given.
    GitRepoMissing,
    /// The layout's git policy cannot be applied to the repository.
    GitPolicyUnusable,
    /// A git provenance check failed (signature, ref, tree).
    GitProvenance,
    /// The layout's separation-of-duties policy does not parse or names
    /// a step the layout does not have.
    SeparationMalformed,
    /// One key's signature counts for two separated steps, or the source
    /// commit's signer is a functionary of a step separated from it.
    SeparationOfDuties,
    /// `--require-logged`: the layout or a link has no valid inclusion
    /// proof (`FILE.proof`) under a checkpoint signed by the log key.
    NotLogged,
    /// `--key-status`: the layout or a link is signed by a revoked key,
    /// without proof (an inclusion proof) that it signed before the
    /// revocation.
    KeyRevoked,
    /// `--key-status`: a key signed before its `not_before`.
    KeyNotYetValid,
    /// `--key-status`: a key is retired (past `not_after`) and its
    /// signature is not proven older.
    KeyRetired,
}

impl FailureKind {
    /// Every kind, in stage order.
    pub const ALL: &'static [FailureKind] = &[
        FailureKind::LayoutSignature,
        FailureKind::NotALayout,
        FailureKind::LayoutMalformed,
        FailureKind::LayoutExpired,
        FailureKind::LayoutNoExpiry,
        FailureKind::Parameters,
        FailureKind::ParameterMissing,
        FailureKind::ParameterUnknown,
        FailureKind::DuplicateKey,
        FailureKind::ThresholdBelowOne,
        FailureKind::UnknownStepKey,
        FailureKind::LinkUnreadable,
        FailureKind::LinkMalformed,
        FailureKind::LinkMissing,
        FailureKind::DuplicateSignature,
        FailureKind::LinkPayloadMalformed,
        FailureKind::LinkNameMismatch,
        FailureKind::LinkFormsDisagree,
        FailureKind::Threshold,
        FailureKind::SublayoutTooDeep,
        FailureKind::SublayoutInternal,
        FailureKind::ThresholdDisagreement,
        FailureKind::StepRule,
        FailureKind::SubjectNotProduced,
        FailureKind::SubjectUnknownStep,
        FailureKind::InspectionNoCommand,
        FailureKind::InspectionNotRun,
        FailureKind::InspectionFailed,
        FailureKind::InspectionRule,
        FailureKind::GitPolicyMalformed,
        FailureKind::GitRepoMissing,
        FailureKind::GitPolicyUnusable,
        FailureKind::GitProvenance,
        FailureKind::SeparationMalformed,
        FailureKind::SeparationOfDuties,
        FailureKind::NotLogged,
        FailureKind::KeyRevoked,
        FailureKind::KeyNotYetValid,
        FailureKind::KeyRetired,
        FailureKind::CertificateRejected,
    ];

    /// The stable code of the JSON report (`failure.code`).
    pub fn code(self) -> &'static str {
        match self {
            FailureKind::LayoutSignature => "layout-signature",
            FailureKind::NotALayout => "not-a-layout",
            FailureKind::LayoutMalformed => "layout-malformed",
            FailureKind::LayoutExpired => "layout-expired",
            FailureKind::LayoutNoExpiry => "layout-no-expiry",
            FailureKind::Parameters => "parameters",
            FailureKind::ParameterMissing => "parameter-missing",
            FailureKind::ParameterUnknown => "parameter-unknown",
            FailureKind::DuplicateKey => "duplicate-key",
            FailureKind::ThresholdBelowOne => "threshold-below-one",
            FailureKind::UnknownStepKey => "unknown-step-key",
            FailureKind::LinkUnreadable => "link-unreadable",
            FailureKind::LinkMalformed => "link-malformed",
            FailureKind::LinkMissing => "link-missing",
            FailureKind::DuplicateSignature => "duplicate-signature",
            FailureKind::LinkPayloadMalformed => "link-payload-malformed",
            FailureKind::LinkNameMismatch => "link-name-mismatch",
            FailureKind::LinkFormsDisagree => "link-forms-disagree",
            FailureKind::Threshold => "threshold",
            FailureKind::SublayoutTooDeep => "sublayout-too-deep",
            FailureKind::SublayoutInternal => "sublayout-internal",
            FailureKind::ThresholdDisagreement => "threshold-disagreement",
            FailureKind::StepRule => "step-rule",
            FailureKind::SubjectNotProduced => "subject-not-produced",
            FailureKind::SubjectUnknownStep => "subject-unknown-step",
            FailureKind::InspectionNoCommand => "inspection-no-command",
            FailureKind::InspectionNotRun => "inspection-not-run",
            FailureKind::InspectionFailed => "inspection-failed",
            FailureKind::InspectionRule => "inspection-rule",
            FailureKind::GitPolicyMalformed => "git-policy-malformed",
            FailureKind::GitRepoMissing => "git-repo-missing",
            FailureKind::GitPolicyUnusable => "git-policy-unusable",
            FailureKind::GitProvenance => "git-provenance",
            FailureKind::SeparationMalformed => "separation-malformed",
            FailureKind::SeparationOfDuties => "separation-of-duties",
            FailureKind::NotLogged => "not-logged",
            FailureKind::KeyRevoked => "key-revoked",
            FailureKind::KeyNotYetValid => "key-not-yet-valid",
            FailureKind::KeyRetired => "key-retired",
            FailureKind::CertificateRejected => "certificate-rejected",
        }
    }

    /// The stage this kind of failure stops.
    pub fn stage(self) -> Stage {
        use FailureKind as K;
        match self {
            K::LayoutSignature | K::NotALayout | K::LayoutMalformed => Stage::LayoutSignatures,
            K::LayoutExpired | K::LayoutNoExpiry => Stage::LayoutExpiry,
            K::Parameters | K::ParameterMissing | K::ParameterUnknown => Stage::Parameters,
            K::DuplicateKey | K::ThresholdBelowOne | K::UnknownStepKey => Stage::LayoutChecks,
            K::LinkUnreadable | K::LinkMalformed | K::LinkMissing => Stage::Links,
            K::DuplicateSignature
            | K::LinkPayloadMalformed
            | K::LinkNameMismatch
            | K::LinkFormsDisagree
            | K::Threshold
            | K::CertificateRejected => Stage::LinkSignatures,
            K::SublayoutTooDeep | K::SublayoutInternal => Stage::Sublayouts,
            K::ThresholdDisagreement => Stage::ThresholdAgreement,
            K::StepRule => Stage::StepRules,
            K::SubjectNotProduced | K::SubjectUnknownStep => Stage::Subjects,
            K::InspectionNoCommand | K::InspectionNotRun | K::InspectionFailed => {
                Stage::Inspections
            }
            K::InspectionRule => Stage::InspectionRules,
            K::GitPolicyMalformed | K::GitRepoMissing | K::GitPolicyUnusable | K::GitProvenance => {
                Stage::GitProvenance
            }
            K::SeparationMalformed | K::SeparationOfDuties => Stage::SeparationOfDuties,
            K::NotLogged => Stage::TransparencyLog,
            K::KeyRevoked | K::KeyNotYetValid | K::KeyRetired => Stage::KeyStatus,
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Outcome of one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Checked and fine.
    Passed,
    /// Checked and fine, with warnings.
    Warning,
    /// Checked and failed; verification stops here.
    Failed,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageResult {
    /// Which stage.
    pub stage: Stage,
    /// How it went.
    pub status: Status,
    /// The step or inspection, with sublayouts as `parent/child`.
    pub scope: Option<String>,
    /// What was found.
    pub message: String,
    /// For a step's or inspection's rules that held, when asked for
    /// ([`crate::VerifyOptions::rule_detail`]): each rule with the
    /// artifacts it consumed. Empty (and absent from JSON) otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleDetail>,
}

/// How many artifact names a [`RuleDetail`] keeps; the rest are counted.
pub const RULE_DETAIL_NAMES: usize = 8;

/// One artifact rule of a step or inspection that held, and what it
/// consumed of the artifacts still to judge (the reference's queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleDetail {
    /// `material` or `product`.
    pub side: &'static str,
    /// The rule, as written in canonical form.
    pub rule: String,
    /// The first [`RULE_DETAIL_NAMES`] artifact names it consumed, in
    /// name order (for REQUIRE, the name it found; for DISALLOW, none).
    pub consumed: Vec<String>,
    /// How many more it consumed.
    pub consumed_more: usize,
}

/// A warning that does not fail verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Where it was noticed.
    pub stage: Stage,
    /// The step or inspection, if any.
    pub scope: Option<String>,
    /// What was noticed.
    pub message: String,
    /// A machine-readable kind, for the warnings that have one (absent
    /// from JSON otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<WarningKind>,
}

/// Kinds of warning with a stable code (`warnings[].code` in JSON);
/// docs/verify-report.md lists them. Codes keep their meaning forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum WarningKind {
    /// The layout expires within the warning period (`--warn-expiry`).
    LayoutExpiresSoon,
    /// A key the chain rests on retires (`not_after`) within the warning
    /// period.
    KeyRetiresSoon,
    /// A revoked key's signature was accepted: an inclusion proof dates
    /// it before the revocation.
    SignedBeforeRevocation,
    /// A retired key's signature was accepted: an inclusion proof dates
    /// it inside the key's window.
    SignedBeforeRetirement,
}

impl WarningKind {
    /// Every kind.
    pub const ALL: &'static [WarningKind] = &[
        WarningKind::LayoutExpiresSoon,
        WarningKind::KeyRetiresSoon,
        WarningKind::SignedBeforeRevocation,
        WarningKind::SignedBeforeRetirement,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            WarningKind::LayoutExpiresSoon => "layout-expires-soon",
            WarningKind::KeyRetiresSoon => "key-retires-soon",
            WarningKind::SignedBeforeRevocation => "signed-before-revocation",
            WarningKind::SignedBeforeRetirement => "signed-before-retirement",
        }
    }
}

/// What is wrong with one artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactProblem {
    /// Present in both places with different digests.
    DigestMismatch,
    /// Present here but not in the step it should come from.
    NotInSource,
    /// No rule allowed it.
    Unexpected,
    /// A REQUIRE rule did not find it.
    Missing,
}

/// An artifact named in a failure, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactIssue {
    /// The artifact name as recorded.
    pub name: String,
    /// Which kind of problem.
    pub problem: ArtifactProblem,
    /// Digests where it came from (the step it should match).
    pub expected: Option<DigestSet>,
    /// Digests in the step that failed.
    pub actual: Option<DigestSet>,
    /// One line about this artifact.
    pub note: String,
}

/// Why verification failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The stage that failed.
    pub stage: Stage,
    /// What kind of failure it is (`code` in JSON).
    #[serde(rename = "code")]
    pub kind: FailureKind,
    /// The step or inspection, with sublayouts as `parent/child`.
    pub scope: Option<String>,
    /// The artifact rule as written, for rule failures.
    pub rule: Option<String>,
    /// What failed.
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// The artifacts involved, with expected and actual digests.
    pub artifacts: Vec<ArtifactIssue>,
    /// The last lines of a failing inspection's standard error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stderr: Vec<String>,
    /// The names of the failed sub-checks, where a stage has several
    /// (git provenance: `unsigned`, `signer-not-allowed`, `tree-mismatch`,
    /// ...), in the order they ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
}

impl Failure {
    /// A failure without artifacts, at the stage of its kind.
    pub fn new(
        kind: FailureKind,
        scope: Option<String>,
        message: String,
        hint: impl Into<String>,
    ) -> Self {
        Failure {
            stage: kind.stage(),
            kind,
            scope,
            rule: None,
            message,
            hint: hint.into(),
            artifacts: Vec::new(),
            stderr: Vec::new(),
            checks: Vec::new(),
        }
    }
}

/// The root layout as verified, for the audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayoutRecord {
    /// SHA-256 of the bytes the owners signed (the canonical JSON of a
    /// Metablock's `signed`, a DSSE envelope's PAE): the same whatever
    /// whitespace or container the file has.
    pub signed_sha256: String,
    /// Keyids of the owner keys whose signatures were checked.
    pub signers: Vec<String>,
    /// `expires`, when the layout has one.
    pub expires: Option<String>,
}

impl LayoutRecord {
    pub(crate) fn new(
        md: &intact_model::Metadata,
        layout: &intact_model::Layout,
        keys: &std::collections::BTreeMap<intact_model::KeyId, intact_crypto::PublicKey>,
    ) -> Self {
        use sha2::Digest as _;
        let signed_sha256 = md
            .signed_bytes()
            .map(|b| hex::encode(sha2::Sha256::digest(&b)))
            .unwrap_or_default();
        LayoutRecord {
            signed_sha256,
            signers: keys.keys().map(ToString::to_string).collect(),
            expires: layout.expires.as_ref().map(ToString::to_string),
        }
    }
}

/// A link used as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkRecord {
    /// The step it is evidence for: `step`, or `parent/step` inside a
    /// sublayout.
    pub step: String,
    /// Its file, relative to the link directory (a sublayout's links are
    /// in its subdirectory: `parent.<keyid8>/step.<keyid8>.link`).
    pub file: String,
    /// SHA-256 of the file (in the JSON report; `None` unless
    /// [`crate::VerifyOptions::audit`] was set).
    pub sha256: Option<String>,
    /// The keyid whose signature on it verified.
    pub signer: String,
}

/// The whole result of a verification run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// [`REPORT_SCHEMA`].
    pub schema: &'static str,
    /// The intact version that verified.
    pub intact_version: &'static str,
    /// When verification ran (the instant expiry was judged at), RFC 3339.
    pub verified_at: String,
    /// The root layout, when its signatures held.
    pub layout: Option<LayoutRecord>,
    /// Every link used as evidence, in layout order; a sublayout's links
    /// come before the link of the step that holds the sublayout.
    pub links: Vec<LinkRecord>,
    /// Whether the supply chain verified.
    pub verified: bool,
    /// Stages reached, in order.
    pub stages: Vec<StageResult>,
    /// Warnings that did not fail verification.
    pub warnings: Vec<Warning>,
    /// The consumer's artifacts and the chain that made each (present
    /// when `--artifact` or `--subject` was given and they were found).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<crate::SubjectMatch>,
    /// Names of keys by keyid: the key files the consumer gave and the
    /// names the (verified) layouts carry beside their keys.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub key_names: BTreeMap<String, String>,
    /// Why it failed, when it did.
    pub failure: Option<Failure>,
}

fn digests(d: &Option<DigestSet>) -> String {
    d.as_ref()
        .map_or_else(|| "(absent)".to_string(), ToString::to_string)
}

impl Report {
    /// A key as people know it: `alice (e6bd3be5)` when named, else the
    /// short keyid.
    pub fn key_label(&self, keyid: &str) -> String {
        let short = keyid.get(..8).unwrap_or(keyid);
        match self.key_names.get(keyid) {
            Some(name) => format!("{name} ({short})"),
            None => short.to_string(),
        }
    }
}

/// A subject and its chain, for people: where it came from, who signed
/// each step, what ran, and the source commit where recorded.
fn write_subject(f: &mut fmt::Formatter<'_>, r: &Report, m: &crate::SubjectMatch) -> fmt::Result {
    writeln!(f, "artifact {}", escape(&m.name))?;
    writeln!(f, "  digest:   {}", m.digest)?;
    writeln!(
        f,
        "  product:  {} of step {}",
        escape(&m.product),
        escape(&m.step)
    )?;
    for (i, c) in m.chain.iter().enumerate() {
        let label = if i == 0 { "made by " } else { "from    " };
        let signers: Vec<String> = c
            .signers
            .iter()
            .map(|k| escape(&r.key_label(k)).to_string())
            .collect();
        writeln!(
            f,
            "  {label}  {} (signed by {})",
            escape(&c.step),
            if signers.is_empty() {
                "nobody".to_string()
            } else {
                signers.join(", ")
            }
        )?;
        if !c.command.is_empty() {
            writeln!(f, "            ran: {}", escape(&c.command.join(" ")))?;
        }
        if let Some(git) = &c.git {
            let field = |k: &str| git.get(k).and_then(|v| v.as_str()).map(escape);
            if let Some(commit) = field("commit") {
                let mut line = format!("            git commit {commit}");
                if let Some(r) = field("ref") {
                    line.push_str(&format!(" on {r}"));
                }
                writeln!(f, "{line}")?;
            }
        }
    }
    Ok(())
}

/// The text form. Every string that may come from metadata (names,
/// messages quoting them) goes through [`escape`], so a name with control
/// characters is shown quoted and escaped and cannot redraw the report.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.stages {
            let mark = match s.status {
                Status::Passed => "✓",
                Status::Warning => "!",
                Status::Failed => "✗",
            };
            let message = escape(&s.message);
            match &s.scope {
                Some(scope) => {
                    let scope = escape(scope);
                    writeln!(f, "{mark} {} [{scope}]: {message}", s.stage.label())?
                }
                None => writeln!(f, "{mark} {}: {message}", s.stage.label())?,
            }
            for r in &s.rules {
                let names: Vec<String> = r.consumed.iter().map(|n| escape(n).to_string()).collect();
                let mut what = if names.is_empty() {
                    "nothing".to_string()
                } else {
                    names.join(", ")
                };
                if r.consumed_more > 0 {
                    what.push_str(&format!(" and {} more", r.consumed_more));
                }
                writeln!(f, "    {} {}: {what}", r.side, escape(&r.rule))?;
            }
        }
        for w in &self.warnings {
            let message = escape(&w.message);
            match &w.scope {
                Some(scope) => writeln!(f, "warning: {}: {message}", escape(scope))?,
                None => writeln!(f, "warning: {message}")?,
            }
        }
        if !self.subjects.is_empty() && self.failure.is_none() {
            writeln!(f)?;
            if let Some(l) = &self.layout {
                let signers: Vec<String> = l
                    .signers
                    .iter()
                    .map(|k| escape(&self.key_label(k)).to_string())
                    .collect();
                writeln!(f, "layout")?;
                writeln!(f, "  signed:   sha256:{}", l.signed_sha256)?;
                writeln!(f, "  by:       {}", signers.join(", "))?;
                if let Some(e) = &l.expires {
                    writeln!(f, "  expires:  {}", escape(e))?;
                }
            }
            for m in &self.subjects {
                write_subject(f, self, m)?;
            }
        }
        if let Some(fail) = &self.failure {
            writeln!(f)?;
            let message = escape(&fail.message);
            writeln!(f, "FAILED at {}: {message}", fail.stage.label())?;
            writeln!(f, "  code:  {}", fail.kind.code())?;
            if let Some(scope) = &fail.scope {
                writeln!(f, "  where: {}", escape(scope))?;
            }
            if let Some(rule) = &fail.rule {
                writeln!(f, "  rule:  {}", escape(rule))?;
            }
            for a in &fail.artifacts {
                let (name, note) = (escape(&a.name), escape(&a.note));
                writeln!(f, "  artifact {name}: {note}")?;
                if a.expected.is_some() || a.actual.is_some() {
                    writeln!(f, "    expected: {}", escape(&digests(&a.expected)))?;
                    writeln!(f, "    actual:   {}", escape(&digests(&a.actual)))?;
                }
            }
            if !fail.stderr.is_empty() {
                writeln!(f, "  stderr (last lines):")?;
                for line in &fail.stderr {
                    writeln!(f, "    {}", escape(line))?;
                }
            }
            writeln!(f, "  hint:  {}", escape(&fail.hint))?;
            write!(f, "verification FAILED")
        } else {
            write!(f, "verification PASSED")
        }
    }
}
