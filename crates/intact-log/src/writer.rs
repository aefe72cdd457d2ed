//! Creating a log and appending to it: durable, serialised appends.
//!
//! An append takes an exclusive `flock` on `.intact-log/lock`, so
//! appenders in separate processes run one after another. It writes the
//! new tiles and entry bundles (each to a temporary file, flushed, then
//! renamed into place), flushes their directories, and only then replaces
//! `checkpoint` the same way. A crash before the checkpoint's rename
//! leaves the old checkpoint, which the old tiles still prove (new tiles
//! only add files or wider partial tiles beside the old ones); a crash
//! after it leaves the new one. Either way the log verifies, and an
//! append that returned has its entries under the checkpoint on disk.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tlog_tiles::{Hash, Tile};

use crate::entry::{Entry, EntryContext};
use crate::note::{LogKey, LogSigner};
use crate::source::{DirSource, Source};
use crate::tiles::{
    decode_bundle, encode_bundle, tile_at, tile_path, Overlay, HEIGHT, MAX_ENTRY_LEN,
};
use crate::LogError;

/// The private state directory inside a log (not to be published).
pub const STATE_DIR: &str = ".intact-log";

/// The log's private configuration (`.intact-log/config.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// The log's origin (its checkpoint's first line, the key name).
    pub origin: String,
    /// The private key's path (absolute), read at each append.
    pub key: PathBuf,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> LogError + '_ {
    move |cause| LogError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// Flush a directory's entries (new names, renames) to disk.
fn sync_dir(dir: &Path) -> Result<(), LogError> {
    fs_err::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// Write `bytes` to `path` whole or not at all, flushed to disk.
fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), LogError> {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).map_err(io(parent))?;
    }
    intact_model::io::write_atomic(path, bytes, 0o644)?;
    Ok(())
}

/// An exclusive lock on a log, held until dropped.
#[derive(Debug)]
pub struct LogLock {
    _file: fs_err::File,
}

impl LogLock {
    /// Wait for and take the log's exclusive lock.
    pub fn acquire(dir: &Path) -> Result<Self, LogError> {
        let state = dir.join(STATE_DIR);
        let path = state.join("lock");
        let file = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        rustix::fs::flock(file.file(), rustix::fs::FlockOperation::LockExclusive).map_err(|e| {
            LogError::Io {
                path: path.clone(),
                cause: e.into(),
            }
        })?;
        Ok(LogLock { _file: file })
    }
}

/// A log directory opened for appending.
#[derive(Debug)]
pub struct LogWriter {
    dir: PathBuf,
    config: LogConfig,
    signer: LogSigner,
}

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The index of the first entry appended.
    pub first_index: u64,
    /// The tree size after the append.
    pub size: u64,
    /// The new checkpoint (a signed note).
    pub checkpoint: Vec<u8>,
}

impl LogWriter {
    /// Start a log in `dir` (created if needed, and empty of a log): writes
    /// `.intact-log/config.json` (origin, the key's absolute path) and a
    /// signed checkpoint of the empty tree.
    pub fn init(dir: &Path, key_path: &Path, origin: &str) -> Result<Self, LogError> {
        let signer = LogSigner::load(key_path, origin)?;
        if dir.join("checkpoint").exists() || dir.join(STATE_DIR).join("config.json").exists() {
            return Err(LogError::AlreadyInitialised(dir.to_path_buf()));
        }
        let state = dir.join(STATE_DIR);
        fs_err::create_dir_all(&state).map_err(io(&state))?;
        // A token or agent key is named, not a file: kept as given.
        let key = if intact_crypto::is_key_uri(key_path) {
            key_path.to_path_buf()
        } else {
            fs_err::canonicalize(key_path).map_err(io(key_path))?
        };
        let config = LogConfig {
            origin: origin.to_string(),
            key,
        };
        let config_bytes =
            serde_json::to_vec_pretty(&config).map_err(|e| LogError::Tree(e.to_string()))?;
        let _lock = LogLock::acquire(dir)?;
        write_durable(&state.join("config.json"), &config_bytes)?;
        let note = signer.sign_checkpoint(0, tlog_tiles::EMPTY_HASH)?;
        write_durable(&dir.join("checkpoint"), &note)?;
        sync_dir(dir)?;
        Ok(LogWriter {
            dir: dir.to_path_buf(),
            config,
            signer,
        })
    }

