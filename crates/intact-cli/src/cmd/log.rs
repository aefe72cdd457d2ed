//! `intact log init|add|verify|prove|show|stats`: the transparency log
//! (docs/transparency-log.md). The work is `intact_log`'s; this parses
//! and prints.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use intact_log::{DirSource, EntryContext, LogError, LogKey, LogWriter, Source};
use intact_model::escape::escape;

use super::Format;
use crate::Outcome;

#[derive(Subcommand)]
pub enum LogCommand {
    /// Start a log in a directory, with an ed25519 log key and an origin name.
    Init(InitArgs),
    /// Append an entry for each link, layout, attestation or verification report.
    Add(AddArgs),
    /// Verify a log: tiles, entries, the signed checkpoint, consistency with an earlier one.
    Verify(VerifyArgs),
    /// Write the inclusion proof of a file's entry (FILE.proof).
    Prove(ProveArgs),
    /// List a log's checkpoint and entries.
    Show(ShowArgs),
    /// Metrics from a log's entries: events by kind, failures, delays, keys.
    Stats(StatsArgs),
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact key generate log
  intact log init transparency --key log.pem --origin example.com/releases

The directory gets a signed checkpoint of the empty tree and a private
.intact-log/ (the key's path and the append lock; do not publish it).

Exit codes:
  0   the log was created
  2   the key is unreadable or not ed25519, the origin is invalid, or the directory already holds a log")]
pub struct InitArgs {
    /// The log directory (created if missing).
    dir: PathBuf,
    /// The log's private key (unencrypted ed25519 PEM, from `intact key generate`).
    #[arg(long, value_name = "LOG.pem")]
    key: PathBuf,
    /// The log's name: its checkpoints' first line and signature name.
    #[arg(long, value_name = "NAME")]
    origin: String,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact log add transparency build.776a00e2.link root.layout
  intact log add transparency report.json --key log.pem

Exit codes:
  0   every file was logged
  2   a file is unreadable or not a link, layout, attestation or verification report (nothing is logged), or the log cannot be written")]
pub struct AddArgs {
    /// The log directory.
    dir: PathBuf,
    /// Links, layouts, attestations (DSSE Statements) or verification
    /// reports (`intact verify --format json`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The log key, instead of the one named at `log init`.
    #[arg(long, value_name = "LOG.pem")]
    key: Option<PathBuf>,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact log verify transparency --log-key log.pub
  intact log verify transparency --log-key log.pub --since kept/checkpoint
  intact log verify http://127.0.0.1:8080/log --log-key log.pub

Keep the checkpoint a verification accepted, and pass it with --since
next time: a log whose history was rewritten or forked since then fails.

Exit codes:
  0   the log verified (and is consistent with --since)
  1   it did not: a tile or entry bundle is missing, truncated or corrupted, the checkpoint is not signed by the log key, or the history is inconsistent with --since (the error names the file)
  2   the key or --since file is unreadable, or the log cannot be read")]
pub struct VerifyArgs {
    /// The log directory, or its http:// or https:// URL.
    log: String,
    /// The log's public key (ed25519 SPKI PEM).
    #[arg(long, value_name = "LOG.pub")]
    log_key: PathBuf,
    /// An earlier checkpoint of this log, kept by the auditor.
    #[arg(long, value_name = "CHECKPOINT")]
    since: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact log prove transparency build.776a00e2.link
  intact log prove transparency root.layout --output -

Exit codes:
  0   the proof was written
  1   no entry of the log records the file
  2   the file or the log cannot be read")]
pub struct ProveArgs {
    /// The log directory, or its http:// or https:// URL.
    dir: String,
    /// A file logged before.
    file: PathBuf,
    /// Where to write the proof (`-` for standard output); FILE.proof by default.
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact log show transparency
  intact log show transparency --format json

The checkpoint's signature is not checked here: `intact log verify` does.

Exit codes:
  0   printed
  2   the log cannot be read or an entry bundle is malformed")]
pub struct ShowArgs {
    /// The log directory, or its http:// or https:// URL.
    dir: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum StatsFormat {
    /// For people.
    Text,
    /// JSON.
    Json,
    /// Prometheus text exposition.
    Prometheus,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact log stats transparency
  intact log stats transparency --format prometheus > /var/lib/node_exporter/intact.prom
  intact log stats https://example.com/log --format json

Exit codes:
  0   printed
  2   the log cannot be read")]
pub struct StatsArgs {
    /// The log directory, or its http:// or https:// URL.
    dir: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: StatsFormat,
}

pub fn run(cmd: LogCommand) -> Result<Outcome> {
    match cmd {
        LogCommand::Init(a) => init(a),
        LogCommand::Add(a) => add(a),
        LogCommand::Verify(a) => verify(a),
        LogCommand::Prove(a) => prove(a),
        LogCommand::Show(a) => show(a),
        LogCommand::Stats(a) => stats(a),
    }
}

fn shown(p: &Path) -> String {
    escape(&p.display().to_string()).to_string()
}

fn init(a: InitArgs) -> Result<Outcome> {
    let w = LogWriter::init(&a.dir, &a.key, &a.origin)?;
    println!("initialised log {} (origin {})", shown(&a.dir), a.origin);
    println!("log key: {}", w.vkey());
    Ok(Outcome::Ok)
}

fn add(a: AddArgs) -> Result<Outcome> {
    let w = LogWriter::open(&a.dir, a.key.as_deref())?;
    let (appended, entries) = w.add_files(&a.files, &EntryContext::now())?;
    for (i, (f, e)) in a.files.iter().zip(&entries).enumerate() {
        println!(
            "logged {} as entry {} ({})",
            shown(f),
            appended.first_index + i as u64,
            e.kind.as_str()
        );
    }
    println!("checkpoint: {} entries", appended.size);
    Ok(Outcome::Ok)
}

/// A log's source from a directory path or an http(s) URL.
pub fn source(log: &str) -> Result<Box<dyn Source>> {
    if log.starts_with("http://") || log.starts_with("https://") {
        return Ok(Box::new(intact_log::HttpSource::new(log)?));
    }
    Ok(Box::new(DirSource::new(log)))
}

fn verify(a: VerifyArgs) -> Result<Outcome> {
    let key = LogKey::load(&a.log_key)?;
    let since = match &a.since {
        Some(p) => Some((
            shown(p),
            intact_model::io::read_limited(p, intact_log::MAX_FILE)?.to_vec(),
        )),
        None => None,
    };
    let src = source(&a.log)?;
    let result = intact_log::verify(
        src.as_ref(),
        &key,
        since.as_ref().map(|(n, b)| (n.as_str(), b.as_slice())),
    );
    match result {
        Ok(v) => {
            match a.format {
                Format::Text => {
                    println!(
                        "log {} verified: origin {}, {} entries, root {}",
                        escape(&a.log),
                        v.origin,
                        v.size,
                        v.root
                    );
                    if let (Some(n), Some((name, _))) = (v.since_size, &since) {
                        println!("consistent with {name} ({n} entries)");
                    }
                }
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "verified": true,
                        "origin": v.origin,
                        "size": v.size,
                        "root": v.root.to_string(),
                        "since_size": v.since_size,
                    }))
                    .context("encoding the result")?
                ),
            }
            Ok(Outcome::Ok)
        }
        Err(e) if e.is_verification_failure() => {
            match a.format {
                Format::Text => println!("log {} FAILED [{}]: {e}", escape(&a.log), e.code()),
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "verified": false,
                        "code": e.code(),
                        "message": e.to_string(),
                    }))
                    .context("encoding the result")?
                ),
            }
            Ok(Outcome::Failed)
        }
        Err(e) => Err(e.into()),
    }
}

