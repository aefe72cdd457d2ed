//! Recorder behaviour on real trees; the differential test against the
//! reference is in tests/reference.rs.

use std::path::Path;
use std::time::Duration;

use crate::*;

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("src/sub")).unwrap();
    std::fs::write(d.join("src/a.py"), b"a").unwrap();
    std::fs::write(d.join("src/sub/b.py"), b"b").unwrap();
    std::fs::write(d.join("src/x.pyc"), b"c").unwrap();
    std::fs::write(d.join("empty"), b"").unwrap();
    std::fs::write(d.join("step.abcd.link"), b"{}").unwrap();
    dir
}

fn names(paths: &[&str], opts: HashOptions) -> Result<Vec<String>, HashError> {
    let args: Vec<String> = paths.iter().map(|s| s.to_string()).collect();
    Ok(record_artifacts(&args, &opts)?
        .keys()
        .map(|k| k.to_string())
        .collect())
}

fn at(dir: &Path) -> HashOptions {
    HashOptions {
        base_path: Some(dir.to_path_buf()),
        ..HashOptions::default()
    }
}

#[test]
fn default_excludes_and_normalised_names() {
    let dir = tree();
    assert_eq!(
        names(&["."], at(dir.path())).unwrap(),
        ["empty", "src/a.py", "src/sub/b.py"]
    );
    assert_eq!(
        names(&["./src//sub/../a.py"], at(dir.path())).unwrap(),
        ["src/a.py"]
    );
    assert_eq!(
        names(&["file:src/a.py"], at(dir.path())).unwrap(),
        ["file:src/a.py"]
    );
}

#[test]
fn given_excludes_replace_the_defaults() {
    let dir = tree();
    let opts = HashOptions {
        excludes: Some(vec!["sub/".into(), "/empty".into()]),
        ..at(dir.path())
    };
    assert_eq!(
        names(&["."], opts).unwrap(),
        ["src/a.py", "src/x.pyc", "step.abcd.link"]
    );
    let anchored = HashOptions {
        excludes: Some(vec!["src/*.py".into(), "*.link".into(), "!src/a.py".into()]),
        ..at(dir.path())
    };
    assert_eq!(
        names(&["."], anchored).unwrap(),
        ["empty", "src/a.py", "src/sub/b.py", "src/x.pyc"]
    );
}

#[test]
fn lstrip_and_its_collisions() {
    let dir = tree();
    let opts = HashOptions {
        lstrip_paths: vec!["src/".into()],
        ..at(dir.path())
    };
    assert_eq!(names(&["src"], opts).unwrap(), ["a.py", "sub/b.py"]);
    std::fs::write(dir.path().join("a.py"), b"x").unwrap();
    let opts = HashOptions {
        lstrip_paths: vec!["src/".into()],
        ..at(dir.path())
    };
    assert!(matches!(
        names(&["src", "a.py"], opts),
        Err(HashError::Prefix(_))
    ));
    let overlap = HashOptions {
        lstrip_paths: vec!["src".into(), "src/sub".into()],
        ..at(dir.path())
    };
    assert!(matches!(
        names(&["src"], overlap),
        Err(HashError::Prefix(_))
    ));
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_loops_and_missing_paths_fail() {
    let dir = tree();
    let d = dir.path();
    std::os::unix::fs::symlink("src", d.join("linkdir")).unwrap();
    std::os::unix::fs::symlink("src/a.py", d.join("linkfile")).unwrap();
    std::os::unix::fs::symlink("nowhere", d.join("broken")).unwrap();
    let got = record_artifacts(&[".".into()], &at(d)).unwrap();
    let keys: Vec<&str> = got.keys().map(|k| k.as_str()).collect();
    assert!(
        keys.contains(&"linkdir/sub/b.py") && keys.contains(&"linkfile"),
        "{keys:?}"
    );
    assert!(!keys.contains(&"broken"));
    assert_eq!(got.get("linkfile"), got.get("src/a.py"));
    std::os::unix::fs::symlink("..", d.join("src/sub/up")).unwrap();
    assert!(matches!(
        record_artifacts(&[".".into()], &at(d)),
        Err(HashError::SymlinkLoop(_))
    ));
    let missing = names(&["nope"], at(d)).unwrap_err().to_string();
    assert!(
        missing.contains("nope") && missing.contains("--allow-missing"),
        "{missing}"
    );
    assert!(names(
        &["nope"],
        HashOptions {
            allow_missing: true,
            ..at(d)
        }
    )
    .unwrap()
    .is_empty());
}

#[cfg(unix)]
#[test]
fn non_utf8_names_are_refused() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(std::ffi::OsStr::from_bytes(b"bad\xff")),
        b"x",
    )
    .unwrap();
    let err = record_artifacts(&[".".into()], &at(dir.path())).unwrap_err();
    assert!(matches!(err, HashError::NotUtf8(_)), "{err}");
}

