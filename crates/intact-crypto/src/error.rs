//! Errors from key handling and signature checks.

use std::path::PathBuf;

use intact_model::KeyId;

/// What can go wrong with keys and signatures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A key file could not be read.
    #[error("{path}: {cause}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// A key file was refused (not a regular file, too large) or could
    /// not be read.
    #[error(transparent)]
    Read(#[from] intact_model::io::ReadError),
    /// A key could not be parsed or is of an unsupported kind.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A key file is encrypted and no password was given.
    #[error("the private key is encrypted; give its password")]
    PasswordRequired,
    /// The password does not decrypt the key.
    #[error("wrong password or corrupt encrypted key")]
    WrongPassword,
    /// keytype/scheme pair we cannot verify.
    #[error("unsupported key type {keytype:?} with scheme {scheme:?}")]
    Unsupported {
        /// The `keytype` member.
        keytype: String,
        /// The `scheme` member.
        scheme: String,
    },
    /// No signature by this key is present.
    #[error("no signature by key {0}")]
    NoSignature(KeyId),
    /// A GPG signature, and the key is not a GPG key.
    #[error("signature by key {0} is a GPG signature, and the key is not a GPG key")]
    GpgSignature(KeyId),
    /// A GPG key was given for a DSSE envelope, which carries no GPG
    /// signatures.
    #[error("key {0} is a GPG key; DSSE envelopes carry no GPG signatures")]
    GpgEnvelope(KeyId),
    /// The GPG key (or the subkey that made the signature) has expired, as
    /// the reference's `KeyExpirationError`.
    #[error("GPG key {keyid} has expired (key {expired})")]
    GpgKeyExpired {
        /// The key the layout lists.
        keyid: KeyId,
        /// The key or subkey whose validity period has passed.
        expired: String,
    },
    /// The signature does not verify.
    #[error("signature by key {0} does not verify")]
    BadSignature(KeyId),
    /// The key is too weak to sign with (RSA under 2048 bits).
    #[error("refusing to sign with {0}")]
    WeakKey(crate::KeyWeakness),
    /// Signing failed (the key refused the operation).
    #[error("signing failed: {0}")]
    Signing(String),
    /// A PKCS#11 token could not be used: no such token, wrong PIN, a
    /// key not allowed to sign, an unsupported mechanism, a bad URI.
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
    /// The ssh-agent could not be used: no agent, no such key, a refusal.
    #[error("ssh-agent: {0}")]
    Agent(String),
    /// The metadata could not be encoded for signing.
    #[error(transparent)]
    Model(#[from] intact_model::ModelError),
    /// An error in the context of a file.
    #[error("{path}: {cause}")]
    InFile {
        /// The file involved.
        path: PathBuf,
        /// The underlying problem.
        cause: Box<CryptoError>,
    },
}

impl CryptoError {
    /// Whether the error only means "this key is encrypted, give a password".
    pub fn needs_password(&self) -> bool {
        match self {
            CryptoError::PasswordRequired => true,
            CryptoError::InFile { cause, .. } => cause.needs_password(),
            _ => false,
        }
    }

    /// Attach the file name to an error that does not name one yet.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        match self {
            e @ (CryptoError::Io { .. } | CryptoError::Read(_) | CryptoError::InFile { .. }) => e,
            e => CryptoError::InFile {
                path: path.into(),
                cause: Box::new(e),
            },
        }
    }
}
