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
///
/// in-toto-run's and in-toto-record's flags are accepted under their own
/// names as hidden aliases where intact has the same meaning; those that
/// cannot map (GPG signing) are refused with a message saying so.
#[derive(Args)]
pub struct Common {
    /// The step name (as in the layout).
    #[arg(long, short = 'n', alias = "step-name")]
    step: String,
    /// The functionary's private key (PEM: ed25519, ECDSA or RSA), a key in a
    /// PKCS#11 token (pkcs11:...) or in ssh-agent (ssh-agent:FINGERPRINT|COMMENT).
    #[arg(
        long,
        short = 'k',
        alias = "signing-key",
        env = "INTACT_KEY",
        value_name = "PEM"
    )]
    key: Option<PathBuf>,
    /// Ask for the key's password (else it comes from INTACT_KEY_PASSWORD).
    #[arg(long)]
    prompt: bool,
    /// The X.509 certificate of --key (PEM; further blocks are its
    /// chain), carried in the link's signature for layouts that authorise
    /// steps by certificate (docs/pki.md).
    #[arg(long, value_name = "CERT.pem")]
    cert: Option<PathBuf>,
    /// Intermediate CA certificates (PEM) to carry with --cert.
    #[arg(long, value_name = "CHAIN.pem", requires = "cert")]
    chain: Option<PathBuf>,
    /// in-toto's `-P/--password`: without a value, ask for it.
    #[arg(
        short = 'P',
        long = "password",
        hide = true,
        num_args = 0..=1,
        default_missing_value = "",
        value_name = "PASSWORD"
    )]
    password: Option<String>,
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
    /// Refuse, before anything runs, a git work tree with changes (by
    /// default it is recorded: the link says `dirty: true` and lists them,
    /// and a warning is printed). The step's products and its link never
    /// count as changes; nor do untracked files in the metadata directory,
    /// link files and key files. A changed tracked file always counts.
    #[arg(long, conflicts_with = "no_git")]
    require_clean: bool,
    /// Formerly needed to record a dirty work tree; that is the default now.
    #[arg(long, hide = true)]
    allow_dirty: bool,
    /// in-toto's `-s/--record-streams`: streams are always recorded.
    #[arg(short = 's', long = "record-streams", hide = true)]
    record_streams: bool,
    /// in-toto's `-g/--gpg`: not supported (intact signs with PEM keys).
    #[arg(short = 'g', long = "gpg", hide = true, num_args = 0..=1, default_missing_value = "")]
    gpg: Option<String>,
    /// in-toto's `--gpg-home`: not supported.
    #[arg(long = "gpg-home", hide = true)]
    gpg_home: Option<PathBuf>,
    /// Print only failures (no progress, no "wrote" line, no warnings).
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    quiet: bool,
    /// Print every recorded artifact with its digests, and the git facts.
    #[arg(long, short = 'v')]
    verbose: bool,
}

impl Common {
    fn hash_options(&self) -> HashOptions {
        HashOptions {
            base_path: self.base_path.clone(),
            excludes: self.exclude.clone(),
            lstrip_paths: self.lstrip_paths.clone(),
            allow_missing: self.allow_missing,
            // -q: no spinner and no warnings, only errors.
            reporter: (!self.quiet).then(crate::progress::reporter),
            ..HashOptions::default()
        }
    }

    fn step(&self) -> Result<StepName> {
        StepName::new(&self.step)
            .map_err(anyhow::Error::msg)
            .context("--step")
    }

    /// Refuse the reference's flags that have no meaning here, before
    /// anything is read.
    fn check_unmapped(&self) -> Result<()> {
        if self.gpg.is_some() || self.gpg_home.is_some() {
            bail!(
                "--gpg/--gpg-home: intact does not sign with GPG; sign with a PEM key \
                 (--key or --signing-key; `intact key generate NAME` makes one)"
            );
        }
        if self.password.as_deref().is_some_and(|p| !p.is_empty()) {
            bail!(
                "--password VALUE: a password on the command line is visible to other \
                 users of the machine; set {} or pass -P alone to be asked",
                crate::password::PASSWORD_ENV
            );
        }
        Ok(())
    }

    fn key(&self) -> Result<SigningKey> {
        self.check_unmapped()?;
        let Some(path) = &self.key else {
            bail!("give the functionary's private key: --key PEM (or --signing-key, or set INTACT_KEY)");
        };
        let key = super::load_signing_key(path, self.prompt || self.password.is_some())?;
        super::certify(key, self.cert.as_deref(), self.chain.as_deref())
    }

