//! What recording tells its caller while it runs: progress and warnings,
//! through a [`Reporter`] the caller gives in
//! [`HashOptions::reporter`](crate::HashOptions::reporter).
//!
//! The library never draws on a terminal; a program decides whether and
//! how to show either (`intact` draws a spinner on a terminal and prints
//! warnings to standard error). Without a reporter nothing is reported,
//! and the hashing pays nothing for it.

use std::fmt;

/// Receives progress and warnings while artifacts are recorded. Every
/// method has an empty default; implement only what you show. Methods are
/// called from the walking threads, concurrently.
pub trait Reporter: Send + Sync {
    /// `n` more files were hashed.
    fn files_hashed(&self, n: u64) {
        let _ = n;
    }

    /// Something was recorded differently from what the arguments named.
    fn warning(&self, warning: &RecordWarning) {
        let _ = warning;
    }

    /// One call of [`record_artifacts`](crate::record_artifacts) ended
    /// (materials and products are two).
    fn finished(&self) {}
}

/// What a warning is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordWarning {
    /// A path that is neither a regular file nor a directory (after
    /// following symbolic links) was not recorded, as the reference does
    /// not record it. It was never opened, or opened without waiting and
    /// let go.
    Skipped {
        /// The path, as met (the argument under the base path, or the
        /// walked directory joined with the entry's name).
        path: String,
        /// What it is.
        kind: FileKind,
    },
}

impl fmt::Display for RecordWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordWarning::Skipped { path, kind } => {
                write!(f, "{path}: not recorded: {kind}, not a regular file")
            }
        }
    }
}

/// Kinds of file recording skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A named pipe.
    Fifo,
    /// A Unix domain socket.
    Socket,
    /// A character device (`/dev/zero`, a terminal).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// Anything else the system reports.
    Other,
}

impl FileKind {
    /// The kind of a file of type `t`; `None` for regular files and
    /// directories, which are recorded.
    pub(crate) fn of(t: rustix::fs::FileType) -> Option<FileKind> {
        use rustix::fs::FileType;
        match t {
            FileType::RegularFile | FileType::Directory => None,
            FileType::Fifo => Some(FileKind::Fifo),
            FileType::Socket => Some(FileKind::Socket),
            FileType::CharacterDevice => Some(FileKind::CharDevice),
            FileType::BlockDevice => Some(FileKind::BlockDevice),
            _ => Some(FileKind::Other),
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Fifo => "a named pipe (FIFO)",
            FileKind::Socket => "a socket",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Other => "a special file",
        })
    }
}
