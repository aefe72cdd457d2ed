//! Layouts for people: write an in-toto layout in YAML, check it, sign it,
//! and turn a signed layout back into YAML.
//!
//! * [`Source`] parses the authoring format (docs/layouts.md); parse errors
//!   carry the YAML line and column.
//! * [`Source::compile`] resolves functionary keys, parses every artifact
//!   rule with the rule parser the verifier uses (`intact_model::Rule`),
//!   computes the expiry, substitutes the parameters known at build time
//!   and runs the checks, returning a [`Layout`] and typed [`Finding`]s.
//! * [`lint`] checks any typed layout; [`check_signed`] checks a signed
//!   file, reporting bad rules and repeated names rather than refusing it.
//! * [`sign_layout`] signs with the owners' keys; [`export`] writes YAML
//!   that builds back to the same layout.
//! * [`graph::LayoutGraph`] is the picture of a layout (steps,
//!   inspections, the artifact flows of their `MATCH` rules) as Graphviz,
//!   Mermaid or SVG; [`graph_source`] builds it from a file's bytes.
//! * [`substitute_parameters`] (re-exported from
//!   [`intact_model::params`]) is the verifier's `{NAME}` substitution,
//!   with the reference's `str.format` semantics.
//!
//! ```
//! use intact_crypto::SigningKey;
//! use intact_layout::{export, sign_layout, BuildOptions, Source};
//! use intact_model::Container;
//!
//! let dir = tempfile::tempdir()?;
//! let alice = SigningKey::generate_ed25519();
//! std::fs::write(dir.path().join("alice.pub"), alice.public_key().to_spki_pem()?)?;
//! let yaml = "
//! expires: 90d
//! keys:
//!   alice: alice.pub
//! steps:
//!   - name: build
//!     functionaries: [alice]
//!     expected_command: make VERSION={VERSION}
//!     expected_products:
//!       - CREATE app-{VERSION}.tar.gz
//!       - DISALLOW *
//! ";
//! let source = Source::parse(yaml, dir.path())?;
//! let mut options = BuildOptions::default();
//! options.parameters.insert("VERSION".into(), "1.0".into());
//! let compiled = source.compile(&options)?;
//! assert!(compiled.findings.is_empty(), "{:?}", compiled.findings);
//! assert_eq!(compiled.layout.steps[0].expected_command, ["make", "VERSION=1.0"]);
//!
//! let owner = SigningKey::generate_ed25519();
//! let signed = sign_layout(&compiled.layout, &[owner], Container::Metablock)?;
//! assert_eq!(signed.signatures().len(), 1);
//!
//! // The exported YAML builds to the same layout.
//! let again = Source::parse(export(&compiled.layout)?, dir.path())?
//!     .compile(&BuildOptions::default())?;
//! assert_eq!(again.layout, compiled.layout);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod compile;
pub mod coverage;
mod depth;
mod diagnose;
mod error;
mod expiry;
mod export;
mod finding;
pub mod graph;
mod lint;
mod rotate;
mod signed;
mod svg;

/// Parameter substitution lives in the model (the verifier needs it
/// without YAML); the front end uses it from there.
pub(crate) use intact_model::params;
mod spec;

use std::path::Path;

use intact_crypto::SigningKey;
use intact_model::{Container, Layout, Metadata};

pub use compile::{BuildOptions, Compiled, DEFAULT_WARN_EXPIRY};
pub use coverage::{coverage, CoverageFinding, CoverageReport, HopStatus, Risk};
pub use depth::MAX_DEPTH;
pub use error::LayoutError;
pub use expiry::parse_expires;
pub use export::{export, to_spec};
pub use finding::{codes, has_errors, Finding, ItemKind, ItemRef, Location, Severity};
pub use graph::{LayoutGraph, SvgOptions};
pub use intact_model::params::{
    bind_parameters, is_valid_parameter_name, placeholders, substitute_parameters, template_errors,
    Bound, ParamError, ParamErrorKind,
};
pub use lint::lint;
pub use rotate::{rotate_key, rotate_yaml, Rotation};
pub use signed::{check_signed, check_signed_with, is_signed_metadata};
pub use spec::{Command, InspectionSpec, KeySpec, LayoutSpec, NamedMap, Source, StepSpec};

