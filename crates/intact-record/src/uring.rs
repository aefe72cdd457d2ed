//! Small files opened and read in batches through io_uring (Linux).
//!
//! Recording 10,000 files of 4 KiB is mostly the kernel's `openat`,
//! `read`, `read` (the one that finds the end) and `close` for each file,
//! and each system call costs about 170 ns of entry and exit alone on the
//! CI machines. Here a batch of files is opened with one submission and
//! read with another (two linked reads per file: the first into a buffer
//! that small files end within, the second, from where the first stopped,
//! to see the end), so a batch of [`BATCH`] files costs two trips into the
//! kernel, and their closes ride along unwaited. The files are ordinary
//! descriptors: a file that does not end within the first reads goes on
//! with the ordinary reading code from where they stopped, and the digest
//! is taken only once a read has returned 0, exactly as without io_uring.
//!
//! This is an accelerator, not a second implementation: a file it does
//! not handle (a failed open, a read it does not trust) is left to the
//! ordinary path, and where io_uring is unavailable, refused by a sandbox,
//! turned off (`INTACT_IO_URING=0`) or the limit on open files too low
//! for a batch per thread, the same batches are read without it
//! (`batch.rs`); both give the same digests and the same messages.
//! Measured on 10,000 × 4 KiB files (docs/performance.md): 9% less time
//! for the engine than those batches (32.1 vs 35.1 ms).

// unsafe: io_uring submissions hand the kernel buffers and names it uses
// after the call returns, and opened descriptors come back as raw fds;
// each unsafe block says in a SAFETY comment why it holds.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::CStr;
use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use io_uring::{opcode, squeue, types, IoUring};

use crate::batch::{finish_whole, go_on, Outcomes, BATCH, FIRST};
use crate::digest::MAX_HELD;
use crate::hash::{io, Algorithm};

/// The second read, which finds the end of a file (or its next bytes).
const TAIL: usize = 64;

/// `user_data` of the closes, whose completions nobody waits for.
const CLOSED: u64 = u64::MAX;

/// Submission queue entries: a batch's reads (two per file).
const ENTRIES: u32 = 2 * BATCH as u32;

/// A ring and the buffers its reads fill. The buffers are only ever
/// written by requests this thread waits for before it looks at them.
struct Ring {
    ring: IoUring,
    first: Vec<u8>,
    tail: Vec<u8>,
    results: Vec<i32>,
    /// Closes queued and not yet seen complete.
    closing: usize,
}

impl Drop for Ring {
    /// Wait for the queued closes: a ring closed with requests pending
    /// cancels those not yet started (a close that must flush, on NFS or
    /// overlayfs, runs later on a kernel worker), which would leak their
    /// descriptors.
    fn drop(&mut self) {
        while self.closing > 0 {
            match self.ring.submit_and_wait(1) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
            for cqe in self.ring.completion() {
                if cqe.user_data() == CLOSED {
                    self.closing = self.closing.saturating_sub(1);
                }
            }
        }
    }
}

/// This thread's ring, if it has one.
enum State {
    Untried,
    Ready(Box<Ring>),
    Off,
}

thread_local! {
    static RING: RefCell<State> = const { RefCell::new(State::Untried) };
}

/// The ring could not be trusted to have finished with its buffers.
struct Poisoned;

/// Whether io_uring may be used: not when `INTACT_IO_URING=0`.
fn allowed() -> bool {
    static ALLOWED: OnceLock<bool> = OnceLock::new();
    *ALLOWED.get_or_init(|| std::env::var_os("INTACT_IO_URING").is_none_or(|v| v != "0"))
}

