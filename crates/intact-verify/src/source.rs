//! Where links come from. The reference reads `<dir>/<step>.<keyid8>.link`
//! and, for sublayouts, the directory `<dir>/<step>.<keyid8>/`; library
//! users can serve the same names from memory or a store.

use std::collections::BTreeMap;
use std::path::PathBuf;

use intact_model::FileBytes;

/// A named collection of link files. `Sync`, because the links of all
/// steps are read and checked in parallel.
pub trait LinkSource: Sync {
    /// The bytes of `file_name`, `Ok(None)` if it does not exist.
    fn read(&self, file_name: &str) -> std::io::Result<Option<FileBytes>>;
    /// The source for a sublayout's links (`<step>.<keyid8>`).
    fn subdir(&self, name: &str) -> Box<dyn LinkSource>;
    /// How to name `file_name` in messages (a path, for files).
    fn describe(&self, file_name: &str) -> String;
}

/// Links in a directory.
#[derive(Debug, Clone)]
pub struct DirLinkSource {
    dir: PathBuf,
}

impl DirLinkSource {
    /// Links in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirLinkSource { dir: dir.into() }
    }
}

impl LinkSource for DirLinkSource {
    fn read(&self, file_name: &str) -> std::io::Result<Option<FileBytes>> {
        match FileBytes::read_path(&self.dir.join(file_name)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn subdir(&self, name: &str) -> Box<dyn LinkSource> {
        Box::new(DirLinkSource::new(self.dir.join(name)))
    }

    fn describe(&self, file_name: &str) -> String {
        self.dir.join(file_name).display().to_string()
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
    fn read(&self, file_name: &str) -> std::io::Result<Option<FileBytes>> {
        Ok(self
            .files
            .get(&format!("{}{file_name}", self.prefix))
            .map(|b| FileBytes::from(b.clone())))
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
}
