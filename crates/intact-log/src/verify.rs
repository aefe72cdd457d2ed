//! Verifying a log (recompute the tree from the entry bundles, check every
//! tile and the signed checkpoint, and consistency with an earlier
//! checkpoint), inclusion proofs, and proof bundles (`FILE.proof`).

use std::path::Path;

use serde::{Deserialize, Serialize};
use tlog_tiles::{Checkpoint, Hash, HashReader, Tile, TileHashReader, TileReader};

use crate::entry::{sha256_hex, Entry};
use crate::note::LogKey;
use crate::source::Source;
use crate::tiles::{decode_bundle, tile_at, tile_path, MemoryTree, HEIGHT, WIDTH};
use crate::LogError;

/// A log that verified.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The checkpoint's origin.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root: Hash,
    /// The checkpoint note as read.
    pub checkpoint: Vec<u8>,
    /// The earlier checkpoint's size, when one was checked.
    pub since_size: Option<u64>,
    /// Tiles and entry bundles checked.
    pub tiles_checked: usize,
}

/// Read the checkpoint and check its signature.
pub fn read_checkpoint(
    source: &dyn Source,
    key: &LogKey,
) -> Result<(Checkpoint, Vec<u8>), LogError> {
    let note = source
        .read("checkpoint")?
        .ok_or_else(|| LogError::CheckpointMissing(source.name("checkpoint")))?;
    let cp = key.verify_checkpoint(&note, &source.name("checkpoint"))?;
    Ok((cp, note))
}

/// Read the checkpoint without checking its signature (for `show`).
pub fn read_checkpoint_unverified(source: &dyn Source) -> Result<(Checkpoint, Vec<u8>), LogError> {
    let name = source.name("checkpoint");
    let note = source
        .read("checkpoint")?
        .ok_or_else(|| LogError::CheckpointMissing(name.clone()))?;
    let malformed = |reason: String| LogError::CheckpointMalformed {
        path: name.clone(),
        reason,
    };
    let parsed = signed_note::Note::from_bytes(&note).map_err(|e| malformed(e.to_string()))?;
    let cp = Checkpoint::from_bytes(parsed.text()).map_err(|e| malformed(e.to_string()))?;
    Ok((cp, note))
}

/// Read entry bundle `n` of a tree of `size`, checking its entry count.
fn read_bundle(source: &dyn Source, size: u64, n: u64) -> Result<Vec<Vec<u8>>, LogError> {
    let tile =
        tile_at(size, 0, n, true).ok_or_else(|| LogError::Tree("bundle past the tree".into()))?;
    let rel = tile_path(&tile);
    let name = || source.name(&rel);
    let bytes = source
        .read(&rel)?
        .ok_or_else(|| LogError::TileMissing { path: name() })?;
    let entries = decode_bundle(&bytes).map_err(|reason| LogError::EntriesMalformed {
        path: name(),
        reason,
    })?;
    if entries.len() != tile.width() as usize {
        return Err(LogError::EntryCountMismatch {
            path: name(),
            found: entries.len(),
            expected: tile.width() as usize,
        });
    }
    Ok(entries.into_iter().map(<[u8]>::to_vec).collect())
}

/// Every entry of a tree of `size`, in order, calling `each(index, bytes)`.
pub fn for_each_entry(
    source: &dyn Source,
    size: u64,
    mut each: impl FnMut(u64, &[u8]) -> Result<(), LogError>,
) -> Result<(), LogError> {
    let bundles = size.div_ceil(WIDTH);
    for n in 0..bundles {
        for (i, e) in read_bundle(source, size, n)?.iter().enumerate() {
            each(n * WIDTH + i as u64, e)?;
        }
    }
    Ok(())
}

