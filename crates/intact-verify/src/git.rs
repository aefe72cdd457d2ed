//! The git provenance inspection, checked natively.
//!
//! A layout carries its git policy as an inspection running
//! `intact git verify-source ...` (see `intact_model::git`), so that the
//! reference runs it as a command. intact recognises that command and runs
//! the same check in-process against the verified links of the source
//! step, reporting each check as a stage line.

use std::collections::BTreeMap;

use intact_git::{verify_source, Failure as GitFailure, SourceOptions, TreeDifference};
use intact_model::{Digest, DigestSet, GitPolicy, Inspection, Link, StepName};
use serde_json::Value;

use crate::report::{ArtifactIssue, ArtifactProblem, Failure, FailureKind, Stage};
use crate::signatures::Verified;
use crate::workflow::{fail, Ctx, Flow, Scope};

pub(crate) fn run(
    ctx: &mut Ctx<'_>,
    insp: &Inspection,
    policy: Result<GitPolicy, intact_model::ModelError>,
    steps: &Verified<BTreeMap<StepName, Link>>,
    scope: &Scope,
) -> Flow<(Link, GitPolicy, Option<intact_git::Signer>)> {
    let here = scope.of(insp.name.as_str());
    let policy = policy.map_err(|e| {
        fail(
            FailureKind::GitPolicyMalformed,
            here.clone(),
            format!("the layout's git policy is malformed: {e}"),
            "rebuild the layout from its YAML with `intact layout build`",
        )
    })?;
    let Some(repo) = ctx.opts.git_repo.clone() else {
        return Err(fail(
            FailureKind::GitRepoMissing,
            here,
            format!(
                "the layout requires git provenance for step {}, and no repository was given",
                policy.step
            ),
            "pass --git-repo DIR with a clone of the project's repository",
        )
        .into());
    };
    let links: Vec<&Link> = steps.get(&policy.step).into_iter().collect();
    let opts = SourceOptions {
        gpg: ctx.opts.gpg.clone(),
    };
    let report = verify_source(&repo, &policy, &links, &opts).map_err(|e| {
        fail(
            FailureKind::GitPolicyUnusable,
            here.clone(),
            format!("the layout's git policy cannot be applied: {e}"),
            "fix the git section of the layout and re-sign it",
        )
    })?;
    let failures: Vec<&GitFailure> = report.failures().collect();
    if let Some(first) = failures.first() {
        let mut f = Failure::new(
            FailureKind::GitProvenance,
            here,
            failures
                .iter()
                .map(|f| summary(f))
                .collect::<Vec<_>>()
                .join("; "),
            first.hint(),
        );
        f.artifacts = failures.iter().flat_map(|f| issues(f)).collect();
        f.checks = failures.iter().map(|f| f.name().to_string()).collect();
        return Err(Box::new(f).into());
    }
    for c in &report.checks {
        if let Ok(what) = &c.outcome {
            ctx.pass(
                Stage::GitProvenance,
                here.clone(),
                format!("{}: {what}", c.check.label()),
            );
        }
    }
    let mut link = Link::new(insp.name.clone());
    link.command = insp.run.clone();
    link.byproducts
        .insert("return-value".into(), Value::from(0));
    link.byproducts
        .insert("stdout".into(), Value::String(String::new()));
    link.byproducts
        .insert("stderr".into(), Value::String(String::new()));
    Ok((link, policy, report.commit_signer))
}

/// One line per failure; a tree mismatch lists its paths as artifacts.
fn summary(f: &GitFailure) -> String {
    match f {
        GitFailure::TreeMismatch { differences, .. } => format!(
            "tree mismatch: {} path(s) differ between the commit and the files the source step recorded",
            differences.len()
        ),
        other => other.to_string(),
    }
}

fn sha(hex: &str) -> Option<DigestSet> {
    Digest::new(hex)
        .ok()
        .map(|d| DigestSet::single("sha256", d))
}

fn issues(f: &GitFailure) -> Vec<ArtifactIssue> {
    let GitFailure::TreeMismatch { differences, .. } = f else {
        return Vec::new();
    };
    differences
        .iter()
        .map(|d| {
            let (name, problem, expected, actual) = match d {
                TreeDifference::NotRecorded { path } => {
                    (path, ArtifactProblem::Missing, None, None)
                }
                TreeDifference::NotInCommit { path } => {
                    (path, ArtifactProblem::Unexpected, None, None)
                }
                TreeDifference::ContentDiffers {
                    path,
                    commit_sha256,
                    recorded_sha256,
                } => (
                    path,
                    ArtifactProblem::DigestMismatch,
                    sha(commit_sha256),
                    sha(recorded_sha256),
                ),
                TreeDifference::UnresolvedSymlink { path } => {
                    (path, ArtifactProblem::NotInSource, None, None)
                }
            };
            let note = d.to_string();
            let note = note
                .split_once(": ")
                .map_or(note.clone(), |(_, n)| n.to_string());
            let note = note
                .split(" (commit")
                .next()
                .unwrap_or_default()
                .to_string();
            ArtifactIssue {
                name: name.clone(),
                problem,
                expected,
                actual,
                note,
            }
        })
        .collect()
}
