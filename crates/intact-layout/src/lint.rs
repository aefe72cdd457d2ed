//! Checks on a typed layout: what the reference would accept but cannot
//! work, or very likely is not what the author meant.

use std::collections::{HashMap, HashSet};

use intact_model::{KeyId, Layout, Rule, RuleKind, Side};
use time::{Duration, OffsetDateTime};

use crate::finding::{codes, Finding, ItemKind, ItemRef, Location, Severity};
use crate::params::{template_errors_at, Part, StringAt};

/// A place in a compiled layout; front ends turn it into a [`Location`]
/// in the document the user wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Spot {
    Expires,
    Key(KeyId),
    Item(ItemKind, usize, ItemField),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemField {
    Whole,
    Name,
    Threshold,
    Pubkey(usize),
    Rule(Part, usize, Option<usize>),
    Command(usize),
}

/// A finding before it is located in the source document.
#[derive(Debug, Clone)]
pub(crate) struct RawFinding {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub spot: Spot,
}

/// What the front end knows that the compiled layout does not show.
#[derive(Debug, Default)]
pub(crate) struct Hints {
    /// Functionaries per step that could not be resolved (already
    /// reported); they still count toward the threshold check.
    pub unresolved_keys: HashMap<usize, usize>,
    /// The expiry was invalid (already reported).
    pub skip_expiry: bool,
    /// Template syntax was already reported.
    pub skip_templates: bool,
    /// Warn of an expiry within this period (default 30 days).
    pub warn_expiry: Option<Duration>,
}

/// Turn spots into locations.
pub(crate) trait Locate {
    fn locate(&self, layout: &Layout, spot: &Spot) -> Location;
}

/// Locations as paths into the layout itself.
pub(crate) struct LayoutPaths<'a> {
    /// Prepended to every path (`signed.`, `payload.` or nothing).
    pub prefix: &'a str,
}

pub(crate) fn item_ref(layout: &Layout, kind: ItemKind, index: usize) -> Option<ItemRef> {
    let name = match kind {
        ItemKind::Step => layout.steps.get(index).map(|s| s.name.to_string()),
        ItemKind::Inspection => layout.inspect.get(index).map(|s| s.name.to_string()),
    }?;
    Some(ItemRef { kind, index, name })
}

impl Locate for LayoutPaths<'_> {
    fn locate(&self, layout: &Layout, spot: &Spot) -> Location {
        let mut loc = Location::default();
        let path = match spot {
            Spot::Expires => "expires".into(),
            Spot::Key(id) => format!("keys.{id}"),
            Spot::Item(kind, i, field) => {
                loc.item = item_ref(layout, *kind, *i);
                let base = format!("{}[{i}]", kind.list_name());
                let inspection = *kind == ItemKind::Inspection;
                match field {
                    ItemField::Whole => base,
                    ItemField::Name => format!("{base}.name"),
                    ItemField::Threshold => format!("{base}.threshold"),
                    ItemField::Pubkey(k) => format!("{base}.pubkeys[{k}]"),
                    ItemField::Command(k) => {
                        format!("{base}.{}[{k}]", Part::Command.field_name(inspection))
                    }
                    ItemField::Rule(part, r, token) => {
                        loc.rule = Some(*r);
                        loc.token = *token;
                        format!("{base}.{}[{r}]", part.field_name(inspection))
                    }
                }
            }
        };
        loc.path = if path.is_empty() || self.prefix.is_empty() {
            path
        } else {
            format!("{}{path}", self.prefix)
        };
        loc
    }
}

pub(crate) fn locate_all(
    layout: &Layout,
    raw: Vec<RawFinding>,
    locator: &dyn Locate,
) -> Vec<Finding> {
    raw.into_iter()
        .map(|r| Finding {
            location: locator.locate(layout, &r.spot),
            severity: r.severity,
            code: r.code,
            message: r.message,
        })
        .collect()
}

