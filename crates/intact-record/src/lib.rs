//! The recorder: what a step consumed and produced, and what its command
//! printed, as an unsigned in-toto link.
//!
//! Names, normalisation, excludes and symlink handling follow the reference
//! (`in-toto-run`), so links from both tools chain under one layout; where
//! the reference is unsafe (missing paths skipped silently, symlink loops,
//! a 10-second default timeout) intact errs or waits instead. Arguments
//! `dir:PATH` and `ostree:REF` are recorded as one artifact each, by the
//! reference's resolvers ([`resolver`]).
//!
//! ```
//! use intact_record::{record_artifacts, HashOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("a.txt"), b"hello").unwrap();
//! let opts = HashOptions { base_path: Some(dir.path().into()), ..HashOptions::default() };
//! let artifacts = record_artifacts(&[".".into()], &opts).unwrap();
//! let (name, digests) = artifacts.iter().next().unwrap();
//! assert_eq!(name.as_str(), "a.txt");
//! assert_eq!(digests.get("sha256").unwrap().as_str(),
//!     "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
//! ```

mod batch;
mod digest;
mod hash;
mod matching;
mod normalize;
mod recorder;
mod report;
pub mod resolver;
mod run;
mod sha256x4;
#[cfg(target_os = "linux")]
mod uring;
mod walk;

pub use hash::{
    hash_file, record_artifacts, Algorithm, Excludes, HashError, HashOptions, DEFAULT_EXCLUDES,
};
pub use matching::{match_products, ProductMatch};
pub use normalize::normpath;
pub use recorder::{environment, record_run, record_start, record_stop, RecordError, CI_VARIABLES};
pub use report::{FileKind, RecordWarning, Reporter};
pub use resolver::{ResolveError, Resolver};
pub use run::{run_command, ProcessGroup, RunError, RunOptions, RunResult};
pub use walk::raise_open_file_limit;

#[cfg(test)]
// Tests may use std::fs.
#[allow(clippy::disallowed_methods)]
mod tests;
