//! Where links come from. The reference reads `<dir>/<step>.<keyid8>.link`
//! and, for sublayouts, the directory `<dir>/<step>.<keyid8>/`; library
//! users can serve the same names from memory or a store.

use std::collections::BTreeMap;
use std::path::PathBuf;

use intact_model::io::{read_limited, ReadError};
use intact_model::FileBytes;

use crate::VerifyError;

/// A named collection of link files. `Sync`, because the links of all
/// steps are read and checked in parallel.
pub trait LinkSource: Sync {
    /// The bytes of `file_name`, `Ok(None)` if it does not exist. Anything
    /// but a regular file of at most `max_size` bytes is refused
    /// ([`ReadError::NotRegular`], [`ReadError::TooLarge`]).
    fn read(&self, file_name: &str, max_size: u64) -> Result<Option<FileBytes>, ReadError>;
    /// The source for a sublayout's links (`<step>.<keyid8>`).
    fn subdir(&self, name: &str) -> Box<dyn LinkSource>;
    /// How to name `file_name` in messages (a path, for files).
    fn describe(&self, file_name: &str) -> String;
    /// Names of the files in this source (not in subdirectories), for
    /// explaining a missing link; empty where listing is not possible.
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Files listed per directory at most, so explaining a missing link
/// never walks a directory of millions.
const MAX_LISTED: usize = 10_000;

/// Links in a directory.
#[derive(Debug, Clone)]
pub struct DirLinkSource {
    dir: PathBuf,
}

impl DirLinkSource {
    /// Links in `dir`, which need not exist (its links are then missing).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirLinkSource { dir: dir.into() }
    }

    /// Links in `dir`, which must be a directory: a mistyped `--link-dir`
    /// is an error naming it, not a report of missing links.
    // std::fs: the error becomes VerifyError::LinkDir, which names the directory.
    #[allow(clippy::disallowed_methods)]
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, VerifyError> {
        let dir = dir.into();
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => Ok(DirLinkSource { dir }),
            Ok(_) => Err(VerifyError::LinkDir {
                dir,
                cause: std::io::Error::other("not a directory"),
            }),
            Err(cause) => Err(VerifyError::LinkDir { dir, cause }),
        }
    }
}

impl LinkSource for DirLinkSource {
    fn read(&self, file_name: &str, max_size: u64) -> Result<Option<FileBytes>, ReadError> {
        match read_limited(&self.dir.join(file_name), max_size) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn subdir(&self, name: &str) -> Box<dyn LinkSource> {
        Box::new(DirLinkSource::new(self.dir.join(name)))
    }

    fn describe(&self, file_name: &str) -> String {
        self.dir.join(file_name).display().to_string()
    }

    // std::fs: a listing is only used to explain; an error lists nothing.
    #[allow(clippy::disallowed_methods)]
    fn names(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .take(MAX_LISTED)
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        names
    }
}

/// Links held in memory, keyed by relative path (`sub/step.abcd1234.link`).
#[derive(Debug, Clone, Default)]
pub struct MemoryLinkSource {
    prefix: String,
    files: std::sync::Arc<BTreeMap<String, Vec<u8>>>,
}

impl MemoryLinkSource {
    /// A source serving `files`.
    pub fn new(files: BTreeMap<String, Vec<u8>>) -> Self {
        MemoryLinkSource {
            prefix: String::new(),
            files: std::sync::Arc::new(files),
        }
    }
}

impl LinkSource for MemoryLinkSource {
    fn read(&self, file_name: &str, max_size: u64) -> Result<Option<FileBytes>, ReadError> {
        let Some(b) = self.files.get(&format!("{}{file_name}", self.prefix)) else {
            return Ok(None);
        };
        let size = b.len() as u64;
        if size > max_size {
            return Err(ReadError::TooLarge {
                path: self.describe(file_name).into(),
                size: Some(size),
                cap: max_size,
            });
        }
        Ok(Some(FileBytes::from(b.clone())))
    }

    fn subdir(&self, name: &str) -> Box<dyn LinkSource> {
        Box::new(MemoryLinkSource {
            prefix: format!("{}{name}/", self.prefix),
            files: self.files.clone(),
        })
    }

    fn describe(&self, file_name: &str) -> String {
        format!("{}{file_name}", self.prefix)
    }

    fn names(&self) -> Vec<String> {
        self.files
            .keys()
            .filter_map(|k| k.strip_prefix(&self.prefix))
            .filter(|k| !k.contains('/'))
            .take(MAX_LISTED)
            .map(str::to_string)
            .collect()
    }
}
