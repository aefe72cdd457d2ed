//! Commit and tag signatures: OpenSSH `sshsig` checked against the
//! policy's allowed signers, GPG handed to a configured verifier.
//!
//! The `sshsig` format and its checks (namespace `git`, the signed blob
//! built from the message hash) are implemented by RustCrypto's `ssh-key`,
//! on ed25519-dalek and sha2; what is ours is the allowed-signers policy.

use ssh_key::{HashAlg, PublicKey, SshSig};

use crate::{Failure, GitError, GpgVerifier};

/// The namespace git signs commits and tags in.
const GIT_NAMESPACE: &str = "git";

/// Who verified as the signer of an object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Signer {
    /// The principal(s) of the allowed-signers entry, or the GPG user.
    pub principal: String,
    /// `SHA256:...` for SSH keys, the fingerprint for GPG keys.
    pub key: String,
}

/// One line of an OpenSSH `allowed_signers` file.
#[derive(Debug, Clone)]
struct AllowedSigner {
    principals: String,
    key: PublicKey,
}

/// The policy's allowed signers, parsed once.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners(Vec<AllowedSigner>);

impl AllowedSigners {
    /// Parse `allowed_signers` lines: `principals [namespaces="git"]
    /// key-type base64 [comment]`. Options other than a `namespaces` that
    /// includes `git` are refused rather than ignored, since ignoring a
    /// restriction would widen who may sign.
    pub fn parse(lines: &[String]) -> Result<Self, GitError> {
        let mut out = Vec::new();
        for line in lines {
            let bad = |why: &str| GitError::Policy(format!("allowed signer {line:?}: {why}"));
            let mut words = line.split_whitespace();
            let principals = words.next().ok_or_else(|| bad("empty line"))?.to_string();
            let mut rest: Vec<&str> = words.collect();
            if let Some(first) = rest.first().copied() {
                if !looks_like_key_type(first) {
                    let namespaces = first
                        .strip_prefix("namespaces=")
                        .ok_or_else(|| bad("only the namespaces= option is supported"))?;
                    let allows_git = namespaces
                        .trim_matches('"')
                        .split(',')
                        .any(|n| n == GIT_NAMESPACE);
                    if !allows_git {
                        return Err(bad("its namespaces do not include git"));
                    }
                    rest.remove(0);
                }
            }
            let key = PublicKey::from_openssh(&rest.join(" "))
                .map_err(|e| bad(&format!("not an OpenSSH public key: {e}")))?;
            out.push(AllowedSigner { principals, key });
        }
        Ok(AllowedSigners(out))
    }

    /// Whether there are no signers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Verify an armored `sshsig` over `data`.
    fn verify_ssh(
        &self,
        armored: &str,
        data: &[u8],
        object: &str,
        id: &str,
    ) -> Result<Signer, Failure> {
        let bad = |reason: String| Failure::BadSignature {
            object: object.to_string(),
            id: id.to_string(),
            reason,
        };
        let sig = SshSig::from_pem(armored.trim_end())
            .map_err(|e| bad(format!("unreadable SSH signature: {e}")))?;
        if sig.namespace() != GIT_NAMESPACE {
            return Err(bad(format!(
                "signed in namespace {:?}, not \"git\"",
                sig.namespace()
            )));
        }
        let fingerprint = sig.public_key().fingerprint(HashAlg::Sha256).to_string();
        let Some(entry) = self.0.iter().find(|s| s.key.key_data() == sig.public_key()) else {
            return Err(Failure::SignerNotAllowed {
                object: object.to_string(),
                id: id.to_string(),
                key: fingerprint,
            });
        };
        entry
            .key
            .verify(GIT_NAMESPACE, data, &sig)
            .map_err(|e| bad(format!("{e}")))?;
        Ok(Signer {
            principal: entry.principals.clone(),
            key: fingerprint,
        })
    }
}

fn looks_like_key_type(word: &str) -> bool {
    word.starts_with("ssh-") || word.starts_with("ecdsa-") || word.starts_with("sk-")
}

/// Check the signature `sig` (as stored in the object) over `data`.
pub fn check(
    sig: &[u8],
    data: &[u8],
    object: &str,
    id: &str,
    signers: &AllowedSigners,
    gpg: Option<(&GpgVerifier, &[String])>,
) -> Result<Signer, Failure> {
    let text = String::from_utf8_lossy(sig);
    let text = text.trim_start();
    if text.starts_with("-----BEGIN SSH SIGNATURE-----") {
        return signers.verify_ssh(text, data, object, id);
    }
    if text.starts_with("-----BEGIN PGP SIGNATURE-----") {
        return match gpg {
            Some((verifier, allowed)) => verifier.verify(sig, data, allowed, object, id),
            None => Err(Failure::GpgNotVerified {
                object: object.to_string(),
                id: id.to_string(),
            }),
        };
    }
    Err(Failure::BadSignature {
        object: object.to_string(),
        id: id.to_string(),
        reason: "a signature format intact does not verify (x509?)".into(),
    })
}

/// Split a tag object into the signed part and its trailing signature.
pub fn split_tag(raw: &[u8]) -> Option<(&[u8], &[u8])> {
    const MARKERS: [&[u8]; 2] = [
        b"-----BEGIN SSH SIGNATURE-----",
        b"-----BEGIN PGP SIGNATURE-----",
    ];
    MARKERS
        .iter()
        .filter_map(|m| {
            raw.windows(m.len())
                .rposition(|w| w == *m)
                .filter(|&i| i == 0 || raw.get(i - 1) == Some(&b'\n'))
        })
        .max()
        .map(|i| raw.split_at(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJmrmJXBoFo0Dgs8tm2GGjwvMYlk1VaaRNmwvaTHgxVT";

    #[test]
    fn allowed_signers_lines_parse() {
        let s = AllowedSigners::parse(&[
            format!("alice@example.com {KEY} alice"),
            format!("bob@example.com namespaces=\"git,file\" {KEY}"),
        ])
        .expect("valid lines");
        assert_eq!(s.0.len(), 2);
        assert_eq!(s.0[0].principals, "alice@example.com");
    }

    #[test]
    fn restrictive_or_unknown_options_are_refused() {
        for line in [
            format!("a namespaces=\"file\" {KEY}"),
            format!("a cert-authority {KEY}"),
            format!("a valid-before=20300101 {KEY}"),
            "a ssh-ed25519 not-base64".to_string(),
            "a".to_string(),
        ] {
            assert!(
                AllowedSigners::parse(std::slice::from_ref(&line)).is_err(),
                "{line} accepted"
            );
        }
    }

    #[test]
    fn tag_signatures_split_at_the_last_armor() {
        let raw = b"object abc\ntag v1\n\nmessage\n-----BEGIN SSH SIGNATURE-----\nxyz\n-----END SSH SIGNATURE-----\n";
        let (data, sig) = split_tag(raw).expect("signed");
        assert!(data.ends_with(b"message\n"));
        assert!(sig.starts_with(b"-----BEGIN SSH"));
        assert!(split_tag(b"object abc\n\nunsigned\n").is_none());
        // An armor quoted inside a line is not a signature.
        assert!(split_tag(b"msg: -----BEGIN SSH SIGNATURE-----").is_none());
    }
}
