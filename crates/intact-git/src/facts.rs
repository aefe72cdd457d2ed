//! Recording side: which commit a step's files came from, written into the
//! link as a `gitCommit` material plus `environment.git`.

use std::path::{Component, Path, PathBuf};

use git2::{Repository, StatusOptions};
use intact_model::git::{GIT_COMMIT_DIGEST, GIT_MATERIAL_PREFIX};
use intact_model::{ArtifactName, Digest, DigestSet, Link};
use intact_record::{normpath, Excludes};
use serde::{Deserialize, Serialize};

use crate::GitError;

/// How many changed paths a dirty-tree error lists.
const DIRTY_LISTED: usize = 5;

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
    /// `origin`'s URL with any credentials removed, when there is one.
    pub remote: Option<String>,
    /// Whether the recorded part of the work tree differed from the commit.
    pub dirty: bool,
    /// Artifact-name prefix of the tree's root (`""` or ends with `/`).
    pub prefix: String,
    /// Tree path at the recording base (`""` or ends with `/`).
    pub subdir: String,
    /// The exclude patterns the step recorded with.
    pub excludes: Vec<String>,
}

impl RecordedGit {
    /// The git facts of a link, if it has any: the commit of its
    /// `gitCommit` material and the environment, which must agree.
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
                prefix: String::new(),
                subdir: String::new(),
                excludes: intact_record::DEFAULT_EXCLUDES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            })),
            (None, Some(_)) => Err("environment.git without a gitCommit material".into()),
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
    /// The work tree they describe.
    pub workdir: PathBuf,
}

impl GitFacts {
    /// The material name: `git+<remote or file URL>@<ref or commit>`.
    pub fn material_name(&self) -> String {
        let r = &self.recorded;
        let location = r
            .remote
            .clone()
            .unwrap_or_else(|| format!("file://{}", self.workdir.display()));
        let at = r.reference.as_deref().unwrap_or(&r.commit);
        format!("{GIT_MATERIAL_PREFIX}{location}@{at}")
    }

    /// Add the material and `environment.git` to `link`.
    pub fn attach(&self, link: &mut Link) -> Result<(), GitError> {
        let digest = Digest::new(self.recorded.commit.clone())
            .map_err(|e| GitError::Facts(format!("commit id: {e}")))?;
        let name = ArtifactName::new(self.material_name())
            .map_err(|e| GitError::Facts(format!("material name: {e}")))?;
        link.materials
            .insert(name, DigestSet::single(GIT_COMMIT_DIGEST, digest));
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
    /// Record a dirty work tree (flagged) instead of refusing it.
    pub allow_dirty: bool,
    /// Use this repository instead of looking around the paths (`--git`).
    pub repo: Option<PathBuf>,
}

/// The git facts of the first of `paths` that lies in a work tree (or of
/// `opts.repo`); `None` when none does.
///
/// A work tree whose recorded part differs from HEAD (modified, deleted or
/// untracked files that the step's excludes do not exclude) is refused
/// unless `allow_dirty`: a link must not claim a commit its files are not.
pub fn capture(paths: &[String], opts: &CaptureOptions) -> Result<Option<GitFacts>, GitError> {
    let base = opts.base_path.clone().unwrap_or_else(|| PathBuf::from("."));
    let repo = match &opts.repo {
        Some(dir) => {
            Some(Repository::open(dir).map_err(|e| GitError::git(dir, "not a git repository", e))?)
        }
        None => paths.iter().find_map(|p| {
            let p = p.strip_prefix("file:").unwrap_or(p);
            let fs = base.join(normpath(p));
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
        .and_then(|r| r.url().map(redact_url));
    let (prefix, subdir) = placement(&workdir, base, &opts.lstrip_paths)?;
    let changed = changed_paths(repo, &workdir, &prefix, &subdir, &opts.excludes)?;
    if !changed.is_empty() && !opts.allow_dirty {
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
    Ok(GitFacts {
        recorded: RecordedGit {
            commit: commit.id().to_string(),
            tree: commit.tree_id().to_string(),
            reference,
            remote,
            dirty: !changed.is_empty(),
            prefix,
            subdir,
            excludes: opts.excludes.clone(),
        },
        workdir,
    })
}

/// Changed paths of the work tree that the step would record: under
/// `subdir`, not excluded.
fn changed_paths(
    repo: &Repository,
    workdir: &Path,
    prefix: &str,
    subdir: &str,
    excludes: &[String],
) -> Result<Vec<String>, GitError> {
    let excludes = Excludes::new(excludes)?;
    let mut so = StatusOptions::new();
    so.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true);
    let statuses = repo
        .statuses(Some(&mut so))
        .map_err(|e| GitError::git(workdir, "reading the work tree status", e))?;
    Ok(statuses
        .iter()
        .filter_map(|s| s.path().map(str::to_string))
        .filter_map(|p| {
            let rel = p.strip_prefix(subdir)?.to_string();
            (!excludes.excludes(&format!("{prefix}{rel}"), false)).then_some(p)
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
