//! `intact oci push|pull|referrers|resolve`: layouts, links and
//! attestations in an OCI registry (docs/oci.md). The work is
//! `intact_oci`'s; this parses and prints.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use intact_oci::{ImageRef, Item, Kind, Registry, RegistryOptions};

use crate::Outcome;

#[derive(Subcommand)]
pub enum OciCommand {
    /// Attach a layout, links and attestations to an image digest, or push a file as an artifact.
    Push(PushArgs),
    /// Download what is attached to an image digest, for offline verification.
    Pull(PullArgs),
    /// List the artifacts attached to an image digest.
    Referrers(ReferrersArgs),
    /// Resolve a tag to its digest.
    Resolve(ResolveArgs),
}

/// How to reach the registry; shared by every `oci` command and
/// `verify --image`.
#[derive(Args, Clone, Default)]
pub struct RegistryArgs {
    /// Plain HTTP, for a registry on localhost only.
    #[arg(long)]
    pub insecure: bool,
    /// A PEM file of CA certificates to trust besides the system's.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Refuse a tag-only reference (REF@sha256:... required).
    #[arg(long)]
    pub require_digest: bool,
}

impl RegistryArgs {
    /// Parse the reference and connect: credentials from
    /// INTACT_REGISTRY_USER/_PASSWORD, else docker's config.json.
    pub fn connect(&self, reference: &str) -> Result<(ImageRef, Registry)> {
        let r = ImageRef::parse(reference)?;
        if self.require_digest {
            r.require_digest()?;
        }
        let opts = RegistryOptions {
            insecure: self.insecure,
            ca_file: self.ca_file.clone(),
            credentials: credentials(r.registry())?,
            ..Default::default()
        };
        let registry = Registry::connect(&r, &opts)?;
        Ok((r, registry))
    }
}

fn credentials(registry: &str) -> Result<Option<intact_oci::Credentials>> {
    let from_env = intact_oci::env_credentials(registry, |k| std::env::var(k).ok());
    if let Some(c) = from_env.map_err(|e| anyhow::anyhow!(e))? {
        return Ok(Some(c));
    }
    let config = match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir).join("config.json"),
        None => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".docker").join("config.json"),
            None => return Ok(None),
        },
    };
    Ok(intact_oci::docker_config_credentials(&config, registry)?)
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact oci push registry.example.com/app@sha256:HEX --layout root.layout --link-dir links/
  intact oci push registry.example.com/app@sha256:HEX --attestation build.intoto.json
  intact oci push registry.example.com/releases:v1.2 --artifact dist/app.tar.gz

The layout, every *.link of --link-dir and each attestation become OCI
artifacts whose subject is the image manifest (docs/oci.md). On a registry
without the OCI 1.1 referrers API the fallback tag sha256-HEX is updated.
--artifact pushes a plain file and prints its manifest digest: the subject
to pin and to attach the chain to.

Credentials: INTACT_REGISTRY_USER and INTACT_REGISTRY_PASSWORD for the one
registry named in INTACT_REGISTRY_HOST, else the registry's entry in
docker's config.json ($DOCKER_CONFIG or ~/.docker).

Exit codes:
  0   pushed
  2   bad reference or file, registry unreachable, access denied")]
