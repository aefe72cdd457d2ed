//! `intact attest` (sign a Statement about artifacts), `intact attest slsa`
//! (SLSA Provenance v1 from a recorded link) and `intact verify-attestation`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use intact_attest::subject::{oci_subject, SubjectSpec};
use intact_attest::verify::{verify_envelope, Expectations, Status};
use intact_attest::{sign_statement, Predicate, Statement};
use intact_crypto::load_public_key;
use serde_json::Value;

use super::Format;
use crate::Outcome;

/// Largest predicate file read.
const MAX_PREDICATE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "\
Examples:
  intact attest --subject dist/app.tar.gz --predicate-type https://slsa.dev/provenance/v1 --predicate provenance.json --key alice.pem -o app.intoto.json
  intact attest --subject app=sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae --predicate-type https://example.com/review/v1 --predicate review.json --key alice.pem
  intact attest --subject-oci image:v1 --predicate-type https://example.com/scan/v1 --predicate scan.json --key alice.pem -o image.intoto.json
  intact attest slsa --link build.d3ffd108.link --key alice.pem --builder-id https://ci.example/runner -o build.provenance.json

Exit codes:
  0   the envelope was written
  2   unusable input (a missing subject, a malformed predicate, a bad key)"
)]
pub struct AttestArgs {
    #[command(subcommand)]
    command: Option<AttestCommand>,
    /// An artifact: a FILE (hashed) or NAME=sha256:HEX; repeatable.
    #[arg(long = "subject", value_name = "FILE|NAME=sha256:HEX")]
    subjects: Vec<String>,
    /// An image in an OCI image layout (as `skopeo copy ... oci:DIR:TAG`
    /// writes it): its manifest digest; repeatable.
    #[arg(long = "subject-oci", value_name = "DIR[:TAG]")]
    oci: Vec<String>,
    /// The predicate type URI.
    #[arg(long, required = true, value_name = "URI")]
    predicate_type: Option<String>,
    /// The predicate: a JSON object (checked strictly for the types intact knows).
    #[arg(long, required = true, value_name = "FILE")]
    predicate: Option<PathBuf>,
    #[command(flatten)]
    sign: SignOpts,
}

#[derive(Args)]
struct SignOpts {
    /// Private keys to sign with (PEM files, pkcs11: URIs or ssh-agent:KEY).
    #[arg(long = "key", short = 'k', num_args = 1.., required = true)]
    keys: Vec<PathBuf>,
    /// Write the envelope here (default: standard output).
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Ask for the passwords of encrypted private keys.
    #[arg(long)]
    prompt: bool,
    /// Append the event to the transparency log in DIR (`intact log
    /// init`) and write the inclusion proof beside the output (OUT.proof).
    #[arg(long, value_name = "DIR", requires = "output")]
    log: Option<PathBuf>,
}

