//! Git commit provenance: a supply chain is only as good as its first step.
//!
//! Two halves, one per side of the chain:
//!
//! - **Recording** ([`capture`], [`GitFacts::attach`]): when a step's paths
//!   lie in a git work tree, the link gets the commit, tree, ref, public
//!   remote, dirty flag and changed paths under `environment.git`: signed,
//!   opaque to artifact rules, so any layout (a classic one ending in
//!   `DISALLOW *` too) holds as it would without git, under intact and
//!   `in-toto-verify` alike. Links of earlier versions, which also had a
//!   `git+<remote>@<ref>` material with a `gitCommit` digest, still read.
//! - **Verification** ([`verify_source`]): the commit a source step
//!   recorded exists, its tree equals the files the step recorded, it is
//!   signed by an allowed key (OpenSSH `sshsig`; GPG only through a
//!   configured verifier) and reachable from the protected ref, and a
//!   release tag, when required, is signed too. Every failure is a named
//!   [`Failure`] with a hint.
//!
//! Repository access is libgit2 (`git2`); nothing here runs `git`.
//!
//! ```no_run
//! use intact_git::{verify_source, SourceOptions};
//! use intact_model::{GitPolicy, Link, StepName};
//! # fn links() -> Vec<Link> { Vec::new() }
//! let mut policy = GitPolicy::new(StepName::new("clone").unwrap());
//! policy.protected_ref = Some("refs/heads/main".into());
//! policy.signers = vec!["alice@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA...".into()];
//! let links = links();
//! let report = verify_source("checkout".as_ref(), &policy, &links.iter().collect::<Vec<_>>(),
//!                            &SourceOptions::default()).unwrap();
//! for check in &report.checks {
//!     println!("{check}");
//! }
//! ```

mod error;
#[cfg(feature = "repository")]
mod facts;
mod failure;
mod gpg;
mod signature;
#[cfg(feature = "repository")]
mod source;
#[cfg(feature = "repository")]
mod tree;

pub use error::GitError;
#[cfg(feature = "repository")]
pub use facts::{capture, work_tree_of, CaptureOptions, GitFacts, RecordedGit};
pub use failure::{Failure, TreeDifference};
pub use gpg::GpgVerifier;
pub use signature::{AllowedSigners, Signer};
#[cfg(feature = "repository")]
pub use source::{verify_source, Check, CheckResult, SourceOptions, SourceReport};

/// The signature checks [`verify_source`] makes, callable without a
/// repository, for the fuzz targets in `fuzz/`. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::signature::{check as check_signature, split_tag};
}

#[cfg(test)]
// Tests may use std::fs.
#[allow(clippy::disallowed_methods)]
mod tests;
