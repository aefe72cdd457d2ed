//! Every `intact ...` command shown in the README, docs/, examples/ and the
//! layout templates must be one this CLI accepts: the docs are tested
//! against the real argument parser, so a renamed flag breaks the build
//! rather than the reader. (What the commands do is exercised by the
//! integration tests: tests/chain.rs, tests/git.rs, tests/examples.rs.)

use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::Parser;

use crate::Cli;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut out = vec![root.join("README.md")];
    for dir in ["docs", "layouts", "examples"] {
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read docs dir").flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p
                    .extension()
                    .is_some_and(|x| x == "md" || x == "yaml" || x == "yml")
                {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// Command lines in a document: lines of fenced blocks and YAML comments
/// (with `$ ` prompts removed and `\` continuations joined), and inline
/// `` `intact ...` `` spans.
fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut fenced = false;
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        i += 1;
        let t = line.trim();
        if t.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        for span in t.split('`').skip(1).step_by(2) {
            if span.starts_with("intact ") {
                out.push(span.to_string());
            }
        }
        let body = t.trim_start_matches('#').trim().trim_start_matches("$ ");
        let is_cmd = body.starts_with("intact ") || body.starts_with("cargo run --release -- ");
        if (fenced || t.starts_with('#')) && is_cmd && !t.contains('`') {
            let mut cmd = body.to_string();
            while cmd.ends_with('\\') {
                cmd.pop();
                let next = lines.get(i).map_or("", |l| l.trim());
                i += 1;
                cmd.push(' ');
                cmd.push_str(next.trim_start_matches('#').trim());
            }
            out.push(cmd);
        }
    }
    out
}

/// A synopsis made concrete: `[--x V]` -> `--x V`, `a|b` -> `a`,
/// `VALUE...` -> `VALUE`, comments, a `> FILE` redirection and
/// `cargo run --release --` dropped.
fn argv(cmd: &str) -> Vec<String> {
    let cmd = cmd.split(" # ").next().unwrap_or(cmd);
    let cmd = cmd.split(" > ").next().unwrap_or(cmd);
    let cmd = cmd.replacen("cargo run --release -- ", "intact ", 1);
    let cleaned: String = cmd.chars().filter(|c| !matches!(c, '[' | ']')).collect();
    let words = intact_model::split_like_python(&cleaned).unwrap_or_default();
    words
        .into_iter()
        .filter(|w| w != "..." && w != "/")
        .map(|w| {
            let w = w.trim_end_matches("...").to_string();
            match w.split_once('|') {
                Some((first, _)) if !w.starts_with('-') || first.starts_with("--") => {
                    first.to_string()
                }
                _ => w,
            }
        })
        .collect()
}

#[test]
fn every_documented_command_parses() {
    let mut checked = 0;
    let mut bad = Vec::new();
    for file in files() {
        let text = std::fs::read_to_string(&file).expect("read doc");
        for cmd in commands(&text) {
            let args = argv(&cmd);
            checked += 1;
            if let Err(e) = Cli::try_parse_from(&args) {
                // A fragment such as `intact record start` in prose may
                // leave out required flags; anything else is a doc bug.
                if !matches!(
                    e.kind(),
                    ErrorKind::MissingRequiredArgument
                        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                ) {
                    bad.push(format!("{}: `{cmd}`: {}", file.display(), e.kind()));
                }
            }
        }
    }
    assert!(checked > 20, "found only {checked} documented commands");
    assert!(
        bad.is_empty(),
        "documented commands the CLI rejects:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_extractor_sees_what_the_docs_show() {
    let doc = "Run `intact key generate a` then:\n```sh\n$ intact verify -l x \\\n    -k y\n```\n# intact layout build demo.yaml --key a.pem\n";
    assert_eq!(
        commands(doc),
        [
            "intact key generate a",
            "intact verify -l x  -k y",
            "intact layout build demo.yaml --key a.pem"
        ]
    );
    assert_eq!(
        argv("intact verify [--format text|json] --param N=V... # c"),
        ["intact", "verify", "--format", "text", "--param", "N=V"]
    );
    // A misspelt flag is caught.
    assert!(Cli::try_parse_from(argv("intact verify --layuot x -k y")).is_err());
}
