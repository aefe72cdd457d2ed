//! Running a step's command: output passes through live while it is
//! captured for the link's byproducts.
//!
//! One thread does all the waiting: it sleeps in `poll(2)` on the
//! command's two output pipes and on a descriptor that becomes readable
//! when the command exits (a pidfd on Linux, else a pipe written by a
//! thread blocked in `waitid`), with the time left before the timeout as
//! the poll's own timeout. It so wakes for output, for the exit and for
//! the deadline, and never in between: a step that runs `true` costs no
//! idle time (a 10 ms `try_wait` poll cost up to 10 ms per step).
//!
//! The command runs in a process group of its own. Its output is complete
//! when the command has exited and both pipes are closed, which is later
//! than the exit when a process it started in the background still holds
//! them (`sh -c 'sleep 20 & exit 0'`). Without a timeout that output is
//! waited for, as `in-toto-run` and `subprocess.run` wait; at the
//! deadline the whole group is killed and the pipes are let go unread,
//! so a process that escaped the group (`setsid`) and holds them cannot
//! keep us waiting either: the result is [`RunError::Timeout`], which says
//! whether the command itself had exited (see docs/recording.md).

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::{Pid, Signal};

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
    /// It ran longer than the timeout and was killed, or it exited but
    /// processes it left running kept its output open past the timeout
    /// and were killed (`exited` is then its return value).
    #[error("{command} {}", timeout_message(*.seconds, *.exited))]
    Timeout {
        /// The program.
        command: String,
        /// The limit.
        seconds: u64,
        /// The command's own return value when it had exited and only
        /// processes it left behind were still holding its output.
        exited: Option<i32>,
    },
    /// Waiting for the command or reading its output failed.
    #[error("waiting for {command}: {cause}")]
    Wait {
        /// The program.
        command: String,
        /// The OS error.
        cause: std::io::Error,
    },
}

fn timeout_message(seconds: u64, exited: Option<i32>) -> String {
    match exited {
        None => format!("did not finish within {seconds} s and was killed"),
        Some(rv) => format!(
            "exited (return value {rv}), but processes it left running kept its \
             output open past the {seconds} s timeout and were killed"
        ),
    }
}

/// Python text mode: UTF-8 (lossy), `\r\n` and `\r` become `\n`.
fn decode(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
}

/// One of the command's output pipes, read until it closes.
struct Stream {
    pipe: Option<OwnedFd>,
    echo: Option<Box<dyn Write>>,
    kept: Vec<u8>,
    dropped: u64,
    limit: usize,
}

impl Stream {
    fn new(pipe: Option<impl Into<OwnedFd>>, echo: Option<Box<dyn Write>>, limit: usize) -> Self {
        Stream {
            pipe: pipe.map(Into::into),
            echo,
            kept: Vec::new(),
            dropped: 0,
            limit,
        }
    }

    /// Read what the pipe holds (poll said it would not block); close it
    /// at its end or on an error.
    fn read(&mut self, buf: &mut [u8]) {
        let Some(pipe) = &self.pipe else { return };
        let n = match rustix::io::read(pipe, &mut *buf) {
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => return,
            Ok(0) | Err(_) => {
                self.pipe = None;
                return;
            }
            Ok(n) => n,
        };
        let chunk = buf.get(..n).unwrap_or_default();
        if let Some(w) = &mut self.echo {
            let _ = w.write_all(chunk).and_then(|()| w.flush());
        }
        let room = self.limit.saturating_sub(self.kept.len()).min(chunk.len());
        self.kept
            .extend_from_slice(chunk.get(..room).unwrap_or_default());
        self.dropped += (chunk.len() - room) as u64;
    }
}

/// A descriptor that becomes readable when the command exits, without
/// reaping it: its process ID, and so its process group's, stays taken
/// until we reap it, so killing the group can never hit another one.
enum ExitWatch {
    /// Linux 5.3 and later.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Pidfd(OwnedFd),
    /// Elsewhere, or where pidfds are refused: a thread blocked in
    /// `waitid(WNOWAIT)` closes the write end of this pipe.
    Thread(OwnedFd),
}

