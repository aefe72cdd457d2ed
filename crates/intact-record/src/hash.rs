//! The hashing engine: which files an argument list names, under which
//! artifact names, with which digests (../shared/in-toto-spec.md §6.2-6.3).
//!
//! Walking is sequential (it is cheap); hashing runs on all cores with
//! fixed 256 KiB buffers, so memory does not grow with file sizes. Where
//! the reference silently skips (missing paths) or hangs (symlink loops)
//! we stop with an error naming the path.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use intact_model::{ArtifactName, Artifacts, Digest, DigestSet};
use rayon::prelude::*;
use sha2::{Digest as _, Sha256, Sha512};

use crate::normalize::normpath;

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
#[derive(Debug, Clone)]
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
    /// Show a progress bar on a terminal.
    pub progress: bool,
}

impl Default for HashOptions {
    fn default() -> Self {
        HashOptions {
            base_path: None,
            excludes: None,
            lstrip_paths: Vec::new(),
            algorithms: vec![Algorithm::Sha256],
            allow_missing: false,
            progress: false,
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
}

fn io(path: &Path, cause: std::io::Error) -> HashError {
    HashError::Io {
        path: path.display().to_string(),
        cause,
    }
}

/// Compiled gitignore-style exclude patterns, matched as the recorder
/// matches them; public so that other checks (git provenance) exclude
/// exactly what recording excluded.
#[derive(Debug)]
pub struct Excludes(Gitignore);

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
        Ok(Excludes(g))
    }

    /// Whether the recorded (normalised) name is excluded. Patterns are
    /// anchored at the recording root; absolute names are matched without
    /// their leading slash.
    pub fn excludes(&self, name: &str, is_dir: bool) -> bool {
        let rel = name.trim_start_matches('/');
        if rel.is_empty() || rel == "." {
            return false;
        }
        self.0.matched_path_or_any_parents(rel, is_dir).is_ignore()
    }

    /// As [`Excludes::excludes`] for a path met during a walk, whose parent
    /// directories were already checked (excluded ones are pruned).
    fn excludes_walked(&self, name: &str, is_dir: bool) -> bool {
        let rel = name.trim_start_matches('/');
        !rel.is_empty() && self.0.matched(rel, is_dir).is_ignore()
    }
}

/// Record the artifacts `paths` name, as the reference would.
pub fn record_artifacts(paths: &[String], opts: &HashOptions) -> Result<Artifacts, HashError> {
    check_lstrip(&opts.lstrip_paths)?;
    let excludes = Excludes::new(&opts.exclude_patterns())?;
    let base = opts.base_path.clone().unwrap_or_else(|| PathBuf::from("."));
    // name -> file on disk; later arguments overwrite earlier ones.
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    for arg in paths {
        let (scheme, path) = match arg.strip_prefix("file:") {
            Some(rest) => ("file:", rest),
            None => ("", arg.as_str()),
        };
        let norm = normpath(path);
        let fs_path = base.join(&norm);
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
            files.insert(format!("{scheme}{norm}"), fs_path);
        } else if meta.is_dir() {
            walk(&fs_path, &norm, scheme, &excludes, &mut files)?;
        }
    }
    let named = apply_lstrip(files, &opts.lstrip_paths)?;
    hash_all(named, opts)
}

fn walk(
    root: &Path,
    norm: &str,
    scheme: &str,
    excludes: &Excludes,
    files: &mut BTreeMap<String, PathBuf>,
) -> Result<(), HashError> {
    let name_of = |p: &Path| -> Result<Option<String>, HashError> {
        let rel = p.strip_prefix(root).unwrap_or(p);
        let rel = rel
            .to_str()
            .ok_or_else(|| HashError::NotUtf8(p.display().to_string()))?;
        if rel.is_empty() {
            return Ok(None);
        }
        Ok(Some(if norm == "." {
            normpath(rel)
        } else {
            normpath(&format!("{norm}/{rel}"))
        }))
    };
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 || !e.file_type().is_dir() {
                return true;
            }
            match name_of(e.path()) {
                Ok(Some(n)) => !excludes.excludes_walked(&n, true),
                _ => true,
            }
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                if e.loop_ancestor().is_some() {
                    return Err(HashError::SymlinkLoop(path));
                }
                // A broken symbolic link: the reference skips it.
                if let Some(p) = e.path() {
                    if p.symlink_metadata()
                        .is_ok_and(|m| m.file_type().is_symlink())
                        && !p.exists()
                    {
                        continue;
                    }
                }
                let cause = e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("walk failed"));
                return Err(HashError::Io { path, cause });
            }
        };
        if !entry.file_type().is_file() {
            continue; // directories, FIFOs, sockets, devices
        }
        let Some(name) = name_of(entry.path())? else {
            continue;
        };
        if excludes.excludes_walked(&name, false) {
            continue;
        }
        files.insert(format!("{scheme}{name}"), entry.path().to_path_buf());
    }
    Ok(())
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

fn apply_lstrip(
    files: BTreeMap<String, PathBuf>,
    prefixes: &[String],
) -> Result<Vec<(String, PathBuf)>, HashError> {
    if prefixes.is_empty() {
        return Ok(files.into_iter().collect());
    }
    let mut out: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (name, path) in files {
        let name = name.replace('\\', "/");
        let stripped = prefixes
            .iter()
            .find_map(|p| name.strip_prefix(p.as_str()))
            .map_or(name.clone(), str::to_string);
        if out.contains_key(&stripped) {
            return Err(HashError::Prefix(format!(
                "stripping a prefix from {name:?} gives {stripped:?}, which is already recorded"
            )));
        }
        out.insert(stripped, path);
    }
    Ok(out.into_iter().collect())
}

fn hash_all(files: Vec<(String, PathBuf)>, opts: &HashOptions) -> Result<Artifacts, HashError> {
    let bar = (opts.progress && files.len() > 1000 && std::io::stderr().is_terminal())
        .then(|| indicatif::ProgressBar::new(files.len() as u64));
    let hashed: Result<Vec<(ArtifactName, DigestSet)>, HashError> = files
        .into_par_iter()
        .map(|(name, path)| {
            let digests = hash_file(&path, &opts.algorithms)?;
            if let Some(b) = &bar {
                b.inc(1);
            }
            let name = ArtifactName::new(name.clone()).map_err(|_| {
                HashError::Prefix(format!("{}: empty artifact name", path.display()))
            })?;
            Ok((name, digests))
        })
        .collect();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(hashed?.into_iter().collect())
}

/// Digests of one file, streamed through a fixed buffer.
pub fn hash_file(path: &Path, algorithms: &[Algorithm]) -> Result<DigestSet, HashError> {
    let mut file = File::open(path).map_err(|e| io(path, e))?;
    let mut s256 = algorithms.contains(&Algorithm::Sha256).then(Sha256::new);
    let mut s512 = algorithms.contains(&Algorithm::Sha512).then(Sha512::new);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| io(path, e))?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        if let Some(h) = &mut s256 {
            h.update(chunk);
        }
        if let Some(h) = &mut s512 {
            h.update(chunk);
        }
    }
    let mut set = DigestSet::new();
    if let Some(h) = s256 {
        set.insert("sha256", Digest::from_bytes(&h.finalize()));
    }
    if let Some(h) = s512 {
        set.insert("sha512", Digest::from_bytes(&h.finalize()));
    }
    Ok(set)
}
