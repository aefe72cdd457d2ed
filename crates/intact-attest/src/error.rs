//! Errors from building, signing, parsing and checking attestations.

use std::path::PathBuf;

/// What can go wrong with an attestation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttestError {
    /// A file could not be read (the message names it).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A file was refused or could not be read (the message names it).
    #[error(transparent)]
    Read(#[from] intact_model::io::ReadError),
    /// A file's content is not what it should be.
    #[error("{path}: {problem}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A statement or predicate does not have the required structure.
    #[error("invalid statement: {0}")]
    Statement(String),
    /// A DSSE envelope is not an in-toto attestation envelope.
    #[error("invalid envelope: {0}")]
    Envelope(String),
    /// A subject given on the command line could not be understood.
    #[error("invalid subject {spec:?}: {problem}")]
    Subject {
        /// The subject as given.
        spec: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A timestamp could not be formed (SOURCE_DATE_EPOCH out of range).
    #[error("invalid time: {0}")]
    Time(String),
    /// Serialising or parsing failed in the model.
    #[error(transparent)]
    Model(#[from] intact_model::ModelError),
    /// Signing failed.
    #[error(transparent)]
    Crypto(#[from] intact_crypto::CryptoError),
}
