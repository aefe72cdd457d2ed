//! Signing inside a PKCS#11 token: RFC 7512 URIs and the `cryptoki`
//! session that signs with a private key that never leaves the token.
//!
//! `pkcs11:token=release;object=ed?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin`
//! names the token (by label), the key (by label `object` or hex `id`), the
//! module to load and where the user PIN is; without a PIN in the URI,
//! `INTACT_PKCS11_PIN` gives it. ed25519 signs with `CKM_EDDSA`, ECDSA
//! P-256/P-384 with `CKM_ECDSA` over a hash made here (the token returns
//! r‖s, written as DER as securesystemslib does), RSA with
//! `CKM_SHA*_RSA_PKCS_PSS` (salt = digest length) or `CKM_SHA*_RSA_PKCS`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use sha2::Digest;
use zeroize::Zeroizing;

use crate::public::{KeyMaterial, RsaHash, Scheme};
use crate::{CryptoError, PublicKey};

/// The environment variable that holds the token's user PIN when the URI
/// names none.
pub const PIN_ENV: &str = "INTACT_PKCS11_PIN";

/// The environment variable naming the PKCS#11 module when the URI has no
/// `module-path`.
pub const MODULE_ENV: &str = "INTACT_PKCS11_MODULE";

fn err(msg: impl Into<String>) -> CryptoError {
    CryptoError::Pkcs11(msg.into())
}

/// A parsed RFC 7512 PKCS#11 URI: the attributes intact uses to find a
/// signing key. Unknown attributes are refused (a typo must not select
/// another key); vendor `x-` attributes are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `serial`: the token serial number.
    pub serial: Option<String>,
    /// `manufacturer`: the token manufacturer.
    pub manufacturer: Option<String>,
    /// `model`: the token model.
    pub model: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
    /// `object`: the key's label (`CKA_LABEL`).
    pub object: Option<String>,
    /// `id`: the key's `CKA_ID` bytes.
    pub id: Option<Vec<u8>>,
    /// `module-path`: the PKCS#11 library to load.
    pub module_path: Option<PathBuf>,
    /// `pin-source`: a file holding the PIN (`file:` URI or a path).
    pub pin_source: Option<PathBuf>,
}

