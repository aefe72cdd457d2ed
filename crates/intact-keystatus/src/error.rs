//! The crate's typed errors; each names the file or key concerned.

use std::path::PathBuf;

use intact_model::KeyId;

/// Why a key-status document cannot be read, trusted or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStatusError {
    /// The file cannot be read (missing, not a regular file, too large).
    #[error(transparent)]
    Read(#[from] intact_model::io::ReadError),
    /// Writing failed (the error names the file).
    #[error(transparent)]
    Model(#[from] intact_model::ModelError),
    /// Signing failed.
    #[error(transparent)]
    Crypto(#[from] intact_crypto::CryptoError),
    /// The file is not a valid key-status document.
    #[error("{}: {problem}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The payload is malformed or inconsistent.
    #[error("invalid key-status document: {0}")]
    Invalid(String),
    /// The envelope carries no signature.
    #[error("the key-status document is not signed")]
    Unsigned,
    /// A signature is by a key that is not one of the owner keys given.
    #[error("signed by key {0}, which is not one of the layout owner keys given")]
    WrongSigner(KeyId),
    /// A signature by an owner key does not verify: the document was
    /// changed after signing, or forged.
    #[error("the signature by key {0} does not verify (changed after signing?)")]
    BadSignature(KeyId),
    /// Every signer is revoked by the document itself.
    #[error("every signer of the key-status document is revoked by it")]
    OnlyRevokedSigners,
}
