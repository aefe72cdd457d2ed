//! Pictures of a layout: its steps and inspections as nodes, its
//! `MATCH ... FROM` rules as the edges artifacts flow along.
//!
//! The model lives in this crate because it needs nothing but a
//! [`Layout`]: `intact layout graph` draws an unsigned YAML source as well
//! as a signed layout, and the verifier's HTML report (intact-verify)
//! draws the chain it verified with the same [`LayoutGraph`]. The
//! renderers are here too: [`LayoutGraph::to_dot`] and
//! [`LayoutGraph::to_mermaid`] write text for Graphviz and Mermaid, and
//! [`LayoutGraph::to_svg`] draws the picture itself (a small layered
//! drawing, no external program), so a report can embed it.
//!
//! An edge goes from the item a rule matches *from* to the item holding
//! the rule: `MATCH src/* WITH PRODUCTS FROM clone` in step `build` is the
//! edge `clone -> build` labelled `src/*`. Every string from the layout
//! (names, patterns, commands) is escaped for the output format, and
//! control characters are first made visible with
//! [`intact_model::escape::escape`], so a hostile name cannot break out of
//! a label or redraw a terminal.
//!
//! ```
//! use std::collections::BTreeMap;
//! use intact_layout::graph::{LayoutGraph, SvgOptions};
//! use intact_model::{Expires, Layout, Rule, Step, StepName};
//!
//! let mut layout = Layout::new(Expires::parse("2030-01-01T00:00:00Z")?);
//! layout.steps.push(Step::new(StepName::new("clone")?));
//! let mut build = Step::new(StepName::new("build")?);
//! build.expected_materials.push(Rule::parse_str("MATCH src/* WITH PRODUCTS FROM clone")?);
//! layout.steps.push(build);
//!
//! let graph = LayoutGraph::new(&layout, &BTreeMap::new());
//! assert_eq!(graph.edges[0].from, "clone");
//! assert!(graph.to_dot().contains("\"clone\" -> \"build\" [label=\"src/*\""));
//! assert!(graph.to_svg(&SvgOptions::default()).starts_with("<svg"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use intact_model::escape::escape;
use intact_model::{KeyId, Layout, Rule, RuleKind, Side};
use serde::Serialize;

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum NodeKind {
    /// A step: functionaries sign links for it.
    Step,
    /// An inspection: the verifier runs it.
    Inspection,
    /// A name a `MATCH ... FROM` rule uses that no step or inspection has
    /// (`layout check` reports it; the picture shows it dashed).
    Unknown,
}

/// A key allowed to sign a step's links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Functionary {
    /// The keyid as the layout lists it.
    pub keyid: String,
    /// The key's name in the YAML source (`keys: {bob: bob.pub}`), when
    /// known.
    pub name: Option<String>,
}

impl Functionary {
    /// `bob 1a2b3c4d`, or the short keyid alone.
    pub fn label(&self) -> String {
        let short = self.keyid.get(..8).unwrap_or(&self.keyid);
        match &self.name {
            Some(name) => format!("{name} {short}"),
            None => short.to_string(),
        }
    }
}

/// A step or an inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// The step's or inspection's name.
    pub name: String,
    /// Step, inspection, or unknown.
    pub kind: NodeKind,
    /// For a step: the keys allowed to sign its links.
    pub functionaries: Vec<Functionary>,
    /// For a step: how many of them must sign.
    pub threshold: Option<i64>,
    /// A step's expected command, an inspection's command.
    pub command: Vec<String>,
    /// The open hops `intact layout coverage` found at this item
    /// (`materials: ALLOW *`), once marked ([`LayoutGraph::mark_open_hops`]):
    /// artifacts enter here that nobody else agrees to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub open: Vec<String>,
}

/// Which rule list of the consuming item holds the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleSide {
    /// `expected_materials`: what the item consumed came from there.
    Materials,
    /// `expected_products`: what the item made must equal what the source
    /// recorded.
    Products,
}

/// An artifact flow: one `MATCH ... FROM` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// The item matched from (`FROM` of the rule).
    pub from: String,
    /// The item holding the rule.
    pub to: String,
    /// Which rule list of `to` holds it.
    pub rule_side: RuleSide,
    /// The rule in canonical form.
    pub rule: String,
    /// The short label: the pattern, its `IN` prefix, and `(materials)`
    /// when the rule matches the source's materials rather than products.
    pub label: String,
}

