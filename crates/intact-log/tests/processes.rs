//! Separate appender processes and crashes: 8 processes appending 500
//! entries each leave every entry in the log exactly once, and an appender
//! killed (SIGKILL) at random points leaves a log that verifies and holds
//! every entry whose append had returned.
//!
//! The children are this test binary itself, re-run on the ignored test
//! `child_appender` with its instructions in the environment.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use intact_log::{for_each_entry, verify, DirSource, LogKey, LogWriter};

const ENV_DIR: &str = "INTACT_LOG_TEST_CHILD_DIR";
const ENV_ID: &str = "INTACT_LOG_TEST_CHILD_ID";
const ENV_COUNT: &str = "INTACT_LOG_TEST_CHILD_COUNT";

/// In a child: append `COUNT` entries `ID-n` one append each, printing
/// `ack ID-n` once each append has returned.
#[test]
#[ignore = "run by the tests below as a child process"]
fn child_appender() {
    let (Ok(dir), Ok(id), Ok(count)) = (
        std::env::var(ENV_DIR),
        std::env::var(ENV_ID),
        std::env::var(ENV_COUNT),
    ) else {
        return;
    };
    let count: u64 = count.parse().unwrap();
    let w = LogWriter::open(Path::new(&dir), None).unwrap();
    let mut out = std::io::stdout().lock();
    for n in 0..count {
        let entry = format!("{id}-{n}");
        w.append(&[entry.clone().into_bytes()]).unwrap();
        writeln!(out, "ack {entry}").unwrap();
        out.flush().unwrap();
    }
}

fn child(dir: &Path, id: &str, count: u64) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child_appender",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .env(ENV_DIR, dir)
    .env(ENV_ID, id)
    .env(ENV_COUNT, count.to_string());
    cmd
}

struct Log {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    public: PathBuf,
}

fn new_log() -> Log {
    let tmp = tempfile::tempdir().unwrap();
    let key = intact_crypto::SigningKey::generate_ed25519();
    let (pem, public) = (tmp.path().join("log.pem"), tmp.path().join("log.pub"));
    intact_crypto::write_key_pair(&key, &pem, &public, None).unwrap();
    let dir = tmp.path().join("log");
    LogWriter::init(&dir, &pem, "example.com/processes").unwrap();
    Log {
        dir,
        public,
        _tmp: tmp,
    }
}

/// Verify the log and count each entry.
fn verified_entries(log: &Log) -> HashMap<String, usize> {
    let source = DirSource::new(&log.dir);
    let v = verify(&source, &LogKey::load(&log.public).unwrap(), None).unwrap();
    let mut seen = HashMap::new();
    for_each_entry(&source, v.size, |_, e| {
        *seen
            .entry(String::from_utf8(e.to_vec()).unwrap())
            .or_insert(0) += 1;
        Ok(())
    })
    .unwrap();
    seen
}

#[test]
fn eight_processes_append_500_entries_each_exactly_once() {
    let log = new_log();
    let (procs, each) = (8u64, 500u64);
    let handles: Vec<_> = (0..procs)
        .map(|p| {
            let mut cmd = child(&log.dir, &format!("p{p}"), each);
            std::thread::spawn(move || {
                intact_tests::output_bounded(&mut cmd, Duration::from_secs(600), || {})
            })
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    }
    let seen = verified_entries(&log);
    assert_eq!(seen.len() as u64, procs * each);
    for p in 0..procs {
        for n in 0..each {
            assert_eq!(seen.get(&format!("p{p}-{n}")), Some(&1), "p{p}-{n}");
        }
    }
}

/// A small deterministic generator for the kill delays (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn an_appender_killed_at_random_points_loses_no_acknowledged_entry() {
    let log = new_log();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let mut acked = Vec::new();
    let iterations = 40;
    for i in 0..iterations {
        let mut cmd = child(&log.dir, &format!("c{i}"), 1000);
        let mut proc = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(5 + rng.below(60)));
        // SIGKILL: no destructor, no flush, wherever the append is.
        proc.kill().unwrap();
        let out = proc.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        acked.extend(
            text.lines()
                .filter_map(|l| l.strip_prefix("ack "))
                .map(str::to_string),
        );
        // The log verifies after every crash, with every acknowledged
        // entry exactly once.
        let seen = verified_entries(&log);
        for a in &acked {
            assert_eq!(seen.get(a), Some(&1), "seed {seed}: acknowledged {a} lost");
        }
        assert!(seen.values().all(|&n| n == 1), "seed {seed}: a duplicate");
    }
    // The log still takes appends after all that.
    LogWriter::open(&log.dir, None)
        .unwrap()
        .append(&[b"after".to_vec()])
        .unwrap();
    assert_eq!(verified_entries(&log).get("after"), Some(&1));
    assert!(
        !acked.is_empty(),
        "seed {seed}: no append was ever acknowledged"
    );
}
