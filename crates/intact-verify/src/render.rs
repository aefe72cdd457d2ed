//! The report as Markdown (for release notes) and as one self-contained
//! HTML page (the summary table and a picture of the chain).
//!
//! Both show what the text form shows: the verdict, the layout's expiry,
//! each subject with its digest and chain, the failure with its code and
//! hint, and every stage. Every string that may come from metadata is
//! first made visible with [`escape`] (no control characters survive),
//! then escaped for the format: backslash escapes and code spans for
//! Markdown (so a name can neither format the notes nor mention anyone),
//! entities for HTML. The HTML page has no script, loads nothing (a
//! Content-Security-Policy says so to the browser) and draws the chain
//! with [`intact_layout::LayoutGraph::to_svg`], the failed stage's step or
//! inspection in red.
//!
//! ```
//! use intact_verify::{Report, Stage, Status, StageResult, REPORT_SCHEMA};
//!
//! let report = Report {
//!     schema: REPORT_SCHEMA,
//!     intact_version: "0.1.0",
//!     verified_at: "2026-01-01T00:00:00Z".into(),
//!     layout: None,
//!     links: Vec::new(),
//!     verified: true,
//!     stages: vec![StageResult {
//!         stage: Stage::LayoutExpiry,
//!         status: Status::Passed,
//!         scope: None,
//!         message: "valid until 2030-01-01T00:00:00Z".into(),
//!         rules: Vec::new(),
//!     }],
//!     warnings: Vec::new(),
//!     subjects: Vec::new(),
//!     key_names: Default::default(),
//!     failure: None,
//! };
//! assert!(report.to_markdown().contains("PASSED"));
//! let html = report.to_html(None);
//! assert!(html.starts_with("<!DOCTYPE html>") && !html.contains("<script"));
//! ```

use std::fmt::Write as _;

use intact_layout::{LayoutGraph, SvgOptions};
use intact_model::escape::escape;

use crate::report::{Report, Stage, Status};
use crate::subjects::{ChainStep, SubjectMatch};

fn visible(s: &str) -> String {
    escape(s).to_string()
}

