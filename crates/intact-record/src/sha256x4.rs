//! SHA-256 of many whole messages (small files), four at a time.
//!
//! One SHA-256 is a chain: each of a block's 32 `sha256rnds2` steps waits
//! for the one before, so a core with SHA extensions sits mostly idle
//! between them (about 1.8 GB/s here, on a core that could issue more).
//! Recording a tree hashes thousands of independent files, so this module
//! interleaves four of them on one core, each step of one file issued
//! while the others' wait: 3.4 GB/s per core on 4 KiB messages, 1.87x
//! the `sha2` crate's one-message kernel (docs/performance.md). OpenSSL
//! does the same inside TLS (`sha256-mb`) but does not offer it; no
//! maintained Rust crate does, so the kernel is here, kept small: the
//! padding and every block whose lanes cannot stay together go through
//! `sha2` itself.
//!
//! A wrong digest would be silent, so the kernel is held to `sha2` three
//! ways: tests over every length around the block boundaries and a
//! property test; a known-answer check on the running CPU before first
//! use (an emulator or hypervisor that gets the instructions wrong turns
//! the kernel off, as it does on CPUs without SHA extensions); and it is
//! only ever given whole blocks, in lanes whose count of blocks it reads
//! from the messages, never from the caller.

// unsafe: the kernel is x86 SHA-NI/SSE intrinsics in #[target_feature]
// functions, callable only once the CPU is known to have the features
// (each call site says so in a SAFETY comment).
#![allow(unsafe_code)]

use sha2::digest::generic_array::GenericArray;
use sha2::{Digest as _, Sha256};

/// Messages hashed together.
const LANES: usize = 4;

/// The initial hash value (FIPS 180-4, 5.3.3).
const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// One message in flight: its whole blocks are read where they lie, the
/// padded end (its last partial block, `0x80`, zeros, the length in bits)
/// is built here.
struct Lane<'a> {
    message: &'a [u8],
    tail: [u8; 128],
    tail_len: usize,
    state: [u32; 8],
}

impl<'a> Lane<'a> {
    fn new(message: &'a [u8]) -> Self {
        let whole = message.len() - message.len() % 64;
        let rest = message.get(whole..).unwrap_or_default();
        let mut tail = [0u8; 128];
        // The 0x80 and the 8-byte length need 9 bytes after the rest.
        let tail_len = if rest.len() + 9 <= 64 { 64 } else { 128 };
        if let Some(head) = tail.get_mut(..rest.len()) {
            head.copy_from_slice(rest);
        }
        if let Some(b) = tail.get_mut(rest.len()) {
            *b = 0x80;
        }
        let bits = (message.len() as u64).wrapping_mul(8).to_be_bytes();
        if let Some(end) = tail.get_mut(tail_len - 8..tail_len) {
            end.copy_from_slice(&bits);
        }
        Lane {
            message: message.get(..whole).unwrap_or_default(),
            tail,
            tail_len,
            state: H0,
        }
    }

    fn blocks(&self) -> usize {
        (self.message.len() + self.tail_len) / 64
    }

    /// Block `i` of the padded message.
    #[inline(always)]
    fn block(&self, i: usize) -> Option<&[u8; 64]> {
        let whole = self.message.len() / 64;
        let (from, at) = if i < whole {
            (self.message, i * 64)
        } else {
            (self.tail.get(..self.tail_len)?, (i - whole) * 64)
        };
        from.get(at..at + 64)?.try_into().ok()
    }

    /// Blocks `from..` through `sha2`, then the digest.
    fn finish(mut self, from: usize) -> [u8; 32] {
        for i in from..self.blocks() {
            if let Some(block) = self.block(i).map(|b| *GenericArray::from_slice(b)) {
                sha2::compress256(&mut self.state, &[block]);
            }
        }
        let mut digest = [0u8; 32];
        for (out, word) in digest.chunks_exact_mut(4).zip(self.state) {
            out.copy_from_slice(&word.to_be_bytes());
        }
        digest
    }
}