impl ExitWatch {
    fn new(pid: Pid, pidfd: bool) -> std::io::Result<Self> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if pidfd {
            if let Ok(fd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
                return Ok(ExitWatch::Pidfd(fd));
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = pidfd;
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        thread::Builder::new()
            .name("intact-wait".into())
            .spawn(move || {
                use rustix::process::{waitid, WaitId, WaitIdOptions};
                let options = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT;
                while let Err(rustix::io::Errno::INTR) = waitid(WaitId::Pid(pid), options) {}
                drop(write); // the reader sees the pipe close
            })?;
        Ok(ExitWatch::Thread(read))
    }

    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            ExitWatch::Pidfd(fd) => fd.as_fd(),
            ExitWatch::Thread(fd) => fd.as_fd(),
        }
    }
}

/// Run `argv` (no shell; the program is looked up on `PATH`).
pub fn run_command(argv: &[String], opts: &RunOptions) -> Result<RunResult, RunError> {
    run_watched(argv, opts, true)
}

/// [`run_command`], told whether to try a pidfd (tests take both ways).
fn run_watched(argv: &[String], opts: &RunOptions, pidfd: bool) -> Result<RunResult, RunError> {
    let (program, args) = argv.split_first().ok_or(RunError::Empty)?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0); // so a timeout can stop the whole tree
    if let Some(dir) = &opts.cwd {
        cmd.current_dir(dir);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|cause| match cause.kind() {
        std::io::ErrorKind::NotFound => RunError::NotFound(program.clone()),
        _ => RunError::Spawn {
            command: program.clone(),
            cause,
        },
    })?;
    let wait_error = |cause: std::io::Error| RunError::Wait {
        command: program.clone(),
        cause,
    };
    let pid = Pid::from_child(&child);
    let echo_out: Option<Box<dyn Write>> =
        opts.passthrough.then(|| Box::new(std::io::stdout()) as _);
    let echo_err: Option<Box<dyn Write>> =
        opts.passthrough.then(|| Box::new(std::io::stderr()) as _);
    let mut streams = [
        Stream::new(child.stdout.take(), echo_out, opts.capture_limit),
        Stream::new(child.stderr.take(), echo_err, opts.capture_limit),
    ];
    let watch = match ExitWatch::new(pid, pidfd) {
        Ok(watch) => watch,
        Err(cause) => {
            kill_group(pid);
            let _ = child.wait();
            return Err(wait_error(cause));
        }
    };
    let deadline = opts.timeout.map(|limit| started + limit);
    let mut exited = false;
    let mut buf = vec![0u8; 64 * 1024];
    let timed_out = loop {
        if exited && streams.iter().all(|s| s.pipe.is_none()) {
            break false;
        }
        let left = match deadline {
            Some(at) => match at.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => break true,
            },
            None => None,
        };
        let mut fds = Vec::with_capacity(3);
        let mut which = Vec::with_capacity(3);
        if !exited {
            fds.push(PollFd::from_borrowed_fd(watch.fd(), PollFlags::IN));
            which.push(None);
        }
        for (i, s) in streams.iter().enumerate() {
            if let Some(pipe) = &s.pipe {
                fds.push(PollFd::new(pipe, PollFlags::IN));
                which.push(Some(i));
            }
        }
        // Whole milliseconds, rounded up, so the wake-up is never early.
        let timeout = left.map(|d| {
            let ms = d.as_nanos().div_ceil(1_000_000);
            Timespec {
                tv_sec: i64::try_from(ms / 1000).unwrap_or(i64::MAX),
                tv_nsec: ((ms % 1000) * 1_000_000) as _,
            }
        });
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                kill_group(pid);
                let _ = child.wait();
                return Err(wait_error(e.into()));
            }
        }
        let ready: Vec<Option<usize>> = fds
            .iter()
            .zip(&which)
            .filter(|(fd, _)| !fd.revents().is_empty())
            .map(|(_, w)| *w)
            .collect();
        drop(fds);
        for w in ready {
            match w.and_then(|i| streams.get_mut(i)) {
                Some(stream) => stream.read(&mut buf),
                None => exited = true,
            }
        }
    };
    if timed_out {
        // The command, or what it left running with our pipes, is past
        // the deadline: the whole group goes, and what it still holds is
        // no longer read (a process that left the group may keep it).
        kill_group(pid);
        let status = child.wait().map_err(wait_error)?;
        return Err(RunError::Timeout {
            command: program.clone(),
            seconds: opts.timeout.map_or(0, |t| t.as_secs()),
            exited: exited.then(|| return_value(status)),
        });
    }
    let status = child.wait().map_err(wait_error)?;
    let [out, err] = streams;
    Ok(RunResult {
        return_value: return_value(status),
        stdout: decode(&out.kept),
        stderr: decode(&err.kept),
        stdout_dropped: out.dropped,
        stderr_dropped: err.dropped,
    })
}

