//! A parallel walk that hashes as it goes.
//!
//! Each directory is one rayon task: it lists its entries, then hashes its
//! files and walks its subdirectories in parallel. Walking and hashing so
//! share all cores from the first directory on, instead of a sequential
//! walk followed by a parallel hash (which left the other cores idle for
//! the walk, about a third of the time on 100,000 small files). Symbolic
//! links are followed like the reference's `os.walk(followlinks=True)`;
//! a link back to an ancestor directory is an error instead of a hang.
//!
//! Entries are opened relative to their directory's descriptor (`openat`),
//! not by full path: the kernel then resolves one name instead of every
//! component of the path, which was a tenth of the time on small files.
//! Paths are only built for error messages. The price: each thread holds
//! one descriptor per directory level it is inside, up to [`MAX_DEPTH`],
//! which can pass a soft limit of 1,024 on very deep trees; programs raise
//! that limit with [`raise_open_file_limit`], as `intact` does.

use std::ffi::{CStr, OsStr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use intact_model::{ArtifactName, DigestSet};
use rayon::prelude::*;
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};

use crate::digest::{hash_open_file, hash_rest, open_for_reading, Begun};
use crate::hash::{io, Algorithm, Excludes, HashError};
use crate::report::{FileKind, RecordWarning, Reporter};

use crate::batch::BATCH;

/// Deepest directory nesting walked. The walk recurses (one rayon task per
/// directory), so an adversarial tree must not exhaust the stack; in-toto's
/// own recursive walk stops near Python's recursion limit of 1,000.
pub(crate) const MAX_DEPTH: usize = 512;

/// Stack of each walking thread: room for [`MAX_DEPTH`] levels even in
/// unoptimised builds.
const WALK_STACK: usize = 64 << 20;

/// Raise this process's soft limit on open files to its hard limit, as
/// the Go runtime does for every program: a deep walk holds a descriptor
/// per directory level per thread. Best effort; a refusal changes nothing.
pub fn raise_open_file_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    // `None` is unlimited.
    let Some(current) = limit.current else {
        return;
    };
    // macOS refuses an unlimited soft limit; 10,240 is its OPEN_MAX (the
    // Go runtime's choice there too).
    for target in [limit.maximum, Some(10_240)] {
        if target.is_some_and(|t| t <= current) {
            continue;
        }
        let raised = Rlimit {
            current: target,
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return;
        }
    }
}

/// Identity of a directory (device, inode), to recognise it again
/// through a symlink.
type DirId = (u64, u64);

fn dir_id(st: &rustix::fs::Stat) -> DirId {
    // The field types differ between platforms; both fit in u64.
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    (st.st_dev as u64, st.st_ino as u64)
}

/// What one walk needs besides the directory.
pub(crate) struct Walk<'a> {
    excludes: &'a Excludes,
    algorithms: &'a [Algorithm],
    reporter: Option<&'a dyn Reporter>,
    /// Whether files are still opened with `O_NOATIME`. Recording a tree
    /// should not change it, and skipping the access-time update saved 3%
    /// on small files; the kernel allows the flag only to a file's owner,
    /// so the first refusal turns it off for the rest of the walk.
    noatime: AtomicBool,
}

impl<'a> Walk<'a> {
    pub fn new(
        excludes: &'a Excludes,
        algorithms: &'a [Algorithm],
        reporter: Option<&'a dyn Reporter>,
    ) -> Self {
        Walk {
            excludes,
            algorithms,
            reporter,
            noatime: AtomicBool::new(true),
        }
    }
}

fn child_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else if prefix.ends_with('/') {
        format!("{prefix}{name}")
    } else {
        format!("{prefix}/{name}")
    }
}

/// An entry to hash or descend into: its name in its directory and its
/// recorded name.
struct Entry {
    file_name: Box<CStr>,
    name: String,
}

