//! The three entry points: run a step whole, or start it and stop it.

use std::path::PathBuf;

use intact_crypto::{sign_and_save, sign_metadata, verify_metadata, SigningKey};
use intact_git::{GitFacts, RecordedGit};
use intact_model::{Container, KeyId, Link, Metadata, Payload};
use intact_record::{environment, record_run, record_start, record_stop, RunResult};

use crate::output::{check_step_name, check_writable};
use crate::request::{place, Common, RunRequest, StartRequest, StopRequest};
use crate::StepError;

/// A step's signed link (or `start`'s signed unfinished link), written.
#[derive(Debug)]
#[non_exhaustive]
pub struct Recorded {
    /// The file written: `NAME.<keyid8>.link`, or for
    /// [`start_step`] `.NAME.<keyid8>.link-unfinished`.
    pub path: PathBuf,
    /// The keyid of the signature (the key's modern keyid).
    pub keyid: KeyId,
    /// The signed metadata, as written.
    pub metadata: Metadata,
    /// What the command did ([`run_step`] with a command only). Its
    /// `return_value` is the command's exit status: the link is written
    /// whatever it is, and the caller decides what a failure means.
    pub run: Option<RunResult>,
}

impl Common<'_> {
    /// The git facts of the work tree `paths` lie in, when asked for.
    fn capture(&self, paths: &[String]) -> Result<Option<GitFacts>, StepError> {
        match &self.git {
            None => Ok(None),
            Some(git) => Ok(intact_git::capture(paths, &git.options(&self.hash))?),
        }
    }
}

/// Record a step whole, as `intact run` does: check that the link can be
/// written, record the materials, run the command (if any), record the
/// products, add the environment and git facts, sign with the request's
/// key and write `NAME.<keyid8>.link` atomically into the link directory.
///
/// Git facts describe the inputs: they are taken before the command runs
/// when the materials lie in a work tree, after it (a clone) from the
/// products otherwise.
///
/// Nothing is hashed or run when the step name has a control character
/// or the link cannot be written there ([`StepError::ControlCharacter`],
/// [`StepError::NoSuchDirectory`], [`StepError::NotADirectory`],
/// [`StepError::NotWritable`], [`StepError::OutputIsDirectory`]). A
/// command that fails is not an error: its exit status is in
/// [`Recorded::run`] and in the link.
pub fn run_step(req: &RunRequest<'_>) -> Result<Recorded, StepError> {
    let c = &req.common;
    check_step_name(&c.step)?;
    let keyid = c.key.keyid()?;
    let path = place(req.link_dir.as_deref(), &c.step.link_file_name(&keyid));
    check_writable(&path)?;
    let early = c.capture(&req.materials)?;
    let (mut link, run) = record_run(
        c.step.clone(),
        &req.materials,
        &req.products,
        req.command.as_deref(),
        &c.hash,
        &req.run,
    )?;
    if let Some(vars) = &req.environment {
        link.environment = environment(vars);
    }
    let facts = match early {
        Some(f) => Some(f),
        None => c.capture(&req.products)?,
    };
    if let Some(f) = facts {
        f.attach(&mut link)?;
    }
    let metadata = sign_and_write(link, req.container, c.key, path.clone())?;
    Ok(Recorded {
        path,
        keyid,
        metadata,
        run,
    })
}

/// The first half of a step, as `intact record start` does: record the
/// materials (with the environment and git facts), sign, and keep the
/// result as `.NAME.<keyid8>.link-unfinished` for [`stop_step`].
///
/// Nothing is hashed when the step name has a control character or the
/// unfinished file cannot be written.
pub fn start_step(req: &StartRequest<'_>) -> Result<Recorded, StepError> {
    let c = &req.common;
    check_step_name(&c.step)?;
    let keyid = c.key.keyid()?;
    let path = place(
        req.unfinished_dir.as_deref(),
        &c.step.unfinished_link_file_name(&keyid),
    );
    check_writable(&path)?;
    let facts = c.capture(&req.materials)?;
    let mut link = record_start(c.step.clone(), &req.materials, &c.hash)?;
    if let Some(vars) = &req.environment {
        link.environment = environment(vars);
    }
    if let Some(f) = facts {
        f.attach(&mut link)?;
    }
    let mut metadata = Metadata::new(link.into(), req.container)?;
    sign_metadata(&mut metadata, c.key)?;
    metadata.save(&path)?;
    Ok(Recorded {
        path,
        keyid,
        metadata,
        run: None,
    })
}

/// The second half of a step, as `intact record stop` does: take over the
/// unfinished link [`start_step`] kept for this step and key, record the
/// products, capture git facts (only if the start had none), sign, write
/// `NAME.<keyid8>.link` into the link directory (in the container the
/// start chose) and remove the unfinished file.
///
/// The hand-over is refused when the unfinished file is missing
/// ([`StepError::NoUnfinished`]), not signed by this key or changed since
/// ([`StepError::HandOverSignature`]), or records another step
/// ([`StepError::StepMismatch`]). Both the link and the removal of the
/// unfinished file are checked possible before the products are hashed.
pub fn stop_step(req: &StopRequest<'_>) -> Result<Recorded, StepError> {
    let c = &req.common;
    check_step_name(&c.step)?;
    let keyid = c.key.keyid()?;
    let unfinished = place(
        req.unfinished_dir.as_deref(),
        &c.step.unfinished_link_file_name(&keyid),
    );
    let start_md = Metadata::load(&unfinished).map_err(|source| StepError::NoUnfinished {
        step: c.step.clone(),
        path: unfinished.clone(),
        source,
    })?;
    // Refuse a hand-over signed by another key or altered since.
    verify_metadata(&start_md, &keyid, c.key.public_key()).map_err(|cause| {
        StepError::HandOverSignature {
            path: unfinished.clone(),
            cause,
        }
    })?;
    let Payload::Link(start) = start_md.payload()? else {
        return Err(StepError::NotALink { path: unfinished });
    };
    if start.name != c.step {
        return Err(StepError::StepMismatch {
            path: unfinished,
            recorded: start.name,
            expected: c.step.clone(),
        });
    }
    let has_git = RecordedGit::from_link(&start)
        .map_err(|reason| StepError::HandOverGit {
            path: unfinished.clone(),
            reason,
        })?
        .is_some();
    let path = place(req.link_dir.as_deref(), &c.step.link_file_name(&keyid));
    check_writable(&path)?;
    check_writable(&unfinished)?;
    let mut link = record_stop(start, &req.products, &c.hash)?;
    if !has_git {
        if let Some(f) = c.capture(&req.products)? {
            f.attach(&mut link)?;
        }
    }
    let metadata = sign_and_write(link, start_md.container(), c.key, path.clone())?;
    // The error names the file itself; fs-err would name it twice.
    #[allow(clippy::disallowed_methods)]
    let removed = std::fs::remove_file(&unfinished);
    removed.map_err(|cause| StepError::RemoveUnfinished {
        path: unfinished,
        cause,
    })?;
    Ok(Recorded {
        path,
        keyid,
        metadata,
        run: None,
    })
}

/// Sign `link` and write it atomically to `path` (streamed: a large
/// link's body is written while the signature is computed).
fn sign_and_write(
    link: Link,
    container: Container,
    key: &SigningKey,
    path: PathBuf,
) -> Result<Metadata, StepError> {
    let mut metadata = Metadata::new(link.into(), container)?;
    sign_and_save(&mut metadata, key, |_| path)?;
    Ok(metadata)
}
