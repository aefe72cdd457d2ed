//! Public keys: securesystemslib key dicts, PEM files, keyids, verification.

use ecdsa::signature::Verifier;
use intact_model::{KeyDict, KeyId};
use rsa::pkcs1v15;
use rsa::pss;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::{DecodePublicKey, EncodePublicKey};

use crate::gpg::{is_gpg_key_dict, GpgKind};
use crate::{CryptoError, GpgKey};

/// Hash function of an RSA scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RsaHash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// The signature schemes intact verifies (securesystemslib names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `ed25519`.
    Ed25519,
    /// `rsassa-pss-sha256` etc.
    RsaPss(RsaHash),
    /// `rsa-pkcs1v15-sha256` etc.
    RsaPkcs1v15(RsaHash),
    /// `ecdsa-sha2-nistp256`.
    EcdsaP256,
    /// `ecdsa-sha2-nistp384`.
    EcdsaP384,
    /// A GPG key (securesystemslib's `type`/`method` form): OpenPGP v4
    /// signatures, see [`crate::GpgKey`].
    Gpg(GpgKind),
}

impl Scheme {
    /// Parse a keytype/scheme pair as found in a key dict.
    pub fn from_names(keytype: &str, scheme: &str) -> Result<Self, CryptoError> {
        let s = match (keytype, scheme) {
            ("ed25519", "ed25519") => Scheme::Ed25519,
            ("rsa", "rsassa-pss-sha256") => Scheme::RsaPss(RsaHash::Sha256),
            ("rsa", "rsassa-pss-sha384") => Scheme::RsaPss(RsaHash::Sha384),
            ("rsa", "rsassa-pss-sha512") => Scheme::RsaPss(RsaHash::Sha512),
            ("rsa", "rsa-pkcs1v15-sha256") => Scheme::RsaPkcs1v15(RsaHash::Sha256),
            ("rsa", "rsa-pkcs1v15-sha384") => Scheme::RsaPkcs1v15(RsaHash::Sha384),
            ("rsa", "rsa-pkcs1v15-sha512") => Scheme::RsaPkcs1v15(RsaHash::Sha512),
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => Scheme::EcdsaP256,
            ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => Scheme::EcdsaP384,
            _ => {
                return Err(CryptoError::Unsupported {
                    keytype: keytype.into(),
                    scheme: scheme.into(),
                })
            }
        };
        Ok(s)
    }

    /// `(keytype, scheme)` as modern securesystemslib writes them.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Scheme::Ed25519 => ("ed25519", "ed25519"),
            Scheme::RsaPss(RsaHash::Sha256) => ("rsa", "rsassa-pss-sha256"),
            Scheme::RsaPss(RsaHash::Sha384) => ("rsa", "rsassa-pss-sha384"),
            Scheme::RsaPss(RsaHash::Sha512) => ("rsa", "rsassa-pss-sha512"),
            Scheme::RsaPkcs1v15(RsaHash::Sha256) => ("rsa", "rsa-pkcs1v15-sha256"),
            Scheme::RsaPkcs1v15(RsaHash::Sha384) => ("rsa", "rsa-pkcs1v15-sha384"),
            Scheme::RsaPkcs1v15(RsaHash::Sha512) => ("rsa", "rsa-pkcs1v15-sha512"),
            Scheme::EcdsaP256 => ("ecdsa", "ecdsa-sha2-nistp256"),
            Scheme::EcdsaP384 => ("ecdsa", "ecdsa-sha2-nistp384"),
            Scheme::Gpg(kind) => kind.names(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyMaterial {
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Gpg(Box<GpgKey>),
}

/// RSA keys shorter than this are refused for signing and reported as
/// weak when they verify (NIST SP 800-57: 2048 bits at least).
pub const MIN_RSA_BITS: usize = 2048;

/// Why a key is too weak to rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyWeakness {
    /// An RSA modulus shorter than [`MIN_RSA_BITS`].
    #[error("an RSA key of {bits} bits (at least {min} are needed)", min = MIN_RSA_BITS)]
    ShortRsa {
        /// The modulus length.
        bits: usize,
    },
}

/// A public key with the scheme it verifies under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    scheme: Scheme,
    material: KeyMaterial,
}

fn invalid(e: impl std::fmt::Display) -> CryptoError {
    CryptoError::InvalidKey(e.to_string())
}

