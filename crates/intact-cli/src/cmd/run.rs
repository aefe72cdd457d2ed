//! `intact run` and `intact record start|stop`: wrap a CI step and write
//! its signed link.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use intact_crypto::{sign_and_save, sign_metadata, verify_metadata, SigningKey};
use intact_git::{capture, CaptureOptions, GitFacts};
use intact_model::{Container, Link, Metadata, Payload, StepName};
use intact_record::{environment, record_run, record_start, record_stop, HashOptions, RunOptions};

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

    /// The git facts of the work tree `paths` lie in (or of `--git`).
    fn capture_git(&self, paths: &[String]) -> Result<Option<GitFacts>> {
        if self.no_git {
            return Ok(None);
        }
        let opts = CaptureOptions {
            base_path: self.base_path.clone(),
            excludes: self.hash_options().exclude_patterns(),
            lstrip_paths: self.lstrip_paths.clone(),
            allow_dirty: self.allow_dirty,
            repo: self.git.clone(),
        };
        Ok(capture(paths, &opts)?)
    }

    /// Record the environment in the link, only when asked to.
    fn add_environment(&self, link: &mut Link) {
        if !self.record_env.is_empty() {
            link.environment = environment(&self.record_env);
        }
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

fn write_signed(
    link: Link,
    container: Container,
    key: &SigningKey,
    dir: Option<&Path>,
) -> Result<PathBuf> {
    let step = link.name.clone();
    let mut md = Metadata::new(link.into(), container)?;
    let (_, path) = sign_and_save(&mut md, key, |keyid| {
        let name = step.link_file_name(keyid);
        dir.map_or_else(|| PathBuf::from(&name), |d| d.join(&name))
    })?;
    // The command ends next, and the system takes the memory back at once;
    // freeing 100,000 artifact names one by one took 5 ms.
    std::mem::forget(md);
    Ok(path)
}

pub fn run(a: RunArgs) -> Result<Outcome> {
    if a.no_command != a.command.is_empty() {
        bail!("give a command after `--`, or --no-command (not both)");
    }
    let key = a.common.key()?;
    let step = a.common.step()?;
    let run = RunOptions {
        timeout: a.timeout.map(Duration::from_secs),
        ..RunOptions::default()
    };
    let command = (!a.no_command).then_some(a.command.as_slice());
    // Git facts describe the inputs: taken before the command runs when
    // the materials lie in a work tree, after it (a clone) otherwise.
    let early = a.common.capture_git(&a.materials)?;
    let (mut link, result) = record_run(
        step,
        &a.materials,
        &a.products,
        command,
        &a.common.hash_options(),
        &run,
    )?;
    a.common.add_environment(&mut link);
    let facts = match early {
        Some(f) => Some(f),
        None => a.common.capture_git(&a.products)?,
    };
    if let Some(f) = facts {
        f.attach(&mut link)?;
    }
    let container = container(a.dsse);
    let path = write_signed(link, container, &key, a.metadata_directory.as_deref())?;
    eprintln!("intact: wrote {}", path.display());
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
            let step = a.common.step()?;
            let facts = a.common.capture_git(&a.materials)?;
            let mut link = record_start(step.clone(), &a.materials, &a.common.hash_options())?;
            a.common.add_environment(&mut link);
            if let Some(f) = facts {
                f.attach(&mut link)?;
            }
            let container = container(a.dsse);
            let mut md = Metadata::new(link.into(), container)?;
            let keyid = sign_metadata(&mut md, &key)?;
            let path = PathBuf::from(step.unfinished_link_file_name(&keyid));
            md.save(&path)?;
            eprintln!("intact: wrote {}", path.display());
            Ok(Outcome::Ok)
        }
        RecordCommand::Stop(a) => {
            let key = a.common.key()?;
            let step = a.common.step()?;
            let keyid = key.keyid()?;
            let unfinished = PathBuf::from(step.unfinished_link_file_name(&keyid));
            let md = Metadata::load(&unfinished).with_context(|| {
                format!("no unfinished record for step {step} with this key; run `intact record start` first")
            })?;
            // Refuse a hand-over signed by another key or altered since.
            verify_metadata(&md, &keyid, key.public_key()).map_err(|e| {
                anyhow::anyhow!(
                    "{}: {e}; it was signed by another key or changed after `record start`",
                    unfinished.display()
                )
            })?;
            let Payload::Link(start) = md.payload()? else {
                bail!("{}: not a link", unfinished.display());
            };
            if start.name != step {
                bail!(
                    "{}: records step {:?}, not {step:?}",
                    unfinished.display(),
                    start.name.as_str()
                );
            }
            let has_git = intact_git::RecordedGit::from_link(&start)
                .map_err(anyhow::Error::msg)
                .with_context(|| unfinished.display().to_string())?
                .is_some();
            let mut link = record_stop(start, &a.products, &a.common.hash_options())?;
            if !has_git {
                if let Some(f) = a.common.capture_git(&a.products)? {
                    f.attach(&mut link)?;
                }
            }
            let path = write_signed(link, md.container(), &key, a.metadata_directory.as_deref())?;
            std::fs::remove_file(&unfinished)
                .with_context(|| format!("removing {}", unfinished.display()))?;
            eprintln!("intact: wrote {}", path.display());
            Ok(Outcome::Ok)
        }
    }
}
