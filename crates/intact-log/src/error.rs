//! The log's typed errors: each names the file (or URL) and the problem,
//! and [`LogError::code`] gives a stable machine-readable kind.

use std::path::PathBuf;

/// What went wrong reading, writing or verifying a log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// Reading or writing a file failed.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        cause: std::io::Error,
    },
    /// A file could not be read (not a regular file, too large, missing).
    #[error(transparent)]
    Read(#[from] intact_model::io::ReadError),
    /// Writing a file failed (the error names it).
    #[error(transparent)]
    Model(#[from] intact_model::ModelError),
    /// A key file could not be loaded (the error names it).
    #[error(transparent)]
    Crypto(#[from] intact_crypto::CryptoError),
    /// The log key is not an ed25519 key (signed notes are ed25519).
    #[error("{}: the log key must be an ed25519 key (C2SP signed-note), found {scheme}", path.display())]
    KeyNotEd25519 {
        /// The key file.
        path: PathBuf,
        /// The scheme found.
        scheme: String,
    },
    /// The origin is not a valid signed-note key name.
    #[error("invalid log origin {0:?}: it must be non-empty, without spaces or '+' (for example example.com/intact-log)")]
    BadOrigin(String),
    /// `log init` on a directory that already holds a log.
    #[error("{}: already holds a log (it has a checkpoint); refusing to start a new one", .0.display())]
    AlreadyInitialised(PathBuf),
    /// The directory has no log configuration (not made by `intact log init`).
    #[error("{}: not an intact log directory (no .intact-log/config.json; run `intact log init` first)", .0.display())]
    NotALog(PathBuf),
    /// The log's private configuration cannot be parsed.
    #[error("{}: malformed log configuration: {reason}", path.display())]
    BadConfig {
        /// The configuration file.
        path: PathBuf,
        /// Why it is refused.
        reason: String,
    },
    /// The checkpoint is missing.
    #[error("{0}: the log has no checkpoint")]
    CheckpointMissing(String),
    /// The checkpoint is not a well-formed signed note / tlog-checkpoint.
    #[error("{path}: malformed checkpoint: {reason}")]
    CheckpointMalformed {
        /// The checkpoint file or URL.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// The checkpoint carries no valid signature by the log key: forged,
    /// altered, or signed by another key.
    #[error("{path}: the checkpoint is not signed by the log key {key}: {reason}")]
    CheckpointSignature {
        /// The checkpoint file or URL.
        path: String,
        /// The log key (C2SP verifier key form).
        key: String,
        /// What the signature check said.
        reason: String,
    },
    /// A tile the checkpoint needs does not exist.
    #[error("{path}: tile missing (the checkpoint covers it)")]
    TileMissing {
        /// The tile file or URL.
        path: String,
    },
    /// A tile is shorter or longer than its width says.
    #[error("{path}: tile truncated or padded: {len} bytes, expected {expected}")]
    TileTruncated {
        /// The tile file or URL.
        path: String,
        /// Its length.
        len: usize,
        /// The length its path implies.
        expected: usize,
    },
    /// A tile's hashes differ from those recomputed from the entries.
    #[error("{path}: tile corrupted: its hashes differ from the tree recomputed from the entries")]
    TileCorrupted {
        /// The tile file or URL.
        path: String,
    },
    /// An entry bundle holds more or fewer entries than its width says
    /// (an entry was removed or added).
    #[error("{path}: entry bundle holds {found} entries, its path says {expected}: an entry was removed or added")]
    EntryCountMismatch {
        /// The bundle file or URL.
        path: String,
        /// Entries found.
        found: usize,
        /// Entries expected.
        expected: usize,
    },
    /// An entry bundle cannot be split into length-prefixed entries.
    #[error("{path}: malformed entry bundle: {reason}")]
    EntriesMalformed {
        /// The bundle file or URL.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// The tree recomputed from the entries does not have the signed root.
    #[error("{path}: the tree recomputed from the entries has root {computed}, the checkpoint signs {signed}")]
    RootMismatch {
        /// The checkpoint file or URL.
        path: String,
        /// The recomputed root (base64).
        computed: String,
        /// The signed root (base64).
        signed: String,
    },
    /// An earlier checkpoint is not a prefix of this log: history was
    /// rewritten or forked.
    #[error("{since}: the earlier checkpoint (size {old_size}) is not consistent with the log (size {new_size}): its history was rewritten or forked")]
    Inconsistent {
        /// The earlier checkpoint's file.
        since: String,
        /// Its tree size.
        old_size: u64,
        /// The log's tree size.
        new_size: u64,
    },
    /// An earlier checkpoint is larger than the log: entries were removed.
    #[error("{since}: the earlier checkpoint has {old_size} entries, the log only {new_size}: the log was rolled back")]
    RolledBack {
        /// The earlier checkpoint's file.
        since: String,
        /// Its tree size.
        old_size: u64,
        /// The log's tree size.
        new_size: u64,
    },
    /// An earlier checkpoint is for another log.
    #[error("{since}: the earlier checkpoint is for origin {found:?}, this log is {expected:?}")]
    OriginMismatch {
        /// The earlier checkpoint's file.
        since: String,
        /// Its origin.
        found: String,
        /// The log's origin.
        expected: String,
    },
    /// An entry is larger than a C2SP entry bundle can hold (65,535 bytes).
    #[error("{path}: the log entry for it is {len} bytes, more than 65535")]
    EntryTooLarge {
        /// The file the entry describes.
        path: PathBuf,
        /// The entry's length.
        len: usize,
    },
    /// A file handed to the log is not a link, layout, attestation or
    /// verification report.
    #[error("{}: cannot log it: {reason}", path.display())]
    NotLoggable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No entry of the log records this file.
    #[error("{}: no entry in the log records this file (sha256 {sha256})", path.display())]
    NotLogged {
        /// The file.
        path: PathBuf,
        /// Its SHA-256.
        sha256: String,
    },
    /// A proof bundle cannot be parsed.
    #[error("{}: malformed proof bundle: {reason}", path.display())]
    ProofMalformed {
        /// The `.proof` file.
        path: PathBuf,
        /// Why it is refused.
        reason: String,
    },
    /// A proof bundle does not prove its file is in the log.
    #[error("{}: the inclusion proof does not hold: {reason}", path.display())]
    ProofInvalid {
        /// The `.proof` file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An HTTP read failed.
    #[error("{url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The tree library refused an operation (a bug or an impossible input).
    #[error("transparency-log computation failed: {0}")]
    Tree(String),
}

impl LogError {
    /// A stable, machine-readable name for the kind of failure.
    pub fn code(&self) -> &'static str {
        match self {
            LogError::Io { .. } | LogError::Read(_) | LogError::Model(_) => "io",
            LogError::Crypto(_) | LogError::KeyNotEd25519 { .. } => "bad-key",
            LogError::BadOrigin(_) => "bad-origin",
            LogError::AlreadyInitialised(_) => "already-initialised",
            LogError::NotALog(_) | LogError::BadConfig { .. } => "not-a-log",
            LogError::CheckpointMissing(_) => "checkpoint-missing",
            LogError::CheckpointMalformed { .. } => "checkpoint-malformed",
            LogError::CheckpointSignature { .. } => "checkpoint-signature",
            LogError::TileMissing { .. } => "tile-missing",
            LogError::TileTruncated { .. } => "tile-truncated",
            LogError::TileCorrupted { .. } => "tile-corrupted",
            LogError::EntryCountMismatch { .. } => "entry-count",
            LogError::EntriesMalformed { .. } => "entries-malformed",
            LogError::RootMismatch { .. } => "root-mismatch",
            LogError::Inconsistent { .. } => "inconsistent",
            LogError::RolledBack { .. } => "rolled-back",
            LogError::OriginMismatch { .. } => "origin-mismatch",
            LogError::EntryTooLarge { .. } => "entry-too-large",
            LogError::NotLoggable { .. } => "not-loggable",
            LogError::NotLogged { .. } => "not-logged",
            LogError::ProofMalformed { .. } => "proof-malformed",
            LogError::ProofInvalid { .. } => "proof-invalid",
            LogError::Http { .. } => "http",
            LogError::Tree(_) => "tree",
        }
    }

    /// Whether the log (or a proof) failed verification, as opposed to
    /// input that could not be read or used (keys, arguments, I/O).
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            LogError::CheckpointSignature { .. }
                | LogError::TileMissing { .. }
                | LogError::TileTruncated { .. }
                | LogError::TileCorrupted { .. }
                | LogError::EntryCountMismatch { .. }
                | LogError::EntriesMalformed { .. }
                | LogError::RootMismatch { .. }
                | LogError::Inconsistent { .. }
                | LogError::RolledBack { .. }
                | LogError::CheckpointMalformed { .. }
                | LogError::CheckpointMissing(_)
                | LogError::ProofInvalid { .. }
                | LogError::NotLogged { .. }
        )
    }
}

impl From<tlog_tiles::Error> for LogError {
    fn from(e: tlog_tiles::Error) -> Self {
        LogError::Tree(e.to_string())
    }
}
