//! Errors that make a git check impossible to run (unusable input), as
//! opposed to [`crate::Failure`]s, which are verdicts.

use std::path::PathBuf;

/// Why git facts could not be recorded or a policy could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    /// The work tree has changes that are not in the commit, and a clean
    /// one was required (`--require-clean`). Raised before the step's
    /// command runs whenever the work tree exists by then.
    #[error(
        "{workdir}: the git work tree differs from its commit ({paths}) and a clean \
         tree is required (--require-clean); nothing was run. Remove or ignore \
         (.gitignore) these files, or record without --require-clean (the link then \
         says dirty: true and lists them)"
    )]
    Dirty {
        /// The work tree.
        workdir: PathBuf,
        /// The first changed paths, comma-separated.
        paths: String,
    },
    /// libgit2 failed on something it should have been able to read.
    #[cfg(feature = "repository")]
    #[error("{path}: {what}: {cause}")]
    Git {
        /// The repository or path involved.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// libgit2's message.
        cause: git2::Error,
    },
    /// The policy is malformed (an allowed signer that does not parse).
    #[error("git policy: {0}")]
    Policy(String),
    /// The repository's facts cannot be recorded (a bare repository, a
    /// path that does not resolve, a commit id the model refuses).
    #[error("recording git facts: {0}")]
    Facts(String),
    /// The exclude patterns do not compile.
    #[cfg(feature = "repository")]
    #[error(transparent)]
    Excludes(#[from] intact_record::HashError),
}

#[cfg(feature = "repository")]
impl GitError {
    pub(crate) fn git(path: impl Into<PathBuf>, what: &'static str, cause: git2::Error) -> Self {
        GitError::Git {
            path: path.into(),
            what,
            cause,
        }
    }
}
