//! Artifact arguments with a scheme, as the reference's resolvers
//! (`in_toto/resolver`, in-toto 3.1.0) record them.
//!
//! An argument `SCHEME:REST` goes to the resolver registered for `SCHEME`
//! (the text before the first `:`); every other argument, including
//! `file:PATH` and names with an unknown scheme, is a file path
//! ([`crate::record_artifacts`]'s usual walk).
//!
//! - `dir:PATH` records the directory `PATH` as **one** artifact, named
//!   `dir:PATH` (not normalised; `--lstrip-paths` applies to `PATH`).
//!   Its digest is the SHA-256 of the lines `"<sha256 hex>  <name>\n"` of
//!   every file under it (names relative to `PATH`, the step's excludes
//!   applied to them, symbolic links followed, sorted by code point), the
//!   output of `find . -type f | cut -c3- | LC_ALL=C sort | xargs -r
//!   sha256sum | sha256sum`; an empty directory gives the SHA-256 of
//!   nothing. As in the reference, `PATH` is relative to the current
//!   directory, not to the base path.
//! - `ostree:REF` records an OSTree ref of the repository at the base path
//!   (or the current directory) by its commit object: the SHA-256 of the
//!   file `objects/<c[..2]>/<c[2..]>.commit`, where `c` is the checksum in
//!   `refs/heads/REF`. Named `ostree:REF`; excludes and lstrip prefixes do
//!   not apply.
//!
//! Both record only `sha256` (pinned by the reference), whatever other
//! algorithms the options ask for.

use std::io::Read;
use std::path::{Path, PathBuf};

use intact_model::{ArtifactName, Artifacts, Digest, DigestSet};
use rustix::fs::{Mode, OFlags};
use sha2::{Digest as _, Sha256};

use crate::hash::{Algorithm, Excludes, HashError, HashOptions};
use crate::normalize::normpath;
use crate::walk::Walk;

/// The scheme of the reference's directory resolver.
pub const DIR_SCHEME: &str = "dir";
/// The scheme of the reference's OSTree resolver.
pub const OSTREE_SCHEME: &str = "ostree";

/// The largest ref file read (a ref holds one 64-digit checksum).
const REF_MAX: u64 = 4096;

/// Which resolver records an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resolver {
    /// A file or directory walked file by file (`PATH`, `file:PATH`, or
    /// any scheme without a resolver).
    File,
    /// `dir:PATH`: a directory as one artifact.
    Dir,
    /// `ostree:REF`: an OSTree ref by its commit object.
    Ostree,
}

impl Resolver {
    /// The resolver for `arg`, as the reference's `Resolver.for_uri`
    /// chooses it: by the text before the first `:`.
    pub fn for_uri(arg: &str) -> Resolver {
        match arg.split_once(':') {
            Some((DIR_SCHEME, _)) => Resolver::Dir,
            Some((OSTREE_SCHEME, _)) => Resolver::Ostree,
            _ => Resolver::File,
        }
    }
}

/// Where an artifact argument lies on disk, for callers that look at the
/// files around a recording (git provenance): a file argument under
/// `base`, a `dir:` path as given (relative to the current directory, as
/// the reference resolves it), `None` for an OSTree ref (not a path).
pub fn local_path(arg: &str, base: &Path) -> Option<PathBuf> {
    match Resolver::for_uri(arg) {
        Resolver::File => {
            let p = arg.strip_prefix("file:").unwrap_or(arg);
            Some(base.join(normpath(p)))
        }
        Resolver::Dir => Some(PathBuf::from(strip_scheme(arg, DIR_SCHEME))),
        Resolver::Ostree => None,
    }
}

