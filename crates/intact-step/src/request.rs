//! What to record: one request type per entry point, built by chained
//! setters so that a call names every choice it makes.

use std::path::{Path, PathBuf};

use intact_crypto::SigningKey;
use intact_git::CaptureOptions;
use intact_model::{Container, StepName};
use intact_record::{HashOptions, RunOptions};

/// Whether and how to capture the git facts of a step's work tree
/// (docs/git-provenance.md). The recorder's base path, excludes and lstrip
/// prefixes come from the request's [`HashOptions`], so the facts exclude
/// exactly what recording excluded; the step's materials and products
/// come from the request too (a product is the step's output, not dirt).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct GitCapture {
    /// Refuse a work tree with changes (before the command runs) instead
    /// of recording it flagged `dirty: true` with the changed paths.
    pub require_clean: bool,
    /// Use this repository instead of the work tree the paths lie in.
    pub repo: Option<PathBuf>,
    /// Files and directories whose untracked contents are never dirt: the
    /// signing key's file (and its `.pub`), the metadata directory. A
    /// tracked file under them that changed is dirt all the same.
    /// (Untracked link files, and untracked keys named as key files, are
    /// never dirt either.)
    pub never_dirt: Vec<PathBuf>,
}

impl GitCapture {
    /// Capture from the work tree the paths lie in, recording a dirty one
    /// flagged.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuse a dirty work tree before anything runs.
    pub fn require_clean(mut self, require: bool) -> Self {
        self.require_clean = require;
        self
    }

    /// Use this repository (`--git DIR`).
    pub fn repo(mut self, repo: Option<PathBuf>) -> Self {
        self.repo = repo;
        self
    }

    /// Never count untracked files at or under these paths as dirt (the
    /// key file).
    pub fn never_dirt<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        self.never_dirt.extend(paths.into_iter().map(Into::into));
        self
    }

    pub(crate) fn options(&self, hash: &HashOptions) -> CaptureOptions {
        CaptureOptions {
            base_path: hash.base_path.clone(),
            excludes: hash.exclude_patterns(),
            lstrip_paths: hash.lstrip_paths.clone(),
            require_clean: self.require_clean,
            repo: self.repo.clone(),
            never_dirt: self.never_dirt.clone(),
            ..CaptureOptions::default()
        }
    }
}

/// What every entry point shares: the step, how artifacts are hashed,
/// whether git facts are captured. (The key is the request's own: `run`
/// may go unsigned, `start` and `stop` may not.)
pub(crate) struct Common {
    pub step: StepName,
    pub hash: HashOptions,
    pub git: Option<GitCapture>,
}

impl Common {
    fn new(step: StepName) -> Self {
        Common {
            step,
            hash: HashOptions::default(),
            git: None,
        }
    }
}

/// Setters every request has.
macro_rules! common_setters {
    () => {
        /// How artifacts are recorded (base path, excludes, lstrip
        /// prefixes, progress); passed to the recorder as given.
        pub fn hash_options(mut self, hash: HashOptions) -> Self {
            self.common.hash = hash;
            self
        }

        /// Capture git facts (`None`, the default: record none).
        pub fn git(mut self, git: Option<GitCapture>) -> Self {
            self.common.git = git;
            self
        }
    };
}

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

/// `intact run`: record materials, run a command, record products, sign,
/// write `NAME.<keyid8>.link` (or, [unsigned](RunRequest::unsigned),
/// `NAME.link`). See [`crate::run_step`].
pub struct RunRequest<'a> {
    pub(crate) common: Common,
    pub(crate) key: Option<&'a SigningKey>,
    pub(crate) materials: Vec<String>,
    pub(crate) products: Vec<String>,
    pub(crate) command: Option<Vec<String>>,
    pub(crate) run: RunOptions,
    pub(crate) environment: Option<Vec<String>>,
    pub(crate) container: Container,
    pub(crate) link_dir: Option<PathBuf>,
    pub(crate) attest: crate::AttestRequest,
}

impl<'a> RunRequest<'a> {
    /// Record `step`, signed with `key`: no materials, products or
    /// command yet, a Metablock into the current directory, no git facts,
    /// no environment.
    pub fn new(step: StepName, key: &'a SigningKey) -> Self {
        Self::with_key(step, Some(key))
    }

    /// Record `step` without signing, as `in-toto-mock` does (`intact run
    /// --no-sign`, `intact mock`): the link is written as `NAME.link`
    /// with no signatures, to try a layout or to sign later with `intact
    /// sign`. Otherwise as [`RunRequest::new`].
    pub fn unsigned(step: StepName) -> Self {
        Self::with_key(step, None)
    }

