//! Signing and verifying whole metadata files with the reference's rules.

use std::path::PathBuf;

use intact_model::io::AtomicFile;
use intact_model::{
    Envelope, EnvelopeSignature, KeyId, Metablock, Metadata, ModelError, Payload, Signature,
    SignatureValue,
};

use crate::gpg::GpgRefusal;
use crate::public::Streamed;
use crate::{CryptoError, GpgKey, PublicKey, SigningKey};

/// Sign `md` with `key`, replacing an earlier signature by the same keyid.
/// Returns the keyid the signature carries (the modern keyid of the key).
pub fn sign_metadata(md: &mut Metadata, key: &SigningKey) -> Result<KeyId, CryptoError> {
    let keyid = key.keyid()?;
    let sig = key.sign(&md.signed_bytes()?)?;
    md.set_signature(keyid.clone(), sig);
    if let Some(pem) = key.certificate() {
        md.set_signature_cert(&keyid, pem);
    }
    Ok(keyid)
}

/// A DSSE envelope of `payload` (of `payload_type`) signed by each key
/// once: a key given twice, or two keys with one keyid, sign once, as a
/// verifier counts a keyid once. For documents that are not links or
/// layouts (attestations, key-status documents).
pub fn sign_envelope(
    payload_type: &str,
    payload: Vec<u8>,
    keys: &[&SigningKey],
) -> Result<Envelope, CryptoError> {
    let mut env = Envelope {
        payload,
        payload_type: payload_type.to_string(),
        signatures: Vec::new(),
    };
    let pae = env.pae();
    for key in keys {
        let keyid = key.keyid()?;
        if env.signature_by(&keyid).is_some() {
            continue;
        }
        env.signatures.push(EnvelopeSignature {
            keyid,
            sig: key.sign(&pae)?,
            extra: Default::default(),
        });
    }
    Ok(env)
}

/// Sign `md` with `key` and write it atomically to the path `path_for`
/// names after the signing keyid.
///
/// For a Metablock whose signature length the scheme fixes, the file's
/// body (everything after the signatures) is streamed into the file on a
/// second thread while the signature is computed, and the head is written
/// in front of it last: for a link of 100,000 artifacts the body is 10 MB
/// that is then never held in memory, and writing it costs no time.
pub fn sign_and_save(
    md: &mut Metadata,
    key: &SigningKey,
    path_for: impl FnOnce(&KeyId) -> PathBuf,
) -> Result<(KeyId, PathBuf), CryptoError> {
    let none = |_: &Metadata| Ok::<(), std::convert::Infallible>(());
    match sign_and_save_alongside(md, key, path_for, none)? {
        Ok((saved, ())) => Ok(saved),
        Err(never) => match never {},
    }
}

/// What [`sign_and_save_alongside`] saved (the keyid and the path) and
/// what ran beside it returned.
pub type Saved<R> = ((KeyId, PathBuf), R);

/// [`sign_and_save`], running `alongside` on the metadata on another
/// thread while the signature is computed and the body written: `intact
/// run --attest` signs a step's attestations from the link meanwhile. For
/// an envelope (signed in place) `alongside` runs first, on this thread.
/// When `alongside` fails, nothing is saved and its error comes back as
/// the inner error: what goes with the file fails with it.
pub fn sign_and_save_alongside<R: Send, E: Send>(
    md: &mut Metadata,
    key: &SigningKey,
    path_for: impl FnOnce(&KeyId) -> PathBuf,
    alongside: impl FnOnce(&Metadata) -> Result<R, E> + Send,
) -> Result<Result<Saved<R>, E>, CryptoError> {
    let keyid = key.keyid()?;
    let path = path_for(&keyid);
    let in_file = |e: ModelError| CryptoError::from(e.in_file(&path));
    // A certificate-carrying signature is written whole (the streamed
    // head below assumes a bare signature).
    let (Metadata::Metablock(mb), None) = (&*md, key.certificate()) else {
        let beside = match alongside(md) {
            Ok(beside) => beside,
            Err(e) => return Ok(Err(e)),
        };
        sign_metadata(md, key)?;
        md.save(&path)?;
        return Ok(Ok(((keyid, path), beside)));
    };
    let file = AtomicFile::create(&path, 0o644)?;
    let body_at = match key.signature_len() {
        Some(len) => {
            let placeholder = Signature::raw(keyid.clone(), vec![0; len]);
            Some(mb.file_head_with(placeholder).map_err(in_file)?.len() as u64)
        }
        None => None,
    };
    let whole: &Metadata = md;
    let (sig, finished, beside) = std::thread::scope(|s| {
        let body = std::thread::Builder::new().spawn_scoped(s, || write_body(mb, &file, body_at));
        let beside = std::thread::Builder::new().spawn_scoped(s, || alongside(whole));
        let sig = sign_payload(&mb.signed, key);
        let body = match body {
            Ok(body) => joined(body),
            // No second thread to be had: one after the other.
            Err(_) => write_body(mb, &file, body_at),
        };
        // The file finished and flushed while `alongside` may still run.
        let finished = match (&sig, body) {
            (Ok(sig), Ok(body)) => finish_file(mb, &file, body_at, body, (&keyid, sig))
                .map_err(|e| CryptoError::from(e.in_file(&path))),
            (Err(_), _) => Ok(()),
            (_, Err(e)) => Err(CryptoError::from(e.in_file(&path))),
        };
        (sig, finished, beside.map(joined))
    });
    // No thread for `alongside` (its closure went with the failed spawn):
    // nothing ran it, so saving cannot go on without its result.
    let beside = match beside {
        Ok(Ok(beside)) => beside,
        // The temporary file goes with `file`, dropped uncommitted.
        Ok(Err(e)) => return Ok(Err(e)),
        Err(e) => {
            return Err(CryptoError::Signing(format!(
                "no thread to run beside the signing: {e}"
            )))
        }
    };
    let sig = sig?;
    finished?;
    md.set_signature(keyid.clone(), sig);
    file.commit()?;
    Ok(Ok(((keyid, path), beside)))
}

