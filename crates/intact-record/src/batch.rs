//! Small files read whole, a batch at a time, then hashed together.
//!
//! A directory's files are taken [`BATCH`] at a time: each is read into
//! its own slot of one buffer per thread (up to [`FIRST`] bytes, until a
//! read returns 0), and those that ended there are hashed together
//! (`finish_whole`: SHA-256 four files at a time where the CPU allows,
//! see `sha256x4`). A file that goes on keeps its descriptor and what was
//! hashed of it, and the ordinary code reads the rest. On Linux io_uring
//! does the same reading in two trips into the kernel per batch
//! (`uring.rs`); this is the same batch without it: other systems,
//! sandboxes that refuse io_uring (Docker's default seccomp profile), and
//! `INTACT_IO_URING=0`.

use std::cell::RefCell;
use std::ffi::CStr;
use std::fs::File;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use rustix::io::Errno;

use intact_model::{Digest, DigestSet};
use sha2::{Digest as _, Sha512};

use crate::digest::{open_for_reading, read_some, special, Begun, Hashers, Held};
use crate::hash::{io, Algorithm, HashError};
use crate::sha256x4::sha256_many;

/// Files per batch: small enough to spread a directory over the cores.
pub(crate) const BATCH: usize = 32;

/// Room for each file of a batch: files up to this size are read whole.
/// A batch fills all its slots before hashing them; with 64 KiB slots
/// every small file's bytes sat at the same offset modulo 64 KiB, on the
/// same cache sets, and hashing them was measurably slower. The odd 64
/// bytes keep consecutive slots off each other's sets.
pub(crate) const FIRST: usize = 16 * 1024 + 64;

/// A batch's outcome per file: begun (whole, or with the rest to read),
/// an error, or `None` for a file left to the ordinary path.
pub(crate) type Outcomes = Vec<Option<Result<Begun, HashError>>>;

