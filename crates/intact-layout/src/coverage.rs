//! Static coverage: which artifacts a layout actually constrains.
//!
//! For every artifact that reaches the end of the chain (the products of
//! final steps, and what inspections read) [`coverage`] traces the
//! `MATCH` rules back to where the artifact entered, and reports each hop
//! as constrained (a `MATCH` against an earlier step, the git source or an
//! inspection that re-checks it) or open (a `CREATE`, `MODIFY` or `ALLOW`
//! nobody else agrees with). It then lists the policy's holes as typed
//! [`CoverageFinding`]s, each with a [`Risk`], a location and a fix.
//!
//! The lint ([`crate::lint`]) asks "can this layout work?"; coverage asks
//! "what could an attacker get past it?". They share the rule matcher
//! (`intact_rules::fnmatch`) and the locations, so a finding built from
//! YAML names its line.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use intact_model::{KeyId, Layout, RuleKind, Side};
use serde_json::{json, Value};

use crate::finding::{codes as lint_codes, ItemKind, Location};
use crate::lint::{ItemField, Spot};
use crate::params::Part;

/// The schema identifier of [`CoverageReport::to_json`].
pub const COVERAGE_SCHEMA: &str = "intact.layout-coverage/v1";

/// Stable coverage finding codes (docs/attack-drills.md explains each).
pub mod codes {
    /// An `ALLOW` rule in a step: artifacts pass unchecked.
    pub const OPEN_ALLOW: &str = "open-allow";
    /// A step's rule list that does not end with `DISALLOW *`: whatever no
    /// rule consumed is accepted (the reference's implicit `ALLOW *`).
    pub const IMPLICIT_ALLOW: &str = "implicit-allow";
    /// A `CREATE` or `MODIFY` no earlier step, git source or inspection
    /// agrees with: only the step's functionaries vouch for the artifact.
    pub const OPEN_PRODUCT: &str = "open-product";
    /// Products of a step that no later rule consumes.
    pub const UNCONSUMED_PRODUCT: &str = "unconsumed-product";
    /// A rule that can never match anything.
    pub const NEVER_MATCHES: &str = "never-matches";
    /// One key can perform two steps (no separation of duties).
    pub const SHARED_KEY: &str = "shared-key";
    /// A step whose threshold is 1: one stolen key is enough.
    pub const THRESHOLD_ONE: &str = "threshold-one";
    /// A step without an expected command.
    pub const NO_EXPECTED_COMMAND: &str = "no-expected-command";
}

/// How much an attacker gains from a hole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Risk {
    /// Anything can be slipped in or swapped with no key beyond the
    /// step's own.
    High,
    /// A check is missing or can never apply.
    Medium,
    /// Defence in depth: worth tightening.
    Low,
}

impl Risk {
    /// `high`, `medium` or `low`.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::High => "high",
            Risk::Medium => "medium",
            Risk::Low => "low",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One hole in a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageFinding {
    /// A stable code from [`codes`].
    pub code: &'static str,
    /// How bad it is.
    pub risk: Risk,
    /// What is open, for people.
    pub message: String,
    /// What to change.
    pub fix: String,
    /// Where (with the YAML line when built from YAML).
    pub location: Location,
}

/// Whether a hop is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HopStatus {
    /// Another party agrees: a `MATCH`, the git source or an inspection.
    Constrained,
    /// Only the step's functionaries vouch for it, or nobody does.
    Open,
}

impl HopStatus {
    /// `constrained` or `open`.
    pub fn as_str(self) -> &'static str {
        match self {
            HopStatus::Constrained => "constrained",
            HopStatus::Open => "open",
        }
    }
}

/// One hop of a path: a rule of `item` through which artifacts arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The step or inspection whose rule it is.
    pub item: String,
    /// `materials` or `products`.
    pub side: &'static str,
    /// The rule as written.
    pub rule: String,
    /// The step a `MATCH` reads from.
    pub from: Option<String>,
    /// Constrained or open.
    pub status: HopStatus,
    /// Who agrees (or that nobody does).
    pub by: String,
    /// How deep in the trace (0: the end item itself).
    pub depth: usize,
}

