//! The reference's queue algorithm (../shared/in-toto-spec.md §4.2-4.3).
//!
//! The queue holds the names of one side of an item's link; each rule
//! removes what it consumes in one pass over the queue, with map lookups
//! for the other side and the destination link, so the cost grows
//! linearly with the number of artifacts. Diagnoses for a failure are
//! computed only when one happens.

use std::collections::BTreeMap;
use std::fmt;

use intact_model::{Artifacts, DigestSet, Link, Rule, RuleKind, Side, StepName};

use crate::pattern::{abbreviate, PatternError};
use crate::Pattern;

/// Why an item's rules could not be checked, or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The artifacts break a rule: the item fails verification.
    #[error(transparent)]
    Violation(#[from] RuleViolation),
    /// A rule's pattern cannot be compiled, so the rules cannot be
    /// evaluated at all. Callers must refuse the chain (fail closed).
    #[error(transparent)]
    Uncompilable(#[from] Box<UncompilableRule>),
}

/// A rule whose pattern cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{item}: {} rule {} `{}` cannot be evaluated: {error}", side_word(*.side), .rule_index + 1, abbreviate(.rule))]
pub struct UncompilableRule {
    /// The step or inspection.
    pub item: StepName,
    /// Which side's rules hold it.
    pub side: Side,
    /// Index of the rule in its list.
    pub rule_index: usize,
    /// The rule, in canonical form.
    pub rule: String,
    /// Why its pattern cannot be compiled.
    #[source]
    pub error: PatternError,
}

/// The pattern of `rule` (None for `REQUIRE`, which names an artifact).
pub fn rule_pattern(rule: &Rule) -> Option<&str> {
    match rule.kind() {
        RuleKind::Match { pattern, .. } => Some(pattern),
        RuleKind::Create(p)
        | RuleKind::Delete(p)
        | RuleKind::Modify(p)
        | RuleKind::Allow(p)
        | RuleKind::Disallow(p) => Some(p),
        RuleKind::Require(_) => None,
    }
}

/// Compile the pattern of `rule`, for checks ahead of verification
/// (`intact layout check`): an error here means [`verify_item_rules`]
/// would refuse the item's rules.
pub fn check_rule_pattern(rule: &Rule) -> Result<(), PatternError> {
    match rule_pattern(rule) {
        Some(p) => Pattern::new(p).map(drop),
        None => Ok(()),
    }
}

/// Every rule's compiled pattern, in rule order, or the first rule whose
/// pattern cannot be compiled.
fn compile_all(
    item: &StepName,
    side: Side,
    rules: &[Rule],
) -> Result<Vec<Option<Pattern>>, RuleError> {
    rules
        .iter()
        .enumerate()
        .map(|(rule_index, rule)| {
            rule_pattern(rule)
                .map(Pattern::new)
                .transpose()
                .map_err(|error| {
                    RuleError::Uncompilable(Box::new(UncompilableRule {
                        item: item.clone(),
                        side,
                        rule_index,
                        rule: rule.to_string(),
                        error,
                    }))
                })
        })
        .collect()
}

/// Why an item's artifacts break its rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{item}: {} rule {} `{rule}`: {kind} ({})", side_word(*.side), .rule_index + 1, names(.artifacts))]
pub struct RuleViolation {
    /// The step or inspection.
    pub item: StepName,
    /// Which side's rules failed.
    pub side: Side,
    /// Index of the failing rule in its list.
    pub rule_index: usize,
    /// The failing rule, in canonical form.
    pub rule: String,
    /// DISALLOW or REQUIRE.
    pub kind: ViolationKind,
    /// The artifacts involved.
    pub artifacts: Vec<Offender>,
}

fn side_word(side: Side) -> &'static str {
    match side {
        Side::Materials => "material",
        Side::Products => "product",
    }
}