impl Walk<'_> {
    /// Names (`prefix/…`) and digests of every file under `root`.
    ///
    /// Runs on a pool whose threads have stacks deep enough for
    /// [`MAX_DEPTH`] levels of recursion (address space, not memory: pages
    /// are only touched as deep as the tree goes).
    pub fn run(
        &self,
        root: &Path,
        prefix: &str,
    ) -> Result<Vec<(ArtifactName, DigestSet)>, HashError> {
        let fd = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io(root, e))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| io(root, e))?;
        let pool = rayon::ThreadPoolBuilder::new()
            .stack_size(WALK_STACK)
            .build()
            .map_err(|e| io(root, std::io::Error::other(e.to_string())))?;
        pool.install(|| self.dir(fd, root, prefix, &[dir_id(&st)]))
    }

    /// Names and digests of a batch of one directory's files, in order.
    fn hash_files(
        &self,
        fd: BorrowedFd<'_>,
        dir: &Path,
        files: &mut [Entry],
    ) -> Result<Vec<(ArtifactName, DigestSet)>, HashError> {
        let path = |i: usize| {
            let name = files.get(i).map_or(&b""[..], |e| e.file_name.to_bytes());
            dir.join(OsStr::from_bytes(name))
        };
        let names: Vec<&CStr> = files.iter().map(|e| &*e.file_name).collect();
        #[cfg(target_os = "linux")]
        let batch = crate::uring::hash_batch(fd, &names, &self.noatime, self.algorithms, &path);
        #[cfg(not(target_os = "linux"))]
        let batch = None;
        let begun = batch.unwrap_or_else(|| {
            crate::batch::read_batch(fd, &names, &self.noatime, self.algorithms, &path)
        });
        // `None`: not a regular file after all (replaced since it was
        // listed), not recorded.
        let finish = |i: usize, e: &Entry, begun| -> Result<Option<DigestSet>, HashError> {
            let hashed = match begun {
                Some(Ok(Begun::Done(digests))) => Ok(digests),
                Some(Ok(Begun::Rest(mut held, hashers))) => {
                    Ok(hash_rest(held.file(), *hashers, || path(i))?)
                }
                Some(Ok(Begun::Special(kind))) => Err(kind),
                Some(Err(e)) => return Err(e),
                // A file a batch left to the ordinary path.
                None => {
                    let file = open_for_reading(fd, &*e.file_name, &self.noatime)
                        .map_err(|err| io(&path(i), err))?;
                    hash_open_file(file, self.algorithms, || path(i))?
                }
            };
            Ok(hashed.map_or_else(|kind| self.skip(path(i), kind), Some))
        };
        // Files still to read (large ones, and any a batch left to the
        // ordinary path) are spread over the cores; finished ones are
        // only collected.
        let done = begun.iter().all(|b| matches!(b, Some(Ok(Begun::Done(_)))));
        let hashed: Vec<Option<DigestSet>> = if done {
            let pairs = files.iter().zip(begun).enumerate();
            pairs
                .map(|(i, (e, b))| finish(i, e, b))
                .collect::<Result<_, _>>()?
        } else {
            let pairs = files.par_iter().zip(begun).enumerate();
            pairs
                .map(|(i, (e, b))| finish(i, e, b))
                .collect::<Result<_, _>>()?
        };
        if let Some(r) = self.reporter {
            r.files_hashed(hashed.len() as u64);
        }
        // Named here, on the walking threads; a name is never empty.
        files
            .iter_mut()
            .zip(hashed)
            .filter_map(|(e, digests)| Some((e, digests?)))
            .map(|(e, digests)| {
                let name = ArtifactName::new(std::mem::take(&mut e.name));
                Ok((name.map_err(HashError::Prefix)?, digests))
            })
            .collect()
    }

    /// Warn that `path`, a `kind`, is not recorded; `None` for the
    /// caller's convenience.
    fn skip<T>(&self, path: std::path::PathBuf, kind: FileKind) -> Option<T> {
        if let Some(r) = self.reporter {
            r.warning(&RecordWarning::Skipped {
                path: path.display().to_string(),
                kind,
            });
        }
        None
    }

    fn dir(
        &self,
        fd: OwnedFd,
        dir: &Path,
        prefix: &str,
        ancestors: &[DirId],
    ) -> Result<Vec<(ArtifactName, DigestSet)>, HashError> {
        if ancestors.len() > MAX_DEPTH {
            return Err(HashError::TooDeep(dir.display().to_string()));
        }
        let mut listing = Dir::new(fd).map_err(|e| io(dir, e))?;
        let mut files: Vec<Entry> = Vec::new();
        let mut dirs: Vec<Entry> = Vec::new();
        while let Some(entry) = listing.read() {
            let entry = entry.map_err(|e| io(dir, e))?;
            let file_name = entry.file_name();
            let bytes = file_name.to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            let path = || dir.join(OsStr::from_bytes(bytes));
            let name = std::str::from_utf8(bytes)
                .map_err(|_| HashError::NotUtf8(path().display().to_string()))?;
            let name = child_name(prefix, name);
            let fd = listing.fd().map_err(|e| io(dir, e))?;
            let kind = match entry.file_type() {
                // Symbolic links are followed; file systems that do not
                // report types in listings get asked.
                FileType::Symlink | FileType::Unknown => {
                    match rustix::fs::statat(fd, file_name, AtFlags::empty()) {
                        Ok(st) => FileType::from_raw_mode(st.st_mode),
                        // A broken symbolic link: the reference skips it.
                        Err(rustix::io::Errno::NOENT) => continue,
                        Err(e) => return Err(io(&path(), e)),
                    }
                }
                kind => kind,
            };
            let entry = Entry {
                file_name: file_name.into(),
                name,
            };
            let is_dir = kind == FileType::Directory;
            if self.excludes.excludes_walked(&entry.name, is_dir) {
                continue;
            }
            match (is_dir, FileKind::of(kind)) {
                (true, _) => dirs.push(entry),
                (false, None) => files.push(entry),
                // FIFOs, sockets and devices: not artifacts, as in the
                // reference, and never opened (a FIFO's open waits for a
                // writer).
                (false, Some(kind)) => {
                    self.skip::<()>(path(), kind);
                }
            }
        }
        // Sorted here, where a directory's names are few and close in
        // memory, so that the whole walk comes out sorted; one sort of
        // every name at the end cost more, mostly in cache misses.
        files.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        for d in &mut dirs {
            d.name.push('/');
        }
        dirs.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        let fd = listing.fd().map_err(|e| io(dir, e))?;
        let (hashed, walked) = rayon::join(
            || {
                let mut files = files;
                files
                    .par_chunks_mut(BATCH)
                    .map(|chunk| self.hash_files(fd, dir, chunk))
                    .collect::<Result<Vec<_>, HashError>>()
                    .map(|batches| batches.into_iter().flatten().collect::<Vec<_>>())
            },
            || {
                dirs.into_par_iter()
                    .map(|e| {
                        let path = dir.join(OsStr::from_bytes(e.file_name.to_bytes()));
                        let sub = rustix::fs::openat(
                            fd,
                            &*e.file_name,
                            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                            Mode::empty(),
                        )
                        .map_err(|err| io(&path, err))?;
                        let st = rustix::fs::fstat(sub.as_fd()).map_err(|err| io(&path, err))?;
                        let id = dir_id(&st);
                        if ancestors.contains(&id) {
                            return Err(HashError::SymlinkLoop(path.display().to_string()));
                        }
                        let mut chain = ancestors.to_vec();
                        chain.push(id);
                        let files = self.dir(sub, &path, &e.name, &chain)?;
                        Ok((e.name, files))
                    })
                    .collect::<Result<Vec<_>, HashError>>()
            },
        );
        Ok(merge(hashed?, walked?))
    }
}

