//! Verification side: is the commit the source step recorded exactly the
//! files it recorded, signed by an allowed key, on the protected ref?

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use git2::{Commit, ErrorCode, Oid, Repository};
use globset::GlobBuilder;
use intact_model::git::GIT_MATERIAL_PREFIX;
use intact_model::{GitPolicy, Link, Side};
use intact_record::Excludes;
use serde::Serialize;

use crate::signature::{self, split_tag};
use crate::{tree, AllowedSigners, Failure, GitError, GpgVerifier, RecordedGit};

/// Options of [`verify_source`] that are not policy: they belong to the
/// consumer, not to the layout.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// Verify GPG signatures with this `gpg` and keyring; without it GPG
    /// signatures fail as [`Failure::GpgNotVerified`].
    pub gpg: Option<GpgVerifier>,
}

/// The checks, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// The source step's links name one commit.
    RecordedCommit,
    /// (With the policy's `clean`) the links say the work tree was clean.
    CleanTree,
    /// The repository opens and holds the commit.
    Commit,
    /// The recorded files are the commit's tree.
    Tree,
    /// The commit's signature is by an allowed signer.
    CommitSignature,
    /// The commit is reachable from the protected ref.
    ProtectedRef,
    /// A signed release tag points at the commit.
    ReleaseTag,
}

impl Check {
    /// Human name.
    pub fn label(self) -> &'static str {
        match self {
            Check::RecordedCommit => "recorded commit",
            Check::CleanTree => "clean tree",
            Check::Commit => "commit",
            Check::Tree => "tree",
            Check::CommitSignature => "commit signature",
            Check::ProtectedRef => "protected ref",
            Check::ReleaseTag => "release tag",
        }
    }
}

/// One check and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// Which check.
    pub check: Check,
    /// What was established, or why not.
    pub outcome: Result<String, Failure>,
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Ok(what) => write!(f, "✓ {}: {what}", self.check.label()),
            Err(why) => write!(f, "✗ {}: {why}", self.check.label()),
        }
    }
}

/// Everything [`verify_source`] established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceReport {
    /// The commit the source step recorded, when it recorded one.
    pub commit: Option<String>,
    /// Who signed that commit, when its signature verified: the key is
    /// `SHA256:...` for SSH keys (separation of duties compares it with
    /// functionaries' keys), the fingerprint for GPG keys.
    pub commit_signer: Option<crate::Signer>,
    /// Each check, in order. Later checks are skipped when the commit
    /// cannot be found.
    pub checks: Vec<CheckResult>,
}

impl SourceReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome.is_ok())
    }

    /// The failures, in order.
    pub fn failures(&self) -> impl Iterator<Item = &Failure> {
        self.checks.iter().filter_map(|c| c.outcome.as_ref().err())
    }
}

/// Check the commit recorded by `policy.step`'s `links` against the
/// repository at `repo_dir`.
///
/// `Err` only for a malformed policy (an allowed signer that does not
/// parse, an exclude or tag pattern that does not compile); every finding
/// about the chain or the repository is a [`Failure`] in the report.
pub fn verify_source(
    repo_dir: &Path,
    policy: &GitPolicy,
    links: &[&Link],
    opts: &SourceOptions,
) -> Result<SourceReport, GitError> {
    let signers = AllowedSigners::parse(&policy.signers)?;
    let tag_glob = policy
        .tag
        .as_deref()
        .map(|t| {
            GlobBuilder::new(t)
                .literal_separator(false)
                .build()
                .map(|g| g.compile_matcher())
                .map_err(|e| GitError::Policy(format!("tag pattern {t:?}: {e}")))
        })
        .transpose()?;
    let mut report = SourceReport {
        commit: None,
        commit_signer: None,
        checks: Vec::new(),
    };
    let mut push = |check, outcome| report.checks.push(CheckResult { check, outcome });

    let recorded = match recorded_commit(policy, links) {
        Ok(r) => r,
        Err(f) => {
            push(Check::RecordedCommit, Err(f));
            return Ok(report);
        }
    };
    push(
        Check::RecordedCommit,
        Ok(format!(
            "step {} recorded commit {}",
            policy.step, recorded.commit
        )),
    );
    report.commit = Some(recorded.commit.clone());
    let mut push = |check, outcome| report.checks.push(CheckResult { check, outcome });
    if policy.require_clean {
        push(Check::CleanTree, clean_tree(policy, links));
    }

    let repo = match Repository::open(repo_dir) {
        Ok(r) => r,
        Err(e) => {
            push(
                Check::Commit,
                Err(Failure::RepositoryNotFound {
                    path: repo_dir.display().to_string(),
                    reason: e.message().to_string(),
                }),
            );
            return Ok(report);
        }
    };
    let commit = match find_commit(&repo, &recorded.commit) {
        Ok(c) => c,
        Err(f) => {
            push(Check::Commit, Err(f));
            return Ok(report);
        }
    };
    push(
        Check::Commit,
        Ok(format!("found in {}", repo_dir.display())),
    );
    push(
        Check::Tree,
        check_tree(&repo, &commit, policy, links, &recorded)?,
    );
    let gpg = opts
        .gpg
        .as_ref()
        .map(|g| (g, policy.gpg_fingerprints.as_slice()));
    let signed = commit_signature(&repo, commit.id(), &signers, gpg);
    push(
        Check::CommitSignature,
        signed
            .as_ref()
            .map(|signer| format!("signed by {} ({})", signer.principal, signer.key))
            .map_err(Clone::clone),
    );
    report.commit_signer = signed.ok();
    if let Some(reference) = &policy.protected_ref {
        push(
            Check::ProtectedRef,
            reachable(&repo, commit.id(), reference),
        );
    }
    if let (Some(pattern), Some(glob)) = (&policy.tag, &tag_glob) {
        push(
            Check::ReleaseTag,
            release_tag(&repo, commit.id(), pattern, glob, &signers, gpg),
        );
    }
    Ok(report)
}