/// Digests of the regular files `names` in `dir`, opened with `O_NOATIME`
/// while `noatime` holds (see `open_for_reading`). `None`: io_uring is not
/// available on this thread; read the batch without it (`batch.rs`).
pub(crate) fn hash_batch(
    dir: BorrowedFd<'_>,
    names: &[&CStr],
    noatime: &AtomicBool,
    algorithms: &[Algorithm],
    path: &dyn Fn(usize) -> PathBuf,
) -> Option<Outcomes> {
    if names.len() > BATCH {
        return None;
    }
    RING.with_borrow_mut(|state| {
        if let State::Untried = state {
            *state = match allowed().then(Ring::new).flatten() {
                Some(ring) => State::Ready(Box::new(ring)),
                None => State::Off,
            };
        }
        let State::Ready(ring) = state else {
            return None;
        };
        match ring.hash(dir, names, noatime, algorithms, path) {
            Ok(outcomes) => Some(outcomes),
            Err(Poisoned) => {
                // Requests may still be in flight: never free their
                // buffers. The ordinary path takes over on this thread.
                if let State::Ready(ring) = std::mem::replace(state, State::Off) {
                    std::mem::forget(ring);
                }
                None
            }
        }
    })
}

/// Whether the limit on open files leaves room for every walking thread
/// to hold a whole batch open at once, besides the files held between
/// reads and the directories being walked. Where it does not (a library
/// caller with 8 threads and a limit of 128 ran out), the portable batch,
/// which opens one file at a time, is used instead.
fn descriptors_suffice() -> bool {
    let needed = rayon::current_num_threads() * BATCH + MAX_HELD + 256;
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    limit.is_none_or(|n| n >= needed as u64)
}

impl Ring {
    fn new() -> Option<Ring> {
        if !descriptors_suffice() {
            return None;
        }
        let ring = IoUring::builder()
            .setup_single_issuer()
            .setup_coop_taskrun()
            .build(ENTRIES)
            .or_else(|_| IoUring::new(ENTRIES))
            .ok()?;
        // Reads at the file position (Linux 5.6) that take the position
        // when they run, not when submitted (5.18, with linked files):
        // before that, a linked second read started at 0 again and the
        // digest would silently hash the first bytes twice.
        let params = ring.params();
        if !params.is_feature_rw_cur_pos() || !params.is_feature_linked_file() {
            return None;
        }
        let mut probe = io_uring::Probe::new();
        ring.submitter().register_probe(&mut probe).ok()?;
        let used = [
            opcode::OpenAt::CODE,
            opcode::Read::CODE,
            opcode::Close::CODE,
        ];
        if !used.iter().all(|&code| probe.is_supported(code)) {
            return None;
        }
        let mut ring = Ring {
            ring,
            first: vec![0; BATCH * FIRST],
            tail: vec![0; BATCH * TAIL],
            results: vec![0; 2 * BATCH],
            closing: 0,
        };
        // And check it on this kernel, whatever it claims (backports).
        ring.reads_follow_each_other().then_some(ring)
    }

    /// Whether a second linked read at the file position continues where
    /// the first stopped: an 8-byte file read as 4 + 4 must give both
    /// halves.
    fn reads_follow_each_other(&mut self) -> bool {
        use std::io::Write;
        let Ok(fd) =
            rustix::fs::memfd_create("intact-uring-check", rustix::fs::MemfdFlags::CLOEXEC)
        else {
            return false;
        };
        let mut file = File::from(fd);
        if file.write_all(b"abcdefgh").is_err()
            || rustix::fs::seek(&file, rustix::fs::SeekFrom::Start(0)).is_err()
        {
            return false;
        }
        let raw = types::Fd(file.as_raw_fd());
        let first = opcode::Read::new(raw, self.first.as_mut_ptr(), 4)
            .offset(u64::MAX)
            .build()
            .flags(squeue::Flags::IO_HARDLINK)
            .user_data(0);
        let next = opcode::Read::new(raw, self.tail.as_mut_ptr(), 4)
            .offset(u64::MAX)
            .build()
            .user_data(1);
        if self.push(&first).is_err() || self.push(&next).is_err() || self.complete(2).is_err() {
            // Requests may be pending on this file and these buffers.
            std::mem::forget(file);
            return false;
        }
        self.results.get(..2) == Some(&[4, 4])
            && self.first.get(..4) == Some(&b"abcd"[..])
            && self.tail.get(..4) == Some(&b"efgh"[..])
    }

