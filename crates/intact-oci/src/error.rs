//! What can go wrong talking to a registry, each with what to do next.

use std::path::PathBuf;

/// An error from a registry operation. Every variant is "unusable input"
/// for the CLI (exit 2): nothing was verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OciError {
    /// The reference does not parse as `REGISTRY/REPO[:TAG][@sha256:HEX]`.
    #[error("{reference:?}: not an OCI reference ({reason})")]
    Reference {
        /// The reference as given.
        reference: String,
        /// Why it was refused.
        reason: String,
    },
    /// A digest was required (`--require-digest`, or pushing referrers)
    /// but the reference names only a tag.
    #[error("{reference}: a tag is not accepted here; pin the digest (REF@sha256:...)")]
    TagRefused {
        /// The reference as given.
        reference: String,
    },
    /// `--insecure` (plain HTTP) for a registry that is not on this host.
    #[error("{registry}: plain HTTP (--insecure) is only allowed for a registry on localhost")]
    InsecureNotLocal {
        /// The registry host.
        registry: String,
    },
    /// The registry cannot be reached (connection refused, DNS, TLS).
    #[error("{registry}: registry unreachable: {detail}")]
    Unreachable {
        /// The registry host.
        registry: String,
        /// The transport's error.
        detail: String,
    },
    /// The registry refused the credentials (HTTP 401 or 403).
    #[error("{registry}: access denied (401/403): {detail}; check INTACT_REGISTRY_USER / INTACT_REGISTRY_PASSWORD or the docker config.json credentials")]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// The registry's answer.
        detail: String,
    },
    /// The manifest or blob does not exist in the repository.
    #[error("{reference}: not found in the registry")]
    NotFound {
        /// What was looked up.
        reference: String,
    },
    /// The subject has no intact metadata attached.
    #[error("{reference}: no layout, link or attestation is attached (no referrers); push them with `intact oci push`")]
    NoReferrers {
        /// The subject.
        reference: String,
    },
    /// Downloaded bytes do not hash to the digest they were asked for:
    /// refused, never written.
    #[error("{reference}: digest mismatch: asked for {expected}, the registry served content hashing to {actual}; refused")]
    DigestMismatch {
        /// The manifest or blob.
        reference: String,
        /// The digest asked for.
        expected: String,
        /// What the bytes hash to (or the client's report).
        actual: String,
    },
    /// A manifest or referrer entry the registry served is malformed or
    /// not what intact writes.
    #[error("{reference}: {reason}")]
    Malformed {
        /// The manifest.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Something larger than the limit was offered.
    #[error("{what}: {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The file or blob.
        what: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Two attached files of the same name with different contents.
    #[error("two attached files are both named {name:?} ({first} and {second}); refusing to choose between them")]
    DuplicateName {
        /// The file name.
        name: String,
        /// One manifest digest.
        first: String,
        /// The other.
        second: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A CA certificate or docker config file is unusable.
    #[error("{}: {reason}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Any other registry error, with the registry's words.
    #[error("{registry}: {detail}")]
    Registry {
        /// The registry host.
        registry: String,
        /// What it said.
        detail: String,
    },
}

impl OciError {
    /// Classify an `oci-client` error for `registry`.
    pub(crate) fn from_client(
        registry: &str,
        what: &str,
        err: oci_client::errors::OciDistributionError,
    ) -> Self {
        use oci_client::errors::OciDistributionError as E;
        let registry = registry.to_string();
        match err {
            E::UnauthorizedError { url } => OciError::Unauthorized {
                registry,
                detail: format!("not authorized for {url}"),
            },
            E::AuthenticationFailure(detail) => OciError::Unauthorized { registry, detail },
            E::ServerError { code, url, message } if code == 401 || code == 403 => {
                OciError::Unauthorized {
                    registry,
                    detail: format!("{url}: {message}"),
                }
            }
            E::ServerError { code: 404, .. } | E::ImageManifestNotFoundError(_) => {
                OciError::NotFound {
                    reference: what.to_string(),
                }
            }
            E::DigestError(e) => OciError::DigestMismatch {
                reference: what.to_string(),
                expected: "the requested digest".to_string(),
                actual: e.to_string(),
            },
            E::RequestError(e) => {
                let detail = error_chain(&e);
                if e.is_connect() || e.is_timeout() {
                    OciError::Unreachable { registry, detail }
                } else {
                    OciError::Registry { registry, detail }
                }
            }
            E::RegistryError { envelope, url } => {
                let text = envelope.to_string();
                let denied = envelope.errors.iter().any(|e| {
                    matches!(
                        e.code,
                        oci_client::errors::OciErrorCode::Unauthorized
                            | oci_client::errors::OciErrorCode::Denied
                    )
                });
                let unknown = envelope.errors.iter().any(|e| {
                    matches!(
                        e.code,
                        oci_client::errors::OciErrorCode::ManifestUnknown
                            | oci_client::errors::OciErrorCode::BlobUnknown
                            | oci_client::errors::OciErrorCode::NameUnknown
                    )
                });
                if denied {
                    OciError::Unauthorized {
                        registry,
                        detail: format!("{url}: {text}"),
                    }
                } else if unknown {
                    OciError::NotFound {
                        reference: what.to_string(),
                    }
                } else {
                    OciError::Registry {
                        registry,
                        detail: format!("{what}: {url}: {text}"),
                    }
                }
            }
            other => {
                let detail = error_chain(&other);
                // The client reports some refusals only in words.
                if detail.contains("401") || detail.contains("403") {
                    OciError::Unauthorized { registry, detail }
                } else {
                    OciError::Registry {
                        registry,
                        detail: format!("{what}: {detail}"),
                    }
                }
            }
        }
    }
}

/// An error with its causes, `a: b: c`, so that a TLS or connection
/// failure says what actually failed.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