/// Steps, inspections and the artifact flows between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayoutGraph {
    /// Steps in layout order, then inspections, then unknown names.
    pub nodes: Vec<Node>,
    /// One per `MATCH ... FROM` rule, in rule order (materials before
    /// products, item by item).
    pub edges: Vec<Edge>,
}

fn label_of(rule: &Rule) -> Option<(String, String)> {
    let RuleKind::Match {
        pattern,
        source_prefix,
        dest_side,
        dest_name,
        ..
    } = rule.kind()
    else {
        return None;
    };
    let mut label = match source_prefix {
        Some(prefix) => format!("{pattern} IN {prefix}"),
        None => pattern.clone(),
    };
    if *dest_side == Side::Materials {
        label.push_str(" (materials)");
    }
    Some((dest_name.clone(), label))
}

impl LayoutGraph {
    /// The graph of `layout`. `key_names` names functionary keys (from
    /// the YAML source, [`crate::Compiled::key_names`]); keys without a
    /// name are shown by short keyid.
    pub fn new(layout: &Layout, key_names: &BTreeMap<KeyId, String>) -> Self {
        let mut nodes: Vec<Node> = Vec::new();
        let mut edges = Vec::new();
        let mut add_edges = |to: &str, materials: &[Rule], products: &[Rule]| {
            let sides = [
                (RuleSide::Materials, materials),
                (RuleSide::Products, products),
            ];
            for (rule_side, rules) in sides {
                for rule in rules {
                    if let Some((from, label)) = label_of(rule) {
                        edges.push(Edge {
                            from,
                            to: to.to_string(),
                            rule_side,
                            rule: rule.to_string(),
                            label,
                        });
                    }
                }
            }
        };
        for s in &layout.steps {
            nodes.push(Node {
                name: s.name.to_string(),
                kind: NodeKind::Step,
                functionaries: s
                    .pubkeys
                    .iter()
                    .map(|k| Functionary {
                        keyid: k.to_string(),
                        // The YAML's name, else the one the signed
                        // layout carries beside the key.
                        name: key_names
                            .get(k)
                            .cloned()
                            .or_else(|| layout.keys.get(k)?.name().map(str::to_string)),
                    })
                    .collect(),
                threshold: Some(s.threshold),
                command: s.expected_command.clone(),
                open: Vec::new(),
            });
            add_edges(s.name.as_str(), &s.expected_materials, &s.expected_products);
        }
        for i in &layout.inspect {
            nodes.push(Node {
                name: i.name.to_string(),
                kind: NodeKind::Inspection,
                functionaries: Vec::new(),
                threshold: None,
                command: i.run.clone(),
                open: Vec::new(),
            });
            add_edges(i.name.as_str(), &i.expected_materials, &i.expected_products);
        }
        let mut known: std::collections::HashSet<String> =
            nodes.iter().map(|n| n.name.clone()).collect();
        for e in &edges {
            if known.insert(e.from.clone()) {
                nodes.push(Node {
                    name: e.from.clone(),
                    kind: NodeKind::Unknown,
                    functionaries: Vec::new(),
                    threshold: None,
                    command: Vec::new(),
                    open: Vec::new(),
                });
            }
        }
        LayoutGraph { nodes, edges }
    }

    /// Mark the open hops `report` found: each step or inspection with
    /// one lists its open rules, and the pictures draw it in red with
    /// them (`intact layout graph --coverage`).
    pub fn mark_open_hops(&mut self, report: &crate::coverage::CoverageReport) {
        let open = report
            .paths
            .iter()
            .flat_map(|p| &p.hops)
            .filter(|h| h.status == crate::coverage::HopStatus::Open);
        for h in open {
            let Some(n) = self.nodes.iter_mut().find(|n| n.name == h.item) else {
                continue;
            };
            let line = format!("open: {} {}", h.side, h.rule);
            if !n.open.contains(&line) {
                n.open.push(line);
            }
        }
    }

    /// Each node's index by name (the first node of a name, should a
    /// malformed layout repeat one).
    pub(crate) fn indices(&self) -> std::collections::HashMap<&str, usize> {
        let mut map = std::collections::HashMap::with_capacity(self.nodes.len());
        for (i, n) in self.nodes.iter().enumerate() {
            map.entry(n.name.as_str()).or_insert(i);
        }
        map
    }

    /// Each edge as (from, to) node indices, in edge order.
    pub(crate) fn edge_indices(&self) -> Vec<Option<(usize, usize)>> {
        let idx = self.indices();
        self.edges
            .iter()
            .map(|e| Some((*idx.get(e.from.as_str())?, *idx.get(e.to.as_str())?)))
            .collect()
    }

