//! Key files on disk: what `intact key` reads and writes.

use std::path::Path;

use intact_model::io::{read_limited_string, write_atomic, DEFAULT_MAX_METADATA_SIZE};

use crate::signing::is_private_pem;
use crate::{CryptoError, PublicKey, SigningKey};

/// A key file's content: public, or private (which also yields the public).
#[derive(Debug)]
pub enum KeyFile {
    /// A SubjectPublicKeyInfo PEM.
    Public(PublicKey),
    /// A private key PEM.
    Private(Box<SigningKey>),
}

impl KeyFile {
    /// The public key either way.
    pub fn public_key(&self) -> &PublicKey {
        match self {
            KeyFile::Public(k) => k,
            KeyFile::Private(k) => k.public_key(),
        }
    }
}

/// A key file's text: only a regular file under the metadata size cap is
/// read, so `--layout-key /dev/zero` or a FIFO is refused, not a hang.
fn read_text(path: &Path) -> Result<String, CryptoError> {
    Ok(read_limited_string(path, DEFAULT_MAX_METADATA_SIZE)?)
}

/// Load a public or private PEM key file (`password` for encrypted keys).
pub fn load_key_file(path: &Path, password: Option<&[u8]>) -> Result<KeyFile, CryptoError> {
    let text = read_text(path)?;
    let key = if is_private_pem(&text) {
        SigningKey::from_pem(&text, password).map(|k| KeyFile::Private(Box::new(k)))
    } else {
        PublicKey::from_spki_pem(&text).map(KeyFile::Public)
    };
    key.map_err(|e| e.in_file(path))
}

/// Load a public key file (SPKI PEM), or the public half of a private one.
pub fn load_public_key(path: &Path) -> Result<PublicKey, CryptoError> {
    let text = read_text(path)?;
    if is_private_pem(&text) {
        return Err(CryptoError::InvalidKey(
            "expected a public key, found a private key; pass the .pub file".into(),
        )
        .in_file(path));
    }
    PublicKey::from_spki_pem(&text).map_err(|e| e.in_file(path))
}

/// Load a private key file for signing.
pub fn load_signing_key(path: &Path, password: Option<&[u8]>) -> Result<SigningKey, CryptoError> {
    let text = read_text(path)?;
    if !is_private_pem(&text) {
        return Err(
            CryptoError::InvalidKey("expected a private key, found a public key".into())
                .in_file(path),
        );
    }
    SigningKey::from_pem(&text, password).map_err(|e| e.in_file(path))
}

/// Write `stem.pem` (PKCS#8, mode 0600) and `stem.pub` (SPKI PEM, 0644),
/// each atomically. Refuses to overwrite an existing private key.
pub fn write_key_pair(
    key: &SigningKey,
    private_path: &Path,
    public_path: &Path,
    password: Option<&[u8]>,
) -> Result<(), CryptoError> {
    for p in [private_path, public_path] {
        if p.exists() {
            return Err(CryptoError::Io {
                path: p.to_path_buf(),
                cause: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "file exists; refusing to overwrite a key",
                ),
            });
        }
    }
    let pem = key.to_pkcs8_pem(password)?;
    let public = key.public_key().to_spki_pem()?;
    let io = |e: intact_model::ModelError| CryptoError::InvalidKey(e.to_string());
    write_atomic(private_path, pem.as_bytes(), 0o600).map_err(io)?;
    write_atomic(public_path, public.as_bytes(), 0o644).map_err(io)?;
    Ok(())
}
