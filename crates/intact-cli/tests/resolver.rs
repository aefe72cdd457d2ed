//! `dir:` and `ostree:` artifacts (issue #24): `intact run` records the
//! same names and digests as `in-toto-run` 3.1.0 on the reference's own
//! resolver data (`tests/resolver` of its source distribution, used in
//! place under target/), and `intact verify` judges rules on those names
//! as `in-toto-verify` does.

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

const BOUND: Duration = Duration::from_secs(120);

/// The sdist's `tests` directory (downloaded once, shared by the tests).
fn sdist_tests() -> PathBuf {
    intact_tests::in_toto_sdist().to_path_buf()
}

fn bounded(cmd: &mut Command) -> Output {
    intact_tests::output_bounded(cmd, BOUND, || {})
}

fn intact(dir: &Path, args: &[String]) -> Output {
    bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("INTACT_KEY_PASSWORD")
            .env_remove("INTACT_KEY"),
    )
}

fn reference(bin: &str, dir: &Path, args: &[String]) -> Output {
    let exe = intact_tests::reference_python().with_file_name(bin);
    bounded(Command::new(exe).args(args).current_dir(dir))
}

fn text(o: &Output) -> String {
    intact_tests::output_text(o)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// The only link in `dir`, as JSON.
fn only_link(dir: &Path) -> serde_json::Value {
    let links: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "link"))
        .collect();
    assert_eq!(links.len(), 1, "{links:?}");
    serde_json::from_slice(&std::fs::read(&links[0]).unwrap()).unwrap()
}

/// A key pair `NAME.pem` / `NAME.pub` in `dir`.
fn key(dir: &Path, name: &str) -> PathBuf {
    let o = intact(dir, &strings(&["key", "generate", name]));
    assert!(o.status.success(), "{}", text(&o));
    dir.join(format!("{name}.pem"))
}

#[test]
fn dir_and_ostree_artifacts_are_recorded_as_in_toto_run_records_them() {
    let tests = sdist_tests();
    let resolver = tests.join("resolver");
    let abs = resolver.display().to_string();
    let keys = tempfile::tempdir().unwrap();
    let pem = key(keys.path(), "dev").display().to_string();
    // (directory to run in, arguments; `ABS` is the absolute path of
    // tests/resolver), each recording materials and products, no command.
    let cases: &[(&Path, &[&str])] = &[
        (
            &tests,
            &[
                "-m",
                "dir:resolver/dir_resolver",
                "resolver/dir_resolver/README.md",
                "-p",
                "dir:resolver/dir_resolver/subdir",
                "dir:./resolver/colliding_dir_resolver/",
            ],
        ),
        // --base-path moves the files and the OSTree repository, not `dir:`.
        (
            &tests,
            &[
                "--base-path",
                "resolver/ostree_repo",
                "-m",
                "ostree:test-branch",
                "dir:resolver/dir_resolver",
                "config",
                "-p",
                "refs",
            ],
        ),
        (
            &resolver.join("ostree_repo"),
            &["-m", "ostree:test-branch", "-p", "dir:.", "dir:objects"],
        ),
        (
            &tests,
            &[
                "--lstrip-paths",
                "resolver/",
                "-m",
                "dir:resolver/dir_resolver",
                "resolver/dir_resolver/README.md",
                "file:resolver/dir_resolver/subdir/a.txt",
            ],
        ),
        (
            &tests,
            &[
                "--lstrip-paths",
                "ABS/",
                "-m",
                "dir:ABS/dir_resolver",
                "-p",
                "dir:ABS/colliding_dir_resolver",
            ],
        ),
        (
            &tests,
            &["--exclude", "README.md", "-m", "dir:resolver/dir_resolver"],
        ),
        (
            &tests,
            &[
                "--exclude",
                "subdir",
                "*.md",
                "-m",
                "dir:resolver/dir_resolver",
            ],
        ),
        (
            &tests,
            &[
                "--exclude",
                "[a-z].txt",
                "-m",
                "dir:resolver/dir_resolver/subdir",
                "resolver/dir_resolver",
            ],
        ),
    ];
    for (cwd, args) in cases {
        let args: Vec<String> = args.iter().map(|a| a.replace("ABS", &abs)).collect();
        let ours_dir = tempfile::tempdir().unwrap();
        let theirs_dir = tempfile::tempdir().unwrap();
        let mut ours = strings(&["run", "-n", "s", "-k", &pem, "--no-git", "-x", "-d"]);
        ours.push(ours_dir.path().display().to_string());
        ours.extend(args.iter().cloned());
        let o = intact(cwd, &ours);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        let mut theirs = strings(&["-n", "s", "--signing-key", &pem, "-x", "-d"]);
        theirs.push(theirs_dir.path().display().to_string());
        theirs.extend(args.iter().cloned());
        let r = reference("in-toto-run", cwd, &theirs);
        assert_eq!(r.status.code(), Some(0), "{args:?}: {}", text(&r));
        let (ol, tl) = (only_link(ours_dir.path()), only_link(theirs_dir.path()));
        for side in ["materials", "products"] {
            assert_eq!(ol["signed"][side], tl["signed"][side], "{args:?} {side}");
        }
        let names: Vec<&String> = ol["signed"]["materials"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("dir:") || n.starts_with("ostree:")),
            "{args:?}: {names:?}"
        );
    }
}

