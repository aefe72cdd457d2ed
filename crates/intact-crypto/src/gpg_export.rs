//! A GPG key dict from an exported OpenPGP public key (`gpg --export
//! [--armor] KEYID`), as securesystemslib's `export_pubkey` builds it from
//! the same bytes: the primary key's parameters, fingerprint and creation
//! time; the expiry from the newest valid self-certification of a user ID
//! (a primary user ID's winning); the subkeys that carry exactly one valid
//! binding signature, each with its own expiry.
//!
//! The reference's quirks are kept on purpose so the dicts are equal: the
//! certified data is the key and user ID packets as they were exported
//! (header bytes included), so GnuPG's short-header packets (an Ed25519
//! key's) fail their self-signatures there, and such a key gets neither an
//! expiry nor subkeys. Parsing is bounded by the input; nothing panics on
//! malformed data.

use base64::Engine;
use serde_json::{json, Map, Value};
use sha1::{Digest, Sha1};

use crate::gpg::{GpgKey, HashAlg, SigValue};
use crate::CryptoError;

const PACKET_SIGNATURE: u8 = 0x02;
const PACKET_PRIMARY_KEY: u8 = 0x06;
const PACKET_SUB_KEY: u8 = 0x0e;
const PACKET_USER_ID: u8 = 0x0d;
const PACKET_USER_ATTR: u8 = 0x11;
const SIG_SUB_KEY_BINDING: u8 = 0x18;
const SUB_CREATION: u8 = 0x02;
const SUB_KEY_EXPIRATION: u8 = 0x09;
const SUB_ISSUER: u8 = 0x10;
const SUB_PRIMARY_USER_ID: u8 = 0x19;
const SUB_ISSUER_FPR: u8 = 0x21;
const ED25519_OID: [u8; 9] = [0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01];

fn bad(msg: impl std::fmt::Display) -> CryptoError {
    CryptoError::InvalidKey(format!("OpenPGP key: {msg}"))
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data, at: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], CryptoError> {
        let end = self
            .at
            .checked_add(n)
            .ok_or_else(|| bad("length overflow"))?;
        let out = self
            .data
            .get(self.at..end)
            .ok_or_else(|| bad("truncated"))?;
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, CryptoError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, CryptoError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, CryptoError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// An MPI's bytes: a bit count, then that many bits rounded up.
    fn mpi(&mut self) -> Result<&'a [u8], CryptoError> {
        let bits = usize::from(self.u16()?);
        self.take(bits.div_ceil(8))
    }
    fn rest(&self) -> &'a [u8] {
        self.data.get(self.at..).unwrap_or_default()
    }
}

/// The binary form of an armored key block, or the bytes unchanged.
fn dearmor(data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(data.to_vec());
    };
    if !text.trim_start().starts_with("-----BEGIN PGP ") {
        return Ok(data.to_vec());
    }
    let mut lines = text
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN PGP "));
    lines.next();
    // Armor headers ("Comment: ...") end at the first blank line.
    let mut body = String::new();
    let mut in_headers = true;
    for line in lines {
        if line.starts_with("-----END PGP ") {
            break;
        }
        if in_headers {
            if line.is_empty() {
                in_headers = false;
            } else if !line.contains(": ") {
                // No headers at all: this is already body.
                in_headers = false;
                body.push_str(line);
            }
            continue;
        }
        if line.starts_with('=') {
            // The CRC-24 line.
            continue;
        }
        body.push_str(line);
    }
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| bad(format!("armor is not base64: {e}")))
}

/// (type, header length, body length) of the packet at the start of `data`.
fn packet_header(data: &[u8]) -> Result<(u8, usize, usize), CryptoError> {
    let mut r = Reader::new(data);
    let tag = r.u8()?;
    if tag & 0x80 == 0 {
        return Err(bad("not a packet tag"));
    }
    if tag & 0x40 != 0 {
        let t = tag & 0x3f;
        let first = r.u8()?;
        match first {
            0..=191 => Ok((t, 2, usize::from(first))),
            192..=223 => {
                let second = r.u8()?;
                Ok((
                    t,
                    3,
                    ((usize::from(first) - 192) << 8) + usize::from(second) + 192,
                ))
            }
            255 => Ok((t, 6, r.u32()? as usize)),
            _ => Err(bad("partial body lengths are not supported")),
        }
    } else {
        let t = (tag & 0x3c) >> 2;
        match tag & 0x03 {
            0 => Ok((t, 2, usize::from(r.u8()?))),
            1 => Ok((t, 3, usize::from(r.u16()?))),
            2 => Ok((t, 5, r.u32()? as usize)),
            _ => Err(bad("indeterminate packet lengths are not supported")),
        }
    }
}

