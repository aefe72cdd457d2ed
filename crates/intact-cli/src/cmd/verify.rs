//! `intact verify`: end-to-end verification of a supply chain.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use intact_crypto::load_public_key;
use intact_verify::{verify, DirLinkSource, VerifyOptions};

use crate::Outcome;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// A line per stage with a tick or a cross, then the failure.
    Text,
    /// The stable JSON schema of docs/verify-report.md.
    Json,
    /// A summary for release notes: verdict, layout expiry, artifacts
    /// and their chain, failure, stages.
    Markdown,
    /// One self-contained HTML page (no script, nothing loaded) with the
    /// summary and the chain drawn as SVG, the failed stage in red.
    Html,
}

const VERIFY_HELP: &str = "\
Examples:
  intact verify --layout root.layout --layout-key alice.pub --link-dir links/
  intact verify -l root.layout -k alice.pub --git-repo . --format json
  curl -s https://example.com/root.layout | intact verify --layout - -k alice.pub
  intact verify -l root.layout -k alice.pub --artifact dist/app.tar.gz
  intact verify --image registry.example.com/app@sha256:HEX -k alice.pub
  intact verify -l root.layout -k alice.pub --artifact app.tar.gz --format markdown
  intact verify -l root.layout -k alice.pub --artifact app.tar.gz --format html > report.html
  intact verify -l root.layout -k alice.pub --from package \
      --subject app.tar.gz=sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
  intact verify -l root.layout -k alice.pub --require-logged --log-key log.pub
  intact verify -l root.layout -k alice.pub --key-status keys.status --log-key log.pub
  intact verify -l root.layout -k alice.pub --warn-expiry 60d --format json
  intact verify -l root.layout -k alice.pub --log transparency --log-report verification.json
  intact verify -l root.layout -k alice.pub --artifact app.tar.gz --vsa app.vsa.json --key verifier.pem
  in-toto-verify's command line works too:
  intact verify --layout root.layout --verification-keys alice.pub --link-dir links/

Exit codes:
  0   the supply chain verified
  1   verification failed (the report says where and why)
  2   nothing was verified: a usage error, an unreadable or malformed layout,
      key or link directory";

#[derive(Args)]
#[command(after_help = VERIFY_HELP)]
pub struct VerifyArgs {
    /// The signed root layout (`-` reads it from standard input). With
    /// --image, the layout attached to the image unless given here.
    #[arg(long, short = 'l', required_unless_present = "image")]
    layout: Option<PathBuf>,
    /// Public keys of the layout owners; every one must have signed.
    #[arg(
        long = "layout-key",
        short = 'k',
        required = true,
        num_args = 1..,
        alias = "verification-keys",
        alias = "layout-keys"
    )]
    layout_keys: Vec<PathBuf>,
    /// in-toto-verify's `-g/--gpg`: not supported (GPG layout keys).
    #[arg(short = 'g', long = "gpg", hide = true, num_args = 0..)]
    gpg: Option<Vec<String>>,
    /// Print only a failure (nothing when the chain verifies).
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    quiet: bool,
    /// Also list, under each step and inspection whose rules held, every
    /// artifact rule with the artifacts it consumed (the first 8 names,
    /// then a count of the rest).
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Directory holding the links (it must exist; default `.`).
    #[arg(long, conflicts_with = "image")]
    link_dir: Option<PathBuf>,
    /// Verify the image (or pushed file) REGISTRY/REPO@sha256:DIGEST: its
    /// layout and links are pulled from the registry (docs/oci.md) and it
    /// must be a product of the chain, as --artifact.
    #[arg(long, value_name = "REF@sha256:HEX")]
    image: Option<String>,
    #[command(flatten)]
    registry: super::oci::RegistryArgs,
    /// Refuse a layout or link file larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = intact_model::io::DEFAULT_MAX_METADATA_SIZE)]
    max_metadata_size: u64,
    /// Also demand that the layout and every link carry a valid inclusion
    /// proof (FILE.proof, from `--log` or `intact log prove`) under a
    /// checkpoint signed by --log-key.
    #[arg(long, requires = "log_key")]
    require_logged: bool,
    /// Log this verification in the transparency log DIR: the JSON report
    /// is written to --log-report and logged, its proof beside it.
    #[arg(long, value_name = "DIR")]
    log: Option<PathBuf>,
    /// Where --log writes the JSON report it logs.
    #[arg(long, value_name = "FILE", default_value = "verification.json")]
    log_report: PathBuf,
    /// The transparency log's public key, for --require-logged; with
    /// --key-status, inclusion proofs under it date signatures.
    #[arg(long, value_name = "LOG.pub")]
    log_key: Option<PathBuf>,
    /// A key-status document signed by the layout keys (`intact key
    /// revoke|retire|activate`): signatures by revoked keys, or outside a
    /// key's window, fail verification.
    #[arg(long, value_name = "FILE")]
    key_status: Option<PathBuf>,
    /// Certificate revocation lists (PEM or DER), for links signed with
    /// certificates: a revoked certificate does not count (docs/pki.md).
    #[arg(long = "crl", value_name = "FILE")]
    crls: Vec<PathBuf>,
    /// Warn (exit code unchanged) when the layout expires, or a key
    /// retires, within this long: 30d, 12h, 2w.
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    warn_expiry: String,
    /// Values for layout parameters, NAME=VALUE.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Directory inspections run in.
    #[arg(long, default_value = ".")]
    workdir: PathBuf,
    /// Seconds before an inspection is killed.
    #[arg(long, default_value_t = 600)]
    inspection_timeout: u64,
    /// Accept what the in-toto reference accepts where intact is stricter
    /// (see docs/verification.md).
    #[arg(long)]
    compat: bool,
    /// The project's git repository, for a layout with git provenance.
    #[arg(long, value_name = "DIR")]
    git_repo: Option<PathBuf>,
    /// Verify GPG-signed commits with the keyring in this directory
    /// (without it they fail as unverified).
    #[arg(long, value_name = "DIR")]
    gpg_home: Option<PathBuf>,
    /// An artifact you hold: it must be a product of the chain (matched by
    /// its SHA-256), checked before any inspection runs. Repeatable.
    #[arg(long = "artifact", value_name = "FILE")]
    artifacts: Vec<PathBuf>,
    /// An artifact by digest, NAME=sha256:HEX, as --artifact. Repeatable.
    #[arg(long = "subject", value_name = "NAME=sha256:HEX")]
    subjects: Vec<String>,
    /// The step whose products the artifacts must be (default: any final
    /// step, one whose products no other step matches from).
    #[arg(long = "from", value_name = "STEP")]
    from_step: Option<String>,
    /// Write, pass or fail, a SLSA Verification Summary v1 about the
    /// --artifact/--subject artifacts, signed with --key (docs/attestations.md).
    #[arg(long, value_name = "OUT", requires = "key")]
    vsa: Option<PathBuf>,
    /// The private key that signs the --vsa summary.
    #[arg(long, value_name = "KEY", requires = "vsa")]
    key: Option<PathBuf>,
    /// Ask for the password of an encrypted --key.
    #[arg(long, requires = "vsa")]
    prompt: bool,
    /// The summary's verifier.id.
    #[arg(long, value_name = "URI", requires = "vsa", default_value = intact_verify::vsa::DEFAULT_VERIFIER_ID)]
    verifier_id: String,
    /// The summary's resourceUri (default: the first artifact's name).
    #[arg(long, value_name = "URI", requires = "vsa")]
    resource_uri: Option<String>,
    /// A level the layout establishes, claimed when the chain verifies
    /// (SLSA_<TRACK>_LEVEL_<N>; default SLSA_BUILD_LEVEL_1). Repeatable.
    #[arg(long = "verified-level", value_name = "LEVEL", requires = "vsa")]
    verified_levels: Vec<String>,
}

