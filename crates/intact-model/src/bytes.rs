//! A file read whole, big ones into memory backed by huge pages.
//!
//! A verifier reads tens of megabytes of links. Read into an ordinary
//! buffer, every 4 KiB page of it is faulted in while the kernel copies the
//! file: a third of the page faults of `intact verify` on the 50,000-
//! artifact benchmark, with 42% of its CPU time in the kernel. A big file
//! therefore goes into its own anonymous mapping that asks for transparent
//! huge pages, one fault per 2 MiB (faults 18,500 -> 11,300, runs 12%
//! faster back to back; docs/performance.md has the figures and their
//! limits). Where the kernel does not give huge pages, it is an ordinary
//! buffer.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::ops::Deref;

use memmap2::{MmapMut, MmapOptions};

/// Files smaller than one huge page gain nothing from a mapping.
const HUGE_PAGE: usize = 2 << 20;

/// The bytes of a file (or of anything else, [`From<Vec<u8>>`]).
pub struct FileBytes(Repr);

enum Repr {
    Heap(Vec<u8>),
    Mapped { map: MmapMut, len: usize },
}

impl FileBytes {
    /// Read `file` from its current position to its end.
    ///
    /// The size the file has now only sizes the buffer: a file that grows
    /// while it is read is read to its new end, one that shrinks to where
    /// it stops.
    pub fn read(file: &mut File) -> std::io::Result<FileBytes> {
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        read_sized(file, usize::try_from(size).unwrap_or(usize::MAX), u64::MAX)
    }

    /// Read at most `limit` bytes of `file` from its current position,
    /// believing it holds `size`: a file that grows while it is read stops
    /// at `limit`, so the caller can tell it was too long.
    /// [`crate::io::read_limited`] is the way to read a file by its path.
    pub fn read_at_most(file: &mut File, size: u64, limit: u64) -> std::io::Result<FileBytes> {
        let size = usize::try_from(size.min(limit)).unwrap_or(usize::MAX);
        read_sized(file, size, limit)
    }
}

/// [`FileBytes::read`] of a file believed to hold `size` bytes, reading
/// no more than `limit`.
fn read_sized(file: &mut File, size: usize, limit: u64) -> std::io::Result<FileBytes> {
    if size < HUGE_PAGE {
        let mut v = Vec::with_capacity(size.saturating_add(1));
        Read::take(&mut *file, limit).read_to_end(&mut v)?;
        return Ok(FileBytes(Repr::Heap(v)));
    }
    // Whole huge pages (the kernel aligns such mappings to them), and
    // room past the current size to see the end of the file.
    let cap = size
        .checked_add(HUGE_PAGE)
        .map(|n| n - n % HUGE_PAGE)
        .ok_or_else(|| std::io::Error::from(ErrorKind::OutOfMemory))?;
    let mut map = MmapOptions::new().len(cap).map_anon()?;
    // Only a hint: without it the pages are ordinary ones.
    #[cfg(target_os = "linux")]
    let _ = map.advise(memmap2::Advice::HugePage);
    let end = cap.min(usize::try_from(limit).unwrap_or(usize::MAX));
    let mut len = 0;
    loop {
        let Some(room) = map.get_mut(len..end).filter(|r| !r.is_empty()) else {
            // It grew past the mapping: go on in an ordinary buffer.
            let mut v = map.get(..len).unwrap_or_default().to_vec();
            Read::take(&mut *file, limit.saturating_sub(len as u64)).read_to_end(&mut v)?;
            return Ok(FileBytes(Repr::Heap(v)));
        };
        match file.read(room) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(FileBytes(Repr::Mapped { map, len }))
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Heap(v) => v,
            Repr::Mapped { map, len } => map.get(..*len).unwrap_or_default(),
        }
    }
}

impl AsRef<[u8]> for FileBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Vec<u8>> for FileBytes {
    fn from(v: Vec<u8>) -> Self {
        FileBytes(Repr::Heap(v))
    }
}

impl std::fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBytes")
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, Write};

    fn roundtrip(len: usize) {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&data).unwrap();
        f.rewind().unwrap();
        let got = FileBytes::read(&mut f).unwrap();
        assert_eq!(got.len(), len);
        assert!(*got == data[..], "contents differ at length {len}");
    }

    #[test]
    fn reads_small_and_big_files_whole() {
        for len in [
            0,
            1,
            4096,
            HUGE_PAGE - 1,
            HUGE_PAGE,
            HUGE_PAGE + 1,
            3 * HUGE_PAGE,
        ] {
            roundtrip(len);
        }
    }

    #[test]
    fn big_files_are_mapped_small_ones_not() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![7u8; HUGE_PAGE]).unwrap();
        f.rewind().unwrap();
        assert!(matches!(
            FileBytes::read(&mut f).unwrap().0,
            Repr::Mapped { .. }
        ));
        f.set_len(10).unwrap();
        f.rewind().unwrap();
        assert!(matches!(FileBytes::read(&mut f).unwrap().0, Repr::Heap(_)));
    }

    #[test]
    fn a_file_that_grew_or_shrank_since_its_size_was_taken_is_read_whole() {
        let data: Vec<u8> = (0..3 * HUGE_PAGE + 7).map(|i| (i % 13) as u8).collect();
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&data).unwrap();
        for believed in [HUGE_PAGE, 2 * HUGE_PAGE - 1, 5 * HUGE_PAGE] {
            f.rewind().unwrap();
            let got = read_sized(&mut f, believed, u64::MAX).unwrap();
            assert!(*got == data[..], "believed {believed}: {} bytes", got.len());
        }
    }
}
