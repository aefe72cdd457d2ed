//! Logging as a side effect: append a metadata file's event and keep its
//! inclusion proof beside it (`FILE.proof`), and check such a proof later,
//! offline, for `intact verify --require-logged`.

use std::path::{Path, PathBuf};

use crate::entry::{Entry, EntryContext};
use crate::source::DirSource;
use crate::verify::{prove_index, verify_proof, ProofBundle, ProvenEntry};
use crate::writer::LogWriter;
use crate::{LogError, LogKey};

/// Where the proof of `file` is kept: `FILE.proof` beside it.
pub fn proof_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(".proof");
    PathBuf::from(name)
}

/// What [`log_file`] did.
#[derive(Debug, Clone)]
pub struct Logged {
    /// The entry appended.
    pub entry: Entry,
    /// Its index.
    pub index: u64,
    /// The proof written.
    pub proof: ProofBundle,
    /// Where it was written.
    pub proof_path: PathBuf,
}

/// Append the event `file` records to the log in `log_dir` and write its
/// inclusion proof to `FILE.proof` (atomically).
pub fn log_file(log_dir: &Path, file: &Path, ctx: &EntryContext) -> Result<Logged, LogError> {
    let writer = LogWriter::open(log_dir, None)?;
    let (appended, mut entries) = writer.add_files(&[file.to_path_buf()], ctx)?;
    let entry = entries
        .pop()
        .ok_or_else(|| LogError::Tree("no entry appended".into()))?;
    let index = appended.first_index;
    let proof = prove_index(&DirSource::new(log_dir), index, &entry.to_bytes()?)?;
    let path = proof_path(file);
    intact_model::io::write_atomic(&path, &proof.to_bytes()?, 0o644)?;
    Ok(Logged {
        entry,
        index,
        proof,
        proof_path: path,
    })
}

/// Check `FILE.proof` for `file` (bytes `bytes`) under the log key:
/// a missing proof is [`LogError::NotLogged`].
pub fn check_logged(file: &Path, bytes: &[u8], key: &LogKey) -> Result<ProvenEntry, LogError> {
    let path = proof_path(file);
    let proof = match intact_model::io::read_limited(&path, crate::MAX_FILE) {
        Ok(p) => p.to_vec(),
        Err(e) if e.is_not_found() => {
            return Err(LogError::NotLogged {
                path: file.to_path_buf(),
                sha256: crate::sha256_hex(bytes),
            })
        }
        Err(e) => return Err(e.into()),
    };
    verify_proof(&path, &proof, bytes, key)
}
