//! Links signed with a certificate's key (docs/pki.md), as in-toto-golang
//! accepts them: a step's `cert_constraints` authorise, besides its
//! `pubkeys`, any certificate that chains to one of the layout's `rootcas`
//! (through its `intermediatecas` or the chain the signature carries), is
//! valid now, is not revoked by a `--crl`, and meets one constraint.
//!
//! The accepted certificates' keys join the layout keys for their step's
//! links only; everything after (signature checks, thresholds, rules) is
//! the ordinary path.

use std::collections::BTreeMap;

use intact_crypto::x509::{accept_certificate, Certificate, Crl, TrustedCas};
use intact_crypto::PublicKey;
use intact_model::{KeyId, Layout, Metadata};

use crate::LinkSource;

/// Certificate signers found for a layout's steps.
#[derive(Default)]
pub(crate) struct CertSigners {
    /// The certified keys, by the keyid their signatures claim.
    pub keys: BTreeMap<KeyId, PublicKey>,
    /// (step index, keyid, link file) to load with those keys.
    pub files: Vec<(usize, KeyId, String)>,
    /// Why certificates were refused, by step index.
    pub rejected: BTreeMap<usize, Vec<String>>,
    /// Names for messages: the certificate's common name.
    pub names: BTreeMap<KeyId, String>,
    /// The accepted certificates with the file that carried them.
    pub accepted: Vec<(String, Certificate)>,
}

/// Look through each certificate-constrained step's link files
/// (`STEP.*.link`) for signatures carrying a certificate, and check them.
/// `Err`: the layout's CA certificates do not parse.
pub(crate) fn certificate_signers(
    layout: &Layout,
    links: &dyn LinkSource,
    layout_keys: &BTreeMap<KeyId, PublicKey>,
    crls: &[Crl],
    now: u64,
    max_size: u64,
) -> Result<CertSigners, String> {
    let mut out = CertSigners::default();
    let constrained = layout
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.cert_constraints.as_ref().map(|c| (i, s, c)))
        .filter(|(_, _, c)| !c.is_empty())
        .collect::<Vec<_>>();
    if constrained.is_empty() {
        return Ok(out);
    }
    let cas =
        TrustedCas::from_layout(layout).map_err(|e| format!("rootcas/intermediatecas: {e}"))?;
    let names = links.names();
    for (i, step, constraints) in constrained {
        let prefix = format!("{}.", step.name.as_str());
        for file in names
            .iter()
            .filter(|n| n.starts_with(&prefix) && n.ends_with(".link"))
        {
            // `STEP.KEYID8.link` only (a file named `STEP.link` has none).
            let Some(short) = file
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".link"))
                .filter(|short| !short.is_empty())
            else {
                continue;
            };
            let Ok(Some(bytes)) = links.read(file, max_size) else {
                continue;
            };
            let Ok(md) = Metadata::from_slice(&bytes) else {
                continue;
            };
            for sig in md.signatures() {
                let Some(pem) = sig.cert else { continue };
                if !sig.keyid.as_str().starts_with(short) || layout_keys.contains_key(sig.keyid) {
                    continue;
                }
                let verdict = Certificate::from_pem_chain(pem)
                    .and_then(|chain| accept_certificate(&chain, &cas, crls, constraints, now))
                    .and_then(|accepted| {
                        // The certificate's key is filed under the keyid the
                        // signature claims, so that keyid must be its own:
                        // else a certificate would stand in for any key a
                        // step lists that did not parse (or, with --compat,
                        // is missing), and key status would judge a keyid
                        // the signer chose.
                        let own = accepted.key.keyid().map_err(|e| {
                            intact_crypto::x509::CertError::Malformed {
                                what: "certificate",
                                detail: e.to_string(),
                            }
                        })?;
                        if &own == sig.keyid {
                            Ok(accepted)
                        } else {
                            Err(intact_crypto::x509::CertError::KeyMismatch(
                                accepted.leaf.name(),
                                own,
                                sig.keyid.clone(),
                            ))
                        }
                    });
                match verdict {
                    Ok(accepted) => {
                        if out.keys.get(sig.keyid).is_some_and(|k| *k != accepted.key) {
                            continue;
                        }
                        let cn = accepted.leaf.common_name();
                        out.names.insert(
                            sig.keyid.clone(),
                            if cn.is_empty() {
                                accepted.leaf.subject()
                            } else {
                                cn
                            },
                        );
                        out.keys.insert(sig.keyid.clone(), accepted.key);
                        out.files.push((i, sig.keyid.clone(), file.clone()));
                        out.accepted.push((file.clone(), accepted.leaf));
                    }
                    Err(e) => out
                        .rejected
                        .entry(i)
                        .or_default()
                        .push(format!("{}: {e}", links.describe(file))),
                }
            }
        }
    }
    Ok(out)
}