/// Plain Markdown text: ASCII punctuation that could start formatting, a
/// link, an HTML tag, an entity, math or a mention is backslash-escaped.
fn md_text(s: &str) -> String {
    let mut out = String::new();
    for c in visible(s).chars() {
        if "\\`*_[]<>|~&#$@!".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Markdown code span holding `s` literally (`in_table`: `|` escaped,
/// as GitHub tables need even inside code).
fn md_code(s: &str, in_table: bool) -> String {
    let mut v = visible(s);
    if v.is_empty() {
        return "(empty)".to_string();
    }
    if in_table {
        v = v.replace('|', "\\|");
    }
    let longest = v.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest > 0 || v.starts_with(' ') || v.ends_with(' ') {
        format!("{fence} {v} {fence}")
    } else {
        format!("{fence}{v}{fence}")
    }
}

/// Text for an HTML element or a double-quoted attribute.
fn h(s: &str) -> String {
    let mut out = String::new();
    for c in visible(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn mark(status: Status) -> &'static str {
    match status {
        Status::Passed => "✓",
        Status::Warning => "!",
        Status::Failed => "✗",
    }
}

/// The commit, ref and tree a link's `environment.git` recorded.
fn git_line(git: &serde_json::Value) -> Option<(String, Option<String>, Option<String>)> {
    let field = |k: &str| git.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Some((field("commit")?, field("ref"), field("tree")))
}

impl Report {
    /// What the layout-expiry stage found (`valid until …`), or why it
    /// failed; `None` when verification stopped before it.
    pub fn layout_expiry(&self) -> Option<&str> {
        self.stages
            .iter()
            .find(|s| s.stage == Stage::LayoutExpiry)
            .map(|s| s.message.as_str())
    }

    /// The report as Markdown for release notes: the verdict, the layout's
    /// expiry, each subject with its digest and chain, the failure with its
    /// code and hint, the stage table and the warnings.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "## Supply chain verification: {}\n",
            if self.verified {
                "✅ PASSED"
            } else {
                "❌ FAILED"
            }
        );
        if let Some(expiry) = self.layout_expiry() {
            let _ = writeln!(out, "**Layout expiry:** {}\n", md_text(expiry));
        }
        if let Some(l) = &self.layout {
            let signers: Vec<String> = l
                .signers
                .iter()
                .map(|k| md_code(&self.key_label(k), false))
                .collect();
            let _ = writeln!(
                out,
                "**Layout:** signed bytes {}, signed by {}\n",
                md_code(&format!("sha256:{}", l.signed_sha256), false),
                signers.join(", ")
            );
        }
        if let Some(f) = &self.failure {
            let _ = writeln!(out, "### Failure\n");
            let _ = writeln!(
                out,
                "**{}** at stage {}\n",
                md_text(&f.message),
                md_text(f.stage.label())
            );
            let _ = writeln!(out, "- code: {}", md_code(f.kind.code(), false));
            if let Some(scope) = &f.scope {
                let _ = writeln!(out, "- where: {}", md_code(scope, false));
            }
            if let Some(rule) = &f.rule {
                let _ = writeln!(out, "- rule: {}", md_code(rule, false));
            }
            for a in &f.artifacts {
                let _ = writeln!(
                    out,
                    "- artifact {}: {}",
                    md_code(&a.name, false),
                    md_text(&a.note)
                );
                if a.expected.is_some() || a.actual.is_some() {
                    let d = |x: &Option<intact_model::DigestSet>| {
                        x.as_ref()
                            .map_or_else(|| "(absent)".to_string(), ToString::to_string)
                    };
                    let _ = writeln!(out, "  - expected: {}", md_code(&d(&a.expected), false));
                    let _ = writeln!(out, "  - actual: {}", md_code(&d(&a.actual), false));
                }
            }
            if !f.stderr.is_empty() {
                let _ = writeln!(out, "- standard error (last lines):");
                for line in &f.stderr {
                    let _ = writeln!(out, "  - {}", md_code(line, false));
                }
            }
            let _ = writeln!(out, "- hint: {}\n", md_text(&f.hint));
        }
        if !self.subjects.is_empty() && self.failure.is_none() {
            let _ = writeln!(out, "### Artifacts\n");
            for m in &self.subjects {
                md_subject(&mut out, self, m);
            }
        }
        let _ = writeln!(out, "### Stages\n");
        let _ = writeln!(out, "| | stage | step | result |");
        let _ = writeln!(out, "|---|---|---|---|");
        for s in &self.stages {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                mark(s.status),
                s.stage.label(),
                s.scope
                    .as_deref()
                    .map_or_else(String::new, |x| md_code(x, true)),
                md_text(&s.message)
            );
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out, "\n### Warnings\n");
            for w in &self.warnings {
                match &w.scope {
                    Some(scope) => {
                        let _ =
                            writeln!(out, "- {}: {}", md_code(scope, false), md_text(&w.message));
                    }
                    None => {
                        let _ = writeln!(out, "- {}", md_text(&w.message));
                    }
                }
            }
        }
        out
    }

    /// The report as one self-contained HTML page: no script, nothing
    /// loaded from anywhere, the chain drawn inline as SVG from `graph`
    /// (the verified layout's [`LayoutGraph`]) with the failed stage's
    /// step or inspection in red and those whose rules held in green.
    pub fn to_html(&self, graph: Option<&LayoutGraph>) -> String {
        let verdict = if self.verified { "PASSED" } else { "FAILED" };
        let mut out = String::new();
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
        out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        let _ = writeln!(out, "<title>intact verification {verdict}</title>");
        out.push_str(STYLE);
        out.push_str("</head>\n<body>\n");
        let class = if self.verified { "pass" } else { "fail" };
        let sign = if self.verified { "✓" } else { "✗" };
        let _ = writeln!(
            out,
            "<header class=\"verdict {class}\">{sign} supply chain verification {verdict}</header>"
        );
        if let Some(expiry) = self.layout_expiry() {
            let _ = writeln!(
                out,
                "<p class=\"expiry\"><b>Layout expiry:</b> {}</p>",
                h(expiry)
            );
        }
        if let Some(l) = &self.layout {
            let signers: Vec<String> = l
                .signers
                .iter()
                .map(|k| format!("<code>{}</code>", h(&self.key_label(k))))
                .collect();
            let _ = writeln!(
                out,
                "<p class=\"layout\"><b>Layout:</b> signed bytes <code>sha256:{}</code>, signed by {}</p>",
                h(&l.signed_sha256),
                signers.join(", ")
            );
        }
        if let Some(graph) = graph {
            let options = SvgOptions {
                failed: self.failure.as_ref().and_then(|f| f.scope.clone()),
                passed: self
                    .stages
                    .iter()
                    .filter(|s| {
                        s.status != Status::Failed
                            && matches!(s.stage, Stage::StepRules | Stage::InspectionRules)
                    })
                    .filter_map(|s| s.scope.clone())
                    .collect(),
            };
            out.push_str("<section class=\"chain\">\n<h2>Supply chain</h2>\n");
            out.push_str(&graph.to_svg(&options));
            out.push_str("<p class=\"legend\">Boxes are steps (who signs, the threshold), rounded boxes inspections; an arrow carries the artifacts a <code>MATCH</code> rule takes from the step it starts at (dashed: a product rule). Green: its rules held; red: where verification failed.</p>\n</section>\n");
        }
        if let Some(f) = &self.failure {
            out.push_str("<section class=\"failure\">\n<h2>Failure</h2>\n");
            let _ = writeln!(
                out,
                "<p class=\"message\">{}</p>\n<table class=\"facts\">",
                h(&f.message)
            );
            let _ = writeln!(
                out,
                "<tr><th>stage</th><td>{}</td></tr>",
                h(f.stage.label())
            );
            let _ = writeln!(
                out,
                "<tr><th>code</th><td><code>{}</code></td></tr>",
                h(f.kind.code())
            );
            if let Some(scope) = &f.scope {
                let _ = writeln!(
                    out,
                    "<tr><th>where</th><td><code>{}</code></td></tr>",
                    h(scope)
                );
            }
            if let Some(rule) = &f.rule {
                let _ = writeln!(
                    out,
                    "<tr><th>rule</th><td><code>{}</code></td></tr>",
                    h(rule)
                );
            }
            let _ = writeln!(
                out,
                "<tr><th>hint</th><td>{}</td></tr>\n</table>",
                h(&f.hint)
            );
            if !f.artifacts.is_empty() {
                out.push_str("<table class=\"artifacts\">\n<tr><th>artifact</th><th>expected</th><th>actual</th><th>note</th></tr>\n");
                for a in &f.artifacts {
                    let d = |x: &Option<intact_model::DigestSet>| {
                        x.as_ref()
                            .map_or_else(|| "(absent)".to_string(), ToString::to_string)
                    };
                    let _ = writeln!(
                        out,
                        "<tr><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                        h(&a.name),
                        h(&d(&a.expected)),
                        h(&d(&a.actual)),
                        h(&a.note)
                    );
                }
                out.push_str("</table>\n");
            }
            if !f.stderr.is_empty() {
                out.push_str("<p>Standard error (last lines):</p>\n<pre>");
                for line in &f.stderr {
                    let _ = writeln!(out, "{}", h(line));
                }
                out.push_str("</pre>\n");
            }
            out.push_str("</section>\n");
        }
        if !self.subjects.is_empty() && self.failure.is_none() {
            out.push_str("<section class=\"subjects\">\n<h2>Artifacts</h2>\n");
            for m in &self.subjects {
                html_subject(&mut out, self, m);
            }
            out.push_str("</section>\n");
        }
        out.push_str("<section class=\"stages\">\n<h2>Stages</h2>\n<table>\n<tr><th></th><th>stage</th><th>step</th><th>result</th></tr>\n");
        for s in &self.stages {
            let class = match s.status {
                Status::Passed => "passed",
                Status::Warning => "warning",
                Status::Failed => "failed",
            };
            let _ = writeln!(
                out,
                "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                mark(s.status),
                h(s.stage.label()),
                s.scope
                    .as_deref()
                    .map_or_else(String::new, |x| format!("<code>{}</code>", h(x))),
                h(&s.message)
            );
        }
        out.push_str("</table>\n</section>\n");
        if !self.warnings.is_empty() {
            out.push_str("<section class=\"warnings\">\n<h2>Warnings</h2>\n<ul>\n");
            for w in &self.warnings {
                let scope = w
                    .scope
                    .as_deref()
                    .map_or_else(String::new, |x| format!("<code>{}</code>: ", h(x)));
                let _ = writeln!(out, "<li>{scope}{}</li>", h(&w.message));
            }
            out.push_str("</ul>\n</section>\n");
        }
        let _ = writeln!(
            out,
            "<footer>intact verify report, schema <code>{}</code></footer>\n</body>\n</html>",
            h(self.schema)
        );
        out
    }
}

