//! The in-toto metadata model, byte-compatible with the reference
//! implementation (Python in-toto 3.1.0).
//!
//! Everything intact signs or verifies passes through this crate: typed
//! links and layouts, artifact rules, the Metablock and DSSE containers, and
//! the JSON encodings whose exact bytes signatures depend on. It has no
//! cryptography; `intact-crypto` signs and verifies the bytes produced here.
//!
//! ```
//! use intact_model::{Container, Link, Metadata, StepName};
//!
//! let link = Link::new(StepName::new("build").unwrap());
//! let md = Metadata::new(link.into(), Container::Metablock).unwrap();
//! // The bytes a signature covers: securesystemslib canonical JSON.
//! let signed = md.signed_bytes().unwrap();
//! assert!(signed.starts_with(br#"{"_type":"link","byproducts":{}"#));
//! // Loading what we wrote gives the same metadata back.
//! let again = Metadata::from_slice(&md.to_bytes().unwrap()).unwrap();
//! assert_eq!(again, md);
//! ```

mod artifacts;
mod bytes;
mod digest;
mod envelope;
mod error;
pub mod escape;
pub mod git;
pub mod io;
pub mod json;
mod layout;
mod link;
mod metablock;
mod metadata;
mod names;
mod pae;
pub mod params;
mod payload;
mod rule;
mod scan;
pub mod separation;
mod statement;
mod tag;
pub mod teed;
mod writer;

pub use artifacts::Artifacts;
pub use bytes::FileBytes;
pub use digest::{Digest, DigestSet, HexStr};
pub use envelope::{Envelope, EnvelopeSignature, ENVELOPE_HEAD, IN_TOTO_PAYLOAD_TYPE};
pub use error::ModelError;
pub use git::GitPolicy;
pub use layout::{
    CertConstraint, Expires, Inspection, KeyDict, Layout, Step, CERT_CONSTRAINT_LISTS,
    KEY_NAME_MEMBER,
};
pub use link::Link;
pub use metablock::{Metablock, Signature, SignatureValue};
pub use metadata::{Container, Metadata, SignatureRef, CERT_MEMBER};
pub use names::{ArtifactName, KeyId, StepName};
pub use pae::{pae, Pae, PaeBuffer};
pub use payload::Payload;
pub use rule::{split_like_python, Rule, RuleKind, Side};
pub use separation::Separation;
pub use statement::{ResourceDescriptor, Statement};