/// Why a `dir:` or `ostree:` argument could not be recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// `dir:PATH` where `PATH` is not a directory (or does not exist).
    #[error("{arg}: {path} is not a directory")]
    NotADirectory {
        /// The argument as given.
        arg: String,
        /// The path it names.
        path: String,
    },
    /// The ref of `ostree:REF` is not a ref name intact reads.
    #[error("{arg}: {reason}")]
    BadRef {
        /// The argument as given.
        arg: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An OSTree ref file or commit object could not be read.
    #[error("{arg}: {path}: {cause}")]
    Ostree {
        /// The argument as given.
        arg: String,
        /// The file.
        path: String,
        /// The OS error.
        cause: std::io::Error,
    },
    /// The ref file does not hold a commit checksum.
    #[error("{arg}: {path} does not hold an OSTree commit checksum (64 hex digits)")]
    NotAChecksum {
        /// The argument as given.
        arg: String,
        /// The ref file.
        path: String,
    },
    /// Two resolvers (or lstrip prefixes) give the same artifact name.
    #[error("{0:?} is recorded twice (by two arguments); give only one of them")]
    Duplicate(String),
}

fn strip_scheme<'a>(arg: &'a str, scheme: &str) -> &'a str {
    arg.get(scheme.len() + 1..).unwrap_or_default()
}

/// Record `paths` as the reference's `record_artifacts_as_dict` does:
/// each argument by its resolver, file arguments together (lstrip
/// duplicates are checked among them), then the `dir:` and `ostree:` ones.
pub fn record_artifacts(paths: &[String], opts: &HashOptions) -> Result<Artifacts, HashError> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    let mut refs = Vec::new();
    for p in paths {
        match Resolver::for_uri(p) {
            Resolver::File => files.push(p.clone()),
            Resolver::Dir => dirs.push(p.as_str()),
            Resolver::Ostree => refs.push(p.as_str()),
        }
    }
    let mut artifacts = crate::hash::record_files(&files, opts)?;
    if dirs.is_empty() && refs.is_empty() {
        return Ok(artifacts);
    }
    let mut add = |pairs: Vec<(ArtifactName, DigestSet)>| -> Result<(), HashError> {
        for (name, digests) in pairs {
            if artifacts.contains_key(name.as_str()) {
                return Err(ResolveError::Duplicate(name.to_string()).into());
            }
            artifacts.insert(name, digests);
        }
        Ok(())
    };
    add(hash_dirs(&dirs, opts)?)?;
    add(hash_ostree_refs(&refs, opts)?)?;
    Ok(artifacts)
}

/// `dir:PATH` arguments, each one artifact.
fn hash_dirs(
    args: &[&str],
    opts: &HashOptions,
) -> Result<Vec<(ArtifactName, DigestSet)>, HashError> {
    if args.is_empty() {
        return Ok(Vec::new());
    }
    let excludes = Excludes::new(&opts.exclude_patterns())?;
    let walk = Walk::new(&excludes, &[Algorithm::Sha256], opts.reporter.as_deref());
    let mut out: Vec<(ArtifactName, DigestSet)> = Vec::with_capacity(args.len());
    for arg in args {
        let path = strip_scheme(arg, DIR_SCHEME);
        // std::fs: the error becomes ResolveError::NotADirectory, naming the path.
        #[allow(clippy::disallowed_methods)]
        let is_dir = !path.is_empty() && std::fs::metadata(path).is_ok_and(|m| m.is_dir());
        if !is_dir {
            return Err(ResolveError::NotADirectory {
                arg: arg.to_string(),
                path: path.to_string(),
            }
            .into());
        }
        let files = walk.run(Path::new(path), "")?;
        let digest = dir_digest(&files);
        let unix = path.replace('\\', "/");
        let stripped = opts
            .lstrip_paths
            .iter()
            .find_map(|p| unix.strip_prefix(p.as_str()))
            .unwrap_or(&unix);
        let name =
            ArtifactName::new(format!("{DIR_SCHEME}:{stripped}")).map_err(HashError::Prefix)?;
        match out.iter_mut().find(|(n, _)| *n == name) {
            // Stripping made two directories one name: the reference
            // refuses that as it does for files.
            Some(_) if !opts.lstrip_paths.is_empty() => {
                return Err(HashError::Prefix(format!(
                    "stripping a prefix from {arg:?} gives {:?}, which is already recorded",
                    name.as_str()
                )));
            }
            // The same directory twice (no stripping): the later wins.
            Some(slot) => slot.1 = digest,
            None => out.push((name, digest)),
        }
    }
    Ok(out)
}