impl PublicKey {
    pub(crate) fn from_material(material: KeyMaterial) -> Self {
        // The reference's default scheme for each key kind.
        let scheme = match &material {
            KeyMaterial::Ed25519(_) => Scheme::Ed25519,
            KeyMaterial::Rsa(_) => Scheme::RsaPss(RsaHash::Sha256),
            KeyMaterial::P256(_) => Scheme::EcdsaP256,
            KeyMaterial::P384(_) => Scheme::EcdsaP384,
            KeyMaterial::Gpg(k) => Scheme::Gpg(k.kind()),
        };
        PublicKey { scheme, material }
    }

    /// Whether `other` is the same key material, whatever the scheme,
    /// keyid or name either is listed under (separation of duties compares
    /// keys this way: one key under two names is one person).
    pub fn same_material(&self, other: &PublicKey) -> bool {
        self.material == other.material
    }

    /// The key as OpenSSH writes it (`ssh-ed25519 AAAA...`, without a
    /// comment), for comparison with git's `allowed_signers`; `None` for
    /// key types without an OpenSSH form here (RSA, GPG).
    pub fn to_openssh(&self) -> Option<String> {
        use base64::Engine as _;
        let blob = self.ssh_blob()?;
        let kind = match &self.material {
            KeyMaterial::Ed25519(_) => "ssh-ed25519",
            KeyMaterial::P256(_) => "ecdsa-sha2-nistp256",
            KeyMaterial::P384(_) => "ecdsa-sha2-nistp384",
            _ => return None,
        };
        Some(format!(
            "{kind} {}",
            base64::engine::general_purpose::STANDARD.encode(blob)
        ))
    }