/// Verify the log `source` under `key`: the checkpoint's signature, every
/// entry bundle and hash tile against the tree recomputed from the
/// entries, the root against the checkpoint; and with `since` (a name for
/// messages and an earlier checkpoint note the auditor kept) that the
/// earlier tree is a prefix of this one.
pub fn verify(
    source: &dyn Source,
    key: &LogKey,
    since: Option<(&str, &[u8])>,
) -> Result<Verified, LogError> {
    let (cp, note) = read_checkpoint(source, key)?;
    let size = cp.size();
    let mut tree = MemoryTree::new();
    let mut checked = 0usize;
    for_each_entry(source, size, |_, e| tree.push(e))?;
    checked += usize::try_from(size.div_ceil(WIDTH)).unwrap_or(usize::MAX);
    let computed = tree.root()?;
    let entries_match = computed == *cp.hash();
    // Every hash tile, as the recomputed tree has it.
    let mut first_bad: Option<(Tile, String)> = None;
    for tile in Tile::new_tiles(HEIGHT, 0, size) {
        let rel = tile_path(&tile);
        let expected = tree.tile_data(&tile)?;
        let found = source.read(&rel)?.ok_or_else(|| LogError::TileMissing {
            path: source.name(&rel),
        })?;
        checked += 1;
        if found.len() != expected.len() {
            return Err(LogError::TileTruncated {
                path: source.name(&rel),
                len: found.len(),
                expected: expected.len(),
            });
        }
        if found != expected && first_bad.is_none() {
            first_bad = Some((tile, rel));
        }
    }
    match (entries_match, first_bad) {
        (true, None) => {}
        // The entries make the signed tree; a hash tile disagrees.
        (true, Some((_, rel))) => {
            return Err(LogError::TileCorrupted {
                path: source.name(&rel),
            })
        }
        // The entries do not make the signed tree, and the first hash tile
        // that disagrees with them is at level 0: its bundle was altered.
        (false, Some((tile, rel))) => {
            let path = if tile.level() == 0 {
                let mut data = tile;
                data.set_is_data();
                source.name(&tile_path(&data))
            } else {
                source.name(&rel)
            };
            return Err(LogError::TileCorrupted { path });
        }
        // Entries and tiles agree with each other, not with the checkpoint.
        (false, None) => {
            return Err(LogError::RootMismatch {
                path: source.name("checkpoint"),
                computed: computed.to_string(),
                signed: cp.hash().to_string(),
            })
        }
    }
    let since_size = match since {
        None => None,
        Some((name, old_note)) => {
            let old = key.verify_checkpoint(old_note, name)?;
            check_consistency(name, &old, &cp, &tree)?;
            Some(old.size())
        }
    };
    Ok(Verified {
        origin: cp.origin().to_string(),
        size,
        root: *cp.hash(),
        checkpoint: note,
        since_size,
        tiles_checked: checked,
    })
}

/// Check that `old` is a prefix of `new` (whose full tree is `tree`), with
/// a consistency proof made and checked by `tlog_tiles`.
fn check_consistency(
    name: &str,
    old: &Checkpoint,
    new: &Checkpoint,
    tree: &impl HashReader,
) -> Result<(), LogError> {
    if old.origin() != new.origin() {
        return Err(LogError::OriginMismatch {
            since: name.to_string(),
            found: old.origin().to_string(),
            expected: new.origin().to_string(),
        });
    }
    let inconsistent = || LogError::Inconsistent {
        since: name.to_string(),
        old_size: old.size(),
        new_size: new.size(),
    };
    if old.size() > new.size() {
        return Err(LogError::RolledBack {
            since: name.to_string(),
            old_size: old.size(),
            new_size: new.size(),
        });
    }
    if old.size() == 0 {
        return if *old.hash() == tlog_tiles::EMPTY_HASH {
            Ok(())
        } else {
            Err(inconsistent())
        };
    }
    let proof = tlog_tiles::prove_tree(new.size(), old.size(), tree)?;
    tlog_tiles::check_tree(&proof, new.size(), *new.hash(), old.size(), *old.hash())
        .map_err(|_| inconsistent())
}

/// `tlog_tiles`' [`TileReader`] over a [`Source`]: its [`TileHashReader`]
/// authenticates every tile it reads against the checkpoint's root.
pub struct SourceTiles<'a> {
    source: &'a dyn Source,
}

impl<'a> SourceTiles<'a> {
    /// Tiles of `source`.
    pub fn new(source: &'a dyn Source) -> Self {
        SourceTiles { source }
    }
}

impl TileReader for SourceTiles<'_> {
    fn height(&self) -> u8 {
        HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles
            .iter()
            .map(|t| {
                let rel = tile_path(t);
                match self.source.read(&rel) {
                    Ok(Some(b)) => Ok(b),
                    Ok(None) => Err(tlog_tiles::Error::InvalidInput(format!(
                        "{}: tile missing",
                        self.source.name(&rel)
                    ))),
                    Err(e) => Err(tlog_tiles::Error::InvalidInput(e.to_string())),
                }
            })
            .collect()
    }

    fn save_tiles(&self, _tiles: &[Tile], _data: &[Vec<u8>]) {}
}

/// The proof bundle schema identifier.
pub const PROOF_SCHEMA: &str = "intact.log-proof/v1";

/// An inclusion proof kept beside a metadata file (`FILE.proof`): the
/// entry, its index, the checkpoint it is proven under and the proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// [`PROOF_SCHEMA`].
    pub schema: String,
    /// The entry's index in the log.
    pub index: u64,
    /// The entry, exactly as logged (canonical JSON).
    pub entry: String,
    /// The signed checkpoint note the proof is under.
    pub checkpoint: String,
    /// The RFC 6962 inclusion proof, base64 hashes.
    pub proof: Vec<String>,
}

impl ProofBundle {
    /// Pretty JSON with a final newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>, LogError> {
        let mut v = serde_json::to_vec_pretty(self).map_err(|e| LogError::Tree(e.to_string()))?;
        v.push(b'\n');
        Ok(v)
    }
}

