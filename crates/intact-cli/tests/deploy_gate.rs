//! examples/deploy-gate on the demo chain: the systemd unit's
//! `ExecStartPre=` command and the pipeline's `promote.sh` let the honest
//! package through and stop a swapped one (the alert runs, nothing is
//! promoted).

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

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_intact"))
}

fn example(file: &str) -> PathBuf {
    intact_tests::repo_root()
        .join("examples/deploy-gate")
        .join(file)
}

/// A release directory as the unit expects it: layout and owner key in
/// `etc/`, the package and the links under `releases/1.0/`.
fn host(package: &str) -> tempfile::TempDir {
    let demo = intact_tests::demo_chain(bin());
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    let release = dir.path().join("releases/1.0");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(release.join("links")).unwrap();
    std::fs::copy(demo.join("root.layout"), etc.join("root.layout")).unwrap();
    std::fs::copy(demo.join("keys/alice.pub"), etc.join("owner.pub")).unwrap();
    std::fs::copy(demo.join(package), release.join("demo-project.tar.gz")).unwrap();
    for e in std::fs::read_dir(demo.join("work")).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().ends_with(".link") {
            std::fs::copy(e.path(), release.join("links").join(e.file_name())).unwrap();
        }
    }
    dir
}

fn bounded(cmd: &mut Command) -> Output {
    intact_tests::output_bounded(cmd, Duration::from_secs(120), || {})
}

/// The unit's `ExecStartPre=` line, its paths pointed into `root`.
fn exec_start_pre(root: &Path) -> Vec<String> {
    let unit = std::fs::read_to_string(example("intact-gate@.service")).unwrap();
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStartPre="))
        .expect("the unit has an ExecStartPre= line");
    let root = root.display().to_string();
    line.replace("/usr/local/bin/intact", &bin().display().to_string())
        .replace("/etc/intact", &format!("{root}/etc"))
        .replace("/opt/demo/releases/%i", &format!("{root}/releases/1.0"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_units_exec_start_pre_passes_the_release_and_stops_a_swapped_one() {
    for (package, code) in [
        ("final/demo-project.tar.gz", 0),
        ("evil/demo-project.tar.gz", 1),
    ] {
        let dir = host(package);
        let argv = exec_start_pre(dir.path());
        let release = dir.path().join("releases/1.0");
        let out = bounded(
            Command::new(&argv[0])
                .args(&argv[1..])
                .current_dir(&release),
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "{package}: {}",
            intact_tests::output_text(&out)
        );
        // Nothing unverified was unpacked by the layout's inspection.
        assert_eq!(
            release.join("demo-project").exists(),
            code == 0,
            "{package}"
        );
    }
}

#[test]
fn promote_sh_promotes_the_release_and_blocks_a_swapped_one_with_an_alert() {
    let path = format!(
        "{}:{}",
        bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (package, code) in [
        ("final/demo-project.tar.gz", 0),
        ("evil/demo-project.tar.gz", 1),
    ] {
        let dir = host(package);
        let release = dir.path().join("releases/1.0");
        let out = bounded(
            Command::new("bash")
                .arg(example("promote.sh"))
                .arg("demo-project.tar.gz")
                .arg(dir.path().join("promoted"))
                .current_dir(&release)
                .env("PATH", &path)
                .env("INTACT_LAYOUT", dir.path().join("etc/root.layout"))
                .env("INTACT_OWNER_KEY", dir.path().join("etc/owner.pub"))
                .env("INTACT_LINK_DIR", "links")
                .env(
                    "ALERT_CMD",
                    "cat > ../alert.md; echo $INTACT_EXIT > ../alert.code",
                ),
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "{package}: {}",
            intact_tests::output_text(&out)
        );
        let promoted = dir.path().join("promoted/demo-project.tar.gz");
        let alert = dir.path().join("releases/alert.md");
        if code == 0 {
            assert!(promoted.is_file());
            let summary = std::fs::read_to_string(
                dir.path()
                    .join("promoted/demo-project.tar.gz.provenance.md"),
            )
            .unwrap();
            assert!(summary.contains("demo-project.tar.gz"), "{summary}");
            assert!(!alert.exists());
        } else {
            assert!(!promoted.exists(), "a swapped release was promoted");
            let report = std::fs::read_to_string(&alert).unwrap();
            assert!(report.contains("subject-not-produced"), "{report}");
            let exit = std::fs::read_to_string(dir.path().join("releases/alert.code")).unwrap();
            assert_eq!(exit.trim(), "1");
        }
    }
}
