//! `-v` on `run`, `record` and `verify` (issue #15 item 4): every
//! recorded artifact with its digests, and under each step and inspection
//! every artifact rule with the artifacts it consumed (bounded), names
//! escaped for the terminal.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn intact(dir: &Path, args: &[&str]) -> Output {
    intact_tests::output_bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env_remove("INTACT_KEY_PASSWORD")
            .env_remove("INTACT_KEY"),
        Duration::from_secs(120),
        || {},
    )
}

fn text(o: &Output) -> String {
    intact_tests::output_text(o)
}

/// Keyids and dates replaced: they change run to run.
fn stable(s: &str) -> String {
    let rules = [
        (r"\b[0-9a-f]{8}\.link\b", "[ID8].link"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[DATE]"),
    ];
    rules.iter().fold(s.to_string(), |acc, (re, to)| {
        regex::Regex::new(re)
            .unwrap()
            .replace_all(&acc, *to)
            .into_owned()
    })
}

const LAYOUT: &str = r#"
expires: 30d
keys:
  dev: dev.pub
steps:
  - name: fetch
    functionaries: [dev]
    expected_materials: [DISALLOW *]
    expected_products: [CREATE src/*, DISALLOW *]
  - name: build
    functionaries: [dev]
    expected_materials: [MATCH src/* WITH PRODUCTS FROM fetch, DISALLOW *]
    expected_products: [CREATE out.txt, DISALLOW *]
inspect:
  - name: check
    run: test -f out.txt
    expected_materials: [MATCH out.txt WITH PRODUCTS FROM build, REQUIRE layout.yaml, ALLOW *]
    expected_products: [ALLOW *]
"#;

#[test]
fn verbose_lists_artifacts_and_what_each_rule_consumed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir_all(d.join("src")).unwrap();
    for i in 0..11 {
        std::fs::write(d.join(format!("src/f{i:02}.c")), format!("int f{i};\n")).unwrap();
    }
    // A name that would clear the screen if printed raw.
    std::fs::write(d.join("src/\u{1b}[2Jevil.c"), "evil\n").unwrap();
    for k in ["owner", "dev"] {
        let o = intact(d, &["key", "generate", k]);
        assert!(o.status.success(), "{}", text(&o));
    }
    std::fs::write(d.join("layout.yaml"), LAYOUT).unwrap();
    let o = intact(
        d,
        &[
            "layout",
            "build",
            "layout.yaml",
            "--key",
            "owner.pem",
            "-o",
            "root.layout",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let start = intact(
        d,
        &["record", "start", "-n", "fetch", "-k", "dev.pem", "-v"],
    );
    assert!(start.status.success(), "{}", text(&start));
    let stop = intact(
        d,
        &[
            "record", "stop", "-n", "fetch", "-k", "dev.pem", "-p", "src", "-v",
        ],
    );
    assert!(stop.status.success(), "{}", text(&stop));
    let run = intact(
        d,
        &[
            "run",
            "-n",
            "build",
            "-k",
            "dev.pem",
            "-m",
            "src",
            "-p",
            "out.txt",
            "-v",
            "--",
            "sh",
            "-c",
            "cat src/f00.c > out.txt",
        ],
    );
    assert!(run.status.success(), "{}", text(&run));
    let recorded = format!(
        "$ intact record stop ... -v\n{}$ intact run ... -v\n{}",
        String::from_utf8_lossy(&stop.stderr),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(!recorded.contains('\u{1b}'), "{recorded}");
    insta::assert_snapshot!("run_verbose", stable(&recorded));

    let verify = intact(d, &["verify", "-l", "root.layout", "-k", "owner.pub", "-v"]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    let report = String::from_utf8_lossy(&verify.stdout).into_owned();
    assert!(!report.contains('\u{1b}'), "{report}");
    insta::assert_snapshot!("verify_verbose", stable(&report));
    // Without -v, no rule lines.
    let plain = intact(d, &["verify", "-l", "root.layout", "-k", "owner.pub"]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain));
    let plain = String::from_utf8_lossy(&plain.stdout).into_owned();
    assert!(!plain.contains("    material "), "{plain}");
    // The JSON report carries the same detail.
    let json = intact(
        d,
        &[
            "verify",
            "-l",
            "root.layout",
            "-k",
            "owner.pub",
            "-v",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let build = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "step-rules" && s["scope"] == "build")
        .unwrap();
    assert_eq!(
        build["rules"][0]["rule"],
        "MATCH src/* WITH PRODUCTS FROM fetch"
    );
    assert_eq!(build["rules"][0]["consumed"].as_array().unwrap().len(), 8);
    assert_eq!(build["rules"][0]["consumed_more"], 4);
}
