//! Digests of one file, read through fixed buffers so memory does not grow
//! with file size.
//!
//! Small files are read and hashed on the calling thread through one
//! buffer per thread. A file that proves large (more than
//! [`PIPELINE_AFTER`] bytes) has the rest of it read on a second thread
//! into a few rotating blocks while this one hashes: copying out of the
//! page cache then overlaps with hashing instead of adding to it, which on
//! one 1 GiB file was a sixth of the time.

use std::fs::File;
use std::io::Read;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;

use intact_model::{Digest, DigestSet};
use rustix::fs::{Mode, OFlags};
use sha2::{Digest as _, Sha256, Sha512};

use crate::hash::{io, Algorithm, HashError};
use crate::report::FileKind;

/// Bytes read on the hashing thread before reading moves to a second one:
/// a thread per small file would cost more than it saves.
const PIPELINE_AFTER: u64 = 8 << 20;

/// Size and number of the blocks a large file's reader fills ahead of
/// the hasher.
const BLOCK: usize = 1 << 20;
const BLOCKS: usize = 3;

thread_local! {
    /// One read buffer per hashing thread: allocating 256 KiB per file
    /// would mmap and unmap it for every one of 100,000 small files.
    static BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 256 * 1024]);
}

/// The digests being computed.
pub(crate) struct Hashers {
    sha256: Option<Sha256>,
    sha512: Option<Sha512>,
}

impl Hashers {
    pub(crate) fn new(algorithms: &[Algorithm]) -> Self {
        Hashers {
            sha256: algorithms.contains(&Algorithm::Sha256).then(Sha256::new),
            sha512: algorithms.contains(&Algorithm::Sha512).then(Sha512::new),
        }
    }

    pub(crate) fn update(&mut self, chunk: &[u8]) {
        if let Some(h) = &mut self.sha256 {
            h.update(chunk);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(chunk);
        }
    }

    pub(crate) fn finish(self) -> DigestSet {
        let mut set = DigestSet::new();
        if let Some(h) = self.sha256 {
            set.insert("sha256", Digest::from_bytes(&h.finalize()));
        }
        if let Some(h) = self.sha512 {
            set.insert("sha512", Digest::from_bytes(&h.finalize()));
        }
        set
    }
}

/// A file's hashing, begun in a batch (`batch.rs`, `uring.rs`).
pub(crate) enum Begun {
    /// The whole file was read.
    Done(DigestSet),
    /// The file goes on: read the rest from its position.
    Rest(Held, Box<Hashers>),
    /// Not a regular file (replaced since it was listed): not recorded.
    Special(FileKind),
}

/// Files held open between a batch's first reads and the ordinary code
/// that reads on, across all threads.
static HELD: AtomicUsize = AtomicUsize::new(0);

/// At most this many are held. A rayon thread waiting for its batch's
/// large files to be read runs other batches meanwhile, which hold their
/// own: without a bound a pile of them could pass the limit on open
/// files (128 was enough with 8 threads and 6,000 files of 16.1 KiB).
pub(crate) const MAX_HELD: usize = 64;

/// A file that goes on, counted in [`HELD`] while it is open.
pub(crate) struct Held(File);

impl Held {
    /// Hold `file`, or give it back when [`MAX_HELD`] are held already
    /// (the caller closes it and leaves the file to the ordinary path).
    pub(crate) fn new(file: File) -> Result<Held, File> {
        if HELD.fetch_add(1, Ordering::Relaxed) >= MAX_HELD {
            HELD.fetch_sub(1, Ordering::Relaxed);
            return Err(file);
        }
        Ok(Held(file))
    }