    fn hash(
        &mut self,
        dir: BorrowedFd<'_>,
        names: &[&CStr],
        noatime: &AtomicBool,
        algorithms: &[Algorithm],
        path: &dyn Fn(usize) -> PathBuf,
    ) -> Result<Outcomes, Poisoned> {
        // As `open_for_reading`: a FIFO that replaced a listed file
        // must not make the open wait. The price: reads of pages not in
        // the cache come back EAGAIN instead of waiting, and those files
        // go to the ordinary path (below).
        let mut flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;
        let with_noatime = noatime.load(Ordering::Relaxed);
        if with_noatime {
            flags |= libc::O_NOATIME;
        }
        for (i, name) in names.iter().enumerate() {
            let open = opcode::OpenAt::new(types::Fd(dir.as_raw_fd()), name.as_ptr())
                .flags(flags)
                .build()
                .user_data(i as u64);
            self.push(&open)?;
        }
        self.complete(names.len())?;
        let mut files: Vec<Option<File>> = Vec::with_capacity(names.len());
        for i in 0..names.len() {
            let fd = self.results.get(i).copied().unwrap_or(-libc::EINVAL);
            if fd == -libc::EPERM && with_noatime {
                // Not the file's owner: no O_NOATIME from now on (the
                // ordinary path retries this file without it).
                noatime.store(false, Ordering::Relaxed);
            }
            files.push((fd >= 0).then(|| {
                // SAFETY: the kernel has just opened this descriptor for
                // this thread's request; nothing else owns it.
                unsafe { File::from_raw_fd(fd) }
            }));
        }
        let mut reads = 0;
        for (i, file) in files.iter().enumerate() {
            let Some(file) = file else { continue };
            let fd = types::Fd(file.as_raw_fd());
            let first = self.first.as_mut_ptr().wrapping_add(i * FIRST);
            let tail = self.tail.as_mut_ptr().wrapping_add(i * TAIL);
            // Both from the file position (offset -1): the second begins
            // where the first ended, whatever it returned.
            let read = opcode::Read::new(fd, first, FIRST as u32)
                .offset(u64::MAX)
                .build()
                .flags(squeue::Flags::IO_HARDLINK)
                .user_data((2 * i) as u64);
            let next = opcode::Read::new(fd, tail, TAIL as u32)
                .offset(u64::MAX)
                .build()
                .user_data((2 * i + 1) as u64);
            self.push(&read)?;
            self.push(&next)?;
            reads += 2;
        }
        if let Err(poisoned) = self.complete(reads) {
            // A read may still be pending on these descriptors: closing
            // them could let it read from a file opened later under the
            // same number. Leak them with the ring.
            files.into_iter().flatten().for_each(std::mem::forget);
            return Err(poisoned);
        }
        let mut outcomes = Vec::with_capacity(names.len());
        let mut ended = Vec::with_capacity(names.len());
        // Files read to their end: hashed together once all are known.
        let mut whole: Vec<(usize, &[u8])> = Vec::with_capacity(names.len());
        for (i, file) in files.into_iter().enumerate() {
            let Some(file) = file else {
                outcomes.push(None);
                continue;
            };
            let got = |k: usize| self.results.get(k).copied().unwrap_or(-libc::EINVAL);
            let (n, m) = (got(2 * i), got(2 * i + 1));
            let outcome = match (
                read(&self.first, i * FIRST, n),
                read(&self.tail, i * TAIL, m),
            ) {
                // Empty, as a FIFO or `/dev/null` that replaced the file
                // since it was listed would read: checked (`batch::empty`).
                (Some([]), Some([])) => {
                    let mut empty = Vec::new();
                    match crate::batch::empty(&file, i, &mut empty, path) {
                        None => {
                            ended.push(file);
                            whole.push((outcomes.len(), &[][..]));
                            outcomes.push(None);
                            continue;
                        }
                        Some(outcome) => outcome,
                    }
                }
                // The read after the data returned 0: the end.
                (Some(data), Some([])) => {
                    ended.push(file);
                    whole.push((outcomes.len(), data));
                    outcomes.push(None);
                    continue;
                }
                (Some(data), Some(more)) => {
                    outcomes.push(go_on(file, &[data, more], algorithms));
                    continue;
                }
                // io_uring does not wait for a file opened `O_NONBLOCK`
                // whose pages are not cached (a cold cache): the ordinary
                // path, whose read(2) waits on regular files, reads it
                // (and learns what it is, should it not be regular).
                _ if n == -libc::EAGAIN || (n >= 0 && m == -libc::EAGAIN) => {
                    outcomes.push(None);
                    continue;
                }
                _ if n < 0 || m < 0 => {
                    let errno = if n < 0 { -n } else { -m };
                    Err(io(&path(i), std::io::Error::from_raw_os_error(errno)))
                }
                // More than was asked for, which the kernel never returns:
                // not trusted, the ordinary path reads the file again.
                _ => {
                    outcomes.push(None);
                    continue;
                }
            };
            outcomes.push(Some(outcome));
        }
        finish_whole(&mut outcomes, &whole, algorithms);
        self.close(ended)?;
        Ok(outcomes)
    }

