//! DSSE's pre-authentication encoding (PAE), and a payload buffer that
//! leaves room for it in front.
//!
//! A signature covers `DSSEv1 <len(type)> <type> <len(payload)> <payload>`.
//! Built with [`pae`], that is a second copy of the payload: 12.5 MB
//! copied (and its pages faulted in) for the SLSA provenance of 100,000
//! products. A [`PaeBuffer`] is written with the header's room kept free,
//! and the header is put in front once the payload's length is known.

/// The longest a PAE header of `payload_type` can be: "DSSEv1", two
/// lengths of at most 20 digits, the type and four spaces.
fn header_room(payload_type: &str) -> usize {
    "DSSEv1".len() + 2 * 20 + payload_type.len() + 4
}

fn header(payload_type: &str, payload_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(header_room(payload_type));
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_len.to_string().as_bytes());
    out.push(b' ');
    out
}

/// DSSE pre-authentication encoding: what the signatures cover.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = header(payload_type, payload.len());
    out.extend_from_slice(payload);
    out
}

/// A payload being written, with room in front for its PAE header.
#[derive(Debug)]
pub struct PaeBuffer {
    payload_type: String,
    bytes: Vec<u8>,
    room: usize,
}

impl PaeBuffer {
    /// An empty payload of `payload_type`, `capacity` bytes reserved.
    pub fn new(payload_type: &str, capacity: usize) -> Self {
        let room = header_room(payload_type);
        let mut bytes = Vec::with_capacity(room + capacity);
        bytes.resize(room, 0);
        PaeBuffer {
            payload_type: payload_type.to_string(),
            bytes,
            room,
        }
    }

    /// The payload so far.
    pub fn payload(&self) -> &[u8] {
        self.bytes.get(self.room..).unwrap_or_default()
    }

    /// Append to the payload.
    pub fn extend_from_slice(&mut self, more: &[u8]) {
        self.bytes.extend_from_slice(more);
    }

    /// Let `write` append to the payload: it gets the buffer itself,
    /// whose bytes so far (the room, then the payload) it must leave as
    /// they are, as any function that appends to a `Vec` it is given.
    pub fn append_with<T>(&mut self, write: impl FnOnce(&mut Vec<u8>) -> T) -> T {
        let out = write(&mut self.bytes);
        if self.bytes.len() < self.room {
            // Cut into the room: the payload is gone, the room restored.
            self.bytes.resize(self.room, 0);
        }
        out
    }

    /// The finished payload, with its PAE header in front of it.
    pub fn finish(self) -> Pae {
        let head = header(
            &self.payload_type,
            self.bytes.len().saturating_sub(self.room),
        );
        match self.room.checked_sub(head.len()) {
            Some(start) => {
                let mut bytes = self.bytes;
                if let Some(slot) = bytes.get_mut(start..self.room) {
                    slot.copy_from_slice(&head);
                }
                Pae {
                    payload_type: self.payload_type,
                    bytes,
                    start,
                    payload_at: self.room,
                }
            }
            // Cannot happen (the room fits any header), but if it did:
            // the copy [`pae`] makes.
            None => {
                let whole = pae(&self.payload_type, self.payload());
                Pae {
                    payload_at: head.len(),
                    payload_type: self.payload_type,
                    bytes: whole,
                    start: 0,
                }
            }
        }
    }
}

/// A payload and its PAE, in one buffer.
#[derive(Debug)]
pub struct Pae {
    payload_type: String,
    bytes: Vec<u8>,
    start: usize,
    payload_at: usize,
}

impl Pae {
    /// What a signature covers.
    pub fn pae(&self) -> &[u8] {
        self.bytes.get(self.start..).unwrap_or_default()
    }

    /// The payload alone.
    pub fn payload(&self) -> &[u8] {
        self.bytes.get(self.payload_at..).unwrap_or_default()
    }

    /// The payload's type.
    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IN_TOTO_PAYLOAD_TYPE;

    #[test]
    fn pae_matches_dsse_spec() {
        assert_eq!(
            pae(IN_TOTO_PAYLOAD_TYPE, b"{}"),
            b"DSSEv1 28 application/vnd.in-toto+json 2 {}".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    /// The buffer's PAE is [`pae`]'s, whatever the payload's length (one
    /// digit to eight) and type, written whole or in parts.
    #[test]
    fn the_buffer_gives_the_same_pae() {
        for (ty, n) in [
            (IN_TOTO_PAYLOAD_TYPE, 0),
            (IN_TOTO_PAYLOAD_TYPE, 7),
            ("", 1234),
            ("application/x-\u{e9}", 12_345_678),
        ] {
            let payload: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let mut buf = PaeBuffer::new(ty, 16);
            let (a, b) = payload.split_at(n / 2);
            buf.extend_from_slice(a);
            let wrote = buf.append_with(|out| {
                let before = out.len();
                out.extend_from_slice(b);
                out.len() - before
            });
            assert_eq!(wrote, b.len());
            assert_eq!(buf.payload(), &payload[..]);
            let done = buf.finish();
            assert_eq!(done.pae(), &pae(ty, &payload)[..]);
            assert_eq!(done.payload(), &payload[..]);
            assert_eq!(done.payload_type(), ty);
        }
    }
}
