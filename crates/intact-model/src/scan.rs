//! Byte-class scans over the short strings every artifact carries (names,
//! digests), written so the compiler turns them into vector compares:
//! each runs once per artifact whenever a link is read or written, and a
//! byte-at-a-time loop was two fifths of writing canonical JSON.

/// Whether any byte of `bytes` is one that `hit` picks.
#[inline]
pub(crate) fn any_byte(bytes: &[u8], hit: impl Fn(u8) -> bool + Copy) -> bool {
    let mut chunks = bytes.chunks_exact(16);
    let mut found = 0u8;
    for chunk in &mut chunks {
        // No early exit inside a block: 16 compares and one OR-reduce.
        found |= chunk.iter().fold(0u8, |acc, &b| acc | u8::from(hit(b)));
    }
    found |= chunks
        .remainder()
        .iter()
        .fold(0u8, |acc, &b| acc | u8::from(hit(b)));
    found != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_hit_at_every_position_and_length() {
        for len in 0..70 {
            let clean = vec![b'a'; len];
            assert!(!any_byte(&clean, |b| b == b'"'));
            for at in 0..len {
                let mut dirty = clean.clone();
                dirty[at] = b'"';
                assert!(any_byte(&dirty, |b| b == b'"'), "{len} {at}");
            }
        }
    }
}