/// A public key packet's body as securesystemslib's key dict (no expiry).
fn pubkey_dict(body: &[u8]) -> Result<Map<String, Value>, CryptoError> {
    let mut r = Reader::new(body);
    if r.u8()? != 4 {
        return Err(bad("only version 4 keys are supported"));
    }
    let created = r.u32()?;
    let algo = r.u8()?;
    let h = |b: &[u8]| hex::encode(b);
    let (type_name, method, public) = match algo {
        0x01 => {
            let n = r.mpi()?;
            let e = r.mpi()?;
            ("rsa", "pgp+rsa-pkcsv1.5", json!({"e": h(e), "n": h(n)}))
        }
        0x11 => {
            let p = r.mpi()?;
            let q = r.mpi()?;
            let g = r.mpi()?;
            let y = r.mpi()?;
            let v = json!({"y": h(y), "p": h(p), "g": h(g), "q": h(q)});
            ("dsa", "pgp+dsa-fips-180-2", v)
        }
        0x16 => {
            let oid_len = usize::from(r.u8()?);
            if r.take(oid_len)? != ED25519_OID {
                return Err(bad("an EdDSA key on a curve other than Ed25519"));
            }
            let bits = usize::from(r.u16()?);
            if bits.div_ceil(8) != 33 || r.u8()? != 0x40 {
                return Err(bad("an Ed25519 point not in the 0x40-prefixed form"));
            }
            ("eddsa", "pgp+eddsa-ed25519", json!({"q": h(r.take(32)?)}))
        }
        other => return Err(bad(format!("unsupported public key algorithm {other}"))),
    };
    let mut fpr = Sha1::new();
    fpr.update([0x99]);
    fpr.update(
        u16::try_from(body.len())
            .map_err(|_| bad("key packet too long"))?
            .to_be_bytes(),
    );
    fpr.update(body);
    let mut m = Map::new();
    m.insert("method".into(), method.into());
    m.insert("type".into(), type_name.into());
    m.insert("hashes".into(), json!(["pgp+SHA2"]));
    m.insert("creation_time".into(), created.into());
    m.insert("keyid".into(), hex::encode(fpr.finalize()).into());
    m.insert("keyval".into(), json!({"private": "", "public": public}));
    Ok(m)
}

/// A certification or binding signature, as far as the export needs it.
struct CertSig {
    other_headers: Vec<u8>,
    hash: HashAlg,
    issuer: String,
    creation_time: u32,
    /// Subpackets by type, hashed ones overriding unhashed ones.
    subpackets: std::collections::HashMap<u8, Vec<u8>>,
    value: SigValue,
}

