//! Errors that stop a layout from being read, built or written.
//!
//! Problems *in* a layout that can be read are [`crate::Finding`]s, not
//! errors: `check` reports them all at once.

use std::path::PathBuf;

use intact_crypto::CryptoError;
use intact_model::ModelError;

use crate::ParamError;

/// Why a layout could not be loaded, built or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// The YAML does not parse or does not have the expected shape.
    #[error("{}{message}", yaml_position(file, *line, *column))]
    Yaml {
        /// The file, if the text came from one.
        file: Option<PathBuf>,
        /// 1-based line of the problem.
        line: Option<usize>,
        /// 1-based column of the problem.
        column: Option<usize>,
        /// What is wrong, with the YAML path (`steps[0]: unknown field …`).
        message: String,
    },
    /// The YAML nests deeper than [`crate::MAX_DEPTH`] levels; refused
    /// before parsing (deep nesting makes the YAML parser slow).
    #[error(
        "{}line {line}: the YAML nests more than {limit} levels deep; a layout needs a few",
        file_prefix(file)
    )]
    TooDeep {
        /// The file, if the text came from one.
        file: Option<PathBuf>,
        /// 1-based line at which the limit was passed.
        line: usize,
        /// The limit.
        limit: usize,
    },
    /// The output file is the source file.
    #[error("{}: the output is the source file {}; choose another output", output.display(), input.display())]
    OutputIsSource {
        /// The source (YAML or signed layout).
        input: PathBuf,
        /// The output, the same file.
        output: PathBuf,
    },
    /// A file could not be read.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// A signed file that is not usable metadata.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Signing failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Parameter substitution failed.
    #[error(transparent)]
    Parameter(#[from] ParamError),
    /// A signed file whose payload is not a layout.
    #[error("expected a layout, found a {0}")]
    NotALayout(String),
    /// A field of a signed layout has the wrong type or value.
    #[error("field `{path}`: {reason}")]
    Field {
        /// Dotted path, e.g. `signed.steps[0].threshold`.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The YAML could not be written.
    #[error("cannot write YAML: {0}")]
    Export(String),
    /// A key rotation cannot be done (the old key is not in the layout).
    #[error("rotate-key: {0}")]
    Rotate(String),
    /// An error in the context of a file.
    #[error("{}: {cause}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        cause: Box<LayoutError>,
    },
}

fn file_prefix(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map(|f| format!("{}: ", f.display()))
        .unwrap_or_default()
}

fn yaml_position(file: &Option<PathBuf>, line: Option<usize>, column: Option<usize>) -> String {
    let mut out = String::new();
    if let Some(f) = file {
        out.push_str(&f.display().to_string());
        out.push(':');
    }
    if let Some(l) = line {
        out.push_str(&l.to_string());
        out.push(':');
        if let Some(c) = column {
            out.push_str(&c.to_string());
            out.push(':');
        }
    }
    if !out.is_empty() {
        out.push(' ');
    }
    out
}
