//! Recording side: which commit a step's files came from, written into the
//! link's `environment.git` (signed, and opaque to the reference's rules).
//!
//! Links recorded before this layout also carried a `git+<remote>@<ref>`
//! material with a `gitCommit` digest; [`RecordedGit::from_link`] still
//! reads them. New links do not: a classic layout whose material rules end
//! in `DISALLOW *` would refuse that material, and without a remote its
//! name held the recording machine's absolute path.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use git2::{Repository, StatusOptions};
use intact_model::git::{GIT_COMMIT_DIGEST, GIT_MATERIAL_PREFIX};
use intact_model::Link;
use intact_record::resolver::local_path;
use intact_record::{normpath, Excludes};
use serde::{Deserialize, Serialize};

use crate::GitError;

/// How many changed paths a `--require-clean` refusal lists.
const DIRTY_LISTED: usize = 5;

/// How many changed paths a link lists (the rest are counted).
const CHANGED_KEPT: usize = 1000;

/// The git facts of one step, as they are stored in `environment.git`.
///
/// `prefix` and `subdir` say how artifact names map onto the commit's
/// tree: the file `subdir + p` of the tree was recorded as `prefix + p`.
/// They let the verifier compare the two without guessing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedGit {
    /// The commit id HEAD pointed at.
    pub commit: String,
    /// Its tree id.
    pub tree: String,
    /// The branch HEAD was on (`refs/heads/main`), `None` when detached.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// `origin`'s URL with any credentials removed, when there is one and
    /// it names another machine (a local path is not recorded: it would
    /// put the recording machine's directories into a published link).
    pub remote: Option<String>,
    /// Whether the recorded part of the work tree differed from the commit.
    pub dirty: bool,
    /// The paths (relative to the repository root) that differed, when
    /// dirty: modified, deleted or untracked. At most 1,000 are listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// How many changed paths were not listed (beyond the first 1,000).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub changed_omitted: usize,
    /// Artifact-name prefix of the tree's root (`""` or ends with `/`).
    pub prefix: String,
    /// Tree path at the recording base (`""` or ends with `/`).
    pub subdir: String,
    /// The exclude patterns the step recorded with.
    pub excludes: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl RecordedGit {
    /// The git facts of a link, if it has any: `environment.git`, and in
    /// links recorded by earlier versions also a `gitCommit` material,
    /// which must then agree with it.
    pub fn from_link(link: &Link) -> Result<Option<RecordedGit>, String> {
        let material = link.materials.iter().find_map(|(name, d)| {
            name.as_str()
                .starts_with(GIT_MATERIAL_PREFIX)
                .then(|| d.get(GIT_COMMIT_DIGEST))
                .flatten()
        });
        let env = link.environment.get("git");
        match (material, env) {
            (None, None) => Ok(None),
            (Some(commit), None) => Ok(Some(RecordedGit {
                commit: commit.as_str().to_string(),
                tree: String::new(),
                reference: None,
                remote: None,
                dirty: false,
                changed: Vec::new(),
                changed_omitted: 0,
                prefix: String::new(),
                subdir: String::new(),
                excludes: intact_record::DEFAULT_EXCLUDES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            })),
            (None, Some(env)) => serde_json::from_value(env.clone())
                .map(Some)
                .map_err(|e| format!("environment.git: {e}")),
            (Some(commit), Some(env)) => {
                let recorded: RecordedGit = serde_json::from_value(env.clone())
                    .map_err(|e| format!("environment.git: {e}"))?;
                if recorded.commit != *commit.as_str() {
                    return Err(format!(
                        "the gitCommit material says {commit} but environment.git says {}",
                        recorded.commit
                    ));
                }
                Ok(Some(recorded))
            }
        }
    }
}

/// Git facts captured for a step, ready to attach to its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitFacts {
    /// What goes into `environment.git`.
    pub recorded: RecordedGit,
    /// The work tree they describe (never written into the link).
    pub workdir: PathBuf,
}

impl GitFacts {
    /// Add `environment.git` to `link`. No material is added: the
    /// artifacts stay what the step recorded, so that any layout's
    /// material rules hold as they would without git.
    pub fn attach(&self, link: &mut Link) -> Result<(), GitError> {
        let env = serde_json::to_value(&self.recorded)
            .map_err(|e| GitError::Facts(format!("environment.git: {e}")))?;
        link.environment.insert("git".into(), env);
        Ok(())
    }
}