fn md_subject(out: &mut String, r: &Report, m: &SubjectMatch) {
    let _ = writeln!(out, "**{}**\n", md_code(&m.name, false));
    let _ = writeln!(out, "- digest: {}", md_code(&m.digest, false));
    let _ = writeln!(
        out,
        "- product {} of step {}",
        md_code(&m.product, false),
        md_code(&m.step, false)
    );
    let _ = writeln!(out, "- chain:");
    for (i, c) in m.chain.iter().enumerate() {
        let _ = writeln!(out, "  {}. {}", i + 1, md_chain_step(r, c));
    }
    out.push('\n');
}

fn md_chain_step(r: &Report, c: &ChainStep) -> String {
    let signers: Vec<String> = c
        .signers
        .iter()
        .map(|k| md_code(&r.key_label(k), false))
        .collect();
    let mut line = format!(
        "{}, signed by {}",
        md_code(&c.step, false),
        if signers.is_empty() {
            "nobody".to_string()
        } else {
            signers.join(", ")
        }
    );
    if !c.command.is_empty() {
        let _ = write!(line, "; ran {}", md_code(&c.command.join(" "), false));
    }
    if let Some((commit, r, tree)) = c.git.as_ref().and_then(git_line) {
        let _ = write!(line, "; git commit {}", md_code(&commit, false));
        if let Some(r) = r {
            let _ = write!(line, " on {}", md_code(&r, false));
        }
        if let Some(t) = tree {
            let _ = write!(line, ", tree {}", md_code(&t, false));
        }
    }
    line
}

