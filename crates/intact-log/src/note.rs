//! The log key as a C2SP signed-note signer and verifier, and signed
//! checkpoints (C2SP tlog-checkpoint). The note formats are the
//! `signed_note` and `tlog_tiles` crates'; the keys are the ed25519 PEM
//! files intact already reads (`intact key generate`).

use std::path::Path;

use intact_crypto::{PublicKey, Scheme, SigningKey};
use signed_note::{Note, Signer, StandardVerifier, Verifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash};

use crate::LogError;

/// The signed-note algorithm byte for ed25519.
const ALG_ED25519: u8 = 1;

/// Whether `origin` can name a log (a signed-note key name).
pub fn is_valid_origin(origin: &str) -> bool {
    signed_note::is_key_name_valid(origin)
}

fn ed25519_public(key: &PublicKey, path: &Path) -> Result<[u8; 32], LogError> {
    let not_ed = || LogError::KeyNotEd25519 {
        path: path.to_path_buf(),
        scheme: key.scheme().names().1.to_string(),
    };
    if key.scheme() != Scheme::Ed25519 {
        return Err(not_ed());
    }
    let hex_value = key.public_value()?;
    let bytes = hex::decode(hex_value).map_err(|_| not_ed())?;
    bytes.try_into().map_err(|_| not_ed())
}

/// The C2SP verifier key string `NAME+ID+BASE64` for `origin` and an
/// ed25519 public key.
fn vkey(origin: &str, public: &[u8; 32]) -> Result<String, LogError> {
    let vk = ed25519_dalek_verifying(public)?;
    Ok(signed_note::new_ed25519_verifier_key(origin, &vk))
}

fn ed25519_dalek_verifying(public: &[u8; 32]) -> Result<ed25519_dalek::VerifyingKey, LogError> {
    ed25519_dalek::VerifyingKey::from_bytes(public)
        .map_err(|e| LogError::Tree(format!("invalid ed25519 public key: {e}")))
}

/// The log's signing key: an ed25519 [`SigningKey`] under the log's origin.
pub struct LogSigner {
    origin: String,
    id: u32,
    key: SigningKey,
    vkey: String,
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSigner")
            .field("vkey", &self.vkey)
            .finish_non_exhaustive()
    }
}

impl LogSigner {
    /// Load the private key at `path` (unencrypted PKCS#8 PEM, ed25519) to
    /// sign checkpoints of the log `origin`.
    pub fn load(path: &Path, origin: &str) -> Result<Self, LogError> {
        let key = intact_crypto::load_signing_key(path, None)?;
        Self::new(key, path, origin)
    }

    /// Sign as `origin` with `key` (read from `path`, named in errors).
    pub fn new(key: SigningKey, path: &Path, origin: &str) -> Result<Self, LogError> {
        if !is_valid_origin(origin) {
            return Err(LogError::BadOrigin(origin.to_string()));
        }
        let public = ed25519_public(key.public_key(), path)?;
        Ok(LogSigner {
            origin: origin.to_string(),
            id: signed_note::key_id(origin, &key_bytes(&public)),
            vkey: vkey(origin, &public)?,
            key,
        })
    }

    /// The verifier key in C2SP form (`origin+id+base64`).
    pub fn vkey(&self) -> &str {
        &self.vkey
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// The origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A signed checkpoint note for a tree of `size` with root `root`.
    pub fn sign_checkpoint(&self, size: u64, root: Hash) -> Result<Vec<u8>, LogError> {
        let cp = Checkpoint::new(&self.origin, size, root, "")
            .map_err(|e| LogError::Tree(e.to_string()))?;
        let mut note = Note::new(&cp.to_bytes(), &[]).map_err(|e| LogError::Tree(e.to_string()))?;
        note.add_sigs(&[self as &dyn Signer])
            .map_err(|e| LogError::Tree(e.to_string()))?;
        Ok(note.to_bytes())
    }
}

fn key_bytes(public: &[u8; 32]) -> Vec<u8> {
    let mut v = Vec::with_capacity(33);
    v.push(ALG_ED25519);
    v.extend_from_slice(public);
    v
}

impl Signer for LogSigner {
    fn name(&self) -> &str {
        &self.origin
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        // The CryptoError has no place in signature::Error; signing an
        // ed25519 key does not fail in practice.
        self.key.sign(msg).map_err(|_| signature::Error::new())
    }
}

/// The log's public key, to verify checkpoints.
#[derive(Debug, Clone)]
pub struct LogKey {
    public: [u8; 32],
    label: String,
}

impl LogKey {
    /// Load a public key file (SPKI PEM, ed25519) as the log key.
    pub fn load(path: &Path) -> Result<Self, LogError> {
        let key = intact_crypto::load_public_key(path)?;
        Self::from_public(&key, path)
    }

    /// The log key from a public key read from `path` (named in errors).
    pub fn from_public(key: &PublicKey, path: &Path) -> Result<Self, LogError> {
        Ok(LogKey {
            public: ed25519_public(key, path)?,
            label: path.display().to_string(),
        })
    }

    /// The C2SP verifier key string for this key under `origin`.
    pub fn vkey(&self, origin: &str) -> Result<String, LogError> {
        vkey(origin, &self.public)
    }

    /// Verify a signed checkpoint note (read from `what`, named in errors):
    /// well-formed, and signed by this key under the checkpoint's own
    /// origin. Returns the checkpoint.
    pub fn verify_checkpoint(&self, note: &[u8], what: &str) -> Result<Checkpoint, LogError> {
        let malformed = |reason: String| LogError::CheckpointMalformed {
            path: what.to_string(),
            reason,
        };
        let parsed = Note::from_bytes(note).map_err(|e| malformed(e.to_string()))?;
        let cp = Checkpoint::from_bytes(parsed.text()).map_err(|e| malformed(e.to_string()))?;
        let origin = cp.origin().to_string();
        if !is_valid_origin(&origin) {
            return Err(malformed(format!("invalid origin {origin:?}")));
        }
        let vkey = self.vkey(&origin)?;
        let verifier = StandardVerifier::new(&vkey).map_err(|e| LogError::Tree(e.to_string()))?;
        let list = VerifierList::new(vec![Box::new(verifier) as Box<dyn Verifier>]);
        parsed
            .verify(&list)
            .map_err(|e| LogError::CheckpointSignature {
                path: what.to_string(),
                key: vkey.clone(),
                reason: e.to_string(),
            })?;
        Ok(cp)
    }

    /// Where the key came from (its file), for messages.
    pub fn label(&self) -> &str {
        &self.label
    }
}
