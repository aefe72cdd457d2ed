//! File access with the guarantees intact relies on: errors name the
//! file, outputs appear whole or not at all, and inputs are regular files
//! of bounded size ([`read_limited`]).

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::{FileBytes, ModelError};

/// The size cap on a metadata file (link, layout) or key file unless the
/// caller sets another: 512 MiB.
pub const DEFAULT_MAX_METADATA_SIZE: u64 = 512 << 20;

/// Why [`read_limited`] refused or failed to read a file. Every variant
/// names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The path is (or a symlink leads to) a FIFO, a device, a socket or
    /// a directory: reading it could block forever or never end.
    #[error("{}: not a regular file (a {what}); refusing to read it", path.display())]
    NotRegular {
        /// The path as given.
        path: PathBuf,
        /// What it is instead.
        what: &'static str,
    },
    /// The file is larger than the cap.
    #[error(
        "{}: larger than the limit of {cap} bytes{}; refusing to read it",
        path.display(),
        size.map(|s| format!(" ({s} bytes)")).unwrap_or_default()
    )]
    TooLarge {
        /// The path as given.
        path: PathBuf,
        /// Its size when known (a file that grew while read has none).
        size: Option<u64>,
        /// The cap.
        cap: u64,
    },
    /// Opening or reading failed.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The path as given.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
}

impl ReadError {
    /// The file involved.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::NotRegular { path, .. }
            | ReadError::TooLarge { path, .. }
            | ReadError::Io { path, .. } => path,
        }
    }

    /// Whether the file does not exist (an `Io` error of kind `NotFound`).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { cause, .. } if cause.kind() == std::io::ErrorKind::NotFound)
    }
}

fn kind_of(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "FIFO";
        }
        if ft.is_char_device() {
            return "character device";
        }
        if ft.is_block_device() {
            return "block device";
        }
        if ft.is_socket() {
            return "socket";
        }
    }
    if ft.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

/// Open `path` for reading without blocking on a FIFO (`O_NONBLOCK`;
/// regular files ignore it).
// std::fs: the callers turn the error into ReadError::Io, which names the path.
#[allow(clippy::disallowed_methods)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    opts.open(path)
}

/// Read the whole file at `path`, following symlinks, if it is a regular
/// file of at most `cap` bytes; anything else is refused with an error
/// naming the path. The file is opened without blocking and checked by
/// the metadata of the opened file (not of the path, which could change
/// between check and open), and no more than `cap + 1` bytes are ever
/// read, so a FIFO, `/dev/zero` or a file that keeps growing costs
/// neither a hang nor unbounded memory. Big files are read into
/// huge-page-backed memory ([`FileBytes`]).
pub fn read_limited(path: &Path, cap: u64) -> Result<FileBytes, ReadError> {
    let io = |cause| ReadError::Io {
        path: path.to_path_buf(),
        cause,
    };
    let mut file = open_nonblocking(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            what: kind_of(meta.file_type()),
        });
    }
    let too_large = |size| ReadError::TooLarge {
        path: path.to_path_buf(),
        size,
        cap,
    };
    if meta.len() > cap {
        return Err(too_large(Some(meta.len())));
    }
    let bytes =
        FileBytes::read_at_most(&mut file, meta.len(), cap.saturating_add(1)).map_err(io)?;
    if bytes.len() as u64 > cap {
        return Err(too_large(None));
    }
    Ok(bytes)
}

/// [`read_limited`] of a text file.
pub fn read_limited_string(path: &Path, cap: u64) -> Result<String, ReadError> {
    let bytes = read_limited(path, cap)?;
    String::from_utf8(bytes.to_vec()).map_err(|e| ReadError::Io {
        path: path.to_path_buf(),
        cause: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
    })
}

fn io_error(path: &Path, cause: std::io::Error) -> ModelError {
    ModelError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// Read a whole regular file of at most [`DEFAULT_MAX_METADATA_SIZE`]
/// bytes ([`read_limited`]); the error names it.
pub fn read_file(path: &Path) -> Result<Vec<u8>, ModelError> {
    Ok(read_limited(path, DEFAULT_MAX_METADATA_SIZE)?.to_vec())
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

    /// Flush everything written so far to disk, the file's metadata too:
    /// a writer on another thread can take the whole wait off
    /// [`AtomicFile::commit`] (whose own flush then finds nothing to do).
    pub fn sync_all(&self) -> Result<(), ModelError> {
        self.tmp
            .as_file()
            .sync_all()
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

    /// Run `f` on a thread and fail (instead of hanging) if it takes
    /// more than a minute: the files under test could block a reader.
    fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(std::time::Duration::from_secs(60))
            .expect("the read returned")
    }

    #[cfg(unix)]
    #[test]
    fn fifos_devices_and_directories_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("build.abcd1234.link");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let zero = dir.path().join("zero.link");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let d = dir.path().to_path_buf();
        for path in [fifo, zero, d] {
            let err = bounded({
                let path = path.clone();
                move || read_limited(&path, DEFAULT_MAX_METADATA_SIZE).unwrap_err()
            });
            assert!(matches!(err, ReadError::NotRegular { .. }), "{err}");
            assert_eq!(err.path(), path);
        }
    }

    #[test]
    fn files_over_the_cap_are_refused_and_at_the_cap_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.link");
        std::fs::write(&p, vec![b'x'; 100]).unwrap();
        assert_eq!(read_limited(&p, 100).unwrap().len(), 100);
        let err = read_limited(&p, 99).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::TooLarge {
                    size: Some(100),
                    cap: 99,
                    ..
                }
            ),
            "{err}"
        );
        let missing = read_limited(&dir.path().join("nope"), 99).unwrap_err();
        assert!(missing.is_not_found());
        assert!(matches!(
            read_file(&p),
            Ok(v) if v.len() == 100
        ));
    }

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
