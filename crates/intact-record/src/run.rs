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
//! Echoing the output to ours happens on a thread of its own, fed through
//! a bounded queue that the waiting thread gives up on at the deadline: a
//! reader of intact's output that stops reading (a full pipe, a stopped
//! pager) can slow a step down, but never defeats its timeout.
//!
//! Without a terminal on standard input the command runs in a process
//! group of its own ([`ProcessGroup`]). Its output is complete when the
//! command has exited and both pipes are closed, which is later than the
//! exit when a process it started in the background still holds them
//! (`sh -c 'sleep 20 & exit 0'`). Without a timeout that output is waited
//! for, as `in-toto-run` and `subprocess.run` wait; at the deadline the
//! whole group is killed and the pipes are let go unread, so a process
//! that escaped the group (`setsid`) and holds them cannot keep us waiting
//! either: the result is [`RunError::Timeout`], which says whether the
//! command itself had exited (see docs/recording.md).

use std::io::{IsTerminal, Write};
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
    /// Which process group the command runs in.
    pub process_group: ProcessGroup,
}

/// Which process group the command runs in.
///
/// A terminal delivers Ctrl-C and Ctrl-Z to its foreground process group
/// only, and stops (`SIGTTIN`) a process of any other group that reads
/// from it. A command in a group of its own, behind an interactive
/// intact, would so hang forever on its first read of the terminal, and
/// Ctrl-C would kill intact but leave the command running. With a
/// terminal on standard input the command therefore stays in intact's
/// group, the job the shell controls, as `in-toto-run`'s command does:
/// Ctrl-C interrupts both, Ctrl-Z suspends both, `fg` resumes both. The
/// price is paid only there: at a timeout the command is killed, but
/// processes it left in the background are let go (unread), not killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ProcessGroup {
    /// [`ProcessGroup::Shared`] when standard input is a terminal, else
    /// [`ProcessGroup::Own`].
    #[default]
    Auto,
    /// A group of its own: a timeout kills everything the command started
    /// that stayed in it.
    Own,
    /// intact's own group (the terminal's job).
    Shared,
}

impl ProcessGroup {
    /// `Own` or `Shared`, deciding `Auto` by looking at standard input.
    fn resolve(self) -> ProcessGroup {
        match self {
            ProcessGroup::Auto if std::io::stdin().is_terminal() => ProcessGroup::Shared,
            ProcessGroup::Auto => ProcessGroup::Own,
            other => other,
        }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: None,
            capture_limit: 16 * 1024 * 1024,
            passthrough: true,
            cwd: None,
            process_group: ProcessGroup::Auto,
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
    sink: Sink,
    kept: Vec<u8>,
    dropped: u64,
    limit: usize,
}

impl Stream {
    fn new(pipe: Option<impl Into<OwnedFd>>, sink: Sink, limit: usize) -> Self {
        Stream {
            pipe: pipe.map(Into::into),
            sink,
            kept: Vec::new(),
            dropped: 0,
            limit,
        }
    }

    /// Read what the pipe holds (poll said it would not block), keep it
    /// up to the limit and give it back for echoing; close the pipe at
    /// its end or on an error.
    fn read<'b>(&mut self, buf: &'b mut [u8]) -> &'b [u8] {
        let Some(pipe) = &self.pipe else {
            return &[];
        };
        let n = match rustix::io::read(pipe, &mut *buf) {
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => return &[],
            Ok(0) | Err(_) => {
                self.pipe = None;
                return &[];
            }
            Ok(n) => n,
        };
        let chunk = buf.get(..n).unwrap_or_default();
        let room = self.limit.saturating_sub(self.kept.len()).min(chunk.len());
        self.kept
            .extend_from_slice(chunk.get(..room).unwrap_or_default());
        self.dropped += (chunk.len() - room) as u64;
        chunk
    }
}

/// Where an output chunk is echoed.
#[derive(Debug, Clone, Copy)]
enum Sink {
    Out,
    Err,
}

/// Writers the echo thread writes to (ours: stdout and stderr).
type EchoTo = (Box<dyn Write + Send>, Box<dyn Write + Send>);

/// Chunks queued for the echo thread, at most this many (64 KiB each).
const ECHO_QUEUE: usize = 64;

