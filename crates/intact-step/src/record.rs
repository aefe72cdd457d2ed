//! The three entry points: run a step whole, or start it and stop it.

use std::path::{Path, PathBuf};

use intact_crypto::{
    sign_and_save, sign_and_save_alongside, sign_metadata, verify_metadata, SigningKey,
};
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
    /// The file written: `NAME.<keyid8>.link` (`NAME.link` unsigned), or
    /// for [`start_step`] `.NAME.<keyid8>.link-unfinished`.
    pub path: PathBuf,
    /// The keyid of the signature (the key's modern keyid); `None` for an
    /// [unsigned](crate::RunRequest::unsigned) link.
    pub keyid: Option<KeyId>,
    /// The signed (or unsigned) metadata, as written.
    pub metadata: Metadata,
    /// What the command did ([`run_step`] with a command only). Its
    /// `return_value` is the command's exit status: the link is written
    /// whatever it is, and the caller decides what a failure means.
    pub run: Option<RunResult>,
    /// The git facts written into the link (`environment.git`), if any:
    /// callers warn when they say `dirty`.
    pub git: Option<RecordedGit>,
    /// Attestations written beside the link ([`RunRequest::attest`]).
    pub attestations: Vec<PathBuf>,
}

/// Which paths a capture looks around, and what it knows of the step.
struct Around<'p> {
    paths: &'p [String],
    materials: &'p [String],
    products: &'p [String],
    from_parents: bool,
    extra_never_dirt: Option<&'p Path>,
    /// The files the step writes (its link, its unfinished link): never
    /// dirt, even when tracked, since they are replaced.
    writes: &'p [PathBuf],
}

impl Common {
    /// The git facts of the work tree `paths` lie in, when asked for.
    fn capture(&self, at: Around<'_>) -> Result<Option<GitFacts>, StepError> {
        let Some(git) = &self.git else {
            return Ok(None);
        };
        let mut opts = git.options(&self.hash);
        opts.materials = at.materials.to_vec();
        opts.products = at.products.to_vec();
        opts.from_parents = at.from_parents;
        opts.never_dirt
            .extend(at.extra_never_dirt.map(Path::to_path_buf));
        opts.writes.extend(at.writes.iter().cloned());
        Ok(intact_git::capture(at.paths, &opts)?)
    }
}

