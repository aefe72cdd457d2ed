//! X.509 functionaries (docs/pki.md): certificates, their chains to a
//! layout's root CAs, revocation lists, and in-toto-golang's certificate
//! constraints.
//!
//! Parsing (names, serials, dates) is RustCrypto's `x509-cert`; building
//! and checking the chain (signatures, validity, basic constraints, name
//! constraints, extended key usage, revocation) is `rustls-webpki`. No DER
//! is parsed by hand here.

use std::fmt;
use std::time::Duration;

use intact_model::{CertConstraint, KeyDict, KeyId};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde_json::{json, Map, Value};
use webpki::{
    BorrowedCertRevocationList, CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage,
    RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{KeyUsage as KeyUsageExt, SubjectAltName};

use crate::{CryptoError, PublicKey};

/// id-kp-codeSigning (1.3.6.1.5.5.7.3.3), DER contents: a certificate with
/// an extended key usage extension must allow code signing to sign links.
const EKU_CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// Why a certificate is not accepted. Each names the certificate by its
/// subject and serial.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// Not a certificate (or a CRL) that parses.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// `certificate` or `CRL`.
        what: &'static str,
        /// The parser's message.
        detail: String,
    },
    /// Outside its validity period at the time of verification.
    #[error("certificate {0} has expired (not after {1})")]
    Expired(CertName, String),
    /// Not valid yet.
    #[error("certificate {0} is not valid yet (not before {1})")]
    NotYetValid(CertName, String),
    /// Listed in a CRL given with `--crl`.
    #[error("certificate {0} is revoked (CRL of {1})")]
    Revoked(CertName, String),
    /// No chain to one of the layout's root CAs.
    #[error("certificate {0} does not chain to a root CA of the layout: {1}")]
    Untrusted(CertName, String),
    /// Its key usage does not allow signing.
    #[error("certificate {0} may not sign: {1}")]
    KeyUsage(CertName, String),
    /// It meets none of the step's certificate constraints.
    #[error("certificate {0} meets none of the step's certificate constraints: {1}")]
    Constraints(CertName, String),
    /// The signature's keyid is not the certificate key's.
    #[error("certificate {0} holds key {1}, not the signature's key {2}")]
    KeyMismatch(CertName, KeyId, KeyId),
}

impl From<CertError> for CryptoError {
    fn from(e: CertError) -> Self {
        CryptoError::InvalidKey(e.to_string())
    }
}

/// How a certificate is named in messages: subject and serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertName {
    /// The subject, RFC 4514.
    pub subject: String,
    /// The serial number, upper-case hex as `openssl x509 -serial` prints it.
    pub serial: String,
}

impl fmt::Display for CertName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\" (serial {})", self.subject, self.serial)
    }
}

/// A parsed X.509 certificate with its DER bytes.
#[derive(Debug, Clone)]
pub struct Certificate {
    der: Vec<u8>,
    cert: x509_cert::Certificate,
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

fn malformed(what: &'static str, e: impl fmt::Display) -> CertError {
    CertError::Malformed {
        what,
        detail: e.to_string(),
    }
}

/// Whether `text` holds a PEM certificate.
pub fn is_certificate_pem(text: &str) -> bool {
    text.contains("-----BEGIN CERTIFICATE-----")
}

impl Certificate {
    /// A DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        let cert =
            x509_cert::Certificate::from_der(der).map_err(|e| malformed("certificate", e))?;
        Ok(Certificate {
            der: der.to_vec(),
            cert,
        })
    }

    /// Every `CERTIFICATE` block of a PEM text, in order (at least one).
    pub fn from_pem_chain(text: &str) -> Result<Vec<Self>, CertError> {
        let certs = x509_cert::Certificate::load_pem_chain(text.as_bytes())
            .map_err(|e| malformed("certificate", e))?;
        if certs.is_empty() {
            return Err(malformed("certificate", "no CERTIFICATE block"));
        }
        certs
            .into_iter()
            .map(|cert| {
                let der = cert.to_der().map_err(|e| malformed("certificate", e))?;
                Ok(Certificate { der, cert })
            })
            .collect()
    }

    /// The first certificate of a PEM text.
    pub fn from_pem(text: &str) -> Result<Self, CertError> {
        Self::from_pem_chain(text)?
            .into_iter()
            .next()
            .ok_or_else(|| malformed("certificate", "no CERTIFICATE block"))
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM text (`BEGIN CERTIFICATE`, 64-column base64, LF line ends).
    pub fn to_pem(&self) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }

    /// Subject and serial, for messages.
    pub fn name(&self) -> CertName {
        CertName {
            subject: self.subject(),
            serial: self.serial(),
        }
    }