/// Check a layout; `now` decides expiry. Locations are paths into the
/// layout (`steps[0].expected_materials[1]`), without line numbers.
///
/// ```
/// use intact_model::{Expires, Layout, Rule, Step, StepName};
///
/// let mut layout = Layout::new(Expires::parse("2030-01-01T00:00:00Z").unwrap());
/// let mut step = Step::new(StepName::new("build").unwrap());
/// step.expected_materials.push(Rule::parse_str("MATCH * WITH PRODUCTS FROM clone").unwrap());
/// layout.steps.push(step);
/// let now = time::macros::datetime!(2025-01-01 0:00 UTC);
/// let codes: Vec<_> = intact_layout::lint(&layout, now).iter().map(|f| f.code).collect();
/// // No step "clone", and a step without functionary keys.
/// assert_eq!(codes, ["threshold-exceeds-keys", "match-unknown-step"]);
/// ```
pub fn lint(layout: &Layout, now: OffsetDateTime) -> Vec<Finding> {
    let raw = lint_raw(layout, now, &Hints::default());
    locate_all(layout, raw, &LayoutPaths { prefix: "" })
}

fn is_match_all(pattern: &str) -> bool {
    !pattern.is_empty() && pattern.chars().all(|c| c == '*')
}

fn has_placeholder(s: &str) -> bool {
    s.contains('{')
}

pub(crate) fn lint_raw(layout: &Layout, now: OffsetDateTime, hints: &Hints) -> Vec<RawFinding> {
    let mut out = Vec::new();
    let mut push = |severity, code, message: String, spot| {
        out.push(RawFinding {
            severity,
            code,
            message,
            spot,
        })
    };

    if !hints.skip_expiry {
        let within = hints
            .warn_expiry
            .unwrap_or(crate::compile::DEFAULT_WARN_EXPIRY);
        check_expiry(layout, now, within, &mut push);
    }

    // Names, in layout order; the first holder of a name wins.
    let mut names: HashMap<&str, (ItemKind, usize)> = HashMap::new();
    let items = layout
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (ItemKind::Step, i, s.name.as_str()))
        .chain(
            layout
                .inspect
                .iter()
                .enumerate()
                .map(|(i, s)| (ItemKind::Inspection, i, s.name.as_str())),
        );
    for (kind, i, name) in items {
        if let Some((k0, i0)) = names.get(name) {
            push(
                Severity::Error,
                codes::DUPLICATE_NAME,
                format!(
                    "name {name:?} is already used by {k0} {i0}; names must be unique across steps and inspections"
                ),
                Spot::Item(kind, i, ItemField::Name),
            );
        } else {
            names.insert(name, (kind, i));
        }
    }

    // An inspection that carries a git policy must carry a usable one:
    // the verifier refuses it otherwise.
    for (i, insp) in layout.inspect.iter().enumerate() {
        let problem = match intact_model::GitPolicy::from_run(&insp.run) {
            None => None,
            Some(Err(e)) => Some(e.to_string()),
            Some(Ok(p)) if !layout.steps.iter().any(|s| s.name == p.step) => Some(format!(
                "git policy: step {:?} is not a step of this layout",
                p.step.as_str()
            )),
            Some(Ok(_)) => None,
        };
        if let Some(message) = problem {
            push(
                Severity::Error,
                codes::GIT_POLICY,
                message,
                Spot::Item(ItemKind::Inspection, i, ItemField::Whole),
            );
        }
    }

    check_separation(layout, &mut push);

    for (i, step) in layout.steps.iter().enumerate() {
        check_functionaries(layout, i, hints, &mut push);
        for (part, rules) in [
            (Part::Materials, &step.expected_materials),
            (Part::Products, &step.expected_products),
        ] {
            check_rules(layout, &names, (ItemKind::Step, i), part, rules, &mut push);
        }
    }
    for (i, insp) in layout.inspect.iter().enumerate() {
        for (part, rules) in [
            (Part::Materials, &insp.expected_materials),
            (Part::Products, &insp.expected_products),
        ] {
            check_rules(
                layout,
                &names,
                (ItemKind::Inspection, i),
                part,
                rules,
                &mut push,
            );
        }
    }

    check_consumption(layout, &mut push);

    for (id, dict) in &layout.keys {
        let weakness = intact_crypto::PublicKey::from_key_dict(dict)
            .ok()
            .and_then(|k| k.weakness());
        if let Some(weak) = weakness {
            push(
                Severity::Warning,
                codes::WEAK_KEY,
                format!("key {id} is {weak}; the verifier warns about it, and intact refuses to sign with such keys"),
                Spot::Key(id.clone()),
            );
        }
    }

    let used: HashSet<&KeyId> = layout.steps.iter().flat_map(|s| &s.pubkeys).collect();
    for id in layout.keys.keys() {
        if !used.contains(id) {
            push(
                Severity::Warning,
                codes::UNUSED_KEY,
                format!("key {id} is embedded, but no step lists it as a functionary"),
                Spot::Key(id.clone()),
            );
        }
    }

    if !hints.skip_templates {
        for (at, text, kind) in template_errors_at(layout) {
            push(
                Severity::Warning,
                codes::PARAMETER_SYNTAX,
                format!(
                    "{text:?} is not a valid parameter template ({kind}); substituting parameters at verification would fail"
                ),
                string_spot(&at),
            );
        }
    }
    out
}