/// SHA-256 of each message, in order.
pub(crate) fn sha256_many(messages: &[&[u8]]) -> Vec<[u8; 32]> {
    sha256_many_with(messages, kernel::usable())
}

fn sha256_many_with(messages: &[&[u8]], interleave: bool) -> Vec<[u8; 32]> {
    let one = |m: &[u8]| -> [u8; 32] { Sha256::digest(m).into() };
    if !interleave || messages.len() < LANES - 1 {
        return messages.iter().map(|m| one(m)).collect();
    }
    // Messages of like length side by side, so that lanes run together
    // to their ends.
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_unstable_by_key(|&i| messages.get(i).map_or(0, |m| m.len() / 64));
    let mut digests = vec![[0u8; 32]; messages.len()];
    for group in order.chunks(LANES) {
        let message = |k: usize| group.get(k).and_then(|&i| messages.get(i)).copied();
        // Three messages still gain from a fourth lane hashing a copy;
        // one or two do not.
        let out: Vec<[u8; 32]> = if group.len() < LANES - 1 {
            (0..group.len()).filter_map(message).map(one).collect()
        } else {
            let first = message(0).unwrap_or_default();
            let mut lanes = [0, 1, 2, 3].map(|k| Lane::new(message(k).unwrap_or(first)));
            let together = lanes.iter().map(Lane::blocks).min().unwrap_or(0);
            let done = kernel::compress(&mut lanes, together);
            lanes.into_iter().map(|l| l.finish(done)).collect()
        };
        for (&i, digest) in group.iter().zip(out) {
            if let Some(slot) = digests.get_mut(i) {
                *slot = digest;
            }
        }
    }
    digests
}

#[cfg(target_arch = "x86_64")]
mod kernel {
    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    use super::{Lane, LANES};

    /// FIPS 180-4, 4.2.2, in groups of four for `sha256rnds2`.
    static K: [[u32; 4]; 16] = [
        [0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5],
        [0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5],
        [0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3],
        [0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174],
        [0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc],
        [0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da],
        [0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7],
        [0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967],
        [0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13],
        [0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85],
        [0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3],
        [0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070],
        [0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5],
        [0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3],
        [0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208],
        [0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2],
    ];

    /// Whether this CPU has the SHA extensions and they give `sha2`'s
    /// digests (checked once per process).
    pub(super) fn usable() -> bool {
        static USABLE: OnceLock<bool> = OnceLock::new();
        *USABLE.get_or_init(super::known_answers_hold)
    }

    /// Whether the CPU has what [`compress4`] enables.
    pub(super) fn has_features() -> bool {
        is_x86_feature_detected!("sha")
            && is_x86_feature_detected!("sse2")
            && is_x86_feature_detected!("ssse3")
            && is_x86_feature_detected!("sse4.1")
    }

