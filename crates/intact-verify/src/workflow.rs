//! The verification workflow, in the reference's order
//! (../shared/in-toto-spec.md §5), with intact's stricter checks.

use std::collections::{BTreeMap, BTreeSet};

use intact_crypto::{parse_and_verify_link, verify_metadata, PublicKey};
use intact_model::{KeyId, Layout, Link, Metadata, Payload, Step, StepName};

use crate::report::{Failure, Stage, StageResult, Status, Warning};
use rayon::prelude::*;

use crate::{inspect, rules, LinkSource, VerifyOptions};

pub(crate) type Flow<T> = Result<T, Box<Failure>>;

/// Collects stage results and warnings while the workflow runs.
pub(crate) struct Ctx<'a> {
    pub opts: &'a VerifyOptions,
    pub stages: Vec<StageResult>,
    pub warnings: Vec<Warning>,
    /// An error that makes the whole verification impossible; the flow
    /// stops and [`crate::verify`] returns it instead of a report.
    pub fatal: Option<crate::VerifyError>,
}

impl Ctx<'_> {
    pub fn pass(&mut self, stage: Stage, scope: Option<String>, message: impl Into<String>) {
        self.stages.push(StageResult {
            stage,
            status: Status::Passed,
            scope,
            message: message.into(),
        });
    }

    pub fn warn(&mut self, stage: Stage, scope: Option<String>, message: impl Into<String>) {
        self.warnings.push(Warning {
            stage,
            scope,
            message: message.into(),
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
    stage: Stage,
    scope: Option<String>,
    message: String,
    hint: impl Into<String>,
) -> Box<Failure> {
    Box::new(Failure::new(stage, scope, message, hint))
}

/// Scope names: `step` at the top, `parent/step` inside sublayouts.
#[derive(Clone, Default)]
pub(crate) struct Scope(Option<String>);

impl Scope {
    pub fn of(&self, name: &str) -> Option<String> {
        Some(match &self.0 {
            Some(p) => format!("{p}/{name}"),
            None => name.to_string(),
        })
    }
    fn layout(&self) -> Option<String> {
        self.0.clone()
    }
    fn child(&self, name: &str) -> Scope {
        Scope(self.of(name))
    }
}

/// A link that passed its signature check, with where it came from.
pub(crate) struct Evidence {
    pub keyid: KeyId,
    pub file: String,
    /// The file, kept for sublayouts (whose own signatures are checked).
    pub md: Option<Metadata>,
    pub payload: Payload,
}

/// Verify one layout level; returns the summary link for the parent.
pub(crate) fn verify_level(
    ctx: &mut Ctx<'_>,
    md: &Metadata,
    keys: &BTreeMap<KeyId, PublicKey>,
    links: &dyn LinkSource,
    scope: &Scope,
    summary_name: Option<&StepName>,
    depth: usize,
) -> Flow<Option<Link>> {
    let at = scope.layout();
    // 1. Layout signatures: every given key must have signed.
    for (keyid, key) in keys {
        verify_metadata(md, keyid, key).map_err(|e| {
            fail(
                Stage::LayoutSignatures,
                at.clone(),
                format!("layout signature check failed: {e}"),
                "the layout was changed after it was signed, or signed with another key; \
                 get a layout signed by the expected owner key",
            )
        })?;
    }
    ctx.pass(
        Stage::LayoutSignatures,
        at.clone(),
        format!("signed by all {} required key(s)", keys.len()),
    );

    // 2. The payload must be a layout.
    let layout = match md.payload() {
        Ok(Payload::Layout(l)) => l,
        Ok(Payload::Link(_)) => {
            return Err(fail(
                Stage::LayoutSignatures,
                at,
                "expected a layout, found a link".into(),
                "pass the signed root layout with --layout",
            ))
        }
        Err(e) => {
            return Err(fail(
                Stage::LayoutSignatures,
                at,
                format!("the layout payload is invalid: {e}"),
                "the layout is malformed; rebuild it with `intact layout build`",
            ))
        }
    };

    // 3. Expiry (`expires <= now` fails, as in the reference).
    if layout.expires.is_expired_at(ctx.opts.now) {
        return Err(fail(
            Stage::LayoutExpiry,
            at,
            format!("the layout expired at {}", layout.expires),
            "ask the project owner for a freshly signed layout",
        ));
    }
    ctx.pass(
        Stage::LayoutExpiry,
        at.clone(),
        format!("valid until {}", layout.expires),
    );

    // 4. Parameters, only for the root layout (the reference does not pass
    // them into sublayouts).
    let layout = if depth == 0 && !ctx.opts.params.is_empty() {
        let l = intact_model::params::substitute_parameters(&layout, &ctx.opts.params).map_err(
            |e| {
                fail(
                    Stage::Parameters,
                    at.clone(),
                    format!("parameter substitution failed: {e}"),
                    "pass every parameter the layout uses with --param NAME=VALUE",
                )
            },
        )?;
        ctx.pass(
            Stage::Parameters,
            at.clone(),
            format!("substituted {} parameter(s)", ctx.opts.params.len()),
        );
        l
    } else {
        layout
    };

    let layout_keys = check_layout(ctx, &layout, scope)?;
    rules::check_patterns(ctx, &layout, scope)?;

    // 5-6. Load links, check signatures, count distinct authorised keys.
    let mut chosen: BTreeMap<StepName, Link> = BTreeMap::new();
    let mut evidence_by_step: Vec<(&Step, Vec<Evidence>)> = Vec::new();
    // Reading, parsing and signature checks of every link run on all cores
    // up front; the decisions below stay sequential, in the reference's order.
    let preloaded = preload(&layout.steps, links, &layout_keys);
    for (step, loaded) in layout.steps.iter().zip(preloaded) {
        let found = load_step_links(ctx, step, loaded, links, scope)?;
        let valid = check_link_signatures(ctx, step, found, &layout_keys, scope)?;
        evidence_by_step.push((step, valid));
    }

    // 7. Sublayouts, replaced by their summary links.
    let mut any_sub = false;
    for (step, evidence) in &mut evidence_by_step {
        for ev in evidence.iter_mut() {
            let Payload::Layout(_) = &ev.payload else {
                continue;
            };
            any_sub = true;
            if depth + 1 > ctx.opts.max_sublayout_depth {
                return Err(fail(
                    Stage::Sublayouts,
                    scope.of(step.name.as_str()),
                    format!(
                        "sublayouts nest deeper than {}",
                        ctx.opts.max_sublayout_depth
                    ),
                    "flatten the supply chain or raise the limit",
                ));
            }
            let mut sub_keys = BTreeMap::new();
            if let Some(k) = layout_keys.get(&ev.keyid) {
                sub_keys.insert(ev.keyid.clone(), k.clone());
            }
            let dir = ev.file.trim_end_matches(".link").to_string();
            let Some(sub_md) = ev.md.as_ref() else {
                return Err(fail(
                    Stage::Sublayouts,
                    scope.of(step.name.as_str()),
                    format!("{}: the sublayout file was not kept", ev.file),
                    "report this as a bug in intact",
                ));
            };
            let summary = verify_level(
                ctx,
                sub_md,
                &sub_keys,
                links.subdir(&dir).as_ref(),
                &scope.child(step.name.as_str()),
                Some(&step.name),
                depth + 1,
            )?;
            let summary = summary.unwrap_or_else(|| Link::new(step.name.clone()));
            ev.payload = Payload::Link(summary);
        }
    }
    if any_sub {
        ctx.pass(Stage::Sublayouts, at.clone(), "every sublayout verified");
    }

    // 8. Expected commands: a mismatch only warns.
    let mut mismatches = 0;
    for (step, evidence) in &evidence_by_step {
        for ev in evidence {
            if let Payload::Link(l) = &ev.payload {
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
        at.clone(),
        format!("{mismatches} mismatch(es)"),
    );
    if mismatches > 0 {
        ctx.downgrade_last(Stage::Commands);
    }

    // 9-10. Threshold agreement, then one link per step.
    for (step, evidence) in evidence_by_step {
        let mut step_links = evidence.into_iter().filter_map(|ev| match ev.payload {
            Payload::Link(l) => Some((ev.file, l)),
            Payload::Layout(_) => None,
        });
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
                    ));
                }
            }
            ctx.pass(
                Stage::ThresholdAgreement,
                scope.of(step.name.as_str()),
                "functionaries recorded identical artifacts",
            );
        }
        chosen.insert(step.name.clone(), first);
    }

    // 11. Step rules, against step links only.
    rules::check_steps(ctx, &layout, &chosen, scope)?;

    // 12-13. Inspections, then their rules against steps + inspections.
    if !layout.inspect.is_empty() {
        let mut all = chosen.clone();
        for insp in &layout.inspect {
            let link = match intact_model::GitPolicy::from_run(&insp.run) {
                Some(policy) => crate::git::run(ctx, insp, policy, &chosen, scope)?,
                None => inspect::run(ctx, insp, scope)?,
            };
            all.insert(insp.name.clone(), link);
        }
        rules::check_inspections(ctx, &layout, &all, scope)?;
    }

    // 14. Summary link for a parent layout.
    let summary = summary_name.map(|name| summary(name, &layout, &chosen));
    free_in_background(chosen);
    Ok(summary)
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

