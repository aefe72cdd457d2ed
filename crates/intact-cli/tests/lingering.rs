//! `--inspection-timeout` holds when an inspection exits but leaves a
//! background child that keeps its stdout and stderr open forever
//! (issue #14.7): `intact verify` returns, and the verification fails at
//! the inspection.
//!
//! Bounded: `intact` runs under a 60-second watchdog that kills it, and
//! the inspection's process group (named in a pid file), before failing.

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
use std::time::{Duration, Instant};

/// Run `intact args` in `dir`; after 60 s kill it and the process group
/// whose id the inspection wrote to `pid_file`, and fail.
fn intact_bounded(dir: &Path, args: &[&str], pid_file: &Path) -> Output {
    intact_tests::output_bounded(
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(args)
            .current_dir(dir)
            .env_remove("INTACT_KEY_PASSWORD"),
        Duration::from_secs(60),
        || {
            if let Ok(pid) = std::fs::read_to_string(pid_file) {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", pid.trim())])
                    .status();
            }
        },
    )
}

fn intact(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_intact"))
        .args(args)
        .current_dir(dir)
        .env_remove("INTACT_KEY_PASSWORD")
        .output()
        .expect("run intact")
}

#[test]
fn an_inspection_leaving_a_child_that_holds_its_output_is_stopped_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = intact(d, &["key", "generate", "alice"]);
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    let pid_file = d.join("inspection.pid");
    // The inspection runs in `work`; the pid file lies outside it.
    let work = d.join("work");
    std::fs::create_dir(&work).unwrap();
    let script = format!(
        "echo $$ > '{}'; sleep infinity & exit 0",
        pid_file.display()
    );
    let yaml = format!(
        "expires: 2030-01-01\nkeys: {{}}\nsteps: []\ninspect:\n  - name: linger\n    run: [sh, -c, {script:?}]\n"
    );
    std::fs::write(d.join("root.yaml"), yaml).unwrap();
    let out = intact(
        d,
        &[
            "layout",
            "build",
            "root.yaml",
            "-k",
            "alice.pem",
            "-o",
            "root.layout",
        ],
    );
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    let out = intact_bounded(
        d,
        &[
            "verify",
            "--layout",
            "root.layout",
            "--layout-key",
            "alice.pub",
            "--link-dir",
            ".",
            "--workdir",
            "work",
            "--inspection-timeout",
            "2",
            "--format",
            "json",
        ],
        &pid_file,
    );
    let all = intact_tests::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect(&all);
    assert_eq!(report["verified"], false, "{all}");
    assert_eq!(report["failure"]["stage"], "inspections", "{all}");
    // The inspection's process group was killed, the lingering child
    // with it. A killed process lingers as a zombie until init reaps it,
    // so this waits (bounded) for no live member to be left.
    let pgid = std::fs::read_to_string(&pid_file).unwrap();
    let pgid = pgid.trim();
    let started = Instant::now();
    while !live_members(pgid).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "process group {pgid} still has {:?}",
            live_members(pgid)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Processes of group `pgid` that are not zombies.
fn live_members(pgid: &str) -> Vec<String> {
    let ps = Command::new("ps")
        .args(["-eo", "pgid=,stat=,pid="])
        .output()
        .expect("run ps");
    String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (group, stat, pid) = (words.next()?, words.next()?, words.next()?);
            (group == pgid && !stat.starts_with('Z')).then(|| pid.to_string())
        })
        .collect()
}
