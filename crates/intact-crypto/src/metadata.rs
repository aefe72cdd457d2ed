//! Signing and verifying whole metadata files with the reference's rules.

use intact_model::{KeyId, Metadata};

use crate::public::Streamed;
use crate::{CryptoError, PublicKey, SigningKey};

/// Sign `md` with `key`, replacing an earlier signature by the same keyid.
/// Returns the keyid the signature carries (the modern keyid of the key).
pub fn sign_metadata(md: &mut Metadata, key: &SigningKey) -> Result<KeyId, CryptoError> {
    let keyid = key.keyid()?;
    let sig = key.sign(&md.signed_bytes()?)?;
    md.set_signature(keyid.clone(), sig);
    Ok(keyid)
}

/// Verify the signature by `keyid` on `md` with `key`, as the reference
/// does: only the first signature carrying `keyid` is tried. The keyid is
/// the one the layout (or the caller) names; it is never recomputed.
pub fn verify_metadata(md: &Metadata, keyid: &KeyId, key: &PublicKey) -> Result<(), CryptoError> {
    let sig = md
        .signature_by(keyid)
        .ok_or_else(|| CryptoError::NoSignature(keyid.clone()))?;
    let bytes = sig
        .sig
        .ok_or_else(|| CryptoError::GpgSignature(keyid.clone()))?;
    match key.stream_verifier(bytes) {
        Streamed::Invalid => return Err(CryptoError::BadSignature(keyid.clone())),
        Streamed::Verifier(mut v) => {
            if md.stream_signed_bytes(&mut |chunk| v.update(chunk))? {
                return v
                    .finalize_and_verify()
                    .map_err(|_| CryptoError::BadSignature(keyid.clone()));
            }
        }
        Streamed::Unsupported => {}
    }
    if key.verify(&md.signed_bytes()?, bytes) {
        Ok(())
    } else {
        Err(CryptoError::BadSignature(keyid.clone()))
    }
}
