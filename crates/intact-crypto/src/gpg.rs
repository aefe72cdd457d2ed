//! GPG (OpenPGP v4) functionary keys and signatures, as the in-toto
//! reference reads them through securesystemslib's `_gpg` module.
//!
//! A GPG key dict (`type`, `method`, `hashes`, `keyval.public` with the
//! key's MPIs in hex, optional `creation_time`, `validity_period` and
//! `subkeys`) becomes a [`GpgKey`]. A GPG signature (`keyid`, `signature`,
//! `other_headers`) is checked the reference's way: the signed data is the
//! canonical bytes followed by `other_headers` (the v4 signature packet up
//! to the end of its hashed subpackets) and the trailer `04 ff` plus the
//! big-endian `u32` length of `other_headers`, hashed with SHA-256 whatever
//! the packet's hash algorithm byte says (securesystemslib always passes
//! SHA-256). RSA is PKCS#1 v1.5 over that digest, DSA is (r, s) in DER over
//! it, EdDSA is Ed25519 with the 32-byte digest as its message.
//!
//! A signature by a subkey is checked with that subkey and counts for the
//! main key; a key (or the subkey used) whose `creation_time +
//! validity_period` lies in the past is refused as expired, as the
//! reference raises `KeyExpirationError` (a missing or zero time means no
//! expiry). No `gpg` process is involved.

use std::collections::BTreeMap;

use rsa::BigUint;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use signature::hazmat::PrehashVerifier;

use crate::CryptoError;

/// The kind of a GPG key: securesystemslib's `type` and `method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GpgKind {
    /// `rsa`, `pgp+rsa-pkcsv1.5`.
    Rsa,
    /// `dsa`, `pgp+dsa-fips-180-2`.
    Dsa,
    /// `eddsa`, `pgp+eddsa-ed25519`.
    Eddsa,
}

impl GpgKind {
    /// `(type, method)` as securesystemslib writes them.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            GpgKind::Rsa => ("rsa", "pgp+rsa-pkcsv1.5"),
            GpgKind::Dsa => ("dsa", "pgp+dsa-fips-180-2"),
            GpgKind::Eddsa => ("eddsa", "pgp+eddsa-ed25519"),
        }
    }

    fn from_type(t: &str) -> Option<Self> {
        match t {
            "rsa" => Some(GpgKind::Rsa),
            "dsa" => Some(GpgKind::Dsa),
            "eddsa" => Some(GpgKind::Eddsa),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Material {
    Rsa(rsa::RsaPublicKey),
    Dsa(dsa::VerifyingKey),
    Eddsa(ed25519_dalek::VerifyingKey),
}

impl Material {
    fn kind(&self) -> GpgKind {
        match self {
            Material::Rsa(_) => GpgKind::Rsa,
            Material::Dsa(_) => GpgKind::Dsa,
            Material::Eddsa(_) => GpgKind::Eddsa,
        }
    }
}

/// A GPG public key from a layout, with its signing subkeys.
#[derive(Debug, Clone)]
pub struct GpgKey {
    keyid: String,
    material: Material,
    creation_time: Option<u64>,
    validity_period: Option<u64>,
    subkeys: BTreeMap<String, GpgKey>,
    dict: Map<String, Value>,
}

/// Two GPG keys are the same key when their key material is: what the
/// layout checks need to find one key listed twice.
impl PartialEq for GpgKey {
    fn eq(&self, other: &Self) -> bool {
        self.material == other.material
    }
}

// Key material compares by value (big integers and curve points), so the
// comparison is an equivalence.
impl Eq for GpgKey {}

fn invalid(msg: impl std::fmt::Display) -> CryptoError {
    CryptoError::InvalidKey(format!("GPG key: {msg}"))
}

/// Whether a key dict is in securesystemslib's GPG form (it has `method`
/// and `hashes` where other keys have `keytype` and `scheme`).
pub fn is_gpg_key_dict(m: &Map<String, Value>) -> bool {
    m.contains_key("method") && m.contains_key("hashes")
}

fn mpi(public: &Map<String, Value>, name: &str) -> Result<BigUint, CryptoError> {
    let s = public
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("keyval.public.{name} is not a string")))?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(format!("keyval.public.{name} is not hex")));
    }
    BigUint::parse_bytes(s.as_bytes(), 16)
        .ok_or_else(|| invalid(format!("keyval.public.{name} is not hex")))
}

fn time_field(m: &Map<String, Value>, name: &str) -> Result<Option<u64>, CryptoError> {
    match m.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(format!("{name} is not a non-negative integer"))),
    }
}

/// The largest RSA modulus accepted (the reference sets no limit; this
/// one only bounds the work an absurd key can cause).
const MAX_RSA_BITS: usize = 16384;