fn subpackets(data: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, CryptoError> {
    let mut r = Reader::new(data);
    let mut out = Vec::new();
    while !r.rest().is_empty() {
        let first = r.u8()?;
        let len = match first {
            0..=191 => usize::from(first),
            192..=254 => ((usize::from(first) - 192) << 8) + usize::from(r.u8()?) + 192,
            255 => r.u32()? as usize,
        };
        let body = r.take(len)?;
        let (t, payload) = body.split_first().ok_or_else(|| bad("empty subpacket"))?;
        out.push((*t, payload.to_vec()));
    }
    Ok(out)
}

fn parse_cert(packet: &[u8], types: &[u8]) -> Result<CertSig, CryptoError> {
    let (t, header_len, body_len) = packet_header(packet)?;
    if t != PACKET_SIGNATURE {
        return Err(bad("not a signature packet"));
    }
    let body = packet
        .get(header_len..header_len.saturating_add(body_len))
        .ok_or_else(|| bad("truncated signature packet"))?;
    let mut r = Reader::new(body);
    if r.u8()? != 4 {
        return Err(bad("only version 4 signatures are supported"));
    }
    if !types.contains(&r.u8()?) {
        return Err(bad("unexpected signature type"));
    }
    let algo = r.u8()?;
    let hash = HashAlg::from_id(r.u8()?).ok_or_else(|| bad("unsupported hash"))?;
    let hashed_len = usize::from(r.u16()?);
    let hashed = subpackets(r.take(hashed_len)?)?;
    let other_headers = body.get(..r.at).unwrap_or_default().to_vec();
    let unhashed_len = usize::from(r.u16()?);
    let unhashed = subpackets(r.take(unhashed_len)?)?;
    let mut map = std::collections::HashMap::new();
    let (mut keyid, mut short) = (String::new(), String::new());
    let mut creation_time = 0;
    for (st, data) in unhashed.into_iter().chain(hashed) {
        match st {
            SUB_ISSUER_FPR => keyid = hex::encode(data.get(1..).unwrap_or_default()),
            SUB_ISSUER => short = hex::encode(&data),
            SUB_CREATION => {
                let b: [u8; 4] = data
                    .as_slice()
                    .try_into()
                    .map_err(|_| bad("creation time"))?;
                creation_time = u32::from_be_bytes(b);
            }
            _ => {}
        }
        map.insert(st, data);
    }
    if keyid.is_empty() && short.is_empty() {
        return Err(bad("signature without issuer"));
    }
    if !keyid.is_empty() && !keyid.ends_with(&short) {
        return Err(bad("issuer and issuer fingerprint disagree"));
    }
    if creation_time == 0 {
        return Err(bad("signature without creation time"));
    }
    r.take(2)?; // the left 16 bits of the hash
    let value = match algo {
        0x01 => SigValue::Rsa(r.mpi()?.to_vec()),
        0x11 => {
            let rr = rsa::BigUint::from_bytes_be(r.mpi()?);
            let s = rsa::BigUint::from_bytes_be(r.mpi()?);
            SigValue::Dsa(dsa::Signature::from_components(rr, s).map_err(|_| bad("DSA (r, s)"))?)
        }
        0x16 => {
            let pad = |b: &[u8]| {
                let mut v = vec![0u8; 32usize.saturating_sub(b.len())];
                v.extend_from_slice(b);
                v
            };
            let mut v = pad(r.mpi()?);
            v.extend(pad(r.mpi()?));
            SigValue::Eddsa(v)
        }
        other => return Err(bad(format!("unsupported signature algorithm {other}"))),
    };
    Ok(CertSig {
        other_headers,
        hash,
        issuer: if keyid.is_empty() { short } else { keyid },
        creation_time,
        subpackets: map,
        value,
    })
}

fn be_u32(data: &[u8]) -> Result<u32, CryptoError> {
    let b: [u8; 4] = data.try_into().map_err(|_| bad("a 4-byte subpacket"))?;
    Ok(u32::from_be_bytes(b))
}

/// A packet with the signatures that follow it.
struct Certified<'a> {
    packet: &'a [u8],
    body: &'a [u8],
    signatures: Vec<&'a [u8]>,
}

/// Whether `data` looks like an exported OpenPGP public key: an armored
/// public key block, or binary data starting with a public key packet.
pub fn is_openpgp_key(data: &[u8]) -> bool {
    let armored = b"-----BEGIN PGP PUBLIC KEY BLOCK-----";
    let text = data.trim_ascii_start();
    text.starts_with(armored) || packet_header(data).is_ok_and(|(t, _, _)| t == PACKET_PRIMARY_KEY)
}