    /// The column of each node (by index): the longest path to it from a
    /// node nothing flows into. Edges that close a cycle (a rule matching
    /// from a later item or from itself) are ignored, so every node gets a
    /// column and the computation ends.
    pub fn columns(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let mut outs: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (a, b) in self.edge_indices().into_iter().flatten() {
            if a != b {
                if let Some(o) = outs.get_mut(a) {
                    o.push(b);
                }
            }
        }
        // Depth-first order; an edge to a node on the current path is a
        // back edge and is dropped.
        let mut state = vec![0u8; n]; // 0 new, 1 on path, 2 done
        let mut order = Vec::with_capacity(n);
        let mut forward = Vec::new();
        for start in 0..n {
            if state.get(start) != Some(&0) {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            if let Some(s) = state.get_mut(start) {
                *s = 1;
            }
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                if let Some(&to) = outs.get(node).and_then(|o| o.get(*next)) {
                    *next += 1;
                    match state.get(to) {
                        Some(0) => {
                            forward.push((node, to));
                            if let Some(s) = state.get_mut(to) {
                                *s = 1;
                            }
                            stack.push((to, 0));
                        }
                        Some(2) => forward.push((node, to)),
                        _ => {} // on the path: a back edge
                    }
                } else {
                    if let Some(s) = state.get_mut(node) {
                        *s = 2;
                    }
                    order.push(node);
                    stack.pop();
                }
            }
        }
        order.reverse(); // topological order of the forward edges
        let mut forward_outs: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (a, b) in forward {
            if let Some(o) = forward_outs.get_mut(a) {
                o.push(b);
            }
        }
        let mut column = vec![0usize; n];
        for &node in &order {
            let here = column.get(node).copied().unwrap_or(0);
            for &b in forward_outs.get(node).map_or(&[][..], Vec::as_slice) {
                if let Some(c) = column.get_mut(b) {
                    *c = (*c).max(here + 1);
                }
            }
        }
        column
    }

    /// Graphviz `dot` text, left to right; product-side rules dashed,
    /// inspections as ellipses, unknown names dashed.
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph layout {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
        );
        for n in &self.nodes {
            let lines = node_lines(n);
            let label: Vec<String> = lines.iter().map(|l| dot_escape(l)).collect();
            let mut style = match n.kind {
                NodeKind::Step => "shape=box",
                NodeKind::Inspection => "shape=ellipse",
                NodeKind::Unknown => "shape=box, style=dashed",
            }
            .to_string();
            if !n.open.is_empty() {
                style.push_str(", color=\"#cc0000\", penwidth=2");
            }
            let _ = writeln!(
                out,
                "  \"{}\" [label=\"{}\", {style}];",
                dot_escape(&n.name),
                label.join("\\n")
            );
        }
        for e in &self.edges {
            let style = match e.rule_side {
                RuleSide::Materials => "",
                RuleSide::Products => ", style=dashed",
            };
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\" [label=\"{}\"{style}];",
                dot_escape(&e.from),
                dot_escape(&e.to),
                dot_escape(&e.label)
            );
        }
        out.push_str("}\n");
        out
    }

    /// Mermaid `flowchart LR` text. Nodes get generated ids (`n0`, `n1`,
    /// …); labels are quoted with everything but plain characters written
    /// as `#NNN;` entities, which Mermaid decodes.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for (i, n) in self.nodes.iter().enumerate() {
            let lines: Vec<String> = node_lines(n).iter().map(|l| mermaid_escape(l)).collect();
            let label = lines.join("<br>");
            let shape = match n.kind {
                NodeKind::Step | NodeKind::Unknown => format!("[\"{label}\"]"),
                NodeKind::Inspection => format!("([\"{label}\"])"),
            };
            let _ = writeln!(out, "  n{i}{shape}");
        }
        for (e, ends) in self.edges.iter().zip(self.edge_indices()) {
            let Some((a, b)) = ends else {
                continue;
            };
            let arrow = match e.rule_side {
                RuleSide::Materials => "-->",
                RuleSide::Products => "-.->",
            };
            let _ = writeln!(out, "  n{a} {arrow}|\"{}\"| n{b}", mermaid_escape(&e.label));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if n.kind == NodeKind::Unknown {
                let _ = writeln!(out, "  style n{i} stroke-dasharray: 5 5");
            }
            if !n.open.is_empty() {
                let _ = writeln!(out, "  style n{i} stroke:#cc0000,stroke-width:2px");
            }
        }
        out
    }

    /// An SVG picture (one `<g class="node ...">` per node, with a
    /// `<title>` naming it), drawn in columns by [`LayoutGraph::columns`].
    pub fn to_svg(&self, options: &SvgOptions) -> String {
        crate::svg::render(self, options)
    }
}