    pub(crate) fn file(&mut self) -> &mut File {
        &mut self.0
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        HELD.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Open `name` (relative to the directory `dir`) for reading, with
/// `O_NOATIME` while `noatime` holds: recording should not change the
/// tree. The kernel grants the flag only to a file's owner; the first
/// refusal clears `noatime`, so a walk asks once.
///
/// Files are listed as regular before they are opened, but one may be
/// replaced in between: `O_NONBLOCK` keeps the open of a FIFO (which
/// would wait for a writer) from waiting, and its reads too; it changes
/// nothing for regular files. What reads as empty or goes on past its
/// first read is then checked with [`special`] before it is recorded or
/// read on, so a FIFO or a device (`/dev/zero` never ends) is never
/// recorded or read without end.
pub(crate) fn open_for_reading<P: rustix::path::Arg + Copy>(
    dir: BorrowedFd<'_>,
    name: P,
    noatime: &AtomicBool,
) -> rustix::io::Result<File> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if noatime.load(Ordering::Relaxed) {
        match rustix::fs::openat(dir, name, flags | OFlags::NOATIME, Mode::empty()) {
            Err(rustix::io::Errno::PERM) => noatime.store(false, Ordering::Relaxed),
            other => return other.map(File::from),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = noatime; // O_NOATIME is Linux's
    rustix::fs::openat(dir, name, flags, Mode::empty()).map(File::from)
}

/// What an opened file is, when it is not a regular file.
pub(crate) fn special(file: &File) -> rustix::io::Result<Option<FileKind>> {
    let st = rustix::fs::fstat(file)?;
    Ok(FileKind::of(rustix::fs::FileType::from_raw_mode(
        st.st_mode,
    )))
}

/// Digests of the file at `path`; [`HashError::NotRegular`] for a FIFO,
/// socket or device, which is opened without waiting and not read.
pub fn hash_file(path: &Path, algorithms: &[Algorithm]) -> Result<DigestSet, HashError> {
    let file =
        open_for_reading(rustix::fs::CWD, path, &AtomicBool::new(true)).map_err(|e| io(path, e))?;
    hash_open_file(file, algorithms, || path.to_path_buf())?.map_err(|kind| HashError::NotRegular {
        path: path.display().to_string(),
        kind,
    })
}

/// Digests of an opened file, or (the inner `Err`) what it is when it is
/// not a regular file, then not read; `path` names it in an error.
pub(crate) fn hash_open_file(
    mut file: File,
    algorithms: &[Algorithm],
    path: impl Fn() -> PathBuf,
) -> Result<Result<DigestSet, FileKind>, HashError> {
    if let Some(kind) = special(&file).map_err(|e| io(&path(), e))? {
        return Ok(Err(kind));
    }
    hash_rest(&mut file, Hashers::new(algorithms), path).map(Ok)
}

/// Digests of a file whose first bytes `hashers` has seen, read on from
/// the file's position to its end.
pub(crate) fn hash_rest(
    file: &mut File,
    mut hashers: Hashers,
    path: impl Fn() -> PathBuf,
) -> Result<DigestSet, HashError> {
    let mut read = 0u64;
    let finished = BUFFER.with_borrow_mut(|buf| -> Result<bool, HashError> {
        loop {
            let n = read_some(file, buf).map_err(|e| io(&path(), e))?;
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                return Ok(true);
            };
            hashers.update(chunk);
            read += n as u64;
            if read >= PIPELINE_AFTER {
                return Ok(false);
            }
        }
    })?;
    if !finished {
        read_ahead(file, &mut hashers).map_err(|e| io(&path(), e))?;
    }
    Ok(hashers.finish())
}

/// One `read`, retried when a signal interrupts it (a recorder's own
/// child exiting sends one) rather than failing the whole recording.
pub(crate) fn read_some(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Hash the rest of `file`, read on a second thread into [`BLOCKS`]
/// blocks that travel to the hasher full and back empty.
fn read_ahead(file: &mut File, hashers: &mut Hashers) -> std::io::Result<()> {
    let (full_tx, full_rx) = sync_channel::<(Vec<u8>, usize)>(BLOCKS);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(BLOCKS);
    for _ in 0..BLOCKS {
        empty_tx
            .send(vec![0u8; BLOCK])
            .map_err(|_| std::io::Error::other("block queue closed"))?;
    }
    let reader_file = &mut *file;
    let threaded = std::thread::scope(|scope| {
        let reader = std::thread::Builder::new().spawn_scoped(scope, move || {
            // Ends at end of file or on an error; dropping `full_tx` then
            // ends the hasher's loop.
            while let Ok(mut block) = empty_rx.recv() {
                let n = read_some(reader_file, &mut block)?;
                if n == 0 || full_tx.send((block, n)).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let Ok(reader) = reader else {
            return None;
        };
        while let Ok((block, n)) = full_rx.recv() {
            hashers.update(block.get(..n).unwrap_or_default());
            // The reader may have stopped; then the block is not needed.
            let _ = empty_tx.send(block);
        }
        Some(
            reader
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("file reader thread panicked"))),
        )
    });
    if let Some(outcome) = threaded {
        return outcome;
    }
    // No second thread to be had: read on this one.
    let mut block = vec![0u8; BLOCK];
    loop {
        let n = read_some(file, &mut block)?;
        match block.get(..n).filter(|c| !c.is_empty()) {
            Some(chunk) => hashers.update(chunk),
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
// Tests may use std::fs.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn no_more_than_max_held_files_are_held_at_once() {
        let mut held = Vec::new();
        // Ends when a file is refused; without the bound, when the
        // system runs out of descriptors (and the unwrap fails).
        while let Ok(h) = Held::new(tempfile::tempfile().unwrap()) {
            held.push(h);
            assert!(held.len() <= MAX_HELD);
        }
        assert!(!held.is_empty());
        drop(held);
        assert!(Held::new(tempfile::tempfile().unwrap()).is_ok());
    }

    #[test]
    fn large_files_read_ahead_give_the_same_digests() {
        let dir = tempfile::tempdir().unwrap();
        let both = [Algorithm::Sha256, Algorithm::Sha512];
        let sizes = [
            0,
            1,
            PIPELINE_AFTER - 1,
            PIPELINE_AFTER,
            PIPELINE_AFTER + 3 * BLOCK as u64 + 17,
        ];
        for size in sizes {
            let data: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
            let path = dir.path().join(format!("f{size}"));
            std::fs::write(&path, &data).unwrap();
            let set = hash_file(&path, &both).unwrap();
            let hex = |bytes: &[u8]| Digest::from_bytes(bytes);
            assert_eq!(
                set.get("sha256"),
                Some(&hex(&Sha256::digest(&data))),
                "{size}"
            );
            assert_eq!(
                set.get("sha512"),
                Some(&hex(&Sha512::digest(&data))),
                "{size}"
            );
        }
    }
}