fn string_spot(at: &StringAt) -> Spot {
    let kind = if at.inspection {
        ItemKind::Inspection
    } else {
        ItemKind::Step
    };
    let field = match at.part {
        Part::Command => ItemField::Command(at.index),
        part => ItemField::Rule(part, at.index, at.token),
    };
    Spot::Item(kind, at.item, field)
}

type Push<'a> = dyn FnMut(Severity, &'static str, String, Spot) + 'a;

/// Separation of duties: separated steps must not share a key by key
/// material (one key under two names or keyids is one person), and the
/// git policy's signers must not be functionaries of a step separated
/// from its source step.
fn check_separation(layout: &Layout, push: &mut Push<'_>) {
    let key = |id: &KeyId| {
        layout
            .keys
            .get(id)
            .and_then(|d| intact_crypto::PublicKey::from_key_dict(d).ok())
    };
    let step_index = |n: &intact_model::StepName| layout.steps.iter().position(|s| &s.name == n);
    let git: Vec<intact_model::GitPolicy> = layout
        .inspect
        .iter()
        .filter_map(|i| intact_model::GitPolicy::from_run(&i.run)?.ok())
        .collect();
    for (ii, insp) in layout.inspect.iter().enumerate() {
        let policy = match intact_model::Separation::from_run(&insp.run) {
            None => continue,
            Some(Err(e)) => {
                push(
                    Severity::Error,
                    codes::SEPARATION,
                    e.to_string(),
                    Spot::Item(ItemKind::Inspection, ii, ItemField::Whole),
                );
                continue;
            }
            Some(Ok(p)) => p,
        };
        for (a, b) in policy.pairs() {
            let (Some(ai), Some(bi)) = (step_index(a), step_index(b)) else {
                let missing = if step_index(a).is_none() { a } else { b };
                push(
                    Severity::Error,
                    codes::SEPARATION,
                    format!(
                        "separation of duties: {:?} is not a step of this layout",
                        missing.as_str()
                    ),
                    Spot::Item(ItemKind::Inspection, ii, ItemField::Whole),
                );
                continue;
            };
            let (Some(sa), Some(sb)) = (layout.steps.get(ai), layout.steps.get(bi)) else {
                continue;
            };
            for (kb, idb) in sb.pubkeys.iter().enumerate() {
                let Some(pb) = key(idb) else { continue };
                let shared = sa
                    .pubkeys
                    .iter()
                    .find(|ida| key(ida).is_some_and(|pa| pa.same_material(&pb)));
                if let Some(ida) = shared {
                    let how = if ida == idb {
                        format!("key {idb} is a functionary of both")
                    } else {
                        format!("key {ida} of {a} and key {idb} of {b} are the same key")
                    };
                    push(
                        Severity::Error,
                        codes::SEPARATION,
                        format!(
                            "steps {a} and {b} must be performed by different people, yet {how}; give each step its own functionaries"
                        ),
                        Spot::Item(ItemKind::Step, bi, ItemField::Pubkey(kb)),
                    );
                }
            }
        }
        for g in &git {
            for other in policy.separated_from(&g.step) {
                let Some(oi) = step_index(other) else {
                    continue;
                };
                let Some(step) = layout.steps.get(oi) else {
                    continue;
                };
                for (k, id) in step.pubkeys.iter().enumerate() {
                    let Some(ssh) = key(id).and_then(|p| p.to_openssh()) else {
                        continue;
                    };
                    if let Some(line) = g.signers.iter().find(|l| l.contains(&ssh)) {
                        let who = line.split_whitespace().next().unwrap_or_default();
                        push(
                            Severity::Error,
                            codes::SEPARATION,
                            format!(
                                "step {other} is separated from {}, whose commits {who} may sign, yet key {id} of {other} is that git signing key",
                                g.step
                            ),
                            Spot::Item(ItemKind::Step, oi, ItemField::Pubkey(k)),
                        );
                    }
                }
            }
        }
    }
}