/// The reference's digest of a directory's files: SHA-256 over
/// `"<hex>  <name>\n"` lines sorted by name.
fn dir_digest(files: &[(ArtifactName, DigestSet)]) -> DigestSet {
    let mut lines: Vec<(&str, String)> = files
        .iter()
        .map(|(name, d)| {
            let hex = d
                .get("sha256")
                .map(|d| d.as_str().to_string())
                .unwrap_or_default();
            (name.as_str(), hex)
        })
        .collect();
    // Code point order, which is UTF-8 byte order: the reference sorts
    // with strcoll under LC_ALL=C.
    lines.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut h = Sha256::new();
    for (name, hex) in lines {
        h.update(hex.as_bytes());
        h.update(b"  ");
        h.update(name.as_bytes());
        h.update(b"\n");
    }
    DigestSet::single("sha256", Digest::from_bytes(&h.finalize()))
}

/// `ostree:REF` arguments, each the digest of the ref's commit object.
fn hash_ostree_refs(
    args: &[&str],
    opts: &HashOptions,
) -> Result<Vec<(ArtifactName, DigestSet)>, HashError> {
    let base = opts.base_path.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut out = Vec::with_capacity(args.len());
    for arg in args {
        let reference = strip_scheme(arg, OSTREE_SCHEME);
        check_ref(arg, reference)?;
        let ref_path = base.join("refs").join("heads").join(reference);
        let checksum = read_ref(arg, &ref_path)?;
        let (head, tail) = checksum.split_at(2);
        let object = base
            .join("objects")
            .join(head)
            .join(format!("{tail}.commit"));
        let digests = crate::hash_file(&object, &[Algorithm::Sha256]).map_err(|e| match e {
            HashError::Io { path, cause } => ResolveError::Ostree {
                arg: arg.to_string(),
                path,
                cause,
            }
            .into(),
            other => other,
        })?;
        let name =
            ArtifactName::new(format!("{OSTREE_SCHEME}:{reference}")).map_err(HashError::Prefix)?;
        out.push((name, digests));
    }
    Ok(out)
}

/// A ref must name a file under `refs/heads`: not empty, not absolute, no
/// `.` or `..` component (the reference would follow them out of the
/// repository).
fn check_ref(arg: &str, reference: &str) -> Result<(), HashError> {
    let reason = if reference.is_empty() {
        Some("the ref is empty")
    } else if reference.starts_with('/') {
        Some("the ref is an absolute path")
    } else if reference
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        Some("the ref has an empty, `.` or `..` component")
    } else if reference.contains('\0') {
        Some("the ref holds a NUL byte")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ResolveError::BadRef {
            arg: arg.to_string(),
            reason: reason.to_string(),
        }
        .into()),
        None => Ok(()),
    }
}

