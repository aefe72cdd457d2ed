//! The JSON report's schema (docs/verify-report.schema.json) holds for
//! real reports: the demo chain verified, failed at several stages, with
//! subjects and with `-v` rule detail. Every object in the schema is
//! closed, so a field added to the report without the schema fails here;
//! the schema's stage and code lists are the library's.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

fn schema() -> Value {
    let path = intact_tests::repo_root().join("docs/verify-report.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `intact verify ARGS --format json` in a consumer directory holding the
/// demo layout, its key and `package`; the report.
fn report(package: &str, extra: &[&str]) -> (i32, Value) {
    let bin = Path::new(env!("CARGO_BIN_EXE_intact"));
    let demo = intact_tests::demo_chain(bin);
    let dir = tempfile::tempdir().unwrap();
    for f in ["root.layout", "alice.pub"] {
        std::fs::copy(demo.join("final").join(f), dir.path().join(f)).unwrap();
    }
    std::fs::copy(demo.join(package), dir.path().join("demo-project.tar.gz")).unwrap();
    let links = demo.join("work");
    let mut args = vec![
        "verify",
        "--layout",
        "root.layout",
        "--link-dir",
        links.to_str().unwrap(),
        "--format",
        "json",
    ];
    if !extra.contains(&"--layout-key") {
        args.extend(["--layout-key", "alice.pub"]);
    }
    args.extend_from_slice(extra);
    let out = intact_tests::output_bounded(
        Command::new(bin).args(&args).current_dir(dir.path()),
        Duration::from_secs(120),
        || {},
    );
    let text = intact_tests::output_text(&out);
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {text}"));
    (out.status.code().unwrap_or(-1), value)
}

#[test]
fn real_reports_validate_against_the_schema() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let demo = intact_tests::demo_chain(Path::new(env!("CARGO_BIN_EXE_intact")));
    let wrong_key = demo.join("keys/bob.pub");
    let cases: Vec<(&str, Vec<&str>, i32, Option<&str>)> = vec![
        ("final/demo-project.tar.gz", vec![], 0, None),
        (
            "final/demo-project.tar.gz",
            vec!["--artifact", "demo-project.tar.gz", "-v"],
            0,
            None,
        ),
        (
            "evil/demo-project.tar.gz",
            vec!["--artifact", "demo-project.tar.gz"],
            1,
            Some("subject-not-produced"),
        ),
        (
            "evil/demo-project.tar.gz",
            vec![],
            1,
            Some("inspection-rule"),
        ),
        (
            "final/demo-project.tar.gz",
            vec!["--layout-key", wrong_key.to_str().unwrap()],
            1,
            Some("layout-signature"),
        ),
    ];
    for (package, extra, code, failure) in cases {
        let (got, report) = report(package, &extra);
        assert_eq!(got, code, "{extra:?}: {report:#}");
        assert_eq!(
            report["failure"]["code"].as_str(),
            failure,
            "{extra:?}: {report:#}"
        );
        let errors: Vec<String> = validator
            .iter_errors(&report)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{package} {extra:?}: the report does not match the schema:\n{}\n{report:#}",
            errors.join("\n")
        );
    }
}

#[test]
fn the_schema_lists_exactly_the_library_stages_and_codes() {
    let schema = schema();
    let listed = |def: &str| -> Vec<String> {
        schema["$defs"][def]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let codes: Vec<String> = intact_verify::FailureKind::ALL
        .iter()
        .map(|k| k.code().to_string())
        .collect();
    assert_eq!(listed("code"), codes);
    let warning_codes: Vec<String> = intact_verify::WarningKind::ALL
        .iter()
        .map(|k| k.code().to_string())
        .collect();
    assert_eq!(listed("warning-code"), warning_codes);
    let mut stages: Vec<String> = intact_verify::FailureKind::ALL
        .iter()
        .map(|k| {
            serde_json::to_value(k.stage())
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    stages.dedup();
    // Every stage a failure can stop, in order, plus the warning-only ones.
    for s in &stages {
        assert!(listed("stage").contains(s), "{s} is not in the schema");
    }
    assert!(listed("stage").contains(&"commands".to_string()));
}
