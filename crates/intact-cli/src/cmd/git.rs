//! `intact git verify-source`: the command a layout's git provenance
//! inspection runs. `intact verify` checks the same policy in-process;
//! this entry point is for other verifiers (in-toto-verify) that run
//! inspections as commands.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use intact_git::{verify_source, GpgVerifier, SourceOptions};
use intact_model::{GitPolicy, Link, Metadata, Payload};

use crate::Outcome;

#[derive(Subcommand)]
pub enum GitCommand {
    /// Check the source step's commit against a git policy. Link
    /// signatures are NOT checked here: this runs as a layout inspection,
    /// after the verifier has checked them.
    VerifySource(VerifySourceArgs),
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact git verify-source --repo . --link-dir links --step clone --side products \\
      --ref refs/heads/main --signer 'bob@example.com ssh-ed25519 AAAA...'

Exit codes:
  0   the source step's commit passes the policy
  1   a check failed (printed, with a hint)
  2   unusable input: no repository, unreadable links or policy")]
pub struct VerifySourceArgs {
    /// The project's repository.
    #[arg(long, env = "INTACT_GIT_REPO", default_value = ".")]
    repo: PathBuf,
    /// Where the source step's links are.
    #[arg(long, env = "INTACT_LINK_DIR", default_value = ".")]
    link_dir: PathBuf,
    /// Verify GPG-signed commits with the keyring in this directory.
    #[arg(long, env = "INTACT_GPG_HOME")]
    gpg_home: Option<PathBuf>,
    /// The policy: --step NAME [--side products|materials] [--path PREFIX]
    /// [--ref REF] [--tag PATTERN] --signer LINE... [--gpg-fingerprint FPR...]
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "POLICY"
    )]
    policy: Vec<String>,
}

pub fn run(cmd: GitCommand) -> Result<Outcome> {
    let GitCommand::VerifySource(a) = cmd;
    let policy = GitPolicy::from_args(&a.policy)?;
    let links = step_links(&a.link_dir, &policy)?;
    let refs: Vec<&Link> = links.iter().collect();
    let opts = SourceOptions {
        gpg: a.gpg_home.map(GpgVerifier::new),
    };
    let report = verify_source(&a.repo, &policy, &refs, &opts)?;
    let mut text = String::new();
    for c in &report.checks {
        text.push_str(&format!("{c}\n"));
    }
    for f in report.failures() {
        text.push_str(&format!("  hint: {}\n", f.hint()));
    }
    // Colour and ✓/✗ (or ASCII) as in the verify report.
    if !text.is_empty() {
        crate::style::print_report(text.trim_end_matches('\n'));
    }
    Ok(if report.passed() {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}

/// The links `<step>.<keyid8>.link` in `dir`.
fn step_links(dir: &std::path::Path, policy: &GitPolicy) -> Result<Vec<Link>> {
    let prefix = format!("{}.", policy.step);
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| dir.display().to_string())?;
    for entry in entries {
        let path = entry.with_context(|| dir.display().to_string())?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let is_link = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".link"))
            .is_some_and(|id| id.len() == 8 && id.chars().all(|c| c.is_ascii_hexdigit()));
        if !is_link {
            continue;
        }
        let md = Metadata::load(&path)?;
        match md.payload()? {
            Payload::Link(l) if l.name == policy.step => out.push(l),
            _ => bail!("{}: not a link of step {}", path.display(), policy.step),
        }
    }
    Ok(out)
}