#[test]
fn sha512_on_request_and_crlf_untouched() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crlf"), b"a\r\nb").unwrap();
    let opts = HashOptions {
        algorithms: vec![Algorithm::Sha256, Algorithm::Sha512],
        ..at(dir.path())
    };
    let got = record_artifacts(&["crlf".into()], &opts).unwrap();
    let set = got.values().next().unwrap();
    assert_eq!(set.len(), 2);
    // sha256("a\r\nb"): line endings are hashed as they are.
    assert_eq!(set.get("sha256").unwrap().as_str(), sha256_hex(b"a\r\nb"));
    assert_ne!(sha256_hex(b"a\r\nb"), sha256_hex(b"a\nb"));
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn argv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[test]
fn commands_capture_output_and_return_values() {
    let quiet = RunOptions {
        passthrough: false,
        ..RunOptions::default()
    };
    let r = run_command(
        &argv(&["sh", "-c", "printf 'a\\r\\nb\\rc'; echo err >&2; exit 3"]),
        &quiet,
    )
    .unwrap();
    assert_eq!(
        (r.stdout.as_str(), r.stderr.as_str(), r.return_value),
        ("a\nb\nc", "err\n", 3)
    );
    let bp = r.byproducts();
    assert_eq!(
        bp.keys().collect::<Vec<_>>(),
        ["return-value", "stderr", "stdout"]
    );
    let killed = run_command(&argv(&["sh", "-c", "kill -9 $$"]), &quiet).unwrap();
    assert_eq!(killed.return_value, -9);
    assert!(matches!(
        run_command(&argv(&["no-such-command-xyz"]), &quiet),
        Err(RunError::NotFound(_))
    ));
}

#[test]
fn capture_is_capped_and_the_cut_reported() {
    let opts = RunOptions {
        passthrough: false,
        capture_limit: 10,
        ..RunOptions::default()
    };
    let r = run_command(&argv(&["sh", "-c", "printf 0123456789abcdef"]), &opts).unwrap();
    assert_eq!(r.stdout, "0123456789");
    assert_eq!(r.stdout_dropped, 6);
    assert_eq!(r.byproducts()["stdout-truncated-bytes"], 6);
}

#[test]
fn timeouts_kill_the_command() {
    let opts = RunOptions {
        passthrough: false,
        timeout: Some(Duration::from_millis(200)),
        ..RunOptions::default()
    };
    let err = run_command(&argv(&["sh", "-c", "sleep 5 & sleep 5"]), &opts).unwrap_err();
    assert!(
        matches!(err, RunError::Timeout { exited: None, .. }),
        "{err}"
    );
}

#[test]
fn record_run_builds_the_link() {
    let dir = tree();
    let d = dir.path();
    let hash = at(d);
    let run = RunOptions {
        passthrough: false,
        cwd: Some(d.to_path_buf()),
        ..RunOptions::default()
    };
    let cmd = argv(&["sh", "-c", "echo new > out.txt"]);
    let (link, result) = record_run(
        "build".parse().unwrap(),
        &argv(&["src"]),
        &argv(&["out.txt"]),
        Some(&cmd),
        &hash,
        &run,
    )
    .unwrap();
    assert_eq!(link.materials.len(), 2);
    assert_eq!(
        link.products.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        ["out.txt"]
    );
    assert_eq!(link.command, cmd);
    assert_eq!(result.unwrap().return_value, 0);
    let (bare, none) = record_run("x".parse().unwrap(), &[], &[], None, &hash, &run).unwrap();
    assert!(none.is_none() && bare.byproducts.is_empty() && bare.command.is_empty());
    let env = environment(&["INTACT_SURELY_UNSET".into()]);
    assert_eq!(
        env["variables"],
        serde_json::json!({"INTACT_SURELY_UNSET": null})
    );
}

#[test]
fn a_tree_nested_too_deep_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut p = dir.path().join("t");
    for _ in 0..600 {
        p.push("d");
    }
    std::fs::create_dir_all(&p).expect("deep dirs");
    std::fs::write(p.join("f"), "x").expect("write");
    let opts = HashOptions {
        base_path: Some(dir.path().to_path_buf()),
        ..HashOptions::default()
    };
    let err = record_artifacts(&["t".to_string()], &opts).expect_err("too deep");
    assert!(matches!(err, HashError::TooDeep(_)), "{err}");
    assert!(err.to_string().contains("deeper than 512"), "{err}");
}

