//! Keys and signatures compatible with securesystemslib 1.x, the library
//! under the in-toto reference.
//!
//! Signing is ed25519 first (deterministic, so our signatures equal the
//! reference's byte for byte), with RSA and ECDSA available for teams whose
//! keys already exist. Verification covers every scheme reference users
//! produce: ed25519, RSASSA-PSS and PKCS#1 v1.5 with SHA-256/384/512, and
//! ECDSA on P-256 and P-384, and GPG functionary keys (RSA, DSA and EdDSA
//! OpenPGP v4 signatures, with subkeys and expiry) as securesystemslib reads
//! them.
//!
//! ```
//! use intact_crypto::{sign_metadata, verify_metadata, SigningKey};
//! use intact_model::{Container, Link, Metadata, StepName};
//!
//! let key = SigningKey::generate_ed25519();
//! let link = Link::new(StepName::new("build").unwrap());
//! let mut md = Metadata::new(link.into(), Container::Envelope).unwrap();
//! let keyid = sign_metadata(&mut md, &key).unwrap();
//! assert!(verify_metadata(&md, &keyid, key.public_key()).is_ok());
//! ```

mod agent;
mod envelope_file;
mod error;
mod file;
mod gpg;
mod gpg_export;
mod metadata;
mod pkcs11;
mod public;
mod signing;
pub mod x509;

pub use agent::PREFIX as SSH_AGENT_PREFIX;
pub use envelope_file::sign_envelope_into;
pub use error::CryptoError;
pub use file::{
    is_key_uri, load_key_file, load_public_key, load_signing_key, write_key_pair, KeyFile,
};
pub use gpg::{is_gpg_key_dict, GpgKey, GpgKind, GpgRefusal};
pub use gpg_export::{is_openpgp_key, key_dict_from_openpgp};
pub use metadata::{
    parse_and_verify_link, sign_and_save, sign_and_save_alongside, sign_envelope, sign_metadata,
    verify_metadata,
};
pub use pkcs11::{Pkcs11Uri, MODULE_ENV as PKCS11_MODULE_ENV, PIN_ENV as PKCS11_PIN_ENV};
pub use public::{KeyWeakness, PublicKey, RsaHash, Scheme, MIN_RSA_BITS};
pub use signing::{is_private_pem, SigningKey};
pub use zeroize::Zeroizing;

#[cfg(test)]
// Tests may use std::fs.
#[allow(clippy::disallowed_methods)]
mod gpg_tests;
#[cfg(test)]
// Tests may use std::fs.
#[allow(clippy::disallowed_methods)]
mod tests;