fn recorded_commit(policy: &GitPolicy, links: &[&Link]) -> Result<RecordedGit, Failure> {
    let step = policy.step.to_string();
    let none = |reason: &str| Failure::NoCommitRecorded {
        step: step.clone(),
        reason: reason.to_string(),
    };
    if links.is_empty() {
        return Err(none("there is no link for it"));
    }
    let mut found: Vec<RecordedGit> = Vec::new();
    for link in links {
        match RecordedGit::from_link(link) {
            Ok(Some(r)) => found.push(r),
            Ok(None) => {
                return Err(none(
                    "its link has no git facts (environment.git): it was recorded outside a work tree or with --no-git",
                ))
            }
            Err(e) => return Err(none(&e)),
        }
    }
    let mut commits: Vec<String> = found.iter().map(|r| r.commit.clone()).collect();
    commits.sort();
    commits.dedup();
    if commits.len() > 1 {
        return Err(Failure::LinksDisagree { step, commits });
    }
    found
        .into_iter()
        .next()
        .ok_or_else(|| none("there is no link for it"))
}

/// Every link of the source step says its work tree was clean.
fn clean_tree(policy: &GitPolicy, links: &[&Link]) -> Result<String, Failure> {
    let mut changed = Vec::new();
    let mut dirty = false;
    for link in links {
        if let Ok(Some(r)) = RecordedGit::from_link(link) {
            dirty |= r.dirty;
            changed.extend(r.changed);
        }
    }
    changed.sort();
    changed.dedup();
    if dirty {
        return Err(Failure::DirtyTree {
            step: policy.step.to_string(),
            changed,
        });
    }
    Ok(format!("step {} recorded a clean work tree", policy.step))
}

fn find_commit<'r>(repo: &'r Repository, id: &str) -> Result<Commit<'r>, Failure> {
    let missing = || {
        if repo.is_shallow() {
            Failure::ShallowCloneMissingCommit { commit: id.into() }
        } else {
            Failure::CommitNotFound { commit: id.into() }
        }
    };
    let oid = Oid::from_str(id).map_err(|_| missing())?;
    repo.find_commit(oid).map_err(|_| missing())
}

fn check_tree(
    repo: &Repository,
    commit: &Commit<'_>,
    policy: &GitPolicy,
    links: &[&Link],
    recorded: &RecordedGit,
) -> Result<Result<String, Failure>, GitError> {
    let prefix = policy
        .path
        .clone()
        .unwrap_or_else(|| recorded.prefix.clone());
    let excludes = Excludes::new(&recorded.excludes)?;
    let git = |e: git2::Error| GitError::git(repo.path(), "reading the commit's tree", e);
    let root = commit.tree().map_err(git)?;
    let tree = if recorded.subdir.is_empty() {
        root
    } else {
        let entry = root.get_path(Path::new(recorded.subdir.trim_end_matches('/')));
        match entry.and_then(|e| repo.find_tree(e.id())) {
            Ok(t) => t,
            Err(_) => {
                return Ok(Err(Failure::TreeMismatch {
                    commit: commit.id().to_string(),
                    differences: vec![crate::TreeDifference::NotInCommit {
                        path: recorded.subdir.clone(),
                    }],
                }))
            }
        }
    };
    let (expected, mut differences) =
        tree::expected_files(repo, &tree, &prefix, &excludes).map_err(git)?;
    // Any link of the step will do: threshold agreement already made them
    // equal, and all name the same commit.
    let link = links.first().copied();
    let artifacts = link.map(|l| match policy.side {
        Side::Materials => &l.materials,
        Side::Products => &l.products,
    });
    let recorded_files: BTreeMap<String, Option<String>> = artifacts
        .into_iter()
        .flatten()
        .filter(|(name, digests)| {
            !(name.as_str().starts_with(GIT_MATERIAL_PREFIX)
                && digests.get(intact_model::git::GIT_COMMIT_DIGEST).is_some())
        })
        .filter_map(|(name, digests)| {
            let path = name.as_str().strip_prefix(prefix.as_str())?;
            Some((
                path.to_string(),
                digests.get("sha256").map(|d| d.as_str().to_string()),
            ))
        })
        .collect();
    differences.extend(tree::compare(&expected, &recorded_files));
    Ok(if differences.is_empty() {
        Ok(format!(
            "{} recorded file(s) equal the tree of commit {}",
            recorded_files.len(),
            commit.id()
        ))
    } else {
        Err(Failure::TreeMismatch {
            commit: commit.id().to_string(),
            differences,
        })
    })
}