/// Percent-decode one attribute value (RFC 3986 `pct-encoded`), refusing
/// a stray `%`.
fn pct_decode(s: &str) -> Result<Vec<u8>, CryptoError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| err(format!("bad percent-encoding in {s:?}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

fn pct_string(name: &str, s: &str) -> Result<String, CryptoError> {
    String::from_utf8(pct_decode(s)?).map_err(|_| err(format!("attribute {name} is not UTF-8")))
}

fn set<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), CryptoError> {
    if slot.replace(value).is_some() {
        return Err(err(format!(
            "attribute {name} appears twice in the PKCS#11 URI"
        )));
    }
    Ok(())
}

impl Pkcs11Uri {
    /// Parse `pkcs11:PATH[?QUERY]` (RFC 7512 §2.3).
    pub fn parse(uri: &str) -> Result<Self, CryptoError> {
        let rest = uri
            .strip_prefix("pkcs11:")
            .ok_or_else(|| err("a PKCS#11 URI starts with \"pkcs11:\""))?;
        if rest.contains('#') {
            return Err(err("a PKCS#11 URI has no fragment ('#')"));
        }
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut u = Pkcs11Uri::default();
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| err(format!("path attribute {attr:?} has no '='")))?;
            match name {
                "token" => set(&mut u.token, name, pct_string(name, value)?)?,
                "serial" => set(&mut u.serial, name, pct_string(name, value)?)?,
                "manufacturer" => set(&mut u.manufacturer, name, pct_string(name, value)?)?,
                "model" => set(&mut u.model, name, pct_string(name, value)?)?,
                "object" => set(&mut u.object, name, pct_string(name, value)?)?,
                "id" => set(&mut u.id, name, pct_decode(value)?)?,
                "slot-id" => {
                    let n = pct_string(name, value)?
                        .parse()
                        .map_err(|_| err(format!("slot-id {value:?} is not a number")))?;
                    set(&mut u.slot_id, name, n)?;
                }
                "type" => {
                    let t = pct_string(name, value)?;
                    if t != "private" {
                        return Err(err(format!(
                            "type={t} cannot sign; a signing key is type=private"
                        )));
                    }
                }
                // Library and slot descriptions select nothing intact needs
                // to narrow by; accept them so URIs from p11tool work.
                "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-description"
                | "slot-manufacturer" => {}
                n if n.starts_with("x-") => {}
                n => return Err(err(format!("unknown PKCS#11 URI path attribute {n:?}"))),
            }
        }
        for attr in query.into_iter().flat_map(|q| q.split('&')) {
            if attr.is_empty() {
                continue;
            }
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| err(format!("query attribute {attr:?} has no '='")))?;
            match name {
                "module-path" => set(
                    &mut u.module_path,
                    name,
                    PathBuf::from(pct_string(name, value)?),
                )?,
                "pin-source" => {
                    let s = pct_string(name, value)?;
                    let file = s
                        .strip_prefix("file://")
                        .or_else(|| s.strip_prefix("file:"));
                    set(&mut u.pin_source, name, PathBuf::from(file.unwrap_or(&s)))?;
                }
                // A key URI is printed (who signed), kept in the log's
                // configuration and quoted in errors: a PIN in it would be
                // too. Not even echoed here.
                "pin-value" => {
                    let _ = value;
                    return Err(err(
                        "pin-value is refused: the URI is printed, logged and stored, and \
                         the PIN with it; use pin-source=file:PATH or INTACT_PKCS11_PIN",
                    ));
                }
                "module-name" => {
                    return Err(err(
                        "module-name is not supported; give module-path=/path/to/module.so",
                    ))
                }
                n if n.starts_with("x-") => {}
                n => return Err(err(format!("unknown PKCS#11 URI query attribute {n:?}"))),
            }
        }
        if u.object.is_none() && u.id.is_none() {
            return Err(err(
                "the PKCS#11 URI names no key: give object=LABEL or id=%HEX",
            ));
        }
        Ok(u)
    }

    /// The URI for messages: the parsed attributes, never the PIN.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.token {
            parts.push(format!("token={t}"));
        }
        if let Some(o) = &self.object {
            parts.push(format!("object={o}"));
        }
        if let Some(id) = &self.id {
            parts.push(format!("id={}", hex::encode(id)));
        }
        format!("pkcs11:{}", parts.join(";"))
    }

    fn pin(&self) -> Result<Option<Zeroizing<String>>, CryptoError> {
        if let Some(path) = &self.pin_source {
            let bytes = intact_model::io::read_limited(path, 4096)
                .map_err(|e| err(format!("cannot read the PIN from {}: {e}", path.display())))?;
            let text = Zeroizing::new(
                String::from_utf8(bytes.to_vec())
                    .map_err(|_| err(format!("the PIN file {} is not UTF-8", path.display())))?,
            );
            let pin = text.trim_end_matches(['\r', '\n']);
            return Ok(Some(Zeroizing::new(pin.to_owned())));
        }
        Ok(std::env::var(PIN_ENV).ok().map(Zeroizing::new))
    }
}

/// A private key inside a token, with the session it signs in.
pub(crate) struct TokenKey {
    session: Mutex<Session>,
    key: ObjectHandle,
    kind: KeyType,
    label: String,
    // Keeps the module loaded for as long as the session lives.
    _ctx: Pkcs11,
}

fn ck(what: &str, e: CkError) -> CryptoError {
    err(format!("{what}: {e}"))
}

fn module(uri: &Pkcs11Uri) -> Result<PathBuf, CryptoError> {
    uri.module_path
        .clone()
        .or_else(|| std::env::var_os(MODULE_ENV).map(PathBuf::from))
        .ok_or_else(|| {
            err(format!(
                "no PKCS#11 module: add ?module-path=/path/to/module.so to the URI or set {MODULE_ENV}"
            ))
        })
}