fn names(o: &[Offender]) -> String {
    o.iter()
        .map(|o| o.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which kind of rule failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// A DISALLOW rule caught artifacts still in the queue.
    Disallowed,
    /// A REQUIRE rule did not find its artifact in the queue.
    RequiredMissing,
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ViolationKind::Disallowed => "disallowed artifacts",
            ViolationKind::RequiredMissing => "required artifact missing",
        })
    }
}

/// One artifact named in a violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offender {
    /// The artifact name.
    pub name: String,
    /// Its digests in this item (None for a missing REQUIRE).
    pub digests: Option<DigestSet>,
    /// What the earlier rules make of it.
    pub diagnosis: Diagnosis,
}

/// Why an artifact was not consumed, judged from the MATCH rules before
/// the failing one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Diagnosis {
    /// A MATCH rule found the name in the destination with other digests:
    /// the artifact changed between the two items.
    DigestMismatch {
        /// The MATCH rule.
        rule: String,
        /// The destination item.
        dest_item: String,
        /// The destination's digests.
        expected: DigestSet,
    },
    /// A MATCH rule looked for the name in the destination, which lacks it.
    NotInDestination {
        /// The MATCH rule.
        rule: String,
        /// The destination item.
        dest_item: String,
    },
    /// A MATCH rule's destination has no link.
    NoDestinationLink {
        /// The MATCH rule.
        rule: String,
        /// The destination item.
        dest_item: String,
    },
    /// No earlier MATCH rule's pattern covers it.
    Unmatched,
}

/// Python's `os.path.join(a, b)` for the two-argument case (POSIX).
fn join(a: &str, b: &str) -> String {
    if b.starts_with('/') || a.is_empty() {
        b.to_string()
    } else if a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

fn side_of(link: &Link, side: Side) -> &Artifacts {
    match side {
        Side::Materials => &link.materials,
        Side::Products => &link.products,
    }
}

/// A MATCH rule's view of one queued name.
enum MatchOutcome<'a> {
    /// The pattern does not cover the name (or its prefix is absent).
    NotCovered,
    /// Covered, and the destination holds it with equal digests.
    Consumed,
    NoDestinationLink,
    NotInDestination,
    Mismatch(&'a DigestSet),
}

struct CompiledMatch<'a> {
    pattern: &'a Pattern,
    source_prefix: Option<String>,
    dest_prefix: Option<&'a str>,
    dest: Option<&'a Artifacts>,
}

impl<'a> CompiledMatch<'a> {
    fn new(
        kind: &'a RuleKind,
        pattern: &'a Pattern,
        links: &'a BTreeMap<StepName, Link>,
    ) -> Option<Self> {
        let RuleKind::Match {
            source_prefix,
            dest_side,
            dest_prefix,
            dest_name,
            ..
        } = kind
        else {
            return None;
        };
        // An empty prefix is "no prefix" (Python truthiness).
        let source_prefix = source_prefix
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| join(p, "").replace('\\', "/"));
        Some(CompiledMatch {
            pattern,
            source_prefix,
            dest_prefix: dest_prefix.as_deref().filter(|p| !p.is_empty()),
            dest: links
                .get(dest_name.as_str())
                .map(|l| side_of(l, *dest_side)),
        })
    }

    /// Judge one queued `name` with digests `ours`. `cursor` carries the
    /// position of the previous lookup in the destination, which makes a
    /// pass over a sorted queue a merge rather than a search per name.
    fn judge(&self, name: &str, ours: Option<&DigestSet>, cursor: &mut usize) -> MatchOutcome<'a> {
        let stripped = match &self.source_prefix {
            Some(p) => match name.strip_prefix(p.as_str()) {
                Some(s) => s,
                None => return MatchOutcome::NotCovered,
            },
            None => name,
        };
        if !self.pattern.matches(stripped) {
            return MatchOutcome::NotCovered;
        }
        let Some(dest) = self.dest else {
            return MatchOutcome::NoDestinationLink;
        };
        let full_dest = match self.dest_prefix {
            Some(p) => std::borrow::Cow::Owned(join(p, stripped).replace('\\', "/")),
            None => std::borrow::Cow::Borrowed(stripped),
        };
        let Some(theirs) = dest.get_after(&full_dest, cursor) else {
            return MatchOutcome::NotInDestination;
        };
        match ours {
            Some(ours) if ours == theirs => MatchOutcome::Consumed,
            _ => MatchOutcome::Mismatch(theirs),
        }
    }
}