#[test]
fn record_start_and_stop_record_what_in_toto_record_records() {
    let tests = sdist_tests();
    let abs = tests.join("resolver").display().to_string();
    let keys = tempfile::tempdir().unwrap();
    let pem = key(keys.path(), "dev").display().to_string();
    let start = format!(
        "start -n s --base-path {abs}/ostree_repo --lstrip-paths {abs}/ -m ostree:test-branch dir:{abs}/dir_resolver"
    );
    let stop = format!("stop -n s --lstrip-paths {abs}/ -p dir:{abs}/colliding_dir_resolver {abs}/dir_resolver/subdir");
    let split = |s: &str| -> Vec<String> { s.split(' ').map(str::to_string).collect() };
    // Each tool in a directory of its own (the unfinished link is kept in
    // the current directory), the sdist's data used in place.
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    for half in [&start, &stop] {
        let mut args = vec!["record".to_string()];
        args.extend(split(half));
        args.extend(strings(&["-k", &pem, "--no-git"]));
        let o = intact(ours.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{half}: {}", text(&o));
        let mut args = split(half);
        args.extend(strings(&["--signing-key", &pem]));
        let r = reference("in-toto-record", theirs.path(), &args);
        assert_eq!(r.status.code(), Some(0), "{half}: {}", text(&r));
    }
    let (ol, tl) = (only_link(ours.path()), only_link(theirs.path()));
    for side in ["materials", "products"] {
        assert_eq!(ol["signed"][side], tl["signed"][side], "{side}");
    }
    assert!(
        ol["signed"]["materials"]["ostree:test-branch"].is_object(),
        "{ol}"
    );
    assert!(
        ol["signed"]["materials"]["dir:dir_resolver"].is_object(),
        "{ol}"
    );
    assert!(
        ol["signed"]["products"]["dir:colliding_dir_resolver"].is_object(),
        "{ol}"
    );
}

#[test]
fn dir_arguments_the_reference_refuses_are_refused_before_anything_runs() {
    let tests = sdist_tests();
    let abs = tests.join("resolver").display().to_string();
    let keys = tempfile::tempdir().unwrap();
    let pem = key(keys.path(), "dev").display().to_string();
    let cases: &[&[&str]] = &[
        // Not a directory.
        &["-m", "dir:resolver/dir_resolver/README.md"],
        &["-m", "dir:resolver/missing"],
        // Two directories stripped to one name.
        &[
            "--lstrip-paths",
            "ABS/dir_resolver/",
            "ABS/colliding_dir_resolver/",
            "-m",
            "dir:ABS/dir_resolver/subdir",
            "dir:ABS/colliding_dir_resolver/subdir",
        ],
    ];
    for args in cases {
        let args: Vec<String> = args.iter().map(|a| a.replace("ABS", &abs)).collect();
        let out = tempfile::tempdir().unwrap();
        let marker = out.path().join("ran");
        let mut ours = strings(&["run", "-n", "s", "-k", &pem, "--no-git", "-d"]);
        ours.push(out.path().display().to_string());
        ours.extend(args.iter().cloned());
        ours.extend(strings(&["--", "touch"]));
        ours.push(marker.display().to_string());
        let o = intact(&tests, &ours);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(!marker.exists(), "{args:?}: the command ran");
        let mut theirs = strings(&["-n", "s", "--signing-key", &pem, "-x", "-d"]);
        theirs.push(out.path().display().to_string());
        theirs.extend(args.iter().cloned());
        let r = reference("in-toto-run", &tests, &theirs);
        assert_ne!(r.status.code(), Some(0), "{args:?}: {}", text(&r));
        let links = std::fs::read_dir(out.path()).unwrap().count();
        assert_eq!(links, 0, "{args:?}");
    }
    // intact names the argument and the path.
    let mut ours = strings(&["run", "-n", "s", "-k", &pem, "--no-git", "-x", "-m"]);
    ours.push("dir:resolver/missing".into());
    let o = intact(&tests, &ours);
    assert!(
        text(&o).contains("resolver/missing is not a directory"),
        "{}",
        text(&o)
    );
}

const LAYOUT: &str = r#"
expires: 30d
keys:
  dev: dev.pub
steps:
  - name: fetch
    functionaries: [dev]
    expected_materials: [ALLOW ostree:*, DISALLOW *]
    expected_products: [CREATE dir:src, CREATE src/*, DISALLOW *]
  - name: build
    functionaries: [dev]
    expected_materials: [MATCH dir:src WITH PRODUCTS FROM fetch, MATCH src/* WITH PRODUCTS FROM fetch, DISALLOW *]
    expected_products: [CREATE dist/out.txt, DISALLOW *]
inspect: []
"#;

/// A layout that names the files, not the directory artifact: `src/*`
/// does not match the name `dir:src`.
const FILE_LAYOUT: &str = r#"
expires: 30d
keys:
  dev: dev.pub
steps:
  - name: fetch
    functionaries: [dev]
    expected_materials: [ALLOW ostree:*, DISALLOW *]
    expected_products: [ALLOW src/*, DISALLOW *]
inspect: []
"#;

/// (intact's exit code, in-toto-verify's) on `layout` in `dir`.
fn verdicts(dir: &Path, layout: &str) -> (Option<i32>, Option<i32>) {
    let o = intact(
        dir,
        &strings(&["verify", "--layout", layout, "--layout-key", "owner.pub"]),
    );
    let r = reference(
        "in-toto-verify",
        dir,
        &strings(&["-l", layout, "--verification-keys", "owner.pub"]),
    );
    (o.status.code(), r.status.code())
}

#[test]
fn rules_on_dir_and_ostree_names_get_in_toto_verifys_verdict() {
    let tests = sdist_tests();
    let ostree = tests.join("resolver/ostree_repo").display().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir_all(d.join("src/sub")).unwrap();
    std::fs::write(d.join("src/a.txt"), "a").unwrap();
    std::fs::write(d.join("src/sub/b.txt"), "b").unwrap();
    key(d, "owner");
    key(d, "dev");
    for (yaml, out) in [(LAYOUT, "root.layout"), (FILE_LAYOUT, "files.layout")] {
        std::fs::write(d.join("layout.yaml"), yaml).unwrap();
        let o = intact(
            d,
            &strings(&[
                "layout",
                "build",
                "layout.yaml",
                "--key",
                "owner.pem",
                "-o",
                out,
            ]),
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let run = |args: &[&str]| {
        let mut all = strings(&["run", "-k", "dev.pem", "--no-git"]);
        all.extend(strings(args));
        let o = intact(d, &all);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
    };
    // fetch: the OSTree ref (from the sdist's repository) and the tree.
    let record_fetch = || {
        let rec = |args: Vec<String>| {
            let o = intact(d, &args);
            assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        };
        rec(strings(&[
            "record",
            "start",
            "-n",
            "fetch",
            "-k",
            "dev.pem",
            "--no-git",
            "--base-path",
            &ostree,
            "-m",
            "ostree:test-branch",
        ]));
        rec(strings(&[
            "record", "stop", "-n", "fetch", "-k", "dev.pem", "--no-git", "-p", "dir:src", "src",
        ]));
    };
    record_fetch();
    run(&[
        "-n",
        "build",
        "-m",
        "dir:src",
        "src",
        "-p",
        "dist/out.txt",
        "--",
        "sh",
        "-c",
        "mkdir -p dist && cat src/a.txt > dist/out.txt",
    ]);
    assert_eq!(verdicts(d, "root.layout"), (Some(0), Some(0)));
    // `src/*` does not match `dir:src`: both refuse the fetch link.
    let (ours, theirs) = verdicts(d, "files.layout");
    assert_eq!(ours, Some(1));
    assert_ne!(theirs, Some(0));
    // The tree changed between the steps: dir:src no longer matches.
    std::fs::write(d.join("src/sub/b.txt"), "tampered").unwrap();
    run(&[
        "-n",
        "build",
        "-m",
        "dir:src",
        "-p",
        "dist/out.txt",
        "--",
        "sh",
        "-c",
        "cat src/a.txt > dist/out.txt",
    ]);
    let (ours, theirs) = verdicts(d, "root.layout");
    assert_eq!(ours, Some(1));
    assert_ne!(theirs, Some(0));
}
