//! File access with the two guarantees every writer in intact relies on:
//! errors name the file, and outputs appear whole or not at all.

use std::path::Path;

use crate::ModelError;

fn io_error(path: &Path, cause: std::io::Error) -> ModelError {
    ModelError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// Read a whole file; the error names it.
// std::fs: the error becomes ModelError::Io, which names the path
#[allow(clippy::disallowed_methods)]
pub fn read_file(path: &Path) -> Result<Vec<u8>, ModelError> {
    std::fs::read(path).map_err(|e| io_error(path, e))
}

/// Write `bytes` to `path` via a temporary file in the same directory and
/// an atomic rename. `mode` sets the Unix permissions (0o600 for secrets).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ModelError> {
    write_atomic_parts(path, &[bytes], mode)
}

/// [`write_atomic`] of the concatenation of `parts`, without building it.
pub fn write_atomic_parts(path: &Path, parts: &[&[u8]], mode: u32) -> Result<(), ModelError> {
    let file = AtomicFile::create(path, mode)?;
    let mut offset = 0u64;
    for bytes in parts {
        file.write_at(offset, bytes)?;
        offset += bytes.len() as u64;
    }
    file.commit()
}

/// A file that appears at its path whole or not at all: written as a
/// temporary file in the same directory, then flushed to disk and renamed
/// over the path by [`AtomicFile::commit`]. Dropped without a commit, the
/// temporary file is removed. Writes take a position and `&self`, so two
/// threads can fill different parts (a link's head and its body).
#[derive(Debug)]
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
    mode: u32,
}

impl AtomicFile {
    /// Start writing what will be `path`, with Unix permissions `mode`.
    pub fn create(path: &Path, mode: u32) -> Result<Self, ModelError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".intact-tmp-")
            .tempfile_in(dir)
            .map_err(|e| io_error(path, e))?;
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
            mode,
        })
    }

    /// Write `bytes` at `offset`.
    pub fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), ModelError> {
        #[cfg(unix)]
        let written = std::os::unix::fs::FileExt::write_all_at(self.tmp.as_file(), bytes, offset);
        #[cfg(not(unix))]
        let written = {
            use std::io::{Seek, SeekFrom, Write};
            let mut f = self.tmp.as_file();
            f.seek(SeekFrom::Start(offset))
                .and_then(|_| f.write_all(bytes))
        };
        written.map_err(|e| io_error(&self.path, e))
    }

    /// Cut or extend the file to `len` bytes.
    pub fn set_len(&self, len: u64) -> Result<(), ModelError> {
        self.tmp
            .as_file()
            .set_len(len)
            .map_err(|e| io_error(&self.path, e))
    }

    /// Flush what was written so far to disk: a writer that finishes its
    /// part early can take this wait off [`AtomicFile::commit`].
    pub fn sync_data(&self) -> Result<(), ModelError> {
        self.tmp
            .as_file()
            .sync_data()
            .map_err(|e| io_error(&self.path, e))
    }

    /// Flush to disk, set the permissions and rename over the path.
    pub fn commit(self) -> Result<(), ModelError> {
        let path = self.path;
        self.tmp
            .as_file()
            .sync_all()
            .map_err(|e| io_error(&path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // the error becomes ModelError::Io, which names the path
            #[allow(clippy::disallowed_methods)]
            std::fs::set_permissions(self.tmp.path(), std::fs::Permissions::from_mode(self.mode))
                .map_err(|e| io_error(&path, e))?;
        }
        #[cfg(not(unix))]
        let _ = self.mode;
        self.tmp
            .persist(&path)
            .map_err(|e| io_error(&path, e.error))?;
        Ok(())
    }
}

#[cfg(test)]
// tests may use std::fs
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_file_with_mode_and_names_missing_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.link");
        write_atomic(&p, b"abc", 0o600).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"abc");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
        let missing = dir.path().join("nope/out.link");
        let err = write_atomic(&missing, b"x", 0o644).unwrap_err().to_string();
        assert!(err.contains("nope/out.link"), "{err}");
    }
}
