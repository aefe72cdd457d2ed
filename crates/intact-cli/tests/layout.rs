//! `intact layout build|check|export`: exit codes and output, pinned by
//! insta snapshots (temp paths, keyids and build-time dates redacted).

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

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn intact(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_intact"))
        .args(args)
        .current_dir(dir)
        .env_remove("INTACT_KEY_PASSWORD")
        .output()
        .expect("run intact");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

fn settings(dir: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&escape(&dir.display().to_string()), "[TMP]");
    // YAML quotes a random keyid that happens to read as a number
    // (`'12345678'`, `'1e345678'`), so quotes go with the id.
    s.add_filter(r"'?\b[0-9a-f]{64}\b'?", "[KEYID]");
    s.add_filter(r"'?\b[0-9a-f]{8}\b'?", "[ID8]");
    // Expiry computed from durations at build time; fixed dates stay.
    s.add_filter(r"20[2-9]\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]");
    s
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

/// A temp dir with keys/{alice,bob,carl}.{pem,pub}.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    for k in ["alice", "bob", "carl"] {
        let r = intact(dir.path(), &["key", "generate", &format!("keys/{k}")]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    dir
}

/// Broken layouts, each aimed at some findings; together they cover every
/// finding code `check` has for YAML.
const BROKEN: &[(&str, &str)] = &[
    (
        "rules",
        r#"expires: 2030-01-01
keys: {bob: keys/bob.pub}
steps:
  - name: build
    functionaries: [bob]
    expected_materials:
      - COPY src/* build/
      - CREATE a b
      - MATCH src/* WITH ARTIFACTS FROM build
      - "MATCH * IN src WITH PRODUCTS IN dst TO build"
      - MATCH * WITH PRODUCTS
      - ALLOW "it's
      - match * with products from build
"#,
    ),
    (
        "match",
        r#"expires: 2030-01-01
keys: {bob: keys/bob.pub}
steps:
  - name: clone
    functionaries: [bob]
    expected_materials:
      - MATCH * WITH PRODUCTS FROM build
      - MATCH * WITH PRODUCTS FROM untar
    expected_products: [CREATE src/*]
  - name: build
    functionaries: [bob]
    expected_materials:
      - MATCH src/* WITH PRODUCTS FROM clnoe
      - MATCH src/* WITH PRODUCTS FROM clone
inspect:
  - name: untar
    run: tar xf app.tgz
    expected_materials:
      - MATCH * WITH PRODUCTS FROM nowhere
      - MATCH * WITH PRODUCTS FROM untar
"#,
    ),
    (
        "names",
        r#"expires: 2030-01-01
keys: {bob: keys/bob.pub}
steps:
  - {name: build, functionaries: [bob]}
  - {name: build, functionaries: [bob]}
  - {name: ../etc, functionaries: [bob]}
inspect:
  - {name: build, run: ls}
"#,
    ),
    (
        "keys",
        r#"expires: 2030-01-01
keys:
  bob: keys/bob.pub
  carl: keys/carl.pub
  alice: keys/alice.pem
  ghost: keys/ghost.pub
steps:
  - name: build
    functionaries: [bob, bob]
    threshold: 2
  - name: review
    functionaries: [bob, 0123456789abcdef, nobody, alice]
    threshold: 0
  - name: sign
    functionaries: [keys/alice.pub]
    threshold: 3
"#,
    ),
    (
        "expired",
        r#"expires: 2000-01-01
readme: Expired long ago.
keys: {bob: keys/bob.pub}
steps:
  - name: build
    functionaries: [bob]
    expected_command: make 'all
"#,
    ),
    (
        "unreachable",
        r#"expires: 2030-01-01
keys: {bob: keys/bob.pub}
steps:
  - name: build
    functionaries: [bob]
    expected_materials:
      - ALLOW src/*
      - ALLOW *
      - DISALLOW .git/*
      - REQUIRE Makefile
    expected_products:
      - CREATE app
      - DISALLOW *
      - ALLOW app.debug
inspect:
  - name: run
    run: ./app --version
    expected_materials:
      - MATCH app WITH PRODUCTS FROM build
      - DISALLOW ***
      - MATCH lib WITH PRODUCTS FROM build
"#,
    ),
    (
        "unconsumed",
        r#"expires: 2030-01-01
keys: {bob: keys/bob.pub}
steps:
  - name: fetch
    functionaries: [bob]
    expected_products: [CREATE vendor/*, DISALLOW *]
  - name: build
    functionaries: [bob]
    expected_materials: [MATCH src/* WITH PRODUCTS FROM clone]
    expected_products: [CREATE app, CREATE app.debug, DISALLOW *]
  - name: clone
    functionaries: [bob]
    expected_products: [CREATE src/*, DISALLOW *]
inspect:
  - name: smoke
    run: ./app
    expected_materials: [MATCH app WITH PRODUCTS FROM build]
"#,
    ),
    (
        "parameters",
        r#"expires: 2030-01-01
keys: {bob: keys/bob.pub}
parameters:
  VERSION: null
  UNUSED: x
  bad name: y
steps:
  - name: build
    functionaries: [bob]
    expected_command: make VERSION={VERSION} PREFIX={PREFIX}
    expected_products:
      - CREATE app-{VERSION}.tar.gz
      - CREATE notes}.txt
      - CREATE {VERSION:>8}
"#,
    ),
];

#[test]
fn check_reports_every_finding() {
    let dir = workspace();
    let d = dir.path();
    write(d, "keys/ghost.pub", "not a key\n");
    let mut codes = std::collections::BTreeSet::new();
    for (name, yaml) in BROKEN {
        let file = format!("{name}.yaml");
        write(d, &file, yaml);
        let r = intact(d, &["layout", "check", &file]);
        let expected = if r.stdout.contains(": error[") { 1 } else { 0 };
        assert_eq!(r.code, expected, "{name}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.stderr, "", "{name}");
        for line in r.stdout.lines() {
            if let Some(code) = line.split('[').nth(1).and_then(|s| s.split(']').next()) {
                codes.insert(code.to_string());
            }
        }
        settings(d).bind(|| insta::assert_snapshot!(format!("check_{name}"), r.stdout));
    }
    let expected = [
        "duplicate-functionary",
        "duplicate-name",
        "expired",
        "invalid-command",
        "invalid-key",
        "invalid-name",
        "invalid-parameter",
        "key-not-embedded",
        "match-later-step",
        "match-unknown-step",
        "parameter-syntax",
        "rule-parse",
        "threshold-below-one",
        "threshold-exceeds-keys",
        "unconsumed-product",
        "undeclared-parameter",
        "unknown-key",
        "unreachable-rule",
        "unused-key",
        "unused-parameter",
    ];
    assert_eq!(codes.iter().collect::<Vec<_>>(), expected);
}

#[test]
fn warnings_alone_exit_0() {
    let dir = workspace();
    let d = dir.path();
    write(
        d,
        "soon.yaml",
        "expires: 10d\nkeys: {bob: keys/bob.pub, carl: keys/carl.pub}\nsteps:\n  - {name: build, functionaries: [bob]}\n",
    );
    let r = intact(d, &["layout", "check", "soon.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    settings(d).bind(|| insta::assert_snapshot!("check_warnings_only", r.stdout));
    // --param binds for check as for build.
    write(
        d,
        "param.yaml",
        "expires: 1y\nkeys: {bob: keys/bob.pub}\nsteps:\n  - {name: build, functionaries: [bob], expected_products: ['CREATE app-{V}']}\n",
    );
    let r = intact(d, &["layout", "check", "param.yaml", "--param", "V=1"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "param.yaml: no problems found\n")
    );
    let r = intact(d, &["layout", "check", "param.yaml", "--param", "W=1"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    settings(d).bind(|| insta::assert_snapshot!("check_unused_param", r.stdout));
}

const SIGNED_BROKEN: &str = r#"{"signatures": [], "signed": {"_type": "layout", "expires": "2030-01-01T00:00:00Z", "readme": "", "keys": {},
  "steps": [{"_type": "step", "name": "build", "threshold": 1, "pubkeys": ["abcdef01"], "expected_command": [],
    "expected_materials": [["MATCH", "*", "WITH", "PRODUCTS", "FROM"], ["MATCH", "*", "WITH", "PRODUCTS", "FROM", "test"]],
    "expected_products": [["CREATE", "app", "now"]]}],
  "inspect": [{"_type": "inspection", "name": "build", "run": ["ls"], "expected_materials": [], "expected_products": []}]}}"#;

#[test]
fn check_reads_signed_layouts_too() {
    let dir = workspace();
    let d = dir.path();
    write(d, "broken.layout", SIGNED_BROKEN);
    let r = intact(d, &["layout", "check", "broken.layout"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    settings(d).bind(|| insta::assert_snapshot!("check_signed", r.stdout));
    // The strict loader refuses this file: `check` explains why.
    assert_eq!(intact(d, &["show", "broken.layout"]).code, 2);
}

const LAYOUT: &str = r#"# A small chain.
readme: Two steps and an inspection.
expires: 30w
parameters:
  VERSION: null
  NAME: app
keys:
  bob: keys/bob.pub
steps:
  - name: build
    functionaries: [bob, keys/carl.pub]
    threshold: 2
    expected_command: make VERSION={VERSION}
    expected_products:
      - CREATE {NAME}-{VERSION}.tar.gz
      - DISALLOW *
  - name: publish
    functionaries: [bob]
    expected_materials:
      - MATCH {NAME}-{VERSION}.tar.gz WITH PRODUCTS FROM build
      - DISALLOW *
"#;

#[test]
fn build_export_build_is_byte_identical() {
    let dir = workspace();
    let d = dir.path();
    write(d, "layout.yaml", LAYOUT);
    for dsse in [false, true] {
        let mut args = vec![
            "layout",
            "build",
            "layout.yaml",
            "--key",
            "keys/alice.pem",
            "keys/carl.pem",
            "-o",
            "first.layout",
        ];
        if dsse {
            args.push("--dsse");
        }
        let first = intact(d, &args);
        assert_eq!(first.code, 0, "{}", first.stderr);
        assert_eq!(first.stderr, "");
        let name = if dsse { "build_dsse" } else { "build" };
        settings(d).bind(|| insta::assert_snapshot!(name, first.stdout));
        for key in ["keys/alice.pub", "keys/carl.pub"] {
            let v = intact(d, &["sign", "--verify", "first.layout", "--key", key]);
            assert_eq!(v.code, 0, "{}", v.stdout);
        }
        let export = intact(d, &["layout", "export", "first.layout"]);
        assert_eq!(export.code, 0, "{}", export.stderr);
        if !dsse {
            settings(d).bind(|| insta::assert_snapshot!("export", export.stdout));
        }
        write(d, "exported.yaml", &export.stdout);
        let mut again = args.clone();
        again[2] = "exported.yaml";
        again[7] = "second.layout";
        let second = intact(d, &again);
        assert_eq!(second.code, 0, "{}", second.stderr);
        assert_eq!(
            std::fs::read(d.join("first.layout")).unwrap(),
            std::fs::read(d.join("second.layout")).unwrap(),
            "dsse: {dsse}"
        );
        let check = intact(d, &["layout", "check", "first.layout"]);
        assert_eq!(check.stdout, "first.layout: no problems found\n");
    }
    // Giving the verification-time parameter at build time finishes the
    // layout; -o to a file, export to a file.
    let r = intact(
        d,
        &[
            "layout",
            "build",
            "layout.yaml",
            "-k",
            "keys/alice.pem",
            "--param",
            "VERSION=1.0",
            "-o",
            "v1.layout",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("left for verification"), "{}", r.stdout);
    let r = intact(d, &["layout", "export", "v1.layout", "-o", "v1.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let yaml = std::fs::read_to_string(d.join("v1.yaml")).unwrap();
    assert!(yaml.contains("- CREATE app-1.0.tar.gz"), "{yaml}");
}

#[test]
fn build_refuses_layouts_with_errors() {
    let dir = workspace();
    let d = dir.path();
    write(
        d,
        "bad.yaml",
        "expires: 1y\nkeys: {bob: keys/bob.pub}\nsteps:\n  - name: build\n    functionaries: [bob]\n    threshold: 2\n    expected_products: [CREATE app, ALLOW *, REQUIRE app]\n",
    );
    let r = intact(
        d,
        &["layout", "build", "bad.yaml", "--key", "keys/alice.pem"],
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "");
    assert!(!d.join("root.layout").exists());
    settings(d).bind(|| insta::assert_snapshot!("build_refused", r.stderr));
}

#[test]
fn unusable_input_exits_2() {
    let dir = workspace();
    let d = dir.path();
    write(
        d,
        "syntax.yaml",
        "expires: 1y\nsteps:\n  - name: a\n    treshold: 2\n",
    );
    write(d, "empty.yaml", "\n");
    let link = r#"{"signed": {"_type": "link", "name": "build"}, "signatures": []}"#;
    write(d, "build.link", link);
    write(
        d,
        "good.yaml",
        "expires: 1y\nkeys: {bob: keys/bob.pub}\nsteps: [{name: a, functionaries: [bob]}]\n",
    );
    let mut report = String::new();
    for args in [
        &["layout", "check", "syntax.yaml"][..],
        &["layout", "check", "empty.yaml"],
        &["layout", "check", "missing.yaml"],
        &["layout", "check", "build.link"],
        &["layout", "export", "build.link"],
        &["layout", "build", "syntax.yaml", "-k", "keys/alice.pem"],
        &["layout", "build", "good.yaml", "-k", "keys/alice.pub"],
        &[
            "layout",
            "build",
            "good.yaml",
            "-k",
            "keys/alice.pem",
            "--param",
            "X",
        ],
    ] {
        let r = intact(d, args);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
        report.push_str(&format!("$ intact {}\n{}", args.join(" "), r.stderr));
    }
    settings(d).bind(|| insta::assert_snapshot!("unusable_input", report));
}

/// The in-toto reference's python (set up on first use; a failing set-up fails the test).
fn reference_python() -> PathBuf {
    intact_tests::reference_python().to_path_buf()
}

fn tool(dir: &Path, program: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    out
}

fn must(out: std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The classic demo, end to end: `intact layout build` writes the layout
/// from layouts/demo.yaml, the reference's own in-toto-run/in-toto-record
/// record the links, and the reference's in-toto-verify accepts the chain
/// (and rejects a package with other content).
#[test]
fn demo_chain_verifies_with_in_toto_verify() {
    let python = reference_python();
    let bin = python.parent().unwrap().to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // The owner's side: keys for everyone and the layout.
    let owner = d.join("owner");
    std::fs::create_dir_all(owner.join("keys")).unwrap();
    for k in ["alice", "bob", "carl"] {
        let r = intact(&owner, &["key", "generate", &format!("keys/{k}")]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../layouts/demo.yaml");
    std::fs::copy(template, owner.join("demo.yaml")).unwrap();
    let key = |k: &str| owner.join("keys").join(k).display().to_string();

    // The project Bob clones: a local git repository.
    let origin = d.join("origin/demo-project");
    std::fs::create_dir_all(&origin).unwrap();
    std::fs::write(origin.join("foo.py"), "VERSION = \"foo-v0\"\n").unwrap();
    let git = Path::new("git");
    must(tool(&origin, git, &["init", "-q"]), "git init");
    must(tool(&origin, git, &["add", "foo.py"]), "git add");
    must(
        tool(
            &origin,
            git,
            &[
                "-c",
                "user.name=Bob",
                "-c",
                "user.email=bob@example.com",
                "commit",
                "-q",
                "-m",
                "v0",
            ],
        ),
        "git commit",
    );
    let repo = origin.display().to_string();

    for dsse in [false, true] {
        let mut build = vec![
            "layout",
            "build",
            "demo.yaml",
            "--key",
            "keys/alice.pem",
            "-o",
            "root.layout",
        ];
        let param = format!("REPO={repo}");
        build.extend(["--param", &param]);
        if dsse {
            build.push("--dsse");
        }
        let r = intact(&owner, &build);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

        // The functionaries at work, with the reference's recorder.
        let work = d.join(format!("work-{dsse}"));
        std::fs::create_dir(&work).unwrap();
        let use_dsse: &[&str] = if dsse { &["--use-dsse"] } else { &[] };
        let (bob, carl) = (key("bob.pem"), key("carl.pem"));
        let mut args = vec![
            "--step-name",
            "clone",
            "--products",
            "demo-project/foo.py",
            "--signing-key",
            &bob,
        ];
        args.extend(use_dsse);
        args.extend(["--", "git", "clone", &repo]);
        must(
            tool(&work, &bin.join("in-toto-run"), &args),
            "in-toto-run clone",
        );
        let mut args = vec![
            "start",
            "--step-name",
            "update-version",
            "--signing-key",
            &bob,
            "--materials",
            "demo-project/foo.py",
        ];
        args.extend(use_dsse);
        must(
            tool(&work, &bin.join("in-toto-record"), &args),
            "in-toto-record start",
        );
        std::fs::write(work.join("demo-project/foo.py"), "VERSION = \"foo-v1\"\n").unwrap();
        let args = [
            "stop",
            "--step-name",
            "update-version",
            "--signing-key",
            &bob,
            "--products",
            "demo-project/foo.py",
        ];
        must(
            tool(&work, &bin.join("in-toto-record"), &args),
            "in-toto-record stop",
        );
        let mut args = vec![
            "--step-name",
            "package",
            "--materials",
            "demo-project/foo.py",
            "--products",
            "demo-project.tar.gz",
            "--signing-key",
            &carl,
        ];
        args.extend(use_dsse);
        args.extend([
            "--",
            "tar",
            "--exclude",
            ".git",
            "-zcvf",
            "demo-project.tar.gz",
            "demo-project",
        ]);
        must(
            tool(&work, &bin.join("in-toto-run"), &args),
            "in-toto-run package",
        );

        // The verifier: layout, owner key, links and the final product.
        let verify_in = |name: &str, tarball: &Path| {
            let fin = d.join(format!("{name}-{dsse}"));
            std::fs::create_dir(&fin).unwrap();
            std::fs::copy(owner.join("root.layout"), fin.join("root.layout")).unwrap();
            std::fs::copy(owner.join("keys/alice.pub"), fin.join("alice.pub")).unwrap();
            let mut links = 0;
            for entry in std::fs::read_dir(&work).unwrap() {
                let p = entry.unwrap().path();
                if p.extension().is_some_and(|e| e == "link") {
                    std::fs::copy(&p, fin.join(p.file_name().unwrap())).unwrap();
                    links += 1;
                }
            }
            assert_eq!(links, 3);
            std::fs::copy(tarball, fin.join("demo-project.tar.gz")).unwrap();
            let args = [
                "--layout",
                "root.layout",
                "--verification-keys",
                "alice.pub",
            ];
            tool(&fin, &bin.join("in-toto-verify"), &args)
        };
        must(
            verify_in("final", &work.join("demo-project.tar.gz")),
            "in-toto-verify",
        );

        // A package whose foo.py is not the one Bob wrote is rejected.
        let evil = d.join(format!("evil-{dsse}"));
        std::fs::create_dir_all(evil.join("demo-project")).unwrap();
        std::fs::write(evil.join("demo-project/foo.py"), "VERSION = \"evil\"\n").unwrap();
        must(
            tool(
                &evil,
                Path::new("tar"),
                &["-zcf", "demo-project.tar.gz", "demo-project"],
            ),
            "tar",
        );
        let out = verify_in("tampered", &evil.join("demo-project.tar.gz"));
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("untar"),
            "the inspection's rules catch it: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Inputs an attacker could hand over: each refused with the right exit
/// status, promptly, and nothing overwritten.
#[test]
fn hostile_layouts_are_refused() {
    let dir = workspace();
    let d = dir.path();
    // A pattern too large for the regex engine: an error finding, and
    // `build` signs nothing.
    let huge = "?".repeat(16_000);
    write(
        d,
        "huge.yaml",
        &format!(
            "expires: 1y\nkeys: {{bob: keys/bob.pub}}\nsteps:\n  - name: build\n    functionaries: [bob]\n    expected_products: [\"DISALLOW {huge}\"]\n"
        ),
    );
    let r = intact(d, &["layout", "check", "huge.yaml"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r
        .stdout
        .contains("error[uncompilable-pattern] steps[0].expected_products[0]"));
    let r = intact(d, &["layout", "build", "huge.yaml", "-k", "keys/alice.pem"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(!d.join("root.layout").exists());

    // Deep nesting is refused before parsing (it made the parser
    // quadratic): exit 2, for check and build alike.
    write(d, "deep.yaml", &format!("steps: {}", "[".repeat(100_000)));
    for args in [
        &["layout", "check", "deep.yaml"][..],
        &["layout", "build", "deep.yaml", "-k", "keys/alice.pem"],
    ] {
        let r = intact(d, args);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
    }

    // Building over the source, by its name or through a link, is refused
    // and leaves it alone.
    let good = "expires: 1y\nkeys: {bob: keys/bob.pub}\nsteps: [{name: a, functionaries: [bob]}]\n";
    write(d, "good.yaml", good);
    std::os::unix::fs::symlink("good.yaml", d.join("alias.yaml")).unwrap();
    for out in ["good.yaml", "./good.yaml", "alias.yaml"] {
        let r = intact(
            d,
            &[
                "layout",
                "build",
                "good.yaml",
                "-k",
                "keys/alice.pem",
                "-o",
                out,
            ],
        );
        assert_eq!(r.code, 2, "{out}: {}{}", r.stdout, r.stderr);
        assert_eq!(std::fs::read_to_string(d.join("good.yaml")).unwrap(), good);
    }
    let r = intact(d, &["layout", "build", "good.yaml", "-k", "keys/alice.pem"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let signed = std::fs::read(d.join("root.layout")).unwrap();
    let r = intact(d, &["layout", "export", "root.layout", "-o", "root.layout"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert_eq!(std::fs::read(d.join("root.layout")).unwrap(), signed);
}

/// A signed layout whose DISALLOW pattern is too large for the regex
/// engine: the reference refuses the chain (the link's product is
/// disallowed), so intact must not pass it. Exit 2: the rules cannot be
/// evaluated.
#[test]
fn verify_refuses_an_uncompilable_pattern() {
    use intact_crypto::{sign_metadata, SigningKey};
    use intact_model::{Container, Expires, Layout, Link, Metadata, Rule, Step, StepName};

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let owner = SigningKey::generate_ed25519();
    let alice = SigningKey::generate_ed25519();
    let mut layout = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
    layout.keys.insert(
        alice.keyid().unwrap(),
        alice.public_key().to_key_dict().unwrap(),
    );
    write(d, "owner.pub", &owner.public_key().to_spki_pem().unwrap());
    // The same chain with a small pattern is a failed verdict (exit 1):
    // the set-up is sound, only the pattern differs.
    let owner = [owner];
    for (file, pattern) in [
        ("small.layout", "e*".to_string()),
        ("root.layout", "?".repeat(16_000)),
    ] {
        let mut step = Step::new(StepName::new("build").unwrap());
        step.pubkeys = vec![alice.keyid().unwrap()];
        step.expected_products = vec![Rule::parse_str(&format!("DISALLOW {pattern}")).unwrap()];
        layout.steps = vec![step];
        let signed = intact_layout::sign_layout(&layout, &owner, Container::Metablock).unwrap();
        signed.save(&d.join(file)).unwrap();
    }
    let mut link = Link::new(StepName::new("build").unwrap());
    link.products.insert(
        "evil".parse().unwrap(),
        intact_model::DigestSet::single("sha256", intact_model::Digest::new("aa").unwrap()),
    );
    let mut md = Metadata::new(link.clone().into(), Container::Metablock).unwrap();
    let keyid = sign_metadata(&mut md, &alice).unwrap();
    md.save(&d.join(link.name.link_file_name(&keyid))).unwrap();

    let r = intact(
        d,
        &[
            "verify",
            "--layout",
            "small.layout",
            "--layout-key",
            "owner.pub",
        ],
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let r = intact(
        d,
        &[
            "verify",
            "--layout",
            "root.layout",
            "--layout-key",
            "owner.pub",
        ],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("PASSED"), "{}", r.stdout);
}

#[test]
fn check_warns_of_expiry_within_warn_expiry() {
    let dir = workspace();
    let d = dir.path();
    for (expires, period, warned) in [
        ("29d", None, true),
        ("31d", None, false),
        ("31d", Some("60d"), true),
        ("29d", Some("1w"), false),
    ] {
        let yaml = format!(
            "expires: {expires}\nkeys: {{bob: keys/bob.pub}}\nsteps: [{{name: a, functionaries: [bob]}}]\n"
        );
        write(d, "layout.yaml", &yaml);
        let mut args = vec!["layout", "check", "layout.yaml"];
        if let Some(p) = period {
            args.extend(["--warn-expiry", p]);
        }
        let r = intact(d, &args);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert_eq!(
            r.stdout.contains("expires-soon"),
            warned,
            "{expires} {period:?}: {}",
            r.stdout
        );
        // A signed layout is checked the same way.
        let r = intact(
            d,
            &[
                "layout",
                "build",
                "layout.yaml",
                "--key",
                "keys/alice.pem",
                "-o",
                "root.layout",
            ],
        );
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        args[2] = "root.layout";
        let r = intact(d, &args);
        assert_eq!(
            r.stdout.contains("expires-soon"),
            warned,
            "signed {expires} {period:?}: {}",
            r.stdout
        );
    }
    let r = intact(
        d,
        &["layout", "check", "layout.yaml", "--warn-expiry", "soon"],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
}