    fn with_key(step: StepName, key: Option<&'a SigningKey>) -> Self {
        RunRequest {
            common: Common::new(step),
            key,
            materials: Vec::new(),
            products: Vec::new(),
            command: None,
            run: RunOptions::default(),
            environment: None,
            container: Container::Metablock,
            link_dir: None,
            attest: crate::AttestRequest::default(),
        }
    }

    common_setters!();

    /// Also write signed attestations of the step beside its link (SLSA
    /// provenance, the link predicate); a signed run only.
    pub fn attest(mut self, attest: crate::AttestRequest) -> Self {
        self.attest = attest;
        self
    }

    /// Paths recorded before the command runs.
    pub fn materials<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.materials = strings(paths);
        self
    }

    /// Paths recorded after the command ran.
    pub fn products<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.products = strings(paths);
        self
    }

    /// The command to run (no shell); `None` records without one
    /// (`command: []`, `byproducts: {}`).
    pub fn command(mut self, argv: Option<Vec<String>>) -> Self {
        self.command = argv;
        self
    }

    /// How the command runs (timeout, output passthrough, directory).
    pub fn run_options(mut self, run: RunOptions) -> Self {
        self.run = run;
        self
    }

    /// Record the environment (working directory, recorder, CI run
    /// identifiers) and these variables' values; without this call the
    /// link's `environment` holds only git facts, if any.
    pub fn environment<I, S>(mut self, variables: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.environment = Some(strings(variables));
        self
    }

    /// Metablock (the default) or DSSE envelope.
    pub fn container(mut self, container: Container) -> Self {
        self.container = container;
        self
    }

    /// Write the link into this directory (default: the current one).
    pub fn link_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.link_dir = Some(dir.into());
        self
    }
}

/// `intact record start`: record materials, sign, write
/// `.NAME.<keyid8>.link-unfinished`. See [`crate::start_step`].
pub struct StartRequest<'a> {
    pub(crate) common: Common,
    pub(crate) key: &'a SigningKey,
    pub(crate) materials: Vec<String>,
    pub(crate) environment: Option<Vec<String>>,
    pub(crate) container: Container,
    pub(crate) unfinished_dir: Option<PathBuf>,
}

impl<'a> StartRequest<'a> {
    /// Start recording `step`, signed with `key`: no materials yet, a
    /// Metablock, the unfinished file in the current directory.
    pub fn new(step: StepName, key: &'a SigningKey) -> Self {
        StartRequest {
            common: Common::new(step),
            key,
            materials: Vec::new(),
            environment: None,
            container: Container::Metablock,
            unfinished_dir: None,
        }
    }

    common_setters!();

    /// Paths to record as materials.
    pub fn materials<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.materials = strings(paths);
        self
    }

    /// As [`RunRequest::environment`].
    pub fn environment<I, S>(mut self, variables: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.environment = Some(strings(variables));
        self
    }

    /// Metablock (the default) or DSSE envelope; `stop` keeps it.
    pub fn container(mut self, container: Container) -> Self {
        self.container = container;
        self
    }

    /// Keep the unfinished file in this directory (default: the current
    /// one, as the reference does).
    pub fn unfinished_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.unfinished_dir = Some(dir.into());
        self
    }
}

/// `intact record stop`: check the hand-over, record products, sign,
/// write `NAME.<keyid8>.link`, remove the unfinished file. See
/// [`crate::stop_step`].
pub struct StopRequest<'a> {
    pub(crate) common: Common,
    pub(crate) key: &'a SigningKey,
    pub(crate) products: Vec<String>,
    pub(crate) unfinished_dir: Option<PathBuf>,
    pub(crate) link_dir: Option<PathBuf>,
}

impl<'a> StopRequest<'a> {
    /// Finish recording `step` with `key` (the key `start` signed with).
    pub fn new(step: StepName, key: &'a SigningKey) -> Self {
        StopRequest {
            common: Common::new(step),
            key,
            products: Vec::new(),
            unfinished_dir: None,
            link_dir: None,
        }
    }

    common_setters!();

    /// Paths to record as products.
    pub fn products<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.products = strings(paths);
        self
    }

    /// Where `start` kept the unfinished file (default: the current
    /// directory).
    pub fn unfinished_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.unfinished_dir = Some(dir.into());
        self
    }

    /// Write the link into this directory (default: the current one).
    pub fn link_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.link_dir = Some(dir.into());
        self
    }
}

/// `name` in `dir`, or bare (relative to the current directory) without
/// one: messages then print the name as the reference does.
pub(crate) fn place(dir: Option<&Path>, name: &str) -> PathBuf {
    dir.map_or_else(|| PathBuf::from(name), |d| d.join(name))
}
