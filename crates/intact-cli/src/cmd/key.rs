//! `intact key generate|id|show`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use intact_crypto::{
    is_openpgp_key, key_dict_from_openpgp, load_key_file, write_key_pair, KeyFile, SigningKey,
};

use crate::{password, Outcome};

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate an ed25519 key pair: NAME.pem (PKCS#8, mode 0600) and NAME.pub.
    Generate(GenerateArgs),
    /// Print the keyid of a public or private key file.
    Id(FileArgs),
    /// Print the securesystemslib key dict of a key file as JSON (a PEM key,
    /// or a GPG public key exported with `gpg --export [--armor]`).
    Show(FileArgs),
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Path stem of the key files (NAME.pem and NAME.pub are written).
    name: PathBuf,
    /// Encrypt the private key with a password (from INTACT_KEY_PASSWORD or a prompt).
    #[arg(long)]
    encrypt: bool,
}

#[derive(Args)]
pub struct FileArgs {
    /// A PEM key file (public or private), or an exported GPG public key.
    file: PathBuf,
    /// Ask for the password of an encrypted private key.
    #[arg(long)]
    prompt: bool,
}

pub fn run(cmd: KeyCommand) -> Result<Outcome> {
    match cmd {
        KeyCommand::Generate(a) => generate(a),
        KeyCommand::Id(a) => {
            if let Some(dict) = gpg_dict(&a.file)? {
                let keyid = dict
                    .get("keyid")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                println!("{keyid}");
                return Ok(Outcome::Ok);
            }
            println!("{}", load(&a)?.public_key().keyid()?);
            Ok(Outcome::Ok)
        }
        KeyCommand::Show(a) => {
            if let Some(dict) = gpg_dict(&a.file)? {
                println!("{}", serde_json::to_string_pretty(&dict)?);
                return Ok(Outcome::Ok);
            }
            let dict = load(&a)?.public_key().to_key_dict()?;
            println!("{}", serde_json::to_string_pretty(dict.as_map())?);
            Ok(Outcome::Ok)
        }
    }
}

/// The GPG key dict of an exported OpenPGP public key (`gpg --export
/// [--armor] KEYID`), as securesystemslib's export_pubkey gives it; `None`
/// when the file is not one.
fn gpg_dict(file: &std::path::Path) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
    let Ok(bytes) = std::fs::read(file) else {
        // Unreadable: the PEM loader reports it.
        return Ok(None);
    };
    if !is_openpgp_key(&bytes) {
        return Ok(None);
    }
    let dict =
        key_dict_from_openpgp(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    Ok(Some(dict))
}

fn with_extension(stem: &std::path::Path, ext: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

fn generate(a: GenerateArgs) -> Result<Outcome> {
    let key = SigningKey::generate_ed25519();
    let (private, public) = (
        with_extension(&a.name, "pem"),
        with_extension(&a.name, "pub"),
    );
    let pw = if a.encrypt {
        Some(password::for_writing(&private.display().to_string())?)
    } else {
        None
    };
    write_key_pair(&key, &private, &public, pw.as_ref().map(|p| p.as_bytes()))?;
    eprintln!("wrote {} and {}", private.display(), public.display());
    println!("{}", key.keyid()?);
    Ok(Outcome::Ok)
}

fn load(a: &FileArgs) -> Result<KeyFile> {
    match super::password_if_needed(load_key_file(&a.file, None), &a.file, a.prompt)? {
        Ok(k) => Ok(k),
        Err(pw) => Ok(load_key_file(&a.file, Some(pw.as_bytes()))?),
    }
}