    /// Compress blocks `0..blocks` of each lane and say how many were
    /// done: none unless [`usable`] (`sha2` then does them all).
    pub(super) fn compress(lanes: &mut [Lane<'_>; LANES], blocks: usize) -> usize {
        if !usable() {
            return 0;
        }
        // SAFETY: the CPU has the features the function enables.
        unsafe { compress4(lanes, blocks) }
    }

    /// The state as `sha256rnds2` wants it: (A, B, E, F) and (C, D, G, H).
    #[inline(always)]
    unsafe fn load(state: &[u32; 8]) -> (__m128i, __m128i) {
        let dcba = _mm_loadu_si128(state.as_ptr().cast());
        let hgfe = _mm_loadu_si128(state.as_ptr().add(4).cast());
        let cdab = _mm_shuffle_epi32(dcba, 0xB1);
        let efgh = _mm_shuffle_epi32(hgfe, 0x1B);
        (
            _mm_alignr_epi8(cdab, efgh, 8),
            _mm_blend_epi16(efgh, cdab, 0xF0),
        )
    }

    #[inline(always)]
    unsafe fn store(state: &mut [u32; 8], abef: __m128i, cdgh: __m128i) {
        let feba = _mm_shuffle_epi32(abef, 0x1B);
        let dchg = _mm_shuffle_epi32(cdgh, 0xB1);
        _mm_storeu_si128(state.as_mut_ptr().cast(), _mm_blend_epi16(feba, dchg, 0xF0));
        _mm_storeu_si128(
            state.as_mut_ptr().add(4).cast(),
            _mm_alignr_epi8(dchg, feba, 8),
        );
    }

    /// Message words 16.. from the 16 before (four at a time).
    #[inline(always)]
    unsafe fn schedule(w0: __m128i, w1: __m128i, w2: __m128i, w3: __m128i) -> __m128i {
        let t = _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4));
        _mm_sha256msg2_epu32(t, w3)
    }

    /// # Safety
    /// The CPU must have the features enabled here.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn compress4(lanes: &mut [Lane<'_>; LANES], blocks: usize) -> usize {
        // Big-endian words.
        let swap = _mm_set_epi64x(0x0C0D_0E0F_0809_0A0B, 0x0405_0607_0001_0203);
        let mut abef = [_mm_setzero_si128(); LANES];
        let mut cdgh = [_mm_setzero_si128(); LANES];
        for (j, lane) in lanes.iter().enumerate() {
            (abef[j], cdgh[j]) = load(&lane.state);
        }
        let mut done = 0;
        while done < blocks {
            let [Some(b0), Some(b1), Some(b2), Some(b3)] = lanes.each_ref().map(|l| l.block(done))
            else {
                break;
            };
            done += 1;
            let data = [b0, b1, b2, b3];
            let (saved_abef, saved_cdgh) = (abef, cdgh);
            let mut w = [[_mm_setzero_si128(); 4]; LANES];
            for j in 0..LANES {
                for (q, word) in w[j].iter_mut().enumerate() {
                    let bytes = _mm_loadu_si128(data[j].as_ptr().add(16 * q).cast());
                    *word = _mm_shuffle_epi8(bytes, swap);
                }
            }
            // Four rounds per step, each step of every lane issued before
            // the next lane's: the lanes' chains overlap.
            for (r, k) in K.iter().enumerate() {
                let k = _mm_loadu_si128(k.as_ptr().cast());
                let mut t = [_mm_setzero_si128(); LANES];
                for j in 0..LANES {
                    let w = &mut w[j];
                    if r >= 4 {
                        w[r % 4] =
                            schedule(w[r % 4], w[(r + 1) % 4], w[(r + 2) % 4], w[(r + 3) % 4]);
                    }
                    t[j] = _mm_add_epi32(w[r % 4], k);
                }
                for j in 0..LANES {
                    cdgh[j] = _mm_sha256rnds2_epu32(cdgh[j], abef[j], t[j]);
                }
                for j in 0..LANES {
                    abef[j] =
                        _mm_sha256rnds2_epu32(abef[j], cdgh[j], _mm_shuffle_epi32(t[j], 0x0E));
                }
            }
            for j in 0..LANES {
                abef[j] = _mm_add_epi32(abef[j], saved_abef[j]);
                cdgh[j] = _mm_add_epi32(cdgh[j], saved_cdgh[j]);
            }
        }
        for (j, lane) in lanes.iter_mut().enumerate() {
            store(&mut lane.state, abef[j], cdgh[j]);
        }
        done
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod kernel {
    use super::{Lane, LANES};

    pub(super) fn usable() -> bool {
        false
    }

    pub(super) fn compress(_: &mut [Lane<'_>; LANES], _: usize) -> usize {
        0
    }
}

/// Whether this CPU has the SHA extensions and the kernel gives `sha2`'s
/// digests on it, for four messages of different bytes that end in one
/// or two padding blocks and leave the kernel after two blocks with the
/// rest still to do.
#[cfg(target_arch = "x86_64")]
fn known_answers_hold() -> bool {
    if !kernel::has_features() {
        return false;
    }
    let data: Vec<u8> = (0..400u32).map(|i| (i * 167 + 13) as u8).collect();
    let messages = [(0, 119), (7, 120), (13, 183), (29, 300)]
        .map(|(from, len)| data.get(from..from + len).unwrap_or_default());
    let mut lanes = messages.map(Lane::new);
    let together = lanes.iter().map(Lane::blocks).min().unwrap_or(0);
    // SAFETY: the CPU has the features (checked above).
    let done = unsafe { kernel::compress4(&mut lanes, together) };
    let got = lanes.map(|l| l.finish(done));
    let agree = got
        .iter()
        .zip(messages)
        .all(|(g, m)| g[..] == Sha256::digest(m)[..]);
    done == together && together > 0 && agree
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(messages: &[&[u8]]) -> Vec<[u8; 32]> {
        messages.iter().map(|m| Sha256::digest(m).into()).collect()
    }

    /// Distinct bytes per message, so that swapped lanes show.
    fn message(seed: usize, len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + seed * 101 + 7) as u8).collect()
    }

    #[test]
    fn the_kernel_runs_where_the_cpu_has_sha_extensions() {
        // Otherwise every other test here would only check sha2 against
        // itself.
        #[cfg(target_arch = "x86_64")]
        assert_eq!(kernel::usable(), is_x86_feature_detected!("sha"));
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("sha") {
            assert!(known_answers_hold());
        }
    }

    /// The kernel alone, where the CPU has it: a wrong kernel would fail
    /// its known-answer check and leave every other test to `sha2`.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_kernel_itself_gives_sha2s_digests() {
        if !kernel::has_features() {
            return;
        }
        for len in 0..=300 {
            let msgs: Vec<Vec<u8>> = [0, 1, 64, 200]
                .map(|extra| message(len + extra, len + extra))
                .into();
            let mut lanes: [Lane<'_>; LANES] = [0, 1, 2, 3].map(|k| Lane::new(&msgs[k]));
            let together = lanes.iter().map(Lane::blocks).min().unwrap();
            // SAFETY: the CPU has the features (checked above).
            let done = unsafe { kernel::compress4(&mut lanes, together) };
            assert_eq!(done, together);
            let got: Vec<[u8; 32]> = lanes.into_iter().map(|l| l.finish(done)).collect();
            let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
            assert_eq!(got, reference(&refs), "{len}");
        }
    }

    #[test]
    fn every_length_around_the_block_boundaries() {
        // Four messages of each length (lanes together to the end), and
        // all lengths at once (lanes that finish apart).
        let mut all = Vec::new();
        for len in 0..=300 {
            let four: Vec<Vec<u8>> = (0..4).map(|k| message(len + k, len)).collect();
            let refs: Vec<&[u8]> = four.iter().map(Vec::as_slice).collect();
            assert_eq!(sha256_many_with(&refs, true), reference(&refs), "{len}");
            all.push(message(len, len));
        }
        let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
        assert_eq!(sha256_many_with(&refs, true), reference(&refs));
    }

    #[test]
    fn any_count_of_messages_comes_back_in_order() {
        for count in 0..=9 {
            // Longest first: the lanes are formed in another order.
            let msgs: Vec<Vec<u8>> = (0..count).map(|k| message(k, 64 * (9 - k) + 3)).collect();
            let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
            assert_eq!(sha256_many_with(&refs, true), reference(&refs), "{count}");
            assert_eq!(sha256_many_with(&refs, false), reference(&refs), "{count}");
        }
    }

    proptest! {
        #[test]
        fn the_same_digests_as_sha2(msgs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..700), 0..12)) {
            let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
            prop_assert_eq!(sha256_many(&refs), reference(&refs));
        }
    }
}
