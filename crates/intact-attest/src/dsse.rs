//! Statements in DSSE envelopes: signing and opening.

use std::path::Path;

use intact_crypto::SigningKey;
use intact_model::{Envelope, IN_TOTO_PAYLOAD_TYPE};

use crate::{AttestError, Statement};

/// Largest envelope file read (attestations of 100,000 products are a few
/// tens of megabytes).
pub const MAX_ENVELOPE_BYTES: u64 = 512 * 1024 * 1024;

/// Sign `statement` with each key, in order, into one envelope
/// (payloadType `application/vnd.in-toto+json`). ed25519 signatures are
/// deterministic, so the same statement and keys give the same bytes.
pub fn sign_statement(
    statement: &Statement,
    keys: &[&SigningKey],
) -> Result<Envelope, AttestError> {
    statement.validate()?;
    Ok(intact_crypto::sign_envelope(
        IN_TOTO_PAYLOAD_TYPE,
        statement.to_bytes()?,
        keys,
    )?)
}

/// Parse envelope bytes (strict JSON: duplicate keys refused).
pub fn parse_envelope(bytes: &[u8]) -> Result<Envelope, AttestError> {
    let value = intact_model::json::parse_strict(bytes)
        .map_err(|e| AttestError::Envelope(e.to_string()))?;
    Envelope::from_value(value).map_err(|e| AttestError::Envelope(e.to_string()))
}

/// Read and parse an envelope file; errors name the file.
pub fn load_envelope(path: &Path) -> Result<Envelope, AttestError> {
    let bytes = intact_model::io::read_limited(path, MAX_ENVELOPE_BYTES)?;
    parse_envelope(&bytes).map_err(|e| AttestError::File {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })
}

/// The statement an envelope carries (not checking signatures).
pub fn statement_of(env: &Envelope) -> Result<Statement, AttestError> {
    if env.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(AttestError::Envelope(format!(
            "payloadType is {:?}, expected {IN_TOTO_PAYLOAD_TYPE:?}",
            env.payload_type
        )));
    }
    Statement::from_slice(&env.payload)
}