fn return_value(status: std::process::ExitStatus) -> i32 {
    if let Some(sig) = status.signal() {
        return -sig;
    }
    status.code().unwrap_or(-1)
}

/// Kill the command's process group. The command is not reaped yet, so
/// its process ID (the group's) cannot have been given to another.
fn kill_group(pid: Pid) {
    let _ = rustix::process::kill_process_group(pid, Signal::KILL);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn quiet(timeout: Option<Duration>) -> RunOptions {
        RunOptions {
            passthrough: false,
            timeout,
            ..RunOptions::default()
        }
    }

    /// `run_watched` on a thread: a test fails after 60 s instead of
    /// hanging when the wait it tests is broken.
    fn bounded(words: &[&str], opts: RunOptions, pidfd: bool) -> Result<RunResult, RunError> {
        let argv = argv(words);
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(run_watched(&argv, &opts, pidfd));
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the command's wait did not return within 60 s")
    }

    #[test]
    fn both_exit_watches_give_output_and_status() {
        for pidfd in [true, false] {
            let r = bounded(
                &["sh", "-c", "echo out; echo err >&2; exit 7"],
                quiet(None),
                pidfd,
            )
            .unwrap();
            assert_eq!(
                (r.stdout.as_str(), r.stderr.as_str(), r.return_value),
                ("out\n", "err\n", 7),
                "pidfd: {pidfd}"
            );
        }
    }

    #[test]
    fn a_command_running_at_the_deadline_is_killed() {
        for pidfd in [true, false] {
            let err = bounded(
                &["sh", "-c", "sleep 30"],
                quiet(Some(Duration::from_millis(300))),
                pidfd,
            )
            .unwrap_err();
            assert!(
                matches!(err, RunError::Timeout { exited: None, .. }),
                "pidfd: {pidfd}: {err}"
            );
        }
    }

    #[test]
    fn a_background_child_holding_the_output_does_not_defeat_the_timeout() {
        for pidfd in [true, false] {
            let err = bounded(
                &["sh", "-c", "sleep 30 & exit 3"],
                quiet(Some(Duration::from_millis(300))),
                pidfd,
            )
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    RunError::Timeout {
                        exited: Some(3),
                        ..
                    }
                ),
                "pidfd: {pidfd}: {err}"
            );
        }
    }

    #[test]
    fn a_child_that_left_the_process_group_is_let_go_at_the_deadline() {
        // `setsid` puts the sleep out of reach of the group kill; it
        // keeps the pipes open, and is no longer read.
        let err = bounded(
            &["sh", "-c", "setsid sleep 20 & exit 0"],
            quiet(Some(Duration::from_millis(300))),
            true,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                RunError::Timeout {
                    exited: Some(0),
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn without_a_timeout_output_of_background_children_is_waited_for() {
        let r = bounded(
            &["sh", "-c", "(sleep 0.2; echo late) & echo early"],
            quiet(None),
            true,
        )
        .unwrap();
        assert_eq!((r.stdout.as_str(), r.return_value), ("early\nlate\n", 0));
    }

    #[test]
    fn a_background_child_that_let_go_of_the_output_is_not_waited_for() {
        let r = bounded(
            &["sh", "-c", "sleep 2 >/dev/null 2>&1 & echo done"],
            quiet(Some(Duration::from_secs(30))),
            true,
        )
        .unwrap();
        assert_eq!((r.stdout.as_str(), r.return_value), ("done\n", 0));
    }
}
