//! `intact layout graph`: the demo layout as Graphviz, Mermaid and SVG
//! (issue 16 item 5).

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn intact(dir: &Path, args: &[&str], stdin: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_intact"));
    cmd.args(args).current_dir(dir);
    if let Some(file) = stdin {
        // output_bounded sets stdin to null: feed the file through a shell.
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg("exec \"$0\" \"$@\" < \"$INTACT_STDIN\"")
            .arg(env!("CARGO_BIN_EXE_intact"))
            .args(args)
            .env("INTACT_STDIN", file)
            .current_dir(dir);
        return intact_tests::output_bounded(&mut sh, Duration::from_secs(60), || {});
    }
    intact_tests::output_bounded(&mut cmd, Duration::from_secs(120), || {})
}

/// The demo's directory (once per test process): D/final/root.layout and
/// D/demo.yaml.
fn demo() -> PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = intact(dir.path(), &["demo", "--dir", "d"], None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            intact_tests::output_text(&out)
        );
        dir
    });
    dir.path().join("d")
}

fn graph(args: &[&str]) -> String {
    let mut all = vec!["layout", "graph"];
    all.extend_from_slice(args);
    let out = intact(&demo(), &all, None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        intact_tests::output_text(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    // Short keyids, also right after a dot label's `\n`.
    s.add_filter(r"(\\n|\b)[0-9a-f]{8}\b", "${1}[ID8]");
    s
}

#[test]
fn the_signed_demo_layout_as_dot() {
    let dot = graph(&["final/root.layout"]);
    settings().bind(|| insta::assert_snapshot!("graph_dot", dot));
}

#[test]
fn the_yaml_demo_layout_as_mermaid_names_the_functionaries() {
    let mermaid = graph(&["demo.yaml", "--format", "mermaid"]);
    assert!(mermaid.contains("bob "), "{mermaid}");
    settings().bind(|| insta::assert_snapshot!("graph_mermaid", mermaid));
}

#[test]
fn the_svg_is_xml_with_one_node_per_step_and_inspection() {
    let svg = graph(&["final/root.layout", "--format", "svg"]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let nodes: Vec<String> = doc
        .descendants()
        .filter(|n| {
            n.attribute("class")
                .is_some_and(|c| c.split(' ').next() == Some("node"))
        })
        .map(|n| {
            n.children()
                .find(|c| c.has_tag_name("title"))
                .and_then(|t| t.text())
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(nodes, ["clone", "update-version", "package", "untar"]);
    let edges = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("edge"))
        .count();
    assert_eq!(edges, 4);
}

#[test]
fn standard_input_and_bad_input() {
    let d = demo();
    let out = intact(
        &d,
        &["layout", "graph", "-", "--format", "dot"],
        Some(&d.join("final/root.layout")),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        intact_tests::output_text(&out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"clone\" -> \"update-version\""));

    // A link is not a layout; a missing file names itself.
    let link = std::fs::read_dir(d.join("work"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "link"))
        .unwrap();
    let out = intact(&d, &["layout", "graph", link.to_str().unwrap()], None);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        intact_tests::output_text(&out)
    );
    let out = intact(&d, &["layout", "graph", "missing.layout"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.layout"));

    // A YAML layout with errors is not drawn.
    let bad = d.join("bad.yaml");
    std::fs::write(
        &bad,
        "expires: 1y\nsteps:\n  - name: a\n    functionaries: [nobody]\n",
    )
    .unwrap();
    let out = intact(&d, &["layout", "graph", "bad.yaml"], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        intact_tests::output_text(&out)
    );
    assert!(out.stdout.is_empty());
}

/// `--coverage` marks the open hops `intact layout coverage` finds: on
/// the weak layout of examples/weak-layout, package (whose materials are
/// `ALLOW *`) is drawn red with its open rules, in every format; the
/// plain picture is unchanged.
#[test]
fn coverage_marks_the_open_hops_of_the_weak_layout() {
    let dir = tempfile::tempdir().unwrap();
    let weak = intact_tests::repo_root().join("examples/weak-layout/layout.yaml");
    let out = intact(
        dir.path(),
        &[
            "demo",
            "--dir",
            "w",
            "--layout",
            &weak.display().to_string(),
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        intact_tests::output_text(&out)
    );
    let w = dir.path().join("w");
    let draw = |args: &[&str]| {
        let mut all = vec!["layout", "graph", "demo.yaml"];
        all.extend_from_slice(args);
        let out = intact(&w, &all, None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            intact_tests::output_text(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let dot = draw(&["--coverage"]);
    assert!(dot.contains("open: materials ALLOW *"), "{dot}");
    assert!(!draw(&[]).contains("open:"));
    settings().bind(|| insta::assert_snapshot!("graph_weak_coverage_dot", dot));
    let mermaid = draw(&["--coverage", "--format", "mermaid"]);
    settings().bind(|| insta::assert_snapshot!("graph_weak_coverage_mermaid", mermaid));
    let svg = draw(&["--coverage", "--format", "svg"]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let open: Vec<String> = doc
        .descendants()
        .filter(|n| n.attribute("class").is_some_and(|c| c.ends_with(" open")))
        .filter_map(|n| {
            Some(
                n.children()
                    .find(|c| c.has_tag_name("title"))?
                    .text()?
                    .to_string(),
            )
        })
        .collect();
    assert!(open.contains(&"package".to_string()), "{open:?}");
}