/// The paths of one artifact sink: a final step or an inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// The step or inspection at the end of the chain.
    pub end: String,
    /// Step or inspection.
    pub kind: ItemKind,
    /// Its hops, depth first from the end back to where artifacts entered.
    pub hops: Vec<Hop>,
}

/// What [`coverage`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CoverageReport {
    /// Per end of the chain, the hops back to where artifacts entered.
    pub paths: Vec<Path>,
    /// The holes, worst first.
    pub findings: Vec<CoverageFinding>,
}

impl CoverageReport {
    /// How many findings of `risk`.
    pub fn count(&self, risk: Risk) -> usize {
        self.findings.iter().filter(|f| f.risk == risk).count()
    }

    /// The names of the steps and inspections with an open hop (for
    /// pictures: `intact layout graph` marks them).
    pub fn open_items(&self) -> BTreeSet<String> {
        self.paths
            .iter()
            .flat_map(|p| &p.hops)
            .filter(|h| h.status == HopStatus::Open)
            .map(|h| h.item.clone())
            .collect()
    }

    /// The machine-readable form ([`COVERAGE_SCHEMA`]).
    pub fn to_json(&self) -> Value {
        let paths: Vec<Value> = self
            .paths
            .iter()
            .map(|p| {
                json!({
                    "end": p.end,
                    "kind": p.kind.to_string(),
                    "hops": p.hops.iter().map(|h| json!({
                        "item": h.item,
                        "side": h.side,
                        "rule": h.rule,
                        "from": h.from,
                        "status": h.status.as_str(),
                        "by": h.by,
                        "depth": h.depth,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                json!({
                    "code": f.code,
                    "risk": f.risk.as_str(),
                    "message": f.message,
                    "fix": f.fix,
                    "location": {
                        "path": f.location.path,
                        "item": f.location.item.as_ref().map(|i| i.name.clone()),
                        "line": f.location.line,
                        "column": f.location.column,
                    },
                })
            })
            .collect();
        json!({
            "schema": COVERAGE_SCHEMA,
            "summary": {
                "high": self.count(Risk::High),
                "medium": self.count(Risk::Medium),
                "low": self.count(Risk::Low),
            },
            "paths": paths,
            "findings": findings,
        })
    }

    /// The report for people; each finding line starts with
    /// `LINE:COL: ` when known, so prefix it with the file name.
    pub fn to_text(&self, file: &str) -> String {
        let mut out = String::new();
        out.push_str("Paths (from each end of the chain back to where artifacts enter):\n");
        for p in &self.paths {
            out.push_str(&format!("  {} {}\n", p.kind, p.end));
            for h in &p.hops {
                let indent = "  ".repeat(h.depth + 2);
                out.push_str(&format!(
                    "{indent}[{}] {} {}: {}  ({})\n",
                    h.status.as_str(),
                    h.item,
                    h.side,
                    h.rule,
                    h.by
                ));
            }
        }
        out.push_str("\nFindings:\n");
        if self.findings.is_empty() {
            out.push_str("  none\n");
        }
        for f in &self.findings {
            let pos = match (f.location.line, f.location.column) {
                (Some(l), Some(c)) => format!("{file}:{l}:{c}: "),
                _ => format!("{file}: "),
            };
            let path = if f.location.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", f.location.path)
            };
            out.push_str(&format!(
                "{pos}{}[{}] {path}{}\n  fix: {}\n",
                f.risk, f.code, f.message, f.fix
            ));
        }
        out.push_str(&format!(
            "\n{file}: {} high, {} medium, {} low\n",
            self.count(Risk::High),
            self.count(Risk::Medium),
            self.count(Risk::Low)
        ));
        out
    }
}

/// A finding before it is located.
pub(crate) struct RawCoverage {
    pub code: &'static str,
    pub risk: Risk,
    pub message: String,
    pub fix: String,
    pub spot: Spot,
}

/// Analyse a typed layout; locations are paths into the layout
/// (`steps[2].expected_materials[0]`), without lines. For YAML sources
/// use [`crate::Source::coverage`], which adds lines.
///
/// ```
/// use intact_model::{Expires, Layout, Rule, Step, StepName};
///
/// let mut layout = Layout::new(Expires::parse("2030-01-01T00:00:00Z").unwrap());
/// let mut step = Step::new(StepName::new("package").unwrap());
/// step.expected_materials.push(Rule::parse_str("ALLOW *").unwrap());
/// layout.steps.push(step);
/// let report = intact_layout::coverage(&layout);
/// assert!(report.findings.iter().any(|f| f.code == "open-allow"));
/// ```
pub fn coverage(layout: &Layout) -> CoverageReport {
    let paths = crate::lint::LayoutPaths { prefix: "" };
    analyse(layout, &|spot| {
        use crate::lint::Locate;
        paths.locate(layout, spot)
    })
}

pub(crate) fn analyse(layout: &Layout, locate: &dyn Fn(&Spot) -> Location) -> CoverageReport {
    let raw = findings(layout);
    let mut findings: Vec<CoverageFinding> = raw
        .into_iter()
        .map(|r| CoverageFinding {
            location: locate(&r.spot),
            code: r.code,
            risk: r.risk,
            message: r.message,
            fix: r.fix,
        })
        .collect();
    // Worst first, then in document order.
    findings.sort_by(|a, b| {
        (a.risk, a.location.line, &a.location.path).cmp(&(
            b.risk,
            b.location.line,
            &b.location.path,
        ))
    });
    CoverageReport {
        paths: trace(layout),
        findings,
    }
}

fn is_match_all(pattern: &str) -> bool {
    !pattern.is_empty() && pattern.chars().all(|c| c == '*')
}

fn quote(name: &str) -> String {
    crate::export::quote(name)
}

/// The git policy's source step, if the layout has one.
fn git_step(layout: &Layout) -> Option<String> {
    layout.inspect.iter().find_map(|i| {
        intact_model::GitPolicy::from_run(&i.run)
            .and_then(Result::ok)
            .map(|p| p.step.to_string())
    })
}

/// Inspections that read `step`'s products (a MATCH FROM it) and compare
/// what they find with another step: they re-check what `step` made.
fn rechecking_inspections(layout: &Layout, step: &str) -> Vec<String> {
    layout
        .inspect
        .iter()
        .filter(|i| {
            let reads = i.expected_materials.iter().chain(&i.expected_products).any(
                |r| matches!(r.kind(), RuleKind::Match { dest_name, .. } if dest_name == step),
            );
            let compares = i.expected_products.iter().any(
                |r| matches!(r.kind(), RuleKind::Match { dest_name, .. } if dest_name != step),
            );
            reads && compares
        })
        .map(|i| i.name.to_string())
        .collect()
}

/// The steps whose products some later step or inspection MATCHes.
fn consumed_steps(layout: &Layout) -> HashSet<String> {
    let mut out = HashSet::new();
    for rules in layout
        .steps
        .iter()
        .flat_map(|s| [&s.expected_materials, &s.expected_products])
        .chain(
            layout
                .inspect
                .iter()
                .flat_map(|s| [&s.expected_materials, &s.expected_products]),
        )
    {
        for r in rules {
            if let RuleKind::Match { dest_name, .. } = r.kind() {
                out.insert(dest_name.clone());
            }
        }
    }
    out
}

fn trace(layout: &Layout) -> Vec<Path> {
    let consumed = consumed_steps(layout);
    let git = git_step(layout);
    let mut ends: Vec<(ItemKind, String)> = layout
        .steps
        .iter()
        .filter(|s| !consumed.contains(s.name.as_str()))
        .map(|s| (ItemKind::Step, s.name.to_string()))
        .collect();
    ends.extend(
        layout
            .inspect
            .iter()
            .filter(|i| intact_model::GitPolicy::from_run(&i.run).is_none())
            .map(|i| (ItemKind::Inspection, i.name.to_string())),
    );
    ends.into_iter()
        .map(|(kind, end)| {
            let mut hops = Vec::new();
            let mut seen = HashSet::new();
            walk(layout, git.as_deref(), &end, 0, &mut seen, &mut hops);
            Path { end, kind, hops }
        })
        .collect()
}

fn walk(
    layout: &Layout,
    git: Option<&str>,
    name: &str,
    depth: usize,
    seen: &mut HashSet<String>,
    hops: &mut Vec<Hop>,
) {
    if !seen.insert(name.to_string()) || depth > 64 {
        return;
    }
    let (inspection, materials, products) =
        if let Some(s) = layout.steps.iter().find(|s| s.name.as_str() == name) {
            (false, &s.expected_materials, &s.expected_products)
        } else if let Some(i) = layout.inspect.iter().find(|i| i.name.as_str() == name) {
            (true, &i.expected_materials, &i.expected_products)
        } else {
            return;
        };
    for (side, rules) in [("products", products), ("materials", materials)] {
        for rule in rules {
            let hop = |status, from: Option<String>, by: String| Hop {
                item: name.to_string(),
                side,
                rule: rule.to_string(),
                from,
                status,
                by,
                depth,
            };
            match rule.kind() {
                RuleKind::Match { dest_name, .. } => {
                    hops.push(hop(
                        HopStatus::Constrained,
                        Some(dest_name.clone()),
                        format!("must equal what {dest_name} recorded"),
                    ));
                    walk(layout, git, dest_name, depth + 1, seen, hops);
                }
                RuleKind::Allow(_) if inspection => {}
                RuleKind::Allow(p) => hops.push(hop(
                    HopStatus::Open,
                    None,
                    if is_match_all(p) {
                        "anything passes".into()
                    } else {
                        "passes unchecked".into()
                    },
                )),
                RuleKind::Create(_) | RuleKind::Modify(_) if !inspection => {
                    let entered = if side == "products" && git == Some(name) {
                        Some("the git source commit".to_string())
                    } else if side == "products" {
                        let by = rechecking_inspections(layout, name);
                        (!by.is_empty())
                            .then(|| format!("re-checked by inspection {}", by.join(", ")))
                    } else {
                        None
                    };
                    match entered {
                        Some(by) => hops.push(hop(HopStatus::Constrained, None, by)),
                        None => hops.push(hop(
                            HopStatus::Open,
                            None,
                            format!("enters here, vouched for only by {name}'s functionaries"),
                        )),
                    }
                }
                _ => {}
            }
        }
    }
}

/// Key labels for messages: the name the layout carries beside the key
/// (`bob`, from the YAML's `keys:`), else the short keyid.
fn key_label(layout: &Layout, id: &KeyId) -> String {
    match layout.keys.get(id).and_then(|d| d.name()) {
        Some(name) => name.to_string(),
        None => id.short().to_string(),
    }
}

fn findings(layout: &Layout) -> Vec<RawCoverage> {
    let mut out = Vec::new();
    let git = git_step(layout);
    for (i, step) in layout.steps.iter().enumerate() {
        let name = step.name.as_str();
        let spot = |f| Spot::Item(ItemKind::Step, i, f);
        for (part, rules) in [
            (Part::Materials, &step.expected_materials),
            (Part::Products, &step.expected_products),
        ] {
            let side = if part == Part::Materials {
                "materials"
            } else {
                "products"
            };
            for (r, rule) in rules.iter().enumerate() {
                match rule.kind() {
                    RuleKind::Allow(p) => {
                        let all = is_match_all(p);
                        out.push(RawCoverage {
                            code: codes::OPEN_ALLOW,
                            risk: if all { Risk::High } else { Risk::Medium },
                            message: format!(
                                "`{rule}`: step {name:?} accepts {} as {side} without any earlier step agreeing",
                                if all { "any artifact".to_string() } else { format!("artifacts matching {p:?}") }
                            ),
                            fix: if part == Part::Materials {
                                format!("replace it with `MATCH {p} WITH PRODUCTS FROM <earlier step>` and end the list with `DISALLOW *`")
                            } else {
                                format!("name what {name:?} makes with `CREATE`/`MODIFY` patterns and end the list with `DISALLOW *`")
                            },
                            spot: spot(ItemField::Rule(part, r, None)),
                        });
                    }
                    RuleKind::Create(p) | RuleKind::Modify(p) if part == Part::Products => {
                        if git.as_deref() == Some(name)
                            || !rechecking_inspections(layout, name).is_empty()
                        {
                            continue;
                        }
                        let verb = if matches!(rule.kind(), RuleKind::Create(_)) {
                            "create"
                        } else {
                            "change"
                        };
                        out.push(RawCoverage {
                            code: codes::OPEN_PRODUCT,
                            risk: Risk::Low,
                            message: format!(
                                "step {name:?} may {verb} {p:?} with only its own functionaries vouching (no git source or inspection re-checks it)"
                            ),
                            fix: format!(
                                "add an inspection that MATCHes these products FROM {} against an earlier step, raise the threshold (reproducible builds), or tie the source to git (`git:`)",
                                quote(name)
                            ),
                            spot: spot(ItemField::Rule(part, r, None)),
                        });
                    }
                    _ => {}
                }
            }
            let closed = rules.last().is_some_and(
                |r| matches!(r.kind(), RuleKind::Disallow(p) | RuleKind::Allow(p) if is_match_all(p)),
            );
            // An empty material list on a step nothing feeds is usual (the
            // first step); an empty product list lets anything through.
            let skip = rules.is_empty() && part == Part::Materials;
            if !closed && !skip {
                let risk = if part == Part::Products || !rules.is_empty() {
                    Risk::Medium
                } else {
                    Risk::Low
                };
                let what = if rules.is_empty() {
                    format!("step {name:?} has no {side} rules")
                } else {
                    format!("the {side} rules of step {name:?} do not end with `DISALLOW *`")
                };
                out.push(RawCoverage {
                    code: codes::IMPLICIT_ALLOW,
                    risk,
                    message: format!("{what}: any {side} no rule consumed are accepted"),
                    fix: format!("end expected_{side} with `DISALLOW *`"),
                    spot: spot(ItemField::Whole),
                });
            }
        }
        if step.threshold == 1 {
            out.push(RawCoverage {
                code: codes::THRESHOLD_ONE,
                risk: Risk::Low,
                message: format!("step {name:?} needs one functionary's link: one stolen key can forge it"),
                fix: "for steps that matter (the build), list several functionaries and set `threshold: 2`".into(),
                spot: spot(ItemField::Threshold),
            });
        }
        if step.expected_command.is_empty() {
            out.push(RawCoverage {
                code: codes::NO_EXPECTED_COMMAND,
                risk: Risk::Low,
                message: format!("step {name:?} has no expected command: a different command is not even warned about"),
                fix: "set `expected_command:` to the command the step runs".into(),
                spot: spot(ItemField::Whole),
            });
        }
    }
    shared_keys(layout, &mut out);
    // What the lint already knows about rules that never match and
    // products nobody uses, in coverage terms.
    for raw in crate::lint::lint_raw(
        layout,
        time::OffsetDateTime::UNIX_EPOCH,
        &Default::default(),
    ) {
        let (code, risk, fix) = match raw.code {
            lint_codes::UNCONSUMED_PRODUCT => (
                codes::UNCONSUMED_PRODUCT,
                Risk::Medium,
                "MATCH these products in the step or inspection that uses them".to_string(),
            ),
            lint_codes::UNREACHABLE_RULE => (
                codes::NEVER_MATCHES,
                Risk::Medium,
                "move the rule before the `ALLOW *` / `DISALLOW *` that closes the list"
                    .to_string(),
            ),
            lint_codes::MATCH_UNKNOWN_STEP | lint_codes::MATCH_LATER_STEP => (
                codes::NEVER_MATCHES,
                Risk::Medium,
                "MATCH FROM an earlier step that exists".to_string(),
            ),
            _ => continue,
        };
        out.push(RawCoverage {
            code,
            risk,
            message: raw.message,
            fix,
            spot: raw.spot,
        });
    }
    never_overlapping(layout, &mut out);
    out
}

/// Keys that can perform more than one step.
fn shared_keys(layout: &Layout, out: &mut Vec<RawCoverage>) {
    let mut by_key: BTreeMap<&KeyId, Vec<(usize, usize)>> = BTreeMap::new();
    for (i, s) in layout.steps.iter().enumerate() {
        let mut seen = HashSet::new();
        for (k, id) in s.pubkeys.iter().enumerate() {
            if seen.insert(id) {
                by_key.entry(id).or_default().push((i, k));
            }
        }
    }
    let many = layout.steps.len() > 1;
    for (id, places) in by_key {
        if places.len() < 2 {
            continue;
        }
        let names: Vec<String> = places
            .iter()
            .filter_map(|(i, _)| {
                layout
                    .steps
                    .get(*i)
                    .map(|s| format!("{:?}", s.name.as_str()))
            })
            .collect();
        let every = many && places.len() == layout.steps.len();
        let Some(&(i, k)) = places.get(1) else {
            continue;
        };
        out.push(RawCoverage {
            code: codes::SHARED_KEY,
            risk: if every { Risk::High } else { Risk::Medium },
            message: format!(
                "key {} can perform {}{}: whoever holds it can forge their links together",
                key_label(layout, id),
                if every { "every step: " } else { "" },
                names.join(" and ")
            ),
            fix: "give each step its own functionaries (separation of duties), or raise the thresholds so no single key suffices".into(),
            spot: Spot::Item(ItemKind::Step, i, ItemField::Pubkey(k)),
        });
    }
}

/// `MATCH p FROM s` where `s`'s product rules admit nothing `p` can name
/// (they end with `DISALLOW *` and admit only other literal names).
fn never_overlapping(layout: &Layout, out: &mut Vec<RawCoverage>) {
    let admitted = |step: &str| -> Option<Vec<String>> {
        let s = layout.steps.iter().find(|s| s.name.as_str() == step)?;
        let closed = s
            .expected_products
            .last()
            .is_some_and(|r| matches!(r.kind(), RuleKind::Disallow(p) if is_match_all(p)));
        if !closed {
            return None;
        }
        let mut names = Vec::new();
        for r in &s.expected_products {
            match r.kind() {
                RuleKind::Create(p) | RuleKind::Modify(p) | RuleKind::Allow(p) => {
                    names.push(p.clone())
                }
                RuleKind::Match { .. } => return None,
                _ => {}
            }
        }
        Some(names)
    };
    let items = layout
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                ItemKind::Step,
                i,
                &s.expected_materials,
                &s.expected_products,
            )
        })
        .chain(layout.inspect.iter().enumerate().map(|(i, s)| {
            (
                ItemKind::Inspection,
                i,
                &s.expected_materials,
                &s.expected_products,
            )
        }));
    for (kind, i, materials, products) in items {
        for (part, rules) in [(Part::Materials, materials), (Part::Products, products)] {
            for (r, rule) in rules.iter().enumerate() {
                let RuleKind::Match {
                    pattern,
                    dest_side: Side::Products,
                    dest_prefix,
                    dest_name,
                    ..
                } = rule.kind()
                else {
                    continue;
                };
                let Some(names) = admitted(dest_name) else {
                    continue;
                };
                let full = match dest_prefix {
                    Some(p) => format!("{}/{pattern}", p.trim_end_matches('/')),
                    None => pattern.clone(),
                };
                if names.iter().any(|n| could_overlap(n, &full)) {
                    continue;
                }
                out.push(RawCoverage {
                    code: codes::NEVER_MATCHES,
                    risk: Risk::Medium,
                    message: format!(
                        "`{rule}`: step {dest_name:?} may only produce {}; the rule can never match",
                        names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
                    ),
                    fix: format!("match what {dest_name:?} actually produces"),
                    spot: Spot::Item(kind, i, ItemField::Rule(part, r, None)),
                });
            }
        }
    }
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// Whether a name can match both patterns; exact when one is literal, and
/// two globs are assumed to overlap (no false findings).
fn could_overlap(a: &str, b: &str) -> bool {
    let m = |p: &str, n: &str| intact_rules::fnmatch(p, n).unwrap_or(true);
    match (is_glob(a), is_glob(b)) {
        (false, _) => m(b, a),
        (true, false) => m(a, b),
        (true, true) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use intact_model::{Expires, Rule, Step, StepName};

    fn step(name: &str, materials: &[&str], products: &[&str], key: &KeyId) -> Step {
        let mut s = Step::new(StepName::new(name).unwrap());
        s.expected_materials = materials
            .iter()
            .map(|r| Rule::parse_str(r).unwrap())
            .collect();
        s.expected_products = products
            .iter()
            .map(|r| Rule::parse_str(r).unwrap())
            .collect();
        s.pubkeys = vec![key.clone()];
        s.expected_command = vec!["make".into()];
        s
    }

    fn codes_of(report: &CoverageReport) -> Vec<(&'static str, Risk, String)> {
        report
            .findings
            .iter()
            .map(|f| (f.code, f.risk, f.location.path.clone()))
            .collect()
    }

    #[test]
    fn allow_star_and_one_key_are_holes() {
        let k = KeyId::new("a".repeat(64)).unwrap();
        let mut layout = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
        layout
            .steps
            .push(step("build", &[], &["CREATE app", "DISALLOW *"], &k));
        layout.steps.push(step(
            "package",
            &["ALLOW *"],
            &["CREATE app.tar", "DISALLOW *"],
            &k,
        ));
        let report = coverage(&layout);
        let found = codes_of(&report);
        assert!(found.contains(&(
            codes::OPEN_ALLOW,
            Risk::High,
            "steps[1].expected_materials[0]".into()
        )));
        assert!(found.contains(&(codes::SHARED_KEY, Risk::High, "steps[1].pubkeys[0]".into())));
        assert!(found.contains(&(codes::UNCONSUMED_PRODUCT, Risk::Medium, "steps[0]".into())));
        assert_eq!(report.findings.first().map(|f| f.risk), Some(Risk::High));
        assert_eq!(
            report.open_items(),
            BTreeSet::from(["build".to_string(), "package".to_string()])
        );
    }

    #[test]
    fn a_match_that_cannot_overlap_never_matches() {
        let k = KeyId::new("a".repeat(64)).unwrap();
        let j = KeyId::new("b".repeat(64)).unwrap();
        let mut layout = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
        layout
            .steps
            .push(step("build", &[], &["CREATE app.bin", "DISALLOW *"], &k));
        layout.steps.push(step(
            "package",
            &["MATCH *.exe WITH PRODUCTS FROM build", "DISALLOW *"],
            &["CREATE app.tar", "DISALLOW *"],
            &j,
        ));
        let found = codes_of(&coverage(&layout));
        assert!(found.contains(&(
            codes::NEVER_MATCHES,
            Risk::Medium,
            "steps[1].expected_materials[0]".into()
        )));
        assert!(!found.iter().any(|f| f.0 == codes::SHARED_KEY));
    }

    #[test]
    fn the_trace_follows_match_rules_back() {
        let k = KeyId::new("a".repeat(64)).unwrap();
        let mut layout = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
        layout
            .steps
            .push(step("clone", &[], &["CREATE src/*", "DISALLOW *"], &k));
        layout.steps.push(step(
            "build",
            &["MATCH src/* WITH PRODUCTS FROM clone", "DISALLOW *"],
            &["CREATE app", "DISALLOW *"],
            &k,
        ));
        let report = coverage(&layout);
        assert_eq!(report.paths.len(), 1);
        let hops: Vec<_> = report.paths[0]
            .hops
            .iter()
            .map(|h| (h.item.as_str(), h.status, h.depth))
            .collect();
        assert_eq!(
            hops,
            [
                ("build", HopStatus::Open, 0),
                ("build", HopStatus::Constrained, 0),
                ("clone", HopStatus::Open, 1),
            ]
        );
    }
}
