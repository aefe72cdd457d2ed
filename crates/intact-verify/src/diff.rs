//! Explaining disagreements between links in terms of artifacts.

use intact_model::{Artifacts, Link};

use crate::report::{ArtifactIssue, ArtifactProblem, Failure, FailureKind};

/// Differences between two artifact maps, as report entries.
pub(crate) fn artifact_diff(
    side: &str,
    a: &Artifacts,
    b: &Artifacts,
    a_file: &str,
    b_file: &str,
) -> Vec<ArtifactIssue> {
    let mut out = Vec::new();
    for (name, da) in a {
        match b.get(name) {
            Some(db) if db == da => {}
            Some(db) => out.push(ArtifactIssue {
                name: name.to_string(),
                problem: ArtifactProblem::DigestMismatch,
                expected: Some(da.clone()),
                actual: Some(db.clone()),
                note: format!("{side} differ between {a_file} and {b_file}"),
            }),
            None => out.push(ArtifactIssue {
                name: name.to_string(),
                problem: ArtifactProblem::Missing,
                expected: Some(da.clone()),
                actual: None,
                note: format!("in the {side} of {a_file} only"),
            }),
        }
    }
    for (name, db) in b {
        if !a.contains_key(name) {
            out.push(ArtifactIssue {
                name: name.to_string(),
                problem: ArtifactProblem::Unexpected,
                expected: None,
                actual: Some(db.clone()),
                note: format!("in the {side} of {b_file} only"),
            });
        }
    }
    out
}

/// The failure for a threshold step whose functionaries disagree.
pub(crate) fn disagreement(
    scope: Option<String>,
    a_file: &str,
    a: &Link,
    b_file: &str,
    b: &Link,
) -> Box<Failure> {
    let mut f = Failure::new(
        FailureKind::ThresholdDisagreement,
        scope,
        format!("{a_file} and {b_file} recorded different artifacts"),
        "functionaries of a threshold step must observe identical materials and products; \
         find out which build differs before trusting either",
    );
    f.artifacts = artifact_diff("materials", &a.materials, &b.materials, a_file, b_file);
    f.artifacts.extend(artifact_diff(
        "products",
        &a.products,
        &b.products,
        a_file,
        b_file,
    ));
    Box::new(f)
}