    /// Close `files` through the ring, without waiting: their completions
    /// are skipped by later waits. A descriptor is handed over only once
    /// its request is queued; if the ring then fails, at most a batch of
    /// descriptors stays open.
    fn close(&mut self, files: Vec<File>) -> Result<(), Poisoned> {
        for file in files {
            let close = opcode::Close::new(types::Fd(file.as_raw_fd()))
                .build()
                .user_data(CLOSED);
            // SAFETY: a close has no buffers.
            if unsafe { self.ring.submission().push(&close) }.is_ok() {
                let _ = file.into_raw_fd();
                self.closing += 1;
            }
        }
        loop {
            match self.ring.submit() {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return Err(Poisoned),
            }
        }
    }

    fn push(&mut self, entry: &squeue::Entry) -> Result<(), Poisoned> {
        // SAFETY: a read's buffer belongs to the ring and outlives the
        // request: every request pushed is waited for before its buffer is
        // read or the ring dropped, and a ring that fails to report them
        // is leaked (Poisoned) and never submitted to again. A name is
        // copied by the kernel when it takes the request, which happens in
        // the `complete` that follows while the caller's names are alive.
        unsafe { self.ring.submission().push(entry) }.map_err(|_| Poisoned)
    }

    /// Submit what was pushed and wait for `n` completions, recording
    /// each result under its request's `user_data`.
    fn complete(&mut self, n: usize) -> Result<(), Poisoned> {
        let mut seen = 0;
        while seen < n {
            match self.ring.submit_and_wait(n - seen) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return Err(Poisoned),
            }
            for cqe in self.ring.completion() {
                if cqe.user_data() == CLOSED {
                    self.closing = self.closing.saturating_sub(1);
                    continue;
                }
                let slot = usize::try_from(cqe.user_data())
                    .ok()
                    .and_then(|k| self.results.get_mut(k));
                match slot {
                    Some(slot) => *slot = cqe.result(),
                    None => return Err(Poisoned),
                }
                seen += 1;
            }
        }
        Ok(())
    }
}

/// The `len` bytes a read returned into `buf` at `at`; `None` for an
/// error or a length the buffer cannot hold.
fn read(buf: &[u8], at: usize, len: i32) -> Option<&[u8]> {
    let len = usize::try_from(len).ok()?;
    buf.get(at..at.checked_add(len)?)
}