fn load_module(path: &Path) -> Result<Pkcs11, CryptoError> {
    let ctx = Pkcs11::new(path).map_err(|e| {
        err(format!(
            "cannot load PKCS#11 module {}: {e}",
            path.display()
        ))
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(ctx),
        Err(e) => Err(ck(&format!("initialising {}", path.display()), e)),
    }
}

/// Trimmed token fields compare as the URI gives them.
fn matches(want: &Option<String>, have: &str) -> bool {
    want.as_deref().is_none_or(|w| w == have.trim_end())
}

/// The `0x04 0x20 ‖ key` DER OCTET STRING or the raw bytes that tokens
/// put in `CKA_EC_POINT`.
fn unwrap_octet_string(point: &[u8]) -> &[u8] {
    match point {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        [0x04, 0x81, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        other => other,
    }
}

impl TokenKey {
    pub(crate) fn open(uri: &Pkcs11Uri) -> Result<(Self, PublicKey), CryptoError> {
        let module = module(uri)?;
        let ctx = load_module(&module)?;
        let slot = find_slot(&ctx, uri)?;
        let token = ctx
            .get_token_info(slot)
            .map_err(|e| ck("reading the token", e))?;
        let token_label = token.label().trim_end().to_owned();
        let session = ctx
            .open_ro_session(slot)
            .map_err(|e| ck(&format!("opening a session on token {token_label:?}"), e))?;
        let pin = uri.pin()?.ok_or_else(|| {
            err(format!(
                "token {token_label:?} needs its user PIN: add ?pin-source=file:/path/to/pin to the URI or set {PIN_ENV}"
            ))
        })?;
        match session.login(UserType::User, Some(&AuthPin::from(pin.as_str()))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinInvalid, _)) => {
                return Err(err(format!("wrong PIN for token {token_label:?}")))
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                return Err(err(format!(
                    "the user PIN of token {token_label:?} is locked"
                )))
            }
            Err(e) => return Err(ck(&format!("logging in to token {token_label:?}"), e)),
        }
        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if let Some(label) = &uri.object {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &uri.id {
            template.push(Attribute::Id(id.clone()));
        }
        let found = session
            .find_objects(&template)
            .map_err(|e| ck("searching the token", e))?;
        let key = match found.as_slice() {
            [one] => *one,
            [] => {
                return Err(err(format!(
                    "token {token_label:?} holds no private key {}",
                    uri.describe()
                )))
            }
            _ => {
                return Err(err(format!(
                "token {token_label:?} holds {} private keys matching {}; add id= to choose one",
                found.len(),
                uri.describe()
            )))
            }
        };
        let attrs = session
            .get_attributes(
                key,
                &[
                    AttributeType::KeyType,
                    AttributeType::Sign,
                    AttributeType::Id,
                    AttributeType::Label,
                ],
            )
            .map_err(|e| ck("reading the key's attributes", e))?;
        let mut kind = None;
        let mut can_sign = false;
        let mut id = None;
        let mut label = uri.describe();
        for a in attrs {
            match a {
                Attribute::KeyType(k) => kind = Some(k),
                Attribute::Sign(s) => can_sign = s,
                Attribute::Id(i) => id = Some(i),
                Attribute::Label(l) => {
                    label = format!("{:?} in token {token_label:?}", String::from_utf8_lossy(&l))
                }
                _ => {}
            }
        }
        let kind = kind.ok_or_else(|| err(format!("key {label} has no CKA_KEY_TYPE")))?;
        if !can_sign {
            return Err(err(format!(
                "key {label} is not allowed to sign (CKA_SIGN is false)"
            )));
        }
        let public = public_key(&session, key, kind, id.as_deref(), &label)?;
        let mechanisms = ctx
            .get_mechanism_list(slot)
            .map_err(|e| ck("listing the token's mechanisms", e))?;
        let needed = mechanism_type(kind, public.scheme(), &label)?;
        if !mechanisms.contains(&needed) {
            return Err(err(format!(
                "token {token_label:?} does not support mechanism {needed} for key {label}"
            )));
        }
        Ok((
            TokenKey {
                session: Mutex::new(session),
                key,
                kind,
                label,
                _ctx: ctx,
            },
            public,
        ))
    }

    /// Sign `msg` in the token under `scheme` (the public key's scheme).
    pub(crate) fn sign(&self, scheme: Scheme, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let session = self
            .session
            .lock()
            .map_err(|_| err("the PKCS#11 session is poisoned"))?;
        let failed = |e: CkError| match e {
            CkError::Pkcs11(RvError::KeyFunctionNotPermitted, _) => err(format!(
                "key {} is not allowed to sign (CKA_SIGN is false)",
                self.label
            )),
            CkError::Pkcs11(RvError::MechanismInvalid, _) => err(format!(
                "the token does not support the mechanism for key {}",
                self.label
            )),
            e => ck(&format!("signing with key {}", self.label), e),
        };
        match (self.kind, scheme) {
            (k, Scheme::Ed25519) if k == KeyType::EC_EDWARDS => session
                .sign(
                    &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                    self.key,
                    msg,
                )
                .map_err(failed),
            (k, Scheme::EcdsaP256) if k == KeyType::EC => {
                let digest = sha2::Sha256::digest(msg);
                let raw = session
                    .sign(&Mechanism::Ecdsa, self.key, &digest)
                    .map_err(failed)?;
                let sig = p256::ecdsa::Signature::from_slice(&raw)
                    .map_err(|e| err(format!("the token's ECDSA signature is malformed: {e}")))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (k, Scheme::EcdsaP384) if k == KeyType::EC => {
                let digest = sha2::Sha384::digest(msg);
                let raw = session
                    .sign(&Mechanism::Ecdsa, self.key, &digest)
                    .map_err(failed)?;
                let sig = p384::ecdsa::Signature::from_slice(&raw)
                    .map_err(|e| err(format!("the token's ECDSA signature is malformed: {e}")))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (k, Scheme::RsaPss(h)) if k == KeyType::RSA => {
                let (hash_alg, mgf, s_len) = match h {
                    RsaHash::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256, 32u64),
                    RsaHash::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384, 48),
                    RsaHash::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512, 64),
                };
                let params = PkcsPssParams {
                    hash_alg,
                    mgf,
                    s_len: s_len.into(),
                };
                let mech = match h {
                    RsaHash::Sha256 => Mechanism::Sha256RsaPkcsPss(params),
                    RsaHash::Sha384 => Mechanism::Sha384RsaPkcsPss(params),
                    RsaHash::Sha512 => Mechanism::Sha512RsaPkcsPss(params),
                };
                session.sign(&mech, self.key, msg).map_err(failed)
            }
            (k, Scheme::RsaPkcs1v15(h)) if k == KeyType::RSA => {
                let mech = match h {
                    RsaHash::Sha256 => Mechanism::Sha256RsaPkcs,
                    RsaHash::Sha384 => Mechanism::Sha384RsaPkcs,
                    RsaHash::Sha512 => Mechanism::Sha512RsaPkcs,
                };
                session.sign(&mech, self.key, msg).map_err(failed)
            }
            (_, scheme) => Err(err(format!(
                "key {} cannot sign with scheme {}",
                self.label,
                scheme.names().1
            ))),
        }
    }
}

