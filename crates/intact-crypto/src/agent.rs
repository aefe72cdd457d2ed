//! Signing through a running ssh-agent (`SSH_AUTH_SOCK`): `ssh-agent:`
//! followed by the key's SHA-256 fingerprint (as `ssh-add -l` prints it)
//! or its comment. ed25519 only: an agent's ed25519 signature is the raw
//! RFC 8032 signature over the bytes given, so it equals the file key's
//! byte for byte; the agent's RSA and ECDSA signatures use other encodings
//! than securesystemslib's.

use std::path::PathBuf;

use ssh_agent_client_rs::{Client, Identity};
use ssh_key::public::KeyData;
use ssh_key::HashAlg;

use crate::public::KeyMaterial;
use crate::{CryptoError, PublicKey};

/// The prefix of a `--key` that names an agent's key.
pub const PREFIX: &str = "ssh-agent:";

fn err(msg: impl Into<String>) -> CryptoError {
    CryptoError::Agent(msg.into())
}

/// An ed25519 key held by the agent at `socket`.
pub(crate) struct AgentKey {
    socket: PathBuf,
    key: ssh_key::PublicKey,
}

fn connect(socket: &std::path::Path) -> Result<Client, CryptoError> {
    Client::connect(socket).map_err(|e| {
        err(format!(
            "cannot reach the agent at {}: {e}",
            socket.display()
        ))
    })
}

impl AgentKey {
    /// Find the key `selector` (fingerprint `SHA256:...` or comment) in the
    /// agent named by `SSH_AUTH_SOCK`.
    pub(crate) fn open(selector: &str) -> Result<(Self, PublicKey), CryptoError> {
        if selector.is_empty() {
            return Err(err(
                "name the key: ssh-agent:SHA256:FINGERPRINT or ssh-agent:COMMENT (see ssh-add -l)",
            ));
        }
        let socket = std::env::var_os("SSH_AUTH_SOCK")
            .map(PathBuf::from)
            .ok_or_else(|| err("SSH_AUTH_SOCK is not set: no agent to sign with"))?;
        let identities = connect(&socket)?
            .list_all_identities()
            .map_err(|e| err(format!("listing the agent's keys: {e}")))?;
        let mut found: Vec<ssh_key::PublicKey> = Vec::new();
        for identity in identities {
            let Identity::PublicKey(key) = identity else {
                continue;
            };
            let key = key.into_owned();
            let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
            if fingerprint == selector || key.comment() == selector {
                found.push(key);
            }
        }
        let key = match found.len() {
            1 => found.swap_remove(0),
            0 => {
                return Err(err(format!(
                    "the agent holds no key {selector:?} (ssh-add -l lists its keys)"
                )))
            }
            n => {
                return Err(err(format!(
                    "the agent holds {n} keys {selector:?}; name one by its SHA256 fingerprint"
                )))
            }
        };
        let KeyData::Ed25519(ed) = key.key_data() else {
            return Err(err(format!(
                "key {selector:?} in the agent is {}; only ed25519 keys sign through the agent",
                key.algorithm()
            )));
        };
        let verifying = ed25519_dalek::VerifyingKey::from_bytes(&ed.0)
            .map_err(|e| err(format!("key {selector:?}: {e}")))?;
        let public = PublicKey::from_material(KeyMaterial::Ed25519(verifying));
        Ok((AgentKey { socket, key }, public))
    }

    /// Ask the agent to sign `msg`; the raw 64-byte ed25519 signature.
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sig = connect(&self.socket)?
            .sign(&self.key, msg)
            .map_err(|e| err(format!("the agent refused to sign: {e}")))?;
        Ok(sig.as_bytes().to_vec())
    }
}
