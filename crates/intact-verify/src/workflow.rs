//! The verification workflow, in the reference's order
//! (../shared/in-toto-spec.md §5), with intact's stricter checks.

use std::collections::BTreeMap;

use intact_crypto::PublicKey;
use intact_model::io::ReadError;
use intact_model::{Container, KeyId, Layout, Link, Metadata, Payload, Step, StepName};

use crate::explain::key_label as label;
use crate::report::{Failure, FailureKind, Stage, StageResult, Status, Warning};
use crate::signatures::{self, check_link, LayoutRejected, Loaded, Parsed, Rejected, Verified};
use rayon::prelude::*;

use crate::{inspect, rules, LinkSource, VerifyError, VerifyOptions};

/// Why the workflow stopped early.
pub(crate) enum Halt {
    /// The chain failed verification: the report says why.
    Failed(Box<Failure>),
    /// An input is unusable (a refused link file): an error, not a report.
    Unusable(VerifyError),
}

impl From<Box<Failure>> for Halt {
    fn from(f: Box<Failure>) -> Self {
        Halt::Failed(f)
    }
}

pub(crate) type Flow<T> = Result<T, Halt>;

/// Collects stage results and warnings while the workflow runs.
pub(crate) struct Ctx<'a> {
    pub opts: &'a VerifyOptions,
    pub stages: Vec<StageResult>,
    pub warnings: Vec<Warning>,
    /// Where the consumer's artifacts were found (top level only).
    pub subjects: Vec<crate::SubjectMatch>,
    /// Keyids of the links chosen per top-level step, for the summary.
    pub signers: BTreeMap<StepName, Vec<KeyId>>,
    /// The root layout, once its signatures held.
    pub layout: Option<crate::report::LayoutRecord>,
    /// Every link used as evidence, at any depth.
    pub links: Vec<crate::report::LinkRecord>,
    /// Keys whose signatures counted inside sublayouts: (the step's scope
    /// name, `parent/step`, keyid, key), for separation of duties, which
    /// charges a sublayout step with everyone who signed inside it.
    pub inner_signers: Vec<(String, KeyId, PublicKey)>,
    /// Certified keys accepted for links (docs/pki.md), by their own
    /// keyids: functionaries the layout's keys do not list.
    pub cert_keys: BTreeMap<KeyId, PublicKey>,
    /// What keys are called: the key files the consumer gave, then the
    /// names layouts carry beside their keys (added only once a layout's
    /// signatures held, so an unsigned layout cannot name keys).
    pub names: BTreeMap<KeyId, String>,
}

impl Ctx<'_> {
    pub fn pass(&mut self, stage: Stage, scope: Option<String>, message: impl Into<String>) {
        self.pass_with(stage, scope, message, Vec::new());
    }

    /// As [`Ctx::pass`], with the rules that held and what they consumed.
    pub fn pass_with(
        &mut self,
        stage: Stage,
        scope: Option<String>,
        message: impl Into<String>,
        rules: Vec<crate::report::RuleDetail>,
    ) {
        self.stages.push(StageResult {
            stage,
            status: Status::Passed,
            scope,
            message: message.into(),
            rules,
        });
    }

    pub fn warn(&mut self, stage: Stage, scope: Option<String>, message: impl Into<String>) {
        self.warnings.push(Warning {
            stage,
            scope,
            message: message.into(),
            code: None,
        });
    }

    /// Mark the latest result of `stage` as passed-with-warnings.
    fn downgrade_last(&mut self, stage: Stage) {
        if let Some(s) = self.stages.iter_mut().rev().find(|s| s.stage == stage) {
            s.status = Status::Warning;
        }
    }
}

pub(crate) fn fail(
    kind: FailureKind,
    scope: Option<String>,
    message: String,
    hint: impl Into<String>,
) -> Box<Failure> {
    Box::new(Failure::new(kind, scope, message, hint))
}

/// Scope names: `step` at the top, `parent/step` inside sublayouts; and
/// where a level's links are, relative to the link directory (empty at
/// the top, `parent.<keyid8>/` inside a sublayout).
#[derive(Clone, Default)]
pub(crate) struct Scope {
    name: Option<String>,
    dir: String,
}

impl Scope {
    pub fn of(&self, name: &str) -> Option<String> {
        Some(match &self.name {
            Some(p) => format!("{p}/{name}"),
            None => name.to_string(),
        })
    }
    fn layout(&self) -> Option<String> {
        self.name.clone()
    }
    /// The scope of the sublayout of step `name`, whose links are in `dir`.
    fn child(&self, name: &str, dir: &str) -> Scope {
        Scope {
            name: self.of(name),
            dir: format!("{}{dir}/", self.dir),
        }
    }
    /// `file` of this level, relative to the link directory.
    fn file(&self, file: &str) -> String {
        format!("{}{file}", self.dir)
    }
}