impl GpgKey {
    /// Parse a GPG key dict as securesystemslib exports it.
    pub fn from_dict(m: &Map<String, Value>) -> Result<Self, CryptoError> {
        Self::parse(m, true)
    }

    fn parse(m: &Map<String, Value>, top: bool) -> Result<Self, CryptoError> {
        let s = |name: &str| m.get(name).and_then(Value::as_str);
        let keyid = s("keyid")
            .filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| invalid("keyid is not a hex string"))?
            .to_string();
        let type_name = s("type").unwrap_or_default();
        let kind = GpgKind::from_type(type_name)
            .ok_or_else(|| invalid(format!("unsupported type {type_name:?}")))?;
        let method = s("method").unwrap_or_default();
        if method != kind.names().1 {
            return Err(invalid(format!(
                "method {method:?} does not fit type {type_name:?}"
            )));
        }
        let hashes_ok = m
            .get("hashes")
            .and_then(Value::as_array)
            .is_some_and(|h| h.iter().all(Value::is_string));
        if !hashes_ok {
            return Err(invalid("hashes is not a list of strings"));
        }
        let public = m
            .get("keyval")
            .and_then(|v| v.get("public"))
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("keyval.public is not an object"))?;
        let material = match kind {
            GpgKind::Rsa => Material::Rsa(
                rsa::RsaPublicKey::new_with_max_size(
                    mpi(public, "n")?,
                    mpi(public, "e")?,
                    MAX_RSA_BITS,
                )
                .map_err(invalid)?,
            ),
            GpgKind::Dsa => {
                let components = dsa::Components::from_components(
                    mpi(public, "p")?,
                    mpi(public, "q")?,
                    mpi(public, "g")?,
                )
                .map_err(|_| invalid("DSA parameters are out of range"))?;
                Material::Dsa(
                    dsa::VerifyingKey::from_components(components, mpi(public, "y")?)
                        .map_err(|_| invalid("DSA public value is out of range"))?,
                )
            }
            GpgKind::Eddsa => {
                let q = public
                    .get("q")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("keyval.public.q is not a string"))?;
                let bytes: [u8; 32] = hex::decode(q)
                    .map_err(|_| invalid("keyval.public.q is not hex"))?
                    .try_into()
                    .map_err(|_| invalid("keyval.public.q is not 32 bytes"))?;
                Material::Eddsa(ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(invalid)?)
            }
        };
        let mut subkeys = BTreeMap::new();
        match m.get("subkeys") {
            None => {}
            Some(Value::Object(subs)) if top => {
                for (id, sub) in subs {
                    let sub = sub
                        .as_object()
                        .ok_or_else(|| invalid(format!("subkey {id} is not an object")))?;
                    subkeys.insert(id.clone(), Self::parse(sub, false)?);
                }
            }
            Some(_) => return Err(invalid("subkeys is not an object of key dicts")),
        }
        Ok(GpgKey {
            keyid,
            material,
            creation_time: time_field(m, "creation_time")?,
            validity_period: time_field(m, "validity_period")?,
            subkeys,
            dict: m.clone(),
        })
    }

    /// The key's keyid: its 40-hex fingerprint as written in the dict.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// The key's kind.
    pub fn kind(&self) -> GpgKind {
        self.material.kind()
    }

    /// The keyids of its subkeys.
    pub fn subkey_ids(&self) -> impl Iterator<Item = &str> {
        self.subkeys.keys().map(String::as_str)
    }

    /// The modulus length of an RSA key (the main key's).
    pub fn rsa_bits(&self) -> Option<usize> {
        use rsa::traits::PublicKeyParts;
        match &self.material {
            Material::Rsa(k) => Some(k.n().bits()),
            _ => None,
        }
    }

    pub(crate) fn material(&self) -> &Material {
        &self.material
    }

    /// The key dict it was read from.
    pub fn dict(&self) -> &Map<String, Value> {
        &self.dict
    }

    /// Whether the signature keyid `sig_keyid` belongs to this key: the
    /// key's own or one of its subkeys'.
    pub fn owns(&self, main_keyid: &str, sig_keyid: &str) -> bool {
        sig_keyid == main_keyid || self.subkeys.contains_key(sig_keyid)
    }

    /// Whether the key (or the subkey) has expired at `now` (Unix seconds),
    /// by the reference's rule: both times present and non-zero, and
    /// `creation_time + validity_period < now`.
    fn expired_at(&self, now: u64) -> bool {
        match (self.creation_time, self.validity_period) {
            (Some(c), Some(v)) if c != 0 && v != 0 => c.saturating_add(v) < now,
            _ => false,
        }
    }

    /// Check a GPG signature over `content`, as securesystemslib's
    /// `verify_signature` does: the subkey the signature names when there
    /// is one, else this key; refused when that key has expired at `now`.
    pub fn verify(
        &self,
        sig_keyid: &str,
        signature: &[u8],
        other_headers: &[u8],
        content: &[u8],
        now: u64,
    ) -> Result<(), GpgRefusal> {
        let key = self.subkeys.get(sig_keyid).unwrap_or(self);
        if key.expired_at(now) {
            return Err(GpgRefusal::Expired(key.keyid.clone()));
        }
        // The reference picks the algorithm from the main key's type; a
        // subkey of another type fails there.
        if key.material.kind() != self.material.kind() {
            return Err(GpgRefusal::Invalid);
        }
        let value = match key.material.kind() {
            GpgKind::Rsa => SigValue::Rsa(signature.to_vec()),
            GpgKind::Dsa => match dsa::Signature::try_from(signature) {
                Ok(s) => SigValue::Dsa(s),
                Err(_) => return Err(GpgRefusal::Invalid),
            },
            GpgKind::Eddsa => SigValue::Eddsa(signature.to_vec()),
        };
        if key
            .material
            .verify(HashAlg::Sha256, other_headers, content, &value)
        {
            Ok(())
        } else {
            Err(GpgRefusal::Invalid)
        }
    }
}