/// Interleave a directory's sorted files with its subdirectories' sorted
/// contents, by name. A subdirectory's key is its name with a trailing
/// `/`: everything under `a/` sorts after a file `a` and after `a.txt`
/// (`.` < `/`), and no file name can contain the `/`, so comparing keys
/// orders whole subtrees.
fn merge(
    files: Vec<(ArtifactName, DigestSet)>,
    dirs: Vec<(String, Vec<(ArtifactName, DigestSet)>)>,
) -> Vec<(ArtifactName, DigestSet)> {
    if dirs.is_empty() {
        return files;
    }
    let total = files.len() + dirs.iter().map(|(_, d)| d.len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    let mut files = files.into_iter().peekable();
    for (key, contents) in dirs {
        while let Some(file) = files.next_if(|(name, _)| name.as_str() < key.as_str()) {
            out.push(file);
        }
        out.extend(contents);
    }
    out.extend(files);
    out
}

#[cfg(test)]
// Tests may use std::fs.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_comes_out_sorted_by_recorded_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // `.` and `-` sort before `/`, `_` after: a file `a.txt` lies
        // between `a` and `a/…`, `a_b` after them all.
        for d in ["a", "a/b", "a-b", "a_b", "b"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "a.txt", "a/x", "a/b/y", "a/b.c", "a-b/z", "a_b/w", "ab", "b/a", "b0",
        ] {
            std::fs::write(root.join(f), f).unwrap();
        }
        let excludes = Excludes::new(&[]).unwrap();
        let walk = Walk::new(&excludes, &[Algorithm::Sha256], None);
        for prefix in ["", "top"] {
            let names: Vec<String> = walk
                .run(root, prefix)
                .unwrap()
                .into_iter()
                .map(|(n, _)| n.to_string())
                .collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted);
            assert_eq!(names.len(), 9);
        }
    }

    /// Names and both digests of everything under `root`, one per line.
    fn listing(root: &Path) -> String {
        let excludes = Excludes::new(&[]).unwrap();
        let algorithms = [Algorithm::Sha256, Algorithm::Sha512];
        let walk = Walk::new(&excludes, &algorithms, None);
        walk.run(root, "")
            .unwrap()
            .into_iter()
            .map(|(name, digests)| {
                let hex: Vec<String> = digests.iter().map(|(_, d)| d.to_string()).collect();
                format!("{name} {}\n", hex.join(" "))
            })
            .collect()
    }

    /// What the files hold, read and hashed without the walk.
    fn expected(root: &Path, dirs: &[&str]) -> String {
        use sha2::{Digest as _, Sha256, Sha512};
        let mut lines = Vec::new();
        for d in dirs {
            for entry in std::fs::read_dir(root.join(d)).unwrap() {
                let entry = entry.unwrap();
                let data = std::fs::read(entry.path()).unwrap();
                let name = format!("{d}/{}", entry.file_name().to_str().unwrap());
                let hex = |b: &[u8]| intact_model::Digest::from_bytes(b).to_string();
                let (a, b) = (hex(&Sha256::digest(&data)), hex(&Sha512::digest(&data)));
                lines.push(format!("{name} {a} {b}\n"));
            }
        }
        lines.sort();
        lines.concat()
    }

    #[test]
    fn both_batch_paths_record_what_the_files_hold() {
        // INTACT_IO_URING is read once per process: the batches without
        // io_uring run in a child process of this test binary.
        const ROOT: &str = "INTACT_WALK_COMPARE_ROOT";
        const OUT: &str = "INTACT_WALK_COMPARE_OUT";
        if let (Some(root), Some(out)) = (std::env::var_os(ROOT), std::env::var_os(OUT)) {
            std::fs::write(out, listing(Path::new(&root))).unwrap();
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Several batches per directory (and so closes still pending
        // from earlier batches), sizes around the first read's buffer,
        // empty files, and files that go on past it.
        for (d, count) in [("many", 100), ("few", 3), ("deep/er", 40)] {
            std::fs::create_dir_all(root.join(d)).unwrap();
            for i in 0..count {
                let size = match i % 7 {
                    0 => 0,
                    1 => 1,
                    2 => 16 * 1024 + 63,
                    3 => 16 * 1024 + 64,
                    4 => 16 * 1024 + 65,
                    5 => 300 * 1024 + i,
                    _ => 977 * i,
                };
                let data: Vec<u8> = (0..size).map(|k| (k * 31 + i) as u8).collect();
                std::fs::write(root.join(d).join(format!("f{i:03}")), data).unwrap();
            }
        }
        let ours = listing(root);
        assert_eq!(ours, expected(root, &["deep/er", "few", "many"]));
        let out = tempfile::tempdir().unwrap();
        let out = out.path().join("ordinary.txt");
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "walk::tests::both_batch_paths_record_what_the_files_hold",
                "--test-threads=1",
            ])
            .env("INTACT_IO_URING", "0")
            .env(ROOT, root)
            .env(OUT, &out)
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), ours);
    }

    #[test]
    fn the_open_file_limit_is_raised_to_the_hard_limit() {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        // Lowering the limit would disturb the tests running beside this
        // one, so the check runs in a child process of this test binary.
        if std::env::var_os("INTACT_RLIMIT_CHILD").is_none() {
            let status = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "walk::tests::the_open_file_limit_is_raised_to_the_hard_limit",
                    "--test-threads=1",
                ])
                .env("INTACT_RLIMIT_CHILD", "1")
                .status()
                .unwrap();
            assert!(status.success());
            return;
        }
        let limit = getrlimit(Resource::Nofile);
        let Some(max) = limit.maximum.filter(|&m| m > 64) else {
            return; // an unlimited or tiny hard limit: nothing to raise to
        };
        let low = Rlimit {
            current: Some(64),
            maximum: limit.maximum,
        };
        setrlimit(Resource::Nofile, low).unwrap();
        raise_open_file_limit();
        assert_eq!(getrlimit(Resource::Nofile).current, Some(max));
    }
}