/// A link that passed its signature check, with where it came from.
pub(crate) struct Evidence {
    pub keyid: KeyId,
    pub file: String,
    /// SHA-256 of the file, for the audit record.
    pub sha256: Option<String>,
    /// The file, kept for sublayouts (whose own signatures are checked).
    pub md: Option<Metadata>,
    pub payload: Verified<Payload>,
}

/// Every step's verified links, in layout order.
type StepEvidence<'l> = Vec<(&'l Step, Vec<Evidence>)>;

/// Verify one layout level, stage by stage in the reference's order;
/// returns the summary link for the parent.
pub(crate) fn verify_level(
    ctx: &mut Ctx<'_>,
    md: &Metadata,
    keys: &BTreeMap<KeyId, PublicKey>,
    links: &dyn LinkSource,
    scope: &Scope,
    summary_name: Option<&StepName>,
    depth: usize,
) -> Flow<Option<Verified<Link>>> {
    let layout = layout_signatures(ctx, md, keys, scope)?;
    for (id, dict) in &layout.keys {
        if let Some(name) = dict.name() {
            ctx.names
                .entry(id.clone())
                .or_insert_with(|| name.to_string());
        }
    }
    if depth == 0 {
        ctx.layout = Some(crate::report::LayoutRecord::new(md, &layout, keys));
    }
    layout_expiry(ctx, &layout, md.container(), scope)?;
    let layout = parameters(ctx, layout, scope, depth)?;
    let layout_keys = check_layout(ctx, &layout, scope)?;
    rules::check_patterns(&layout)?;
    let mut evidence = step_links(ctx, &layout, links, &layout_keys, scope)?;
    sublayouts(ctx, &mut evidence, &layout_keys, links, scope, depth)?;
    expected_commands(ctx, &evidence, scope);
    let mut signed_by: BTreeMap<StepName, Vec<KeyId>> = evidence
        .iter()
        .map(|(step, ev)| {
            (
                step.name.clone(),
                ev.iter().map(|e| e.keyid.clone()).collect(),
            )
        })
        .collect();
    // Who did what, by key material: this level's functionaries, the
    // certified keys, and whoever signed inside a sublayout step, charged
    // to that step (separation of duties is about people).
    let mut functionaries = layout_keys.clone();
    functionaries.extend(ctx.cert_keys.iter().map(|(k, v)| (k.clone(), v.clone())));
    for (path, id, key) in &ctx.inner_signers {
        for (name, ids) in signed_by.iter_mut() {
            let Some(at) = scope.of(name.as_str()) else {
                continue;
            };
            if path.strip_prefix(&at).is_some_and(|r| r.starts_with('/')) {
                ids.push(id.clone());
                functionaries.insert(id.clone(), key.clone());
            }
        }
    }
    if depth > 0 {
        for (step, ev) in &evidence {
            let at = scope.of(step.name.as_str()).unwrap_or_default();
            for e in ev {
                if let Some(key) = functionaries.get(&e.keyid) {
                    ctx.inner_signers
                        .push((at.clone(), e.keyid.clone(), key.clone()));
                }
            }
        }
    }
    let chosen = threshold_agreement(ctx, evidence, scope)?;
    rules::check_steps(ctx, &layout, &chosen, scope)?;
    if depth == 0 {
        let signers = std::mem::take(&mut ctx.signers);
        crate::subjects::check(ctx, &layout, &chosen, &signers)?;
    }
    let keys = crate::separation::Keys {
        layout: &layout,
        functionaries: &functionaries,
        signed_by: &signed_by,
    };
    inspections(ctx, &layout, &chosen, &keys, scope)?;
    let summary = summary_name.map(|name| signatures::summary(name, &layout, &chosen));
    free_in_background(chosen.into_inner());
    Ok(summary)
}

