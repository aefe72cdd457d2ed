//! A DSSE envelope signed straight into its file.
//!
//! The envelope of a large payload (the SLSA provenance of 100,000
//! products: 12.5 MB, 16.7 MB of base64) costs a signature (Ed25519 hashes
//! the payload twice) and a base64 encoding and write that do not depend
//! on the signature, since the payload comes first in the file. The two
//! run side by side here, and the payload is signed in the buffer it was
//! written to ([`PaeBuffer`]), never copied whole.

use intact_model::io::AtomicFile;
use intact_model::{Envelope, EnvelopeSignature, PaeBuffer, ENVELOPE_HEAD};

use crate::{CryptoError, SigningKey};

/// How much payload is encoded and written at a time: a multiple of 3,
/// so the pieces' base64 concatenates to the whole's.
const CHUNK: usize = 3 * 256 * 1024;

/// Sign the payload in `buf` with `key` and write its envelope, as
/// [`Envelope::to_bytes`] writes it plus a newline, into `file`, flushed
/// to disk (everything, so the commit that puts it in place waits for
/// nothing). The payload's base64 is written on a second thread while the
/// signature is made.
pub fn sign_envelope_into(
    file: &AtomicFile,
    buf: PaeBuffer,
    key: &SigningKey,
) -> Result<(), CryptoError> {
    let keyid = key.keyid()?;
    let pae = buf.finish();
    let (sig, written) = std::thread::scope(|s| {
        let writer =
            std::thread::Builder::new().spawn_scoped(s, || write_payload(file, pae.payload()));
        let sig = key.sign(pae.pae());
        let written = match writer {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No second thread to be had: one after the other.
            Err(_) => write_payload(file, pae.payload()),
        };
        (sig, written)
    });
    let mut env = Envelope {
        payload: Vec::new(),
        payload_type: pae.payload_type().to_string(),
        signatures: vec![EnvelopeSignature {
            keyid,
            sig: sig?,
            extra: Default::default(),
        }],
    };
    let end = written?;
    match env.bytes_after_payload()? {
        Some(mut tail) => {
            tail.push(b'\n');
            file.write_at(end, &tail)?;
            // A file that held more before ends here all the same.
            file.set_len(end + tail.len() as u64)?;
        }
        // Not the layout expected: the whole envelope, written again.
        None => {
            env.payload = pae.payload().to_vec();
            let mut whole = env.to_bytes()?;
            whole.push(b'\n');
            file.set_len(0)?;
            file.write_at(0, &whole)?;
        }
    }
    file.sync_all()?;
    Ok(())
}

/// Write [`ENVELOPE_HEAD`] and the base64 of `payload` at the start of
/// `file`, flushed to disk; returns where they end.
fn write_payload(file: &AtomicFile, payload: &[u8]) -> Result<u64, CryptoError> {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    file.write_at(0, ENVELOPE_HEAD)?;
    let mut at = ENVELOPE_HEAD.len() as u64;
    let mut text = vec![0; CHUNK / 3 * 4];
    for piece in payload.chunks(CHUNK) {
        let n = STANDARD
            .encode_slice(piece, &mut text)
            .map_err(|e| CryptoError::Signing(format!("the payload's base64: {e}")))?;
        let encoded = text.get(..n).unwrap_or_default();
        file.write_at(at, encoded)?;
        at += encoded.len() as u64;
    }
    // While the signature is still being made.
    file.sync_data()?;
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use intact_model::IN_TOTO_PAYLOAD_TYPE;

    /// The file is the envelope [`crate::sign_envelope`] makes, written
    /// as [`Envelope::to_bytes`] with a newline, for payloads around the
    /// chunk size (the base64 of pieces joined must be the whole's).
    #[test]
    fn the_file_is_the_envelope_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::tests::rfc8032_key();
        for n in [0, 1, 2, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 2] {
            let payload: Vec<u8> = (0..n).map(|i| (i % 253) as u8).collect();
            let mut buf = PaeBuffer::new(IN_TOTO_PAYLOAD_TYPE, n);
            buf.extend_from_slice(&payload);
            let path = dir.path().join(format!("{n}.json"));
            let file = AtomicFile::create(&path, 0o644).unwrap();
            sign_envelope_into(&file, buf, &key).unwrap();
            file.commit().unwrap();
            let env = crate::sign_envelope(IN_TOTO_PAYLOAD_TYPE, payload, &[&key]).unwrap();
            let mut want = env.to_bytes().unwrap();
            want.push(b'\n');
            #[allow(clippy::disallowed_methods)]
            let got = std::fs::read(&path).unwrap();
            assert!(got == want, "payload of {n} bytes: the files differ");
        }
    }
}
