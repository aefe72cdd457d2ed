//! A commit's tree as the recorder would have recorded it: blob paths with
//! sha256 of their contents, excludes applied, symbolic links followed to
//! the file they name (the recorder follows links too).

use std::collections::BTreeMap;

use git2::{ObjectType, Repository, Tree};
use intact_record::{normpath, Excludes};
use sha2::{Digest, Sha256};

use crate::TreeDifference;

const SYMLINK_MODE: i32 = 0o120000;
const MAX_LINK_HOPS: usize = 40;

/// What a tree path holds.
enum Entry {
    File(String),
    Link(String),
}

/// sha256 of every file the recorder would have recorded from `tree`,
/// keyed by tree path relative to the tree's root.
pub(crate) fn expected_files(
    repo: &Repository,
    tree: &Tree<'_>,
    prefix: &str,
    excludes: &Excludes,
) -> Result<(BTreeMap<String, String>, Vec<TreeDifference>), git2::Error> {
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let mut stack: Vec<(String, Tree<'_>)> = vec![(String::new(), tree.clone())];
    while let Some((dir, tree)) = stack.pop() {
        for e in tree.iter() {
            let Some(name) = e.name() else {
                continue; // not UTF-8: the recorder refuses such names anyway
            };
            let path = format!("{dir}{name}");
            match e.kind() {
                Some(ObjectType::Tree) if !excludes.excludes(&format!("{prefix}{path}"), true) => {
                    let sub = repo.find_tree(e.id())?;
                    stack.push((format!("{path}/"), sub));
                }
                Some(ObjectType::Blob) => {
                    if excludes.excludes(&format!("{prefix}{path}"), false) {
                        continue;
                    }
                    let blob = repo.find_blob(e.id())?;
                    let entry = if e.filemode() == SYMLINK_MODE {
                        Entry::Link(String::from_utf8_lossy(blob.content()).into_owned())
                    } else {
                        Entry::File(hex::encode(Sha256::digest(blob.content())))
                    };
                    entries.insert(path, entry);
                }
                // Submodules (commits) are other repositories' trees.
                _ => {}
            }
        }
    }
    let mut files = BTreeMap::new();
    let mut unresolved = Vec::new();
    for (path, entry) in &entries {
        match resolve(&entries, path, entry) {
            Some(sha) => {
                files.insert(path.clone(), sha);
            }
            None => unresolved.push(TreeDifference::UnresolvedSymlink { path: path.clone() }),
        }
    }
    Ok((files, unresolved))
}

fn resolve(entries: &BTreeMap<String, Entry>, path: &str, entry: &Entry) -> Option<String> {
    let (mut path, mut entry) = (path.to_string(), entry);
    for _ in 0..MAX_LINK_HOPS {
        match entry {
            Entry::File(sha) => return Some(sha.clone()),
            Entry::Link(target) => {
                if target.starts_with('/') {
                    return None;
                }
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                let joined = if dir.is_empty() {
                    target.clone()
                } else {
                    format!("{dir}/{target}")
                };
                path = normpath(&joined);
                entry = entries.get(&path)?;
            }
        }
    }
    None
}

/// Compare what the commit holds with what was recorded (both keyed by
/// tree path, values sha256 hex).
pub(crate) fn compare(
    expected: &BTreeMap<String, String>,
    recorded: &BTreeMap<String, Option<String>>,
) -> Vec<TreeDifference> {
    let mut out = Vec::new();
    for (path, sha) in expected {
        match recorded.get(path) {
            None => out.push(TreeDifference::NotRecorded { path: path.clone() }),
            Some(r) if r.as_deref() != Some(sha.as_str()) => {
                out.push(TreeDifference::ContentDiffers {
                    path: path.clone(),
                    commit_sha256: sha.clone(),
                    recorded_sha256: r.clone().unwrap_or_default(),
                })
            }
            Some(_) => {}
        }
    }
    for path in recorded.keys() {
        if !expected.contains_key(path) {
            out.push(TreeDifference::NotInCommit { path: path.clone() });
        }
    }
    out.sort_by(|a, b| diff_path(a).cmp(diff_path(b)));
    out
}

fn diff_path(d: &TreeDifference) -> &str {
    match d {
        TreeDifference::NotRecorded { path }
        | TreeDifference::NotInCommit { path }
        | TreeDifference::ContentDiffers { path, .. }
        | TreeDifference::UnresolvedSymlink { path } => path,
    }
}