/// The mechanism a key of `kind` signs `scheme` with.
fn mechanism_type(
    kind: KeyType,
    scheme: Scheme,
    label: &str,
) -> Result<MechanismType, CryptoError> {
    Ok(match scheme {
        Scheme::Ed25519 if kind == KeyType::EC_EDWARDS => MechanismType::EDDSA,
        Scheme::EcdsaP256 | Scheme::EcdsaP384 if kind == KeyType::EC => MechanismType::ECDSA,
        Scheme::RsaPss(RsaHash::Sha256) => MechanismType::SHA256_RSA_PKCS_PSS,
        Scheme::RsaPss(RsaHash::Sha384) => MechanismType::SHA384_RSA_PKCS_PSS,
        Scheme::RsaPss(RsaHash::Sha512) => MechanismType::SHA512_RSA_PKCS_PSS,
        Scheme::RsaPkcs1v15(RsaHash::Sha256) => MechanismType::SHA256_RSA_PKCS,
        Scheme::RsaPkcs1v15(RsaHash::Sha384) => MechanismType::SHA384_RSA_PKCS,
        Scheme::RsaPkcs1v15(RsaHash::Sha512) => MechanismType::SHA512_RSA_PKCS,
        other => {
            return Err(err(format!(
                "key {label}: unsupported mechanism for scheme {}",
                other.names().1
            )))
        }
    })
}

