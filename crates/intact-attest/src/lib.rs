//! in-toto attestations: the Statement v1 with typed link v0.3, SLSA
//! Provenance v1 and SLSA Verification Summary v1 predicates, signed in
//! DSSE envelopes, and their verification as named checks.
//!
//! It sits above `intact-model` (strict JSON, the DSSE envelope and its
//! PAE) and `intact-crypto` (keys, signing), and below the step workflow
//! and the binary, which generate and check attestations through it.
//!
//! ```
//! use intact_attest::{sign_statement, Predicate, ResourceDescriptor, Statement};
//!
//! let key = intact_crypto::SigningKey::generate_ed25519();
//! let predicate = Predicate::from_parts(
//!     "https://example.com/review/v1",
//!     Some(serde_json::json!({"reviewed": true}).as_object().unwrap().clone()),
//! ).unwrap();
//! let st = Statement::new(vec![ResourceDescriptor::sha256("app", "ab".repeat(32))], predicate);
//! let env = sign_statement(&st, &[&key]).unwrap();
//! assert_eq!(env.payload_type, "application/vnd.in-toto+json");
//! assert_eq!(intact_attest::statement_of(&env).unwrap(), st);
//! ```

mod dsse;
mod error;
pub mod predicate;
pub mod slsa;
mod statement;
pub mod subject;
pub mod time;
pub mod verify;

pub use dsse::{load_envelope, parse_envelope, sign_statement, statement_of, MAX_ENVELOPE_BYTES};
pub use error::AttestError;
pub use predicate::{
    Predicate, LINK_PREDICATE_TYPE, PROVENANCE_PREDICATE_TYPE, VSA_PREDICATE_TYPE,
};
pub use statement::{ResourceDescriptor, Statement, STATEMENT_TYPE};

#[cfg(test)]
mod tests;