/// The reference's summary link: materials of the first step, products,
/// byproducts and command of the last.
fn summary(name: &StepName, layout: &Layout, links: &BTreeMap<StepName, Link>) -> Link {
    let mut out = Link::new(name.clone());
    let first = layout.steps.first().and_then(|s| links.get(&s.name));
    let last = layout.steps.last().and_then(|s| links.get(&s.name));
    if let Some(f) = first {
        out.materials = f.materials.clone();
    }
    if let Some(l) = last {
        out.products = l.products.clone();
        out.byproducts = l.byproducts.clone();
        out.command = l.command.clone();
    }
    out
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
                    let msg = format!("the same public key is listed as {other} and as {keyid}");
                    if strict {
                        return Err(fail(
                            Stage::LayoutChecks,
                            at,
                            msg,
                            "one functionary could satisfy a threshold alone; remove the duplicate key \
                             (or pass --compat to accept it as the reference does)",
                        ));
                    }
                    ctx.warn(Stage::LayoutChecks, at.clone(), msg);
                }
                if let Some(weak) = k.weakness() {
                    let msg = format!("key {keyid} is weak: {weak}; replace it");
                    ctx.warn(Stage::LayoutChecks, at.clone(), msg);
                }
                keys.insert(keyid.clone(), k);
            }
            Err(e) => ctx.warn(
                Stage::LayoutChecks,
                at.clone(),
                format!("key {keyid} cannot be used: {e}; links signed with it will not count"),
            ),
        }
    }
    for step in &layout.steps {
        let here = scope.of(step.name.as_str());
        if step.threshold < 1 {
            return Err(fail(
                Stage::LayoutChecks,
                here,
                format!("threshold {} is below 1", step.threshold),
                "a step must require at least one signed link; fix the layout",
            ));
        }
        for keyid in &step.pubkeys {
            if !layout.keys.contains_key(keyid) {
                let msg = format!("step key {keyid} is not among the layout's keys");
                if strict {
                    return Err(fail(
                        Stage::LayoutChecks,
                        here,
                        msg,
                        "embed the functionary's public key in the layout (or pass --compat)",
                    ));
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

/// One link file of a step, read, parsed and (when its key is usable)
/// signature-checked, with the payload of a verified file.
pub(crate) struct Loaded {
    keyid: KeyId,
    file: String,
    read: Result<Option<Result<Parsed, String>>, String>,
    verified: Option<Result<Payload, Rejected>>,
}

/// A parsed link file: how often the step's key signed it, and the file
/// itself unless its link payload was moved out into the evidence (a
/// link with 100,000 artifacts is not worth a copy).
pub(crate) struct Parsed {
    signatures_by_key: usize,
    md: Option<Metadata>,
}

/// Why a link file is not evidence.
pub(crate) enum Rejected {
    /// Its signature does not verify with the key: ignored, like the reference.
    Signature(String),
    /// Signed, but the payload is malformed: verification fails.
    Payload(String),
}

/// Check a link file's signature, then parse its payload.
fn check_link(md: &Metadata, keyid: &KeyId, key: &PublicKey) -> Result<Payload, Rejected> {
    verify_metadata(md, keyid, key).map_err(|e| Rejected::Signature(e.to_string()))?;
    md.payload().map_err(|e| Rejected::Payload(e.to_string()))
}

/// The work on every step's links that needs no report, one task per
/// link file so the cores stay busy however the files are spread over the
/// steps. Returns each step's files in key order.
fn preload(
    steps: &[Step],
    links: &dyn LinkSource,
    keys: &BTreeMap<KeyId, PublicKey>,
) -> Vec<Vec<Loaded>> {
    // As the reference: a GPG key's links are also looked for under each
    // of its subkeys' ids (the file named by the subkey that signed it).
    let jobs: Vec<(usize, &KeyId, Option<KeyId>)> = steps
        .iter()
        .enumerate()
        .flat_map(|(i, step)| {
            let mut seen = BTreeSet::new();
            step.pubkeys
                .iter()
                .filter(move |k| seen.insert(*k))
                .flat_map(move |k| {
                    let subkeys = keys
                        .get(k)
                        .and_then(PublicKey::as_gpg)
                        .into_iter()
                        .flat_map(|g| g.subkey_ids())
                        .filter_map(|s| KeyId::new(s).ok());
                    std::iter::once((i, k, None)).chain(subkeys.map(move |s| (i, k, Some(s))))
                })
        })
        .collect();
    let done: Vec<(usize, Loaded)> = jobs
        .into_par_iter()
        .with_max_len(1)
        .filter_map(|(i, keyid, sub)| {
            let step = steps.get(i)?;
            Some((i, load_one(step, keyid, sub.as_ref(), links, keys)))
        })
        .collect();
    let mut out: Vec<Vec<Loaded>> = steps.iter().map(|_| Vec::new()).collect();
    for (i, loaded) in done {
        if let Some(v) = out.get_mut(i) {
            v.push(loaded);
        }
    }
    out
}

/// Read, parse and (when its key is usable) signature-check one link file,
/// named after `keyid` or, for a GPG key, one of its subkeys (`subkey`).
fn load_one(
    step: &Step,
    keyid: &KeyId,
    subkey: Option<&KeyId>,
    links: &dyn LinkSource,
    keys: &BTreeMap<KeyId, PublicKey>,
) -> Loaded {
    let file = step.name.link_file_name(subkey.unwrap_or(keyid));
    let key = keys.get(keyid);
    // A link in the reference's key order has its signature checked while
    // it is parsed; anything else is parsed, then checked.
    let mut checked = None;
    let read = links
        .read(&file)
        .map(|bytes| {
            bytes.map(|b| {
                if let (Some(key), Ok(text)) = (key, std::str::from_utf8(&b)) {
                    if let Some((md, verdict)) = parse_and_verify_link(text, keyid, key) {
                        checked = Some(verdict);
                        return Ok(md);
                    }
                }
                Metadata::from_slice(&b).map_err(|e| e.to_string())
            })
        })
        .map_err(|e| e.to_string());
    let count = |md: &Metadata| md.signatures().iter().filter(|s| s.keyid == keyid).count();
    let (read, verified) = match (read, key) {
        (Ok(Some(Ok(md))), Some(key)) => {
            let signatures_by_key = count(&md);
            let verdict = match checked.take() {
                Some(verdict) => verdict,
                None => verify_metadata(&md, keyid, key),
            };
            let (md, verified) = match verdict {
                Err(e) => (Some(md), Err(Rejected::Signature(e.to_string()))),
                Ok(()) => match md.into_link() {
                    Ok(link) => (None, Ok(Payload::Link(link))),
                    Err(md) => {
                        let payload = md.payload().map_err(|e| Rejected::Payload(e.to_string()));
                        (Some(*md), payload)
                    }
                },
            };
            (
                Ok(Some(Ok(Parsed {
                    signatures_by_key,
                    md,
                }))),
                Some(verified),
            )
        }
        (read, _) => (
            read.map(|o| {
                o.map(|r| {
                    r.map(|md| Parsed {
                        signatures_by_key: count(&md),
                        md: Some(md),
                    })
                })
            }),
            None,
        ),
    };
    Loaded {
        keyid: keyid.clone(),
        file,
        read,
        verified,
    }
}

/// A link file that exists and parses, with its preloaded check.
type Found = (KeyId, String, Parsed, Option<Result<Payload, Rejected>>);

/// Account for the link files of one step; only missing files are skipped.
fn load_step_links(
    ctx: &mut Ctx<'_>,
    step: &Step,
    loaded: Vec<Loaded>,
    links: &dyn LinkSource,
    scope: &Scope,
) -> Flow<Vec<Found>> {
    let here = scope.of(step.name.as_str());
    let mut found = Vec::new();
    let mut expected = Vec::new();
    for l in loaded {
        expected.push(links.describe(&l.file));
        let read = l.read.map_err(|e| {
            fail(
                Stage::Links,
                here.clone(),
                format!("{}: {e}", links.describe(&l.file)),
                "make the link directory readable",
            )
        })?;
        let Some(parsed) = read else { continue };
        let md = parsed.map_err(|e| {
            fail(
                Stage::Links,
                here.clone(),
                format!("{}: {e}", links.describe(&l.file)),
                "the link file is malformed; record the step again",
            )
        })?;
        found.push((l.keyid, l.file, md, l.verified));
    }
    let need = usize::try_from(step.threshold).unwrap_or(usize::MAX);
    if found.len() < need {
        return Err(fail(
            Stage::Links,
            here,
            format!("found {} of the {} link(s) the threshold requires", found.len(), step.threshold),
            format!(
                "record the step with an authorised key (`intact run --step {} --key ...`); looked for: {}",
                step.name,
                expected.join(", ")
            ),
        ));
    }
    ctx.pass(Stage::Links, here, format!("found {} link(s)", found.len()));
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
            dropped.push(format!("{file}: key {keyid} is not usable in this layout"));
            continue;
        };
        let by_this_key = parsed.signatures_by_key;
        let md = parsed.md;
        if by_this_key > 1 && strict {
            return Err(fail(
                Stage::LinkSignatures,
                here,
                format!("{file} carries {by_this_key} signatures by key {keyid}"),
                "a link must be signed once per key; re-sign it (or pass --compat)",
            ));
        }
        let checked = verified.unwrap_or_else(|| match &md {
            Some(md) => check_link(md, &keyid, key),
            None => Err(Rejected::Payload("the link was not kept".into())),
        });
        let payload = match checked {
            Ok(p) => p,
            Err(Rejected::Signature(e)) => {
                dropped.push(format!("{file}: {e}"));
                continue;
            }
            Err(Rejected::Payload(e)) => {
                return Err(fail(
                    Stage::LinkSignatures,
                    here,
                    format!("{file}: {e}"),
                    "the link's payload is malformed; record the step again",
                ))
            }
        };
        if let Payload::Link(l) = &payload {
            if l.name != step.name {
                let msg = format!(
                    "{file} is a link for {:?}, filed under step {:?}",
                    l.name.as_str(),
                    step.name.as_str()
                );
                if strict {
                    return Err(fail(
                        Stage::LinkSignatures,
                        here,
                        msg,
                        "a link recorded for another step was renamed; record this step itself (or pass --compat)",
                    ));
                }
                ctx.warn(Stage::LinkSignatures, here.clone(), msg);
            }
        }
        if !signers.contains(&key) {
            signers.push(key);
        }
        valid.push(Evidence {
            keyid,
            file,
            md,
            payload,
        });
    }
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
            Stage::LinkSignatures,
            here,
            format!(
                "{} of the {} required distinct authorised signature(s) verified{why}",
                signers.len(),
                step.threshold
            ),
            "links must be signed by keys the layout authorises for this step",
        ));
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