#[cfg(test)]
// Tests may use std::fs.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::digest::Begun;
    use sha2::{Digest as _, Sha256};

    fn sha256(data: &[u8]) -> intact_model::Digest {
        intact_model::Digest::from_bytes(&Sha256::digest(data))
    }

    #[test]
    fn batches_give_the_digests_of_every_size_and_leave_failed_opens() {
        if !allowed() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let sizes = [
            0,
            1,
            4096,
            FIRST - 1,
            FIRST,
            FIRST + 1,
            FIRST + TAIL,
            3 * FIRST + 5,
        ];
        let mut names = Vec::new();
        let mut data = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let bytes: Vec<u8> = (0..*size).map(|k| (k * 7 + i) as u8).collect();
            let name = format!("f{i}");
            std::fs::write(dir.path().join(&name), &bytes).unwrap();
            names.push(std::ffi::CString::new(name).unwrap());
            data.push(Some(bytes));
        }
        names.push(std::ffi::CString::new("missing").unwrap());
        data.push(None);
        let fd = File::open(dir.path()).unwrap();
        let refs: Vec<&CStr> = names.iter().map(|n| n.as_c_str()).collect();
        let outcomes = hash_batch(
            std::os::fd::AsFd::as_fd(&fd),
            &refs,
            &AtomicBool::new(true),
            &[Algorithm::Sha256],
            &|i| dir.path().join(format!("f{i}")),
        );
        let Some(outcomes) = outcomes else {
            // Only where the kernel (or a sandbox) refuses io_uring; the
            // ordinary path is tested with the walk and in digest.rs.
            assert!(Ring::new().is_none(), "io_uring is available but unused");
            return;
        };
        assert_eq!(outcomes.len(), data.len());
        for (outcome, bytes) in outcomes.into_iter().zip(data) {
            match (outcome, bytes) {
                (Some(Ok(begun)), Some(bytes)) => {
                    let set = match begun {
                        Begun::Done(set) => set,
                        Begun::Rest(mut held, hashers) => {
                            crate::digest::hash_rest(held.file(), *hashers, PathBuf::new).unwrap()
                        }
                        Begun::Special(kind) => panic!("{kind} among regular files"),
                    };
                    assert_eq!(set.get("sha256"), Some(&sha256(&bytes)), "{}", bytes.len())
                }
                (None, None) => {}
                (other, bytes) => panic!(
                    "{:?} for {:?}",
                    other.map(|r| r.is_ok()),
                    bytes.map(|b| b.len())
                ),
            }
        }
    }

    #[test]
    fn a_kernel_with_linked_reads_passes_the_self_check() {
        let Ok(ring) = IoUring::new(8) else {
            return; // no io_uring here at all
        };
        if ring.params().is_feature_linked_file() {
            assert!(
                Ring::new().is_some(),
                "io_uring available, self-check failed"
            );
        }
    }

    #[test]
    fn more_files_than_a_batch_are_left_to_the_ordinary_path() {
        let dir = tempfile::tempdir().unwrap();
        let fd = File::open(dir.path()).unwrap();
        let name = std::ffi::CString::new("x").unwrap();
        let refs = vec![name.as_c_str(); BATCH + 1];
        let outcome = hash_batch(
            std::os::fd::AsFd::as_fd(&fd),
            &refs,
            &AtomicBool::new(true),
            &[Algorithm::Sha256],
            &|_| PathBuf::new(),
        );
        assert!(outcome.is_none());
    }

    #[test]
    fn fifos_and_devices_swapped_in_are_not_read() {
        crate::batch::tests::specials_in_a_batch_are_not_read(|dir, names| {
            let handle = File::open(dir).unwrap();
            let noatime = AtomicBool::new(true);
            let path = |_| PathBuf::new();
            let fd = std::os::fd::AsFd::as_fd(&handle);
            let outcomes = hash_batch(fd, names, &noatime, &[Algorithm::Sha256], &path);
            assert!(outcomes.is_some() || Ring::new().is_none());
            outcomes
        });
    }

    #[test]
    fn files_not_in_the_page_cache_are_read_not_refused() {
        // Files are opened O_NONBLOCK, and io_uring then answers EAGAIN
        // for pages not cached instead of waiting: such a file must go
        // to the ordinary path, not fail the recording.
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let data: Vec<u8> = (0..3 * FIRST).map(|k| (k % 251) as u8).collect();
        for name in ["small", "large"] {
            let size = if name == "small" { 4096 } else { data.len() };
            let path = dir.path().join(name);
            std::fs::write(&path, data.get(..size).unwrap()).unwrap();
            let file = File::open(&path).unwrap();
            file.sync_all().unwrap();
            // Drop its (clean) pages from the cache.
            rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).unwrap();
        }
        let handle = File::open(dir.path()).unwrap();
        let names = [c"small", c"large"];
        let outcomes = hash_batch(
            std::os::fd::AsFd::as_fd(&handle),
            &names,
            &AtomicBool::new(true),
            &[Algorithm::Sha256],
            &|i| dir.path().join(format!("#{i}")),
        );
        let Some(outcomes) = outcomes else {
            return; // no io_uring here
        };
        for outcome in outcomes {
            assert!(
                !matches!(outcome, Some(Err(_))),
                "{:?}",
                outcome.map(|o| o.err().map(|e| e.to_string()))
            );
        }
    }
}
