//! The named ways git provenance fails, each with what to do about it.

use std::fmt;

use serde::Serialize;

/// One way the recorded source differs from the commit's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TreeDifference {
    /// In the commit, not among the recorded files.
    NotRecorded {
        /// Tree path.
        path: String,
    },
    /// Recorded, not in the commit.
    NotInCommit {
        /// Tree path.
        path: String,
    },
    /// In both, with different content.
    ContentDiffers {
        /// Tree path.
        path: String,
        /// sha256 of the blob in the commit.
        commit_sha256: String,
        /// sha256 the step recorded (empty when it recorded none).
        recorded_sha256: String,
    },
    /// A symbolic link in the commit that does not resolve to a file of
    /// the commit, so its recorded content cannot be predicted.
    UnresolvedSymlink {
        /// Tree path.
        path: String,
    },
}

impl fmt::Display for TreeDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TreeDifference::NotRecorded { path } => write!(f, "{path}: in the commit, not recorded"),
            TreeDifference::NotInCommit { path } => write!(f, "{path}: recorded, not in the commit"),
            TreeDifference::ContentDiffers {
                path,
                commit_sha256,
                recorded_sha256,
            } => write!(
                f,
                "{path}: content differs (commit sha256:{commit_sha256}, recorded sha256:{recorded_sha256})"
            ),
            TreeDifference::UnresolvedSymlink { path } => {
                write!(f, "{path}: symbolic link that does not resolve to a file of the commit")
            }
        }
    }
}

/// Why a git provenance check failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "failure", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Failure {
    /// The repository to check against does not exist or does not open.
    RepositoryNotFound {
        /// The path given.
        path: String,
        /// libgit2's reason.
        reason: String,
    },
    /// The source step's link names no commit.
    NoCommitRecorded {
        /// The step.
        step: String,
        /// What is missing or inconsistent.
        reason: String,
    },
    /// The policy requires a clean work tree and the source step recorded
    /// a dirty one.
    DirtyTree {
        /// The step.
        step: String,
        /// The changed paths its links list.
        changed: Vec<String>,
    },
    /// The links of the source step name different commits.
    LinksDisagree {
        /// The step.
        step: String,
        /// The commits named.
        commits: Vec<String>,
    },
    /// The commit is not in the repository.
    CommitNotFound {
        /// The commit id.
        commit: String,
    },
    /// The commit is not in the repository, which is a shallow clone.
    ShallowCloneMissingCommit {
        /// The commit id.
        commit: String,
    },
    /// The recorded files are not the commit's tree.
    TreeMismatch {
        /// The commit id.
        commit: String,
        /// Every difference, in path order.
        differences: Vec<TreeDifference>,
    },
    /// The commit or tag carries no signature.
    Unsigned {
        /// `commit` or `tag <name>`.
        object: String,
        /// Its id.
        id: String,
    },
    /// The signature is GPG and no GPG verifier was configured: reported,
    /// never accepted unchecked.
    GpgNotVerified {
        /// `commit` or `tag <name>`.
        object: String,
        /// Its id.
        id: String,
    },
    /// The signature does not verify (or is of a kind intact cannot check).
    BadSignature {
        /// `commit` or `tag <name>`.
        object: String,
        /// Its id.
        id: String,
        /// Why.
        reason: String,
    },
    /// A valid signature by a key the policy does not allow.
    SignerNotAllowed {
        /// `commit` or `tag <name>`.
        object: String,
        /// Its id.
        id: String,
        /// The signing key's fingerprint.
        key: String,
    },
    /// The protected ref does not exist in the repository.
    RefNotFound {
        /// The ref.
        reference: String,
    },
    /// The commit is not reachable from the protected ref.
    NotOnProtectedRef {
        /// The commit id.
        commit: String,
        /// The ref.
        reference: String,
    },
    /// Reachability cannot be proven: the shallow clone cuts the history.
    ShallowHistory {
        /// The commit id.
        commit: String,
        /// The ref.
        reference: String,
    },
    /// No tag matching the release pattern points at the commit.
    NoReleaseTag {
        /// The pattern.
        pattern: String,
        /// The commit id.
        commit: String,
    },
}