#[cfg(unix)]
#[test]
fn recording_leaves_access_times_alone() {
    use std::time::{Duration, SystemTime};
    let dir = tree();
    let file = dir.path().join("src/a.py");
    // An access time before the modification time: with `relatime` (the
    // usual mount option) any plain read would move it forward.
    let old = SystemTime::now() - Duration::from_secs(10 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_times(std::fs::FileTimes::new().set_accessed(old))
        .unwrap();
    let before = std::fs::metadata(&file).unwrap().accessed().unwrap();
    // Walked, and named directly.
    for arg in [".", "src/a.py"] {
        record_artifacts(&[arg.into()], &at(dir.path())).unwrap();
        assert_eq!(
            std::fs::metadata(&file).unwrap().accessed().unwrap(),
            before,
            "{arg}"
        );
    }
}

/// Many files that go on past a batch's first read, more threads than
/// cores and a low limit on open files: the batches' held descriptors
/// are bounded, so the walk does not run out (it did with 8 threads, a
/// limit of 128 and every batch holding its 32 files open). In a child
/// process: the limit and the environment are process-wide.
#[test]
fn files_held_open_between_reads_stay_under_the_open_file_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    const ROOT: &str = "INTACT_HELD_TEST_ROOT";
    if let Some(root) = std::env::var_os(ROOT) {
        let limit = getrlimit(Resource::Nofile);
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(128),
                maximum: limit.maximum,
            },
        )
        .unwrap();
        let opts = HashOptions {
            base_path: Some(root.into()),
            ..HashOptions::default()
        };
        let artifacts = record_artifacts(&[".".into()], &opts).unwrap();
        assert_eq!(artifacts.len(), 1500);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Just past the first read (16 KiB + 64), in three directories.
    let data = vec![7u8; 16 * 1024 + 100];
    for i in 0..1500 {
        let sub = dir.path().join(format!("d{}", i % 3));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("f{i:04}")), &data).unwrap();
    }
    for uring in ["0", "1"] {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "tests::files_held_open_between_reads_stay_under_the_open_file_limit",
                "--test-threads=1",
            ])
            .env(ROOT, dir.path())
            .env("RAYON_NUM_THREADS", "8")
            .env("INTACT_IO_URING", uring)
            .status()
            .unwrap();
        assert!(status.success(), "INTACT_IO_URING={uring}");
    }
}

/// Collects what recording reports.
#[derive(Default)]
struct Collect {
    hashed: std::sync::atomic::AtomicU64,
    warnings: std::sync::Mutex<Vec<RecordWarning>>,
    finished: std::sync::atomic::AtomicU64,
}

impl Reporter for Collect {
    fn files_hashed(&self, n: u64) {
        self.hashed
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
    fn warning(&self, warning: &RecordWarning) {
        self.warnings.lock().unwrap().push(warning.clone());
    }
    fn finished(&self) {
        self.finished
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `record_artifacts` on a thread, failing after 60 s instead of hanging
/// (on a FIFO's open, say).
fn record_bounded(paths: &[&str], opts: HashOptions) -> Result<intact_model::Artifacts, HashError> {
    let args: Vec<String> = paths.iter().map(|s| s.to_string()).collect();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(record_artifacts(&args, &opts));
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("recording did not return within 60 s")
}

#[test]
fn fifos_sockets_and_devices_are_skipped_with_a_warning() {
    let dir = tree();
    let d = dir.path();
    rustix::fs::mkfifoat(rustix::fs::CWD, d.join("src/pipe"), 0o644.into()).unwrap();
    rustix::fs::mkfifoat(rustix::fs::CWD, d.join("named-pipe"), 0o644.into()).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(d.join("src/sock")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("src/zero")).unwrap();
    // Excluded ones are not warned about.
    rustix::fs::mkfifoat(rustix::fs::CWD, d.join("src/old.pyc"), 0o644.into()).unwrap();
    let collect = std::sync::Arc::new(Collect::default());
    let opts = HashOptions {
        reporter: Some(collect.clone()),
        ..at(d)
    };
    let recorded = record_bounded(&["src", "named-pipe", "empty"], opts).unwrap();
    let names: Vec<&str> = recorded.keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["empty", "src/a.py", "src/sub/b.py"]);
    let mut warnings = collect.warnings.lock().unwrap().clone();
    warnings.sort_by_key(|w| w.to_string());
    let skipped = |name: &str, kind| RecordWarning::Skipped {
        path: d.join(name).display().to_string(),
        kind,
    };
    assert_eq!(
        warnings,
        [
            skipped("named-pipe", FileKind::Fifo),
            skipped("src/pipe", FileKind::Fifo),
            skipped("src/sock", FileKind::Socket),
            skipped("src/zero", FileKind::CharDevice),
        ]
    );
    let hashed = collect.hashed.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(hashed, 3);
    let finished = collect.finished.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(finished, 1);
}

#[test]
fn hash_file_refuses_a_fifo_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = dir.path().join("pipe");
    rustix::fs::mkfifoat(rustix::fs::CWD, &pipe, 0o644.into()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(hash_file(&pipe, &[Algorithm::Sha256]));
    });
    let err = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("hash_file did not return within 60 s")
        .unwrap_err();
    assert!(
        matches!(
            err,
            HashError::NotRegular {
                kind: FileKind::Fifo,
                ..
            }
        ),
        "{err}"
    );
}
