//! Step and inspection rules, evaluated by `intact-rules`, turned into
//! report entries that say which artifact changed between which steps.

use std::collections::BTreeMap;

use intact_model::{Layout, Link, Rule, Side, StepName};
use intact_rules::{
    check_rule_pattern, trace_item_rules, verify_item_rules, Diagnosis, RuleError, RuleViolation,
    UncompilableRule, ViolationKind,
};

use rayon::prelude::*;

use crate::report::{
    ArtifactIssue, ArtifactProblem, Failure, FailureKind, RuleDetail, Stage, RULE_DETAIL_NAMES,
};
use crate::signatures::Verified;
use crate::workflow::{Ctx, Flow, Halt, Scope};

/// Compile every rule pattern of the layout before any link is read or
/// inspection run: one that cannot be compiled makes verification
/// impossible (fail closed), an error (exit 2) rather than a verdict.
pub(crate) fn check_patterns(layout: &Layout) -> Flow<()> {
    let items = layout
        .steps
        .iter()
        .map(|s| (&s.name, &s.expected_materials, &s.expected_products))
        .chain(
            layout
                .inspect
                .iter()
                .map(|i| (&i.name, &i.expected_materials, &i.expected_products)),
        );
    for (name, materials, products) in items {
        for (side, rules) in [(Side::Materials, materials), (Side::Products, products)] {
            for (rule_index, rule) in rules.iter().enumerate() {
                if let Err(error) = check_rule_pattern(rule) {
                    let u = Box::new(UncompilableRule {
                        item: name.clone(),
                        side,
                        rule_index,
                        rule: rule.to_string(),
                        error,
                    });
                    return Err(Halt::Unusable(crate::VerifyError::UncompilablePattern(u)));
                }
            }
        }
    }
    Ok(())
}

/// Material then product rules of every step, against verified step
/// links only.
pub(crate) fn check_steps(
    ctx: &mut Ctx<'_>,
    layout: &Verified<Layout>,
    links: &Verified<BTreeMap<StepName, Link>>,
    scope: &Scope,
) -> Flow<()> {
    let links: &BTreeMap<StepName, Link> = links;
    // Every step's rules are evaluated at once (they only read the links);
    // the report still takes them in layout order and stops at the first
    // failure, as the reference does.
    let results: Vec<Option<Result<(), Box<Failure>>>> = layout
        .steps
        .par_iter()
        .with_max_len(1)
        .map(|step| {
            links.get(&step.name).map(|link| {
                check_item(
                    &step.name,
                    &step.expected_materials,
                    &step.expected_products,
                    link,
                    links,
                    scope,
                    FailureKind::StepRule,
                )
            })
        })
        .collect();
    for (step, result) in layout.steps.iter().zip(results) {
        // A step without a link already failed at the threshold stage; the
        // reference would fail here too (no link to check).
        let (Some(link), Some(result)) = (links.get(&step.name), result) else {
            continue;
        };
        result.map_err(crate::workflow::Halt::Failed)?;
        let rules = if ctx.opts.rule_detail {
            detail(
                &step.name,
                &step.expected_materials,
                &step.expected_products,
                link,
                links,
            )
        } else {
            Vec::new()
        };
        ctx.pass_with(
            Stage::StepRules,
            scope.of(step.name.as_str()),
            rule_summary(&step.expected_materials, &step.expected_products, link),
            rules,
        );
    }
    Ok(())
}

/// Material then product rules of every inspection, against the verified
/// step links and the links of the inspections the verifier ran itself.
pub(crate) fn check_inspections(
    ctx: &mut Ctx<'_>,
    layout: &Verified<Layout>,
    steps: &Verified<BTreeMap<StepName, Link>>,
    inspections: BTreeMap<StepName, Link>,
    scope: &Scope,
) -> Flow<()> {
    let mut links: BTreeMap<StepName, Link> = (**steps).clone();
    links.extend(inspections);
    let links = &links;
    for insp in &layout.inspect {
        let Some(link) = links.get(&insp.name) else {
            continue;
        };
        check_item(
            &insp.name,
            &insp.expected_materials,
            &insp.expected_products,
            link,
            links,
            scope,
            FailureKind::InspectionRule,
        )?;
        let rules = if ctx.opts.rule_detail {
            detail(
                &insp.name,
                &insp.expected_materials,
                &insp.expected_products,
                link,
                links,
            )
        } else {
            Vec::new()
        };
        ctx.pass_with(
            Stage::InspectionRules,
            scope.of(insp.name.as_str()),
            rule_summary(&insp.expected_materials, &insp.expected_products, link),
            rules,
        );
    }
    Ok(())
}