/// How [`capture`] looks for a work tree and judges it.
#[derive(Debug, Clone, Default)]
pub struct CaptureOptions {
    /// The recorder's base path (names are relative to it); default `.`.
    pub base_path: Option<PathBuf>,
    /// The exclude patterns the step records with.
    pub excludes: Vec<String>,
    /// The recorder's lstrip prefixes.
    pub lstrip_paths: Vec<String>,
    /// Refuse a dirty work tree ([`GitError::Dirty`]) instead of
    /// recording it flagged `dirty: true`.
    pub require_clean: bool,
    /// Use this repository instead of looking around the paths (`--git`).
    pub repo: Option<PathBuf>,
    /// Look from the nearest existing parent directory of a path that does
    /// not exist (yet): a product the command will create in a checkout.
    pub from_parents: bool,
    /// The step's materials (recorder names): a changed path under one is
    /// always dirt.
    pub materials: Vec<String>,
    /// The step's products (recorder names): a changed path under one is
    /// the step's output, not dirt, unless it is also under a material or
    /// the work tree itself lies within the product (a clone).
    pub products: Vec<String>,
    /// Files and directories whose untracked contents are never dirt: the
    /// metadata directory, the signing key (with its `.pub` beside it). A
    /// tracked file under them that changed is dirt all the same.
    pub never_dirt: Vec<PathBuf>,
    /// The files the step writes (its link, its unfinished link): never
    /// dirt, tracked or not, since the step replaces them.
    pub writes: Vec<PathBuf>,
}

/// The git facts of the first of `paths` that lies in a work tree (or of
/// `opts.repo`); `None` when none does.
///
/// A work tree whose recorded part differs from HEAD (modified, deleted or
/// untracked files that the step's excludes do not exclude, other than
/// the step's products, link files and key files) is recorded with
/// `dirty: true` and the changed paths, or refused with
/// [`GitError::Dirty`] when `opts.require_clean`.
pub fn capture(paths: &[String], opts: &CaptureOptions) -> Result<Option<GitFacts>, GitError> {
    let base = opts.base_path.clone().unwrap_or_else(|| PathBuf::from("."));
    let repo = match &opts.repo {
        Some(dir) => {
            Some(Repository::open(dir).map_err(|e| GitError::git(dir, "not a git repository", e))?)
        }
        None => paths.iter().find_map(|p| {
            let mut fs = local_path(p, &base)?;
            if opts.from_parents {
                while !fs.exists() {
                    if !fs.pop() || fs.as_os_str().is_empty() {
                        fs = base.clone();
                        break;
                    }
                }
            }
            if !fs.exists() {
                return None;
            }
            Repository::discover(&fs)
                .ok()
                .filter(|r| r.workdir().is_some())
        }),
    };
    let Some(repo) = repo else {
        return Ok(None);
    };
    // A repository without a commit yet has nothing to claim; only an
    // explicit --git makes that an error.
    if opts.repo.is_none() && repo.head().is_err() {
        return Ok(None);
    }
    facts(&repo, &base, opts).map(Some)
}

/// The work tree (its root) the first of `paths` lies in, when it has a
/// commit: a cheap look without judging it, to tell after a command
/// whether its products landed in another work tree (a clone).
pub fn work_tree_of(paths: &[String], base_path: Option<&Path>) -> Option<PathBuf> {
    let base = base_path.unwrap_or_else(|| Path::new("."));
    paths.iter().find_map(|p| {
        let fs = local_path(p, base)?;
        let repo = Repository::discover(fs.exists().then_some(&fs)?).ok()?;
        repo.head().ok()?;
        // No error to report: a path that does not resolve has no tree.
        #[allow(clippy::disallowed_methods)]
        let root = repo.workdir()?.canonicalize().ok();
        root
    })
}