/// How [`LayoutGraph::to_svg`] marks nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SvgOptions {
    /// The node drawn as failed (red): the failed stage's step or
    /// inspection. A sublayout scope `parent/child` marks `parent`.
    pub failed: Option<String>,
    /// Nodes drawn as verified (green).
    pub passed: Vec<String>,
}

/// Most functionaries shown on a node; the rest are counted.
pub const NODE_KEYS_SHOWN: usize = 4;
/// Longest line drawn in a node or on an edge, in characters; longer ones
/// end in `…`.
pub const LINE_CHARS: usize = 48;

/// The text lines of a node: its name, then who signs it (steps) or what
/// it runs (inspections). Control characters are made visible.
pub(crate) fn node_lines(n: &Node) -> Vec<String> {
    let mut lines = vec![escape(&n.name).to_string()];
    match n.kind {
        NodeKind::Step => {
            let keys: Vec<String> = n
                .functionaries
                .iter()
                .take(NODE_KEYS_SHOWN)
                .map(|f| escape(&f.label()).to_string())
                .collect();
            if keys.is_empty() {
                lines.push("no functionary".to_string());
            } else {
                lines.extend(keys);
            }
            if n.functionaries.len() > NODE_KEYS_SHOWN {
                lines.push(format!(
                    "and {} more",
                    n.functionaries.len() - NODE_KEYS_SHOWN
                ));
            }
            if let Some(t) = n.threshold {
                lines.push(format!("threshold {t} of {}", n.functionaries.len()));
            }
        }
        NodeKind::Inspection => {
            lines.push("inspection".to_string());
            if !n.command.is_empty() {
                lines.push(format!("runs: {}", escape(&n.command.join(" "))));
            }
        }
        NodeKind::Unknown => lines.push("not in the layout".to_string()),
    }
    lines.extend(n.open.iter().map(|o| escape(o).to_string()));
    lines.into_iter().map(|l| truncate(&l)).collect()
}

/// `s` cut to [`LINE_CHARS`] characters, ending in `…` when cut.
pub(crate) fn truncate(s: &str) -> String {
    if s.chars().count() <= LINE_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(LINE_CHARS - 1).collect();
    out.push('…');
    out
}

