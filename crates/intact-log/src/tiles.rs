//! The C2SP tlog-tiles layout: tile paths, entry bundles, and the hash
//! storage the `tlog_tiles` crate computes over.
//!
//! `tlog_tiles` names tiles the Go checksum-database way
//! (`tile/8/L/N`, `tile/8/data/N`); C2SP tlog-tiles drops the height
//! (`tile/L/N`, `tile/entries/N`). The mapping is done here; the hashes,
//! proofs and tile contents are the crate's.

use tlog_tiles::{
    stored_hash_count, stored_hash_index, stored_hashes_for_record_hash, tree_hash, Hash,
    HashReader, Tile, HASH_SIZE,
};

use crate::LogError;

/// Tile height (C2SP tlog-tiles fixes it at 8: 256 hashes a tile).
pub const HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const WIDTH: u64 = 1 << HEIGHT;
/// Largest entry an entry bundle can hold (a big-endian uint16 length).
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// The C2SP path of a tile (`tile/L/N[.p/W]`, `tile/entries/N[.p/W]`).
pub fn tile_path(tile: &Tile) -> String {
    let go = tile.path();
    let rest = go.strip_prefix("tile/8/").unwrap_or(&go);
    match rest.strip_prefix("data/") {
        Some(n) => format!("tile/entries/{n}"),
        None => format!("tile/{rest}"),
    }
}

/// The width of tile `n` at `level` in a tree of `size` leaves, or `None`
/// when the tree does not reach it.
pub fn tile_width(size: u64, level: u8, n: u64) -> Option<u32> {
    let count = size.checked_shr(u32::from(HEIGHT) * u32::from(level))?;
    let start = n.checked_mul(WIDTH)?;
    if start >= count {
        return None;
    }
    u32::try_from((count - start).min(WIDTH)).ok()
}

/// The tile (hash tile, or entry bundle when `data`) at `level`/`n` as it
/// is for a tree of `size`.
pub fn tile_at(size: u64, level: u8, n: u64, data: bool) -> Option<Tile> {
    let w = tile_width(size, level, n)?;
    if level >= 64 {
        return None;
    }
    Some(Tile::new(HEIGHT, level, n, w, data))
}

/// Every hash tile and entry bundle of a tree of `size` (the whole
/// published state), in order level by level.
pub fn all_tiles(size: u64) -> Vec<Tile> {
    let mut tiles = Tile::new_tiles(HEIGHT, 0, size);
    let data: Vec<Tile> = tiles
        .iter()
        .filter(|t| t.level() == 0)
        .map(|t| {
            let mut d = *t;
            d.set_is_data();
            d
        })
        .collect();
    tiles.extend(data);
    tiles
}

/// Encode entries as a C2SP entry bundle: each a big-endian uint16
/// length and the bytes.
pub fn encode_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let len = u16::try_from(e.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    out
}

/// Split a C2SP entry bundle into its entries.
pub fn decode_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (len, tail) = match rest {
            [a, b, tail @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), tail),
            _ => return Err(format!("a dangling byte at offset {}", bytes.len() - 1)),
        };
        if tail.len() < len {
            return Err(format!(
                "entry {} claims {len} bytes, {} remain",
                out.len(),
                tail.len()
            ));
        }
        let (entry, next) = tail.split_at(len);
        out.push(entry);
        rest = next;
    }
    Ok(out)
}

/// Every stored hash of a tree, in storage order: what the tiles hold,
/// computed from the leaves by `tlog_tiles`.
#[derive(Debug, Default, Clone)]
pub struct MemoryTree {
    hashes: Vec<Hash>,
    size: u64,
}

impl HashReader for MemoryTree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.hashes.get(i).copied())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Add a leaf by its record hash.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> Result<(), LogError> {
        debug_assert_eq!(self.hashes.len() as u64, stored_hash_index(0, self.size));
        let new = stored_hashes_for_record_hash(self.size, leaf, self)?;
        self.hashes.extend(new);
        self.size += 1;
        Ok(())
    }

    /// Add a leaf by its data.
    pub fn push(&mut self, data: &[u8]) -> Result<(), LogError> {
        self.push_leaf_hash(tlog_tiles::record_hash(data))
    }

    /// The root of the tree of the first `n` leaves (`n <= size`).
    pub fn root_at(&self, n: u64) -> Result<Hash, LogError> {
        Ok(tree_hash(n, self)?)
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Result<Hash, LogError> {
        self.root_at(self.size)
    }

    /// The bytes of hash tile `tile` (its width's hashes).
    pub fn tile_data(&self, tile: &Tile) -> Result<Vec<u8>, LogError> {
        Ok(tile.read_data(self)?)
    }

    /// Stored hashes, for checks.
    pub fn stored(&self) -> usize {
        debug_assert_eq!(self.hashes.len() as u64, stored_hash_count(self.size));
        self.hashes.len()
    }
}

/// The hashes of an existing log on disk (trusted: read under the
/// writer's lock from the log's own directory) with new ones appended in
/// memory: what an append computes over without reading the whole log.
pub struct Overlay<'a> {
    base_size: u64,
    base_count: u64,
    read_tile: &'a dyn Fn(&Tile) -> Result<Vec<u8>, LogError>,
    cache: std::cell::RefCell<std::collections::HashMap<(u8, u64), Vec<u8>>>,
    new: Vec<Hash>,
    size: u64,
}

impl<'a> Overlay<'a> {
    /// Over a log of `base_size` leaves whose hash tiles `read_tile` reads.
    pub fn new(base_size: u64, read_tile: &'a dyn Fn(&Tile) -> Result<Vec<u8>, LogError>) -> Self {
        Overlay {
            base_size,
            base_count: stored_hash_count(base_size),
            read_tile,
            cache: Default::default(),
            new: Vec::new(),
            size: base_size,
        }
    }

    /// Leaves, old and new.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append a leaf by its record hash.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> Result<(), LogError> {
        let new = stored_hashes_for_record_hash(self.size, leaf, self)?;
        self.new.extend(new);
        self.size += 1;
        Ok(())
    }

    fn old_hash(&self, index: u64) -> Result<Hash, tlog_tiles::Error> {
        let min = Tile::from_index(HEIGHT, index);
        let (level, n) = (min.level(), min.level_index());
        let tile = tile_at(self.base_size, level, n, false).ok_or(tlog_tiles::Error::BadMath)?;
        let mut cache = self.cache.borrow_mut();
        if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry((level, n)) {
            let data = (self.read_tile)(&tile)
                .map_err(|e| tlog_tiles::Error::InvalidInput(e.to_string()))?;
            if data.len() != tile.width() as usize * HASH_SIZE {
                return Err(tlog_tiles::Error::InvalidInput(format!(
                    "{}: {} bytes, expected {}",
                    tile_path(&tile),
                    data.len(),
                    tile.width() as usize * HASH_SIZE
                )));
            }
            slot.insert(data);
        }
        let data = cache.get(&(level, n)).ok_or(tlog_tiles::Error::BadMath)?;
        tile.hash_at_index(data, index)
    }
}

impl HashReader for Overlay<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                if i < self.base_count {
                    self.old_hash(i)
                } else {
                    usize::try_from(i - self.base_count)
                        .ok()
                        .and_then(|j| self.new.get(j).copied())
                        .ok_or(tlog_tiles::Error::IndexesNotInTree)
                }
            })
            .collect()
    }
}
