//! The SVG drawing of a [`LayoutGraph`]: a small layered layout of our
//! own (steps are usually a short chain), so no program runs at draw time.
//!
//! Nodes stand in columns by [`LayoutGraph::columns`], in layout order
//! within a column, each column centred vertically. An edge to the next
//! column is a curve between the facing sides, labelled in the gap (the
//! gap widens to fit its labels); any other edge (skipping columns,
//! within a column, backwards, or to itself) is an arc over the top, one
//! lane per arc, labelled at its apex. Text is monospace so that widths
//! can be estimated from character counts.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::graph::{node_lines, truncate, LayoutGraph, NodeKind, RuleSide, SvgOptions};

const CHAR_W: f64 = 7.3;
const LINE_H: f64 = 16.0;
const PAD: f64 = 8.0;
const MARGIN: f64 = 16.0;
const ROW_GAP: f64 = 28.0;
const MIN_COL_GAP: f64 = 110.0;
const LANE_H: f64 = 34.0;
const MIN_NODE_W: f64 = 96.0;

/// Text safe inside an XML element or a double-quoted attribute. Control
/// characters were made visible before (`node_lines`, `escape`); the two
/// non-characters XML forbids become U+FFFD.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn visible(s: &str) -> String {
    intact_model::escape::escape(s).to_string()
}

struct Placed {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    lines: Vec<String>,
}

struct Group {
    from: usize,
    to: usize,
    side: RuleSide,
    labels: Vec<String>,
}

impl Group {
    /// The label as drawn: its patterns, `products: ` first for a product
    /// rule, cut to [`crate::graph::LINE_CHARS`].
    fn label(&self) -> String {
        let prefix = match self.side {
            RuleSide::Materials => "",
            RuleSide::Products => "products: ",
        };
        truncate(&format!("{prefix}{}", self.labels.join(", ")))
    }
}