/// Check `rules` on `side` of `link` (the link of `item`), with `links`
/// the links MATCH rules may refer to.
///
/// Every pattern is compiled first: if one cannot be, the result is
/// [`RuleError::Uncompilable`] whatever the artifacts, never a pass.
pub fn verify_item_rules(
    item: &StepName,
    side: Side,
    rules: &[Rule],
    link: &Link,
    links: &BTreeMap<StepName, Link>,
) -> Result<(), RuleError> {
    evaluate(item, side, rules, link, links, None)
}

/// What one rule took from the queue of artifacts still to judge: the
/// names a MATCH, CREATE, DELETE, MODIFY or ALLOW consumed (in name
/// order), the name a REQUIRE found, nothing for a DISALLOW that held.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuleTrace {
    /// Index of the rule in its list.
    pub rule_index: usize,
    /// The rule, in canonical form.
    pub rule: String,
    /// The artifact names it consumed (or, for REQUIRE, found).
    pub consumed: Vec<String>,
}

/// As [`verify_item_rules`], and when the rules hold, what each rule
/// consumed: for a report that shows how every artifact was judged
/// (`intact verify -v`). Costs a copy of every consumed name.
pub fn trace_item_rules(
    item: &StepName,
    side: Side,
    rules: &[Rule],
    link: &Link,
    links: &BTreeMap<StepName, Link>,
) -> Result<Vec<RuleTrace>, RuleError> {
    let mut trace = Vec::with_capacity(rules.len());
    evaluate(item, side, rules, link, links, Some(&mut trace))?;
    Ok(trace)
}