    /// The subject, RFC 4514 (`CN=bob,O=Example`).
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    /// The issuer, RFC 4514.
    pub fn issuer(&self) -> String {
        self.cert.tbs_certificate.issuer.to_string()
    }

    /// The serial number in upper-case hex.
    pub fn serial(&self) -> String {
        hex::encode_upper(self.cert.tbs_certificate.serial_number.as_bytes())
    }

    /// The start of the validity period, `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn not_before(&self) -> String {
        self.cert.tbs_certificate.validity.not_before.to_string()
    }

    /// The end of the validity period, `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn not_after(&self) -> String {
        self.cert.tbs_certificate.validity.not_after.to_string()
    }

    fn valid_at(&self, now: Duration) -> Result<(), CertError> {
        let v = &self.cert.tbs_certificate.validity;
        if now < v.not_before.to_unix_duration() {
            return Err(CertError::NotYetValid(self.name(), self.not_before()));
        }
        if now > v.not_after.to_unix_duration() {
            return Err(CertError::Expired(self.name(), self.not_after()));
        }
        Ok(())
    }

    fn attribute(&self, oid: x509_cert::der::asn1::ObjectIdentifier) -> Vec<String> {
        use x509_cert::der::asn1::{Ia5StringRef, PrintableStringRef, Utf8StringRef};
        let mut out = Vec::new();
        for rdn in self.cert.tbs_certificate.subject.0.iter() {
            for atv in rdn.0.iter().filter(|atv| atv.oid == oid) {
                let text = atv
                    .value
                    .decode_as::<Utf8StringRef<'_>>()
                    .map(|s| s.to_string())
                    .or_else(|_| {
                        atv.value
                            .decode_as::<PrintableStringRef<'_>>()
                            .map(|s| s.to_string())
                    })
                    .or_else(|_| {
                        atv.value
                            .decode_as::<Ia5StringRef<'_>>()
                            .map(|s| s.to_string())
                    });
                if let Ok(text) = text {
                    out.push(text);
                }
            }
        }
        out
    }

    /// The subject's common name (`""` when it has none).
    pub fn common_name(&self) -> String {
        self.attribute(x509_cert::der::oid::db::rfc4519::CN)
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// The subject's organisations (`O=`).
    pub fn organizations(&self) -> Vec<String> {
        self.attribute(x509_cert::der::oid::db::rfc4519::O)
    }

    fn sans(&self) -> Vec<GeneralName> {
        match self.cert.tbs_certificate.get::<SubjectAltName>() {
            Ok(Some((_, san))) => san.0,
            _ => Vec::new(),
        }
    }

    /// DNS names among the subject alternative names.
    pub fn dns_names(&self) -> Vec<String> {
        self.sans()
            .into_iter()
            .filter_map(|n| match n {
                GeneralName::DnsName(s) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    /// E-mail addresses among the subject alternative names.
    pub fn emails(&self) -> Vec<String> {
        self.sans()
            .into_iter()
            .filter_map(|n| match n {
                GeneralName::Rfc822Name(s) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    /// URIs among the subject alternative names.
    pub fn uris(&self) -> Vec<String> {
        self.sans()
            .into_iter()
            .filter_map(|n| match n {
                GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The certified public key, with the reference's default scheme for
    /// its type (RSA: `rsassa-pss-sha256`), as in-toto-golang loads it.
    pub fn public_key(&self) -> Result<PublicKey, CryptoError> {
        let spki = self
            .cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| CryptoError::InvalidKey(format!("certificate key: {e}")))?;
        PublicKey::from_spki_der(&spki)
    }

    /// The keyid of the certified key.
    pub fn keyid(&self) -> Result<KeyId, CryptoError> {
        self.public_key()?.keyid()
    }

    /// The key dictionary of the certified key with the certificate in
    /// `keyval.certificate`, as in-toto-golang's `rootcas` and
    /// `intermediatecas` hold it.
    pub fn to_key_dict(&self) -> Result<KeyDict, CryptoError> {
        let dict = self.public_key()?.to_key_dict()?;
        let mut map = dict.as_map().clone();
        if let Some(Value::Object(keyval)) = map.get_mut("keyval") {
            keyval.insert("certificate".into(), Value::String(self.to_pem()));
        }
        KeyDict::new(map).map_err(CryptoError::InvalidKey)
    }

    /// Subject, issuer, serial and validity, as recorded in log entries
    /// and printed by `intact key show`.
    pub fn summary(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("subject".into(), json!(self.subject()));
        m.insert("issuer".into(), json!(self.issuer()));
        m.insert("serial".into(), json!(self.serial()));
        m.insert("not_before".into(), json!(self.not_before()));
        m.insert("not_after".into(), json!(self.not_after()));
        m
    }

    /// A key usage extension, when present, must allow digital signatures.
    fn check_signing_usage(&self) -> Result<(), CertError> {
        match self.cert.tbs_certificate.get::<KeyUsageExt>() {
            Ok(Some((_, ku))) if !ku.digital_signature() => Err(CertError::KeyUsage(
                self.name(),
                "its key usage lacks digitalSignature".into(),
            )),
            Ok(_) => Ok(()),
            Err(e) => Err(malformed("certificate", e)),
        }
    }
}

/// A certificate revocation list (DER or PEM `X509 CRL`).
#[derive(Debug, Clone)]
pub struct Crl {
    der: Vec<u8>,
    issuer: String,
    revoked: Vec<Vec<u8>>,
}

impl Crl {
    /// Parse a CRL file's bytes: PEM or DER.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CertError> {
        let der = if bytes.starts_with(b"-----BEGIN") || bytes.iter().take(64).all(u8::is_ascii) {
            let (label, der) =
                x509_cert::der::pem::decode_vec(bytes).map_err(|e| malformed("CRL", e))?;
            if label != "X509 CRL" {
                return Err(malformed(
                    "CRL",
                    format!("expected an X509 CRL PEM, found {label:?}"),
                ));
            }
            der
        } else {
            bytes.to_vec()
        };
        let list =
            x509_cert::crl::CertificateList::from_der(&der).map_err(|e| malformed("CRL", e))?;
        // webpki checks it can use it (signature, issuer) when verifying.
        BorrowedCertRevocationList::from_der(&der)
            .map_err(|e| malformed("CRL", format!("{e:?}")))?;
        let revoked = list
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .map(|r| r.serial_number.as_bytes().to_vec())
            .collect();
        Ok(Crl {
            issuer: list.tbs_cert_list.issuer.to_string(),
            der,
            revoked,
        })
    }

    /// The issuer, RFC 4514.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn lists(&self, cert: &Certificate) -> bool {
        self.issuer == cert.issuer()
            && self
                .revoked
                .iter()
                .any(|s| s.as_slice() == cert.cert.tbs_certificate.serial_number.as_bytes())
    }
}

/// The CA certificates a layout trusts (`rootcas`, `intermediatecas`).
#[derive(Debug, Clone, Default)]
pub struct TrustedCas {
    /// Root CAs by the keyid the layout files them under.
    pub roots: Vec<(KeyId, Certificate)>,
    /// Intermediate CAs.
    pub intermediates: Vec<Certificate>,
}

impl TrustedCas {
    /// The certificates of a layout's `rootcas` and `intermediatecas`.
    pub fn from_layout(layout: &intact_model::Layout) -> Result<Self, CertError> {
        let load = |dict: &KeyDict| -> Result<Certificate, CertError> {
            let pem = dict
                .certificate()
                .ok_or_else(|| malformed("certificate", "a CA key has no keyval.certificate"))?;
            Certificate::from_pem(pem)
        };
        let mut out = TrustedCas::default();
        for (keyid, dict) in layout.rootcas.iter().flatten() {
            out.roots.push((keyid.clone(), load(dict)?));
        }
        for dict in layout.intermediatecas.iter().flatten().map(|(_, d)| d) {
            out.intermediates.push(load(dict)?);
        }
        Ok(out)
    }

    /// Whether the layout names any root CA.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }
}

/// A certificate accepted for a step: its key and the root it chains to.
#[derive(Debug, Clone)]
pub struct AcceptedCert {
    /// The leaf certificate.
    pub leaf: Certificate,
    /// The certified key.
    pub key: PublicKey,
    /// The keyid of the layout root CA the chain ends at.
    pub root: KeyId,
}

/// Check a signer's certificate (`chain[0]`, followed by any
/// intermediates it carried) for a step: a chain to one of the layout's
/// roots valid at `now` (seconds since the epoch), no certificate on it
/// revoked by `crls`, signing allowed, and one of `constraints` met.
pub fn accept_certificate(
    chain: &[Certificate],
    cas: &TrustedCas,
    crls: &[Crl],
    constraints: &[CertConstraint],
    now: u64,
) -> Result<AcceptedCert, CertError> {
    let Some(leaf) = chain.first() else {
        return Err(malformed("certificate", "no certificate"));
    };
    let now_d = Duration::from_secs(now);
    let name = leaf.name();
    let anchors = cas
        .roots
        .iter()
        .map(|(_, c)| {
            webpki::anchor_from_trusted_cert(&CertificateDer::from(c.der()))
                .map(|a| a.to_owned())
                .map_err(|e| malformed("certificate", format!("root CA {}: {e:?}", c.name())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let intermediates: Vec<CertificateDer<'_>> = chain
        .iter()
        .skip(1)
        .chain(cas.intermediates.iter())
        .map(|c| CertificateDer::from(c.der()))
        .collect();
    let crl_lists = crls
        .iter()
        .map(|c| {
            BorrowedCertRevocationList::from_der(&c.der)
                .map(CertRevocationList::from)
                .map_err(|e| malformed("CRL", format!("{e:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let crl_refs: Vec<&CertRevocationList<'_>> = crl_lists.iter().collect();
    let revocation = RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
        b.with_depth(RevocationCheckDepth::Chain)
            .with_status_policy(UnknownStatusPolicy::Allow)
            .with_expiration_policy(ExpirationPolicy::Ignore)
            .build()
    });
    let leaf_der = CertificateDer::from(leaf.der());
    let ee = EndEntityCert::try_from(&leaf_der)
        .map_err(|e| malformed("certificate", format!("{e:?}")))?;
    let path = ee.verify_for_usage(
        SUPPORTED_ALGS,
        &anchors,
        &intermediates,
        UnixTime::since_unix_epoch(now_d),
        KeyUsage::required_if_present(EKU_CODE_SIGNING),
        revocation,
        None,
    );
    let path = match path {
        Ok(p) => p,
        Err(e) => return Err(explain(e, chain, cas, crls, now_d)),
    };
    let anchor_spki = path.anchor().subject_public_key_info.as_ref().to_vec();
    let root = cas
        .roots
        .iter()
        .zip(&anchors)
        .find(|(_, a)| a.subject_public_key_info.as_ref() == anchor_spki.as_slice())
        .map(|((id, _), _)| id.clone())
        .ok_or_else(|| CertError::Untrusted(name.clone(), "no root matched".into()))?;
    // webpki takes a trust anchor as given; a root CA past its validity
    // (or not yet valid) issues nothing, as in-toto-golang also holds.
    if let Some((_, root_cert)) = cas.roots.iter().find(|(id, _)| *id == root) {
        root_cert.valid_at(now_d)?;
    }
    leaf.check_signing_usage()?;
    let key = leaf
        .public_key()
        .map_err(|e| CertError::KeyUsage(name.clone(), e.to_string()))?;
    let mut reasons = Vec::new();
    for (i, c) in constraints.iter().enumerate() {
        match check_constraint(c, leaf, &root) {
            Ok(()) => {
                return Ok(AcceptedCert {
                    leaf: leaf.clone(),
                    key,
                    root,
                })
            }
            Err(why) => reasons.push(format!("constraint {}: {why}", i + 1)),
        }
    }
    if reasons.is_empty() {
        reasons.push("the step has no certificate constraints".into());
    }
    Err(CertError::Constraints(name, reasons.join("; ")))
}

/// Name the certificate webpki's verdict is about.
fn explain(
    e: webpki::Error,
    chain: &[Certificate],
    cas: &TrustedCas,
    crls: &[Crl],
    now: Duration,
) -> CertError {
    let candidates = || chain.iter().chain(cas.intermediates.iter());
    match e {
        webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
            for c in candidates() {
                if let Err(why) = c.valid_at(now) {
                    return why;
                }
            }
        }
        webpki::Error::CertRevoked => {
            for c in candidates() {
                if let Some(crl) = crls.iter().find(|crl| crl.lists(c)) {
                    return CertError::Revoked(c.name(), crl.issuer().to_string());
                }
            }
        }
        _ => {}
    }
    let name = chain.first().map(Certificate::name).unwrap_or(CertName {
        subject: String::new(),
        serial: String::new(),
    });
    let detail = match e {
        webpki::Error::UnknownIssuer => {
            "no issuer among the layout's CAs and the carried chain".into()
        }
        webpki::Error::CertRevoked => "a certificate on its chain is revoked".into(),
        webpki::Error::CertExpired { .. } => "a certificate on its chain has expired".into(),
        webpki::Error::NameConstraintViolation => "it violates a CA's name constraints".into(),
        webpki::Error::RequiredEkuNotFoundContext(_) => {
            return CertError::KeyUsage(name, "its extended key usage lacks codeSigning".into())
        }
        webpki::Error::CaUsedAsEndEntity => "it is a CA certificate".into(),
        other => format!("{other:?}"),
    };
    CertError::Untrusted(name, detail)
}

/// The signature algorithms accepted on certificates and CRLs.
static SUPPORTED_ALGS: &[&dyn rustls_pki_types::SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// One constraint, as in-toto-golang's `CertificateConstraint.Check`:
/// every attribute must match.
pub fn check_constraint(
    c: &CertConstraint,
    leaf: &Certificate,
    root: &KeyId,
) -> Result<(), String> {
    let cn = leaf.common_name();
    let cn_values: Vec<&str> = if cn.is_empty() {
        vec![]
    } else {
        vec![cn.as_str()]
    };
    let want_cn = c.common_name();
    let want_cn: Vec<&str> = if want_cn.is_empty() {
        vec![]
    } else {
        vec![want_cn]
    };
    attribute("common name", &want_cn, &cn_values)?;
    let dns = leaf.dns_names();
    attribute("DNS name", &c.list("dns_names"), &refs(&dns))?;
    let emails = leaf.emails();
    attribute("email", &c.list("emails"), &refs(&emails))?;
    let orgs = leaf.organizations();
    attribute("organization", &c.list("organizations"), &refs(&orgs))?;
    attribute("root", &c.list("roots"), &[root.as_str()])?;
    let uris = leaf.uris();
    attribute("URI", &c.list("uris"), &refs(&uris))
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `allowed` exactly `["*"]` allows anything; otherwise the values must
/// be exactly the allowed ones (each once), as in-toto-golang checks.
fn attribute(what: &str, allowed: &[&str], values: &[&str]) -> Result<(), String> {
    if allowed == ["*"] {
        return Ok(());
    }
    let mut unmet: Vec<&str> = allowed.to_vec();
    for v in values {
        match unmet.iter().position(|a| a == v) {
            Some(i) => {
                unmet.remove(i);
            }
            None if allowed.is_empty() => {
                return Err(format!(
                    "the certificate has {what} {v:?}, the constraint allows none"
                ))
            }
            None => {
                return Err(format!(
                    "the certificate has {what} {v:?}, the constraint allows {allowed:?}"
                ))
            }
        }
    }
    if unmet.is_empty() {
        Ok(())
    } else {
        Err(format!("the certificate lacks {what} {unmet:?}"))
    }
}

/// `key` with the certificate in `cert_pem` (its first block) and the
/// chain in `cert_pem`'s further blocks and `chain_pem`, to be attached to
/// its signatures. Refused when the certificate certifies another key.
pub fn certify(
    key: crate::SigningKey,
    cert_pem: &str,
    chain_pem: Option<&str>,
) -> Result<crate::SigningKey, CryptoError> {
    let mut certs = Certificate::from_pem_chain(cert_pem)?;
    if let Some(chain) = chain_pem {
        certs.extend(Certificate::from_pem_chain(chain)?);
    }
    let Some(leaf) = certs.first() else {
        return Err(malformed("certificate", "no CERTIFICATE block").into());
    };
    if leaf.public_key()?.public_value()? != key.public_key().public_value()? {
        return Err(CryptoError::InvalidKey(format!(
            "certificate {} certifies another key (keyid {}), not the signing key {}",
            leaf.name(),
            leaf.keyid()?,
            key.keyid()?
        )));
    }
    let pem = certs.iter().map(Certificate::to_pem).collect::<String>();
    Ok(key.with_certificate(pem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_attributes_match_as_in_toto_golang() {
        // `*` alone allows anything, also nothing.
        assert!(attribute("email", &["*"], &["a@x"]).is_ok());
        assert!(attribute("email", &["*"], &[]).is_ok());
        // Exactly the listed values, in any order.
        assert!(attribute("email", &["a@x", "b@x"], &["b@x", "a@x"]).is_ok());
        let e = attribute("email", &["a@x", "b@x"], &["a@x"]).unwrap_err();
        assert!(e.contains("lacks email [\"b@x\"]"), "{e}");
        let e = attribute("email", &["a@x"], &["a@x", "c@x"]).unwrap_err();
        assert!(e.contains("\"c@x\""), "{e}");
        // Empty allows none.
        assert!(attribute("URI", &[], &[]).is_ok());
        let e = attribute("URI", &[], &["spiffe://x"]).unwrap_err();
        assert!(e.contains("allows none"), "{e}");
        // A duplicate value counts once against one allowed value.
        assert!(attribute("DNS name", &["a"], &["a", "a"]).is_err());
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        assert!(matches!(
            Certificate::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Err(CertError::Malformed { .. })
        ));
        assert!(Certificate::from_pem("no pem here").is_err());
        assert!(Crl::from_bytes(b"\x30\x03\x02\x01\x00").is_err());
        assert!(
            Crl::from_bytes(b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n").is_err()
        );
    }
}