fn facts(repo: &Repository, base: &Path, opts: &CaptureOptions) -> Result<GitFacts, GitError> {
    let path = repo.path().to_path_buf();
    let workdir = repo
        .workdir()
        .ok_or_else(|| {
            GitError::Facts(format!(
                "{}: a bare repository has no work tree",
                path.display()
            ))
        })?
        .to_path_buf();
    let head = repo
        .head()
        .map_err(|e| GitError::git(&workdir, "HEAD has no commit", e))?;
    let commit = head
        .peel_to_commit()
        .map_err(|e| GitError::git(&workdir, "HEAD is not a commit", e))?;
    let reference = head
        .is_branch()
        .then(|| head.name().map(str::to_string))
        .flatten();
    let remote = repo
        .find_remote("origin")
        .ok()
        .and_then(|r| r.url().and_then(public_remote));
    let (prefix, subdir) = placement(&workdir, base, &opts.lstrip_paths)?;
    let dirt = Dirt::new(&workdir, base, opts)?;
    let changed: Vec<String> = changed_paths(repo, &workdir, &prefix, &subdir, &opts.excludes)?
        .into_iter()
        .filter(|(p, untracked)| !dirt.exempt(p, *untracked))
        .map(|(p, _)| p)
        .collect();
    if !changed.is_empty() && opts.require_clean {
        let mut listed: Vec<&str> = changed
            .iter()
            .take(DIRTY_LISTED)
            .map(String::as_str)
            .collect();
        if changed.len() > DIRTY_LISTED {
            listed.push("...");
        }
        return Err(GitError::Dirty {
            workdir,
            paths: listed.join(", "),
        });
    }
    let omitted = changed.len().saturating_sub(CHANGED_KEPT);
    Ok(GitFacts {
        recorded: RecordedGit {
            commit: commit.id().to_string(),
            tree: commit.tree_id().to_string(),
            reference,
            remote,
            dirty: !changed.is_empty(),
            changed: changed.into_iter().take(CHANGED_KEPT).collect(),
            changed_omitted: omitted,
            prefix,
            subdir,
            excludes: opts.excludes.clone(),
        },
        workdir,
    })
}

/// What does not count as dirt, in tree paths (relative to the work tree
/// root, `/`-separated; `""` is the whole tree).
struct Dirt {
    workdir: PathBuf,
    materials: Vec<String>,
    products: Vec<String>,
    /// Untracked paths under these are not dirt.
    never: Vec<String>,
    /// These paths are not dirt, tracked or not.
    writes: Vec<String>,
}

impl Dirt {
    fn new(workdir: &Path, base: &Path, opts: &CaptureOptions) -> Result<Dirt, GitError> {
        // std::fs: the error names the path.
        #[allow(clippy::disallowed_methods)]
        let canon = |p: &Path| {
            p.canonicalize()
                .map_err(|e| GitError::Facts(format!("{}: {e}", p.display())))
        };
        let workdir = canon(workdir)?;
        let base = canon(base)?;
        // A current directory that no longer resolves leaves relative
        // `dir:` paths and never-dirt paths out of the judgement.
        #[allow(clippy::disallowed_methods)]
        let cwd = Path::new(".").canonicalize().ok();
        let absolute = |p: &Path| match &cwd {
            _ if p.is_absolute() => Some(p.to_path_buf()),
            Some(cwd) => Some(cwd.join(p)),
            None => None,
        };
        // Where an artifact argument lies: `dir:` paths are relative to
        // the current directory, OSTree refs are no path.
        let fs_of = |name: &str| {
            local_path(name, &base)
                .and_then(|p| absolute(&p))
                .map(|p| lexical(&p))
        };
        let tree_of = |fs: &Path| fs.strip_prefix(&workdir).ok().map(tree_path);
        let materials = opts
            .materials
            .iter()
            .filter_map(|m| {
                let fs = fs_of(m)?;
                // A material that holds the whole tree makes all of it dirt.
                if workdir.starts_with(&fs) {
                    Some(String::new())
                } else {
                    tree_of(&fs)
                }
            })
            .collect();
        let products = opts
            .products
            .iter()
            .filter_map(|p| {
                let fs = fs_of(p)?;
                // A product that holds the work tree is the tree itself (a
                // clone, `-p .`): its changes are dirt.
                (!workdir.starts_with(&fs)).then(|| tree_of(&fs)).flatten()
            })
            .collect();
        // Resolved as git names them: the last component is not followed
        // (a symbolic link is itself the changed path), the directories
        // above it are. A path that does not resolve is not in the tree.
        let in_tree = |paths: &[PathBuf]| -> Vec<String> {
            paths
                .iter()
                .filter_map(|p| resolve_parent(&absolute(p)?))
                .filter_map(|p| tree_of(&p))
                .filter(|t| !t.is_empty())
                .collect()
        };
        let never = in_tree(&opts.never_dirt);
        let writes = in_tree(&opts.writes);
        Ok(Dirt {
            workdir,
            materials,
            products,
            never,
            writes,
        })
    }

    /// Whether the changed tree path `p` is not dirt: a product (not also
    /// a material) or a file the step writes; and when untracked, a link
    /// file, anything under the metadata directory, the signing key or its
    /// `.pub`, or a key file named as one ([`named_like_key`]). Nothing
    /// else hides a change to a tracked file.
    fn exempt(&self, p: &str, untracked: bool) -> bool {
        let under = |dir: &String| dir.is_empty() || p == dir || p.starts_with(&format!("{dir}/"));
        if self.writes.iter().any(|w| w == p) {
            return true;
        }
        if self.products.iter().any(under) && !self.materials.iter().any(under) {
            return true;
        }
        if !untracked {
            return false;
        }
        let name = p.rsplit('/').next().unwrap_or(p);
        if name.ends_with(".link") || name.ends_with(".link-unfinished") {
            return true;
        }
        if self.never.iter().any(under) {
            return true;
        }
        let fs = self.workdir.join(p);
        named_like_key(&fs) && is_key_file(&fs)
    }
}