pub fn run(a: VerifyArgs) -> Result<Outcome> {
    if a.gpg.is_some() {
        bail!("--gpg: intact does not verify GPG-signed layouts; sign the layout with a PEM key");
    }
    // `--image`: the chain comes from the registry, into a directory that
    // lives as long as the verification.
    let pulled_dir = match &a.image {
        Some(_) => Some(tempfile::tempdir().context("creating a directory for the pulled chain")?),
        None => None,
    };
    let mut image_subject = None;
    let (layout_path, link_dir) = match (&a.image, &pulled_dir) {
        (Some(reference), Some(dir)) => {
            let pulled = super::oci::pull_into(&a.registry, reference, dir.path())?;
            let layout_path = match &a.layout {
                Some(l) => l.clone(),
                None => {
                    let layouts: Vec<&std::path::Path> = pulled.layouts().collect();
                    match layouts.as_slice() {
                        [one] => one.to_path_buf(),
                        [] => bail!("{reference}: no layout is attached; give --layout"),
                        _ => bail!(
                            "{reference}: {} layouts are attached; choose one with --layout",
                            layouts.len()
                        ),
                    }
                }
            };
            let digest = pulled.subject.digest().unwrap_or_default().to_string();
            image_subject = Some(super::oci::subject_spec(
                &pulled.subject,
                &pulled.subject_kind,
                &digest,
            ));
            (layout_path, dir.path().to_path_buf())
        }
        _ => (
            a.layout.clone().unwrap_or_else(|| PathBuf::from("-")),
            a.link_dir.clone().unwrap_or_else(|| PathBuf::from(".")),
        ),
    };
    let (layout, layout_bytes) = super::load_metadata_bytes(&layout_path, a.max_metadata_size)?;
    // The summary's signing key and options are checked before anything
    // is verified, so a bad one stops with exit 2, not after the verdict.
    let vsa_key = match &a.key {
        Some(k) => Some(super::load_signing_key(k, a.prompt)?),
        None => None,
    };
    for level in &a.verified_levels {
        intact_verify::vsa::check_level(level)?;
    }
    if a.vsa.is_some() && a.artifacts.is_empty() && a.subjects.is_empty() && a.image.is_none() {
        bail!("--vsa: a verification summary is about artifacts: give --artifact or --subject");
    }
    let mut keys = BTreeMap::new();
    let mut key_names = BTreeMap::new();
    for path in &a.layout_keys {
        let key = load_public_key(path)?;
        let keyid = key.keyid()?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        key_names.insert(keyid.clone(), name);
        keys.insert(keyid, key);
    }
    let mut params = BTreeMap::new();
    for p in &a.params {
        let Some((name, value)) = p.split_once('=') else {
            bail!("--param {p:?}: expected NAME=VALUE");
        };
        params.insert(name.to_string(), value.to_string());
    }
    // One instant for expiry, the key-status document and the warnings.
    let now = time::OffsetDateTime::now_utc();
    let mut opts = VerifyOptions::new()
        .now(now)
        .params(params)
        .workdir(&a.workdir)
        .inspection_timeout(Some(Duration::from_secs(a.inspection_timeout)))
        .compat(a.compat)
        .key_names(key_names)
        .audit(matches!(a.format, Format::Json) || a.log.is_some() || a.vsa.is_some())
        .rule_detail(a.verbose)
        .max_metadata_size(a.max_metadata_size);
    if let Some(repo) = &a.git_repo {
        opts = opts.git_repo(repo);
    }
    for path in &a.crls {
        let bytes = intact_model::io::read_limited(path, a.max_metadata_size)?;
        let crl = intact_crypto::x509::Crl::from_bytes(&bytes)
            .map_err(|e| anyhow::anyhow!("--crl {}: {e}", path.display()))?;
        opts.crls.push(crl);
    }
    if let Some(home) = &a.gpg_home {
        opts = opts.gpg(intact_git::GpgVerifier::new(home));
    }
    let mut subjects = Vec::new();
    for file in &a.artifacts {
        subjects.push(intact_verify::Subject::from_file(file)?);
    }
    for spec in a.subjects.iter().chain(&image_subject) {
        subjects.push(intact_verify::Subject::parse(spec)?);
    }
    let from_step = match &a.from_step {
        Some(name) => Some(
            intact_model::StepName::new(name.clone())
                .map_err(|e| anyhow::anyhow!("--from {name:?}: {e}"))?,
        ),
        None => None,
    };
    opts = opts.subjects(subjects.clone()).from_step(from_step);
    if a.log_key.is_some() && !a.require_logged && a.key_status.is_none() {
        bail!("--log-key is used with --require-logged or --key-status");
    }
    let log_key = match &a.log_key {
        Some(path) => Some(intact_log::LogKey::load(path)?),
        None => None,
    };
    let warn_within = intact_keystatus::parse_duration(&a.warn_expiry)
        .map_err(|e| anyhow::anyhow!("--warn-expiry {e}"))?;
    let status = match &a.key_status {
        Some(path) => Some(intact_keystatus::load(path, &keys)?),
        None => None,
    };
    let links = DirLinkSource::open(&link_dir)?;
    let mut report = verify(&layout, &keys, &links, &opts)?;
    if let Some(status) = &status {
        intact_verify::apply_key_status(
            &mut report,
            status,
            &layout_path,
            &link_dir,
            log_key.as_ref(),
            now,
        );
    }
    if let (Some(key), true) = (&log_key, a.require_logged) {
        intact_verify::require_logged(&mut report, &layout_path, &link_dir, key);
    }
    intact_verify::warn_expiry(&mut report, status.as_ref(), warn_within, now);
    if let (Some(out), Some(key)) = (&a.vsa, &vsa_key) {
        let vsa = intact_verify::vsa::VsaOptions {
            verifier_id: a.verifier_id.clone(),
            resource_uri: a.resource_uri.clone(),
            time_verified: intact_attest::time::Clock::from_env()?.now()?,
            policy_uri: match (&a.image, layout_path != std::path::Path::new("-")) {
                (Some(image), _) if a.layout.is_none() => Some(format!("oci:{image}")),
                (_, true) => Some(layout_path.display().to_string()),
                _ => None,
            },
            policy_bytes: layout_bytes,
            levels: a.verified_levels.clone(),
        };
        let st = intact_verify::vsa::summary_statement(&report, &subjects, &vsa)?;
        intact_verify::vsa::write_summary(out, &st, key)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if let Some(dir) = &a.log {
        let json = serde_json::to_vec_pretty(&report).context("encoding the report")?;
        intact_model::io::write_atomic(&a.log_report, &json, 0o644)?;
        super::log_event(Some(dir), &a.log_report, a.quiet)?;
    }
    match a.format {
        Format::Text if a.quiet && report.verified => {}
        Format::Text => crate::style::print_report(&report.to_string()),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).context("encoding the report")?
        ),
        Format::Markdown => print!("{}", report.to_markdown()),
        Format::Html => {
            // The picture shows the layout as given; the report says
            // whether its signatures held.
            let graph = match layout.payload() {
                Ok(intact_model::Payload::Layout(l)) => {
                    Some(intact_layout::LayoutGraph::new(&l, &BTreeMap::new()))
                }
                _ => None,
            };
            print!("{}", report.to_html(graph.as_ref()));
        }
    }
    Ok(if report.verified {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
