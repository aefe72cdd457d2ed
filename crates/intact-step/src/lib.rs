//! Recording a step end to end: the one place that combines the recorder
//! (`intact-record`), git facts (`intact-git`) and signing
//! (`intact-crypto`) into a signed link on disk.
//!
//! - [`run_step`]: materials, command, products, environment, git facts,
//!   signature, `NAME.<keyid8>.link` written atomically (`intact run`);
//!   or, from [`RunRequest::unsigned`], the same without a key as an
//!   unsigned `NAME.link`, as `in-toto-mock` writes (`intact run
//!   --no-sign`, `intact mock`).
//! - [`start_step`] / [`stop_step`]: the same in two halves around work
//!   done by hand, handed over in a signed `.NAME.<keyid8>.link-unfinished`
//!   that `stop` refuses when another key signed it, it changed since, or
//!   it records another step (`intact record start|stop`).
//!
//! Every output location is checked before anything is hashed or run, and
//! step names with control characters are refused. Each call returns the
//! path written, the signed [`Metadata`](intact_model::Metadata) and the
//! keyid, so that later stages (attestations, transparency-log entries)
//! can take the link from there without reading it back.
//!
//! ```
//! use intact_crypto::SigningKey;
//! use intact_record::HashOptions;
//! use intact_step::{run_step, RunRequest};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let work = tempfile::tempdir()?;
//! std::fs::write(work.path().join("src.txt"), "hello")?;
//! let key = SigningKey::generate_ed25519();
//! let recorded = run_step(
//!     &RunRequest::new("build".parse()?, &key)
//!         .materials(["src.txt"])
//!         .hash_options(HashOptions {
//!             base_path: Some(work.path().into()),
//!             ..HashOptions::default()
//!         })
//!         .link_dir(work.path()),
//! )?;
//! let keyid = recorded.keyid.as_ref().ok_or("a signed link has a keyid")?;
//! assert_eq!(recorded.path, work.path().join(format!("build.{}.link", keyid.short())));
//! let link = recorded.metadata.payload()?;
//! assert_eq!(link.as_link().map(|l| l.materials.len()), Some(1));
//! # Ok(())
//! # }
//! ```

mod attest;
mod error;
mod output;
mod record;
mod request;

pub use attest::{tool_versions, Attest, AttestRequest};
pub use error::StepError;
pub use record::{run_step, start_step, stop_step, Recorded};
pub use request::{GitCapture, RunRequest, StartRequest, StopRequest};

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Tests may use std::fs.
mod tests;
