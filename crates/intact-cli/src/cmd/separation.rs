//! `intact verify-separation`: the command a layout's separation-of-duties
//! inspection runs. `intact verify` checks the same policy in-process, by
//! key material; this entry point is for other verifiers (in-toto-verify)
//! that run inspections as commands, and compares the keyids that signed
//! the link files it finds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use intact_model::{KeyId, Metadata, Payload, Separation, StepName};

use crate::Outcome;

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact verify-separation --link-dir links --steps source,release --steps build,approve

Link signatures are NOT checked here: this runs as a layout inspection,
after the verifier has checked them.

Exit codes:
  0   no key signed links of two separated steps
  1   one did (printed)
  2   unusable input: unreadable links or policy, or no link of a
      separated step in the link directory")]
pub struct VerifySeparationArgs {
    /// Where the links are.
    #[arg(long, env = "INTACT_LINK_DIR", default_value = ".")]
    link_dir: PathBuf,
    /// The policy: --steps A,B once per group of separated steps.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "POLICY"
    )]
    policy: Vec<String>,
}

pub fn run(a: VerifySeparationArgs) -> Result<Outcome> {
    let policy = Separation::from_args(&a.policy)?;
    let mut signed_by: BTreeMap<StepName, Vec<KeyId>> = BTreeMap::new();
    let dir = &a.link_dir;
    let entries = std::fs::read_dir(dir).with_context(|| dir.display().to_string())?;
    for entry in entries {
        let path = entry.with_context(|| dir.display().to_string())?.path();
        let is_link = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".link"));
        if !is_link || !path.is_file() {
            continue;
        }
        let md = Metadata::load(&path)?;
        if let Payload::Link(l) = md.payload()? {
            let keys = signed_by.entry(l.name.clone()).or_default();
            keys.extend(md.signatures().iter().map(|s| s.keyid.clone()));
        }
    }
    // Fail closed: finding no link of a separated step means looking in the
    // wrong place (the reference runs inspections in its working
    // directory, wherever its --link-dir is) or a sublayout step, whose
    // inner signers this command cannot see; passing would check nothing.
    for group in &policy.groups {
        for step in group {
            if !signed_by.contains_key(step) {
                anyhow::bail!(
                    "{}: no link of step {:?} here, so separation of duties cannot be checked \
                     (run the verifier from the link directory or set INTACT_LINK_DIR; a \
                     sublayout step needs `intact verify`)",
                    dir.display(),
                    step.as_str()
                );
            }
        }
    }
    Ok(match policy.shared_keyid(&signed_by) {
        Some((x, y, key)) => {
            crate::style::print_report(&format!(
                "✗ separation of duties: key {key} signed links of both {x} and {y}, which must be performed by different people"
            ));
            Outcome::Failed
        }
        None => Outcome::Ok,
    })
}
