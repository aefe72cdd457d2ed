//! `intact verify`: end-to-end verification of a supply chain.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use intact_crypto::load_public_key;
use intact_model::Metadata;
use intact_verify::{verify, DirLinkSource, VerifyOptions};

use crate::Outcome;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// A line per stage with a tick or a cross, then the failure.
    Text,
    /// The stable JSON schema of docs/verify-report.md.
    Json,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The signed root layout.
    #[arg(long, short = 'l')]
    layout: PathBuf,
    /// Public keys of the layout owners; every one must have signed.
    #[arg(long = "layout-key", short = 'k', required = true, num_args = 1..)]
    layout_keys: Vec<PathBuf>,
    /// Directory holding the links (it must exist).
    #[arg(long, default_value = ".")]
    link_dir: PathBuf,
    /// Refuse a layout or link file larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = intact_model::io::DEFAULT_MAX_METADATA_SIZE)]
    max_metadata_size: u64,
    /// Values for layout parameters, NAME=VALUE.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Directory inspections run in.
    #[arg(long, default_value = ".")]
    workdir: PathBuf,
    /// Seconds before an inspection is killed.
    #[arg(long, default_value_t = 600)]
    inspection_timeout: u64,
    /// Accept what the in-toto reference accepts where intact is stricter
    /// (see docs/verification.md).
    #[arg(long)]
    compat: bool,
    /// The project's git repository, for a layout with git provenance.
    #[arg(long, value_name = "DIR")]
    git_repo: Option<PathBuf>,
    /// Verify GPG-signed commits with the keyring in this directory
    /// (without it they fail as unverified).
    #[arg(long, value_name = "DIR")]
    gpg_home: Option<PathBuf>,
}

pub fn run(a: VerifyArgs) -> Result<Outcome> {
    let layout = Metadata::load_limited(&a.layout, a.max_metadata_size)?;
    let mut keys = BTreeMap::new();
    for path in &a.layout_keys {
        let key = load_public_key(path)?;
        keys.insert(key.keyid()?, key);
    }
    let mut params = BTreeMap::new();
    for p in &a.params {
        let Some((name, value)) = p.split_once('=') else {
            bail!("--param {p:?}: expected NAME=VALUE");
        };
        params.insert(name.to_string(), value.to_string());
    }
    let mut opts = VerifyOptions::new()
        .params(params)
        .workdir(&a.workdir)
        .inspection_timeout(Some(Duration::from_secs(a.inspection_timeout)))
        .compat(a.compat)
        .max_metadata_size(a.max_metadata_size);
    if let Some(repo) = &a.git_repo {
        opts = opts.git_repo(repo);
    }
    if let Some(home) = &a.gpg_home {
        opts = opts.gpg(intact_git::GpgVerifier::new(home));
    }
    let links = DirLinkSource::open(&a.link_dir)?;
    let report = verify(&layout, &keys, &links, &opts)?;
    match a.format {
        Format::Text => println!("{report}"),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).context("encoding the report")?
        ),
    }
    Ok(if report.verified {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