fn check_expiry(layout: &Layout, now: OffsetDateTime, within: Duration, push: &mut Push<'_>) {
    let Some(expires) = &layout.expires else {
        push(
            Severity::Error,
            codes::NO_EXPIRES,
            "the layout has no expiry; the reference treats it as never expiring, \
             `intact verify` refuses it (`--compat` accepts it in a DSSE envelope)"
                .to_string(),
            Spot::Expires,
        );
        return;
    };
    let at = expires.datetime();
    if expires.is_expired_at(now) {
        push(
            Severity::Error,
            codes::EXPIRED,
            format!("the layout expired at {expires}; verification fails",),
            Spot::Expires,
        );
    } else if at - now < within {
        let secs = (at - now).whole_seconds().max(1);
        let days = (secs + 86_399) / 86_400;
        push(
            Severity::Warning,
            codes::EXPIRES_SOON,
            format!(
                "the layout expires at {expires} (in {days} day{}); verification fails after that",
                if days == 1 { "" } else { "s" }
            ),
            Spot::Expires,
        );
    }
}

fn check_functionaries(layout: &Layout, i: usize, hints: &Hints, push: &mut Push<'_>) {
    let Some(step) = layout.steps.get(i) else {
        return;
    };
    let spot = |f| Spot::Item(ItemKind::Step, i, f);
    let mut seen: Vec<&KeyId> = Vec::new();
    let mut publics: HashMap<&str, &KeyId> = HashMap::new();
    for (k, id) in step.pubkeys.iter().enumerate() {
        if seen.contains(&id) {
            push(
                Severity::Warning,
                codes::DUPLICATE_FUNCTIONARY,
                format!("key {id} is listed twice; it counts once toward the threshold"),
                spot(ItemField::Pubkey(k)),
            );
            continue;
        }
        seen.push(id);
        match layout.keys.get(id) {
            None => push(
                Severity::Error,
                codes::KEY_NOT_EMBEDDED,
                format!(
                    "functionary key {id} is not in the layout's keys; links signed with it cannot be verified"
                ),
                spot(ItemField::Pubkey(k)),
            ),
            Some(dict) => {
                if let Some(public) = dict.public() {
                    if let Some(other) = publics.insert(public, id) {
                        push(
                            Severity::Warning,
                            codes::DUPLICATE_FUNCTIONARY,
                            format!(
                                "key {id} is the same public key as {other} under another keyid; one functionary would count twice toward the threshold"
                            ),
                            spot(ItemField::Pubkey(k)),
                        );
                    }
                }
            }
        }
    }
    if step.threshold < 1 {
        push(
            Severity::Error,
            codes::THRESHOLD_BELOW_ONE,
            format!(
                "threshold {} is below 1; every step needs at least one functionary's link",
                step.threshold
            ),
            spot(ItemField::Threshold),
        );
    } else if step.cert_constraints.as_ref().is_none_or(Vec::is_empty) {
        // With certificate constraints, any number of certificates may
        // sign (docs/pki.md): the keys listed are no bound.
        let have = seen.len() + hints.unresolved_keys.get(&i).copied().unwrap_or(0);
        if (have as u64) < step.threshold.unsigned_abs() {
            push(
                Severity::Error,
                codes::THRESHOLD_EXCEEDS_KEYS,
                format!(
                    "threshold {} needs {} distinct functionary key{}, but the step has {have}",
                    step.threshold,
                    step.threshold,
                    if step.threshold == 1 { "" } else { "s" }
                ),
                spot(ItemField::Threshold),
            );
        }
    }
}