/// `p` (absolute) with its directories resolved but not its last
/// component, after `.` and `..` are removed lexically.
fn resolve_parent(p: &Path) -> Option<PathBuf> {
    let p = lexical(p);
    // A path that does not resolve has no place in the tree.
    #[allow(clippy::disallowed_methods)]
    match (p.parent(), p.file_name()) {
        (Some(dir), Some(name)) => dir.canonicalize().ok().map(|d| d.join(name)),
        _ => p.canonicalize().ok(),
    }
}

/// Whether an untracked file is named as key files are: `*.pem`, `*.key`,
/// `*.pub`, or a name without extension beside a `NAME.pub` (the private
/// half as `in-toto-keygen` and `ssh-keygen` name it). Only such files
/// are looked into, so that no other file hides itself by starting with
/// a key's first line.
fn named_like_key(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            ["pem", "key", "pub"].contains(&ext.to_ascii_lowercase().as_str())
        }
        _ => {
            // Compared only: an error means no public half beside it.
            #[allow(clippy::disallowed_methods)]
            let public = std::fs::symlink_metadata(path.with_file_name(format!("{name}.pub")));
            public.is_ok_and(|m| m.is_file())
        }
    }
}

/// Whether `path` holds a key: PEM (`-----BEGIN ... KEY-----`), an
/// OpenSSH public key line, or a securesystemslib key (JSON with
/// `keytype` and `keyval`). Keys are never dirt, so that no message lists
/// a private key among files to commit.
///
/// The file is opened once, without following a symbolic link and
/// without waiting (`O_NONBLOCK`: a FIFO swapped in after git listed the
/// path does not block the open), and read only when the opened file is
/// a regular one.
fn is_key_file(path: &Path) -> bool {
    use rustix::fs::{FileType, Mode, OFlags};
    // Any error only means "not a key": no message names the path.
    let flags =
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK | OFlags::NOFOLLOW;
    let Ok(fd) = rustix::fs::open(path, flags, Mode::empty()) else {
        return false;
    };
    let regular = rustix::fs::fstat(&fd)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile);
    if !regular {
        return false;
    }
    let mut f = std::fs::File::from(fd);
    let mut head = [0u8; 4096];
    let mut n = 0;
    while n < head.len() {
        match f.read(head.get_mut(n..).unwrap_or_default()) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    let head = head.get(..n).unwrap_or_default();
    let text = String::from_utf8_lossy(head);
    if text.trim_start().starts_with('{')
        && text.contains("\"keytype\"")
        && text.contains("\"keyval\"")
    {
        return true;
    }
    let first = text.split('\n').next().unwrap_or_default();
    (first.starts_with("-----BEGIN ") && first.contains("KEY-----"))
        || [
            "ssh-ed25519 ",
            "ssh-rsa ",
            "ecdsa-sha2-",
            "sk-ssh-",
            "sk-ecdsa-",
        ]
        .iter()
        .any(|t| first.starts_with(t))
}