#[derive(Subcommand)]
enum AttestCommand {
    /// SLSA Provenance v1 (or the link predicate) from a recorded link.
    Slsa(SlsaArgs),
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact attest slsa --link build.d3ffd108.link --key alice.pem -o build.provenance.json
  intact attest slsa --link build.d3ffd108.link --key alice.pem --builder-id https://ci.example/runner --tool cargo

Timestamps: SOURCE_DATE_EPOCH fixes startedOn/finishedOn, so the same link
and key give the same bytes.

Exit codes:
  0   the envelope was written
  2   unusable input (a malformed link, a step without products, a bad key)")]
struct SlsaArgs {
    /// The recorded link (its products become the subjects).
    #[arg(long)]
    link: PathBuf,
    /// runDetails.builder.id (default: detected from GitHub Actions or
    /// GitLab CI, else a local builder id).
    #[arg(long, value_name = "URI")]
    builder_id: Option<String>,
    /// Record NAME's `NAME --version` output in runDetails.builder.version.
    #[arg(long = "tool", value_name = "NAME")]
    tools: Vec<String>,
    #[command(flatten)]
    sign: SignOpts,
}

fn write_envelope(env: &intact_model::Envelope, output: Option<&Path>) -> Result<()> {
    let mut bytes = env.to_bytes()?;
    bytes.push(b'\n');
    match output {
        Some(out) => {
            intact_model::io::write_atomic(out, &bytes, 0o644)?;
            eprintln!("wrote {}", out.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout().lock().write_all(&bytes)?;
        }
    }
    Ok(())
}

fn sign_and_write(st: &Statement, opts: &SignOpts) -> Result<Outcome> {
    let keys = opts
        .keys
        .iter()
        .map(|k| super::load_signing_key(k, opts.prompt))
        .collect::<Result<Vec<_>>>()?;
    let env = sign_statement(st, &keys.iter().collect::<Vec<_>>())?;
    write_envelope(&env, opts.output.as_deref())?;
    if let Some(out) = &opts.output {
        super::log_event(opts.log.as_deref(), out, false)?;
    }
    Ok(Outcome::Ok)
}

pub fn run(a: AttestArgs) -> Result<Outcome> {
    if let Some(AttestCommand::Slsa(s)) = a.command {
        return slsa(s);
    }
    let mut subject = Vec::new();
    for s in &a.subjects {
        subject.push(SubjectSpec::parse(s)?.resolve()?);
    }
    for o in &a.oci {
        subject.push(oci_subject(o)?);
    }
    if subject.is_empty() {
        anyhow::bail!("give at least one --subject or --subject-oci");
    }
    let (Some(ptype), Some(ppath)) = (a.predicate_type, a.predicate) else {
        anyhow::bail!("--predicate-type and --predicate are required");
    };
    let bytes = intact_model::io::read_limited(&ppath, MAX_PREDICATE_BYTES)?;
    let value = intact_model::json::parse_strict(&bytes)
        .with_context(|| format!("{}: not a JSON predicate", ppath.display()))?;
    let Value::Object(obj) = value else {
        anyhow::bail!("{}: the predicate must be a JSON object", ppath.display());
    };
    let predicate =
        Predicate::from_parts(&ptype, Some(obj)).with_context(|| format!("{}", ppath.display()))?;
    let st = Statement::new(subject, predicate);
    sign_and_write(&st, &a.sign)
}

fn slsa(a: SlsaArgs) -> Result<Outcome> {
    let md = intact_model::Metadata::load(&a.link)?;
    let payload = md.payload()?;
    let link = payload
        .as_link()
        .with_context(|| format!("{}: not a link", a.link.display()))?;
    let clock = intact_attest::time::Clock::from_env()?;
    let mut run = intact_attest::slsa::RunContext {
        builder_id: a.builder_id.clone(),
        ..Default::default()
    };
    if let intact_attest::time::Clock::Fixed(_) = clock {
        run.started_on = Some(clock.now()?);
        run.finished_on = Some(clock.now()?);
    }
    run.tools = intact_step::tool_versions(&a.tools)?;
    let st = intact_attest::slsa::provenance_statement(link, &run)
        .with_context(|| format!("{}", a.link.display()))?;
    sign_and_write(&st, &a.sign)
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact verify-attestation app.intoto.json --key alice.pub --subject dist/app.tar.gz
  intact verify-attestation build.provenance.json --key alice.pub --subject app=sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae --builder-id https://ci.example/runner --source-uri https://git.example/app --source-ref refs/heads/main
  intact verify-attestation scan.intoto.json --key alice.pub --predicate-type https://example.com/scan/v1 --format json

Checks: signature, statement, subject, predicate-type, builder-id, source.
A predicate type intact does not know fails unless --predicate-type names it.

Exit codes:
  0   every check passed
  1   a check failed
  2   unusable input (an unreadable envelope, key or subject file)")]
pub struct VerifyAttestationArgs {
    /// The DSSE envelope.
    envelope: PathBuf,
    /// Public keys; a valid signature by any one of them is enough.
    #[arg(long = "key", short = 'k', required = true, num_args = 1..)]
    keys: Vec<PathBuf>,
    /// An artifact that must be a subject: a FILE or NAME=sha256:HEX.
    #[arg(long = "subject", value_name = "FILE|NAME=sha256:HEX")]
    subjects: Vec<String>,
    /// The predicate type the statement must have.
    #[arg(long, value_name = "URI")]
    predicate_type: Option<String>,
    /// The SLSA provenance's runDetails.builder.id must be this.
    #[arg(long, value_name = "ID")]
    builder_id: Option<String>,
    /// The provenance's source repository must be this.
    #[arg(long, value_name = "URI")]
    source_uri: Option<String>,
    /// The provenance's source ref (or commit) must be this.
    #[arg(long, value_name = "REF")]
    source_ref: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn verify(a: VerifyAttestationArgs) -> Result<Outcome> {
    let env = intact_attest::load_envelope(&a.envelope)?;
    let keys = a
        .keys
        .iter()
        .map(|k| load_public_key(k).map_err(anyhow::Error::from))
        .collect::<Result<Vec<_>>>()?;
    let mut subjects = Vec::new();
    for s in &a.subjects {
        subjects.push(SubjectSpec::parse(s)?.resolve()?);
    }
    let exp = Expectations {
        subjects,
        predicate_type: a.predicate_type,
        builder_id: a.builder_id,
        source_uri: a.source_uri,
        source_ref: a.source_ref,
    };
    let report = verify_envelope(&env, &keys, &exp);
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => {
            for c in &report.checks {
                let mark = match c.status {
                    Status::Pass => "PASS",
                    Status::Fail => "FAIL",
                    Status::Skip => "skip",
                };
                println!("{mark}  {:<15} {}", c.name, c.detail);
            }
            if report.passed {
                println!("PASSED: {} verified", a.envelope.display());
            } else {
                println!("FAILED: {} did not verify", a.envelope.display());
            }
        }
    }
    Ok(if report.passed {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