/// The commit checksum a ref file holds (newlines around it removed, as
/// the reference does); opened without waiting, regular files only.
fn read_ref(arg: &str, path: &Path) -> Result<String, HashError> {
    let err = |cause: std::io::Error| -> HashError {
        ResolveError::Ostree {
            arg: arg.to_string(),
            path: path.display().to_string(),
            cause,
        }
        .into()
    };
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        Mode::empty(),
    )
    .map_err(|e| err(e.into()))?;
    let file = std::fs::File::from(fd);
    if let Some(kind) = crate::digest::special(&file).map_err(|e| err(e.into()))? {
        return Err(HashError::NotRegular {
            path: path.display().to_string(),
            kind,
        });
    }
    let mut text = Vec::new();
    file.take(REF_MAX).read_to_end(&mut text).map_err(err)?;
    let checksum = std::str::from_utf8(&text)
        .ok()
        .map(|t| t.trim_matches('\n'))
        .filter(|c| {
            c.len() == 64
                && c.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
    match checksum {
        Some(c) => Ok(c.to_string()),
        None => Err(ResolveError::NotAChecksum {
            arg: arg.to_string(),
            path: path.display().to_string(),
        }
        .into()),
    }
}

#[cfg(test)]
// Tests may use std::fs.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn sha256_hex(data: &[u8]) -> String {
        Digest::from_bytes(&Sha256::digest(data)).to_string()
    }

    #[test]
    fn arguments_go_to_the_resolver_of_their_scheme() {
        assert_eq!(Resolver::for_uri("dir:src"), Resolver::Dir);
        assert_eq!(Resolver::for_uri("dir:"), Resolver::Dir);
        assert_eq!(Resolver::for_uri("ostree:main"), Resolver::Ostree);
        assert_eq!(Resolver::for_uri("file:dir:x"), Resolver::File);
        assert_eq!(Resolver::for_uri("DIR:src"), Resolver::File);
        assert_eq!(Resolver::for_uri("src/dir:x"), Resolver::File);
        assert_eq!(Resolver::for_uri("git+https://x"), Resolver::File);
    }

    #[test]
    fn a_directory_digest_is_sha256sum_of_sha256sum_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("tree");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("b.txt"), "b").unwrap();
        std::fs::write(d.join("sub/a.txt"), "a").unwrap();
        std::fs::write(d.join("Z"), "z").unwrap();
        std::fs::write(d.join("x.link"), "excluded by default").unwrap();
        let arg = format!("dir:{}", d.display());
        let got = record_artifacts(std::slice::from_ref(&arg), &HashOptions::default()).unwrap();
        // LC_ALL=C sort: `Z` < `b.txt` < `sub/a.txt`.
        let text = format!(
            "{}  Z\n{}  b.txt\n{}  sub/a.txt\n",
            sha256_hex(b"z"),
            sha256_hex(b"b"),
            sha256_hex(b"a")
        );
        let digests = got.get(arg.as_str()).unwrap();
        assert_eq!(
            digests.get("sha256").unwrap().to_string(),
            sha256_hex(text.as_bytes())
        );
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn an_empty_directory_is_the_digest_of_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let arg = format!("dir:{}", tmp.path().display());
        let got = record_artifacts(std::slice::from_ref(&arg), &HashOptions::default()).unwrap();
        let d = got
            .get(arg.as_str())
            .unwrap()
            .get("sha256")
            .unwrap()
            .to_string();
        assert_eq!(d, sha256_hex(b""));
    }

    #[test]
    fn dir_names_are_stripped_and_collisions_refused() {
        let tmp = tempfile::tempdir().unwrap();
        for d in ["a/x", "b/x"] {
            std::fs::create_dir_all(tmp.path().join(d)).unwrap();
        }
        let root = tmp.path().display().to_string();
        let opts = HashOptions {
            lstrip_paths: vec![format!("{root}/a/")],
            ..HashOptions::default()
        };
        let got = record_artifacts(&[format!("dir:{root}/a/x")], &opts).unwrap();
        assert!(got.contains_key("dir:x"));
        let opts = HashOptions {
            lstrip_paths: vec![format!("{root}/a/"), format!("{root}/b/")],
            ..HashOptions::default()
        };
        let both = [format!("dir:{root}/a/x"), format!("dir:{root}/b/x")];
        assert!(matches!(
            record_artifacts(&both, &opts),
            Err(HashError::Prefix(_))
        ));
    }

    #[test]
    fn a_dir_argument_that_is_no_directory_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("file");
        std::fs::write(&f, "x").unwrap();
        for arg in [
            format!("dir:{}", f.display()),
            format!("dir:{}/missing", tmp.path().display()),
            "dir:".to_string(),
        ] {
            let opts = HashOptions {
                allow_missing: true,
                ..HashOptions::default()
            };
            match record_artifacts(std::slice::from_ref(&arg), &opts) {
                Err(HashError::Resolve(ResolveError::NotADirectory { arg: a, .. })) => {
                    assert_eq!(a, arg)
                }
                other => panic!("{arg}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_name_two_resolvers_give_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().display().to_string();
        // The file `dir:x` and the directory `x`, both stripped to `dir:x`.
        std::fs::create_dir_all(tmp.path().join("pre/x")).unwrap();
        std::fs::write(tmp.path().join("pre/dir:x"), "f").unwrap();
        let opts = HashOptions {
            lstrip_paths: vec![format!("{root}/pre/")],
            ..HashOptions::default()
        };
        let args = [format!("{root}/pre/dir:x"), format!("dir:{root}/pre/x")];
        match record_artifacts(&args, &opts) {
            Err(HashError::Resolve(ResolveError::Duplicate(name))) => assert_eq!(name, "dir:x"),
            other => panic!("{other:?}"),
        }
    }

    /// An OSTree repository with one ref `main` at a commit object.
    fn ostree_repo(root: &Path, content: &[u8]) -> String {
        let checksum = sha256_hex(b"some commit");
        std::fs::create_dir_all(root.join("refs/heads")).unwrap();
        std::fs::write(root.join("refs/heads/main"), format!("{checksum}\n")).unwrap();
        let (a, b) = checksum.split_at(2);
        std::fs::create_dir_all(root.join("objects").join(a)).unwrap();
        std::fs::write(
            root.join("objects").join(a).join(format!("{b}.commit")),
            content,
        )
        .unwrap();
        checksum
    }

    #[test]
    fn an_ostree_ref_is_its_commit_objects_digest_under_the_base_path() {
        let tmp = tempfile::tempdir().unwrap();
        ostree_repo(tmp.path(), b"commit object");
        let opts = HashOptions {
            base_path: Some(tmp.path().into()),
            lstrip_paths: vec!["ma".into()],
            excludes: Some(vec!["*".into()]),
            ..HashOptions::default()
        };
        let got = record_artifacts(&["ostree:main".into()], &opts).unwrap();
        let d = got
            .get("ostree:main")
            .unwrap()
            .get("sha256")
            .unwrap()
            .to_string();
        assert_eq!(d, sha256_hex(b"commit object"));
    }

    #[test]
    fn bad_ostree_refs_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = HashOptions {
            base_path: Some(tmp.path().into()),
            ..HashOptions::default()
        };
        for r in [
            "ostree:",
            "ostree:../x",
            "ostree:/etc/passwd",
            "ostree:a//b",
        ] {
            assert!(
                matches!(
                    record_artifacts(&[r.into()], &opts),
                    Err(HashError::Resolve(ResolveError::BadRef { .. }))
                ),
                "{r}"
            );
        }
        // Missing ref, then a ref that holds no checksum, then a missing object.
        let missing = record_artifacts(&["ostree:main".into()], &opts);
        assert!(matches!(
            missing,
            Err(HashError::Resolve(ResolveError::Ostree { .. }))
        ));
        ostree_repo(tmp.path(), b"x");
        std::fs::write(tmp.path().join("refs/heads/junk"), "../../etc/passwd\n").unwrap();
        let junk = record_artifacts(&["ostree:junk".into()], &opts);
        assert!(matches!(
            junk,
            Err(HashError::Resolve(ResolveError::NotAChecksum { .. }))
        ));
        std::fs::write(
            tmp.path().join("refs/heads/gone"),
            format!("{}\n", "ab".repeat(32)),
        )
        .unwrap();
        let gone = record_artifacts(&["ostree:gone".into()], &opts);
        match gone {
            Err(HashError::Resolve(ResolveError::Ostree { path, .. })) => {
                assert!(path.ends_with(".commit"), "{path}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_ostree_ref_that_is_a_fifo_is_not_waited_on() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("refs/heads")).unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            tmp.path().join("refs/heads/main"),
            Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let opts = HashOptions {
            base_path: Some(tmp.path().into()),
            ..HashOptions::default()
        };
        assert!(matches!(
            record_artifacts(&["ostree:main".into()], &opts),
            Err(HashError::NotRegular { .. })
        ));
    }
}