    /// Open the log in `dir` for appending, with the key named in its
    /// configuration (or `key` instead).
    pub fn open(dir: &Path, key: Option<&Path>) -> Result<Self, LogError> {
        let path = dir.join(STATE_DIR).join("config.json");
        let bytes = match intact_model::io::read_limited(&path, 1 << 20) {
            Ok(b) => b.to_vec(),
            Err(e) if e.is_not_found() => return Err(LogError::NotALog(dir.to_path_buf())),
            Err(e) => return Err(e.into()),
        };
        let config: LogConfig =
            serde_json::from_slice(&bytes).map_err(|e| LogError::BadConfig {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let key_path = key.unwrap_or(&config.key);
        let signer = LogSigner::load(key_path, &config.origin)?;
        Ok(LogWriter {
            dir: dir.to_path_buf(),
            config,
            signer,
        })
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log's configuration.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// The log's verifier key (C2SP form).
    pub fn vkey(&self) -> &str {
        self.signer.vkey()
    }

    /// Describe each file and append the entries, in one append. Returns
    /// the append and the entries, in the files' order.
    pub fn add_files(
        &self,
        files: &[PathBuf],
        ctx: &EntryContext,
    ) -> Result<(Appended, Vec<Entry>), LogError> {
        let mut entries = Vec::with_capacity(files.len());
        let mut bytes_all = Vec::with_capacity(files.len());
        for f in files {
            let bytes =
                intact_model::io::read_limited(f, intact_model::io::DEFAULT_MAX_METADATA_SIZE)?;
            let entry = Entry::describe(f, &bytes, ctx)?;
            let encoded = entry.to_bytes()?;
            if encoded.len() > MAX_ENTRY_LEN {
                return Err(LogError::EntryTooLarge {
                    path: f.clone(),
                    len: encoded.len(),
                });
            }
            entries.push(entry);
            bytes_all.push(encoded);
        }
        Ok((self.append(&bytes_all)?, entries))
    }

    /// Append raw entries (each at most 65,535 bytes) in one durable,
    /// locked append, and return the new checkpoint.
    pub fn append(&self, entries: &[Vec<u8>]) -> Result<Appended, LogError> {
        if let Some(e) = entries.iter().find(|e| e.len() > MAX_ENTRY_LEN) {
            return Err(LogError::EntryTooLarge {
                path: self.dir.clone(),
                len: e.len(),
            });
        }
        let _lock = LogLock::acquire(&self.dir)?;
        let source = DirSource::new(&self.dir);
        // The tree we extend must be the one our key signed.
        let note = source
            .read("checkpoint")?
            .ok_or_else(|| LogError::CheckpointMissing(source.name("checkpoint")))?;
        let own_key = LogKey::from_public(self.signer_public(), &self.config.key)?;
        let cp = own_key.verify_checkpoint(&note, &source.name("checkpoint"))?;
        let old = cp.size();
        let read_tile = |t: &Tile| -> Result<Vec<u8>, LogError> {
            let rel = tile_path(t);
            source.read(&rel)?.ok_or(LogError::TileMissing {
                path: source.name(&rel),
            })
        };
        let mut overlay = Overlay::new(old, &read_tile);
        // The hashes an append builds on are the right edge of the old
        // tree: check they make the signed root, so a damaged tile is
        // refused rather than extended.
        if old > 0 && tlog_tiles::tree_hash(old, &overlay).ok().as_ref() != Some(cp.hash()) {
            return Err(LogError::RootMismatch {
                path: source.name("checkpoint"),
                computed: tlog_tiles::tree_hash(old, &overlay)
                    .map(|h| h.to_string())
                    .unwrap_or_else(|e| e.to_string()),
                signed: cp.hash().to_string(),
            });
        }
        for e in entries {
            overlay.push_leaf_hash(tlog_tiles::record_hash(e))?;
        }
        let new = overlay.size();
        if new == old {
            return Ok(Appended {
                first_index: old,
                size: old,
                checkpoint: note,
            });
        }
        let mut dirs = std::collections::BTreeSet::new();
        // Hash tiles.
        for tile in Tile::new_tiles(HEIGHT, old, new) {
            let data = tile.read_data(&overlay)?;
            let path = self.dir.join(tile_path(&tile));
            write_durable(&path, &data)?;
            if let Some(p) = path.parent() {
                dirs.insert(p.to_path_buf());
            }
        }
        // Entry bundles: the old partial bundle's entries, then the new.
        let first_bundle = old / crate::tiles::WIDTH;
        let last_bundle = (new - 1) / crate::tiles::WIDTH;
        for n in first_bundle..=last_bundle {
            let Some(tile) = tile_at(new, 0, n, true) else {
                continue;
            };
            let start = n * crate::tiles::WIDTH;
            let mut bundle = Vec::new();
            if start < old {
                if let Some(prev) = tile_at(old, 0, n, true) {
                    let rel = tile_path(&prev);
                    let bytes = source.read(&rel)?.ok_or(LogError::TileMissing {
                        path: source.name(&rel),
                    })?;
                    let found = decode_bundle(&bytes)
                        .map_err(|reason| LogError::EntriesMalformed {
                            path: source.name(&rel),
                            reason,
                        })?
                        .len();
                    if found != prev.width() as usize {
                        return Err(LogError::EntryCountMismatch {
                            path: source.name(&rel),
                            found,
                            expected: prev.width() as usize,
                        });
                    }
                    bundle = bytes;
                }
            }
            let from = start.max(old);
            let to = (start + u64::from(tile.width())).min(new);
            let slice = entries
                .get(
                    usize::try_from(from - old).unwrap_or(usize::MAX)
                        ..usize::try_from(to - old).unwrap_or(usize::MAX),
                )
                .ok_or_else(|| LogError::Tree("entry range out of bounds".into()))?;
            bundle.extend(encode_bundle(slice.iter().map(Vec::as_slice)));
            let path = self.dir.join(tile_path(&tile));
            write_durable(&path, &bundle)?;
            if let Some(p) = path.parent() {
                dirs.insert(p.to_path_buf());
            }
        }
        for d in &dirs {
            sync_dir(d)?;
        }
        let root = tlog_tiles::tree_hash(new, &overlay)?;
        let checkpoint = self.signer.sign_checkpoint(new, root)?;
        write_durable(&self.dir.join("checkpoint"), &checkpoint)?;
        sync_dir(&self.dir)?;
        Ok(Appended {
            first_index: old,
            size: new,
            checkpoint,
        })
    }

    fn signer_public(&self) -> &intact_crypto::PublicKey {
        self.signer.public_key()
    }

    /// The root of a tree (for tests and tools).
    pub fn root_of(entries: &[Vec<u8>]) -> Result<Hash, LogError> {
        let mut t = crate::tiles::MemoryTree::new();
        for e in entries {
            t.push(e)?;
        }
        t.root()
    }
}
