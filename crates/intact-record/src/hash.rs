//! The hashing engine: which files an argument list names, under which
//! artifact names, with which digests (../shared/in-toto-spec.md §6.2-6.3).
//!
//! Walking and hashing run together on all cores (see `walk.rs`), with
//! one 256 KiB buffer per thread, so memory does not grow with file sizes. Where
//! the reference silently skips (missing paths) or hangs (symlink loops)
//! we stop with an error naming the path.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use intact_model::{ArtifactName, Artifacts, DigestSet};
use rayon::slice::ParallelSliceMut;
use rustix::fs::FileType;

pub use crate::digest::hash_file;
use crate::normalize::normpath;
use crate::report::{FileKind, RecordWarning, Reporter};
use crate::walk::Walk;

/// The reference's default exclude patterns.
pub const DEFAULT_EXCLUDES: [&str; 4] = ["*.link*", ".git", "*.pyc", "*~"];

/// Digest algorithms the recorder can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// `sha256`, the reference's only algorithm (needed for MATCH).
    Sha256,
    /// `sha512`.
    Sha512,
}

/// How artifacts are recorded.
#[derive(Clone)]
pub struct HashOptions {
    /// Resolve relative paths against this directory (names stay relative).
    pub base_path: Option<PathBuf>,
    /// gitignore-style patterns; `None` means [`DEFAULT_EXCLUDES`]. Given
    /// patterns replace the defaults, as in the reference.
    pub excludes: Option<Vec<String>>,
    /// Prefixes removed from recorded names (first match wins).
    pub lstrip_paths: Vec<String>,
    /// Digests to record.
    pub algorithms: Vec<Algorithm>,
    /// Skip missing paths instead of failing (the reference's behaviour).
    pub allow_missing: bool,
    /// Told of progress and warnings as recording goes (see
    /// [`Reporter`]); `None` reports nothing.
    pub reporter: Option<Arc<dyn Reporter>>,
}