/// The echo thread: writes what the waiting thread hands it, in order.
struct Echo {
    tx: crossbeam_channel::Sender<(Sink, Vec<u8>)>,
    done: crossbeam_channel::Receiver<()>,
}

impl Echo {
    fn start((mut out, mut err): EchoTo) -> std::io::Result<Echo> {
        let (tx, rx) = crossbeam_channel::bounded::<(Sink, Vec<u8>)>(ECHO_QUEUE);
        let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
        thread::Builder::new()
            .name("intact-echo".into())
            .spawn(move || {
                for (sink, bytes) in rx {
                    let w = match sink {
                        Sink::Out => &mut out,
                        Sink::Err => &mut err,
                    };
                    // A reader that went away loses the echo, not the
                    // capture: the link still gets the output.
                    let _ = w.write_all(&bytes).and_then(|()| w.flush());
                }
                drop(done_tx); // `finish` sees the channel close
            })?;
        Ok(Echo { tx, done })
    }

    /// Queue a chunk; false when the deadline passed with the queue full.
    fn send(&self, sink: Sink, chunk: &[u8], deadline: Option<Instant>) -> bool {
        if chunk.is_empty() {
            return true;
        }
        let message = (sink, chunk.to_vec());
        match deadline {
            // No timeout: a slow reader slows the step, as it would
            // slow the command writing to it directly.
            None => {
                let _ = self.tx.send(message);
                true
            }
            Some(at) => !matches!(
                self.tx.send_deadline(message, at),
                Err(crossbeam_channel::SendTimeoutError::Timeout(_))
            ),
        }
    }

