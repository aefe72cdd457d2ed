//! `intact drill`: mount attacks on a copy of a chain and report which
//! the layout catches (the work is `intact_drill::drill`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use intact_drill::{drill, Chain, DrillOptions};

use crate::Outcome;

#[derive(Clone, Copy, ValueEnum)]
pub enum DrillFormat {
    /// For people.
    Text,
    /// `intact.drill-report/v1` (docs/attack-drills.md).
    Json,
    /// A Markdown table, for reviews and release notes.
    Markdown,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact drill --layout root.layout --layout-key alice.pub --link-dir work --workdir final
  intact drill --layout root.layout --layout-key alice.pub --link-dir work --old-link-dir last-release --format markdown
  intact drill --layout root.layout --layout-key owner.pub --link-dir . --git-repo project

The chain must verify as given. Each attack (a swapped final product, a
material changed between steps, an unexpected or deleted product, a dropped
or misfiled link, a link re-signed with the attacker's own key, a padded
threshold, a layout edited after signing, an expired layout, a replayed
older link; with --git-repo, an unsigned commit, a foreign signer and a
tree that differs from the commit) is verified in isolation on a copy:
links in memory, inspections in a scratch copy of --workdir, git attacks
in a scratch clone of --git-repo, all removed afterwards. The originals
are only read. An attack counts as caught only when verification fails
for the reason it targets; another failure is an ERROR of the drill.
docs/attack-drills.md explains each attack.

Exit codes:
  0   every applicable attack was caught
  1   at least one attack was NOT caught (a hole in the layout), or ended
      in an ERROR (failed for another reason: nothing proven)
  2   unusable input, or the chain does not verify as given")]
pub struct DrillArgs {
    /// The signed root layout.
    #[arg(long)]
    layout: PathBuf,
    /// The layout owners' public keys.
    #[arg(long = "layout-key", required = true, num_args = 1..)]
    layout_keys: Vec<PathBuf>,
    /// The directory holding the chain's links.
    #[arg(long)]
    link_dir: PathBuf,
    /// The directory inspections run in (copied; never written).
    #[arg(long)]
    workdir: Option<PathBuf>,
    /// Links of an older run, for the replay attack.
    #[arg(long)]
    old_link_dir: Option<PathBuf>,
    /// The repository the layout's git policy is checked against (only
    /// read: the git attacks run on scratch clones of it).
    #[arg(long)]
    git_repo: Option<PathBuf>,
    /// Values for layout parameters, NAME=VALUE.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: DrillFormat,
}

pub fn run(a: DrillArgs) -> Result<Outcome> {
    let mut params = BTreeMap::new();
    for p in &a.params {
        let Some((name, value)) = p.split_once('=') else {
            bail!("--param {p:?}: expected NAME=VALUE");
        };
        params.insert(name.to_string(), value.to_string());
    }
    let chain = Chain::load(
        &a.layout,
        &a.layout_keys,
        &a.link_dir,
        a.workdir.as_deref(),
        a.old_link_dir.as_deref(),
    )?
    .with_git_repo(a.git_repo.as_deref());
    let report = drill(&chain, &DrillOptions::default().params(params))?;
    match a.format {
        DrillFormat::Text => print!("{}", report.to_text()),
        DrillFormat::Json => println!("{}", serde_json::to_string_pretty(&report.to_json())?),
        DrillFormat::Markdown => print!("{}", report.to_markdown()),
    }
    Ok(if report.passed() {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
