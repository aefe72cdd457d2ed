//! The git drills' scratch clones: a bare repository of the drill's own
//! whose object store borrows the original's read-only (git's
//! `objects/info/alternates`), with the original's refs copied. New
//! objects and moved refs land in the scratch clone only; the original
//! is opened, read and never written.

use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, Tree};

use crate::DrillError;

/// A git attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attack {
    /// A child commit with the same tree and no signature.
    Unsigned,
    /// A child commit with the same tree, signed by an SSH key made on
    /// the spot (the attacker's own).
    ForeignSigner,
    /// A child commit whose tree differs from the recorded files in one
    /// file's content.
    TreeDiffers,
}

/// The commit an attack made.
pub(crate) struct Made {
    /// Its id.
    pub commit: String,
    /// Its tree's id.
    pub tree: String,
}

/// A scratch clone, removed when closed or dropped.
pub(crate) struct Scratch {
    dir: tempfile::TempDir,
    path: PathBuf,
    repo: Repository,
}

fn git_err(path: &Path) -> impl Fn(git2::Error) -> DrillError + '_ {
    move |e| DrillError::Git {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    }
}

impl Scratch {
    /// A scratch clone of the repository at `original`.
    pub(crate) fn clone_of(original: &Path) -> Result<Self, DrillError> {
        let orig = Repository::open(original).map_err(git_err(original))?;
        let objects = fs_err::canonicalize(orig.commondir().join("objects"))?;
        let dir = tempfile::Builder::new()
            .prefix("intact-drill-git-")
            .tempdir()?;
        let path = dir.path().join("repo.git");
        let repo = Repository::init_bare(&path).map_err(git_err(&path))?;
        let info = path.join("objects").join("info");
        fs_err::create_dir_all(&info)?;
        fs_err::write(info.join("alternates"), format!("{}\n", objects.display()))?;
        if orig.is_shallow() {
            fs_err::copy(orig.commondir().join("shallow"), path.join("shallow"))?;
        }
        let err = git_err(original);
        for r in orig.references().map_err(&err)? {
            let r = r.map_err(&err)?;
            let Some(name) = r.name() else { continue };
            let made = match (r.symbolic_target(), r.target()) {
                (Some(target), _) => repo.reference_symbolic(name, target, true, "intact drill"),
                (None, Some(oid)) => repo.reference(name, oid, true, "intact drill"),
                (None, None) => continue,
            };
            made.map_err(git_err(&path))?;
        }
        if let Ok(head) = orig.find_reference("HEAD") {
            // An unborn or odd HEAD does not matter to the checks.
            let _ = match (head.symbolic_target(), head.target()) {
                (Some(t), _) => repo.set_head(t),
                (None, Some(oid)) => repo.set_head_detached(oid),
                (None, None) => Ok(()),
            };
        }
        Ok(Scratch { dir, path, repo })
    }

    /// The scratch clone's git directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Remove the scratch clone.
    pub(crate) fn close(self) -> Result<(), DrillError> {
        drop(self.repo);
        self.dir.close()?;
        Ok(())
    }

