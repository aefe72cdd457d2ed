//! Same tree, same options: intact records exactly what the in-toto 3.1.0
//! reference (`runlib.record_artifacts_as_dict`) records.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use intact_record::{record_artifacts, HashOptions};

fn reference_python() -> PathBuf {
    intact_tests::reference_python().to_path_buf()
}

const SCRIPT: &str = r#"
import json, sys
from in_toto.runlib import record_artifacts_as_dict
args = json.loads(sys.argv[1])
print(json.dumps(record_artifacts_as_dict(args["paths"], exclude_patterns=args["excludes"],
    base_path=args["base"], follow_symlink_dirs=True, lstrip_paths=args["lstrip"]), sort_keys=True))
"#;

fn reference(
    dir: &Path,
    paths: &[&str],
    excludes: Option<&[&str]>,
    lstrip: &[&str],
) -> serde_json::Value {
    let args =
        serde_json::json!({"paths": paths, "excludes": excludes, "base": dir, "lstrip": lstrip});
    let out = Command::new(reference_python())
        .arg("-c")
        .arg(SCRIPT)
        .arg(args.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ours(
    dir: &Path,
    paths: &[&str],
    excludes: Option<&[&str]>,
    lstrip: &[&str],
) -> serde_json::Value {
    let opts = HashOptions {
        base_path: Some(dir.to_path_buf()),
        excludes: excludes.map(|e| e.iter().map(|s| s.to_string()).collect()),
        lstrip_paths: lstrip.iter().map(|s| s.to_string()).collect(),
        ..HashOptions::default()
    };
    let paths: Vec<String> = paths.iter().map(|s| s.to_string()).collect();
    serde_json::to_value(record_artifacts(&paths, &opts).unwrap()).unwrap()
}

/// Paths, exclude patterns (None: defaults), lstrip prefixes.
type Case<'a> = (&'a [&'a str], Option<&'a [&'a str]>, &'a [&'a str]);

#[test]
fn recordings_equal_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["src/nested/deep", "docs", ".git/objects", "b\u{fc}cher"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    let files: &[(&str, &[u8])] = &[
        ("src/main.rs", b"fn main() {}\n"),
        ("src/nested/deep/x.txt", b"deep"),
        ("src/nested/y.pyc", b"bytecode"),
        ("docs/crlf.txt", b"line one\r\nline two\r\n"),
        ("docs/empty", b""),
        (".git/objects/ab", b"git"),
        ("b\u{fc}cher/\u{e9}t\u{e9} \u{1F600}.md", b"unicode"),
        ("notes~", b"backup"),
        ("build.abcd1234.link", b"{}"),
    ];
    for (name, body) in files {
        std::fs::write(d.join(name), body).unwrap();
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("src/nested", d.join("linked-dir")).unwrap();
        std::os::unix::fs::symlink("docs/crlf.txt", d.join("linked-file")).unwrap();
    }
    let cases: &[Case] = &[
        (&["."], None, &[]),
        (&["src", "docs/crlf.txt", "./linked-file"], None, &[]),
        (
            &["."],
            Some(&["src/nested/", "*.txt", "!docs/crlf.txt"]),
            &[],
        ),
        (&["."], Some(&["/src/*.rs", "deep"]), &[]),
        (&["src", "docs"], None, &["src/", "docs/"]),
        (&["src//nested/../main.rs", "b\u{fc}cher"], None, &[]),
    ];
    for (paths, excludes, lstrip) in cases {
        let theirs = reference(d, paths, *excludes, lstrip);
        assert!(
            theirs.as_object().is_some_and(|m| !m.is_empty()),
            "{paths:?}"
        );
        assert_eq!(
            ours(d, paths, *excludes, lstrip),
            theirs,
            "paths {paths:?} excludes {excludes:?} lstrip {lstrip:?}"
        );
    }
}