/// `x` with at most one decimal, for stable output.
fn n(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn width_of(text: &str) -> f64 {
    // Character counts are small (lines are truncated): no precision loss.
    #[allow(clippy::cast_precision_loss)]
    let chars = text.chars().count() as f64;
    chars * CHAR_W
}

pub(crate) fn render(graph: &LayoutGraph, options: &SvgOptions) -> String {
    let columns = graph.columns();
    let n_cols = columns.iter().copied().max().map_or(0, |m| m + 1);

    // Edges grouped by (from, to, side), in first-appearance order.
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of: HashMap<(usize, usize, RuleSide), usize> = HashMap::new();
    for (e, ends) in graph.edges.iter().zip(graph.edge_indices()) {
        let Some((from, to)) = ends else {
            continue;
        };
        let label = truncate(&visible(&e.label));
        match group_of
            .get(&(from, to, e.rule_side))
            .and_then(|&i| groups.get_mut(i))
        {
            Some(g) => {
                // A few labels per edge are enough to read; the rest are
                // in the layout.
                if g.labels.len() < 4 && !g.labels.contains(&label) {
                    g.labels.push(label);
                }
            }
            None => {
                group_of.insert((from, to, e.rule_side), groups.len());
                groups.push(Group {
                    from,
                    to,
                    side: e.rule_side,
                    labels: vec![label],
                });
            }
        }
    }
    let col_of = |i: usize| columns.get(i).copied().unwrap_or(0);
    let adjacent = |g: &Group| g.from != g.to && col_of(g.to) == col_of(g.from) + 1;

    // Node sizes.
    let mut placed: Vec<Placed> = graph
        .nodes
        .iter()
        .map(|node| {
            let lines = node_lines(node);
            let widest = lines.iter().map(|l| width_of(l)).fold(0.0, f64::max);
            #[allow(clippy::cast_precision_loss)] // a handful of lines
            let h = lines.len() as f64 * LINE_H + 2.0 * PAD;
            Placed {
                x: 0.0,
                y: 0.0,
                w: (widest + 2.0 * PAD).max(MIN_NODE_W),
                h,
                lines,
            }
        })
        .collect();

    // Column widths, gaps wide enough for the labels drawn in them.
    let mut col_w = vec![0.0f64; n_cols];
    let mut col_h = vec![0.0f64; n_cols];
    for (i, p) in placed.iter().enumerate() {
        let c = col_of(i);
        if let (Some(w), Some(h)) = (col_w.get_mut(c), col_h.get_mut(c)) {
            *w = w.max(p.w);
            if *h > 0.0 {
                *h += ROW_GAP;
            }
            *h += p.h;
        }
    }
    let mut gap = vec![MIN_COL_GAP; n_cols.saturating_sub(1)];
    for g in groups.iter().filter(|g| adjacent(g)) {
        if let Some(w) = gap.get_mut(col_of(g.from)) {
            *w = w.max(width_of(&g.label()) + 24.0);
        }
    }
    let arcs: Vec<usize> = (0..groups.len())
        .filter(|&i| groups.get(i).is_some_and(|g| !adjacent(g)))
        .collect();
    #[allow(clippy::cast_precision_loss)] // a handful of arcs
    let top = MARGIN + arcs.len() as f64 * LANE_H + if arcs.is_empty() { 0.0 } else { 12.0 };
    let content_h = col_h.iter().copied().fold(0.0, f64::max);

    let mut col_x = Vec::with_capacity(n_cols);
    let mut x = MARGIN;
    for c in 0..n_cols {
        col_x.push(x);
        x += col_w.get(c).copied().unwrap_or(0.0) + gap.get(c).copied().unwrap_or(0.0);
    }
    let mut next_y: Vec<f64> = col_h.iter().map(|h| top + (content_h - h) / 2.0).collect();
    for (i, p) in placed.iter_mut().enumerate() {
        let c = col_of(i);
        let (cx, cw) = (
            col_x.get(c).copied().unwrap_or(MARGIN),
            col_w.get(c).copied().unwrap_or(p.w),
        );
        p.x = cx + (cw - p.w) / 2.0;
        if let Some(y) = next_y.get_mut(c) {
            p.y = *y;
            *y += p.h + ROW_GAP;
        }
    }
    let width = (x + MARGIN).max(2.0 * MARGIN + MIN_NODE_W);
    let height = top + content_h + MARGIN;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"layout-graph\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"12\">",
        w = n(width),
        h = n(height)
    );
    out.push_str("<title>The layout's steps and inspections, and the artifacts that flow between them</title>\n");
    out.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>\n");

    // Edges first, nodes drawn over them.
    let mut lane = 0usize;
    for g in &groups {
        let (Some(a), Some(b)) = (placed.get(g.from), placed.get(g.to)) else {
            continue;
        };
        let dash = match g.side {
            RuleSide::Materials => "",
            RuleSide::Products => " stroke-dasharray=\"6 4\"",
        };
        let label = g.label();
        let (path, lx, ly) = if adjacent(g) {
            let (x1, y1) = (a.x + a.w, a.y + a.h / 2.0);
            let (x2, y2) = (b.x, b.y + b.h / 2.0);
            let mx = (x1 + x2) / 2.0;
            (
                format!(
                    "M{},{} C{},{} {},{} {},{}",
                    n(x1),
                    n(y1),
                    n(mx),
                    n(y1),
                    n(mx),
                    n(y2),
                    n(x2),
                    n(y2)
                ),
                mx,
                (y1 + y2) / 2.0 - 6.0,
            )
        } else {
            lane += 1;
            #[allow(clippy::cast_precision_loss)] // a handful of arcs
            let apex = top - 12.0 - (lane - 1) as f64 * LANE_H;
            let (mut x1, y1) = (a.x + a.w / 2.0, a.y);
            let (mut x2, y2) = (b.x + b.w / 2.0, b.y);
            if g.from == g.to {
                x1 = a.x + a.w * 0.3;
                x2 = a.x + a.w * 0.7;
            }
            let c = (8.0 * apex - y1 - y2) / 6.0;
            let third = (x2 - x1) / 3.0;
            (
                format!(
                    "M{},{} C{},{} {},{} {},{}",
                    n(x1),
                    n(y1),
                    n(x1 + third * 0.2),
                    n(c),
                    n(x2 - third * 0.2),
                    n(c),
                    n(x2),
                    n(y2)
                ),
                (x1 + x2) / 2.0,
                apex - 4.0,
            )
        };
        let from = xml_escape(&visible(graph.nodes.get(g.from).map_or("", |x| &x.name)));
        let to = xml_escape(&visible(graph.nodes.get(g.to).map_or("", |x| &x.name)));
        let _ = writeln!(
            out,
            "<g class=\"edge\"><title>{from} → {to}</title><path d=\"{path}\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.4\"{dash} marker-end=\"url(#arrow)\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#333\" stroke=\"#fff\" stroke-width=\"4\" paint-order=\"stroke\">{}</text></g>",
            n(lx),
            n(ly),
            xml_escape(&label)
        );
    }

    for (i, (node, p)) in graph.nodes.iter().zip(&placed).enumerate() {
        let name = &node.name;
        let failed = options
            .failed
            .as_deref()
            .is_some_and(|f| f == name || f.split('/').next() == Some(name.as_str()));
        let passed = !failed && options.passed.iter().any(|x| x == name);
        let kind = match node.kind {
            NodeKind::Step => "step",
            NodeKind::Inspection => "inspection",
            NodeKind::Unknown => "unknown",
        };
        let state = if failed {
            " failed"
        } else if passed {
            " passed"
        } else if !node.open.is_empty() {
            " open"
        } else {
            ""
        };
        let (fill, stroke, width) = if failed {
            ("#fde2e2", "#cc0000", 3.0)
        } else if passed {
            ("#e7f4e4", "#4e9a06", 1.5)
        } else if !node.open.is_empty() {
            ("#fff1f0", "#cc0000", 2.5)
        } else {
            match node.kind {
                NodeKind::Step => ("#eef3fb", "#3465a4", 1.5),
                NodeKind::Inspection => ("#f4eefa", "#75507b", 1.5),
                NodeKind::Unknown => ("#f6f6f6", "#888888", 1.5),
            }
        };
        let rx = if node.kind == NodeKind::Inspection {
            14
        } else {
            4
        };
        let dash = if node.kind == NodeKind::Unknown {
            " stroke-dasharray=\"5 4\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<g class=\"node {kind}{state}\" id=\"node-{i}\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{rx}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{width}\"{dash}/>",
            xml_escape(&visible(name)),
            n(p.x),
            n(p.y),
            n(p.w),
            n(p.h)
        );
        for (k, line) in p.lines.iter().enumerate() {
            #[allow(clippy::cast_precision_loss)] // a handful of lines
            let y = p.y + PAD + LINE_H * (k as f64 + 1.0) - 4.0;
            let weight = if k == 0 { " font-weight=\"bold\"" } else { "" };
            let color = if failed && k == 0 { "#a40000" } else { "#222" };
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{color}\"{weight}>{}</text>",
                n(p.x + p.w / 2.0),
                n(y),
                xml_escape(line)
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}