/// Resolve `.` and `..` without touching the file system (the path need
/// not exist yet).
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn tree_path(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Changed paths of the work tree that the step would record (under
/// `subdir`, not excluded), each with whether it is untracked.
fn changed_paths(
    repo: &Repository,
    workdir: &Path,
    prefix: &str,
    subdir: &str,
    excludes: &[String],
) -> Result<Vec<(String, bool)>, GitError> {
    let excludes = Excludes::new(excludes)?;
    let mut so = StatusOptions::new();
    so.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        // A submodule checked out at another commit than the one
        // recorded (or with changes inside) is a change like any other.
        .exclude_submodules(false);
    let statuses = repo
        .statuses(Some(&mut so))
        .map_err(|e| GitError::git(workdir, "reading the work tree status", e))?;
    Ok(statuses
        .iter()
        .filter_map(|s| {
            let untracked = s.status() == git2::Status::WT_NEW;
            s.path().map(|p| (p.to_string(), untracked))
        })
        .filter_map(|(p, untracked)| {
            let rel = p.strip_prefix(subdir)?.to_string();
            (!excludes.excludes(&format!("{prefix}{rel}"), false)).then_some((p, untracked))
        })
        .collect())
}

/// Where the work tree sits relative to the recording base: the artifact
/// name prefix of its root, or the tree path of the base.
fn placement(workdir: &Path, base: &Path, lstrip: &[String]) -> Result<(String, String), GitError> {
    // std::fs: the error names the path.
    #[allow(clippy::disallowed_methods)]
    let canon = |p: &Path| {
        p.canonicalize()
            .map_err(|e| GitError::Facts(format!("{}: {e}", p.display())))
    };
    let (workdir, base) = (canon(workdir)?, canon(base)?);
    let as_dir = |p: &Path| {
        let s = normpath(&p.to_string_lossy().replace('\\', "/"));
        if s == "." || s.is_empty() {
            String::new()
        } else {
            format!("{s}/")
        }
    };
    if let Ok(sub) = base.strip_prefix(&workdir) {
        return Ok((String::new(), as_dir(sub)));
    }
    let mut prefix = as_dir(&relative(&workdir, &base));
    if let Some(rest) = lstrip.iter().find_map(|p| prefix.strip_prefix(p.as_str())) {
        prefix = rest.to_string();
    }
    Ok((prefix, String::new()))
}

/// `target` relative to `from` (both absolute), with `..` where needed.
fn relative(target: &Path, from: &Path) -> PathBuf {
    let t: Vec<Component> = target.components().collect();
    let f: Vec<Component> = from.components().collect();
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in t.iter().skip(common) {
        out.push(c.as_os_str());
    }
    out
}

/// `origin`'s URL as it may be published: credentials removed, and
/// nothing for a remote on the local file system (`/srv/repo`, `../repo`,
/// `file:///srv/repo`), whose path is the recording machine's business.
fn public_remote(url: &str) -> Option<String> {
    if let Some((scheme, _)) = url.split_once("://") {
        if scheme.eq_ignore_ascii_case("file") {
            return None;
        }
        return Some(redact_url(url));
    }
    // scp-like `[user@]host:path` names another machine; a colon after
    // the first slash (or none at all) is a local path.
    let colon = url.find(':');
    let slash = url.find('/');
    match (colon, slash) {
        (Some(c), Some(s)) if c < s && c > 1 => Some(url.to_string()),
        (Some(c), None) if c > 1 => Some(url.to_string()),
        _ => None,
    }
}

/// Remove `user:password@` from a URL: tokens in remote URLs are common in
/// CI and must not end up in a signed, published link.
fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Tests may use std::fs.
mod tests {
    use super::*;

    #[test]
    fn credentials_are_removed_from_remote_urls() {
        assert_eq!(
            redact_url("https://x-access-token:ghs_secret@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            redact_url("https://github.com/o/r"),
            "https://github.com/o/r"
        );
        assert_eq!(
            redact_url("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
        assert_eq!(redact_url("ssh://git@host:22/r"), "ssh://host:22/r");
    }

    #[test]
    fn local_remotes_are_not_recorded() {
        assert_eq!(public_remote("/srv/git/project.git"), None);
        assert_eq!(public_remote("../project"), None);
        assert_eq!(public_remote("file:///home/ci/project"), None);
        assert_eq!(public_remote("FILE:///home/ci/project"), None);
        assert_eq!(public_remote("C:/work/project"), None);
        assert_eq!(
            public_remote("git@github.com:o/r.git").as_deref(),
            Some("git@github.com:o/r.git")
        );
        assert_eq!(
            public_remote("https://tok@github.com/o/r").as_deref(),
            Some("https://github.com/o/r")
        );
    }

    #[test]
    fn a_fifo_named_as_a_key_is_not_waited_on() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("k.pem");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .expect("mkfifo");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(is_key_file(&fifo));
        });
        let answer = rx.recv_timeout(std::time::Duration::from_secs(20));
        assert_eq!(answer, Ok(false));
    }

    #[test]
    fn a_symbolic_link_to_a_key_is_not_a_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("real.pem"), "-----BEGIN PRIVATE KEY-----\n")
            .expect("write");
        std::os::unix::fs::symlink("real.pem", dir.path().join("l.pem")).expect("symlink");
        assert!(is_key_file(&dir.path().join("real.pem")));
        assert!(!is_key_file(&dir.path().join("l.pem")));
    }

    #[test]
    fn relative_paths_climb_when_needed() {
        assert_eq!(
            relative(Path::new("/a/b/c"), Path::new("/a")),
            PathBuf::from("b/c")
        );
        assert_eq!(
            relative(Path::new("/a/x"), Path::new("/a/y/z")),
            PathBuf::from("../../x")
        );
    }
}