/// Each rule of an item whose rules held, with what it consumed.
fn detail(
    name: &StepName,
    materials: &[Rule],
    products: &[Rule],
    link: &Link,
    links: &BTreeMap<StepName, Link>,
) -> Vec<RuleDetail> {
    let mut out = Vec::with_capacity(materials.len() + products.len());
    for (side, rules) in [(Side::Materials, materials), (Side::Products, products)] {
        // The rules held moments ago; an error cannot happen, and would
        // only leave the detail out.
        let Ok(trace) = trace_item_rules(name, side, rules, link, links) else {
            continue;
        };
        out.extend(trace.into_iter().map(|t| {
            let more = t.consumed.len().saturating_sub(RULE_DETAIL_NAMES);
            let mut consumed = t.consumed;
            consumed.truncate(RULE_DETAIL_NAMES);
            RuleDetail {
                side: side_name(side),
                rule: t.rule,
                consumed,
                consumed_more: more,
            }
        }));
    }
    out
}

fn rule_summary(m: &[Rule], p: &[Rule], link: &Link) -> String {
    format!(
        "{} material and {} product rule(s) hold for {} material(s) and {} product(s)",
        m.len(),
        p.len(),
        link.materials.len(),
        link.products.len()
    )
}

fn check_item(
    name: &StepName,
    materials: &[Rule],
    products: &[Rule],
    link: &Link,
    links: &BTreeMap<StepName, Link>,
    scope: &Scope,
    kind: FailureKind,
) -> Result<(), Box<Failure>> {
    let check = |side, rules| {
        verify_item_rules(name, side, rules, link, links).map_err(|e| match e {
            RuleError::Violation(v) => to_failure(&v, scope, kind),
            // check_patterns refused these before; still fail closed.
            other => Box::new(Failure::new(
                kind,
                scope.of(name.as_str()),
                other.to_string(),
                "rewrite the rule with a smaller pattern",
            )),
        })
    };
    let (m, p) = rayon::join(
        || check(Side::Materials, materials),
        || check(Side::Products, products),
    );
    m.and(p)
}

/// The material intact's recorder adds for a git source.
fn is_git_material(name: &str, digests: Option<&intact_model::DigestSet>) -> bool {
    name.starts_with(intact_model::git::GIT_MATERIAL_PREFIX)
        && digests.is_some_and(|d| d.get(intact_model::git::GIT_COMMIT_DIGEST).is_some())
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Materials => "material",
        Side::Products => "product",
    }
}

