//! `intact sign FILE --key KEY...` and `intact sign --verify FILE --key PUB...`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use intact_crypto::{load_public_key, sign_metadata, verify_metadata};
use intact_model::Metadata;

use crate::Outcome;

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact sign root.layout --key alice.pem carol.pem
  intact sign build.1234abcd.link --key bob.pem -o signed.link
  intact sign --verify root.layout --key alice.pub carol.pub

Exit codes:
  0   signed (with --verify: every given key signed the file)
  1   with --verify: a given key did not sign the file
  2   a file is unreadable or not a link, layout or key")]
pub struct SignArgs {
    /// The link or layout file (Metablock or DSSE envelope).
    file: PathBuf,
    /// Private keys to sign with (PEM files, pkcs11: URIs or ssh-agent:KEY),
    /// or public keys with --verify.
    #[arg(long = "key", short = 'k', required = true, num_args = 1..)]
    keys: Vec<PathBuf>,
    /// Write the signed file here instead of replacing FILE.
    #[arg(long, short = 'o', conflicts_with = "verify")]
    output: Option<PathBuf>,
    /// Check that every given public key has a valid signature on FILE.
    #[arg(long)]
    verify: bool,
    /// Ask for the passwords of encrypted private keys.
    #[arg(long)]
    prompt: bool,
    /// The X.509 certificate of the (single) --key, PEM; further blocks
    /// are its chain. Carried in the signature's `cert` member (docs/pki.md).
    #[arg(long, value_name = "CERT.pem", conflicts_with = "verify")]
    cert: Option<PathBuf>,
    /// Intermediate CA certificates (PEM) to carry with --cert.
    #[arg(long, value_name = "CHAIN.pem", requires = "cert")]
    chain: Option<PathBuf>,
    /// Append the event to the transparency log in DIR (`intact log
    /// init`) and write the inclusion proof beside the output (FILE.proof).
    #[arg(long, value_name = "DIR", conflicts_with = "verify")]
    log: Option<PathBuf>,
}

pub fn run(a: SignArgs) -> Result<Outcome> {
    let mut md = Metadata::load(&a.file)?;
    if a.verify {
        return verify(&md, &a);
    }
    if a.cert.is_some() && a.keys.len() != 1 {
        anyhow::bail!("--cert certifies one key: give exactly one --key");
    }
    let mut keyids = Vec::new();
    for path in &a.keys {
        let key = super::load_signing_key(path, a.prompt)?;
        let key = super::certify(key, a.cert.as_deref(), a.chain.as_deref())?;
        let keyid = sign_metadata(&mut md, &key)
            .with_context(|| format!("signing with {}", path.display()))?;
        keyids.push(keyid);
    }
    let out = a.output.as_ref().unwrap_or(&a.file);
    md.save(out)?;
    for id in keyids {
        println!("signed {} with {id}", out.display());
    }
    super::log_event(a.log.as_deref(), out, false)?;
    Ok(Outcome::Ok)
}

fn verify(md: &Metadata, a: &SignArgs) -> Result<Outcome> {
    let mut failed = false;
    for path in &a.keys {
        let key = load_public_key(path)?;
        let keyid = key.keyid()?;
        match verify_metadata(md, &keyid, &key) {
            Ok(()) => println!("ok      {keyid} ({})", path.display()),
            Err(e) => {
                failed = true;
                println!("FAILED  {keyid} ({}): {e}", path.display());
            }
        }
    }
    Ok(if failed { Outcome::Failed } else { Outcome::Ok })
}
