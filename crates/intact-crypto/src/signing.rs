//! Private keys: loading the PEM files reference users have, generating
//! ed25519 keys, and signing.
//!
//! [`SigningKey`] is the one signer type every crate signs with; where the
//! private key lives is its backend: a key file read into memory, a key
//! inside a PKCS#11 token ([`crate::Pkcs11Uri`]), or an ed25519 key held
//! by a running ssh-agent. Each gives the public key (and so the keyid)
//! and signs bytes; callers never see the difference.

use ecdsa::signature::Signer;
use intact_model::KeyId;
use pkcs8::der::pem::LineEnding;
use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::{OsRng, RngCore};
use sha2::{Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use crate::public::{KeyMaterial, RsaHash, Scheme};
use crate::{CryptoError, PublicKey};

/// PBKDF2 iterations for keys we encrypt (OWASP 2023 figure for
/// PBKDF2-HMAC-SHA256); readers take whatever count the file states.
const PBKDF2_ITERATIONS: u32 = 600_000;

/// A private key read from a file (or generated) into memory.
enum FileSecret {
    Ed25519(ed25519_dalek::SigningKey),
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

/// Where the private key is.
// File keys are the common case and were never boxed; the token and
// agent handles are boxed instead.
#[allow(clippy::large_enum_variant)]
enum Secret {
    /// In memory.
    File(FileSecret),
    /// In a PKCS#11 token: the token signs, the key never leaves it.
    Pkcs11(Box<crate::pkcs11::TokenKey>),
    /// In a running ssh-agent.
    Agent(Box<crate::agent::AgentKey>),
}

/// A private key and the scheme it signs with.
pub struct SigningKey {
    secret: Secret,
    public: PublicKey,
    /// The certificate (and chain) of the key, PEM, attached to every
    /// signature it makes (docs/pki.md).
    certificate: Option<String>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secret material.
        f.debug_struct("SigningKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

fn invalid(e: impl std::fmt::Display) -> CryptoError {
    CryptoError::InvalidKey(e.to_string())
}

/// Whether a PEM text holds a private key (as opposed to a public one).
pub fn is_private_pem(pem: &str) -> bool {
    pem.contains("PRIVATE KEY-----")
}

impl SigningKey {
    /// A fresh ed25519 key from the OS random generator.
    pub fn generate_ed25519() -> Self {
        Self::from_secret(FileSecret::Ed25519(ed25519_dalek::SigningKey::generate(
            &mut OsRng,
        )))
    }

    fn from_secret(secret: FileSecret) -> Self {
        let material = match &secret {
            FileSecret::Ed25519(k) => KeyMaterial::Ed25519(k.verifying_key()),
            FileSecret::Rsa(k) => KeyMaterial::Rsa(k.to_public_key()),
            FileSecret::P256(k) => KeyMaterial::P256(*k.verifying_key()),
            FileSecret::P384(k) => KeyMaterial::P384(*k.verifying_key()),
        };
        SigningKey {
            secret: Secret::File(secret),
            public: PublicKey::from_material(material),
            certificate: None,
        }
    }

    /// Open a key that is not in a file: `pkcs11:...` (an RFC 7512 URI,
    /// [`crate::Pkcs11Uri`]) or `ssh-agent:FINGERPRINT|COMMENT`. The public
    /// key and keyid come from the token or agent; the private key stays
    /// there. `None` when `spec` is neither (a file path).
    pub fn from_key_uri(spec: &str) -> Option<Result<Self, CryptoError>> {
        if spec.starts_with("pkcs11:") {
            let opened =
                crate::Pkcs11Uri::parse(spec).and_then(|uri| crate::pkcs11::TokenKey::open(&uri));
            Some(opened.map(|(token, public)| SigningKey {
                secret: Secret::Pkcs11(Box::new(token)),
                public,
                certificate: None,
            }))
        } else if let Some(selector) = spec.strip_prefix(crate::agent::PREFIX) {
            let opened = crate::agent::AgentKey::open(selector);
            Some(opened.map(|(agent, public)| SigningKey {
                secret: Secret::Agent(Box::new(agent)),
                public,
                certificate: None,
            }))
        } else {
            None
        }
    }

    /// Where the private key is: `"file"`, `"pkcs11"` or `"ssh-agent"`.
    pub fn backend(&self) -> &'static str {
        match self.secret {
            Secret::Pkcs11(_) => "pkcs11",
            Secret::Agent(_) => "ssh-agent",
            _ => "file",
        }
    }

    /// The key with its certificate chain (PEM, leaf first), which
    /// [`crate::sign_metadata`] then attaches to its signatures in the
    /// `cert` member. Use [`crate::x509::certify`], which checks that the
    /// certificate is the key's.
    pub(crate) fn with_certificate(mut self, pem: String) -> Self {
        self.certificate = Some(pem);
        self
    }

    /// The certificate chain attached to this key's signatures, if any.
    pub fn certificate(&self) -> Option<&str> {
        self.certificate.as_deref()
    }

    /// Load a private key PEM: PKCS#8 (`PRIVATE KEY`), encrypted PKCS#8
    /// (`ENCRYPTED PRIVATE KEY`, needs `password`), PKCS#1
    /// (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`), for ed25519, RSA,
    /// P-256 and P-384 — what the reference's `load_pem_private_key` reads.
    pub fn from_pem(pem: &str, password: Option<&[u8]>) -> Result<Self, CryptoError> {
        let (label, doc) = pkcs8::SecretDocument::from_pem(pem).map_err(invalid)?;
        match label {
            "PRIVATE KEY" => Self::from_pkcs8_der(doc.as_bytes()),
            "ENCRYPTED PRIVATE KEY" => {
                let password = password.ok_or(CryptoError::PasswordRequired)?;
                let info =
                    pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes()).map_err(invalid)?;
                let plain = info
                    .decrypt(password)
                    .map_err(|_| CryptoError::WrongPassword)?;
                Self::from_pkcs8_der(plain.as_bytes())
            }
            "RSA PRIVATE KEY" => {
                use rsa::pkcs1::DecodeRsaPrivateKey;
                if pem.contains("Proc-Type: 4,ENCRYPTED") {
                    return Err(invalid(
                        "legacy OpenSSL-encrypted PEM is not supported; convert with `openssl pkcs8 -topk8`",
                    ));
                }
                let k = rsa::RsaPrivateKey::from_pkcs1_der(doc.as_bytes()).map_err(invalid)?;
                Ok(Self::from_secret(FileSecret::Rsa(Box::new(k))))
            }
            "EC PRIVATE KEY" => {
                if let Ok(k) = p256::SecretKey::from_sec1_der(doc.as_bytes()) {
                    Ok(Self::from_secret(FileSecret::P256(k.into())))
                } else if let Ok(k) = p384::SecretKey::from_sec1_der(doc.as_bytes()) {
                    Ok(Self::from_secret(FileSecret::P384(k.into())))
                } else {
                    Err(invalid(
                        "unsupported EC private key (P-256 and P-384 are supported)",
                    ))
                }
            }
            other => Err(invalid(format!(
                "expected a private key PEM, found {other:?}"
            ))),
        }
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        let info = pkcs8::PrivateKeyInfo::try_from(der).map_err(invalid)?;
        let oid = info.algorithm.oid;
        let secret = if oid == ed25519_dalek::pkcs8::ALGORITHM_OID {
            FileSecret::Ed25519(ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(invalid)?)
        } else if oid == rsa::pkcs1::ALGORITHM_OID {
            FileSecret::Rsa(Box::new(
                rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(invalid)?,
            ))
        } else if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            FileSecret::P256(k)
        } else if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_der(der) {
            FileSecret::P384(k)
        } else {
            return Err(invalid(format!("unsupported private key algorithm {oid}")));
        };
        Ok(Self::from_secret(secret))
    }

    /// PKCS#8 PEM, encrypted with PBES2 (PBKDF2-SHA256, AES-256-CBC) when a
    /// password is given — a form OpenSSL and pyca/cryptography both read.
    pub fn to_pkcs8_pem(&self, password: Option<&[u8]>) -> Result<Zeroizing<String>, CryptoError> {
        let doc = match &self.secret {
            Secret::File(FileSecret::Ed25519(k)) => ed25519_pkcs8_v1(k),
            Secret::File(FileSecret::Rsa(k)) => k.to_pkcs8_der(),
            Secret::File(FileSecret::P256(k)) => k.to_pkcs8_der(),
            Secret::File(FileSecret::P384(k)) => k.to_pkcs8_der(),
            Secret::Pkcs11(_) | Secret::Agent(_) => {
                return Err(invalid(
                    "a key in a PKCS#11 token or an ssh-agent cannot be exported",
                ))
            }
        }
        .map_err(invalid)?;
        let Some(password) = password else {
            return doc.to_pem("PRIVATE KEY", LineEnding::LF).map_err(invalid);
        };
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        OsRng.fill_bytes(&mut salt);
        OsRng.fill_bytes(&mut iv);
        let params =
            pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, &iv)
                .map_err(invalid)?;
        let info = pkcs8::PrivateKeyInfo::try_from(doc.as_bytes()).map_err(invalid)?;
        let encrypted = info
            .encrypt_with_params(params, password)
            .map_err(invalid)?;
        encrypted
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .map_err(invalid)
    }

    /// The public half, with the scheme this key signs with.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The modern keyid of the public half.
    pub fn keyid(&self) -> Result<KeyId, CryptoError> {
        self.public.keyid()
    }

    /// Sign with another scheme (RSA: PSS or PKCS#1 v1.5 with any hash).
    pub fn with_scheme(mut self, scheme: Scheme) -> Result<Self, CryptoError> {
        self.public = self.public.with_scheme(scheme)?;
        Ok(self)
    }

    /// The length of every signature this key makes, where the scheme
    /// fixes it (Ed25519, RSA); ECDSA's DER encoding varies.
    pub fn signature_len(&self) -> Option<usize> {
        use rsa::traits::PublicKeyParts;
        match &self.secret {
            Secret::File(FileSecret::Ed25519(_)) => Some(ed25519_dalek::SIGNATURE_LENGTH),
            Secret::File(FileSecret::Rsa(k)) => Some(k.size()),
            Secret::File(FileSecret::P256(_)) | Secret::File(FileSecret::P384(_)) => None,
            Secret::Pkcs11(_) | Secret::Agent(_) => self.public.signature_len(),
        }
    }

    /// Sign `msg` under the key's scheme: raw ed25519, PSS with salt length
    /// = digest length (as the reference), PKCS#1 v1.5, or DER ECDSA.
    ///
    /// A key that [`PublicKey::weakness`] finds weak (RSA under 2048
    /// bits) is refused: [`CryptoError::WeakKey`].
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        use signature::{RandomizedSigner, SignatureEncoding};
        if let Some(weakness) = self.public.weakness() {
            return Err(CryptoError::WeakKey(weakness));
        }
        let sig = match (&self.secret, self.public.scheme()) {
            (Secret::Pkcs11(token), scheme) => {
                let sig = token.sign(scheme, msg)?;
                return self.checked(msg, sig, "the PKCS#11 token");
            }
            (Secret::Agent(agent), _) => {
                let sig = agent.sign(msg)?;
                return self.checked(msg, sig, "the ssh-agent");
            }
            (Secret::File(FileSecret::Ed25519(k)), _) => k.sign(msg).to_bytes().to_vec(),
            (Secret::File(FileSecret::P256(k)), _) => {
                let s: p256::ecdsa::Signature = k.sign(msg);
                s.to_der().to_vec()
            }
            (Secret::File(FileSecret::P384(k)), _) => {
                let s: p384::ecdsa::Signature = k.sign(msg);
                s.to_der().to_vec()
            }
            (Secret::File(FileSecret::Rsa(k)), Scheme::RsaPss(h)) => {
                let k = (**k).clone();
                let r = &mut OsRng;
                match h {
                    RsaHash::Sha256 => rsa::pss::BlindedSigningKey::<Sha256>::new(k)
                        .try_sign_with_rng(r, msg)
                        .map(|s| s.to_vec()),
                    RsaHash::Sha384 => rsa::pss::BlindedSigningKey::<Sha384>::new(k)
                        .try_sign_with_rng(r, msg)
                        .map(|s| s.to_vec()),
                    RsaHash::Sha512 => rsa::pss::BlindedSigningKey::<Sha512>::new(k)
                        .try_sign_with_rng(r, msg)
                        .map(|s| s.to_vec()),
                }
                .map_err(|e| CryptoError::Signing(e.to_string()))?
            }
            (Secret::File(FileSecret::Rsa(k)), Scheme::RsaPkcs1v15(h)) => {
                let k = (**k).clone();
                match h {
                    RsaHash::Sha256 => rsa::pkcs1v15::SigningKey::<Sha256>::new(k)
                        .try_sign(msg)
                        .map(|s| s.to_vec()),
                    RsaHash::Sha384 => rsa::pkcs1v15::SigningKey::<Sha384>::new(k)
                        .try_sign(msg)
                        .map(|s| s.to_vec()),
                    RsaHash::Sha512 => rsa::pkcs1v15::SigningKey::<Sha512>::new(k)
                        .try_sign(msg)
                        .map(|s| s.to_vec()),
                }
                .map_err(|e| CryptoError::Signing(e.to_string()))?
            }
            (Secret::File(FileSecret::Rsa(_)), other) => {
                return Err(CryptoError::Signing(format!(
                    "scheme {:?} cannot sign with an RSA key",
                    other.names().1
                )))
            }
        };
        Ok(sig)
    }

    /// A signature made outside this process, checked against the public
    /// key before it is written anywhere: a token or agent that signed
    /// with another key (or garbled the signature) is caught here.
    fn checked(&self, msg: &[u8], sig: Vec<u8>, by: &str) -> Result<Vec<u8>, CryptoError> {
        if self.public.verify(msg, &sig) {
            Ok(sig)
        } else {
            Err(CryptoError::Signing(format!(
                "the signature from {by} does not verify with the key's public half"
            )))
        }
    }
}

/// PKCS#8 v1 (RFC 8410 §7: the seed as an OCTET STRING, no public key).
/// ed25519-dalek writes v2 with the public key attached, which
/// pyca/cryptography (and so the reference) refuses to load.
fn ed25519_pkcs8_v1(key: &ed25519_dalek::SigningKey) -> pkcs8::Result<pkcs8::SecretDocument> {
    use pkcs8::der::Encode;
    let seed = Zeroizing::new(key.to_bytes());
    let inner = Zeroizing::new(pkcs8::der::asn1::OctetStringRef::new(seed.as_slice())?.to_der()?);
    let info = pkcs8::PrivateKeyInfo::new(ed25519_dalek::pkcs8::ALGORITHM_ID, &inner);
    Ok(pkcs8::SecretDocument::encode_msg(&info)?)
}