    /// The key's OpenSSH fingerprint (`SHA256:...`, as `ssh-keygen -l`
    /// and git print it); `None` as for [`PublicKey::to_openssh`].
    pub fn ssh_fingerprint(&self) -> Option<String> {
        use base64::Engine as _;
        use sha2::Digest as _;
        let blob = self.ssh_blob()?;
        Some(format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha2::Sha256::digest(&blob))
        ))
    }

    /// The OpenSSH fingerprint (`SHA256:...`) of a key written as OpenSSH
    /// does (`ssh-ed25519 AAAA... [comment]`, or an `allowed_signers`
    /// line's key part); `None` when it is not such a key.
    pub fn ssh_fingerprint_of(openssh: &str) -> Option<String> {
        use base64::Engine as _;
        use sha2::Digest as _;
        let mut words = openssh.split_whitespace();
        let kind = words.next()?;
        let blob = base64::engine::general_purpose::STANDARD
            .decode(words.next()?)
            .ok()?;
        // The blob starts with its own key type.
        let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
        if blob.get(4..4 + len)? != kind.as_bytes() {
            return None;
        }
        Some(format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha2::Sha256::digest(&blob))
        ))
    }

    /// The SSH wire encoding of the key (RFC 4253 §6.6, RFC 5656 §3.1).
    fn ssh_blob(&self) -> Option<Vec<u8>> {
        fn string(out: &mut Vec<u8>, bytes: &[u8]) {
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(bytes);
        }
        let mut out = Vec::new();
        match &self.material {
            KeyMaterial::Ed25519(k) => {
                string(&mut out, b"ssh-ed25519");
                string(&mut out, k.as_bytes());
            }
            KeyMaterial::P256(k) => {
                string(&mut out, b"ecdsa-sha2-nistp256");
                string(&mut out, b"nistp256");
                string(&mut out, k.to_encoded_point(false).as_bytes());
            }
            KeyMaterial::P384(k) => {
                string(&mut out, b"ecdsa-sha2-nistp384");
                string(&mut out, b"nistp384");
                string(&mut out, k.to_encoded_point(false).as_bytes());
            }
            _ => return None,
        }
        Some(out)
    }

    /// Why this key is too weak to rely on, if it is: an RSA key under
    /// [`MIN_RSA_BITS`]. Verification still accepts such keys (the
    /// reference does) but should warn; signing refuses them.
    /// The length of every signature this key verifies, where the key
    /// fixes it (ed25519, RSA); ECDSA's DER encoding varies.
    pub(crate) fn signature_len(&self) -> Option<usize> {
        use rsa::traits::PublicKeyParts;
        match &self.material {
            KeyMaterial::Ed25519(_) => Some(ed25519_dalek::SIGNATURE_LENGTH),
            KeyMaterial::Rsa(k) => Some(k.size()),
            _ => None,
        }
    }

    pub fn weakness(&self) -> Option<KeyWeakness> {
        match &self.material {
            KeyMaterial::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                let bits = k.n().bits();
                (bits < MIN_RSA_BITS).then_some(KeyWeakness::ShortRsa { bits })
            }
            KeyMaterial::Gpg(k) => k
                .rsa_bits()
                .filter(|&bits| bits < MIN_RSA_BITS)
                .map(|bits| KeyWeakness::ShortRsa { bits }),
            _ => None,
        }
    }

    /// Whether [`PublicKey::weakness`] finds a weakness.
    pub fn is_weak(&self) -> bool {
        self.weakness().is_some()
    }

    /// A SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`), with the scheme
    /// the reference picks by default (RSA: `rsassa-pss-sha256`).
    pub fn from_spki_pem(pem: &str) -> Result<Self, CryptoError> {
        let doc = spki::Document::from_pem(pem).map_err(invalid)?;
        if doc.0 != "PUBLIC KEY" {
            return Err(invalid(format!(
                "expected a PUBLIC KEY PEM, found {:?}",
                doc.0
            )));
        }
        Self::from_spki_der(doc.1.as_bytes())
    }

    /// A DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, CryptoError> {
        let info = spki::SubjectPublicKeyInfoRef::try_from(der).map_err(invalid)?;
        let material = match info.algorithm.oid {
            ed25519_dalek::pkcs8::ALGORITHM_OID => KeyMaterial::Ed25519(
                ed25519_dalek::VerifyingKey::from_public_key_der(der).map_err(invalid)?,
            ),
            rsa::pkcs1::ALGORITHM_OID => {
                KeyMaterial::Rsa(rsa::RsaPublicKey::from_public_key_der(der).map_err(invalid)?)
            }
            elliptic_curve_oid if elliptic_curve_oid == ecdsa::elliptic_curve::ALGORITHM_OID => {
                if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
                    KeyMaterial::P256(k)
                } else if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
                    KeyMaterial::P384(k)
                } else {
                    return Err(invalid(
                        "unsupported elliptic curve (P-256 and P-384 are supported)",
                    ));
                }
            }
            other => return Err(invalid(format!("unsupported key algorithm {other}"))),
        };
        Ok(Self::from_material(material))
    }

    /// A key dict from a layout: `keytype`, `scheme`, `keyval.public`; or
    /// a GPG key dict (`type`, `method`, `hashes`, `keyval.public`,
    /// `subkeys`), see [`crate::GpgKey`].
    pub fn from_key_dict(dict: &KeyDict) -> Result<Self, CryptoError> {
        if is_gpg_key_dict(dict.as_map()) {
            return Ok(Self::from_gpg(GpgKey::from_dict(dict.as_map())?));
        }
        let keytype = dict.keytype().unwrap_or_default();
        let scheme_name = dict.scheme().unwrap_or_default();
        let scheme = Scheme::from_names(keytype, scheme_name)?;
        let public = dict
            .public()
            .ok_or_else(|| invalid("key dict has no keyval.public string"))?;
        let key = if scheme == Scheme::Ed25519 {
            let bytes: [u8; 32] = hex::decode(public)
                .map_err(|e| invalid(format!("ed25519 keyval.public is not hex: {e}")))?
                .try_into()
                .map_err(|v: Vec<u8>| {
                    invalid(format!(
                        "ed25519 public key must be 32 bytes, got {}",
                        v.len()
                    ))
                })?;
            let k = ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(invalid)?;
            PublicKey::from_material(KeyMaterial::Ed25519(k))
        } else {
            PublicKey::from_spki_pem(public)?
        };
        let compatible = fits(scheme, &key.material);
        if !compatible {
            return Err(invalid(format!(
                "scheme {scheme_name:?} does not fit the key in keyval.public"
            )));
        }
        Ok(PublicKey {
            scheme,
            material: key.material,
        })
    }

    /// A GPG key.
    pub fn from_gpg(key: GpgKey) -> Self {
        PublicKey::from_material(KeyMaterial::Gpg(Box::new(key)))
    }

    /// The GPG key, when this is one.
    pub fn as_gpg(&self) -> Option<&GpgKey> {
        match &self.material {
            KeyMaterial::Gpg(k) => Some(k),
            _ => None,
        }
    }

    /// Use another scheme for the same key (e.g. `rsa-pkcs1v15-sha256`).
    pub fn with_scheme(mut self, scheme: Scheme) -> Result<Self, CryptoError> {
        if !fits(scheme, &self.material) {
            return Err(invalid(format!(
                "scheme {:?} does not fit this key",
                scheme.names().1
            )));
        }
        self.scheme = scheme;
        Ok(self)
    }

    /// The scheme signatures are verified under.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// `keyval.public` as securesystemslib writes it: hex for ed25519,
    /// SPKI PEM with a trailing newline otherwise.
    pub fn public_value(&self) -> Result<String, CryptoError> {
        let pem = |r: Result<String, spki::Error>| r.map_err(invalid);
        match &self.material {
            KeyMaterial::Ed25519(k) => Ok(hex::encode(k.as_bytes())),
            KeyMaterial::Rsa(k) => pem(k.to_public_key_pem(spki::der::pem::LineEnding::LF)),
            KeyMaterial::P256(k) => pem(k.to_public_key_pem(spki::der::pem::LineEnding::LF)),
            KeyMaterial::P384(k) => pem(k.to_public_key_pem(spki::der::pem::LineEnding::LF)),
            KeyMaterial::Gpg(_) => Err(invalid("a GPG key has no single keyval.public string")),
        }
    }

    /// SubjectPublicKeyInfo PEM, for writing `NAME.pub`.
    pub fn to_spki_pem(&self) -> Result<String, CryptoError> {
        let lf = spki::der::pem::LineEnding::LF;
        let r = match &self.material {
            KeyMaterial::Ed25519(k) => k.to_public_key_pem(lf),
            KeyMaterial::Rsa(k) => k.to_public_key_pem(lf),
            KeyMaterial::P256(k) => k.to_public_key_pem(lf),
            KeyMaterial::P384(k) => k.to_public_key_pem(lf),
            KeyMaterial::Gpg(_) => {
                return Err(invalid("a GPG key has no SubjectPublicKeyInfo form"))
            }
        };
        r.map_err(invalid)
    }

    /// The modern keyid (../shared/in-toto-spec.md §2.2): SHA-256 of the
    /// canonical `{keytype, scheme, keyval: {public}}`.
    /// For a GPG key, its fingerprint.
    pub fn keyid(&self) -> Result<KeyId, CryptoError> {
        if let KeyMaterial::Gpg(k) = &self.material {
            return KeyId::new(k.keyid()).map_err(invalid);
        }
        let (keytype, scheme) = self.scheme.names();
        let hashed = json!({
            "keytype": keytype,
            "scheme": scheme,
            "keyval": {"public": self.public_value()?},
        });
        let canonical = intact_model::json::canonical(&hashed)?;
        KeyId::new(hex::encode(Sha256::digest(canonical))).map_err(invalid)
    }

    /// The key dict embedded in layouts, with its `keyid` member (the
    /// form in-toto 3.x writes: no `keyid_hash_algorithms`).
    /// For a GPG key, the dict it was read from.
    pub fn to_key_dict(&self) -> Result<KeyDict, CryptoError> {
        if let KeyMaterial::Gpg(k) = &self.material {
            return KeyDict::new(k.dict().clone()).map_err(invalid);
        }
        let (keytype, scheme) = self.scheme.names();
        let mut m = Map::new();
        m.insert("keyid".into(), Value::String(self.keyid()?.to_string()));
        m.insert("keytype".into(), Value::String(keytype.into()));
        m.insert("scheme".into(), Value::String(scheme.into()));
        m.insert("keyval".into(), json!({"public": self.public_value()?}));
        KeyDict::new(m).map_err(invalid)
    }

    /// Check `sig` over `msg`. Ed25519 uses strict verification (no
    /// malleable or small-order encodings); RSA-PSS accepts any salt length
    /// like the reference's `PSS.AUTO`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match (&self.material, self.scheme) {
            (KeyMaterial::Ed25519(k), Scheme::Ed25519) => ed25519_dalek::Signature::from_slice(sig)
                .map(|s| k.verify_strict(msg, &s).is_ok())
                .unwrap_or(false),
            (KeyMaterial::Rsa(k), Scheme::RsaPss(h)) => verify_pss(k, h, msg, sig),
            (KeyMaterial::Rsa(k), Scheme::RsaPkcs1v15(h)) => verify_pkcs1v15(k, h, msg, sig),
            (KeyMaterial::P256(k), Scheme::EcdsaP256) => p256::ecdsa::DerSignature::try_from(sig)
                .map(|s| k.verify(msg, &s).is_ok())
                .unwrap_or(false),
            (KeyMaterial::P384(k), Scheme::EcdsaP384) => p384::ecdsa::DerSignature::try_from(sig)
                .map(|s| k.verify(msg, &s).is_ok())
                .unwrap_or(false),
            _ => false,
        }
    }
}