fn commit_signature(
    repo: &Repository,
    id: Oid,
    signers: &AllowedSigners,
    gpg: Option<(&GpgVerifier, &[String])>,
) -> Result<crate::Signer, Failure> {
    let (sig, data) = match repo.extract_signature(&id, None) {
        Ok(pair) => pair,
        Err(e) if e.code() == ErrorCode::NotFound => {
            return Err(Failure::Unsigned {
                object: "commit".into(),
                id: id.to_string(),
            })
        }
        Err(e) => {
            return Err(Failure::BadSignature {
                object: "commit".into(),
                id: id.to_string(),
                reason: e.message().to_string(),
            })
        }
    };
    signature::check(&sig, &data, "commit", &id.to_string(), signers, gpg)
}

fn reachable(repo: &Repository, id: Oid, reference: &str) -> Result<String, Failure> {
    let not_found = || Failure::RefNotFound {
        reference: reference.to_string(),
    };
    let r = repo
        .find_reference(reference)
        .or_else(|_| repo.resolve_reference_from_short_name(reference))
        .map_err(|_| not_found())?;
    let tip = r.peel_to_commit().map_err(|_| not_found())?.id();
    if tip == id {
        return Ok(format!("commit is the tip of {reference}"));
    }
    match repo.graph_descendant_of(tip, id) {
        Ok(true) => Ok(format!("commit is reachable from {reference}")),
        _ if repo.is_shallow() => Err(Failure::ShallowHistory {
            commit: id.to_string(),
            reference: reference.to_string(),
        }),
        _ => Err(Failure::NotOnProtectedRef {
            commit: id.to_string(),
            reference: reference.to_string(),
        }),
    }
}

fn release_tag(
    repo: &Repository,
    id: Oid,
    pattern: &str,
    glob: &globset::GlobMatcher,
    signers: &AllowedSigners,
    gpg: Option<(&GpgVerifier, &[String])>,
) -> Result<String, Failure> {
    let mut first_failure = None;
    let refs = repo
        .references_glob("refs/tags/*")
        .map_err(|e| Failure::BadSignature {
            object: "tags".into(),
            id: String::new(),
            reason: e.message().to_string(),
        })?;
    for r in refs.flatten() {
        let Some(name) = r.name().and_then(|n| n.strip_prefix("refs/tags/")) else {
            continue;
        };
        if !glob.is_match(name) || r.peel_to_commit().map(|c| c.id()).ok() != Some(id) {
            continue;
        }
        let object = format!("tag {name}");
        let outcome = match r.target().and_then(|t| repo.find_tag(t).ok()) {
            None => Err(Failure::Unsigned {
                object: object.clone(),
                id: r.target().map(|t| t.to_string()).unwrap_or_default(),
            }),
            Some(tag) => tag_signature(repo, &tag, &object, signers, gpg),
        };
        match outcome {
            Ok(signer) => return Ok(format!("{object} points at the commit, {signer}")),
            Err(f) => {
                first_failure.get_or_insert(f);
            }
        }
    }
    Err(first_failure.unwrap_or_else(|| Failure::NoReleaseTag {
        pattern: pattern.to_string(),
        commit: id.to_string(),
    }))
}

fn tag_signature(
    repo: &Repository,
    tag: &git2::Tag<'_>,
    object: &str,
    signers: &AllowedSigners,
    gpg: Option<(&GpgVerifier, &[String])>,
) -> Result<String, Failure> {
    let id = tag.id().to_string();
    let unreadable = |e: git2::Error| Failure::BadSignature {
        object: object.to_string(),
        id: id.clone(),
        reason: e.message().to_string(),
    };
    let odb = repo.odb().map_err(unreadable)?;
    let raw = odb.read(tag.id()).map_err(unreadable)?;
    let Some((data, sig)) = split_tag(raw.data()) else {
        return Err(Failure::Unsigned {
            object: object.to_string(),
            id,
        });
    };
    let signer = signature::check(sig, data, object, &id, signers, gpg)?;
    Ok(format!("signed by {} ({})", signer.principal, signer.key))
}