/// The GPG key dict securesystemslib's `export_pubkey` gives for the key
/// exported in `data` (armored or binary).
pub fn key_dict_from_openpgp(data: &[u8]) -> Result<Map<String, Value>, CryptoError> {
    let data = dearmor(data)?;
    let mut primary: Option<(&[u8], Map<String, Value>)> = None;
    let mut uids: Vec<Certified<'_>> = Vec::new();
    let mut subs: Vec<Certified<'_>> = Vec::new();
    // Which list a signature packet belongs to: the last of subkeys, user
    // attributes, user IDs that has any entry (the reference's order).
    let mut attrs = 0usize;
    let mut pos = 0;
    while pos < data.len() {
        let rest = data.get(pos..).unwrap_or_default();
        let (t, header_len, body_len) = packet_header(rest)?;
        let len = header_len
            .checked_add(body_len)
            .ok_or_else(|| bad("length"))?;
        let packet = rest.get(..len).ok_or_else(|| bad("truncated packet"))?;
        let body = packet.get(header_len..).unwrap_or_default();
        match (t, primary.is_some()) {
            (PACKET_PRIMARY_KEY, false) => primary = Some((packet, pubkey_dict(body)?)),
            (PACKET_PRIMARY_KEY, true) => return Err(bad("more than one primary key")),
            (_, false) => return Err(bad("the first packet must be a primary key")),
            (PACKET_USER_ID, _) => uids.push(Certified {
                packet,
                body,
                signatures: Vec::new(),
            }),
            (PACKET_SUB_KEY, _) => subs.push(Certified {
                packet,
                body,
                signatures: Vec::new(),
            }),
            (PACKET_USER_ATTR, _) => attrs += 1,
            (PACKET_SIGNATURE, _) => {
                if let Some(s) = subs.last_mut() {
                    s.signatures.push(packet);
                } else if attrs > 0 {
                    // Certifications of user attributes: not used.
                } else if let Some(u) = uids.last_mut() {
                    u.signatures.push(packet);
                }
            }
            _ => {}
        }
        pos += len;
    }
    let (primary_packet, mut dict) = primary.ok_or_else(|| bad("no key in the data"))?;
    let master = GpgKey::from_dict(&dict)?;
    let master_id = master.keyid().to_string();

    // The expiry: newest valid self-certification with one, a primary
    // user ID's winning over others.
    let (mut validity, mut is_primary, mut newest) = (None, false, 0u32);
    for uid in &uids {
        let mut content = primary_packet.to_vec();
        content.extend_from_slice(&[0xb4, 0, 0, 0]);
        content.extend_from_slice(uid.packet.get(1..).unwrap_or_default());
        for sig in &uid.signatures {
            let Ok(sig) = parse_cert(sig, &[0x10, 0x11, 0x12, 0x13]) else {
                continue;
            };
            if !master_id.ends_with(&sig.issuer) {
                continue;
            }
            if !master
                .material()
                .verify(sig.hash, &sig.other_headers, &content, &sig.value)
            {
                continue;
            }
            let Some(period) = sig.subpackets.get(&SUB_KEY_EXPIRATION) else {
                continue;
            };
            let this_primary = sig
                .subpackets
                .get(&SUB_PRIMARY_USER_ID)
                .is_some_and(|v| v.first().is_some_and(|b| *b != 0));
            if is_primary && !this_primary {
                continue;
            }
            if newest == 0 || newest < sig.creation_time {
                validity = Some(be_u32(period)?);
                is_primary = this_primary;
                newest = sig.creation_time;
            }
        }
    }
    if let Some(v) = validity {
        dict.insert("validity_period".into(), v.into());
    }

    // Subkeys with exactly one parsable binding signature that verifies.
    let mut subkeys = Map::new();
    for sub in &subs {
        let Ok(mut sub_dict) = pubkey_dict(sub.body) else {
            continue;
        };
        let bindings: Vec<CertSig> = sub
            .signatures
            .iter()
            .filter_map(|s| parse_cert(s, &[SIG_SUB_KEY_BINDING]).ok())
            .collect();
        let [binding] = bindings.as_slice() else {
            continue;
        };
        let mut content = primary_packet.to_vec();
        content.push(0x99);
        content.extend_from_slice(sub.packet.get(1..).unwrap_or_default());
        if !master.material().verify(
            binding.hash,
            &binding.other_headers,
            &content,
            &binding.value,
        ) {
            continue;
        }
        if let Some(period) = binding.subpackets.get(&SUB_KEY_EXPIRATION) {
            sub_dict.insert("validity_period".into(), be_u32(period)?.into());
        }
        let id = sub_dict
            .get("keyid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        subkeys.insert(id, Value::Object(sub_dict));
    }
    if !subkeys.is_empty() {
        dict.insert("subkeys".into(), Value::Object(subkeys));
    }
    // Parse once more as a layout would, so what is printed is usable.
    GpgKey::from_dict(&dict)?;
    Ok(dict)
}