/// A string for a double-quoted Graphviz ID: backslashes and quotes
/// escaped, control characters made visible first.
fn dot_escape(s: &str) -> String {
    let visible = escape(s).to_string();
    let mut out = String::with_capacity(visible.len());
    for c in visible.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            // Graphviz reads HTML entities in labels: keep `&` literal.
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// A string for a quoted Mermaid label: letters, digits, spaces and
/// harmless punctuation as is, everything else as `#NNN;`.
fn mermaid_escape(s: &str) -> String {
    let visible = escape(s).to_string();
    let mut out = String::with_capacity(visible.len());
    for c in visible.chars() {
        if c.is_ascii_alphanumeric() || " ./_-*:,+=@".contains(c) {
            out.push(c);
        } else {
            let _ = write!(out, "#{};", u32::from(c));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use intact_model::{Expires, Inspection, Step, StepName};

    fn layout(steps: &[(&str, &[&str])]) -> Layout {
        let mut l = Layout::new(Expires::parse("2030-01-01T00:00:00Z").unwrap());
        for (name, rules) in steps {
            let mut s = Step::new(StepName::new(*name).unwrap());
            for r in *rules {
                s.expected_materials.push(Rule::parse_str(r).unwrap());
            }
            l.steps.push(s);
        }
        l
    }

    #[test]
    fn a_match_rule_is_an_edge_from_its_source() {
        let l = layout(&[
            ("a", &[]),
            ("b", &["MATCH x/* IN src WITH MATERIALS FROM a"]),
        ]);
        let g = LayoutGraph::new(&l, &BTreeMap::new());
        assert_eq!(g.edges.len(), 1);
        assert_eq!(
            (g.edges[0].from.as_str(), g.edges[0].to.as_str()),
            ("a", "b")
        );
        assert_eq!(g.edges[0].label, "x/* IN src (materials)");
        assert_eq!(g.columns(), vec![0, 1]);
    }

    #[test]
    fn columns_follow_the_longest_path_and_survive_cycles() {
        let l = layout(&[
            ("a", &["MATCH * WITH PRODUCTS FROM c"]),
            (
                "b",
                &[
                    "MATCH * WITH PRODUCTS FROM a",
                    "MATCH * WITH PRODUCTS FROM b",
                ],
            ),
            (
                "c",
                &[
                    "MATCH * WITH PRODUCTS FROM a",
                    "MATCH * WITH PRODUCTS FROM b",
                ],
            ),
        ]);
        let g = LayoutGraph::new(&l, &BTreeMap::new());
        let cols = g.columns();
        assert_eq!(cols.len(), 3);
        assert!(cols[1] > cols[0] && cols[2] > cols[1], "{cols:?}");
    }

    #[test]
    fn an_unknown_source_becomes_a_dashed_node() {
        let mut l = layout(&[("a", &[])]);
        let mut i = Inspection::new(StepName::new("check").unwrap(), vec!["true".into()]);
        i.expected_materials
            .push(Rule::parse_str("MATCH * WITH PRODUCTS FROM ghost").unwrap());
        l.inspect.push(i);
        let g = LayoutGraph::new(&l, &BTreeMap::new());
        assert_eq!(g.nodes.len(), 3);
        assert_eq!(g.nodes[2].kind, NodeKind::Unknown);
        assert!(g.to_dot().contains("style=dashed"));
        assert!(g.to_mermaid().contains("stroke-dasharray"));
    }

    #[test]
    fn hostile_patterns_cannot_break_out_of_labels() {
        let l = layout(&[
            ("a", &[]),
            (
                "b",
                &[r#"MATCH 'x"];evil\ <b>|&#35;' WITH PRODUCTS FROM a"#],
            ),
        ]);
        let g = LayoutGraph::new(&l, &BTreeMap::new());
        let dot = g.to_dot();
        assert!(
            dot.contains(r#"label="x\"];evil\\ <b>|&amp;#35;""#),
            "{dot}"
        );
        let mermaid = g.to_mermaid();
        for line in mermaid.lines().skip(1) {
            // Only the label's own delimiters.
            assert_eq!(line.matches('"').count(), 2, "{line}");
            assert!(matches!(line.matches('|').count(), 0 | 2), "{line}");
            assert!(!line.contains('<') || line.contains("<br>"), "{line}");
        }
        let svg = g.to_svg(&SvgOptions::default());
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;b&gt;"));
    }

    #[test]
    fn a_long_chain_is_drawn_in_linear_time() {
        // 3000 steps, each matching from the one before: columns 0..3000.
        let names: Vec<String> = (0..3000).map(|i| format!("s{i}")).collect();
        let rules: Vec<String> = (0..3000)
            .map(|i| format!("MATCH * WITH PRODUCTS FROM s{}", i.max(1) - 1))
            .collect();
        let steps: Vec<(&str, Vec<&str>)> = names
            .iter()
            .zip(&rules)
            .enumerate()
            .map(|(i, (n, r))| (n.as_str(), if i == 0 { vec![] } else { vec![r.as_str()] }))
            .collect();
        let steps: Vec<(&str, &[&str])> = steps.iter().map(|(n, r)| (*n, r.as_slice())).collect();
        let g = LayoutGraph::new(&layout(&steps), &BTreeMap::new());
        let started = std::time::Instant::now();
        assert_eq!(g.columns().last(), Some(&2999));
        let svg = g.to_svg(&SvgOptions::default());
        assert_eq!(svg.matches("<g class=\"node").count(), 3000);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn control_characters_are_made_visible() {
        let mut l = layout(&[("a", &[])]);
        l.steps[0].expected_command = vec!["x\n\x1b[31m".into()];
        let mut i = Inspection::new(StepName::new("i").unwrap(), vec!["a\u{7}b".into()]);
        i.expected_materials
            .push(Rule::parse_str("MATCH \"p\nq\" WITH PRODUCTS FROM a").unwrap());
        l.inspect.push(i);
        let g = LayoutGraph::new(&l, &BTreeMap::new());
        for text in [g.to_dot(), g.to_mermaid(), g.to_svg(&SvgOptions::default())] {
            assert!(!text.contains('\u{7}') && !text.contains('\x1b'), "{text}");
        }
        assert!(g.to_dot().contains(r"p\\nq"));
    }
}