/// A signature check fed the message in pieces (see
/// [`PublicKey::stream_verifier`]).
pub(crate) enum Streamed {
    /// Feed the message, then finish.
    Verifier(Box<ed25519_dalek::StreamVerifier>),
    /// The signature fails before any message is read.
    Invalid,
    /// This scheme takes the whole message.
    Unsupported,
}

impl PublicKey {
    /// For Ed25519: a check that hashes the message as it is produced, so
    /// a large link's canonical bytes need not be held in memory. It makes
    /// the same decision as [`PublicKey::verify`]: `verify_strict` is the
    /// streamed check plus refusing a key or an `R` of small order, which
    /// is tested here before any message byte is read. RSA and ECDSA get
    /// the whole message, as their signature crates hash it themselves.
    pub(crate) fn stream_verifier(&self, sig: &[u8]) -> Streamed {
        let (KeyMaterial::Ed25519(k), Scheme::Ed25519) = (&self.material, self.scheme) else {
            return Streamed::Unsupported;
        };
        let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
            return Streamed::Invalid;
        };
        let r = curve25519_dalek::edwards::CompressedEdwardsY(*sig.r_bytes()).decompress();
        if k.is_weak() || r.is_none_or(|r| r.is_small_order()) {
            return Streamed::Invalid;
        }
        match k.verify_stream(&sig) {
            Ok(v) => Streamed::Verifier(Box::new(v)),
            Err(_) => Streamed::Invalid,
        }
    }
}