/// Stages 1-2: every given key must have signed, and the payload must be a layout.
fn layout_signatures(
    ctx: &mut Ctx<'_>,
    md: &Metadata,
    keys: &BTreeMap<KeyId, PublicKey>,
    scope: &Scope,
) -> Flow<Verified<Layout>> {
    let at = scope.layout();
    let verdict = signatures::verify_layout(md, keys);
    if let Err(LayoutRejected::Signature(e)) = &verdict {
        let failure = match e {
            // No signature at all by this key: nothing was altered, this
            // owner has not signed (yet).
            intact_crypto::CryptoError::NoSignature(k) => fail(
                FailureKind::LayoutSignature,
                at,
                format!(
                    "owner {} has not signed this layout",
                    crate::explain::key_label(k, &ctx.names)
                ),
                "ask that owner to sign it (`intact sign LAYOUT --key THEIR_KEY.pem`), \
                 or check that --layout-key names the right owner keys",
            ),
            e => fail(
                FailureKind::LayoutSignature,
                at,
                format!(
                    "layout signature check failed: {}",
                    crate::explain::crypto_error(e, &ctx.names)
                ),
                "the layout was changed after it was signed, or signed with another key; \
                 get a layout signed by the expected owner key",
            ),
        };
        return Err(failure.into());
    }
    ctx.pass(
        Stage::LayoutSignatures,
        at.clone(),
        format!("signed by all {} required key(s)", keys.len()),
    );
    match verdict {
        Ok(layout) => Ok(layout),
        Err(LayoutRejected::Malformed(e)) => Err(fail(
            FailureKind::LayoutMalformed,
            at,
            format!("the layout payload is invalid: {e}"),
            "the layout is malformed; rebuild it with `intact layout build`",
        )
        .into()),
        Err(_) => Err(fail(
            FailureKind::NotALayout,
            at,
            "expected a layout, found a link".into(),
            "pass the signed root layout with --layout",
        )
        .into()),
    }
}

/// Stage 3: expiry (`expires <= now` fails, as in the reference).
///
/// A layout without `expires` never expires under the reference (it sets
/// an expiry a month after each load). intact refuses it
/// ([`FailureKind::LayoutNoExpiry`]); with `--compat` a DSSE layout
/// passes with a warning. A Metablock layout without `expires` stays
/// refused: the reference adds that default expiry before it checks the
/// signature over the re-serialised payload, so no signature made over
/// the file as written ever verifies there.
fn layout_expiry(
    ctx: &mut Ctx<'_>,
    layout: &Verified<Layout>,
    container: Container,
    scope: &Scope,
) -> Flow<()> {
    let at = scope.layout();
    let Some(expires) = &layout.expires else {
        let hint = "have the owner sign a layout with an expiry \
                    (`intact layout build` always sets one)";
        if !ctx.opts.compat {
            return Err(fail(
                FailureKind::LayoutNoExpiry,
                at,
                "the layout has no expiry: the reference treats that as never expiring, \
                 so a leaked or outdated layout would stay valid forever"
                    .into(),
                format!("{hint}, or pass --compat to accept it as the reference does"),
            )
            .into());
        }
        if container == Container::Metablock {
            return Err(fail(
                FailureKind::LayoutNoExpiry,
                at,
                "the Metablock layout has no expiry; the reference refuses it too: it adds \
                 a default expiry before checking the signature, which then fails"
                    .into(),
                hint,
            )
            .into());
        }
        ctx.warn(
            Stage::LayoutExpiry,
            at.clone(),
            "the layout has no expiry; accepted under --compat as never expiring, \
             as the reference does",
        );
        ctx.pass(Stage::LayoutExpiry, at, "no expiry (never expires)");
        ctx.downgrade_last(Stage::LayoutExpiry);
        return Ok(());
    };
    if expires.is_expired_at(ctx.opts.now) {
        return Err(fail(
            FailureKind::LayoutExpired,
            at,
            format!("the layout expired at {expires}"),
            "ask the project owner for a freshly signed layout",
        )
        .into());
    }
    ctx.pass(Stage::LayoutExpiry, at, format!("valid until {expires}"));
    Ok(())
}

