//! `intact layout build|check|export`: layouts authored in YAML.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use intact_layout::{
    check_file, export, has_errors, sign_layout, BuildOptions, Finding, Severity, Source,
};
use intact_model::{Container, Metadata, Payload};

use crate::Outcome;

#[derive(Subcommand)]
pub enum LayoutCommand {
    /// Compile a YAML layout, embed the functionaries' keys and sign it.
    Build(BuildArgs),
    /// Report problems in a YAML or signed layout (exit 1 if any is an error).
    Check(CheckArgs),
    /// Print a signed layout as YAML in the authoring format.
    Export(ExportArgs),
    /// Draw the layout: steps and inspections, and the artifacts their
    /// MATCH rules take from each other (Graphviz dot, Mermaid or SVG).
    Graph(GraphArgs),
    /// Trace which artifacts the layout constrains and list its holes
    /// (open ALLOWs, shared keys, thresholds of 1, rules that never match).
    Coverage(CoverageArgs),
    /// Replace a functionary key everywhere the layout uses it (keys,
    /// steps, git signers), re-signing a signed layout.
    RotateKey(RotateKeyArgs),
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact layout rotate-key layout.yaml --from keys/bob.pub --to keys/bob-2027.pub
  intact layout rotate-key root.layout --from bob.pub --to bob-2027.pub --key alice.pem

The old key is found by key material, whatever name or keyid it is listed
under. In YAML every place naming a key file that holds the old key names
the new file instead (comments kept); a signed layout is re-signed with
--key (its old signatures no longer hold). docs/key-management.md gives the
whole rotation procedure.

Exit codes:
  0   rotated and written
  2   the old key is not in the layout, a key or the layout is unusable,
      or a signed layout without --key")]
pub struct RotateKeyArgs {
    /// A YAML layout or a signed layout (Metablock or DSSE envelope).
    file: PathBuf,
    /// The key to replace (a public or private key file).
    #[arg(long, value_name = "OLD")]
    from: PathBuf,
    /// The key that replaces it (a public key file).
    #[arg(long, value_name = "NEW")]
    to: PathBuf,
    /// For a signed layout: the owners' private keys to sign it with.
    #[arg(long = "key", short = 'k', num_args = 1..)]
    keys: Vec<PathBuf>,
    /// Where to write it (default: FILE itself).
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Ask for the passwords of encrypted private keys.
    #[arg(long)]
    prompt: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CoverageFormat {
    /// For people.
    Text,
    /// `intact.layout-coverage/v1` (docs/attack-drills.md).
    Json,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact layout coverage layout.yaml
  intact layout coverage root.layout --format json

Every finding has a code, a risk (high, medium, low), the rule's location
(the YAML line when given YAML) and a suggested fix; docs/attack-drills.md
explains each code. A signed layout's signatures are not checked.

Exit codes:
  0   the report was printed (holes are findings, not failures)
  1   the YAML layout has errors (printed); no report
  2   the file is unreadable, not YAML / a signed layout, or a link")]
pub struct CoverageArgs {
    /// A YAML layout or a signed layout (Metablock or DSSE envelope).
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: CoverageFormat,
    /// A value for a `{NAME}` placeholder (YAML only).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    params: Vec<String>,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact layout build layout.yaml --key alice.pem -o root.layout
  intact layout build layout.yaml --key alice.pem --dsse -o root.layout
  intact layout build layout.yaml --key alice.pem --no-key-names -o root.layout

Exit codes:
  0   the layout was compiled, signed and written
  1   the layout has errors (printed); nothing was signed
  2   a file is unreadable, not YAML, or the output is the source")]
pub struct BuildArgs {
    /// The YAML layout.
    layout: PathBuf,
    /// The owners' private keys (PEM files, pkcs11: URIs or ssh-agent:KEY);
    /// the layout is signed with each.
    #[arg(long = "key", short = 'k', required = true, num_args = 1..)]
    keys: Vec<PathBuf>,
    /// A value for a `{NAME}` placeholder, substituted before signing
    /// (placeholders without a value are left for the verifier).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Where to write the signed layout.
    #[arg(long, short = 'o', default_value = "root.layout")]
    output: PathBuf,
    /// Write a DSSE envelope instead of a Metablock.
    #[arg(long)]
    dsse: bool,
    /// Ask for the passwords of encrypted private keys.
    #[arg(long)]
    prompt: bool,
    /// Leave key names out of the layout's key dictionaries, for verifiers
    /// that re-encode them (in-toto-golang, in-toto-rs); intact and the
    /// Python reference keep them, and name keys by them.
    #[arg(long)]
    no_key_names: bool,
    /// Append the event to the transparency log in DIR (`intact log
    /// init`) and write the inclusion proof beside the output (FILE.proof).
    #[arg(long, value_name = "DIR")]
    log: Option<PathBuf>,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact layout check layout.yaml --param REPO=https://example.com/p.git
  intact layout check root.layout
  generate-layout | intact layout check -

Exit codes:
  0   no errors (warnings may be printed)
  1   the layout has errors
  2   the file is unreadable or not YAML / a signed layout")]
pub struct CheckArgs {
    /// A YAML layout, or a signed layout (Metablock or DSSE envelope); `-`
    /// reads standard input (key paths then resolve against the current
    /// directory).
    file: PathBuf,
    /// A value for a `{NAME}` placeholder, as for `build` (YAML only).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Warn when the layout expires within this period (`s`, `m`, `h`,
    /// `d`, `w`), as `intact verify` does.
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    warn_expiry: String,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact layout export root.layout -o layout.yaml
  intact layout export root.layout | less

Exit codes:
  0   the YAML was written
  2   the file is unreadable or not a signed layout, or the output is the input")]
pub struct ExportArgs {
    /// A signed layout (Metablock or DSSE envelope).
    file: PathBuf,
    /// Write the YAML here instead of printing it.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz (`dot -Tpng`).
    Dot,
    /// A Mermaid flowchart (renders in GitHub and GitLab Markdown).
    Mermaid,
    /// An SVG picture drawn by intact itself.
    Svg,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact layout graph root.layout
  intact layout graph layout.yaml --format mermaid
  intact layout graph root.layout --format svg > layout.svg
  generate-layout | intact layout graph - --format dot

Nodes are steps (with their functionaries' short keyids, or the key names
of a YAML source, and the threshold) and inspections (with their command);
an edge `clone -> build` labelled `src/*` is a rule `MATCH src/* WITH
PRODUCTS FROM clone` of build. Dashed edges are product rules. A signed
layout's signatures are not checked.

Exit codes:
  0   the picture was printed
  1   the YAML layout has errors (printed); nothing was drawn
  2   the file is unreadable, not YAML / a signed layout, or a link")]
pub struct GraphArgs {
    /// A signed layout (Metablock or DSSE envelope) or a YAML layout; `-`
    /// reads standard input (key paths then resolve against the current
    /// directory).
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "dot")]
    format: GraphFormat,
    /// A value for a `{NAME}` placeholder (YAML only).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Mark the open hops `intact layout coverage` finds: each step or
    /// inspection where artifacts enter unchecked is drawn in red with
    /// its open rules.
    #[arg(long)]
    coverage: bool,
}

pub fn run(cmd: LayoutCommand) -> Result<Outcome> {
    match cmd {
        LayoutCommand::Build(a) => build(a),
        LayoutCommand::Check(a) => check(a),
        LayoutCommand::Export(a) => export_cmd(a),
        LayoutCommand::Graph(a) => graph(a),
        LayoutCommand::Coverage(a) => coverage(a),
        LayoutCommand::RotateKey(a) => rotate_key(a),
    }
}

fn rotate_key(a: RotateKeyArgs) -> Result<Outcome> {
    let from = intact_crypto::load_public_key(&a.from)
        .with_context(|| format!("--from {}", a.from.display()))?;
    let to = intact_crypto::load_public_key(&a.to)
        .with_context(|| format!("--to {}", a.to.display()))?;
    let output = a.output.clone().unwrap_or_else(|| a.file.clone());
    let bytes =
        intact_model::io::read_limited(&a.file, intact_model::io::DEFAULT_MAX_METADATA_SIZE)
            .with_context(|| a.file.display().to_string())?;
    if intact_layout::is_signed_metadata(&bytes) {
        if a.keys.is_empty() {
            bail!(
                "{}: a signed layout must be signed again after the rotation: pass --key OWNER.pem",
                a.file.display()
            );
        }
        let md = intact_model::Metadata::load(&a.file)?;
        let intact_model::Payload::Layout(layout) = md.payload()? else {
            bail!("{}: not a layout", a.file.display());
        };
        let (rotated, r) = intact_layout::rotate_key(&layout, &from, &to)
            .with_context(|| a.file.display().to_string())?;
        let mut keys = Vec::new();
        for path in &a.keys {
            keys.push(super::load_signing_key(path, a.prompt)?);
        }
        // The owner signs what rotate-key hands over: it must be what the
        // owner signed before, or an edited layout (an attacker's, in the
        // very incident a rotation answers) would get the owner's signature.
        let vouched = keys.iter().any(|k| {
            k.keyid()
                .is_ok_and(|id| intact_crypto::verify_metadata(&md, &id, k.public_key()).is_ok())
        });
        if !vouched {
            bail!(
                "{}: carries no valid signature by the --key given; rotate only a layout \
                 its owner signed (verify it with `intact sign --verify`), or rotate the \
                 YAML and build it again",
                a.file.display()
            );
        }
        let md = sign_layout(&rotated, &keys, md.container())?;
        md.save(&output)?;
        print_rotation(&r, &output);
        for (key, path) in keys.iter().zip(&a.keys) {
            println!("signed by {} ({})", key.keyid()?, path.display());
        }
    } else {
        let text = String::from_utf8(bytes.to_vec())
            .with_context(|| format!("{}: not UTF-8", a.file.display()))?;
        let base = a.file.parent().unwrap_or_else(|| Path::new(""));
        let new_file = relative_to(&a.to, base);
        let (rotated, r) = intact_layout::rotate_yaml(&text, base, &from, &new_file)
            .with_context(|| a.file.display().to_string())?;
        intact_model::io::write_atomic(&output, rotated.as_bytes(), 0o644)?;
        print_rotation(&r, &output);
        println!(
            "build and sign it again: intact layout build {} --key OWNER.pem",
            output.display()
        );
    }
    Ok(Outcome::Ok)
}

/// `path` as the YAML in `base` names it.
fn relative_to(path: &Path, base: &Path) -> String {
    let direct = if base.as_os_str().is_empty() {
        Some(path.to_path_buf())
    } else {
        path.strip_prefix(base).ok().map(Path::to_path_buf)
    };
    let found = direct.or_else(|| {
        let p = path.canonicalize().ok()?;
        let b = base.canonicalize().ok()?;
        p.strip_prefix(&b).ok().map(Path::to_path_buf).or(Some(p))
    });
    found
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

fn print_rotation(r: &intact_layout::Rotation, output: &Path) {
    let steps: Vec<&str> = r.steps.iter().map(|s| s.as_str()).collect();
    let old: Vec<&str> = r.old_keyids.iter().map(|k| k.short()).collect();
    println!(
        "rotated key {} in {}: steps [{}]{}{}",
        old.join(", "),
        output.display(),
        steps.join(", "),
        if r.git_signers > 0 {
            format!(", {} git signer(s)", r.git_signers)
        } else {
            String::new()
        },
        r.new_keyid
            .as_ref()
            .map(|k| format!("; new key {}", k.short()))
            .unwrap_or_default()
    );
}

fn options(params: &[String]) -> Result<BuildOptions> {
    let mut parameters = BTreeMap::new();
    for p in params {
        let Some((name, value)) = p.split_once('=') else {
            bail!("--param {p:?}: expected NAME=VALUE");
        };
        if parameters
            .insert(name.to_string(), value.to_string())
            .is_some()
        {
            bail!("--param {name} is given more than once");
        }
    }
    Ok(BuildOptions {
        parameters,
        ..BuildOptions::default()
    })
}

fn finding_line(file: &Path, f: &Finding) -> String {
    let sep = if f.location.line.is_some() { ":" } else { ": " };
    format!("{}{sep}{}", file.display(), f.display_line())
}

fn summary(findings: &[Finding]) -> String {
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

fn build(a: BuildArgs) -> Result<Outcome> {
    intact_layout::check_output_is_not_source(&a.layout, &a.output)?;
    let source = Source::load(&a.layout)?;
    let compiled = source.compile(&BuildOptions {
        key_names: !a.no_key_names,
        ..options(&a.params)?
    })?;
    for f in &compiled.findings {
        eprintln!("{}", finding_line(&a.layout, f));
    }
    if compiled.has_errors() {
        eprintln!(
            "{}: {}; nothing was signed",
            a.layout.display(),
            summary(&compiled.findings)
        );
        return Ok(Outcome::Failed);
    }
    let mut keys = Vec::new();
    for path in &a.keys {
        keys.push(super::load_signing_key(path, a.prompt)?);
    }
    let container = if a.dsse {
        Container::Envelope
    } else {
        Container::Metablock
    };
    let layout = &compiled.layout;
    let pki = layout.rootcas.is_some()
        || layout.intermediatecas.is_some()
        || layout.steps.iter().any(|s| s.cert_constraints.is_some());
    if pki && !a.dsse {
        eprintln!(
            "warning: the layout has rootcas or cert_constraints, which the in-toto reference drops \
             before checking a Metablock layout's signature: pass --dsse for a layout it loads (docs/pki.md)"
        );
    }
    let md = sign_layout(&compiled.layout, &keys, container)?;
    md.save(&a.output)?;
    let kind = if a.dsse { "DSSE envelope" } else { "Metablock" };
    println!("wrote {} ({kind})", a.output.display());
    for (key, path) in keys.iter().zip(&a.keys) {
        println!("signed by {} ({})", key.keyid()?, path.display());
    }
    if !compiled.unbound_parameters.is_empty() {
        let names: Vec<String> = compiled
            .unbound_parameters
            .iter()
            .map(|n| format!("{{{n}}}"))
            .collect();
        println!("left for verification: {}", names.join(", "));
    }
    super::log_event(a.log.as_deref(), &a.output, false)?;
    Ok(Outcome::Ok)
}

/// Standard input, at most the metadata size cap.
fn read_stdin() -> Result<Vec<u8>> {
    use std::io::Read;
    let cap = intact_model::io::DEFAULT_MAX_METADATA_SIZE;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .context("reading standard input")?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > cap {
        bail!("standard input: more than {cap} bytes");
    }
    Ok(bytes)
}

/// `layout check -`: the same checks on standard input.
fn check_stdin(opts: &intact_layout::BuildOptions) -> Result<Vec<intact_layout::Finding>> {
    let bytes = read_stdin()?;
    if intact_layout::is_signed_metadata(&bytes) {
        return Ok(intact_layout::check_signed_with(
            &bytes,
            opts.now,
            opts.warn_expiry,
        )?);
    }
    let text = String::from_utf8(bytes).context("standard input: not UTF-8")?;
    Ok(intact_layout::Source::parse(text, "")?
        .compile(opts)?
        .findings)
}

fn check(a: CheckArgs) -> Result<Outcome> {
    let mut opts = options(&a.params)?;
    opts.warn_expiry = intact_keystatus::parse_duration(&a.warn_expiry)
        .map_err(|e| anyhow::anyhow!("--warn-expiry {}: {e}", a.warn_expiry))?;
    let findings = if a.file == Path::new("-") {
        check_stdin(&opts)?
    } else {
        check_file(&a.file, &opts)?
    };
    for f in &findings {
        println!("{}", finding_line(&a.file, f));
    }
    if findings.is_empty() {
        println!("{}: no problems found", a.file.display());
    } else {
        println!("{}: {}", a.file.display(), summary(&findings));
    }
    Ok(if has_errors(&findings) {
        Outcome::Failed
    } else {
        Outcome::Ok
    })
}

fn export_cmd(a: ExportArgs) -> Result<Outcome> {
    if let Some(out) = &a.output {
        intact_layout::check_output_is_not_source(&a.file, out)?;
    }
    let md = Metadata::load(&a.file)?;
    let layout = match md.payload().map_err(|e| e.in_file(&a.file))? {
        Payload::Layout(l) => l,
        Payload::Link(_) => bail!("{}: expected a layout, found a link", a.file.display()),
    };
    let yaml = export(&layout).with_context(|| a.file.display().to_string())?;
    match &a.output {
        Some(out) => {
            intact_model::io::write_atomic(out, yaml.as_bytes(), 0o644)?;
            eprintln!("wrote {}", out.display());
        }
        None => print!("{yaml}"),
    }
    Ok(Outcome::Ok)
}

fn graph(a: GraphArgs) -> Result<Outcome> {
    let opts = options(&a.params)?;
    let (bytes, base) = if a.file == Path::new("-") {
        (read_stdin()?, PathBuf::new())
    } else {
        let bytes =
            intact_model::io::read_limited(&a.file, intact_model::io::DEFAULT_MAX_METADATA_SIZE)
                .map_err(intact_model::ModelError::from)?;
        (
            bytes.to_vec(),
            a.file.parent().map(Path::to_path_buf).unwrap_or_default(),
        )
    };
    let (mut graph, findings) = intact_layout::graph_source(&bytes, &base, &opts)
        .with_context(|| a.file.display().to_string())?;
    if has_errors(&findings) {
        for f in findings.iter().filter(|f| f.severity == Severity::Error) {
            eprintln!("{}", finding_line(&a.file, f));
        }
        eprintln!(
            "{}: {}; nothing was drawn",
            a.file.display(),
            summary(&findings)
        );
        return Ok(Outcome::Failed);
    }
    if a.coverage {
        let (report, _) = intact_layout::coverage_source(&bytes, &base, &opts)
            .with_context(|| a.file.display().to_string())?;
        graph.mark_open_hops(&report);
    }
    match a.format {
        GraphFormat::Dot => print!("{}", graph.to_dot()),
        GraphFormat::Mermaid => print!("{}", graph.to_mermaid()),
        GraphFormat::Svg => print!("{}", graph.to_svg(&intact_layout::SvgOptions::default())),
    }
    Ok(Outcome::Ok)
}

fn coverage(a: CoverageArgs) -> Result<Outcome> {
    let opts = options(&a.params)?;
    let bytes =
        intact_model::io::read_limited(&a.file, intact_model::io::DEFAULT_MAX_METADATA_SIZE)
            .map_err(intact_model::ModelError::from)?;
    let base = a.file.parent().map(Path::to_path_buf).unwrap_or_default();
    let (report, findings) = intact_layout::coverage_source(&bytes, &base, &opts)
        .with_context(|| a.file.display().to_string())?;
    if has_errors(&findings) {
        for f in findings.iter().filter(|f| f.severity == Severity::Error) {
            eprintln!("{}", finding_line(&a.file, f));
        }
        eprintln!("{}: {}; no report", a.file.display(), summary(&findings));
        return Ok(Outcome::Failed);
    }
    match a.format {
        CoverageFormat::Text => print!("{}", report.to_text(&a.file.display().to_string())),
        CoverageFormat::Json => println!("{}", serde_json::to_string_pretty(&report.to_json())?),
    }
    Ok(Outcome::Ok)
}