/// Whether `scheme` can be used with key `material`.
fn fits(scheme: Scheme, material: &KeyMaterial) -> bool {
    matches!(
        (scheme, material),
        (Scheme::Ed25519, KeyMaterial::Ed25519(_))
            | (
                Scheme::RsaPss(_) | Scheme::RsaPkcs1v15(_),
                KeyMaterial::Rsa(_)
            )
            | (Scheme::EcdsaP256, KeyMaterial::P256(_))
            | (Scheme::EcdsaP384, KeyMaterial::P384(_))
    )
}

fn verify_pkcs1v15(key: &rsa::RsaPublicKey, hash: RsaHash, msg: &[u8], sig: &[u8]) -> bool {
    let Ok(sig) = pkcs1v15::Signature::try_from(sig) else {
        return false;
    };
    let key = key.clone();
    match hash {
        RsaHash::Sha256 => pkcs1v15::VerifyingKey::<Sha256>::new(key).verify(msg, &sig),
        RsaHash::Sha384 => pkcs1v15::VerifyingKey::<Sha384>::new(key).verify(msg, &sig),
        RsaHash::Sha512 => pkcs1v15::VerifyingKey::<Sha512>::new(key).verify(msg, &sig),
    }
    .is_ok()
}

/// PSS with salt-length auto-detection, done by trying lengths: the digest
/// length (what the reference signs with) first, then the maximum
/// (OpenSSL's default), then every other length. A valid signature costs
/// one RSA operation; an invalid one at most one per possible length.
fn verify_pss(key: &rsa::RsaPublicKey, hash: RsaHash, msg: &[u8], sig: &[u8]) -> bool {
    use rsa::traits::PublicKeyParts;
    let Ok(sig) = pss::Signature::try_from(sig) else {
        return false;
    };
    let h_len = match hash {
        RsaHash::Sha256 => 32,
        RsaHash::Sha384 => 48,
        RsaHash::Sha512 => 64,
    };
    let em_len = (key.n().bits() - 1).div_ceil(8);
    let Some(max) = em_len.checked_sub(h_len + 2) else {
        return false;
    };
    let order = [h_len.min(max), max]
        .into_iter()
        .chain((0..=max).filter(|&s| s != h_len && s != max));
    let mut tried_first = false;
    for salt_len in order {
        if tried_first && salt_len == h_len.min(max) {
            continue;
        }
        tried_first = true;
        let key = key.clone();
        let ok = match hash {
            RsaHash::Sha256 => pss::VerifyingKey::<Sha256>::new_with_salt_len(key, salt_len)
                .verify(msg, &sig)
                .is_ok(),
            RsaHash::Sha384 => pss::VerifyingKey::<Sha384>::new_with_salt_len(key, salt_len)
                .verify(msg, &sig)
                .is_ok(),
            RsaHash::Sha512 => pss::VerifyingKey::<Sha512>::new_with_salt_len(key, salt_len)
                .verify(msg, &sig)
                .is_ok(),
        };
        if ok {
            return true;
        }
    }
    false
}
