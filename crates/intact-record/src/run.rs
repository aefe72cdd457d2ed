//! Running a step's command: output passes through live while it is
//! captured for the link's byproducts.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// How a command runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Kill the command after this long. `None` (the default) waits: the
    /// reference's 10-second default kills real builds.
    pub timeout: Option<Duration>,
    /// Bytes kept per stream; the rest is counted, not stored.
    pub capture_limit: usize,
    /// Echo the command's output to ours while capturing.
    pub passthrough: bool,
    /// Working directory of the command.
    pub cwd: Option<PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: None,
            capture_limit: 16 * 1024 * 1024,
            passthrough: true,
            cwd: None,
        }
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// Exit code, or the negative signal number (as Python reports it).
    pub return_value: i32,
    /// Captured standard output (text, universal newlines).
    pub stdout: String,
    /// Captured standard error.
    pub stderr: String,
    /// Bytes of stdout beyond the capture limit.
    pub stdout_dropped: u64,
    /// Bytes of stderr beyond the capture limit.
    pub stderr_dropped: u64,
}

impl RunResult {
    /// The link's `byproducts`: `stdout`, `stderr`, `return-value` as the
    /// reference writes them, plus `stdout-truncated-bytes` /
    /// `stderr-truncated-bytes` when output exceeded the capture limit.
    pub fn byproducts(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("stdout".into(), Value::String(self.stdout.clone()));
        m.insert("stderr".into(), Value::String(self.stderr.clone()));
        m.insert("return-value".into(), Value::from(self.return_value));
        if self.stdout_dropped > 0 {
            m.insert(
                "stdout-truncated-bytes".into(),
                Value::from(self.stdout_dropped),
            );
        }
        if self.stderr_dropped > 0 {
            m.insert(
                "stderr-truncated-bytes".into(),
                Value::from(self.stderr_dropped),
            );
        }
        m
    }
}

/// Why a command could not be run to completion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// No command was given.
    #[error("no command given")]
    Empty,
    /// The program does not exist.
    #[error("command not found: {0}")]
    NotFound(String),
    /// It could not be started for another reason.
    #[error("cannot run {command}: {cause}")]
    Spawn {
        /// The program.
        command: String,
        /// The OS error.
        cause: std::io::Error,
    },
    /// It ran longer than the timeout and was killed.
    #[error("{command} did not finish within {seconds} s and was killed")]
    Timeout {
        /// The program.
        command: String,
        /// The limit.
        seconds: u64,
    },
}

/// Python text mode: UTF-8 (lossy), `\r\n` and `\r` become `\n`.
fn decode(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
}

fn pump<R: Read + Send + 'static>(
    mut from: R,
    echo: Option<Box<dyn Write + Send>>,
    limit: usize,
) -> thread::JoinHandle<(Vec<u8>, u64)> {
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut dropped = 0u64;
        let mut echo = echo;
        let mut buf = [0u8; 8192];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let chunk = buf.get(..n).unwrap_or_default();
            if let Some(w) = &mut echo {
                let _ = w.write_all(chunk).and_then(|()| w.flush());
            }
            let room = limit.saturating_sub(kept.len()).min(chunk.len());
            kept.extend_from_slice(chunk.get(..room).unwrap_or_default());
            dropped += (chunk.len() - room) as u64;
        }
        (kept, dropped)
    })
}

/// Run `argv` (no shell; the program is looked up on `PATH`).
pub fn run_command(argv: &[String], opts: &RunOptions) -> Result<RunResult, RunError> {
    let (program, args) = argv.split_first().ok_or(RunError::Empty)?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = &opts.cwd {
        cmd.current_dir(dir);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0); // so a timeout can stop the whole tree
    }
    let mut child = cmd.spawn().map_err(|cause| match cause.kind() {
        std::io::ErrorKind::NotFound => RunError::NotFound(program.clone()),
        _ => RunError::Spawn {
            command: program.clone(),
            cause,
        },
    })?;
    let echo_out: Option<Box<dyn Write + Send>> =
        opts.passthrough.then(|| Box::new(std::io::stdout()) as _);
    let echo_err: Option<Box<dyn Write + Send>> =
        opts.passthrough.then(|| Box::new(std::io::stderr()) as _);
    let out = child
        .stdout
        .take()
        .map(|s| pump(s, echo_out, opts.capture_limit));
    let err = child
        .stderr
        .take()
        .map(|s| pump(s, echo_err, opts.capture_limit));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(cause) => {
                break Err(RunError::Spawn {
                    command: program.clone(),
                    cause,
                })
            }
        }
        if let Some(limit) = opts.timeout {
            if started.elapsed() >= limit {
                kill_tree(&mut child);
                break Err(RunError::Timeout {
                    command: program.clone(),
                    seconds: limit.as_secs(),
                });
            }
        }
        thread::sleep(Duration::from_millis(10));
    };
    let (stdout, stdout_dropped) = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let (stderr, stderr_dropped) = err.and_then(|h| h.join().ok()).unwrap_or_default();
    let status = status?;
    Ok(RunResult {
        return_value: return_value(status),
        stdout: decode(&stdout),
        stderr: decode(&stderr),
        stdout_dropped,
        stderr_dropped,
    })
}

fn return_value(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return -sig;
        }
    }
    status.code().unwrap_or(-1)
}

fn kill_tree(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) on our own child's process group; no memory is
        // touched. (libc's kill is an unsafe extern fn, hence the allow.)
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