    /// Make `attack`'s commit as a child of `commit` and move
    /// `protected_ref` (if any) to it, as an attacker who can push would.
    /// `subdir` is the tree path the source step recorded (the tree
    /// attack changes a file there).
    pub(crate) fn mount(
        &self,
        attack: Attack,
        commit: &str,
        subdir: &str,
        protected_ref: Option<&str>,
    ) -> Result<Made, DrillError> {
        let err = git_err(&self.path);
        let repo = &self.repo;
        let oid = Oid::from_str(commit).map_err(&err)?;
        let parent = repo.find_commit(oid).map_err(&err)?;
        let tree = parent.tree().map_err(&err)?;
        let tree = match attack {
            Attack::TreeDiffers => {
                let parts: Vec<&str> = subdir.split('/').filter(|p| !p.is_empty()).collect();
                let Some(id) = alter_under(repo, &tree, &parts).map_err(&err)? else {
                    return Err(DrillError::Git {
                        path: self.path.clone(),
                        message: format!("commit {commit} has no file under {subdir:?} to change"),
                    });
                };
                repo.find_tree(id).map_err(&err)?
            }
            Attack::Unsigned | Attack::ForeignSigner => tree,
        };
        let buf = repo
            .commit_create_buffer(
                &parent.author(),
                &parent.committer(),
                "intact drill: not a commit anyone allowed\n",
                &tree,
                &[&parent],
            )
            .map_err(&err)?;
        let id = match attack {
            Attack::ForeignSigner => {
                let body = std::str::from_utf8(&buf).map_err(|e| DrillError::Git {
                    path: self.path.clone(),
                    message: format!("commit buffer: {e}"),
                })?;
                let sig = attacker_signature(&buf).map_err(|e| DrillError::Git {
                    path: self.path.clone(),
                    message: format!("signing the commit with a drill SSH key: {e}"),
                })?;
                repo.commit_signed(body, &sig, None).map_err(&err)?
            }
            Attack::Unsigned | Attack::TreeDiffers => repo
                .odb()
                .and_then(|odb| odb.write(ObjectType::Commit, &buf))
                .map_err(&err)?,
        };
        if let Some(r) = protected_ref {
            repo.reference(r, id, true, "intact drill").map_err(&err)?;
        }
        Ok(Made {
            commit: id.to_string(),
            tree: tree.id().to_string(),
        })
    }
}

/// An `sshsig` signature (namespace `git`) over `data` by a fresh
/// ed25519 key: what the attacker signs with.
fn attacker_signature(data: &[u8]) -> Result<String, ssh_key::Error> {
    use rand_core::RngCore;
    let mut seed = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut seed);
    let key = ssh_key::PrivateKey::from(ssh_key::private::Ed25519Keypair::from_seed(&seed));
    key.sign("git", ssh_key::HashAlg::Sha512, data)?
        .to_pem(ssh_key::LineEnding::LF)
}

/// `tree` with the first file under `path` changed, or `None` when there
/// is none.
fn alter_under(
    repo: &Repository,
    tree: &Tree<'_>,
    path: &[&str],
) -> Result<Option<Oid>, git2::Error> {
    let Some((first, rest)) = path.split_first() else {
        return alter_first_file(repo, tree);
    };
    let Some(entry) = tree.get_name(first) else {
        return Ok(None);
    };
    if entry.kind() != Some(ObjectType::Tree) {
        return Ok(None);
    }
    let sub = repo.find_tree(entry.id())?;
    let Some(new_sub) = alter_under(repo, &sub, rest)? else {
        return Ok(None);
    };
    let mut b = repo.treebuilder(Some(tree))?;
    b.insert(first, new_sub, entry.filemode())?;
    b.write().map(Some)
}

/// `tree` with its first regular file (depth first, files before
/// directories) given other content.
fn alter_first_file(repo: &Repository, tree: &Tree<'_>) -> Result<Option<Oid>, git2::Error> {
    let file = tree.iter().find(|e| {
        e.kind() == Some(ObjectType::Blob) && matches!(e.filemode(), 0o100644 | 0o100755)
    });
    if let Some(e) = file {
        let blob = repo.find_blob(e.id())?;
        let mut content = blob.content().to_vec();
        content.extend_from_slice(b"\nchanged by intact drill\n");
        let new = repo.blob(&content)?;
        let mut b = repo.treebuilder(Some(tree))?;
        b.insert(e.name_bytes(), new, e.filemode())?;
        return b.write().map(Some);
    }
    for e in tree.iter() {
        if e.kind() != Some(ObjectType::Tree) {
            continue;
        }
        let sub = repo.find_tree(e.id())?;
        if let Some(new_sub) = alter_first_file(repo, &sub)? {
            let mut b = repo.treebuilder(Some(tree))?;
            b.insert(e.name_bytes(), new_sub, e.filemode())?;
            return b.write().map(Some);
        }
    }
    Ok(None)
}
