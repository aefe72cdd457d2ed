//! Why recording a step failed: one enum, each variant naming the file,
//! directory or step involved.

use std::path::PathBuf;

use intact_crypto::CryptoError;
use intact_git::GitError;
use intact_model::{ModelError, StepName};
use intact_record::RecordError;

/// What can go wrong while recording a step.
///
/// The output-location variants ([`StepError::NoSuchDirectory`],
/// [`StepError::NotADirectory`], [`StepError::NotWritable`],
/// [`StepError::OutputIsDirectory`]) and [`StepError::ControlCharacter`]
/// are raised before anything is hashed or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// The step name has a control character (a newline, ESC, ...): it
    /// would reach file names and, printed, a reader's terminal.
    #[error(
        "step name {name:?} contains a control character; \
         it becomes part of a file name and is printed in reports"
    )]
    ControlCharacter {
        /// The name as given.
        name: String,
    },
    /// The directory an output goes to does not exist.
    #[error("{}: no such directory (create it first)", path.display())]
    NoSuchDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// The directory an output goes to is not a directory.
    #[error("{}: not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A file cannot be created in the directory an output goes to.
    #[error("{}: cannot write a file in this directory: {cause}", path.display())]
    NotWritable {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// The path an output file would take is a directory.
    #[error("{}: is a directory, where the file would be written", path.display())]
    OutputIsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// `stop`: no unfinished link by this key for this step.
    #[error("no unfinished record for step {step} with this key; run `intact record start` first")]
    NoUnfinished {
        /// The step.
        step: StepName,
        /// The file looked for.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: ModelError,
    },
    /// `stop`: the unfinished link is not signed by the stopping key, or
    /// changed since `start` signed it.
    #[error(
        "{}: {cause}; it was signed by another key or changed after `record start`",
        path.display()
    )]
    HandOverSignature {
        /// The unfinished link.
        path: PathBuf,
        /// The signature check's verdict.
        cause: CryptoError,
    },
    /// `stop`: the unfinished file holds a layout, not a link.
    #[error("{}: not a link", path.display())]
    NotALink {
        /// The unfinished file.
        path: PathBuf,
    },
    /// `stop`: the unfinished link records another step.
    #[error("{}: records step {:?}, not {expected:?}", path.display(), recorded.as_str())]
    StepMismatch {
        /// The unfinished link.
        path: PathBuf,
        /// The step it records.
        recorded: StepName,
        /// The step being stopped.
        expected: StepName,
    },
    /// `stop`: the unfinished link's git facts do not make sense.
    #[error("{}: {reason}", path.display())]
    HandOverGit {
        /// The unfinished link.
        path: PathBuf,
        /// What is wrong with them.
        reason: String,
    },
    /// `stop`: the link is written but the unfinished file could not be
    /// removed.
    #[error("removing {}: {cause}", path.display())]
    RemoveUnfinished {
        /// The unfinished file.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// Recording artifacts or running the command failed.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Capturing git facts failed (a dirty work tree, an unreadable
    /// repository).
    #[error(transparent)]
    Git(#[from] GitError),
    /// Signing or writing the signed link failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Building, reading or writing metadata failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Generating an attestation failed (a step without products).
    #[error(transparent)]
    Attest(#[from] intact_attest::AttestError),
    /// A `--tool`'s `NAME --version` could not be captured.
    #[error("tool {name:?}: {problem}")]
    Tool {
        /// The tool as named.
        name: String,
        /// What went wrong.
        problem: String,
    },
}