fn html_subject(out: &mut String, r: &Report, m: &SubjectMatch) {
    let _ = writeln!(
        out,
        "<table class=\"subject\">\n<tr><th>artifact</th><td><code>{}</code></td></tr>\n<tr><th>digest</th><td><code>{}</code></td></tr>\n<tr><th>product</th><td><code>{}</code> of step <code>{}</code></td></tr>\n</table>",
        h(&m.name),
        h(&m.digest),
        h(&m.product),
        h(&m.step)
    );
    out.push_str("<ol class=\"chain-steps\">\n");
    for c in &m.chain {
        let signers: Vec<String> = c
            .signers
            .iter()
            .map(|k| format!("<code>{}</code>", h(&r.key_label(k))))
            .collect();
        let _ = write!(
            out,
            "<li><b>{}</b>, signed by {}",
            h(&c.step),
            if signers.is_empty() {
                "nobody".to_string()
            } else {
                signers.join(", ")
            }
        );
        if !c.command.is_empty() {
            let _ = write!(out, "<br>ran <code>{}</code>", h(&c.command.join(" ")));
        }
        if let Some((commit, r, tree)) = c.git.as_ref().and_then(git_line) {
            let _ = write!(out, "<br>git commit <code>{}</code>", h(&commit));
            if let Some(r) = r {
                let _ = write!(out, " on <code>{}</code>", h(&r));
            }
            if let Some(t) = tree {
                let _ = write!(out, ", tree <code>{}</code>", h(&t));
            }
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ol>\n");
}

const STYLE: &str = "<style>
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #222; background: #fff; }
h2 { font-size: 1.15em; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 28px; }
code, pre { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 0.92em; overflow-wrap: anywhere; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; }
.verdict { font-size: 1.5em; font-weight: bold; padding: 12px 16px; border-radius: 6px; }
.verdict.pass { background: #e7f4e4; color: #2c6b04; border: 2px solid #4e9a06; }
.verdict.fail { background: #fde2e2; color: #a40000; border: 2px solid #cc0000; }
.chain svg { max-width: 100%; height: auto; border: 1px solid #eee; border-radius: 6px; }
.legend { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { text-align: left; vertical-align: top; padding: 4px 10px; border-bottom: 1px solid #eee; }
.stages tr.failed td { background: #fde2e2; color: #a40000; }
.stages tr.warning td { background: #fff5d6; }
.stages tr.passed td:first-child { color: #4e9a06; }
.failure { border-left: 4px solid #cc0000; padding-left: 12px; }
.failure .message { font-weight: bold; color: #a40000; }
.chain-steps li { margin: 4px 0; }
footer { margin-top: 32px; color: #777; font-size: 0.85em; }
</style>
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Failure, FailureKind, StageResult, REPORT_SCHEMA};

    fn hostile_report() -> Report {
        let evil = "x</code><script>alert(1)</script>|@alice [l](http://e) `tick`\n\x1b[32m";
        let mut failure = Failure::new(
            FailureKind::StepRule,
            Some(evil.to_string()),
            format!("rule failed for {evil}"),
            "check it",
        );
        failure.rule = Some(format!("MATCH {evil} WITH PRODUCTS FROM a"));
        Report {
            schema: REPORT_SCHEMA,
            intact_version: "0.0.0",
            verified_at: "2026-01-01T00:00:00Z".into(),
            layout: None,
            links: Vec::new(),
            verified: false,
            stages: vec![StageResult {
                stage: Stage::StepRules,
                status: Status::Failed,
                scope: Some(evil.to_string()),
                message: evil.to_string(),
                rules: Vec::new(),
            }],
            warnings: Vec::new(),
            subjects: Vec::new(),
            key_names: Default::default(),
            failure: Some(failure),
        }
    }

    #[test]
    fn key_names_from_a_layout_are_escaped_in_every_form() {
        let keyid = "ab".repeat(32);
        let evil = "<script>x</script>`@bob\x1b[2J";
        let mut r = hostile_report();
        r.failure = None;
        r.verified = true;
        r.layout = Some(crate::report::LayoutRecord {
            signed_sha256: "00".repeat(32),
            signers: vec![keyid.clone()],
            expires: None,
        });
        r.key_names.insert(keyid.clone(), evil.to_string());
        assert_eq!(r.key_label(&keyid), format!("{evil} (abababab)"));
        let html = r.to_html(None);
        assert!(html.contains("&lt;script&gt;x"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        let md = r.to_markdown();
        assert!(md.contains("abababab"), "{md}");
        assert!(!md.contains('\x1b'), "{md}");
    }

    #[test]
    fn html_escapes_everything_from_metadata() {
        let html = hostile_report().to_html(None);
        assert!(!html.contains("<script"), "{html}");
        // The name cannot close the element it is shown in.
        assert_eq!(
            html.matches("<code>").count(),
            html.matches("</code>").count()
        );
        assert!(html.contains("&lt;/code&gt;"));
        assert!(!html.contains('\x1b'));
        assert!(html.contains("&lt;script&gt;"));
    }

    #[test]
    fn markdown_escapes_everything_from_metadata() {
        let md = hostile_report().to_markdown();
        assert!(!md.contains('\x1b'));
        // In plain text (the failure message), nothing is live; inside
        // code spans the text is literal anyway.
        let message = md.lines().find(|l| l.starts_with("**")).unwrap();
        for special in ['<', '[', '@', '`', '|'] {
            for (i, _) in message.match_indices(special) {
                assert_eq!(message.get(i - 1..i), Some("\\"), "{message}");
            }
        }
        for escaped in [r"\<script\>", r"\@alice", r"\[l\]", r"\`tick\`"] {
            assert!(message.contains(escaped), "{escaped} in {message}");
        }
        // Every table row keeps its four cells.
        for row in md.lines().filter(|l| l.starts_with("| ✗")) {
            let cells = row.replace("\\|", "").matches('|').count();
            assert_eq!(cells, 5, "{row}");
        }
    }

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(md_code("a`b", false), "`` a`b ``");
        assert_eq!(md_code("ab", false), "`ab`");
        assert_eq!(md_code("a|b", true), "`a\\|b`");
    }
}