/// An inclusion proof for entry `index` (whose bytes are `entry`) under
/// the log's current checkpoint, made with `tlog_tiles`' authenticating
/// tile reader.
pub fn prove_index(source: &dyn Source, index: u64, entry: &[u8]) -> Result<ProofBundle, LogError> {
    let (cp, note) = read_checkpoint_unverified(source)?;
    if index >= cp.size() {
        return Err(LogError::Tree(format!(
            "entry {index} is not under the checkpoint (size {})",
            cp.size()
        )));
    }
    let tiles = SourceTiles::new(source);
    let reader = TileHashReader::new(cp.size(), *cp.hash(), &tiles);
    let proof = tlog_tiles::prove_record(cp.size(), index, &reader)?;
    // Check it before handing it out.
    tlog_tiles::check_record(
        &proof,
        cp.size(),
        *cp.hash(),
        index,
        tlog_tiles::record_hash(entry),
    )?;
    Ok(ProofBundle {
        schema: PROOF_SCHEMA.to_string(),
        index,
        entry: String::from_utf8_lossy(entry).into_owned(),
        checkpoint: String::from_utf8_lossy(&note).into_owned(),
        proof: proof.iter().map(ToString::to_string).collect(),
    })
}

/// The proof for the last entry that records the file `path` (bytes
/// `bytes`) in the log `source`.
pub fn prove_file(source: &dyn Source, path: &Path, bytes: &[u8]) -> Result<ProofBundle, LogError> {
    let (cp, _) = read_checkpoint_unverified(source)?;
    let sha = sha256_hex(bytes);
    let mut found: Option<(u64, Vec<u8>)> = None;
    for_each_entry(source, cp.size(), |i, e| {
        if Entry::from_bytes(e)
            .map(|x| x.sha256 == sha)
            .unwrap_or(false)
        {
            found = Some((i, e.to_vec()));
        }
        Ok(())
    })?;
    let (index, entry) = found.ok_or_else(|| LogError::NotLogged {
        path: path.to_path_buf(),
        sha256: sha.clone(),
    })?;
    prove_index(source, index, &entry)
}

/// A proof bundle that held.
#[derive(Debug, Clone)]
pub struct ProvenEntry {
    /// The entry's index.
    pub index: u64,
    /// The checkpoint's size.
    pub size: u64,
    /// The log's origin.
    pub origin: String,
    /// The entry.
    pub entry: Entry,
}

/// Check the proof bundle at `proof_path` (bytes `proof`) for the file
/// whose bytes are `file`, under `key`: the checkpoint is signed by the
/// log key, the entry is in its tree, and the entry records this file.
pub fn verify_proof(
    proof_path: &Path,
    proof: &[u8],
    file: &[u8],
    key: &LogKey,
) -> Result<ProvenEntry, LogError> {
    let malformed = |reason: String| LogError::ProofMalformed {
        path: proof_path.to_path_buf(),
        reason,
    };
    let invalid = |reason: String| LogError::ProofInvalid {
        path: proof_path.to_path_buf(),
        reason,
    };
    let bundle: ProofBundle =
        serde_json::from_slice(proof).map_err(|e| malformed(e.to_string()))?;
    if bundle.schema != PROOF_SCHEMA {
        return Err(malformed(format!(
            "schema {:?}, expected {PROOF_SCHEMA:?}",
            bundle.schema
        )));
    }
    let hashes = bundle
        .proof
        .iter()
        .map(|h| Hash::parse_hash(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| malformed(format!("a proof hash: {e}")))?;
    let cp = key
        .verify_checkpoint(
            bundle.checkpoint.as_bytes(),
            &format!("{} (checkpoint)", proof_path.display()),
        )
        .map_err(|e| match e {
            LogError::CheckpointSignature { reason, .. } => invalid(format!(
                "its checkpoint is not signed by the log key: {reason}"
            )),
            other => other,
        })?;
    let entry = Entry::from_bytes(bundle.entry.as_bytes())
        .map_err(|e| malformed(format!("the entry: {e}")))?;
    let sha = sha256_hex(file);
    if entry.sha256 != sha {
        return Err(invalid(format!(
            "the entry records sha256 {}, the file is {sha}",
            entry.sha256
        )));
    }
    if bundle.index >= cp.size() {
        return Err(invalid(format!(
            "index {} is not under the checkpoint (size {})",
            bundle.index,
            cp.size()
        )));
    }
    tlog_tiles::check_record(
        &hashes,
        cp.size(),
        *cp.hash(),
        bundle.index,
        tlog_tiles::record_hash(bundle.entry.as_bytes()),
    )
    .map_err(|e| {
        invalid(format!(
            "entry {} is not in the tree of size {}: {e}",
            bundle.index,
            cp.size()
        ))
    })?;
    Ok(ProvenEntry {
        index: bundle.index,
        size: cp.size(),
        origin: cp.origin().to_string(),
        entry,
    })
}