/// Record a step whole, as `intact run` does: check that the link can be
/// written, record the materials, run the command (if any), record the
/// products, add the environment and git facts, sign with the request's
/// key and write `NAME.<keyid8>.link` atomically into the link directory.
/// A request made with [`RunRequest::unsigned`] writes `NAME.link` with
/// no signatures instead, as `in-toto-mock` does.
///
/// Git facts describe the inputs and are judged before the command runs:
/// from the work tree the materials lie in, else the one the products lie
/// in or will be created in (a product yet to be made is looked for from
/// its nearest existing parent). Only when the products end up in a work
/// tree that did not exist before (a clone) are the facts taken after the
/// command, from it. A dirty work tree is recorded (`dirty: true`, the
/// changed paths listed) unless [`GitCapture::require_clean`], which
/// refuses it ([`StepError::Git`]) before the command runs. The step's
/// products (unless they hold the work tree) and the link it writes are
/// never dirt; untracked files in the link directory, link files and key
/// files are not either, but a changed tracked file always is
/// (docs/git-provenance.md).
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
    let keyid = req.key.map(SigningKey::keyid).transpose()?;
    let file = match &keyid {
        Some(id) => c.step.link_file_name(id),
        None => c.step.unsigned_link_file_name(),
    };
    let path = place(req.link_dir.as_deref(), &file);
    check_writable(&path)?;
    let attest_paths = match (&keyid, req.attest.kinds.is_empty()) {
        (Some(id), false) => crate::attest::attestation_paths(&req.attest, &path, &c.step, id),
        (None, false) => {
            return Err(StepError::Attest(intact_attest::AttestError::Statement(
                "attestations are signed: an unsigned run cannot write them".into(),
            )))
        }
        _ => Vec::new(),
    };
    for (_, p) in &attest_paths {
        check_writable(p)?;
    }
    // Tools are asked before the run, so a missing one costs no build.
    let tools = if attest_paths.is_empty() {
        Default::default()
    } else {
        crate::attest::tool_versions(&req.attest.tools)?
    };
    let clock = intact_attest::time::Clock::from_env()?;
    let mut writes = vec![path.clone()];
    writes.extend(attest_paths.iter().map(|(_, p)| p.clone()));
    let around = |paths, from_parents| Around {
        paths,
        materials: &req.materials,
        products: &req.products,
        from_parents,
        extra_never_dirt: req.link_dir.as_deref(),
        writes: &writes,
    };
    let (before, from_products) = match c.capture(around(&req.materials, false))? {
        Some(f) => (Some(f), false),
        None => (c.capture(around(&req.products, true))?, true),
    };
    let started_on = clock.now()?;
    let (mut link, run) = record_run(
        c.step.clone(),
        &req.materials,
        &req.products,
        req.command.as_deref(),
        &c.hash,
        &req.run,
    )?;
    let finished_on = clock.now()?;
    if let Some(vars) = &req.environment {
        link.environment = environment(vars);
    }
    let facts = if from_products && c.git.is_some() {
        // Did the products land in a work tree other than the one judged
        // before (a clone made by the command)? Then that one is the
        // source, and exists only now.
        let after = intact_git::work_tree_of(&req.products, c.hash.base_path.as_deref());
        // Compared only: a path that does not resolve is another tree.
        #[allow(clippy::disallowed_methods)]
        let same = match (&before, &after) {
            (Some(b), Some(a)) => b.workdir.canonicalize().ok().as_ref() == Some(a),
            (_, None) => true,
            (None, Some(_)) => false,
        };
        if same {
            before
        } else {
            c.capture(around(&req.products, false))?
        }
    } else {
        before
    };
    if let Some(f) = &facts {
        f.attach(&mut link)?;
    }
    // Generated from the link, signed and written on another thread
    // while the link is signed and written, and put in place after it.
    let (metadata, signed) = match req.key {
        Some(key) => {
            let payloads = crate::attest::attestation_payloads(
                &req.attest,
                &attest_paths,
                &link,
                (started_on, finished_on),
                tools,
            )?;
            let mut metadata = Metadata::new(link.into(), req.container)?;
            let attest = |_: &Metadata| crate::attest::sign_attestations(payloads, key);
            let (_, signed) =
                sign_and_save_alongside(&mut metadata, key, |_| path.clone(), attest)??;
            (metadata, signed)
        }
        None => {
            // As in-toto-mock writes it: the container with no signatures.
            let metadata = Metadata::new(link.into(), req.container)?;
            metadata.save(&path)?;
            (metadata, Vec::new())
        }
    };
    let mut attestations = Vec::new();
    for (p, file) in signed {
        file.commit()?;
        attestations.push(p);
    }
    Ok(Recorded {
        path,
        keyid,
        metadata,
        run,
        git: facts.map(|f| f.recorded),
        attestations,
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
    let keyid = req.key.keyid()?;
    let path = place(
        req.unfinished_dir.as_deref(),
        &c.step.unfinished_link_file_name(&keyid),
    );
    check_writable(&path)?;
    let facts = c.capture(Around {
        paths: &req.materials,
        materials: &req.materials,
        products: &[],
        from_parents: false,
        extra_never_dirt: None,
        writes: std::slice::from_ref(&path),
    })?;
    let mut link = record_start(c.step.clone(), &req.materials, &c.hash)?;
    if let Some(vars) = &req.environment {
        link.environment = environment(vars);
    }
    if let Some(f) = &facts {
        f.attach(&mut link)?;
    }
    let mut metadata = Metadata::new(link.into(), req.container)?;
    sign_metadata(&mut metadata, req.key)?;
    metadata.save(&path)?;
    Ok(Recorded {
        path,
        keyid: Some(keyid),
        metadata,
        run: None,
        git: facts.map(|f| f.recorded),
        attestations: Vec::new(),
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
    let keyid = req.key.keyid()?;
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
    verify_metadata(&start_md, &keyid, req.key.public_key()).map_err(|cause| {
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
    let started_git = RecordedGit::from_link(&start).map_err(|reason| StepError::HandOverGit {
        path: unfinished.clone(),
        reason,
    })?;
    let path = place(req.link_dir.as_deref(), &c.step.link_file_name(&keyid));
    check_writable(&path)?;
    check_writable(&unfinished)?;
    let mut link = record_stop(start, &req.products, &c.hash)?;
    let mut git = started_git;
    if git.is_none() {
        if let Some(f) = c.capture(Around {
            paths: &req.products,
            materials: &[],
            products: &req.products,
            from_parents: false,
            extra_never_dirt: req.link_dir.as_deref(),
            writes: &[path.clone(), unfinished.clone()],
        })? {
            f.attach(&mut link)?;
            git = Some(f.recorded);
        }
    }
    let metadata = sign_and_write(link, start_md.container(), req.key, path.clone())?;
    // The error names the file itself; fs-err would name it twice.
    #[allow(clippy::disallowed_methods)]
    let removed = std::fs::remove_file(&unfinished);
    removed.map_err(|cause| StepError::RemoveUnfinished {
        path: unfinished,
        cause,
    })?;
    Ok(Recorded {
        path,
        keyid: Some(keyid),
        metadata,
        run: None,
        git,
        attestations: Vec::new(),
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
