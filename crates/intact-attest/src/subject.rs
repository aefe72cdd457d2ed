//! Subjects as given on a command line: a file (hashed), `NAME=sha256:HEX`,
//! or the manifest of an image in an OCI image layout.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::{AttestError, ResourceDescriptor};

/// Largest `index.json` read from an OCI layout.
const MAX_INDEX_BYTES: u64 = 16 * 1024 * 1024;

/// The annotation an OCI layout names a manifest's tag with.
pub const OCI_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A subject as the user gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectSpec {
    /// A file to hash; its name in the statement is the path as given.
    File(PathBuf),
    /// A name with a known SHA-256.
    Digest {
        /// The subject's name.
        name: String,
        /// Lowercase hex.
        sha256: String,
    },
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl SubjectSpec {
    /// `NAME=sha256:HEX` (64 lowercase hex digits) is a digest; anything
    /// else is a file path. `NAME=sha256:` with a malformed digest is an
    /// error rather than a file, so a typo is not read as a path.
    pub fn parse(spec: &str) -> Result<Self, AttestError> {
        if let Some((name, digest)) = spec.rsplit_once('=') {
            if let Some(hex) = digest.strip_prefix("sha256:") {
                if name.is_empty() {
                    return Err(AttestError::Subject {
                        spec: spec.into(),
                        problem: "the name before '=' is empty".into(),
                    });
                }
                if !is_sha256_hex(hex) {
                    return Err(AttestError::Subject {
                        spec: spec.into(),
                        problem: "after 'sha256:' must come 64 lowercase hex digits".into(),
                    });
                }
                return Ok(SubjectSpec::Digest {
                    name: name.into(),
                    sha256: hex.into(),
                });
            }
        }
        if spec.is_empty() {
            return Err(AttestError::Subject {
                spec: spec.into(),
                problem: "empty".into(),
            });
        }
        Ok(SubjectSpec::File(PathBuf::from(spec)))
    }

    /// The descriptor: a file is hashed now.
    pub fn resolve(&self) -> Result<ResourceDescriptor, AttestError> {
        match self {
            SubjectSpec::Digest { name, sha256 } => {
                Ok(ResourceDescriptor::sha256(name.clone(), sha256.clone()))
            }
            SubjectSpec::File(path) => Ok(ResourceDescriptor::sha256(
                path.to_string_lossy().into_owned(),
                sha256_file(path)?,
            )),
        }
    }
}

/// SHA-256 of a regular file, streamed; the error names the file.
pub fn sha256_file(path: &Path) -> Result<String, AttestError> {
    let mut file = fs_err::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(AttestError::File {
            path: path.to_path_buf(),
            problem: "not a regular file".into(),
        });
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The image manifest of an OCI image layout (`DIR` or `DIR:TAG`, as
/// `skopeo copy ... oci:DIR:TAG` writes it) as a subject named after the
/// tag (or the directory when untagged), by its digest in `index.json`.
/// Without a tag the index must hold exactly one manifest.
pub fn oci_subject(spec: &str) -> Result<ResourceDescriptor, AttestError> {
    // DIR:TAG, unless DIR itself (with the colon) is the layout.
    let (dir, tag) = match spec.rsplit_once(':') {
        Some((d, t)) if !Path::new(spec).join("index.json").exists() && !t.contains('/') => {
            (PathBuf::from(d), Some(t.to_string()))
        }
        _ => (PathBuf::from(spec), None),
    };
    let index_path = dir.join("index.json");
    let bytes = intact_model::io::read_limited(&index_path, MAX_INDEX_BYTES)?;
    let bad = |problem: String| AttestError::File {
        path: index_path.clone(),
        problem,
    };
    let index = intact_model::json::parse_strict(&bytes).map_err(|e| bad(e.to_string()))?;
    let manifests = index
        .get("manifests")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no \"manifests\" list: not an OCI image layout index".into()))?;
    let ref_name = |m: &Value| {
        m.get("annotations")
            .and_then(|a| a.get(OCI_REF_NAME))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let chosen: Vec<&Value> = match &tag {
        Some(t) => manifests
            .iter()
            .filter(|m| ref_name(m).as_deref() == Some(t.as_str()))
            .collect(),
        None => manifests.iter().collect(),
    };
    let manifest = match chosen.as_slice() {
        [one] => *one,
        [] => {
            return Err(bad(match &tag {
                Some(t) => format!("no manifest tagged {t:?}"),
                None => "no manifest".into(),
            }))
        }
        _ => {
            return Err(bad(format!(
                "{} manifests{}; name one as DIR:TAG",
                chosen.len(),
                tag.as_ref()
                    .map(|t| format!(" tagged {t:?}"))
                    .unwrap_or_default()
            )))
        }
    };
    let digest = manifest
        .get("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("the manifest has no digest".into()))?;
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| is_sha256_hex(h))
        .ok_or_else(|| {
            bad(format!(
                "manifest digest {digest:?} is not sha256:<64 hex digits>"
            ))
        })?;
    let name = tag
        .clone()
        .or_else(|| ref_name(manifest))
        .unwrap_or_else(|| dir.to_string_lossy().into_owned());
    let mut rd = ResourceDescriptor::sha256(name, hex);
    if let Some(mt) = manifest.get("mediaType").and_then(Value::as_str) {
        rd.media_type = Some(mt.to_string());
    }
    Ok(rd)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Tests may use std::fs.
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let hex = "ab".repeat(32);
        assert_eq!(
            SubjectSpec::parse(&format!("app=sha256:{hex}")).unwrap(),
            SubjectSpec::Digest {
                name: "app".into(),
                sha256: hex.clone()
            }
        );
        assert!(SubjectSpec::parse("app=sha256:xyz").is_err());
        assert!(SubjectSpec::parse(&format!("=sha256:{hex}")).is_err());
        assert_eq!(
            SubjectSpec::parse("dist/a=b.tar").unwrap(),
            SubjectSpec::File("dist/a=b.tar".into())
        );
    }

    #[test]
    fn files_are_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let rd = SubjectSpec::File(p.clone()).resolve().unwrap();
        assert_eq!(
            rd.digest.get("sha256").unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(matches!(
            SubjectSpec::File(dir.path().join("missing")).resolve(),
            Err(AttestError::Io(_))
        ));
    }
}
