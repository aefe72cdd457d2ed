//! `intact show FILE`: what a metadata file is, at a glance.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use intact_model::escape::escape;

use super::Format;
use crate::Outcome;

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact show build.1234abcd.link
  intact show build.1234abcd.link --key bob.pub --artifacts
  intact show root.layout --format json
  curl -s https://example.com/root.layout | intact show -

Signatures are listed as not checked unless --key is given: a keyid in a
file says who claims to have signed it, not who did.

Exit codes:
  0   the summary was printed (also when a signature is invalid: it says so)
  2   the file or key is unreadable or the file is not a link, layout or envelope")]
pub struct ShowArgs {
    /// A link or layout (Metablock or DSSE envelope); `-` reads standard
    /// input.
    file: PathBuf,
    /// Check the signatures by this public key.
    #[arg(long, short = 'k', value_name = "KEY")]
    key: Option<PathBuf>,
    /// List every material and product with its digests.
    #[arg(long)]
    artifacts: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(a: ShowArgs) -> Result<Outcome> {
    let md = super::load_metadata(&a.file, intact_model::io::DEFAULT_MAX_METADATA_SIZE)?;
    let key = match &a.key {
        Some(path) => {
            let key = intact_crypto::load_public_key(path)?;
            Some((key.keyid()?, key))
        }
        None => None,
    };
    let d = intact_verify::describe(&md, key.as_ref().map(|(id, k)| (id, k)), a.artifacts)
        .map_err(|e| e.in_file(&a.file))?;
    match a.format {
        Format::Text => print!("{}: {d}", escape(&a.file.display().to_string())),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&d).context("encoding the description")?
        ),
    }
    Ok(Outcome::Ok)
}