fn prove(a: ProveArgs) -> Result<Outcome> {
    let bytes =
        intact_model::io::read_limited(&a.file, intact_model::io::DEFAULT_MAX_METADATA_SIZE)?;
    let bundle = match intact_log::prove_file(source(&a.dir)?.as_ref(), &a.file, &bytes) {
        Ok(b) => b,
        Err(e @ LogError::NotLogged { .. }) => {
            eprintln!("error: {e}");
            return Ok(Outcome::Failed);
        }
        Err(e) => return Err(e.into()),
    };
    let out = a.output.unwrap_or_else(|| intact_log::proof_path(&a.file));
    let text = bundle.to_bytes()?;
    if out.as_os_str() == "-" {
        print!("{}", String::from_utf8_lossy(&text));
    } else {
        intact_model::io::write_atomic(&out, &text, 0o644)?;
        println!(
            "wrote {} (entry {} under a checkpoint of {} entries)",
            shown(&out),
            bundle.index,
            bundle_size(&bundle)
        );
    }
    Ok(Outcome::Ok)
}

fn bundle_size(b: &intact_log::ProofBundle) -> String {
    b.checkpoint.lines().nth(1).unwrap_or("?").to_string()
}

fn show(a: ShowArgs) -> Result<Outcome> {
    let src = source(&a.dir)?;
    let (cp, _) = intact_log::read_checkpoint_unverified(src.as_ref())?;
    let mut rows = Vec::new();
    intact_log::for_each_entry(src.as_ref(), cp.size(), |i, e| {
        rows.push((i, intact_log::Entry::from_bytes(e), e.len()));
        Ok(())
    })?;
    match a.format {
        Format::Text => {
            println!("origin: {}", cp.origin());
            println!("size: {}", cp.size());
            println!("root: {}", cp.hash());
            for (i, e, len) in &rows {
                match e {
                    Ok(e) => {
                        println!(
                            "{i:>6}  {:<19}  {}  sha256:{}  {}",
                            e.kind.as_str(),
                            e.time,
                            e.sha256.get(..12).unwrap_or(&e.sha256),
                            escape(&e.file)
                        );
                        for c in &e.certificates {
                            println!(
                                "        certificate {} serial {} issuer {} valid {} to {}",
                                escape(&c.subject),
                                c.serial,
                                escape(&c.issuer),
                                c.not_before,
                                c.not_after
                            );
                        }
                    }
                    Err(_) => println!("{i:>6}  (not an intact entry, {len} bytes)"),
                }
            }
        }
        Format::Json => {
            let entries: Vec<serde_json::Value> = rows
                .iter()
                .map(|(i, e, len)| match e {
                    Ok(e) => serde_json::json!({"index": i, "entry": e}),
                    Err(_) => serde_json::json!({"index": i, "bytes": len}),
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "origin": cp.origin(),
                    "size": cp.size(),
                    "root": cp.hash().to_string(),
                    "entries": entries,
                }))
                .context("encoding the log")?
            );
        }
    }
    Ok(Outcome::Ok)
}

fn stats(a: StatsArgs) -> Result<Outcome> {
    let s = intact_log::stats(source(&a.dir)?.as_ref())?;
    match a.format {
        StatsFormat::Text => print!("{}", s.to_text()),
        StatsFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&s).context("encoding the statistics")?
        ),
        StatsFormat::Prometheus => print!("{}", s.to_prometheus()),
    }
    Ok(Outcome::Ok)
}