fn evaluate(
    item: &StepName,
    side: Side,
    rules: &[Rule],
    link: &Link,
    links: &BTreeMap<StepName, Link>,
    mut trace: Option<&mut Vec<RuleTrace>>,
) -> Result<(), RuleError> {
    let tracing = trace.is_some();
    let patterns = compile_all(item, side, rules)?;
    let source = side_of(link, side);
    let (m, p) = (&link.materials, &link.products);
    // Names with their digests, in name order.
    let mut queue: Vec<(&str, &DigestSet)> = source.iter().map(|(k, d)| (k.as_str(), d)).collect();
    for (index, (rule, pat)) in rules.iter().zip(&patterns).enumerate() {
        // What this rule consumes, when tracing.
        let mut consumed: Vec<String> = Vec::new();
        let mut took = |n: &str, keep: bool| {
            if tracing && !keep {
                consumed.push(n.to_string());
            }
            keep
        };
        if queue.is_empty() && !matches!(rule.kind(), RuleKind::Require(_)) {
            if let Some(t) = trace.as_deref_mut() {
                t.push(RuleTrace {
                    rule_index: index,
                    rule: rule.to_string(),
                    consumed: Vec::new(),
                });
            }
            continue;
        }
        match (rule.kind(), pat) {
            (RuleKind::Match { .. }, Some(pat)) => {
                if let Some(cm) = CompiledMatch::new(rule.kind(), pat, links) {
                    if cm.dest.is_some() {
                        let mut cursor = 0;
                        queue.retain(|(n, d)| {
                            let consumed =
                                matches!(cm.judge(n, Some(d), &mut cursor), MatchOutcome::Consumed);
                            took(n, !consumed)
                        });
                    }
                }
            }
            (RuleKind::Create(_), Some(pat)) => {
                queue.retain(|(n, _)| {
                    took(
                        n,
                        !(pat.matches(n) && p.contains_key(*n) && !m.contains_key(*n)),
                    )
                });
            }
            (RuleKind::Delete(_), Some(pat)) => {
                queue.retain(|(n, _)| {
                    took(
                        n,
                        !(pat.matches(n) && m.contains_key(*n) && !p.contains_key(*n)),
                    )
                });
            }
            (RuleKind::Modify(_), Some(pat)) => {
                queue.retain(|(n, _)| {
                    let changed = matches!((m.get(*n), p.get(*n)), (Some(a), Some(b)) if a != b);
                    took(n, !(pat.matches(n) && changed))
                });
            }
            (RuleKind::Allow(_), Some(pat)) => {
                queue.retain(|(n, _)| took(n, !pat.matches(n)));
            }
            (RuleKind::Disallow(_), Some(pat)) => {
                let caught: Vec<&str> = queue
                    .iter()
                    .map(|(n, _)| *n)
                    .filter(|n| pat.matches(n))
                    .collect();
                if !caught.is_empty() {
                    return Err(RuleError::Violation(violation(
                        item,
                        side,
                        (rules, &patterns),
                        index,
                        ViolationKind::Disallowed,
                        &caught,
                        source,
                        links,
                    )));
                }
            }
            (RuleKind::Require(name), _) => {
                if tracing {
                    consumed.push(name.as_str().to_string());
                }
                if !queue.iter().any(|(n, _)| *n == name.as_str()) {
                    return Err(RuleError::Violation(violation(
                        item,
                        side,
                        (rules, &patterns),
                        index,
                        ViolationKind::RequiredMissing,
                        &[name.as_str()],
                        source,
                        links,
                    )));
                }
            }
            // Every pattern-carrying rule has its compiled pattern.
            (_, None) => {}
        }
        if let Some(t) = trace.as_deref_mut() {
            t.push(RuleTrace {
                rule_index: index,
                rule: rule.to_string(),
                consumed,
            });
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn violation(
    item: &StepName,
    side: Side,
    (rules, patterns): (&[Rule], &[Option<Pattern>]),
    index: usize,
    kind: ViolationKind,
    names: &[&str],
    source: &Artifacts,
    links: &BTreeMap<StepName, Link>,
) -> RuleViolation {
    let matchers: Vec<(&Rule, CompiledMatch<'_>)> = rules
        .iter()
        .zip(patterns)
        .take(index)
        .filter_map(|(r, p)| {
            p.as_ref()
                .and_then(|p| CompiledMatch::new(r.kind(), p, links))
                .map(|c| (r, c))
        })
        .collect();
    let artifacts = names
        .iter()
        .map(|name| {
            let mut diagnosis = Diagnosis::Unmatched;
            for (rule, cm) in &matchers {
                let RuleKind::Match { dest_name, .. } = rule.kind() else {
                    continue;
                };
                let (rule, dest_item) = (rule.to_string(), dest_name.clone());
                let d = match cm.judge(name, source.get(*name), &mut 0) {
                    MatchOutcome::NotCovered | MatchOutcome::Consumed => continue,
                    MatchOutcome::Mismatch(expected) => Diagnosis::DigestMismatch {
                        rule,
                        dest_item,
                        expected: expected.clone(),
                    },
                    MatchOutcome::NotInDestination => {
                        Diagnosis::NotInDestination { rule, dest_item }
                    }
                    MatchOutcome::NoDestinationLink => {
                        Diagnosis::NoDestinationLink { rule, dest_item }
                    }
                };
                // A digest mismatch is the most telling; keep looking for one.
                let decisive = matches!(d, Diagnosis::DigestMismatch { .. });
                if decisive || diagnosis == Diagnosis::Unmatched {
                    diagnosis = d;
                }
                if decisive {
                    break;
                }
            }
            Offender {
                name: (*name).to_string(),
                digests: source.get(*name).cloned(),
                diagnosis,
            }
        })
        .collect();
    RuleViolation {
        item: item.clone(),
        side,
        rule_index: index,
        rule: rules
            .get(index)
            .map(ToString::to_string)
            .unwrap_or_default(),
        kind,
        artifacts,
    }
}