fn to_failure(v: &RuleViolation, scope: &Scope, kind: FailureKind) -> Box<Failure> {
    let item = v.item.as_str();
    let mut hints = Vec::new();
    let artifacts: Vec<ArtifactIssue> = v
        .artifacts
        .iter()
        .map(|o| {
            let (problem, expected, note) = match &o.diagnosis {
                Diagnosis::DigestMismatch {
                    dest_item,
                    expected,
                    ..
                } => {
                    hints.push(format!(
                        "artifact changed between steps {dest_item} and {item}"
                    ));
                    (
                        ArtifactProblem::DigestMismatch,
                        Some(expected.clone()),
                        format!("differs from what {dest_item} recorded"),
                    )
                }
                Diagnosis::NotInDestination { dest_item, .. } => {
                    hints.push(format!(
                        "{item} has artifacts that {dest_item} never recorded"
                    ));
                    (
                        ArtifactProblem::NotInSource,
                        None,
                        format!("not among what {dest_item} recorded"),
                    )
                }
                Diagnosis::NoDestinationLink { dest_item, .. } => {
                    hints.push(format!("no link of {dest_item} to match against"));
                    (
                        ArtifactProblem::NotInSource,
                        None,
                        format!("{dest_item} has no link to match against"),
                    )
                }
                _ => match v.kind {
                    ViolationKind::RequiredMissing => {
                        hints.push(format!("{item} must record this artifact"));
                        (
                            ArtifactProblem::Missing,
                            None,
                            "required but not recorded".to_string(),
                        )
                    }
                    _ if is_git_material(&o.name, o.digests.as_ref()) => {
                        hints.push(format!(
                            "{} is the source commit intact records for steps run in a git \
                             work tree: allow it (ALLOW git+*) before this rule, or record \
                             {item} with --no-git",
                            o.name
                        ));
                        (
                            ArtifactProblem::Unexpected,
                            None,
                            "no rule allowed it".to_string(),
                        )
                    }
                    _ => {
                        hints.push(format!(
                            "no rule before this one allows these {}s of {item}",
                            side_name(v.side)
                        ));
                        (
                            ArtifactProblem::Unexpected,
                            None,
                            "no rule allowed it".to_string(),
                        )
                    }
                },
            };
            ArtifactIssue {
                name: o.name.clone(),
                problem,
                expected,
                actual: o.digests.clone(),
                note,
            }
        })
        .collect();
    hints.dedup();
    let what = match v.kind {
        ViolationKind::RequiredMissing => "a required artifact is missing",
        _ => "artifacts are disallowed",
    };
    let mut f = Failure::new(
        kind,
        scope.of(item),
        format!(
            "{} rule {} failed: {what}",
            side_name(v.side),
            v.rule_index + 1
        ),
        hints
            .first()
            .cloned()
            .unwrap_or_else(|| "check the rule and the recorded artifacts".into()),
    );
    f.rule = Some(v.rule.clone());
    f.artifacts = artifacts;
    Box::new(f)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use intact_crypto::{sign_metadata, SigningKey};
    use intact_model::{Container, Digest, DigestSet, Expires, Link, Metadata, Step};

    use crate::{verify, MemoryLinkSource, VerifyError, VerifyOptions};

    use super::*;

    /// A pattern too large for the regex engine is an error, never a
    /// literal: the reference refuses this chain (`evil` is disallowed).
    #[test]
    fn an_uncompilable_pattern_refuses_the_chain() {
        let owner = SigningKey::generate_ed25519();
        let alice = SigningKey::generate_ed25519();
        let mut layout = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
        layout.keys.insert(
            alice.keyid().unwrap(),
            alice.public_key().to_key_dict().unwrap(),
        );
        let mut step = Step::new(StepName::new("build").unwrap());
        step.pubkeys = vec![alice.keyid().unwrap()];
        let disallow = format!("DISALLOW {}", "?".repeat(16_000));
        step.expected_products = vec![Rule::parse_str(&disallow).unwrap()];
        layout.steps = vec![step];
        let mut md = Metadata::new(layout.into(), Container::Metablock).unwrap();
        sign_metadata(&mut md, &owner).unwrap();

        let mut link = Link::new(StepName::new("build").unwrap());
        link.products.insert(
            "evil".parse().unwrap(),
            DigestSet::single("sha256", Digest::new("aa").unwrap()),
        );
        let mut link_md = Metadata::new(link.clone().into(), Container::Metablock).unwrap();
        let keyid = sign_metadata(&mut link_md, &alice).unwrap();
        let files = BTreeMap::from([(
            link.name.link_file_name(&keyid),
            link_md.to_bytes().unwrap(),
        )]);
        let keys = BTreeMap::from([(owner.keyid().unwrap(), owner.public_key().clone())]);
        let err = verify(
            &md,
            &keys,
            &MemoryLinkSource::new(files),
            &VerifyOptions::new(),
        )
        .unwrap_err();
        let VerifyError::UncompilablePattern(u) = err else {
            panic!("expected an uncompilable pattern, got {err}");
        };
        assert_eq!(u.item.as_str(), "build");
        assert_eq!(u.side, Side::Products);
        assert_eq!(u.rule_index, 0);
        assert_eq!(u.error.kind, intact_rules::PatternErrorKind::TooLarge);
    }
}