impl fmt::Debug for HashOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashOptions")
            .field("base_path", &self.base_path)
            .field("excludes", &self.excludes)
            .field("lstrip_paths", &self.lstrip_paths)
            .field("algorithms", &self.algorithms)
            .field("allow_missing", &self.allow_missing)
            .field("reporter", &self.reporter.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Default for HashOptions {
    fn default() -> Self {
        HashOptions {
            base_path: None,
            excludes: None,
            lstrip_paths: Vec::new(),
            algorithms: vec![Algorithm::Sha256],
            allow_missing: false,
            reporter: None,
        }
    }
}

impl HashOptions {
    /// The exclude patterns in effect: the given ones or the defaults.
    pub fn exclude_patterns(&self) -> Vec<String> {
        match &self.excludes {
            Some(p) => p.clone(),
            None => DEFAULT_EXCLUDES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Why recording failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// A path to record does not exist.
    #[error("{0}: no such file or directory (pass --allow-missing to skip it)")]
    Missing(String),
    /// A file or directory could not be read.
    #[error("{path}: {cause}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        cause: std::io::Error,
    },
    /// Following symbolic links leads back to an ancestor directory.
    #[error("{0}: symbolic link loop")]
    SymlinkLoop(String),
    /// Directories nest deeper than the walk goes (each level is a stack
    /// frame of the parallel walk).
    #[error("{0}: directories nest deeper than {max} levels", max = crate::walk::MAX_DEPTH)]
    TooDeep(String),
    /// A name that is not UTF-8 cannot be an artifact name.
    #[error("{0}: file name is not valid UTF-8")]
    NotUtf8(String),
    /// An exclude pattern does not parse.
    #[error("exclude pattern {pattern:?}: {reason}")]
    BadExclude {
        /// The pattern.
        pattern: String,
        /// The parser's complaint.
        reason: String,
    },
    /// lstrip prefixes overlap, or stripping makes two names equal.
    #[error("{0}")]
    Prefix(String),
    /// [`hash_file`] was given a FIFO, socket or device, which it does
    /// not read (recording skips them with a [`RecordWarning`]).
    #[error("{path}: {kind}, not a regular file")]
    NotRegular {
        /// The path.
        path: String,
        /// What it is.
        kind: FileKind,
    },
    /// A `dir:` or `ostree:` argument could not be recorded.
    #[error(transparent)]
    Resolve(#[from] crate::resolver::ResolveError),
}

/// An I/O error naming the path it happened on.
pub(crate) fn io(path: &Path, cause: impl Into<std::io::Error>) -> HashError {
    HashError::Io {
        path: path.display().to_string(),
        cause: cause.into(),
    }
}

/// Compiled gitignore-style exclude patterns, matched as the recorder
/// matches them; public so that other checks (git provenance) exclude
/// exactly what recording excluded.
#[derive(Debug)]
pub struct Excludes {
    matcher: Gitignore,
    /// The patterns are [`DEFAULT_EXCLUDES`], for which a name can be
    /// cleared without the matcher (see [`may_match_defaults`]).
    defaults: bool,
}

/// Whether a name whose last component is `base` could match one of
/// [`DEFAULT_EXCLUDES`] (`*.link*`, `.git`, `*.pyc`, `*~`, each matched
/// against the last component as gitignore does for patterns without a
/// slash). `false` is certain; `true` asks the matcher. Asking it for
/// every file was 4% of recording 10,000 small files.
fn may_match_defaults(base: &str) -> bool {
    base.contains(".link") || base == ".git" || base.ends_with(".pyc") || base.ends_with('~')
}

impl Excludes {
    /// Compile `patterns` (gitignore syntax, anchored at the recording root).
    pub fn new(patterns: &[String]) -> Result<Self, HashError> {
        let mut b = GitignoreBuilder::new("");
        for p in patterns {
            b.add_line(None, p).map_err(|e| HashError::BadExclude {
                pattern: p.clone(),
                reason: e.to_string(),
            })?;
        }
        let g = b.build().map_err(|e| HashError::BadExclude {
            pattern: patterns.join(" "),
            reason: e.to_string(),
        })?;
        let defaults = patterns.iter().map(String::as_str).eq(DEFAULT_EXCLUDES);
        Ok(Excludes {
            matcher: g,
            defaults,
        })
    }

    /// Whether the recorded (normalised) name is excluded. Patterns are
    /// anchored at the recording root; absolute names are matched without
    /// their leading slash.
    pub fn excludes(&self, name: &str, is_dir: bool) -> bool {
        let rel = name.trim_start_matches('/');
        if rel.is_empty() || rel == "." {
            return false;
        }
        self.matcher
            .matched_path_or_any_parents(rel, is_dir)
            .is_ignore()
    }

    /// As [`Excludes::excludes`] for a path met during a walk, whose parent
    /// directories were already checked (excluded ones are pruned).
    pub(crate) fn excludes_walked(&self, name: &str, is_dir: bool) -> bool {
        let rel = name.trim_start_matches('/');
        if self.defaults && !may_match_defaults(rel.rsplit('/').next().unwrap_or(rel)) {
            return false;
        }
        !rel.is_empty() && self.matcher.matched(rel, is_dir).is_ignore()
    }
}

/// Record the artifacts `paths` name, as the reference would: file
/// arguments walked file by file, `dir:` and `ostree:` arguments by their
/// resolvers ([`crate::resolver`]).
pub fn record_artifacts(paths: &[String], opts: &HashOptions) -> Result<Artifacts, HashError> {
    // Tells the reporter this call ended, however it ends.
    struct Finished<'a>(Option<&'a dyn Reporter>);
    impl Drop for Finished<'_> {
        fn drop(&mut self) {
            if let Some(r) = self.0 {
                r.finished();
            }
        }
    }
    let _finished = Finished(opts.reporter.as_deref());
    check_lstrip(&opts.lstrip_paths)?;
    crate::resolver::record_artifacts(paths, opts)
}

/// Record file arguments (`PATH`, `file:PATH`): the reference's file
/// resolver.
pub(crate) fn record_files(paths: &[String], opts: &HashOptions) -> Result<Artifacts, HashError> {
    let excludes = Excludes::new(&opts.exclude_patterns())?;
    let base = opts.base_path.clone().unwrap_or_else(|| PathBuf::from("."));
    let reporter = opts.reporter.as_deref();
    let warn = |path: &Path, kind: FileKind| {
        if let Some(r) = reporter {
            r.warning(&RecordWarning::Skipped {
                path: path.display().to_string(),
                kind,
            });
        }
    };
    let walk = Walk::new(&excludes, &opts.algorithms, reporter);
    // In argument order: later arguments overwrite earlier ones.
    let mut recorded: Vec<(ArtifactName, DigestSet)> = Vec::new();
    let named = |name: String| ArtifactName::new(name).map_err(HashError::Prefix);
    for arg in paths {
        let (scheme, path) = match arg.strip_prefix("file:") {
            Some(rest) => ("file:", rest),
            None => ("", arg.as_str()),
        };
        let norm = normpath(path);
        let fs_path = base.join(&norm);
        // std::fs: the error becomes HashError::Io (or Missing), naming the path.
        #[allow(clippy::disallowed_methods)]
        let meta = match std::fs::metadata(&fs_path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if opts.allow_missing {
                    continue;
                }
                return Err(HashError::Missing(arg.clone()));
            }
            Err(e) => return Err(io(&fs_path, e)),
        };
        if excludes.excludes(&norm, meta.is_dir()) {
            continue;
        }
        if meta.is_file() {
            let digests = match hash_file(&fs_path, &opts.algorithms) {
                Ok(digests) => digests,
                // Replaced since the `stat` above.
                Err(HashError::NotRegular { kind, .. }) => {
                    warn(&fs_path, kind);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Some(r) = reporter {
                r.files_hashed(1);
            }
            recorded.push((named(format!("{scheme}{norm}"))?, digests));
        } else if meta.is_dir() {
            let prefix = if norm == "." { "" } else { norm.as_str() };
            let mut files = walk.run(&fs_path, prefix)?;
            if !scheme.is_empty() {
                // Excludes matched the names without the scheme.
                for (name, _) in &mut files {
                    *name = named(format!("{scheme}{name}"))?;
                }
            }
            if recorded.is_empty() {
                // The usual single argument: no copy of 100,000 entries.
                recorded = files;
            } else {
                recorded.append(&mut files);
            }
        } else if let Some(kind) = FileKind::of(FileType::from_raw_mode(meta.mode())) {
            // Named, but a FIFO, socket or device: never opened.
            warn(&fs_path, kind);
        }
    }
    // Sorted by name, a later argument's digests winning; one directory
    // argument comes out of the walk sorted, and then this only checks.
    let artifacts: Artifacts = recorded.into_iter().collect();
    apply_lstrip(artifacts, &opts.lstrip_paths)
}

fn check_lstrip(prefixes: &[String]) -> Result<(), HashError> {
    for (i, a) in prefixes.iter().enumerate() {
        for b in prefixes.iter().skip(i + 1) {
            if a.starts_with(b.as_str()) || b.starts_with(a.as_str()) {
                return Err(HashError::Prefix(format!(
                    "lstrip prefixes {a:?} and {b:?} overlap; give only one of them"
                )));
            }
        }
    }
    Ok(())
}

/// Strip the first matching prefix from each name; two names that become
/// equal are an error, as silently keeping one would drop an artifact.
fn apply_lstrip(artifacts: Artifacts, prefixes: &[String]) -> Result<Artifacts, HashError> {
    if prefixes.is_empty() {
        return Ok(artifacts);
    }
    // (stripped name, digests, name as recorded)
    let mut out: Vec<(ArtifactName, DigestSet, ArtifactName)> = Vec::with_capacity(artifacts.len());
    for (name, digests) in artifacts {
        let unix = name.as_str().replace('\\', "/");
        // A `file:` name is stripped after its scheme, which is kept, as
        // the reference's file resolver does.
        let (scheme, path) = match unix.strip_prefix("file:") {
            Some(rest) => ("file:", rest),
            None => ("", unix.as_str()),
        };
        let stripped = prefixes
            .iter()
            .find_map(|p| path.strip_prefix(p.as_str()))
            .unwrap_or(path);
        let new = ArtifactName::new(format!("{scheme}{stripped}")).map_err(|_| {
            HashError::Prefix(format!(
                "stripping a prefix from {:?} leaves an empty name",
                name.as_str()
            ))
        })?;
        out.push((new, digests, name));
    }
    out.par_sort_by(|a, b| a.0.cmp(&b.0));
    for pair in out.windows(2) {
        if let [(a, _, a_was), (b, _, b_was)] = pair {
            if a == b {
                let original = if a_was.as_str() == a.as_str() {
                    b_was
                } else {
                    a_was
                };
                return Err(HashError::Prefix(format!(
                    "stripping a prefix from {:?} gives {:?}, which is already recorded",
                    original.as_str(),
                    a.as_str()
                )));
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|(name, digests, _)| (name, digests))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn defaults() -> Excludes {
        let patterns: Vec<String> = DEFAULT_EXCLUDES.iter().map(|p| p.to_string()).collect();
        let excludes = Excludes::new(&patterns).unwrap();
        assert!(excludes.defaults);
        excludes
    }

    /// The shortcut only clears names the matcher would not exclude.
    fn agrees(excludes: &Excludes, name: &str) {
        let base = name.rsplit('/').next().unwrap_or(name);
        for is_dir in [false, true] {
            let matched = excludes.matcher.matched(name, is_dir).is_ignore();
            if matched {
                assert!(may_match_defaults(base), "{name:?} is excluded");
            }
            assert_eq!(excludes.excludes_walked(name, is_dir), matched, "{name:?}");
        }
    }

    #[test]
    fn the_default_excludes_shortcut_agrees_with_the_matcher() {
        let excludes = defaults();
        for name in [
            "a.link",
            "x.link-unfinished",
            ".link",
            "a/.git",
            ".git",
            ".gitignore",
            "b.pyc",
            "b.pyc.txt",
            "notes~",
            "~x",
            "d.link/e",
            "dir/f.py",
            "link",
            "a/b/c.LINK",
            "p.pycx",
        ] {
            agrees(&excludes, name);
        }
        assert!(excludes.excludes_walked("sub/old.link", false));
        assert!(!excludes.excludes_walked("sub/main.c", false));
    }

    #[test]
    fn other_patterns_always_ask_the_matcher() {
        let excludes = Excludes::new(&["*.c".to_string()]).unwrap();
        assert!(!excludes.defaults);
        assert!(excludes.excludes_walked("src/main.c", false));
    }

    proptest! {
        #[test]
        fn the_shortcut_never_clears_an_excluded_name(name in "[a-z.~/lnkgitpyc]{1,16}") {
            let name = name.trim_matches('/');
            prop_assume!(!name.is_empty() && !name.contains("//"));
            agrees(&defaults(), name);
        }
    }
}