impl Failure {
    /// The stable name of the failure (its JSON tag).
    pub fn name(&self) -> &'static str {
        match self {
            Failure::RepositoryNotFound { .. } => "repository-not-found",
            Failure::NoCommitRecorded { .. } => "no-commit-recorded",
            Failure::DirtyTree { .. } => "dirty-tree",
            Failure::LinksDisagree { .. } => "links-disagree",
            Failure::CommitNotFound { .. } => "commit-not-found",
            Failure::ShallowCloneMissingCommit { .. } => "shallow-clone-missing-commit",
            Failure::TreeMismatch { .. } => "tree-mismatch",
            Failure::Unsigned { .. } => "unsigned",
            Failure::GpgNotVerified { .. } => "gpg-not-verified",
            Failure::BadSignature { .. } => "bad-signature",
            Failure::SignerNotAllowed { .. } => "signer-not-allowed",
            Failure::RefNotFound { .. } => "ref-not-found",
            Failure::NotOnProtectedRef { .. } => "not-on-protected-ref",
            Failure::ShallowHistory { .. } => "shallow-history",
            Failure::NoReleaseTag { .. } => "no-release-tag",
        }
    }

    /// What to do about it, in one line.
    pub fn hint(&self) -> String {
        match self {
            Failure::RepositoryNotFound { .. } => {
                "pass --git-repo with a clone of the project's repository".into()
            }
            Failure::NoCommitRecorded { step, .. } => format!(
                "record step {step} inside the git work tree (or with --git DIR), without --no-git"
            ),
            Failure::DirtyTree { step, .. } => format!(
                "record step {step} from a work tree without changes (intact run --require-clean refuses a dirty one)"
            ),
            Failure::LinksDisagree { step, .. } => {
                format!("the functionaries of step {step} must record the same commit")
            }
            Failure::CommitNotFound { .. } => {
                "fetch the commit into the repository given to --git-repo (git fetch origin)".into()
            }
            Failure::ShallowCloneMissingCommit { .. } | Failure::ShallowHistory { .. } => {
                "the repository is a shallow clone: run git fetch --unshallow".into()
            }
            Failure::TreeMismatch { .. } => {
                "the source step did not record exactly the commit's files: record a clean checkout of the commit".into()
            }
            Failure::Unsigned { object, .. } => format!(
                "sign the {object} (git -c gpg.format=ssh commit -S / tag -s) with an allowed key"
            ),
            Failure::GpgNotVerified { .. } => {
                "configure a GPG verifier (--gpg-home) and allowed fingerprints, or sign with an SSH key".into()
            }
            Failure::BadSignature { .. } => {
                "the signature does not cover this content: the object was altered or signed with another key".into()
            }
            Failure::SignerNotAllowed { .. } => {
                "add the key to the layout's git signers and re-sign the layout, or re-sign with an allowed key".into()
            }
            Failure::RefNotFound { reference } => {
                format!("fetch {reference} into the repository given to --git-repo")
            }
            Failure::NotOnProtectedRef { reference, .. } => {
                format!("release only commits merged into {reference}")
            }
            Failure::NoReleaseTag { pattern, .. } => {
                format!("tag the commit with a signed tag matching {pattern} (git tag -s)")
            }
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::RepositoryNotFound { path, reason } => {
                write!(f, "repository not found: {path}: {reason}")
            }
            Failure::NoCommitRecorded { step, reason } => {
                write!(f, "step {step} recorded no git commit: {reason}")
            }
            Failure::DirtyTree { step, changed } => {
                write!(f, "step {step} recorded a dirty work tree")?;
                if !changed.is_empty() {
                    write!(f, " (changed: {})", changed.join(", "))?;
                }
                Ok(())
            }
            Failure::LinksDisagree { step, commits } => write!(
                f,
                "the links of step {step} name different commits: {}",
                commits.join(", ")
            ),
            Failure::CommitNotFound { commit } => {
                write!(f, "commit {commit} is not in the repository")
            }
            Failure::ShallowCloneMissingCommit { commit } => write!(
                f,
                "commit {commit} is not in the repository, which is a shallow clone"
            ),
            Failure::TreeMismatch {
                commit,
                differences,
            } => {
                write!(
                    f,
                    "tree mismatch: {} path(s) differ between commit {} and the recorded files",
                    differences.len(),
                    short(commit)
                )?;
                for d in differences {
                    write!(f, "\n    {d}")?;
                }
                Ok(())
            }
            Failure::Unsigned { object, id } => write!(f, "unsigned {object} {}", short(id)),
            Failure::GpgNotVerified { object, id } => write!(
                f,
                "{object} {} is GPG-signed and no GPG verifier is configured",
                short(id)
            ),
            Failure::BadSignature { object, id, reason } => {
                write!(f, "bad signature on {object} {}: {reason}", short(id))
            }
            Failure::SignerNotAllowed { object, id, key } => write!(
                f,
                "{object} {} is signed by {key}, which is not an allowed signer",
                short(id)
            ),
            Failure::RefNotFound { reference } => {
                write!(f, "protected ref {reference} not found in the repository")
            }
            Failure::NotOnProtectedRef { commit, reference } => write!(
                f,
                "commit {} is not reachable from the protected ref {reference}",
                short(commit)
            ),
            Failure::ShallowHistory { commit, reference } => write!(
                f,
                "cannot tell whether commit {} is on {reference}: the shallow clone cuts the history",
                short(commit)
            ),
            Failure::NoReleaseTag { pattern, commit } => write!(
                f,
                "no tag matching {pattern} points at commit {}",
                short(commit)
            ),
        }
    }
}