fn check_rules(
    layout: &Layout,
    names: &HashMap<&str, (ItemKind, usize)>,
    (kind, i): (ItemKind, usize),
    part: Part,
    rules: &[Rule],
    push: &mut Push<'_>,
) {
    let spot =
        |r: usize, token: Option<usize>| Spot::Item(kind, i, ItemField::Rule(part, r, token));
    let mut closed_by: Option<(usize, &Rule)> = None;
    for (r, rule) in rules.iter().enumerate() {
        if let Err(e) = intact_rules::check_rule_pattern(rule) {
            push(
                Severity::Error,
                codes::UNCOMPILABLE_PATTERN,
                format!("{e}; verification would refuse the layout"),
                spot(r, Some(1)),
            );
        }
        if let Some((c, closer)) = closed_by {
            let why = match closer.kind() {
                RuleKind::Allow(_) => "consumes every artifact left",
                _ => "fails if any artifact is left",
            };
            let (severity, what) = match rule.kind() {
                RuleKind::Require(_) => (Severity::Error, "REQUIRE can never succeed"),
                _ => (Severity::Warning, "this rule can never apply"),
            };
            push(
                severity,
                codes::UNREACHABLE_RULE,
                format!("{what}: rule {c} `{closer}` {why}"),
                spot(r, None),
            );
        } else if matches!(rule.kind(), RuleKind::Allow(p) | RuleKind::Disallow(p) if is_match_all(p))
        {
            closed_by = Some((r, rule));
        }
        let RuleKind::Match { dest_name, .. } = rule.kind() else {
            continue;
        };
        if has_placeholder(dest_name) {
            continue;
        }
        let from = Some(rule.tokens().len().saturating_sub(1));
        match names.get(dest_name.as_str()) {
            None => {
                let hint = closest(dest_name, names.keys().copied())
                    .map(|n| format!(" (did you mean {n:?}?)"))
                    .unwrap_or_default();
                push(
                    Severity::Error,
                    codes::MATCH_UNKNOWN_STEP,
                    format!(
                        "`{rule}`: there is no step or inspection {dest_name:?}{hint}; the rule matches nothing"
                    ),
                    spot(r, from),
                );
            }
            Some((ItemKind::Inspection, _)) if kind == ItemKind::Step => push(
                Severity::Error,
                codes::MATCH_LATER_STEP,
                format!(
                    "`{rule}`: inspections run after all step rules are checked, so a step never sees the link of inspection {dest_name:?}; the rule matches nothing"
                ),
                spot(r, from),
            ),
            Some((ItemKind::Step, j)) if kind == ItemKind::Step && *j > i => {
                let this = layout.steps.get(i).map(|s| s.name.as_str()).unwrap_or("");
                push(
                    Severity::Warning,
                    codes::MATCH_LATER_STEP,
                    format!(
                        "`{rule}`: step {dest_name:?} comes after step {this:?}; a step normally uses what earlier steps produced (are the steps out of order?)"
                    ),
                    spot(r, from),
                );
            }
            Some(_) => {}
        }
    }
}

/// The closest name within edit distance 2, for "did you mean".
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let len = name.chars().count();
    candidates
        // Names whose lengths differ by more than 2 are more than 2 edits
        // apart; skipping them keeps a layout with thousands of names fast.
        .filter(|c| c.chars().count().abs_diff(len) <= 2)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= 2)
        // The nearest, and of those the first in name order.
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// One MATCH that reads the products of a step: the destination prefix
/// and the pattern.
struct Consumer<'a> {
    dest_prefix: Option<&'a str>,
    pattern: &'a str,
}

