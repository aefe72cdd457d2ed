//! A tamper-evident log of signing and verification events, in the C2SP
//! formats the transparency ecosystem shares: the log is a directory of
//! plain files in [tlog-tiles](https://c2sp.org/tlog-tiles) layout with a
//! [tlog-checkpoint](https://c2sp.org/tlog-checkpoint) signed as a
//! [signed-note](https://c2sp.org/signed-note) by the log's ed25519 key,
//! so any static host can serve it and any tlog-tiles client can audit it.
//!
//! The Merkle tree (RFC 6962 hashing), proofs, tiles and note formats are
//! Cloudflare's `tlog_tiles` and `signed_note` crates (ports of Go's
//! `sumdb/tlog` and `note`); this crate maps their tile paths to C2SP's,
//! stores the files durably under a lock, and describes intact's events as
//! entries. See docs/transparency-log.md.
//!
//! ```
//! use intact_log::{verify, DirSource, EntryContext, LogKey, LogWriter};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let tmp = tempfile::tempdir()?;
//! # let key = intact_crypto::SigningKey::generate_ed25519();
//! # let (pem, public) = (tmp.path().join("log.pem"), tmp.path().join("log.pub"));
//! # intact_crypto::write_key_pair(&key, &pem, &public, None)?;
//! let dir = tmp.path().join("log");
//! let log = LogWriter::init(&dir, &pem, "example.com/log")?;
//! log.append(&[b"first entry".to_vec(), b"second".to_vec()])?;
//! let verified = verify(&DirSource::new(&dir), &LogKey::load(&public)?, None)?;
//! assert_eq!(verified.size, 2);
//! # Ok(()) }
//! ```

mod entry;
mod error;
mod note;
mod sidecar;
mod source;
mod stats;
pub mod tiles;
mod verify;
mod writer;

pub use entry::{
    sha256_hex, CertificateRecord, Entry, EntryContext, EntryKind, CI_VARIABLES, ENTRY_SCHEMA,
};
pub use error::LogError;
pub use note::{is_valid_origin, LogKey, LogSigner};
pub use sidecar::{check_logged, log_file, proof_path, Logged};
pub use source::{DirSource, HttpSource, Source, MAX_FILE};
pub use stats::{stats, Percentiles, Stats, StatsBuilder};
pub use verify::{
    for_each_entry, prove_file, prove_index, read_checkpoint, read_checkpoint_unverified, verify,
    verify_proof, ProofBundle, ProvenEntry, SourceTiles, Verified, PROOF_SCHEMA,
};
pub use writer::{Appended, LogConfig, LogLock, LogWriter, STATE_DIR};

/// Re-exported so callers can name checkpoints and hashes.
pub use tlog_tiles::{Checkpoint, Hash};

#[cfg(test)]
// Tests may use std::fs.
#[allow(clippy::disallowed_methods)]
mod tests;
