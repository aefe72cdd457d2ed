//! Key files on disk: what `intact key` reads and writes.

use std::path::Path;

use intact_model::io::{
    read_limited, read_limited_string, write_atomic, DEFAULT_MAX_METADATA_SIZE,
};

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

/// A key file's bytes (a binary GPG export is not text), under the same
/// regular-file check and size cap as text keys.
fn read_bytes(path: &Path) -> Result<Vec<u8>, CryptoError> {
    Ok(read_limited(path, DEFAULT_MAX_METADATA_SIZE)?.to_vec())
}

/// A public key file's content: a GPG public key export (`gpg --export
/// [--armor]`), or PEM text.
enum Read {
    Gpg(PublicKey),
    Text(String),
}

fn read_key(path: &Path) -> Result<Read, CryptoError> {
    let bytes = read_bytes(path)?;
    if crate::is_openpgp_key(&bytes) {
        let key = crate::key_dict_from_openpgp(&bytes)
            .and_then(|dict| crate::GpgKey::from_dict(&dict))
            .map_err(|e| e.in_file(path))?;
        return Ok(Read::Gpg(PublicKey::from_gpg(key)));
    }
    String::from_utf8(bytes).map(Read::Text).map_err(|_| {
        CryptoError::InvalidKey("neither a PEM key nor a GPG key export".into()).in_file(path)
    })
}

/// Whether a `--key` value names a key outside any file: a `pkcs11:` URI
/// or an `ssh-agent:` key ([`SigningKey::from_key_uri`]).
pub fn is_key_uri(key: &Path) -> bool {
    key.to_str()
        .is_some_and(|s| s.starts_with("pkcs11:") || s.starts_with(crate::agent::PREFIX))
}

/// Load a public or private PEM key file (`password` for encrypted keys),
/// or a GPG public key export.
///
/// A `pkcs11:` URI or `ssh-agent:` key name in place of the path opens
/// that key instead ([`SigningKey::from_key_uri`]); a file whose name
/// starts so is reached as `./pkcs11:...`.
pub fn load_key_file(path: &Path, password: Option<&[u8]>) -> Result<KeyFile, CryptoError> {
    if let Some(key) = path.to_str().and_then(SigningKey::from_key_uri) {
        return key.map(|k| KeyFile::Private(Box::new(k)));
    }
    let text = match read_key(path)? {
        Read::Gpg(key) => return Ok(KeyFile::Public(key)),
        Read::Text(text) => text,
    };
    let key = if is_private_pem(&text) {
        SigningKey::from_pem(&text, password).map(|k| KeyFile::Private(Box::new(k)))
    } else {
        PublicKey::from_spki_pem(&text).map(KeyFile::Public)
    };
    key.map_err(|e| e.in_file(path))
}

/// Load a public key file (SPKI PEM, or a GPG public key export).
pub fn load_public_key(path: &Path) -> Result<PublicKey, CryptoError> {
    let text = match read_key(path)? {
        Read::Gpg(key) => return Ok(key),
        Read::Text(text) => text,
    };
    if is_private_pem(&text) {
        return Err(CryptoError::InvalidKey(
            "expected a public key, found a private key; pass the .pub file".into(),
        )
        .in_file(path));
    }
    PublicKey::from_spki_pem(&text).map_err(|e| e.in_file(path))
}

/// Load a private key file for signing, or open the PKCS#11 token key or
/// ssh-agent key that `path` names instead ([`SigningKey::from_key_uri`]).
pub fn load_signing_key(path: &Path, password: Option<&[u8]>) -> Result<SigningKey, CryptoError> {
    if let Some(key) = path.to_str().and_then(SigningKey::from_key_uri) {
        return key;
    }
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
