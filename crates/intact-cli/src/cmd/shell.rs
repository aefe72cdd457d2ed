//! `intact completions SHELL` and `intact man DIR`: what packagers and
//! users install next to the binary, generated from the same clap
//! definitions the commands parse with (so they never drift).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use clap_complete::Shell;

use crate::Outcome;

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact completions bash > /etc/bash_completion.d/intact
  intact completions zsh > \"${fpath[1]}/_intact\"
  intact completions fish > ~/.config/fish/completions/intact.fish

Exit codes:
  0   the script was printed
  2   a usage error (an unknown shell)")]
pub struct CompletionsArgs {
    /// The shell to complete in.
    shell: Shell,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact man target/man && man -l target/man/intact-run.1

Exit codes:
  0   the pages were written
  2   the directory cannot be written")]
pub struct ManArgs {
    /// Where to write the pages (created when missing).
    dir: PathBuf,
}

pub fn completions(a: CompletionsArgs, mut cmd: clap::Command) -> Result<Outcome> {
    clap_complete::generate(a.shell, &mut cmd, "intact", &mut std::io::stdout());
    Ok(Outcome::Ok)
}

pub fn man(a: ManArgs, cmd: clap::Command) -> Result<Outcome> {
    std::fs::create_dir_all(&a.dir).with_context(|| a.dir.display().to_string())?;
    clap_mangen::generate_to(cmd, &a.dir).with_context(|| a.dir.display().to_string())?;
    Ok(Outcome::Ok)
}