/// Put the head (with the signature `sig`) in front of the body written
/// at `body_at`, or write the whole file when the body is in memory or
/// the head came out another length; then flush it all to disk.
fn finish_file(
    mb: &Metablock,
    file: &AtomicFile,
    body_at: Option<u64>,
    body: Body,
    (keyid, sig): (&KeyId, &[u8]),
) -> Result<(), ModelError> {
    let head = mb.file_head_with(Signature::raw(keyid.clone(), sig.to_vec()))?;
    match body {
        Body::Written if body_at == Some(head.len() as u64) => file.write_at(0, &head)?,
        // The signature came out another length than its scheme's: write
        // the whole file again (the body does not depend on it).
        Body::Written => write_whole(file, &head, &mb.file_tail()?)?,
        Body::Bytes(tail) => write_whole(file, &head, &tail)?,
    }
    file.sync_all()
}

/// A scoped thread's result; its panic goes on in this thread.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Where a Metablock's body went.
enum Body {
    /// Into the file, after the head's expected length.
    Written,
    /// Into memory: the signature's length is not known in advance, or
    /// the payload cannot be streamed.
    Bytes(Vec<u8>),
}

fn write_body(mb: &Metablock, file: &AtomicFile, at: Option<u64>) -> Result<Body, ModelError> {
    if let Some(mut offset) = at {
        let mut failed = None;
        let streamed = mb.stream_file_tail(&mut |chunk| {
            if failed.is_none() {
                failed = file.write_at(offset, chunk).err();
                offset += chunk.len() as u64;
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if streamed {
            // While the signature is still being computed.
            file.sync_data()?;
            return Ok(Body::Written);
        }
    }
    mb.file_tail().map(Body::Bytes)
}

fn write_whole(file: &AtomicFile, head: &[u8], tail: &[u8]) -> Result<(), ModelError> {
    file.set_len(0)?;
    file.write_at(0, head)?;
    file.write_at(head.len() as u64, tail)
}

/// The signature over a payload's canonical bytes, written whole first.
///
/// Ed25519 hashes the message twice (nonce, then challenge). Streaming
/// them (a thread writing the bytes ahead of each pass, or once and kept
/// for the second) was measured no faster on 100,000 artifacts (317 vs
/// 315 ms for `intact run`) and slower on 10,000 (46.2 vs 45.3 ms): that
/// thread competed for the second core with the one writing the file.
fn sign_payload(payload: &Payload, key: &SigningKey) -> Result<Vec<u8>, CryptoError> {
    key.sign(&payload.canonical_bytes()?)
}

/// Artifacts in a link above which its canonical form (about 100 bytes
/// each) is worth a second thread: below, starting the thread costs more
/// than the overlap saves.
const LARGE_LINK: usize = 5_000;

fn is_large(md: &Metadata) -> bool {
    match md {
        Metadata::Metablock(Metablock {
            signed: Payload::Link(link),
            ..
        }) => link.materials.len() + link.products.len() > LARGE_LINK,
        _ => false,
    }
}

/// Chunks that `produce` makes on a second thread, handed to `consume` on
/// this one: writing canonical JSON and hashing it then overlap instead of
/// taking turns (each is 10-15 ms per pass over a 100,000-artifact link).
fn produce_ahead<E: Send>(
    produce: impl Fn(&mut dyn FnMut(&[u8])) -> Result<bool, E> + Sync,
    consume: &mut dyn FnMut(&[u8]),
) -> Result<bool, E> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let produce = &produce;
    let threaded = std::thread::scope(|scope| {
        let producer = std::thread::Builder::new().spawn_scoped(scope, move || {
            // A closed channel means the consumer is gone: nothing to do.
            produce(&mut |chunk| drop(tx.send(chunk.to_vec())))
        });
        let Ok(producer) = producer else {
            return None;
        };
        for chunk in rx {
            consume(&chunk);
        }
        Some(match producer.join() {
            Ok(outcome) => outcome,
            // A panic in the writer: resume it here, as if unthreaded.
            Err(panic) => std::panic::resume_unwind(panic),
        })
    });
    // No second thread to be had: produce on this one.
    threaded.unwrap_or_else(|| produce(consume))
}

/// Parse the link Metablock in `text` and verify its signature by `keyid`
/// with `key` during the parse: the canonical bytes of the payload, written
/// from the parsed values as they come (`intact_model::teed`), are hashed
/// on a second thread, so the check finishes with the parse instead of
/// after it. The verdict is [`verify_metadata`]'s on the returned
/// metadata. `None`: the file is not a link Metablock in canonical key
/// order (or does not parse); use `Metadata::from_slice` and
/// `verify_metadata`, which give the messages.
pub fn parse_and_verify_link(
    text: &str,
    keyid: &KeyId,
    key: &PublicKey,
) -> Option<(Metadata, Result<(), CryptoError>)> {
    std::thread::scope(|scope| {
        let mut hasher = None;
        let parsed = intact_model::teed::parse_link_teed(text, |signatures: &[Signature]| {
            // The first signature by the key, as verify_metadata takes it.
            let sig = signatures.iter().find(|s| &s.keyid == keyid)?;
            let SignatureValue::Raw(bytes) = &sig.value else {
                return None;
            };
            let Streamed::Verifier(mut verifier) = key.stream_verifier(bytes) else {
                return None;
            };
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
            let thread = std::thread::Builder::new().spawn_scoped(scope, move || {
                for chunk in rx {
                    verifier.update(&chunk);
                }
                verifier.finalize_and_verify().is_ok()
            });
            hasher = Some(thread.ok()?);
            // A closed channel means the hasher is gone: nothing to do.
            Some(move |chunk: Vec<u8>| drop(tx.send(chunk)))
        });
        // Dropping the sink closes the hasher's channel.
        let (md, sink) = parsed?;
        drop(sink);
        let verdict = match hasher {
            Some(thread) => match thread.join() {
                Ok(true) => Ok(()),
                Ok(false) => Err(CryptoError::BadSignature(keyid.clone())),
                Err(panic) => std::panic::resume_unwind(panic),
            },
            // No signature to stream (another key type, GPG, none by the
            // key): the ordinary check gives the verdict and the reason.
            None => verify_metadata(&md, keyid, key),
        };
        Some((md, verdict))
    })
}

/// Verify the signature by `keyid` on `md` with `key`, as the reference
/// does: only the first signature carrying `keyid` (for a GPG key, `keyid`
/// or one of the key's subkeys) is tried. The keyid is
/// the one the layout (or the caller) names; it is never recomputed.
pub fn verify_metadata(md: &Metadata, keyid: &KeyId, key: &PublicKey) -> Result<(), CryptoError> {
    if let Some(gpg) = key.as_gpg() {
        return verify_gpg_metadata(md, keyid, gpg);
    }
    let sig = md
        .signature_by(keyid)
        .ok_or_else(|| CryptoError::NoSignature(keyid.clone()))?;
    let bytes = sig
        .sig
        .ok_or_else(|| CryptoError::GpgSignature(keyid.clone()))?;
    match key.stream_verifier(bytes) {
        Streamed::Invalid => return Err(CryptoError::BadSignature(keyid.clone())),
        Streamed::Verifier(mut v) => {
            let streamed = if is_large(md) {
                produce_ahead(|sink| md.stream_signed_bytes(sink), &mut |c| v.update(c))?
            } else {
                md.stream_signed_bytes(&mut |chunk| v.update(chunk))?
            };
            if streamed {
                return v
                    .finalize_and_verify()
                    .map_err(|_| CryptoError::BadSignature(keyid.clone()));
            }
        }
        Streamed::Unsupported => {}
    }
    if key.verify(&md.signed_bytes()?, bytes) {
        Ok(())
    } else {
        Err(CryptoError::BadSignature(keyid.clone()))
    }
}

/// The reference's check of a Metablock with a GPG key: the first
/// signature by the key or one of its subkeys, which must be a GPG
/// signature, checked over the canonical bytes with that (sub)key; an
/// expired (sub)key is refused. DSSE envelopes carry no GPG signatures.
fn verify_gpg_metadata(md: &Metadata, keyid: &KeyId, gpg: &GpgKey) -> Result<(), CryptoError> {
    let Metadata::Metablock(mb) = md else {
        return Err(CryptoError::GpgEnvelope(keyid.clone()));
    };
    let sig = mb
        .signatures
        .iter()
        .find(|s| gpg.owns(keyid.as_str(), s.keyid.as_str()))
        .ok_or_else(|| CryptoError::NoSignature(keyid.clone()))?;
    let SignatureValue::Gpg {
        signature,
        other_headers,
    } = &sig.value
    else {
        return Err(CryptoError::BadSignature(keyid.clone()));
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let content = mb.signed.canonical_bytes()?;
    gpg.verify(sig.keyid.as_str(), signature, other_headers, &content, now)
        .map_err(|refusal| match refusal {
            GpgRefusal::Expired(expired) => CryptoError::GpgKeyExpired {
                keyid: keyid.clone(),
                expired,
            },
            GpgRefusal::Invalid => CryptoError::BadSignature(keyid.clone()),
        })
}
