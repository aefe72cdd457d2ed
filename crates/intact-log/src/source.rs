//! Where a log is read from: its directory, or any static HTTP server
//! that serves that directory.

use std::path::{Path, PathBuf};

use crate::LogError;

/// The most bytes one log file can have: an entry bundle of 256 entries
/// of 65,535 bytes each, with their length prefixes.
pub const MAX_FILE: u64 = 256 * (2 + 65_535);

/// Read access to a published log: `read("checkpoint")`,
/// `read("tile/0/000")`, ...
pub trait Source {
    /// The file `rel` (a `/`-separated path under the log's root), or
    /// `None` when it does not exist.
    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, LogError>;

    /// How to name `rel` in messages (the file path or URL).
    fn name(&self, rel: &str) -> String;
}

/// A log in a local directory.
#[derive(Debug, Clone)]
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    /// The log at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirSource { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The local path of `rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

impl Source for DirSource {
    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, LogError> {
        match intact_model::io::read_limited(&self.path(rel), MAX_FILE) {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn name(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }
}
