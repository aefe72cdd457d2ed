//! `intact key generate|id|show`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use intact_crypto::{load_key_file, write_key_pair, KeyFile, SigningKey};

use crate::{password, Outcome};

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate an ed25519 key pair: NAME.pem (PKCS#8, mode 0600) and NAME.pub.
    Generate(GenerateArgs),
    /// Print the keyid of a public or private key file.
    Id(FileArgs),
    /// Print the securesystemslib key dict of a key file as JSON (for a GPG
    /// public key exported with `gpg --export [--armor]`, its GPG key dict).
    Show(FileArgs),
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact key generate alice
  INTACT_KEY_PASSWORD=secret intact key generate ci-build --encrypt

Exit codes:
  0   the key pair was written and its keyid printed
  2   the files cannot be written (or exist already)")]
pub struct GenerateArgs {
    /// Path stem of the key files (NAME.pem and NAME.pub are written).
    name: PathBuf,
    /// Encrypt the private key with a password (from INTACT_KEY_PASSWORD or a prompt).
    #[arg(long)]
    encrypt: bool,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact key id alice.pub
  intact key show alice.pem
  gpg --export --armor 8288EF56 > bob.asc && intact key show bob.asc

Exit codes:
  0   printed
  2   the file is unreadable or not a key")]
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
            println!("{}", load(&a)?.public_key().keyid()?);
            Ok(Outcome::Ok)
        }
        KeyCommand::Show(a) => {
            let dict = load(&a)?.public_key().to_key_dict()?;
            println!("{}", serde_json::to_string_pretty(dict.as_map())?);
            Ok(Outcome::Ok)
        }
    }
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