/// Stage 4: parameters, only for the root layout (the reference does not pass
/// them into sublayouts).
fn parameters(
    ctx: &mut Ctx<'_>,
    layout: Verified<Layout>,
    scope: &Scope,
    depth: usize,
) -> Flow<Verified<Layout>> {
    if depth != 0 {
        return Ok(layout);
    }
    let at = scope.layout();
    let params = &ctx.opts.params;
    let used = intact_model::params::placeholders(&layout);
    if params.is_empty() && used.is_empty() {
        return Ok(layout);
    }
    let missing: Vec<&String> = used.iter().filter(|n| !params.contains_key(*n)).collect();
    let unknown: Vec<&String> = params.keys().filter(|n| !used.contains(*n)).collect();
    if ctx.opts.compat && params.is_empty() {
        // The reference substitutes only when given parameters: the
        // placeholders stay literal text.
        ctx.warn(
            Stage::Parameters,
            at,
            format!(
                "--compat: no --param given, placeholders left as text: {}",
                braced(&missing)
            ),
        );
        return Ok(layout);
    }
    if !missing.is_empty() {
        let flags: Vec<String> = missing
            .iter()
            .map(|n| format!("--param {n}=VALUE"))
            .collect();
        return Err(fail(
            FailureKind::ParameterMissing,
            at,
            format!(
                "the layout's placeholders have no value: {}",
                braced(&missing)
            ),
            format!("pass {}", flags.join(" ")),
        )
        .into());
    }
    if !unknown.is_empty() {
        let message = format!(
            "the layout has no placeholder for --param {}",
            unknown
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !ctx.opts.compat {
            let known: Vec<&String> = used.iter().collect();
            return Err(fail(
                FailureKind::ParameterUnknown,
                at,
                message,
                if known.is_empty() {
                    "the layout takes no parameters: drop the --param".to_string()
                } else {
                    format!("the layout's parameters: {}", braced(&known))
                },
            )
            .into());
        }
        ctx.warn(
            Stage::Parameters,
            at.clone(),
            format!("--compat: {message}"),
        );
    }
    let layout = layout
        .try_map(|l| intact_model::params::substitute_parameters(&l, params))
        .map_err(|e| {
            fail(
                FailureKind::Parameters,
                at.clone(),
                format!("parameter substitution failed: {e}"),
                "pass every parameter the layout uses with --param NAME=VALUE",
            )
        })?;
    ctx.pass(
        Stage::Parameters,
        at,
        format!("substituted {} parameter(s)", ctx.opts.params.len()),
    );
    Ok(layout)
}

/// `{A}, {B}`.
fn braced(names: &[&String]) -> String {
    names
        .iter()
        .map(|n| format!("{{{n}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stages 5-6: load links, check signatures, count distinct authorised keys.
fn step_links<'l>(
    ctx: &mut Ctx<'_>,
    layout: &'l Verified<Layout>,
    links: &dyn LinkSource,
    layout_keys: &BTreeMap<KeyId, PublicKey>,
    scope: &Scope,
) -> Flow<StepEvidence<'l>> {
    // Reading, parsing and signature checks of every link run on all cores
    // up front; the decisions below stay sequential, in the reference's order.
    // Links signed with certificates (docs/pki.md): their keys join the
    // layout keys once the certificate is accepted for the step.
    let now = u64::try_from(ctx.opts.now.unix_timestamp()).unwrap_or(0);
    let certs = crate::pki::certificate_signers(
        layout,
        links,
        layout_keys,
        &ctx.opts.crls,
        now,
        ctx.opts.max_metadata_size,
    )
    .map_err(|e| {
        fail(
            FailureKind::LayoutMalformed,
            scope.layout(),
            e,
            "the layout's CA certificates must be PEM certificates; fix the layout",
        )
    })?;
    ctx.cert_keys
        .extend(certs.keys.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut with_certs;
    let keys = if certs.keys.is_empty() {
        layout_keys
    } else {
        with_certs = layout_keys.clone();
        with_certs.extend(certs.keys.clone());
        for (keyid, name) in &certs.names {
            ctx.names
                .entry(keyid.clone())
                .or_insert_with(|| name.clone());
        }
        &with_certs
    };
    for (file, cert) in &certs.accepted {
        ctx.pass(
            Stage::LinkSignatures,
            scope.layout(),
            format!(
                "{file}: certificate {} issued by \"{}\" accepted",
                cert.name(),
                cert.issuer()
            ),
        );
    }
    let mut preloaded = signatures::preload(
        &layout.steps,
        links,
        keys,
        ctx.opts.max_metadata_size,
        ctx.opts.audit,
    );
    for (i, keyid, file) in &certs.files {
        if let Some(v) = preloaded.get_mut(*i) {
            v.push(signatures::load_one(
                file.clone(),
                keyid,
                links,
                keys,
                ctx.opts.max_metadata_size,
                ctx.opts.audit,
            ));
        }
    }
    let mut evidence = Vec::new();
    for (i, (step, loaded)) in layout.steps.iter().zip(preloaded).enumerate() {
        let checked = load_step_links(ctx, step, loaded, links, keys, scope)
            .and_then(|found| check_link_signatures(ctx, step, found, keys, scope));
        let valid = match (checked, certs.rejected.get(&i)) {
            (Ok(valid), rejected) => {
                for r in rejected.into_iter().flatten() {
                    ctx.warn(
                        Stage::LinkSignatures,
                        scope.of(step.name.as_str()),
                        format!("ignored {r}"),
                    );
                }
                valid
            }
            // A refused certificate explains a missing signer (the
            // threshold or a missing link), not any other failure.
            (Err(Halt::Failed(f)), Some(rejected))
                if matches!(f.kind, FailureKind::Threshold | FailureKind::LinkMissing) =>
            {
                return Err(fail(
                FailureKind::CertificateRejected,
                scope.of(step.name.as_str()),
                format!(
                    "the threshold of {} is not met: {}",
                    step.threshold,
                    rejected.join("; ")
                ),
                "sign the step with a valid certificate that meets the step's cert_constraints \
                     and chains to the layout's rootcas (docs/pki.md)",
            )
            .into())
            }
            (Err(e), _) => return Err(e),
        };
        evidence.push((step, valid));
    }
    Ok(evidence)
}

/// Stage 7: sublayouts, verified recursively and replaced by their summary links.
fn sublayouts(
    ctx: &mut Ctx<'_>,
    evidence: &mut StepEvidence<'_>,
    layout_keys: &BTreeMap<KeyId, PublicKey>,
    links: &dyn LinkSource,
    scope: &Scope,
    depth: usize,
) -> Flow<()> {
    let mut any_sub = false;
    for (step, evidence) in evidence.iter_mut() {
        for ev in evidence.iter_mut() {
            let Payload::Layout(_) = &*ev.payload else {
                continue;
            };
            any_sub = true;
            if depth + 1 > ctx.opts.max_sublayout_depth {
                return Err(fail(
                    FailureKind::SublayoutTooDeep,
                    scope.of(step.name.as_str()),
                    format!(
                        "sublayouts nest deeper than {}",
                        ctx.opts.max_sublayout_depth
                    ),
                    "flatten the supply chain or raise the limit",
                )
                .into());
            }
            let mut sub_keys = BTreeMap::new();
            if let Some(k) = layout_keys.get(&ev.keyid) {
                sub_keys.insert(ev.keyid.clone(), k.clone());
            }
            let dir = signatures::sublayout_dir(&ev.file).to_string();
            let Some(sub_md) = ev.md.as_ref() else {
                return Err(fail(
                    FailureKind::SublayoutInternal,
                    scope.of(step.name.as_str()),
                    format!("{}: the sublayout file was not kept", ev.file),
                    "report this as a bug in intact",
                )
                .into());
            };
            let summary = verify_level(
                ctx,
                sub_md,
                &sub_keys,
                links.subdir(&dir).as_ref(),
                &scope.child(step.name.as_str(), &dir),
                Some(&step.name),
                depth + 1,
            )?;
            let Some(summary) = summary else {
                return Err(fail(
                    FailureKind::SublayoutInternal,
                    scope.of(step.name.as_str()),
                    format!("{}: the sublayout gave no summary", ev.file),
                    "report this as a bug in intact",
                )
                .into());
            };
            ev.payload = summary.into_payload();
        }
    }
    if any_sub {
        ctx.pass(
            Stage::Sublayouts,
            scope.layout(),
            "every sublayout verified",
        );
    }
    Ok(())
}

/// Stage 8: expected commands: a mismatch only warns.
fn expected_commands(ctx: &mut Ctx<'_>, evidence: &StepEvidence<'_>, scope: &Scope) {
    let mut mismatches = 0;
    for (step, evidence) in evidence {
        for ev in evidence {
            if let Payload::Link(l) = &*ev.payload {
                if l.command != step.expected_command {
                    mismatches += 1;
                    ctx.warn(
                        Stage::Commands,
                        scope.of(step.name.as_str()),
                        format!(
                            "link {} ran {:?}, the layout expects {:?}",
                            ev.file, l.command, step.expected_command
                        ),
                    );
                }
            }
        }
    }
    ctx.pass(
        Stage::Commands,
        scope.layout(),
        format!("{mismatches} mismatch(es)"),
    );
    if mismatches > 0 {
        ctx.downgrade_last(Stage::Commands);
    }
}

/// Stages 9-10: threshold agreement, then one link per step.
fn threshold_agreement(
    ctx: &mut Ctx<'_>,
    evidence: StepEvidence<'_>,
    scope: &Scope,
) -> Flow<Verified<BTreeMap<StepName, Link>>> {
    let mut chosen = Vec::with_capacity(evidence.len());
    for (step, evidence) in evidence {
        if scope.layout().is_none() {
            ctx.signers.insert(
                step.name.clone(),
                evidence.iter().map(|ev| ev.keyid.clone()).collect(),
            );
        }
        // Every level's links are evidence: key status, --require-logged
        // and a VSA's input attestations judge sublayouts' links (and the
        // sublayout files, which their parent step's functionaries sign)
        // as they judge the top level's.
        ctx.links
            .extend(evidence.iter().map(|ev| crate::report::LinkRecord {
                step: scope.of(step.name.as_str()).unwrap_or_default(),
                file: scope.file(&ev.file),
                sha256: ev.sha256.clone(),
                signer: ev.keyid.to_string(),
            }));
        let mut step_links = evidence
            .into_iter()
            .filter_map(|ev| ev.payload.into_link().ok().map(|l| (ev.file, l)));
        let Some((first_file, first)) = step_links.next() else {
            continue;
        };
        if step.threshold > 1 {
            for (file, other) in step_links {
                if other.materials != first.materials || other.products != first.products {
                    return Err(crate::diff::disagreement(
                        scope.of(step.name.as_str()),
                        &first_file,
                        &first,
                        &file,
                        &other,
                    )
                    .into());
                }
            }
            ctx.pass(
                Stage::ThresholdAgreement,
                scope.of(step.name.as_str()),
                "functionaries recorded identical artifacts",
            );
        }
        chosen.push((step.name.clone(), first));
    }
    Ok(chosen.into_iter().collect())
}

/// Stages 12-13: inspections, then their rules against steps + inspections.
fn inspections(
    ctx: &mut Ctx<'_>,
    layout: &Verified<Layout>,
    chosen: &Verified<BTreeMap<StepName, Link>>,
    keys: &crate::separation::Keys<'_>,
    scope: &Scope,
) -> Flow<()> {
    if layout.inspect.is_empty() {
        return Ok(());
    }
    let mut ran = BTreeMap::new();
    let mut separations = Vec::new();
    let mut commit_signers = Vec::new();
    for insp in &layout.inspect {
        if let Some(policy) = intact_model::Separation::from_run(&insp.run) {
            // Checked once every other inspection ran: the git check
            // says who signed the source's commit.
            separations.push((insp, policy));
            continue;
        }
        let link = match intact_model::GitPolicy::from_run(&insp.run) {
            Some(policy) => {
                let (link, policy, signer) = crate::git::run(ctx, insp, policy, chosen, scope)?;
                if let Some(signer) = signer {
                    commit_signers.push((policy.step, signer));
                }
                link
            }
            None => inspect::run(ctx, insp, scope)?,
        };
        ran.insert(insp.name.clone(), link);
    }
    for (insp, policy) in separations {
        let link = crate::separation::run(ctx, insp, policy, keys, &commit_signers, scope)?;
        ran.insert(insp.name.clone(), link);
    }
    rules::check_inspections(ctx, layout, chosen, ran, scope)
}

/// Freeing links of 100,000 artifacts takes milliseconds nobody needs to
/// wait for: a background thread does it, so the report comes out first
/// and a command-line caller can exit without waiting.
fn free_in_background(links: BTreeMap<StepName, Link>) {
    // If no thread can be started, the closure, and the links with it, are
    // dropped right here.
    let _ = std::thread::Builder::new()
        .name("intact-free".into())
        .spawn(move || free_in_parallel(links));
}

/// Freeing a link with 100,000 artifacts takes milliseconds: each artifact
/// map is freed on its own core.
fn free_in_parallel(links: BTreeMap<StepName, Link>) {
    let maps: Vec<intact_model::Artifacts> = links
        .into_values()
        .flat_map(|l| [l.materials, l.products])
        .collect();
    maps.into_par_iter().with_max_len(1).for_each(drop);
}

/// Layout consistency: thresholds, step keys present, no key listed twice
/// under different keyids. Returns the parsed functionary keys.
fn check_layout(
    ctx: &mut Ctx<'_>,
    layout: &Layout,
    scope: &Scope,
) -> Flow<BTreeMap<KeyId, PublicKey>> {
    let at = scope.layout();
    let strict = !ctx.opts.compat;
    let mut keys = BTreeMap::new();
    for (keyid, dict) in &layout.keys {
        match PublicKey::from_key_dict(dict) {
            Ok(k) => {
                if let Some((other, _)) = keys.iter().find(|(_, existing)| *existing == &k) {
                    let msg = format!(
                        "the same public key is listed as {} and as {}",
                        label(other, &ctx.names),
                        label(keyid, &ctx.names)
                    );
                    if strict {
                        return Err(fail(
                            FailureKind::DuplicateKey,
                            at,
                            msg,
                            "one functionary could satisfy a threshold alone; remove the duplicate key \
                             (or pass --compat to accept it as the reference does)",
                        )
                        .into());
                    }
                    ctx.warn(Stage::LayoutChecks, at.clone(), msg);
                }
                if let Some(weak) = k.weakness() {
                    let msg = format!("{} is weak: {weak}; replace it", label(keyid, &ctx.names));
                    ctx.warn(Stage::LayoutChecks, at.clone(), msg);
                }
                keys.insert(keyid.clone(), k);
            }
            Err(e) => ctx.warn(
                Stage::LayoutChecks,
                at.clone(),
                format!(
                    "{} cannot be used: {e}; links signed with it will not count",
                    label(keyid, &ctx.names)
                ),
            ),
        }
    }
    for step in &layout.steps {
        let here = scope.of(step.name.as_str());
        if step.threshold < 1 {
            return Err(fail(
                FailureKind::ThresholdBelowOne,
                here,
                format!("threshold {} is below 1", step.threshold),
                "a step must require at least one signed link; fix the layout",
            )
            .into());
        }
        for keyid in &step.pubkeys {
            if !layout.keys.contains_key(keyid) {
                let msg = format!(
                    "step {} is not among the layout's keys",
                    label(keyid, &ctx.names)
                );
                if strict {
                    return Err(fail(
                        FailureKind::UnknownStepKey,
                        here,
                        msg,
                        "embed the functionary's public key in the layout (or pass --compat)",
                    )
                    .into());
                }
                ctx.warn(Stage::LayoutChecks, here.clone(), msg);
            }
        }
    }
    ctx.pass(
        Stage::LayoutChecks,
        at,
        format!(
            "{} step(s), {} inspection(s), {} key(s)",
            layout.steps.len(),
            layout.inspect.len(),
            layout.keys.len()
        ),
    );
    Ok(keys)
}

/// A link file that exists and parses, with its preloaded check.
type Found = (
    KeyId,
    String,
    Parsed,
    Option<Result<Verified<Payload>, Rejected>>,
);

/// Account for the link files of one step; only missing files are skipped.
fn load_step_links(
    ctx: &mut Ctx<'_>,
    step: &Step,
    loaded: Vec<Loaded>,
    links: &dyn LinkSource,
    keys: &BTreeMap<KeyId, PublicKey>,
    scope: &Scope,
) -> Flow<Vec<Found>> {
    let here = scope.of(step.name.as_str());
    let mut found = Vec::new();
    let mut expected = Vec::new();
    let mut expected_files = Vec::new();
    for l in loaded {
        // The hint names the classic links; their attestation twins are
        // looked for too (docs/verification.md).
        if !l.file.ends_with(signatures::ATTESTATION_SUFFIX) {
            expected.push(links.describe(&l.file));
        }
        expected_files.push(l.file.clone());
        let read = match l.read {
            Ok(read) => read,
            Err(ReadError::Io { cause, .. }) => {
                return Err(fail(
                    FailureKind::LinkUnreadable,
                    here,
                    format!("{}: {cause}", links.describe(&l.file)),
                    "make the link directory readable",
                )
                .into())
            }
            // A FIFO, a device, an oversized file: unusable input.
            Err(e) => return Err(Halt::Unusable(VerifyError::Read(e))),
        };
        let Some(parsed) = read else { continue };
        let md = parsed.map_err(|e| {
            fail(
                FailureKind::LinkMalformed,
                here.clone(),
                format!("{}: {e}", links.describe(&l.file)),
                "the link file is malformed; record the step again",
            )
        })?;
        found.push((l.keyid, l.file, md, l.verified));
    }
    // A key's classic link and its link attestation are one key's evidence.
    let keys_found = found
        .iter()
        .map(|f| &f.0)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let need = usize::try_from(step.threshold).unwrap_or(usize::MAX);
    if keys_found < need {
        let strays = crate::explain::stray_links(
            links,
            step,
            &expected_files,
            keys,
            &ctx.names,
            ctx.opts.max_metadata_size,
        );
        let mut message = format!(
            "found {} of the {} link(s) the threshold requires",
            keys_found, step.threshold
        );
        for s in &strays {
            message.push_str("; ");
            message.push_str(s);
        }
        let hint = if strays.is_empty() {
            format!(
                "record the step with an authorised key (`intact run --step {} --key ...`); looked for: {}",
                step.name,
                expected.join(", ")
            )
        } else {
            format!(
                "the step was recorded with a key the layout does not authorise for it: record it again \
                 with one of the step's keys, or have the owner add that key to the step and re-sign the \
                 layout; looked for: {}",
                expected.join(", ")
            )
        };
        return Err(fail(FailureKind::LinkMissing, here, message, hint).into());
    }
    ctx.pass(Stage::Links, here, format!("found {keys_found} link(s)"));
    Ok(found)
}

/// Keep links whose signature verifies with an authorised key; the step
/// passes when enough distinct keys remain.
fn check_link_signatures(
    ctx: &mut Ctx<'_>,
    step: &Step,
    found: Vec<Found>,
    keys: &BTreeMap<KeyId, PublicKey>,
    scope: &Scope,
) -> Flow<Vec<Evidence>> {
    let here = scope.of(step.name.as_str());
    let strict = !ctx.opts.compat;
    let mut valid = Vec::new();
    let mut signers: Vec<&PublicKey> = Vec::new();
    let mut dropped = Vec::new();
    for (keyid, file, parsed, verified) in found {
        let Some(key) = keys.get(&keyid) else {
            dropped.push(format!(
                "{file}: {} is not usable in this layout",
                label(&keyid, &ctx.names)
            ));
            continue;
        };
        let by_this_key = parsed.signatures_by_key;
        let sha256 = parsed.sha256;
        let md = parsed.md;
        if by_this_key > 1 && strict {
            return Err(fail(
                FailureKind::DuplicateSignature,
                here,
                format!(
                    "{file} carries {by_this_key} signatures by {}",
                    label(&keyid, &ctx.names)
                ),
                "a link must be signed once per key; re-sign it (or pass --compat)",
            )
            .into());
        }
        let checked = verified.unwrap_or_else(|| match &md {
            Some(md) => check_link(md, &keyid, key),
            None => Err(Rejected::Payload("the link was not kept".into())),
        });
        let payload = match checked {
            Ok(p) => p,
            Err(Rejected::Signature(e)) => {
                dropped.push(format!(
                    "{file}: {}",
                    crate::explain::crypto_error(&e, &ctx.names)
                ));
                continue;
            }
            Err(Rejected::Payload(e)) => {
                return Err(fail(
                    FailureKind::LinkPayloadMalformed,
                    here,
                    format!("{file}: {e}"),
                    "the link's payload is malformed; record the step again",
                )
                .into())
            }
        };
        if let Payload::Link(l) = &*payload {
            if l.name != step.name {
                let msg = format!(
                    "{file} is a link for {:?}, filed under step {:?}",
                    l.name.as_str(),
                    step.name.as_str()
                );
                if strict {
                    return Err(fail(
                        FailureKind::LinkNameMismatch,
                        here,
                        msg,
                        "a link recorded for another step was renamed; record this step itself (or pass --compat)",
                    )
                    .into());
                }
                ctx.warn(Stage::LinkSignatures, here.clone(), msg);
            }
        }
        // Distinct keys by material: one RSA key under two schemes (or as a
        // layout key and in a certificate) is one signer.
        if !signers.iter().any(|s| s.same_material(key)) {
            signers.push(key);
        }
        valid.push(Evidence {
            keyid,
            file,
            sha256,
            md,
            payload,
        });
    }
    forms_agree(&valid, &here, &ctx.names)?;
    for d in &dropped {
        ctx.warn(Stage::LinkSignatures, here.clone(), format!("ignored {d}"));
    }
    let need = usize::try_from(step.threshold).unwrap_or(usize::MAX);
    if signers.len() < need {
        let why = if dropped.is_empty() {
            String::new()
        } else {
            format!(" ({})", dropped.join("; "))
        };
        return Err(fail(
            FailureKind::Threshold,
            here,
            format!(
                "{} of the {} required distinct authorised signature(s) verified{why}",
                signers.len(),
                step.threshold
            ),
            "links must be signed by keys the layout authorises for this step",
        )
        .into());
    }
    ctx.pass(
        Stage::LinkSignatures,
        here,
        format!(
            "{} of {} required signature(s)",
            signers.len(),
            step.threshold
        ),
    );
    Ok(valid)
}

/// A key whose classic link and link attestation for one step both
/// verified must have said the same thing in both: the key then counts
/// once. If they differ, which one the functionary meant is unknowable,
/// and the chain is refused rather than one picked.
fn forms_agree(
    valid: &[Evidence],
    here: &Option<String>,
    names: &BTreeMap<KeyId, String>,
) -> Flow<()> {
    for (i, a) in valid.iter().enumerate() {
        for b in valid.iter().skip(i + 1) {
            if a.keyid == b.keyid && *a.payload != *b.payload {
                return Err(fail(
                    FailureKind::LinkFormsDisagree,
                    here.clone(),
                    format!(
                        "{} and {} are both signed by {} and say different things",
                        a.file,
                        b.file,
                        label(&a.keyid, names)
                    ),
                    "keep only the link the functionary meant (or record the step again, \
                     which writes both from one run)",
                )
                .into());
            }
        }
    }
    Ok(())
}
