//! The verification report: what was checked, in order, and for a failure
//! what failed, where, and what to do about it.
//!
//! The JSON form (`serde`) is a stable schema documented in
//! docs/verify-report.md; the text form (`Display`) is for people.

use std::fmt;

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
    /// Inspections ran and returned 0.
    Inspections,
    /// Inspection artifact rules.
    InspectionRules,
    /// Source provenance from a git commit.
    GitProvenance,
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
            Stage::Inspections => "inspections",
            Stage::InspectionRules => "inspection rules",
            Stage::GitProvenance => "git provenance",
        }
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
}

impl Failure {
    /// A failure without artifacts.
    pub fn new(
        stage: Stage,
        scope: Option<String>,
        message: String,
        hint: impl Into<String>,
    ) -> Self {
        Failure {
            stage,
            scope,
            rule: None,
            message,
            hint: hint.into(),
            artifacts: Vec::new(),
        }
    }
}

/// The whole result of a verification run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// [`REPORT_SCHEMA`].
    pub schema: &'static str,
    /// Whether the supply chain verified.
    pub verified: bool,
    /// Stages reached, in order.
    pub stages: Vec<StageResult>,
    /// Warnings that did not fail verification.
    pub warnings: Vec<Warning>,
    /// Why it failed, when it did.
    pub failure: Option<Failure>,
}

fn digests(d: &Option<DigestSet>) -> String {
    d.as_ref()
        .map_or_else(|| "(absent)".to_string(), ToString::to_string)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.stages {
            let mark = match s.status {
                Status::Passed => "✓",
                Status::Warning => "!",
                Status::Failed => "✗",
            };
            match &s.scope {
                Some(scope) => writeln!(f, "{mark} {} [{scope}]: {}", s.stage.label(), s.message)?,
                None => writeln!(f, "{mark} {}: {}", s.stage.label(), s.message)?,
            }
        }
        for w in &self.warnings {
            match &w.scope {
                Some(scope) => writeln!(f, "warning: {scope}: {}", w.message)?,
                None => writeln!(f, "warning: {}", w.message)?,
            }
        }
        if let Some(fail) = &self.failure {
            writeln!(f)?;
            writeln!(f, "FAILED at {}: {}", fail.stage.label(), fail.message)?;
            if let Some(scope) = &fail.scope {
                writeln!(f, "  where: {scope}")?;
            }
            if let Some(rule) = &fail.rule {
                writeln!(f, "  rule:  {rule}")?;
            }
            for a in &fail.artifacts {
                writeln!(f, "  artifact {}: {}", a.name, a.note)?;
                if a.expected.is_some() || a.actual.is_some() {
                    writeln!(f, "    expected: {}", digests(&a.expected))?;
                    writeln!(f, "    actual:   {}", digests(&a.actual))?;
                }
            }
            writeln!(f, "  hint:  {}", fail.hint)?;
            write!(f, "verification FAILED")
        } else {
            write!(f, "verification PASSED")
        }
    }
}
