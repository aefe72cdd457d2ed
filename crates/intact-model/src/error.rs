//! One error type for everything this crate parses or writes.
//!
//! Variants carry the JSON path or file involved so that a user who sees the
//! message can find the offending byte without a debugger.

use std::path::PathBuf;

/// Errors from parsing, validating, encoding or storing in-toto metadata.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The bytes are not JSON we accept (syntax, duplicate keys, floats).
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A field is missing, has the wrong type, or an invalid value.
    #[error("field `{path}`: {reason}")]
    Field {
        /// Dotted JSON path of the field, e.g. `signed.steps[0].threshold`.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value that canonical JSON cannot encode (a float).
    #[error("cannot encode as canonical JSON: {0}")]
    Canonical(String),
    /// The document is neither a Metablock nor an in-toto DSSE envelope.
    #[error("not in-toto metadata: {0}")]
    Container(String),
    /// An artifact rule that does not follow the grammar.
    #[error("invalid artifact rule {rule}: {reason}")]
    Rule {
        /// The rule as written.
        rule: String,
        /// Which token or shape is wrong.
        reason: String,
    },
    /// An inspection carries a git policy that does not parse or could
    /// not prove anything.
    #[error("git policy: {0}")]
    GitPolicy(String),
    /// An inspection carries a separation-of-duties policy that does not
    /// parse or separates nothing.
    #[error("separation of duties: {0}")]
    Separation(String),
    /// Reading or writing a file failed.
    #[error("{path}: {cause}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// A file was refused or could not be read ([`crate::io::read_limited`]).
    #[error(transparent)]
    Read(#[from] crate::io::ReadError),
    /// Any other error, in the context of the file it came from.
    #[error("{path}: {cause}")]
    InFile {
        /// The file involved.
        path: PathBuf,
        /// The underlying problem.
        cause: Box<ModelError>,
    },
}

impl ModelError {
    pub(crate) fn field(path: impl Into<String>, reason: impl Into<String>) -> Self {
        ModelError::Field {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Attach a file name to an error, unless it already names one.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        match self {
            e @ (ModelError::Io { .. } | ModelError::Read(_) | ModelError::InFile { .. }) => e,
            e => ModelError::InFile {
                path: path.into(),
                cause: Box::new(e),
            },
        }
    }

    /// Prefix the JSON path of a field error (used when a sub-document is
    /// parsed on its own, e.g. the `signed` member of a Metablock).
    pub(crate) fn under(self, prefix: &str) -> Self {
        match self {
            ModelError::Field { path, reason } => ModelError::Field {
                path: if path.is_empty() || path == "." {
                    prefix.to_string()
                } else {
                    format!("{prefix}.{path}")
                },
                reason,
            },
            e => e,
        }
    }
}

/// Convert a typed-deserialisation error, keeping the path to the field.
pub(crate) fn from_path_error(e: serde_path_to_error::Error<serde_json::Error>) -> ModelError {
    let path = e.path().to_string();
    let reason = e.into_inner().to_string();
    ModelError::field(path, reason)
}