    /// Wait until everything queued is written, or the deadline; past
    /// it the thread finishes on its own (or stays blocked on a reader
    /// that never reads, which no longer holds anything up).
    fn finish(self, deadline: Option<Instant>) {
        drop(self.tx);
        let _ = match deadline {
            None => self.done.recv().ok(),
            Some(at) => self.done.recv_deadline(at).ok(),
        };
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
    let echo = opts
        .passthrough
        .then(|| -> EchoTo { (Box::new(std::io::stdout()), Box::new(std::io::stderr())) });
    run_watched(argv, opts, true, echo)
}

/// Environment variables holding intact's own secrets, removed from the
/// environment of the command a step runs.
pub const SECRET_VARIABLES: &[&str] = &[
    "INTACT_PKCS11_PIN",
    "INTACT_KEY_PASSWORD",
    "INTACT_REGISTRY_PASSWORD",
];

/// [`run_command`], told whether to try a pidfd (tests take both ways)
/// and where to echo the output (tests give a reader that never reads).
fn run_watched(
    argv: &[String],
    opts: &RunOptions,
    pidfd: bool,
    echo: Option<EchoTo>,
) -> Result<RunResult, RunError> {
    let (program, args) = argv.split_first().ok_or(RunError::Empty)?;
    let group = opts.process_group.resolve() == ProcessGroup::Own;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if group {
        cmd.process_group(0); // so a timeout can stop the whole tree
    }
    if let Some(dir) = &opts.cwd {
        cmd.current_dir(dir);
    }
    // The secrets intact reads to sign are not the step's: a build script
    // given the token's PIN could sign anything with the release key.
    for secret in SECRET_VARIABLES {
        cmd.env_remove(secret);
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
    let kill = || kill_command(pid, group);
    let mut streams = [
        Stream::new(child.stdout.take(), Sink::Out, opts.capture_limit),
        Stream::new(child.stderr.take(), Sink::Err, opts.capture_limit),
    ];
    let watch = ExitWatch::new(pid, pidfd);
    let echo = echo.map(Echo::start).transpose();
    let (watch, echo) = match (watch, echo) {
        (Ok(watch), Ok(echo)) => (watch, echo),
        (Err(cause), _) | (_, Err(cause)) => {
            kill();
            let _ = child.wait();
            return Err(wait_error(cause));
        }
    };
    let deadline = opts.timeout.map(|limit| started + limit);
    let mut exited = false;
    let mut buf = vec![0u8; 64 * 1024];
    let timed_out = 'wait: loop {
        if exited && streams.iter().all(|s| s.pipe.is_none()) {
            break false;
        }
        let left = match deadline {
            Some(at) => match at.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => break 'wait true,
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
                kill();
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
                Some(stream) => {
                    let chunk = stream.read(&mut buf);
                    if let Some(echo) = &echo {
                        if !echo.send(stream.sink, chunk, deadline) {
                            break 'wait true;
                        }
                    }
                }
                None => exited = true,
            }
        }
    };
    if timed_out {
        // The command, or what it left running with our pipes, is past
        // the deadline: the whole group goes, and what it still holds is
        // no longer read (a process that left the group may keep it),
        // nor is the echo waited for.
        kill();
        let status = child.wait().map_err(wait_error)?;
        return Err(RunError::Timeout {
            command: program.clone(),
            seconds: opts.timeout.map_or(0, |t| t.as_secs()),
            exited: exited.then(|| return_value(status)),
        });
    }
    let status = child.wait().map_err(wait_error)?;
    if let Some(echo) = echo {
        echo.finish(deadline);
    }
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

/// Kill the command, with its process group when it has one. The
/// command is not reaped yet, so its process ID (the group's) cannot have
/// been given to another.
fn kill_command(pid: Pid, group: bool) {
    let _ = if group {
        rustix::process::kill_process_group(pid, Signal::KILL)
    } else {
        rustix::process::kill_process(pid, Signal::KILL)
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    /// No echo, and a group of its own whatever stdin is (a developer's
    /// `cargo test` has a terminal there).
    fn quiet(timeout: Option<Duration>) -> RunOptions {
        RunOptions {
            passthrough: false,
            timeout,
            process_group: ProcessGroup::Own,
            ..RunOptions::default()
        }
    }

    /// `run_watched` on a thread: a test fails after 60 s instead of
    /// hanging when the wait it tests is broken.
    fn bounded(words: &[&str], opts: RunOptions, pidfd: bool) -> Result<RunResult, RunError> {
        echoed(words, opts, pidfd, None)
    }

    /// [`bounded`], echoing to the given writers.
    fn echoed(
        words: &[&str],
        opts: RunOptions,
        pidfd: bool,
        echo: Option<EchoTo>,
    ) -> Result<RunResult, RunError> {
        let argv = argv(words);
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(run_watched(&argv, &opts, pidfd, echo));
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

    /// A writer that never returns: a reader of our output that stopped
    /// reading. Blocks on a channel nobody sends on (its sender lives as
    /// long as the writer, so the thread stays blocked, as it would in
    /// `write(2)` on a full pipe).
    struct Stalled {
        rx: mpsc::Receiver<()>,
        _tx: mpsc::Sender<()>,
    }

    impl Write for Stalled {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            let _ = self.rx.recv();
            Ok(0)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn stalled() -> Box<dyn Write + Send> {
        let (tx, rx) = mpsc::channel();
        Box::new(Stalled { rx, _tx: tx })
    }

    #[test]
    fn a_reader_that_stops_reading_our_output_does_not_defeat_the_timeout() {
        // 20 MB of output: far more than the echo queue and a pipe hold.
        let err = echoed(
            &["head", "-c", "20000000", "/dev/zero"],
            quiet(Some(Duration::from_millis(500))),
            true,
            Some((stalled(), stalled())),
        )
        .unwrap_err();
        assert!(matches!(err, RunError::Timeout { .. }), "{err}");
    }

    #[test]
    fn everything_is_echoed_in_order_before_the_result() {
        #[derive(Clone, Default)]
        struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (out, err) = (Shared::default(), Shared::default());
        let r = echoed(
            &["sh", "-c", "seq 1 200000; echo oops >&2"],
            quiet(Some(Duration::from_secs(30))),
            true,
            Some((Box::new(out.clone()), Box::new(err.clone()))),
        )
        .unwrap();
        let echoed_out = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(echoed_out, r.stdout);
        assert!(echoed_out.ends_with("199999\n200000\n"));
        assert_eq!(*err.0.lock().unwrap(), b"oops\n");
    }

    #[test]
    fn a_command_sharing_our_group_is_killed_at_the_deadline() {
        let err = bounded(
            &["sleep", "30"],
            RunOptions {
                process_group: ProcessGroup::Shared,
                ..quiet(Some(Duration::from_millis(300)))
            },
            true,
        )
        .unwrap_err();
        assert!(
            matches!(err, RunError::Timeout { exited: None, .. }),
            "{err}"
        );
    }
}
