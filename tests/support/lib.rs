//! Helpers shared by the interop tests: where the repository, the
//! fixtures and the in-toto reference (a venv under target/) are.

// Test support: its helpers run only inside tests, where failing loudly
// (a panic naming what went wrong) is the point. It may use std::fs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A file under tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(rel)
}

/// The venv python with in-toto 3.1.0, created on first use by
/// tests/interop/setup-venv.sh. Panics (fails the test) when it cannot be
/// set up: an interop test that silently skips proves nothing.
pub fn reference_python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let script = repo_root().join("tests/interop/setup-venv.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
    })
}

/// Run tests/interop/refcheck.py; returns (exit code, stderr).
pub fn refcheck(args: &[&Path]) -> (i32, String) {
    let out = Command::new(reference_python())
        .arg(repo_root().join("tests/interop/refcheck.py"))
        .args(args)
        .output()
        .expect("run refcheck.py");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A command's stdout then stderr, for assertions and messages.
pub fn output_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Run `cmd` with standard input closed and its output captured: a
/// watchdog against hangs, never a timing assertion. Past `bound` the
/// process is killed, `on_hang` cleans up what it may have left running,
/// and the test fails naming the command.
pub fn output_bounded(
    cmd: &mut Command,
    bound: std::time::Duration,
    on_hang: impl FnOnce(),
) -> std::process::Output {
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let deadline = std::time::Instant::now() + bound;
    while child.try_wait().expect("wait for the child").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            on_hang();
            panic!("{cmd:?} did not return within {bound:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("the child's output")
}

/// The `tests/` directory of the in-toto 3.1.0 source distribution
/// (its demo chains, keys, keyrings and inspection scripts), downloaded
/// with pip into target/in-toto-sdist once and unpacked there; used in
/// place, never copied into the repository. Serialised across test
/// processes by a lock file, like the venv.
pub fn in_toto_sdist() -> &'static Path {
    static TESTS: OnceLock<PathBuf> = OnceLock::new();
    TESTS.get_or_init(fetch_sdist)
}

fn fetch_sdist() -> PathBuf {
    use std::time::Duration;
    let dir = repo_root().join("target/in-toto-sdist");
    std::fs::create_dir_all(&dir).unwrap();
    let python = reference_python();
    // flock(1) holds the lock while pip and tar run, so that parallel
    // test binaries do not unpack over each other.
    let script = r#"set -eu
cd "$1"
if [ ! -d in_toto-3.1.0/tests/demo_files_gpg ]; then
  if [ ! -f in_toto-3.1.0.tar.gz ]; then
    "$2" -m pip download --quiet --disable-pip-version-check --no-deps \
      --no-binary :all: in-toto==3.1.0 -d .
  fi
  rm -rf in_toto-3.1.0.partial && mkdir in_toto-3.1.0.partial
  tar xzf in_toto-3.1.0.tar.gz -C in_toto-3.1.0.partial
  rm -rf in_toto-3.1.0
  mv in_toto-3.1.0.partial/in_toto-3.1.0 in_toto-3.1.0
  rmdir in_toto-3.1.0.partial
fi"#;
    let out = output_bounded(
        Command::new("flock")
            .arg(dir.join(".lock"))
            .args(["bash", "-c", script, "fetch-sdist"])
            .arg(&dir)
            .arg(python),
        Duration::from_secs(300),
        || {},
    );
    assert!(
        out.status.success(),
        "downloading the in-toto 3.1.0 sdist into {}:\n{}",
        dir.display(),
        output_text(&out)
    );
    dir.join("in_toto-3.1.0/tests")
}

/// The chain `intact demo --dir` builds (keys, layout, links, the honest
/// and the tampered package), made once per test process with the given
/// `intact` binary; its directory.
pub fn demo_chain(intact: &Path) -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, dir) = DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let out = output_bounded(
            Command::new(intact)
                .args(["demo", "--dir", "d"])
                .current_dir(tmp.path())
                .env_remove("INTACT_KEY_PASSWORD"),
            std::time::Duration::from_secs(120),
            || {},
        );
        assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
        let dir = tmp.path().join("d");
        (tmp, dir)
    });
    dir
}