fn find_slot(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<cryptoki::slot::Slot, CryptoError> {
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| ck("listing the module's slots", e))?;
    let mut found = Vec::new();
    for slot in slots {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| ck("reading a token", e))?;
        if matches(&uri.token, info.label())
            && matches(&uri.serial, info.serial_number())
            && matches(&uri.manufacturer, info.manufacturer_id())
            && matches(&uri.model, info.model())
        {
            found.push(slot);
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(err(match &uri.token {
            Some(t) => format!("no such token: no token labelled {t:?} in the PKCS#11 module"),
            None => "no token in the PKCS#11 module matches the URI".to_owned(),
        })),
        _ => Err(err(format!(
            "{} tokens match the URI; add token= or serial= to choose one",
            found.len()
        ))),
    }
}

/// The key's public half: RSA from the private object's modulus and
/// exponent; EC and EdDSA from the public-key object with the same
/// `CKA_ID` (tokens do not give the point on the private object).
fn public_key(
    session: &Session,
    key: ObjectHandle,
    kind: KeyType,
    id: Option<&[u8]>,
    label: &str,
) -> Result<PublicKey, CryptoError> {
    if kind == KeyType::RSA {
        let attrs = session
            .get_attributes(
                key,
                &[AttributeType::Modulus, AttributeType::PublicExponent],
            )
            .map_err(|e| ck("reading the RSA public key", e))?;
        let (mut n, mut e) = (None, None);
        for a in attrs {
            match a {
                Attribute::Modulus(m) => n = Some(m),
                Attribute::PublicExponent(x) => e = Some(x),
                _ => {}
            }
        }
        let (Some(n), Some(e)) = (n, e) else {
            return Err(err(format!("key {label}: the token gives no RSA modulus")));
        };
        let k = rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&n),
            rsa::BigUint::from_bytes_be(&e),
        )
        .map_err(|e| err(format!("key {label}: {e}")))?;
        return Ok(PublicKey::from_material(KeyMaterial::Rsa(k)));
    }
    if kind != KeyType::EC && kind != KeyType::EC_EDWARDS {
        return Err(err(format!(
            "key {label} is of type {kind}; ed25519, ECDSA P-256/P-384 and RSA keys can sign"
        )));
    }
    let mut template = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(kind),
    ];
    if let Some(id) = id {
        template.push(Attribute::Id(id.to_vec()));
    }
    let found = session
        .find_objects(&template)
        .map_err(|e| ck("searching the token for the public key", e))?;
    let [public] = found.as_slice() else {
        return Err(err(format!(
            "key {label}: the token holds {} public keys with its CKA_ID (one is needed to read the public key)",
            found.len()
        )));
    };
    let attrs = session
        .get_attributes(*public, &[AttributeType::EcParams, AttributeType::EcPoint])
        .map_err(|e| ck("reading the public key", e))?;
    let (mut params, mut point) = (None, None);
    for a in attrs {
        match a {
            Attribute::EcParams(p) => params = Some(p),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let (Some(params), Some(point)) = (params, point) else {
        return Err(err(format!("key {label}: the token gives no EC point")));
    };
    let point = unwrap_octet_string(&point);
    // DER OIDs (or the PrintableString "edwards25519") of the curves.
    const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
    const ED25519_NAME: &[u8] = b"\x13\x0cedwards25519";
    const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const P384_OID: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
    let material = if params == ED25519_OID || params == ED25519_NAME {
        let bytes: [u8; 32] = point
            .try_into()
            .map_err(|_| err(format!("key {label}: an ed25519 point is 32 bytes")))?;
        KeyMaterial::Ed25519(
            ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .map_err(|e| err(format!("key {label}: {e}")))?,
        )
    } else if params == P256_OID {
        KeyMaterial::P256(
            p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|e| err(format!("key {label}: {e}")))?,
        )
    } else if params == P384_OID {
        KeyMaterial::P384(
            p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|e| err(format!("key {label}: {e}")))?,
        )
    } else {
        return Err(err(format!(
            "key {label} is on an unsupported curve (ed25519, P-256 and P-384 can sign)"
        )));
    };
    Ok(PublicKey::from_material(material))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc7512_uri() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=My%20Token;object=release;id=%01%a2?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin",
        )
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("My Token"));
        assert_eq!(u.object.as_deref(), Some("release"));
        assert_eq!(u.id.as_deref(), Some(&[0x01, 0xa2][..]));
        assert_eq!(
            u.module_path.as_deref(),
            Some(Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        assert_eq!(u.pin_source.as_deref(), Some(Path::new("/run/pin")));
        assert_eq!(u.describe(), "pkcs11:token=My Token;object=release;id=01a2");
    }

    #[test]
    fn pin_source_as_plain_path_and_no_pin_value() {
        let u = Pkcs11Uri::parse("pkcs11:object=k;type=private?pin-source=/p").unwrap();
        assert_eq!(u.pin_source.as_deref(), Some(Path::new("/p")));
        // A PIN in the URI would be printed and stored with it; the
        // message does not repeat it.
        let e = Pkcs11Uri::parse("pkcs11:object=k?pin-value=12%3").unwrap_err();
        assert!(e.to_string().contains("pin-value is refused"), "{e}");
        assert!(!e.to_string().contains("12"), "{e}");
    }

    #[test]
    fn refuses_malformed_uris() {
        for (uri, needle) in [
            ("pkcs:object=k", "starts with"),
            ("pkcs11:token=t", "names no key"),
            ("pkcs11:object=k;object=j", "twice"),
            (
                "pkcs11:object=k;tokn=t",
                "unknown PKCS#11 URI path attribute \"tokn\"",
            ),
            (
                "pkcs11:object=k?pin=1",
                "unknown PKCS#11 URI query attribute",
            ),
            ("pkcs11:object=%zz", "percent-encoding"),
            ("pkcs11:object=%4", "percent-encoding"),
            ("pkcs11:object", "has no '='"),
            ("pkcs11:object=k;type=public", "cannot sign"),
            ("pkcs11:object=k#frag", "fragment"),
            ("pkcs11:object=k;slot-id=x", "not a number"),
            ("pkcs11:object=k?module-name=softhsm2", "module-path"),
        ] {
            let e = Pkcs11Uri::parse(uri).unwrap_err().to_string();
            assert!(e.contains(needle), "{uri}: {e}");
        }
    }

    #[test]
    fn vendor_attributes_are_ignored() {
        let u = Pkcs11Uri::parse("pkcs11:object=k;x-vendor=1?x-other=2").unwrap();
        assert_eq!(u.object.as_deref(), Some("k"));
    }

    #[test]
    fn octet_string_points() {
        let raw = [7u8; 32];
        let mut der = vec![0x04, 32];
        der.extend_from_slice(&raw);
        assert_eq!(unwrap_octet_string(&der), &raw);
        assert_eq!(unwrap_octet_string(&raw), &raw);
    }

    #[test]
    fn missing_module_is_named() {
        let u = Pkcs11Uri::parse("pkcs11:object=k?module-path=/nonexistent/module.so").unwrap();
        let e = TokenKey::open(&u).err().unwrap().to_string();
        assert!(
            e.contains("cannot load PKCS#11 module /nonexistent/module.so"),
            "{e}"
        );
    }
}