/// The hash algorithms securesystemslib accepts in key certificates (a
/// signature over metadata is always checked with SHA-256).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashAlg {
    Sha1,
    Sha256,
    Sha512,
}

impl HashAlg {
    /// From the OpenPGP algorithm id (RFC 4880 9.4).
    pub(crate) fn from_id(id: u8) -> Option<Self> {
        match id {
            2 => Some(HashAlg::Sha1),
            8 => Some(HashAlg::Sha256),
            10 => Some(HashAlg::Sha512),
            _ => None,
        }
    }

    /// The hash of the data a v4 signature covers (RFC 4880 5.2.4): the
    /// content, the signature header up to its hashed subpackets, and the
    /// trailer `04 ff` with that header's length.
    fn signed_digest(self, other_headers: &[u8], content: &[u8]) -> Vec<u8> {
        fn run<D: Digest>(other_headers: &[u8], content: &[u8]) -> Vec<u8> {
            let mut h = D::new();
            h.update(content);
            h.update(other_headers);
            h.update([0x04, 0xff]);
            // A header over u32::MAX bytes cannot be in memory; saturate.
            h.update(
                u32::try_from(other_headers.len())
                    .unwrap_or(u32::MAX)
                    .to_be_bytes(),
            );
            h.finalize().to_vec()
        }
        match self {
            HashAlg::Sha1 => run::<sha1::Sha1>(other_headers, content),
            HashAlg::Sha256 => run::<Sha256>(other_headers, content),
            HashAlg::Sha512 => run::<sha2::Sha512>(other_headers, content),
        }
    }

    fn pkcs1v15(self) -> rsa::Pkcs1v15Sign {
        match self {
            HashAlg::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
            HashAlg::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
            HashAlg::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
        }
    }
}

/// A signature value in the form its algorithm's check takes.
pub(crate) enum SigValue {
    /// RSA: the signature integer's bytes.
    Rsa(Vec<u8>),
    /// DSA: (r, s).
    Dsa(dsa::Signature),
    /// EdDSA: `R || S`, 64 bytes.
    Eddsa(Vec<u8>),
}

impl Material {
    /// Check `sig` over `content` as an OpenPGP v4 signature with the
    /// header `other_headers`, hashed with `hash`.
    pub(crate) fn verify(
        &self,
        hash: HashAlg,
        other_headers: &[u8],
        content: &[u8],
        sig: &SigValue,
    ) -> bool {
        let digest = hash.signed_digest(other_headers, content);
        match (self, sig) {
            (Material::Rsa(k), SigValue::Rsa(s)) => verify_rsa(k, hash, &digest, s),
            (Material::Dsa(k), SigValue::Dsa(s)) => k.verify_prehash(&digest, s).is_ok(),
            (Material::Eddsa(k), SigValue::Eddsa(s)) => ed25519_dalek::Signature::from_slice(s)
                .map(|s| k.verify_strict(&digest, &s).is_ok())
                .unwrap_or(false),
            _ => false,
        }
    }
}

/// Why a GPG signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpgRefusal {
    /// The key (or subkey, named) that would check it has expired.
    Expired(String),
    /// The signature does not verify.
    Invalid,
}

fn verify_rsa(key: &rsa::RsaPublicKey, hash: HashAlg, digest: &[u8], sig: &[u8]) -> bool {
    use rsa::traits::PublicKeyParts;
    // The reference left-pads a short signature with zeros to the
    // modulus' length (an MPI drops leading zero bytes).
    let size = key.size();
    let mut padded = vec![0u8; size.saturating_sub(sig.len())];
    padded.extend_from_slice(sig);
    key.verify(hash.pkcs1v15(), digest, &padded).is_ok()
}
