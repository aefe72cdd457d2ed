//! GPG signatures, checked only by an explicitly configured `gpg`.
//!
//! OpenPGP is too large to re-implement here and there is no RustCrypto
//! verifier for it, so a GPG-signed commit is verified by the `gpg`
//! program with a keyring the consumer chose, and its machine-readable
//! `--status-fd` output decides; the fingerprint must also be one the
//! policy allows. Without a configured verifier, GPG signatures are
//! reported as unverified ([`crate::Failure::GpgNotVerified`]).

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use crate::{Failure, Signer};

/// How to run `gpg`.
#[derive(Debug, Clone)]
pub struct GpgVerifier {
    /// The program (`gpg`).
    pub program: PathBuf,
    /// The keyring directory (`--homedir`): the keys trusted to exist.
    pub homedir: PathBuf,
}

impl GpgVerifier {
    /// `gpg` with the keyring in `homedir`.
    pub fn new(homedir: impl Into<PathBuf>) -> Self {
        GpgVerifier {
            program: PathBuf::from("gpg"),
            homedir: homedir.into(),
        }
    }

    pub(crate) fn verify(
        &self,
        sig: &[u8],
        data: &[u8],
        allowed: &[String],
        object: &str,
        id: &str,
    ) -> Result<Signer, Failure> {
        let bad = |reason: String| Failure::BadSignature {
            object: object.to_string(),
            id: id.to_string(),
            reason,
        };
        let write = |bytes: &[u8]| -> Result<tempfile::NamedTempFile, Failure> {
            let mut f =
                tempfile::NamedTempFile::new().map_err(|e| bad(format!("temp file: {e}")))?;
            f.write_all(bytes)
                .map_err(|e| bad(format!("temp file: {e}")))?;
            Ok(f)
        };
        let (sig_file, data_file) = (write(sig)?, write(data)?);
        let out = Command::new(&self.program)
            .arg("--homedir")
            .arg(&self.homedir)
            .args(["--batch", "--no-tty", "--status-fd", "1", "--verify"])
            .arg(sig_file.path())
            .arg(data_file.path())
            .output()
            .map_err(|e| bad(format!("cannot run {}: {e}", self.program.display())))?;
        let status = String::from_utf8_lossy(&out.stdout);
        let field = |tag: &str, n: usize| {
            status.lines().find_map(|l| {
                l.strip_prefix("[GNUPG:] ")
                    .and_then(|l| l.strip_prefix(tag))
                    .and_then(|rest| rest.split_whitespace().nth(n))
                    .map(str::to_string)
            })
        };
        if let Some(key) = field("NO_PUBKEY ", 0) {
            return Err(Failure::SignerNotAllowed {
                object: object.to_string(),
                id: id.to_string(),
                key: format!("GPG key {key} (not in the keyring)"),
            });
        }
        let Some(fpr) = field("VALIDSIG ", 0) else {
            return Err(bad(format!(
                "gpg did not report a valid signature: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        };
        let primary = field("VALIDSIG ", 9).unwrap_or_else(|| fpr.clone());
        let norm = |s: &str| s.replace(' ', "").to_ascii_uppercase();
        if !allowed
            .iter()
            .any(|a| norm(a) == norm(&fpr) || norm(a) == norm(&primary))
        {
            return Err(Failure::SignerNotAllowed {
                object: object.to_string(),
                id: id.to_string(),
                key: format!("GPG key {fpr}"),
            });
        }
        let principal = field("GOODSIG ", 1).unwrap_or_default();
        Ok(Signer {
            principal,
            key: fpr,
        })
    }
}