pub struct PushArgs {
    /// REGISTRY/REPO@sha256:DIGEST (with --artifact: REGISTRY/REPO[:TAG]).
    reference: String,
    /// The signed root layout to attach.
    #[arg(long, short = 'l')]
    layout: Option<PathBuf>,
    /// Attach every *.link file of this directory.
    #[arg(long, value_name = "DIR")]
    link_dir: Option<PathBuf>,
    /// Attach an attestation (DSSE envelope). Repeatable.
    #[arg(long = "attestation", value_name = "FILE")]
    attestations: Vec<PathBuf>,
    /// Push this file as an OCI artifact and print its manifest digest.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["layout", "link_dir", "attestations"])]
    artifact: Option<PathBuf>,
    /// Refuse a file larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = intact_model::io::DEFAULT_MAX_METADATA_SIZE)]
    max_metadata_size: u64,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact oci pull registry.example.com/app@sha256:HEX -o chain/
  intact verify --layout chain/root.layout --layout-key alice.pub --link-dir chain/ \\
      --subject oci:registry.example.com/app@sha256:HEX=sha256:HEX

A tag is resolved to its digest, which is printed (--require-digest
refuses tags). Every file is checked against its digest before it is
written.

Exit codes:
  0   pulled
  2   bad reference, nothing attached, a digest mismatch, registry unreachable, access denied")]
pub struct PullArgs {
    /// REGISTRY/REPO@sha256:DIGEST or REGISTRY/REPO:TAG.
    reference: String,
    /// The directory to write the layout, links and attestations to.
    #[arg(long, short = 'o', value_name = "DIR")]
    output: PathBuf,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact oci referrers registry.example.com/app@sha256:HEX
  intact oci referrers registry.example.com/app:v1.2 --ca-file ca.pem

One line per attached artifact: manifest digest, artifactType, intact's
kind (layout, link, attestation; - for another tool's) and file name.

Exit codes:
  0   listed (possibly nothing)
  2   bad reference, registry unreachable, access denied")]
pub struct ReferrersArgs {
    /// REGISTRY/REPO@sha256:DIGEST or REGISTRY/REPO:TAG.
    reference: String,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact oci resolve registry.example.com/app:v1.2
  intact oci push \"registry.example.com/app@$(intact oci resolve registry.example.com/app:v1.2)\" -l root.layout

Prints the manifest digest, sha256:HEX (checked when the reference has one).

Exit codes:
  0   resolved
  2   bad reference, not found, registry unreachable, access denied")]
pub struct ResolveArgs {
    /// REGISTRY/REPO:TAG (or @sha256:DIGEST, checked).
    reference: String,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(c: OciCommand) -> Result<Outcome> {
    match c {
        OciCommand::Push(a) => push(a),
        OciCommand::Pull(a) => pull(a),
        OciCommand::Referrers(a) => referrers(a),
        OciCommand::Resolve(a) => resolve(a),
    }
}

fn push(a: PushArgs) -> Result<Outcome> {
    let (r, registry) = a.registry.connect(&a.reference)?;
    if let Some(file) = &a.artifact {
        let digest = registry.push_file(&r, file)?;
        eprintln!("intact: pushed {} as {}@{digest}", file.display(), r.name());
        println!("{digest}");
        return Ok(Outcome::Ok);
    }
    if r.digest().is_none() {
        bail!(
            "{}: attach metadata to a digest, not a tag (REF@sha256:...; `intact oci resolve {}` prints it)",
            a.reference,
            a.reference
        );
    }
    let limit = a.max_metadata_size;
    let mut items = Vec::new();
    // Each file with its inclusion proof (FILE.proof) when it has one.
    let mut add = |kind: Kind, path: &std::path::Path| -> Result<()> {
        items.push(Item::from_file(kind, path, limit)?);
        let mut proof = path.as_os_str().to_owned();
        proof.push(".proof");
        let proof = PathBuf::from(proof);
        if proof.is_file() {
            items.push(Item::from_file(Kind::Proof, &proof, limit)?);
        }
        Ok(())
    };
    if let Some(layout) = &a.layout {
        add(Kind::Layout, layout)?;
    }
    if let Some(dir) = &a.link_dir {
        let links = intact_oci::links_in_dir(dir)?;
        if links.is_empty() {
            bail!("{}: no *.link files in the directory", dir.display());
        }
        for link in links {
            add(Kind::Link, &link)?;
        }
    }
    for att in &a.attestations {
        add(Kind::Attestation, att)?;
    }
    if items.is_empty() {
        bail!("nothing to push: give --layout, --link-dir, --attestation or --artifact");
    }
    let report = registry.push_referrers(&r, &items)?;
    for p in &report.pushed {
        println!("{} {} {}", p.digest, p.kind, p.name);
    }
    match &report.fallback_tag {
        Some(tag) => eprintln!(
            "intact: attached {} artifacts to {} (no referrers API: listed in the fallback tag {tag})",
            report.pushed.len(),
            report.subject
        ),
        None => eprintln!(
            "intact: attached {} artifacts to {}",
            report.pushed.len(),
            report.subject
        ),
    }
    Ok(Outcome::Ok)
}

/// Pull into `out` and print what was written; `verify --image` uses it too.
pub fn pull_into(
    args: &RegistryArgs,
    reference: &str,
    out: &Path,
) -> Result<intact_oci::PullReport> {
    let (r, registry) = args.connect(reference)?;
    let report = registry.pull(&r, out)?;
    if r.digest().is_none() {
        eprintln!("intact: {reference} resolved to {}", report.subject);
    }
    Ok(report)
}

fn pull(a: PullArgs) -> Result<Outcome> {
    let report = pull_into(&a.registry, &a.reference, &a.output)?;
    for (kind, path) in &report.files {
        println!("{kind} {}", path.display());
    }
    let digest = report.subject.digest().unwrap_or_default();
    eprintln!(
        "intact: {} files attached to {}; verify offline with --subject {}",
        report.files.len(),
        report.subject,
        subject_spec(&report.subject, &report.subject_kind, digest)
    );
    Ok(Outcome::Ok)
}

/// The `--subject NAME=sha256:HEX` a pulled subject is verified as: an
/// image by its manifest digest, named `oci:REGISTRY/REPO`; a pushed file
/// by its content digest, named by its file name.
pub fn subject_spec(r: &ImageRef, kind: &intact_oci::SubjectKind, digest: &str) -> String {
    match kind {
        intact_oci::SubjectKind::Image => format!("oci:{}@{digest}={digest}", r.name()),
        intact_oci::SubjectKind::File { name, digest } => format!("{name}={digest}"),
    }
}

fn referrers(a: ReferrersArgs) -> Result<Outcome> {
    let (r, registry) = a.registry.connect(&a.reference)?;
    let r = match r.digest() {
        Some(_) => r,
        None => {
            let resolved = registry.resolve(&r)?;
            eprintln!("intact: {} resolved to {}", a.reference, resolved.digest);
            r.at_digest(&resolved.digest)
        }
    };
    for x in registry.referrers(&r)? {
        println!(
            "{} {} {} {}",
            x.digest,
            x.artifact_type,
            x.kind.as_deref().unwrap_or("-"),
            x.name.as_deref().unwrap_or("-")
        );
    }
    Ok(Outcome::Ok)
}

fn resolve(a: ResolveArgs) -> Result<Outcome> {
    let (r, registry) = a.registry.connect(&a.reference)?;
    let resolved = registry.resolve(&r)?;
    println!("{}", resolved.digest);
    Ok(Outcome::Ok)
}