thread_local! {
    /// The slots of this thread's batch.
    static SLOTS: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The outcome of a file that goes on past `read` (its first bytes, in
/// pieces): held open with what was hashed, or, when too many are held,
/// closed and left to the ordinary path (`None`). A file replaced by a
/// device since it was listed (`/dev/zero` goes on for ever) is not read
/// on (`Begun::Special`).
pub(crate) fn go_on(
    file: File,
    read: &[&[u8]],
    algorithms: &[Algorithm],
) -> Option<Result<Begun, HashError>> {
    match special(&file) {
        Ok(None) => {}
        Ok(Some(kind)) => return Some(Ok(Begun::Special(kind))),
        // The ordinary path asks again, and names the file in its error.
        Err(_) => return None,
    }
    let held = Held::new(file).ok()?;
    let mut hashers = Hashers::new(algorithms);
    read.iter().for_each(|piece| hashers.update(piece));
    Some(Ok(Begun::Rest(held, Box::new(hashers))))
}

/// Hash the files read to their end (`(index, contents)`), SHA-256 several
/// at a time (`sha256x4`), and put their digests into `outcomes`.
pub(crate) fn finish_whole(
    outcomes: &mut Outcomes,
    whole: &[(usize, &[u8])],
    algorithms: &[Algorithm],
) {
    let contents: Vec<&[u8]> = whole.iter().map(|&(_, data)| data).collect();
    let sha256 = algorithms
        .contains(&Algorithm::Sha256)
        .then(|| sha256_many(&contents));
    let sha512 = algorithms.contains(&Algorithm::Sha512);
    for (k, &(i, data)) in whole.iter().enumerate() {
        let mut set = DigestSet::new();
        if let Some(digest) = sha256.as_ref().and_then(|d| d.get(k)) {
            set.insert("sha256", Digest::from_bytes(digest));
        }
        if sha512 {
            set.insert("sha512", Digest::from_bytes(&Sha512::digest(data)));
        }
        if let Some(outcome) = outcomes.get_mut(i) {
            *outcome = Some(Ok(Begun::Done(set)));
        }
    }
}

/// Open, read and hash the regular files `names` in `dir`, opened with
/// `O_NOATIME` while `noatime` holds (see `open_for_reading`); `path`
/// names file `i` in an error.
pub(crate) fn read_batch(
    dir: BorrowedFd<'_>,
    names: &[&CStr],
    noatime: &AtomicBool,
    algorithms: &[Algorithm],
    path: &dyn Fn(usize) -> PathBuf,
) -> Outcomes {
    debug_assert!(names.len() <= BATCH);
    SLOTS.with_borrow_mut(|buf| {
        let needed = names.len() * FIRST;
        if buf.len() < needed {
            // Zeroed pages from the system, touched only as files fill
            // them.
            *buf = vec![0; needed.max(BATCH * FIRST)];
        }
        let slots = buf.get_mut(..needed).unwrap_or_default();
        let mut outcomes: Outcomes = Vec::with_capacity(names.len());
        // Files that ended within their slot: (index, length).
        let mut whole = Vec::with_capacity(names.len());
        for (i, (name, slot)) in names.iter().zip(slots.chunks_mut(FIRST)).enumerate() {
            let outcome = match open_for_reading(dir, *name, noatime) {
                // Out of descriptors: the ordinary path tries again when
                // this batch's are closed.
                Err(Errno::MFILE | Errno::NFILE) => None,
                Err(e) => Some(Err(io(&path(i), e))),
                Ok(mut file) => match fill(&mut file, slot) {
                    // A FIFO with a writer, swapped in since the listing:
                    // `O_NONBLOCK` made its read return instead of wait.
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => match special(&file) {
                        Ok(Some(kind)) => Some(Ok(Begun::Special(kind))),
                        _ => Some(Err(io(&path(i), e))),
                    },
                    Err(e) => Some(Err(io(&path(i), e))),
                    Ok(Some(0)) => empty(&file, i, &mut whole, path),
                    Ok(Some(len)) => {
                        whole.push((i, len));
                        None
                    }
                    Ok(None) => go_on(file, &[slot], algorithms),
                },
            };
            outcomes.push(outcome);
        }
        let slots = buf.get(..needed).unwrap_or_default();
        let whole: Vec<(usize, &[u8])> = whole
            .into_iter()
            .map(|(i, len)| (i, slots.get(i * FIRST..i * FIRST + len).unwrap_or_default()))
            .collect();
        finish_whole(&mut outcomes, &whole, algorithms);
        outcomes
    })
}

/// The outcome of a file that read as empty: a regular file is hashed
/// with the batch's whole files (`whole` gets it, the outcome is `None`
/// until then); a FIFO without a writer, or `/dev/null`, that replaced it
/// since it was listed reads empty too, and is not recorded.
pub(crate) fn empty(
    file: &File,
    i: usize,
    whole: &mut Vec<(usize, usize)>,
    path: &dyn Fn(usize) -> PathBuf,
) -> Option<Result<Begun, HashError>> {
    match special(file) {
        Ok(None) => {
            whole.push((i, 0));
            None
        }
        Ok(Some(kind)) => Some(Ok(Begun::Special(kind))),
        Err(e) => Some(Err(io(&path(i), e))),
    }
}

/// Read `file` into `slot`: `Some(length)` once a read returned 0 (the
/// end), `None` when the slot filled first.
fn fill(file: &mut File, slot: &mut [u8]) -> std::io::Result<Option<usize>> {
    let mut len = 0;
    while let Some(rest) = slot.get_mut(len..).filter(|r| !r.is_empty()) {
        match read_some(file, rest)? {
            0 => return Ok(Some(len)),
            n => len += n,
        }
    }
    Ok(None)
}

#[cfg(test)]
// Tests may use std::fs.
#[allow(clippy::disallowed_methods)]
pub(crate) mod tests {
    use super::*;
    use crate::digest::hash_rest;
    use sha2::Sha256;
    use std::ffi::CString;
    use std::os::fd::AsFd;

    #[test]
    fn whole_files_and_files_that_go_on_get_their_digests() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = [0, 1, 64, FIRST - 1, FIRST, FIRST + 1, 100_000, 5, 4096];
        let mut names = Vec::new();
        let mut contents = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let data: Vec<u8> = (0..*size).map(|k| (k * 7 + i) as u8).collect();
            std::fs::write(dir.path().join(format!("f{i}")), &data).unwrap();
            names.push(CString::new(format!("f{i}")).unwrap());
            contents.push(data);
        }
        names.push(CString::new("missing").unwrap());
        let names: Vec<&CStr> = names.iter().map(CString::as_c_str).collect();
        let handle = std::fs::File::open(dir.path()).unwrap();
        let path = |i: usize| dir.path().join(format!("#{i}"));
        let algorithms = [Algorithm::Sha256, Algorithm::Sha512];
        let outcomes = read_batch(
            handle.as_fd(),
            &names,
            &AtomicBool::new(true),
            &algorithms,
            &path,
        );
        assert_eq!(outcomes.len(), names.len());
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let Some(data) = contents.get(i) else {
                // The missing file: an error naming it.
                let err = outcome.unwrap().err().unwrap().to_string();
                assert!(err.contains(&format!("#{i}")), "{err}");
                continue;
            };
            let digests = match outcome.unwrap().unwrap() {
                Begun::Done(digests) => {
                    assert!(data.len() < FIRST, "{i}");
                    digests
                }
                Begun::Rest(mut held, hashers) => {
                    assert!(data.len() >= FIRST, "{i}");
                    hash_rest(held.file(), *hashers, || path(i)).unwrap()
                }
                Begun::Special(kind) => panic!("{kind} among regular files"),
            };
            let want = intact_model::Digest::from_bytes(&Sha256::digest(data));
            assert_eq!(digests.get("sha256"), Some(&want), "{i}");
            let want = intact_model::Digest::from_bytes(&Sha512::digest(data));
            assert_eq!(digests.get("sha512"), Some(&want), "{i}");
        }
    }

    /// A FIFO, `/dev/null` and `/dev/zero` under names listed as regular
    /// files (as if swapped in since): opened without waiting, and none is
    /// recorded or read on. `read` is `read_batch` or io_uring's batch.
    pub(crate) fn specials_in_a_batch_are_not_read(
        read: fn(&std::path::Path, &[&CStr]) -> Option<Outcomes>,
    ) {
        use crate::report::FileKind;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        rustix::fs::mkfifoat(rustix::fs::CWD, d.join("pipe"), 0o644.into()).unwrap();
        std::os::unix::fs::symlink("/dev/null", d.join("null")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.join("zero")).unwrap();
        std::fs::write(d.join("file"), b"x").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let names: Vec<CString> = ["pipe", "null", "zero", "file"]
                .iter()
                .map(|n| CString::new(*n).unwrap())
                .collect();
            let refs: Vec<&CStr> = names.iter().map(CString::as_c_str).collect();
            let kinds = read(&d, &refs).map(|outcomes| {
                outcomes
                    .into_iter()
                    .map(|o| match o {
                        Some(Ok(Begun::Special(kind))) => Some(kind),
                        Some(Ok(Begun::Done(_))) => None,
                        _ => panic!("neither special nor read whole"),
                    })
                    .collect::<Vec<_>>()
            });
            let _ = tx.send(kinds);
        });
        let kinds = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the batch did not return within 60 s");
        if let Some(kinds) = kinds {
            let device = Some(FileKind::CharDevice);
            assert_eq!(kinds, [Some(FileKind::Fifo), device, device, None]);
        }
    }

    #[test]
    fn fifos_and_devices_swapped_in_are_not_read() {
        specials_in_a_batch_are_not_read(|dir, names| {
            let handle = std::fs::File::open(dir).unwrap();
            let noatime = AtomicBool::new(true);
            let path = |_| PathBuf::new();
            Some(read_batch(
                handle.as_fd(),
                names,
                &noatime,
                &[Algorithm::Sha256],
                &path,
            ))
        });
    }
}