/// Sign `layout` with every key in `keys`, in `container`. The layout must
/// pass the reference's load-time validation (unique names).
pub fn sign_layout(
    layout: &Layout,
    keys: &[SigningKey],
    container: Container,
) -> Result<Metadata, LayoutError> {
    layout.validate()?;
    let mut md = Metadata::new(layout.clone().into(), container)?;
    for key in keys {
        intact_crypto::sign_metadata(&mut md, key)?;
    }
    Ok(md)
}

/// Refuse to write `output` when it is the file `source` (the same path,
/// a symbolic link to it or a hard link of it): `layout build X.yaml -o
/// X.yaml` would replace the YAML with the signed layout.
pub fn check_output_is_not_source(source: &Path, output: &Path) -> Result<(), LayoutError> {
    if same_file(source, output) {
        return Err(LayoutError::OutputIsSource {
            input: source.to_path_buf(),
            output: output.to_path_buf(),
        });
    }
    Ok(())
}

/// Whether `a` and `b` name one existing file.
// Errors are only a "no" here (a missing output is not the source), so
// fs-err's path-naming errors would be thrown away.
#[allow(clippy::disallowed_methods)]
fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (a.metadata(), b.metadata()) else {
        // A missing output cannot be the source.
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

/// Check a file: a YAML layout (compiled with `options`) or a signed
/// layout (Metablock or DSSE; `options.parameters` do not apply).
pub fn check_file(path: &Path, options: &BuildOptions) -> Result<Vec<Finding>, LayoutError> {
    // Only a regular file under the size cap (a FIFO or /dev/zero would
    // hang or exhaust memory).
    let bytes = intact_model::io::read_limited(path, intact_model::io::DEFAULT_MAX_METADATA_SIZE)
        .map_err(intact_model::ModelError::from)?;
    if is_signed_metadata(&bytes) {
        return check_signed_with(&bytes, options.now, options.warn_expiry).map_err(|e| {
            LayoutError::InFile {
                path: path.to_path_buf(),
                cause: Box::new(e),
            }
        });
    }
    Ok(Source::load(path)?.compile(options)?.findings)
}

/// The graph of a layout given as bytes: a signed layout (Metablock or
/// DSSE; its signatures are not checked, the picture only shows what it
/// says) or a YAML source, compiled with `options` (its key names label
/// the functionaries; `base_dir` resolves its key files). Returns the
/// graph and, for YAML, the compiler's findings (parts with errors are
/// left out of the picture).
pub fn graph_source(
    bytes: &[u8],
    base_dir: &Path,
    options: &BuildOptions,
) -> Result<(LayoutGraph, Vec<Finding>), LayoutError> {
    if is_signed_metadata(bytes) {
        let md = Metadata::from_slice(bytes)?;
        return match md.payload()? {
            intact_model::Payload::Layout(layout) => Ok((
                LayoutGraph::new(&layout, &std::collections::BTreeMap::new()),
                Vec::new(),
            )),
            intact_model::Payload::Link(_) => Err(LayoutError::NotALayout("link".into())),
        };
    }
    let text = std::str::from_utf8(bytes).map_err(|_| LayoutError::Yaml {
        file: None,
        line: None,
        column: None,
        message: "not UTF-8".into(),
    })?;
    let compiled = Source::parse(text, base_dir)?.compile(options)?;
    Ok((
        LayoutGraph::new(&compiled.layout, &compiled.key_names),
        compiled.findings,
    ))
}

/// The coverage of a layout given as bytes ([`coverage`]): a signed
/// layout (Metablock or DSSE; its signatures are not checked) or a YAML
/// source, compiled with `options` (`base_dir` resolves its key files; its
/// findings then name YAML lines). Returns the report and, for YAML, the
/// compiler's findings.
pub fn coverage_source(
    bytes: &[u8],
    base_dir: &Path,
    options: &BuildOptions,
) -> Result<(CoverageReport, Vec<Finding>), LayoutError> {
    if is_signed_metadata(bytes) {
        let md = Metadata::from_slice(bytes)?;
        return match md.payload()? {
            intact_model::Payload::Layout(layout) => Ok((coverage(&layout), Vec::new())),
            intact_model::Payload::Link(_) => Err(LayoutError::NotALayout("link".into())),
        };
    }
    let text = std::str::from_utf8(bytes).map_err(|_| LayoutError::Yaml {
        file: None,
        line: None,
        column: None,
        message: "not UTF-8".into(),
    })?;
    let (compiled, report) = Source::parse(text, base_dir)?.coverage(options)?;
    Ok((report, compiled.findings))
}