fn check_consumption(layout: &Layout, push: &mut Push<'_>) {
    let steps = &layout.steps;
    // Every MATCH from products, by destination, with the position of its
    // item (steps first, then inspections): one pass, not one per step.
    let mut by_dest: HashMap<&str, Vec<(usize, Consumer<'_>)>> = HashMap::new();
    let items = steps
        .iter()
        .map(|s| (&s.expected_materials, &s.expected_products))
        .chain(
            layout
                .inspect
                .iter()
                .map(|s| (&s.expected_materials, &s.expected_products)),
        );
    for (order, (materials, products)) in items.enumerate() {
        for rule in materials.iter().chain(products) {
            if let RuleKind::Match {
                pattern,
                dest_side: Side::Products,
                dest_prefix,
                dest_name,
                ..
            } = rule.kind()
            {
                by_dest.entry(dest_name.as_str()).or_default().push((
                    order,
                    Consumer {
                        dest_prefix: dest_prefix.as_deref(),
                        pattern,
                    },
                ));
            }
        }
    }
    for (i, step) in steps.iter().enumerate() {
        let is_last = i + 1 == steps.len();
        if is_last && layout.inspect.is_empty() {
            // The final product is what the layout delivers.
            continue;
        }
        let produced: Vec<(usize, &str)> = step
            .expected_products
            .iter()
            .enumerate()
            .filter_map(|(r, rule)| match rule.kind() {
                RuleKind::Create(p) | RuleKind::Modify(p) => Some((r, p.as_str())),
                _ => None,
            })
            .collect();
        if produced.is_empty() {
            continue;
        }
        let consumers: Vec<&Consumer<'_>> = by_dest
            .get(step.name.as_str())
            .into_iter()
            .flatten()
            .filter(|(order, _)| *order > i)
            .map(|(_, c)| c)
            .collect();
        let name = step.name.as_str();
        let from = crate::export::quote(name);
        if consumers.is_empty() {
            push(
                Severity::Warning,
                codes::UNCONSUMED_PRODUCT,
                format!(
                    "no later step or inspection uses the products of step {name:?} (add `MATCH … WITH PRODUCTS FROM {from}` where they are used)"
                ),
                Spot::Item(ItemKind::Step, i, ItemField::Whole),
            );
            continue;
        }
        for (r, pattern) in produced {
            if !consumers.iter().any(|c| overlaps(pattern, c)) {
                push(
                    Severity::Warning,
                    codes::UNCONSUMED_PRODUCT,
                    format!(
                        "products matching {pattern:?} of step {name:?} are not matched by any later `MATCH … WITH PRODUCTS FROM {from}`"
                    ),
                    Spot::Item(ItemKind::Step, i, ItemField::Rule(Part::Products, r, None)),
                );
            }
        }
    }
}

/// Python's `fnmatch.fnmatchcase`, from intact-rules. A pattern that
/// cannot be compiled is reported on its own (`uncompilable-pattern`);
/// here it counts as matching, so that it adds no false warning.
fn matches(pattern: &str, name: &str) -> bool {
    intact_rules::fnmatch(pattern, name).unwrap_or(true)
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// Whether some artifact name can match the producer's pattern and be
/// consumed by the MATCH. Exact when either side is a literal name;
/// two globs are assumed to overlap (no false warnings).
fn overlaps(produced: &str, c: &Consumer<'_>) -> bool {
    let prefix = c.dest_prefix.map(|p| {
        let p = p.replace('\\', "/");
        if p.ends_with('/') {
            p
        } else {
            format!("{p}/")
        }
    });
    if !is_glob(produced) {
        let rest = match &prefix {
            Some(p) => match produced.strip_prefix(p.as_str()) {
                Some(rest) => rest,
                None => return false,
            },
            None => produced,
        };
        return matches(c.pattern, rest);
    }
    if !is_glob(c.pattern) {
        let full = match &prefix {
            Some(p) => format!("{p}{}", c.pattern),
            None => c.pattern.to_string(),
        };
        return matches(produced, &full);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uncompilable_pattern_is_an_error() {
        use intact_model::{Expires, Step, StepName};
        let mut layout = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
        let mut step = Step::new(StepName::new("build").unwrap());
        let huge = "?".repeat(16_000);
        step.expected_products = vec![
            Rule::parse_str("CREATE *.o").unwrap(),
            Rule::parse_str(&format!("DISALLOW {huge}")).unwrap(),
        ];
        step.expected_materials = vec![Rule::parse_str(&format!("ALLOW src/{huge}")).unwrap()];
        layout.steps.push(step);
        let now = time::macros::datetime!(2025-01-01 0:00 UTC);
        let found: Vec<_> = lint(&layout, now)
            .into_iter()
            .filter(|f| f.code == codes::UNCOMPILABLE_PATTERN)
            .map(|f| (f.severity, f.location.path))
            .collect();
        assert_eq!(
            found,
            [
                (
                    Severity::Error,
                    "steps[0].expected_materials[0]".to_string()
                ),
                (Severity::Error, "steps[0].expected_products[1]".to_string()),
            ]
        );
    }

    #[test]
    fn expiry_is_warned_at_29_days_not_at_31() {
        use intact_model::Expires;
        let now = time::macros::datetime!(2026-07-01 0:00 UTC);
        for (expires, warned) in [
            ("2026-07-30T00:00:00Z", true),
            ("2026-08-01T00:00:00Z", false),
        ] {
            let layout = Layout::new(Expires::parse(expires).unwrap());
            let soon = lint(&layout, now)
                .iter()
                .any(|f| f.code == codes::EXPIRES_SOON && f.severity == Severity::Warning);
            assert_eq!(soon, warned, "{expires}");
        }
    }

    /// A 1024-bit RSA public key (openssl genpkey, rsa_keygen_bits:1024).
    const WEAK_RSA_PUB: &str = "-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDVs98SXcn0Q37c9agzcz2SnwJ6\njHqpNiOtBtuDvQsRZiVOKkQhrihlDcZaqUdn97jxTTcDHyNGW6+XjzH4xhPnnaZN\nsIBKdPkPf7yKcvt7Mv/HQPiOIIGhzKQn8uArGt74kwW9eEFOswfg/Oc3C2kRvNre\nwiPtNATfgn7tej2KcQIDAQAB\n-----END PUBLIC KEY-----\n";

    #[test]
    fn a_weak_key_is_a_warning() {
        use intact_model::{Expires, Step, StepName};
        let key = intact_crypto::PublicKey::from_spki_pem(WEAK_RSA_PUB).unwrap();
        let id = key.keyid().unwrap();
        let mut layout = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
        layout.keys.insert(id.clone(), key.to_key_dict().unwrap());
        let mut step = Step::new(StepName::new("build").unwrap());
        step.pubkeys = vec![id.clone()];
        layout.steps.push(step);
        let now = time::macros::datetime!(2025-01-01 0:00 UTC);
        let found: Vec<_> = lint(&layout, now)
            .into_iter()
            .map(|f| (f.code, f.severity, f.location.path))
            .collect();
        assert_eq!(
            found,
            [(codes::WEAK_KEY, Severity::Warning, format!("keys.{id}"))]
        );
    }

    #[test]
    fn a_layout_without_expiry_is_an_error() {
        use intact_model::{Step, StepName};
        let mut layout: Layout = serde_json::from_str(r#"{"steps": [], "inspect": []}"#).unwrap();
        layout
            .steps
            .push(Step::new(StepName::new("build").unwrap()));
        let now = time::macros::datetime!(2025-01-01 0:00 UTC);
        let found: Vec<_> = lint(&layout, now)
            .into_iter()
            .filter(|f| f.code == codes::NO_EXPIRES)
            .collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Error);
    }

    #[test]
    fn edit_distance_suggests_typos() {
        assert_eq!(edit_distance("clone", "clnoe"), 2);
        assert_eq!(
            closest("pakage", ["package", "clone"].into_iter()),
            Some("package")
        );
        assert_eq!(closest("zzz", ["package"].into_iter()), None);
    }

    #[test]
    fn overlap_uses_destination_prefix() {
        let c = Consumer {
            dest_prefix: Some("build"),
            pattern: "*.o",
        };
        assert!(overlaps("build/a.o", &c));
        assert!(!overlaps("a.o", &c));
        let lit = Consumer {
            dest_prefix: None,
            pattern: "app.tar.gz",
        };
        assert!(overlaps("*.tar.gz", &lit));
        assert!(!overlaps("*.zip", &lit));
    }
}
