//! `intact run` and `intact record start|stop`: wrap a CI step and write
//! its signed link.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use intact_crypto::SigningKey;
use intact_model::{Container, StepName};
use intact_record::{HashOptions, RunOptions};
use intact_step::{
    run_step, start_step, stop_step, GitCapture, Recorded, RunRequest, StartRequest, StopRequest,
};

use crate::Outcome;

/// Options shared by `run`, `record start` and `record stop`.
#[derive(Args)]
pub struct Common {
    /// The step name (as in the layout).
    #[arg(long, short = 'n')]
    step: String,
    /// The functionary's private key.
    #[arg(long, short = 'k')]
    key: PathBuf,
    /// Ask for the key's password.
    #[arg(long)]
    prompt: bool,
    /// gitignore-style exclude patterns; they replace the defaults
    /// (`*.link*`, `.git`, `*.pyc`, `*~`), as in the reference.
    #[arg(long, num_args = 1..)]
    exclude: Option<Vec<String>>,
    /// Record names relative to this directory.
    #[arg(long)]
    base_path: Option<PathBuf>,
    /// Remove these prefixes from recorded names.
    #[arg(long, num_args = 1..)]
    lstrip_paths: Vec<String>,
    /// Skip paths that do not exist (the reference's silent behaviour).
    #[arg(long)]
    allow_missing: bool,
    /// Record these environment variables' values in the link.
    #[arg(long, num_args = 1..)]
    record_env: Vec<String>,
    /// Record the git facts of this repository (default: of the work
    /// tree the materials, else the products, lie in).
    #[arg(long, value_name = "DIR", conflicts_with = "no_git")]
    git: Option<PathBuf>,
    /// Record no git facts.
    #[arg(long)]
    no_git: bool,
    /// Record a work tree with uncommitted changes (the link says
    /// `dirty: true`) instead of refusing.
    #[arg(long)]
    allow_dirty: bool,
}

impl Common {
    fn hash_options(&self) -> HashOptions {
        HashOptions {
            base_path: self.base_path.clone(),
            excludes: self.exclude.clone(),
            lstrip_paths: self.lstrip_paths.clone(),
            allow_missing: self.allow_missing,
            reporter: Some(crate::progress::reporter()),
            ..HashOptions::default()
        }
    }

    fn step(&self) -> Result<StepName> {
        StepName::new(&self.step)
            .map_err(anyhow::Error::msg)
            .context("--step")
    }

    fn key(&self) -> Result<SigningKey> {
        super::load_signing_key(&self.key, self.prompt)
    }

    /// Git facts to capture: none with `--no-git`, else of the work tree
    /// the paths lie in (or of `--git`).
    fn git(&self) -> Option<GitCapture> {
        (!self.no_git).then(|| {
            GitCapture::new()
                .allow_dirty(self.allow_dirty)
                .repo(self.git.clone())
        })
    }
}

fn container(dsse: bool) -> Container {
    if dsse {
        Container::Envelope
    } else {
        Container::Metablock
    }
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    common: Common,
    /// Paths to record before the command runs.
    #[arg(long, short = 'm', num_args = 1..)]
    materials: Vec<String>,
    /// Paths to record after the command ran.
    #[arg(long, short = 'p', num_args = 1..)]
    products: Vec<String>,
    /// Where to write the link (default: the current directory).
    #[arg(long, short = 'd')]
    metadata_directory: Option<PathBuf>,
    /// Write a DSSE envelope instead of a Metablock.
    #[arg(long)]
    dsse: bool,
    /// Record without running a command.
    #[arg(long, short = 'x')]
    no_command: bool,
    /// Kill the command after this many seconds (default: no limit).
    #[arg(long)]
    timeout: Option<u64>,
    /// The command to run.
    #[arg(last = true)]
    command: Vec<String>,
}

/// Print what was written and let the metadata go unfreed: the command
/// ends next, and the system takes the memory back at once; freeing
/// 100,000 artifact names one by one took 5 ms.
fn wrote(recorded: Recorded) -> Option<intact_record::RunResult> {
    let Recorded {
        path,
        metadata,
        run,
        ..
    } = recorded;
    std::mem::forget(metadata);
    eprintln!("intact: wrote {}", path.display());
    run
}

pub fn run(a: RunArgs) -> Result<Outcome> {
    if a.no_command != a.command.is_empty() {
        bail!("give a command after `--`, or --no-command (not both)");
    }
    let key = a.common.key()?;
    let step = a.common.step()?;
    let mut req = RunRequest::new(step, &key)
        .materials(a.materials)
        .products(a.products)
        .command((!a.no_command).then_some(a.command))
        .hash_options(a.common.hash_options())
        .run_options(RunOptions {
            timeout: a.timeout.map(Duration::from_secs),
            ..RunOptions::default()
        })
        .git(a.common.git())
        .container(container(a.dsse));
    if !a.common.record_env.is_empty() {
        req = req.environment(a.common.record_env.iter().cloned());
    }
    if let Some(dir) = a.metadata_directory {
        req = req.link_dir(dir);
    }
    let result = wrote(run_step(&req)?);
    // Like in-toto-run: the link is written, then the command's failure
    // becomes ours.
    let rv = result.map_or(0, |r| r.return_value);
    Ok(match rv {
        0 => Outcome::Ok,
        1..=255 => Outcome::Exit(rv as u8),
        _ => Outcome::Exit(1),
    })
}

#[derive(Subcommand)]
pub enum RecordCommand {
    /// Record materials and write `.NAME.<keyid8>.link-unfinished`.
    Start(StartArgs),
    /// Record products, sign and write `NAME.<keyid8>.link`.
    Stop(StopArgs),
}

#[derive(Args)]
pub struct StartArgs {
    #[command(flatten)]
    common: Common,
    /// Paths to record as materials.
    #[arg(long, short = 'm', num_args = 1..)]
    materials: Vec<String>,
    /// Write a DSSE envelope instead of a Metablock.
    #[arg(long)]
    dsse: bool,
}

#[derive(Args)]
pub struct StopArgs {
    #[command(flatten)]
    common: Common,
    /// Paths to record as products.
    #[arg(long, short = 'p', num_args = 1..)]
    products: Vec<String>,
    /// Where to write the link (default: the current directory).
    #[arg(long, short = 'd')]
    metadata_directory: Option<PathBuf>,
}

pub fn record(cmd: RecordCommand) -> Result<Outcome> {
    match cmd {
        RecordCommand::Start(a) => {
            let key = a.common.key()?;
            let mut req = StartRequest::new(a.common.step()?, &key)
                .materials(a.materials)
                .hash_options(a.common.hash_options())
                .git(a.common.git())
                .container(container(a.dsse));
            if !a.common.record_env.is_empty() {
                req = req.environment(a.common.record_env.iter().cloned());
            }
            wrote(start_step(&req)?);
            Ok(Outcome::Ok)
        }
        RecordCommand::Stop(a) => {
            let key = a.common.key()?;
            let mut req = StopRequest::new(a.common.step()?, &key)
                .products(a.products)
                .hash_options(a.common.hash_options())
                .git(a.common.git());
            if let Some(dir) = a.metadata_directory {
                req = req.link_dir(dir);
            }
            wrote(stop_step(&req)?);
            Ok(Outcome::Ok)
        }
    }
}
