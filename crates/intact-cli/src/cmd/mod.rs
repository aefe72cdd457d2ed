//! One module per subcommand.

pub mod attest;
pub mod demo;
pub mod drill;
pub mod git;
pub mod key;
pub mod layout;
pub mod log;
pub mod matching;
pub mod oci;
pub mod run;
pub mod separation;
pub mod shell;
pub mod show;
pub mod sign;
pub mod verify;

use std::path::Path;

use anyhow::Result;
use intact_crypto::{SigningKey, Zeroizing};

use crate::password;

/// `--format` of the commands that print either for people or as JSON.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// The same as JSON, for programs.
    Json,
}

/// `--log DIR`: append the event `file` records to the transparency log
/// and write `FILE.proof` beside it (the work is `intact_log::log_file`).
pub fn log_event(log: Option<&Path>, file: &Path, quiet: bool) -> Result<()> {
    let Some(dir) = log else {
        return Ok(());
    };
    let logged = intact_log::log_file(dir, file, &intact_log::EntryContext::now())?;
    if !quiet {
        eprintln!(
            "intact: logged {} as entry {} of {}; proof in {}",
            file.display(),
            logged.index,
            dir.display(),
            logged.proof_path.display()
        );
    }
    Ok(())
}

/// Load a signing key, asking for its password only when it is encrypted.
pub fn load_signing_key(path: &Path, prompt: bool) -> Result<SigningKey> {
    let password = password_if_needed(intact_crypto::load_signing_key(path, None), path, prompt)?;
    match password {
        Ok(key) => Ok(key),
        Err(pw) => Ok(intact_crypto::load_signing_key(path, Some(pw.as_bytes()))?),
    }
}

/// Attach `--cert` (and `--chain`) to a signing key (docs/pki.md).
pub fn certify(key: SigningKey, cert: Option<&Path>, chain: Option<&Path>) -> Result<SigningKey> {
    let Some(cert) = cert else { return Ok(key) };
    let read =
        |p: &Path| -> Result<String> { Ok(intact_model::io::read_limited_string(p, 1 << 20)?) };
    let cert_pem = read(cert)?;
    let chain_pem = chain.map(read).transpose()?;
    intact_crypto::x509::certify(key, &cert_pem, chain_pem.as_deref())
        .map_err(|e| anyhow::anyhow!("{}: {e}", cert.display()))
}

/// Pass a loaded key through, or (for an encrypted key) return the
/// password to retry with; any other error is final.
pub fn password_if_needed<T>(
    loaded: Result<T, intact_crypto::CryptoError>,
    path: &Path,
    prompt: bool,
) -> Result<Result<T, Zeroizing<String>>> {
    match loaded {
        Ok(k) => Ok(Ok(k)),
        Err(e) if e.needs_password() => {
            match password::for_reading(prompt, &path.display().to_string())? {
                Some(pw) => Ok(Err(pw)),
                None => anyhow::bail!(
                    "{}: the private key is encrypted; set {} or pass --prompt",
                    path.display(),
                    password::PASSWORD_ENV
                ),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Load metadata from `path`, or from standard input when it is `-`
/// (at most `cap` bytes either way).
pub fn load_metadata(path: &Path, cap: u64) -> Result<intact_model::Metadata> {
    if path != Path::new("-") {
        return Ok(intact_model::Metadata::load_limited(path, cap)?);
    }
    load_metadata_bytes(path, cap).map(|(md, _)| md)
}

/// As [`load_metadata`], with the bytes read (for their digest).
pub fn load_metadata_bytes(path: &Path, cap: u64) -> Result<(intact_model::Metadata, Vec<u8>)> {
    if path != Path::new("-") {
        let bytes = intact_model::io::read_limited(path, cap)?;
        let md = intact_model::Metadata::from_slice(&bytes).map_err(|e| e.in_file(path))?;
        return Ok((md, bytes.to_vec()));
    }
    use std::io::Read;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("reading standard input: {e}"))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > cap {
        anyhow::bail!("standard input: more than {cap} bytes");
    }
    let md = intact_model::Metadata::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("standard input: {e}"))?;
    Ok((md, bytes))
}