    /// Git facts to capture: none with `--no-git`, else of the work tree
    /// the paths lie in (or of `--git`). The key file is never dirt.
    fn git(&self) -> Option<GitCapture> {
        let keys: Vec<PathBuf> = self
            .key
            .iter()
            .flat_map(|k| [k.clone(), k.with_extension("pub")])
            .collect();
        (!self.no_git).then(|| {
            GitCapture::new()
                .require_clean(self.require_clean)
                .repo(self.git.clone())
                .never_dirt(keys)
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

const RUN_HELP: &str = "\
Examples:
  intact run --step build --key bob.pem -m src -p target/app -- make app
  intact run -n package -k bob.pem -m project -p project.tar.gz -- tar czf project.tar.gz project
  INTACT_KEY=bob.pem intact run -n review -m document.pdf --no-command
  intact run -n build -k bob.pem --require-clean -m src -p app -- make app
  intact run --no-sign -n build -m . -p . -- make app
  intact run -n build -k bob.pem -m src -p app --attest slsa --builder-id https://ci.example/runner -- make app

in-toto-run's command lines work as they are: --step-name, --signing-key,
--use-dsse, --run-timeout, --metadata-directory, -s/--record-streams (streams
are always recorded) and -P/--password (asks for the password) are accepted.

Exit codes:
  0       the command succeeded (or --no-command) and the link was written
          (STEP.<keyid8>.link, or STEP.link with --no-sign)
  N       the command exited with N; the link was written first
  128+N   the command was killed by signal N; the link was written first
  2       nothing was recorded: a usage error, a missing path, an unusable key
          or output directory, a command that does not exist or timed out, a
          dirty work tree with --require-clean
          (a command exiting with 1 or 2 itself gives 1 or 2, as in a shell)";

const START_HELP: &str = "\
Examples:
  intact record start -n edit-files -k alice.pem -m .
  in-toto-record's command line works too:
  intact record start -n edit-files --signing-key alice.pem -m .

Exit codes:
  0   .NAME.<keyid8>.link-unfinished was written
  2   nothing was recorded: a usage error, a missing path, an unusable key,
      a dirty work tree with --require-clean";

const STOP_HELP: &str = "\
Examples:
  intact record stop -n edit-files -k alice.pem -p .
  intact record stop -d links -n edit-files --signing-key alice.pem -p .

Exit codes:
  0   NAME.<keyid8>.link was written and the unfinished file removed
  2   nothing was recorded: no unfinished record by this key for the step, a
      usage error, a missing path, an unusable key or output directory";

#[derive(Args)]
#[command(after_help = RUN_HELP)]
pub struct RunArgs {
    #[command(flatten)]
    common: Common,
    /// Paths to record before the command runs (`dir:PATH`: a directory
    /// as one artifact; `ostree:REF`: an OSTree ref, as in-toto-run).
    #[arg(long, short = 'm', num_args = 1..)]
    materials: Vec<String>,
    /// Paths to record after the command ran (`dir:PATH`, `ostree:REF`
    /// as for materials).
    #[arg(long, short = 'p', num_args = 1..)]
    products: Vec<String>,
    /// Where to write the link (default: the current directory).
    #[arg(long, short = 'd')]
    metadata_directory: Option<PathBuf>,
    /// Write a DSSE envelope instead of a Metablock.
    #[arg(long, alias = "use-dsse")]
    dsse: bool,
    /// Record without a key and write an unsigned `STEP.link` (no
    /// signatures), as in-toto-mock does: to try a layout, or to sign
    /// later with `intact sign`. INTACT_KEY is ignored then.
    #[arg(long, conflicts_with_all = ["prompt", "password"])]
    no_sign: bool,
    /// Record without running a command.
    #[arg(long, short = 'x')]
    no_command: bool,
    /// Kill the command after this many seconds (default: no limit); no
    /// link is written then.
    #[arg(long, alias = "run-timeout", value_name = "SECS")]
    timeout: Option<u64>,
    /// Also write a signed attestation beside the link: `slsa` (SLSA
    /// Provenance v1, STEP.<keyid8>.slsa.intoto.json) or `link` (the link
    /// predicate, STEP.<keyid8>.link.intoto.json); repeatable.
    #[arg(long, value_enum, value_name = "KIND", conflicts_with = "no_sign")]
    attest: Vec<AttestKind>,
    /// With --attest slsa: runDetails.builder.id (default: detected from
    /// GitHub Actions or GitLab CI, else a local builder id).
    #[arg(long, value_name = "URI", requires = "attest")]
    builder_id: Option<String>,
    /// With --attest slsa: record `NAME --version` in builder.version.
    #[arg(long = "tool", value_name = "NAME", requires = "attest")]
    tools: Vec<String>,
    /// The command to run.
    #[arg(last = true)]
    command: Vec<String>,
    /// Append the event to the transparency log in DIR (`intact log
    /// init`) and write the inclusion proof beside the output (FILE.proof).
    #[arg(long, value_name = "DIR")]
    log: Option<PathBuf>,
}

/// An attestation `intact run --attest` writes.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AttestKind {
    /// SLSA Provenance v1.
    Slsa,
    /// The in-toto link predicate v0.3.
    Link,
}

/// Print what was written (and with `-v` what it holds) and let the
/// metadata go unfreed: the command ends next, and the system takes the
/// memory back at once; freeing 100,000 artifact names one by one took
/// 5 ms.
fn wrote(recorded: Recorded, common: &Common) -> Option<intact_record::RunResult> {
    let Recorded {
        path,
        metadata,
        run,
        git,
        keyid,
        ..
    } = recorded;
    if !common.quiet {
        if let Some(g) = git.as_ref().filter(|g| g.dirty) {
            let mut listed: Vec<&str> = g.changed.iter().take(5).map(String::as_str).collect();
            if g.changed.len() > 5 || g.changed_omitted > 0 {
                listed.push("...");
            }
            eprintln!(
                "intact: warning: the git work tree differs from commit {} ({}); \
                 the link says dirty: true and lists the changed paths \
                 (--require-clean refuses such a tree before running)",
                g.commit.get(..12).unwrap_or(&g.commit),
                listed.join(", ")
            );
        }
    }
    if common.verbose {
        if let Ok(intact_model::Payload::Link(link)) = metadata.payload() {
            for (side, artifacts) in [("material", &link.materials), ("product", &link.products)] {
                for (name, digests) in artifacts.iter() {
                    let digests: Vec<String> = digests
                        .iter()
                        .map(|(alg, d)| format!("{}:{d}", intact_model::escape::escape(alg)))
                        .collect();
                    let name = intact_model::escape::escape(name.as_str());
                    eprintln!("intact: {side} {name} {}", digests.join(" "));
                }
            }
        }
        match &git {
            Some(g) => eprintln!(
                "intact: git commit {} ({}), dirty: {}",
                g.commit,
                intact_model::escape::escape(g.reference.as_deref().unwrap_or("detached HEAD")),
                g.dirty
            ),
            None => eprintln!("intact: no git facts recorded"),
        }
    }
    std::mem::forget(metadata);
    if !common.quiet {
        let unsigned = if keyid.is_none() { " (unsigned)" } else { "" };
        eprintln!("intact: wrote {}{unsigned}", path.display());
    }
    run
}

/// The exit status `intact run` passes on: the command's own, 128+N when
/// it died of signal N (as shells report it).
fn exit_of(return_value: i32) -> Outcome {
    match return_value {
        0 => Outcome::Ok,
        1..=255 => Outcome::Exit(u8::try_from(return_value).unwrap_or(1)),
        n if n < 0 => Outcome::Exit(u8::try_from(128 - n).unwrap_or(255)),
        _ => Outcome::Exit(1),
    }
}

pub fn run(a: RunArgs) -> Result<Outcome> {
    if a.no_command != a.command.is_empty() {
        bail!("give a command after `--`, or --no-command (not both)");
    }
    let key = if a.no_sign {
        a.common.check_unmapped()?;
        // A key from INTACT_KEY (set for a whole CI job) does not stop a
        // trial run; one given with --key contradicts --no-sign.
        let from_env = std::env::var_os("INTACT_KEY");
        if let Some(k) = &a.common.key {
            if from_env.as_deref() != Some(k.as_os_str()) {
                bail!(
                    "--no-sign records without a key: drop --key {}",
                    k.display()
                );
            }
        }
        None
    } else {
        Some(a.common.key()?)
    };
    let step = a.common.step()?;
    let req = match &key {
        Some(key) => RunRequest::new(step, key),
        None => RunRequest::unsigned(step),
    };
    let mut req = req
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
    if !a.attest.is_empty() {
        req = req.attest(intact_step::AttestRequest {
            kinds: a
                .attest
                .iter()
                .map(|k| match k {
                    AttestKind::Slsa => intact_step::Attest::Slsa,
                    AttestKind::Link => intact_step::Attest::Link,
                })
                .collect(),
            builder_id: a.builder_id,
            tools: a.tools,
        });
    }
    let recorded = run_step(&req)?;
    for p in &recorded.attestations {
        eprintln!("intact: wrote {}", p.display());
    }
    let path = recorded.path.clone();
    let attestations = recorded.attestations.clone();
    let result = wrote(recorded, &a.common);
    super::log_event(a.log.as_deref(), &path, a.common.quiet)?;
    for p in &attestations {
        super::log_event(a.log.as_deref(), p, a.common.quiet)?;
    }
    // The link is written, then the command's failure becomes ours.
    Ok(exit_of(result.map_or(0, |r| r.return_value)))
}

const MOCK_HELP: &str = "\
Records every file in the current directory as materials, runs the command,
records every file again as products and writes the unsigned link NAME.link,
as in-toto-mock does (no key, no git facts). The same as
`intact run --no-sign --no-git -n NAME -m . -p . -- COMMAND`.

Examples:
  intact mock --name build -- make app
  intact mock -n package --use-dsse -- tar czf project.tar.gz project
  intact sign -k bob.pem build.link

Exit codes:
  0       the command succeeded and NAME.link was written
  N       the command exited with N; NAME.link was written first
  128+N   the command was killed by signal N; NAME.link was written first
  2       nothing was recorded: a usage error, a command that does not
          exist, an unwritable current directory";

/// `intact mock`: in-toto-mock's command line.
#[derive(Args)]
#[command(after_help = MOCK_HELP)]
pub struct MockArgs {
    /// The step name; the link is written to NAME.link.
    #[arg(long, short = 'n', alias = "step")]
    name: String,
    /// Write a DSSE envelope instead of a Metablock.
    #[arg(long, alias = "use-dsse")]
    dsse: bool,
    /// The command to run.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

pub fn mock(a: MockArgs) -> Result<Outcome> {
    let step = StepName::new(&a.name)
        .map_err(anyhow::Error::msg)
        .context("--name")?;
    let req = RunRequest::unsigned(step)
        .materials(["."])
        .products(["."])
        .command(Some(a.command))
        .hash_options(HashOptions {
            reporter: Some(crate::progress::reporter()),
            ..HashOptions::default()
        })
        .container(container(a.dsse));
    let recorded = run_step(&req)?;
    eprintln!("intact: wrote {} (unsigned)", recorded.path.display());
    Ok(exit_of(recorded.run.map_or(0, |r| r.return_value)))
}

#[derive(Subcommand)]
pub enum RecordCommand {
    /// Record materials and write `.NAME.<keyid8>.link-unfinished`.
    Start(StartArgs),
    /// Record products, sign and write `NAME.<keyid8>.link`.
    Stop(StopArgs),
}

#[derive(Args)]
#[command(after_help = START_HELP)]
pub struct StartArgs {
    #[command(flatten)]
    common: Common,
    /// Paths to record as materials (`dir:PATH`, `ostree:REF` as for
    /// `run`).
    #[arg(long, short = 'm', num_args = 1..)]
    materials: Vec<String>,
    /// Write a DSSE envelope instead of a Metablock.
    #[arg(long, alias = "use-dsse")]
    dsse: bool,
}

#[derive(Args)]
#[command(after_help = STOP_HELP)]
pub struct StopArgs {
    #[command(flatten)]
    common: Common,
    /// Paths to record as products (`dir:PATH`, `ostree:REF` as for
    /// `run`).
    #[arg(long, short = 'p', num_args = 1..)]
    products: Vec<String>,
    /// Where to write the link (default: the current directory).
    #[arg(long, short = 'd')]
    metadata_directory: Option<PathBuf>,
    /// in-toto's `--use-dsse` on stop: the link keeps the container the
    /// start chose.
    #[arg(long = "use-dsse", hide = true)]
    _use_dsse: bool,
    /// Append the event to the transparency log in DIR (`intact log
    /// init`) and write the inclusion proof beside the output (FILE.proof).
    #[arg(long, value_name = "DIR")]
    log: Option<PathBuf>,
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
            wrote(start_step(&req)?, &a.common);
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
            let recorded = stop_step(&req)?;
            let path = recorded.path.clone();
            wrote(recorded, &a.common);
            super::log_event(a.log.as_deref(), &path, a.common.quiet)?;
            Ok(Outcome::Ok)
        }
    }
}
