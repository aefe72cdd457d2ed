//! `intact key generate|id|show`, and the key-status document:
//! `intact key revoke|retire|activate|status` (intact-keystatus).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::collections::BTreeMap;

use intact_crypto::{load_key_file, write_key_pair, KeyFile, SigningKey};
use intact_keystatus::{Instant, KeyStatus};
use intact_model::KeyId;

use crate::{password, Outcome};

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate an ed25519 key pair: NAME.pem (PKCS#8, mode 0600) and NAME.pub.
    Generate(GenerateArgs),
    /// Print the keyid of a public or private key file, a PKCS#11 token key
    /// or an ssh-agent key.
    Id(FileArgs),
    /// Print the securesystemslib key dict of a key file as JSON (for a GPG
    /// public key exported with `gpg --export [--armor]`, its GPG key dict).
    Show(ShowArgs),
    /// Revoke a key in a key-status document (created if absent) and re-sign it.
    Revoke(RevokeArgs),
    /// Retire a key: signatures after --at are no longer accepted.
    Retire(WindowArgs),
    /// Set when a key becomes valid: signatures before --at are refused.
    Activate(WindowArgs),
    /// Print a key-status document after checking its signatures.
    Status(StatusArgs),
    /// List every key a chain uses: name, type, keyid, role, status, where it signed.
    List(ListArgs),
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact key list --layout root.layout
  intact key list --layout root.layout --link-dir links --key-status keys.status \\
      --layout-key alice.pub --log log --format json

Roles: owner (signed the layout), functionary of STEPS, git signer of STEP.
Status: active, not-yet-valid, retired, revoked (from the key-status
document, verified against --layout-key), unknown without one. The layout's
signatures are not checked here: intact verify does that.

Exit codes:
  0   the inventory was printed
  2   unusable input: the layout, a link, the document or the log")]
pub struct ListArgs {
    /// The signed layout.
    #[arg(long, short = 'l')]
    layout: PathBuf,
    /// Where the links are (read one level of subdirectories deep).
    #[arg(long)]
    link_dir: Option<PathBuf>,
    /// The key-status document (needs --layout-key to verify it).
    #[arg(long, value_name = "FILE", requires = "layout_keys")]
    key_status: Option<PathBuf>,
    /// The layout owners' public keys, to verify the key-status document.
    #[arg(long = "layout-key", short = 'k', value_name = "OWNER.pub")]
    layout_keys: Vec<PathBuf>,
    /// The transparency log (a directory or URL): first and last entries
    /// each key signed.
    #[arg(long, value_name = "DIR")]
    log: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: super::Format,
}

#[derive(Args)]
struct EditArgs {
    /// The key: a PEM public or private key file, or a keyid (64 hex digits).
    key: String,
    /// The key-status document to add to or create.
    #[arg(long, value_name = "FILE")]
    status: PathBuf,
    /// A layout owner's private key to sign the document with (repeatable).
    #[arg(long = "key", value_name = "OWNER.pem", required = true)]
    owner_keys: Vec<PathBuf>,
    /// The name to show for the key (default: the key file's name without
    /// extension; unchanged for a keyid).
    #[arg(long)]
    name: Option<String>,
    /// Ask for the password of an encrypted owner key.
    #[arg(long)]
    prompt: bool,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact key revoke bob.pub --reason \"laptop stolen\" --status keys.status --key alice.pem
  intact key revoke bob.pub --reason \"leaked in CI logs\" --at 2026-11-30T09:00:00Z --status keys.status --key alice.pem

Exit codes:
  0   the document was written (atomically) and signed
  2   a key or the document cannot be read, the document is not signed by
      a --key, or a time is malformed")]
pub struct RevokeArgs {
    #[command(flatten)]
    edit: EditArgs,
    /// Why (shown whenever a signature by the key is refused).
    #[arg(long, required = true)]
    reason: String,
    /// When the key was compromised, RFC 3339 (default: now).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact key retire bob.pub --at 2026-12-31T00:00:00Z --status keys.status --key alice.pem
  intact key activate carol.pub --at 2026-12-01T00:00:00Z --status keys.status --key alice.pem

Exit codes:
  0   the document was written (atomically) and signed
  2   a key or the document cannot be read, the document is not signed by
      a --key, or the time is malformed or leaves an empty window")]
pub struct WindowArgs {
    #[command(flatten)]
    edit: EditArgs,
    /// The instant, RFC 3339 (e.g. 2026-12-31T00:00:00Z).
    #[arg(long, value_name = "TIME", required = true)]
    at: String,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum StatusFormat {
    /// A line per key.
    Text,
    /// The signed document as JSON, with each key's state now.
    Json,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact key status keys.status --key alice.pub
  intact key status keys.status --key alice.pub --format json

Exit codes:
  0   the document is signed by the owner keys and printed
  2   it cannot be read, is malformed, or its signatures do not hold
      (a signer that is not a --key, a document changed after signing)")]
pub struct StatusArgs {
    /// The key-status document.
    file: PathBuf,
    /// The layout owners' public keys (every signature must be by one).
    #[arg(long = "key", value_name = "OWNER.pub", required = true)]
    owner_keys: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: StatusFormat,
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
  intact key id 'pkcs11:token=release;object=ed?module-path=/usr/lib/softhsm/libsofthsm2.so'
  intact key show --pem ssh-agent:release > release.pub

Exit codes:
  0   printed
  2   the file is unreadable or not a key")]
pub struct FileArgs {
    /// A PEM key file (public or private), a PEM X.509 certificate, an
    /// exported GPG public key, a PKCS#11 URI (pkcs11:...) or an ssh-agent
    /// key (ssh-agent:FINGERPRINT|COMMENT).
    file: PathBuf,
    /// Ask for the password of an encrypted private key.
    #[arg(long)]
    prompt: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    key: FileArgs,
    /// Print the public key as a SubjectPublicKeyInfo PEM (a .pub file for
    /// layouts) instead of the key dict.
    #[arg(long)]
    pem: bool,
}

pub fn run(cmd: KeyCommand) -> Result<Outcome> {
    match cmd {
        KeyCommand::Generate(a) => generate(a),
        KeyCommand::List(a) => list(a),
        KeyCommand::Id(a) => {
            if let Some(cert) = certificate(&a.file)? {
                // The keyid alone on stdout, for scripts; the subject beside it.
                println!("{}", cert.keyid()?);
                eprintln!("certificate {}", cert.name());
                return Ok(Outcome::Ok);
            }
            println!("{}", load(&a)?.public_key().keyid()?);
            Ok(Outcome::Ok)
        }
        KeyCommand::Show(a) if a.pem => {
            print!("{}", load(&a.key)?.public_key().to_spki_pem()?);
            Ok(Outcome::Ok)
        }
        KeyCommand::Show(a) => {
            if let Some(cert) = certificate(&a.key.file)? {
                let mut dict = cert.to_key_dict()?.as_map().clone();
                dict.insert("x-intact-certificate".into(), cert.summary().into());
                println!("{}", serde_json::to_string_pretty(&dict)?);
                return Ok(Outcome::Ok);
            }
            let dict = load(&a.key)?.public_key().to_key_dict()?;
            println!("{}", serde_json::to_string_pretty(dict.as_map())?);
            Ok(Outcome::Ok)
        }
        KeyCommand::Revoke(a) => {
            let at = match &a.at {
                Some(t) => parse_time(t)?,
                None => Instant::new(time::OffsetDateTime::now_utc()),
            };
            edit(&a.edit, |e| {
                e.revoked_at = Some(at);
                e.reason = Some(a.reason.clone());
            })
        }
        KeyCommand::Retire(a) => {
            let at = parse_time(&a.at)?;
            edit(&a.edit, |e| e.not_after = Some(at))
        }
        KeyCommand::Activate(a) => {
            let at = parse_time(&a.at)?;
            edit(&a.edit, |e| e.not_before = Some(at))
        }
        KeyCommand::Status(a) => status(a),
    }
}

/// The certificate in `path`, when it is a PEM certificate (docs/pki.md).
fn certificate(path: &std::path::Path) -> Result<Option<intact_crypto::x509::Certificate>> {
    let Ok(text) = intact_model::io::read_limited_string(path, 1 << 20) else {
        return Ok(None);
    };
    if !intact_crypto::x509::is_certificate_pem(&text) {
        return Ok(None);
    }
    intact_crypto::x509::Certificate::from_pem(&text)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn parse_time(s: &str) -> Result<Instant> {
    Instant::parse_lenient(s).map_err(|e| anyhow::anyhow!("--at: {e}"))
}

/// The keyid and default name of a KEY argument: a key file, or a keyid.
fn key_arg(arg: &str) -> Result<(KeyId, Option<String>)> {
    let path = std::path::Path::new(arg);
    if path.exists() {
        let key = load_key_file(path, None).or_else(|e| {
            if e.needs_password() {
                // The public half of an encrypted key cannot be read
                // without its password; ask for the .pub instead.
                anyhow::bail!("{arg}: encrypted private key; give its .pub file")
            }
            Err(e.into())
        })?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        return Ok((key.public_key().keyid()?, stem));
    }
    if arg.len() == 64 {
        if let Ok(id) = KeyId::new(arg.to_ascii_lowercase()) {
            return Ok((id, None));
        }
    }
    anyhow::bail!("{arg}: neither a key file nor a keyid (64 hex digits)")
}

fn edit(a: &EditArgs, change: impl FnOnce(&mut intact_keystatus::KeyEntry)) -> Result<Outcome> {
    let (keyid, stem) = key_arg(&a.key)?;
    let mut signers = Vec::new();
    for path in &a.owner_keys {
        signers.push(super::load_signing_key(path, a.prompt)?);
    }
    let mut publics = BTreeMap::new();
    for k in &signers {
        publics.insert(k.keyid()?, k.public_key().clone());
    }
    let mut doc = if a.status.exists() {
        let env = intact_keystatus::load_envelope(&a.status)?;
        intact_keystatus::open_for_edit(&env, &publics)
            .map_err(|e| anyhow::anyhow!("{}: {e}", a.status.display()))?
    } else {
        KeyStatus::default()
    };
    let name = a.name.clone().or(stem);
    let entry = doc.entry_mut(&keyid, name.as_deref());
    change(entry);
    doc.version = doc.version.saturating_add(1);
    let refs: Vec<&SigningKey> = signers.iter().collect();
    let env = intact_keystatus::sign(&doc, &refs)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.status.display()))?;
    intact_keystatus::save(&a.status, &env)?;
    eprintln!(
        "wrote {} (version {}, {} key(s)), signed by {}",
        a.status.display(),
        doc.version,
        doc.keys.len(),
        publics
            .keys()
            .map(|k| k.short().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Outcome::Ok)
}

/// Owner public keys by keyid (any key file: the public half is used).
pub fn owner_keys(paths: &[PathBuf]) -> Result<BTreeMap<KeyId, intact_crypto::PublicKey>> {
    let mut owners = BTreeMap::new();
    for path in paths {
        let key = intact_crypto::load_public_key(path)?;
        owners.insert(key.keyid()?, key);
    }
    Ok(owners)
}

fn status(a: StatusArgs) -> Result<Outcome> {
    let owners = owner_keys(&a.owner_keys)?;
    let doc = intact_keystatus::load(&a.file, &owners)?;
    let now = Instant::new(time::OffsetDateTime::now_utc());
    match a.format {
        StatusFormat::Json => {
            let mut value = serde_json::to_value(&doc)?;
            if let Some(keys) = value.get_mut("keys").and_then(|k| k.as_object_mut()) {
                for (keyid, entry) in doc.keys.iter() {
                    if let Some(obj) = keys.get_mut(keyid.as_str()).and_then(|v| v.as_object_mut())
                    {
                        obj.insert("state".into(), entry.state_at(now).as_str().into());
                    }
                }
            }
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        StatusFormat::Text => {
            println!(
                "{} version {}, {} key(s), signatures verified",
                a.file.display(),
                doc.version,
                doc.keys.len()
            );
            for (keyid, e) in &doc.keys {
                let name = e.name.as_deref().map(intact_model::escape::escape);
                let mut line = format!(
                    "{}  {:<14} {}",
                    keyid.short(),
                    e.state_at(now).as_str(),
                    name.map(|n| n.to_string()).unwrap_or_default()
                );
                if let Some(b) = e.not_before {
                    line.push_str(&format!("  not before {b}"));
                }
                if let Some(t) = e.not_after {
                    line.push_str(&format!("  not after {t}"));
                }
                if let (Some(r), Some(why)) = (e.revoked_at, &e.reason) {
                    line.push_str(&format!(
                        "  revoked {r}: {}",
                        intact_model::escape::escape(why)
                    ));
                }
                println!("{line}");
            }
        }
    }
    Ok(Outcome::Ok)
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

fn list(a: ListArgs) -> Result<Outcome> {
    let md = intact_model::Metadata::load(&a.layout)?;
    let status = match &a.key_status {
        Some(path) => Some(intact_keystatus::load(path, &owner_keys(&a.layout_keys)?)?),
        None => None,
    };
    let log = a.log.as_deref().map(super::log::source).transpose()?;
    let mut owners = BTreeMap::new();
    for path in &a.layout_keys {
        let key = intact_crypto::load_public_key(path)?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        owners.insert(key.keyid()?, (name, key));
    }
    let inventory =
        intact_verify::inventory::inventory(&intact_verify::inventory::InventoryInput {
            layout: &md,
            link_dir: a.link_dir.as_deref(),
            status: status.as_ref(),
            log: log.as_deref(),
            owners: &owners,
            now: time::OffsetDateTime::now_utc(),
        })
        .with_context(|| a.layout.display().to_string())?;
    match a.format {
        super::Format::Text => print!("{inventory}"),
        super::Format::Json => println!("{}", serde_json::to_string_pretty(&inventory)?),
    }
    Ok(Outcome::Ok)
}
