//! The registry operations: resolve, push a file, push referrers (with the
//! fallback tag scheme), list referrers, pull.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::error::OciError;
use crate::media;

/// The OCI 1.1 empty config blob, `{}`.
const EMPTY_BLOB: &[u8] = b"{}";

/// What a manifest is accepted as when resolving or pulling.
const MANIFEST_TYPES: &[&str] = &[
    media::OCI_MANIFEST,
    media::OCI_INDEX,
    media::DOCKER_MANIFEST,
    media::DOCKER_LIST,
];

/// The largest manifest intact reads (a referrers index of thousands of
/// entries still fits).
const MAX_MANIFEST: u64 = 16 << 20;

/// A registry reference, `REGISTRY/REPO[:TAG][@sha256:HEX]`.
#[derive(Debug, Clone)]
pub struct ImageRef {
    inner: Reference,
    given: String,
}

impl ImageRef {
    /// Parse a reference. A name without a registry host means Docker Hub,
    /// as for docker and skopeo.
    pub fn parse(s: &str) -> Result<Self, OciError> {
        let inner: Reference = s.parse().map_err(|e| OciError::Reference {
            reference: s.to_string(),
            reason: format!("{e}"),
        })?;
        if let Some(d) = inner.digest() {
            check_digest(d).map_err(|reason| OciError::Reference {
                reference: s.to_string(),
                reason,
            })?;
        }
        Ok(ImageRef {
            inner,
            given: s.to_string(),
        })
    }

    /// The registry host (and port).
    pub fn registry(&self) -> &str {
        self.inner.resolve_registry()
    }

    /// The repository inside the registry.
    pub fn repository(&self) -> &str {
        self.inner.repository()
    }

    /// The pinned digest, when the reference has one.
    pub fn digest(&self) -> Option<&str> {
        self.inner.digest()
    }

    /// `REGISTRY/REPO`, the name images are pulled by.
    pub fn name(&self) -> String {
        format!("{}/{}", self.inner.registry(), self.inner.repository())
    }

    /// The same repository at `digest`.
    pub fn at_digest(&self, digest: &str) -> ImageRef {
        let inner = Reference::with_digest(
            self.inner.registry().to_string(),
            self.inner.repository().to_string(),
            digest.to_string(),
        );
        ImageRef {
            given: format!("{}@{digest}", self.name()),
            inner,
        }
    }

    fn at_tag(&self, tag: &str) -> Reference {
        Reference::with_tag(
            self.inner.registry().to_string(),
            self.inner.repository().to_string(),
            tag.to_string(),
        )
    }

    /// Refuse a tag-only reference (`--require-digest`).
    pub fn require_digest(&self) -> Result<(), OciError> {
        match self.digest() {
            Some(_) => Ok(()),
            None => Err(OciError::TagRefused {
                reference: self.given.clone(),
            }),
        }
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.given)
    }
}

fn check_digest(d: &str) -> Result<(), String> {
    let hex = d
        .strip_prefix("sha256:")
        .ok_or_else(|| format!("digest {d:?}: only sha256 digests are supported"))?;
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!(
            "digest {d:?}: a sha256 digest is 64 lowercase hexadecimal digits"
        ));
    }
    Ok(())
}

fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A user name and password for HTTP basic authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password (or token).
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <redacted>)", self.username)
    }
}

/// The credentials `docker login` stored for `registry` in the docker
/// `config.json` at `path` (`auths.REGISTRY.auth`, base64 of
/// `user:password`). Credential helpers (`credsStore`) are not run:
/// `None` then, and `INTACT_REGISTRY_USER`/`_PASSWORD` are the way.
pub fn docker_config_credentials(
    path: &Path,
    registry: &str,
) -> Result<Option<Credentials>, OciError> {
    let bad = |reason: String| OciError::Config {
        path: path.to_path_buf(),
        reason,
    };
    let text = match fs_err::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(OciError::Io {
                path: path.to_path_buf(),
                source: e,
            })
        }
    };
    let config: Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not a docker config.json: {e}")))?;
    let Some(auths) = config.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    let entry = auths.iter().find(|(k, _)| {
        let k = k
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        k.split('/').next() == Some(registry)
    });
    let Some((_, entry)) = entry else {
        return Ok(None);
    };
    if let (Some(u), Some(p)) = (
        entry.get("username").and_then(Value::as_str),
        entry.get("password").and_then(Value::as_str),
    ) {
        return Ok(Some(Credentials {
            username: u.to_string(),
            password: p.to_string(),
        }));
    }
    let Some(auth) = entry.get("auth").and_then(Value::as_str) else {
        return Ok(None);
    };
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|e| bad(format!("auths.{registry}.auth is not base64: {e}")))?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| bad(format!("auths.{registry}.auth is not UTF-8")))?;
    let (u, p) = decoded
        .split_once(':')
        .ok_or_else(|| bad(format!("auths.{registry}.auth is not user:password")))?;
    Ok(Some(Credentials {
        username: u.to_string(),
        password: p.to_string(),
    }))
}

/// How to reach a registry.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Plain HTTP; refused for a registry not on this host.
    pub insecure: bool,
    /// A PEM file of CA certificates trusted besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Basic-auth credentials; anonymous without.
    pub credentials: Option<Credentials>,
    /// The largest blob intact downloads.
    pub max_blob_size: u64,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: false,
            ca_file: None,
            credentials: None,
            max_blob_size: 512 << 20,
        }
    }
}

fn is_local(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        registry.split(':').next().unwrap_or(registry)
    };
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

/// What kind of intact metadata an artifact holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A signed root layout.
    Layout,
    /// A signed link.
    Link,
    /// A DSSE attestation.
    Attestation,
    /// An inclusion proof of the file of the same name without `.proof`.
    Proof,
}

impl Kind {
    /// The `dev.intact.kind` annotation.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Layout => "layout",
            Kind::Link => "link",
            Kind::Attestation => "attestation",
            Kind::Proof => "proof",
        }
    }

    /// The layer media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Kind::Layout => media::LAYOUT,
            Kind::Link => media::LINK,
            Kind::Attestation => media::ATTESTATION,
            Kind::Proof => media::PROOF,
        }
    }

    fn from_media_type(m: &str) -> Option<Kind> {
        [Kind::Layout, Kind::Link, Kind::Attestation, Kind::Proof]
            .into_iter()
            .find(|k| k.media_type() == m)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file to attach to a subject.
#[derive(Debug, Clone)]
pub struct Item {
    /// What it is.
    pub kind: Kind,
    /// Its file name (no directory), written back by a pull.
    pub name: String,
    /// Its bytes, pushed unchanged.
    pub bytes: Vec<u8>,
}

impl Item {
    /// Read `path` (at most `limit` bytes) as an item named by its file name.
    pub fn from_file(kind: Kind, path: &Path, limit: u64) -> Result<Item, OciError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        check_name(&name).map_err(|reason| OciError::Config {
            path: path.to_path_buf(),
            reason,
        })?;
        let meta = fs_err::metadata(path).map_err(|e| OciError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        if !meta.is_file() {
            return Err(OciError::Config {
                path: path.to_path_buf(),
                reason: "not a regular file".to_string(),
            });
        }
        if meta.len() > limit {
            return Err(OciError::TooLarge {
                what: path.display().to_string(),
                size: meta.len(),
                limit,
            });
        }
        let bytes = fs_err::read(path).map_err(|e| OciError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Ok(Item { kind, name, bytes })
    }
}

/// The `*.link` files of a directory, sorted.
pub fn links_in_dir(dir: &Path) -> Result<Vec<PathBuf>, OciError> {
    let io = |e| OciError::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    let mut out = Vec::new();
    for entry in fs_err::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "link") && path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// A name a pull may write: a plain file name, nothing that climbs out of
/// the output directory or hides.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 255
        || name.starts_with('.')
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control)
    {
        return Err(format!(
            "{name:?} is not a plain file name (no directory, not hidden, at most 255 bytes)"
        ));
    }
    Ok(())
}

/// What a reference resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The manifest digest.
    pub digest: String,
    /// The manifest's media type.
    pub media_type: String,
    /// The manifest's size in bytes.
    pub size: u64,
    /// What the manifest is.
    pub kind: SubjectKind,
}

/// What a subject manifest is, for the subject check of `verify --image`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectKind {
    /// A container image (or index): the chain must record the manifest.
    Image,
    /// A file pushed with `intact oci push --artifact`: the chain must
    /// record the file, whose digest and name are these.
    File {
        /// The file's name (its title annotation).
        name: String,
        /// The file's content digest, `sha256:HEX`.
        digest: String,
    },
}

/// One artifact attached to a subject, as the referrers list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    /// The artifact manifest's digest.
    pub digest: String,
    /// Its `artifactType`.
    pub artifact_type: String,
    /// The `dev.intact.kind` annotation, when intact wrote it.
    pub kind: Option<String>,
    /// The file name (title annotation), when present.
    pub name: Option<String>,
}

/// One artifact pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// What it holds.
    pub kind: Kind,
    /// Its file name.
    pub name: String,
    /// The artifact manifest's digest.
    pub digest: String,
}

/// The result of [`Registry::push_referrers`].
#[derive(Debug, Clone)]
pub struct PushReport {
    /// The subject, pinned by digest.
    pub subject: ImageRef,
    /// Each artifact, in the order given.
    pub pushed: Vec<Pushed>,
    /// The fallback tag updated, on a registry without the referrers API.
    pub fallback_tag: Option<String>,
}

/// The result of [`Registry::pull`].
#[derive(Debug, Clone)]
pub struct PullReport {
    /// The subject, pinned by digest.
    pub subject: ImageRef,
    /// What the subject is.
    pub subject_kind: SubjectKind,
    /// Each file written, with its kind.
    pub files: Vec<(Kind, PathBuf)>,
}

impl PullReport {
    /// The pulled layouts.
    pub fn layouts(&self) -> impl Iterator<Item = &Path> {
        self.files
            .iter()
            .filter(|(k, _)| *k == Kind::Layout)
            .map(|(_, p)| p.as_path())
    }
}

/// A connection to one registry.
pub struct Registry {
    client: Client,
    auth: RegistryAuth,
    runtime: tokio::runtime::Runtime,
    registry: String,
    max_blob_size: u64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Prepare a client for the registry of `reference`. Nothing is sent yet.
    pub fn connect(reference: &ImageRef, opts: &RegistryOptions) -> Result<Registry, OciError> {
        let registry = reference.registry().to_string();
        if opts.insecure && !is_local(&registry) {
            return Err(OciError::InsecureNotLocal { registry });
        }
        // reqwest is built without a default provider: ring, as for ureq.
        // Installing fails harmlessly when one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut extra = Vec::new();
        if let Some(path) = &opts.ca_file {
            let pem = fs_err::read(path).map_err(|e| OciError::Io {
                path: path.clone(),
                source: e,
            })?;
            if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(OciError::Config {
                    path: path.clone(),
                    reason: "no PEM certificate (-----BEGIN CERTIFICATE-----) in the CA file"
                        .to_string(),
                });
            }
            extra.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data: pem,
            });
        }
        let config = ClientConfig {
            protocol: if opts.insecure {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            extra_root_certificates: extra,
            platform_resolver: None,
            connect_timeout: Some(std::time::Duration::from_secs(10)),
            read_timeout: Some(std::time::Duration::from_secs(60)),
            user_agent: concat!("intact/", env!("CARGO_PKG_VERSION")),
            ..Default::default()
        };
        let client = Client::try_from(config).map_err(|e| OciError::Registry {
            registry: registry.clone(),
            detail: format!("cannot set up the HTTP client: {e}"),
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| OciError::Registry {
                registry: registry.clone(),
                detail: format!("cannot start the I/O runtime: {e}"),
            })?;
        let auth = match &opts.credentials {
            Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
            None => RegistryAuth::Anonymous,
        };
        Ok(Registry {
            client,
            auth,
            runtime,
            registry,
            max_blob_size: opts.max_blob_size,
        })
    }

    fn err(&self, what: &str) -> impl Fn(oci_client::errors::OciDistributionError) -> OciError {
        let registry = self.registry.clone();
        let what = what.to_string();
        move |e| OciError::from_client(&registry, &what, e)
    }

    /// Fetch a manifest's bytes and check them against the digest asked
    /// for (a pinned reference) — the manifest's digest is its SHA-256.
    fn manifest(&self, r: &ImageRef) -> Result<(Vec<u8>, String), OciError> {
        let (bytes, _) = self
            .runtime
            .block_on(
                self.client
                    .pull_manifest_raw(&r.inner, &self.auth, MANIFEST_TYPES),
            )
            .map_err(self.err(&r.to_string()))?;
        if bytes.len() as u64 > MAX_MANIFEST {
            return Err(OciError::TooLarge {
                what: r.to_string(),
                size: bytes.len() as u64,
                limit: MAX_MANIFEST,
            });
        }
        let actual = sha256_digest(&bytes);
        if let Some(expected) = r.digest() {
            if expected != actual {
                return Err(OciError::DigestMismatch {
                    reference: r.to_string(),
                    expected: expected.to_string(),
                    actual,
                });
            }
        }
        Ok((bytes.to_vec(), actual))
    }

    /// Resolve a reference (a tag to its digest) and say what it is.
    pub fn resolve(&self, r: &ImageRef) -> Result<Resolved, OciError> {
        let (bytes, digest) = self.manifest(r)?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| OciError::Malformed {
            reference: r.to_string(),
            reason: format!("the manifest is not JSON: {e}"),
        })?;
        let media_type = match value.get("mediaType").and_then(Value::as_str) {
            Some(m) => m.to_string(),
            None if value.get("manifests").is_some() => media::OCI_INDEX.to_string(),
            None => media::OCI_MANIFEST.to_string(),
        };
        let mut kind = SubjectKind::Image;
        if value.get("artifactType").and_then(Value::as_str) == Some(media::FILE_ARTIFACT_TYPE) {
            kind = file_subject(&value, &bytes).map_err(|reason| OciError::Malformed {
                reference: r.to_string(),
                reason,
            })?;
        }
        Ok(Resolved {
            digest,
            media_type,
            size: bytes.len() as u64,
            kind,
        })
    }

    fn push_blob(&self, r: &ImageRef, bytes: &[u8]) -> Result<String, OciError> {
        let digest = sha256_digest(bytes);
        let exists = self
            .runtime
            .block_on(self.client.blob_exists(&r.inner, &digest))
            .map_err(self.err(&r.to_string()))?;
        if !exists {
            self.runtime
                .block_on(self.client.push_blob(&r.inner, bytes.to_vec(), &digest))
                .map_err(self.err(&r.to_string()))?;
        }
        Ok(digest)
    }

    fn push_manifest_bytes(
        &self,
        r: &Reference,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<(), OciError> {
        let content_type = media_type.parse().map_err(|_| OciError::Registry {
            registry: self.registry.clone(),
            detail: format!("bad media type {media_type}"),
        })?;
        self.runtime
            .block_on(self.client.push_manifest_raw(r, bytes, content_type))
            .map_err(self.err(&r.to_string()))?;
        Ok(())
    }

    fn authenticate(
        &self,
        r: &ImageRef,
        op: oci_client::RegistryOperation,
    ) -> Result<(), OciError> {
        self.runtime
            .block_on(self.client.auth(&r.inner, &self.auth, op))
            .map_err(self.err(&r.to_string()))?;
        Ok(())
    }

    /// Push a plain file as an OCI artifact in `repo` (tagged when the
    /// reference has a tag) and return its manifest digest: the subject
    /// that consumers then pin and that links describe.
    pub fn push_file(&self, repo: &ImageRef, path: &Path) -> Result<String, OciError> {
        self.authenticate(repo, oci_client::RegistryOperation::Push)?;
        let item = Item::from_file(Kind::Attestation, path, self.max_blob_size)?;
        self.push_blob(repo, EMPTY_BLOB)?;
        let layer = self.push_blob(repo, &item.bytes)?;
        let bytes = file_manifest(&layer, item.bytes.len() as u64, &item.name);
        let digest = sha256_digest(&bytes);
        self.push_manifest_bytes(
            &repo.at_digest(&digest).inner,
            bytes.clone(),
            media::OCI_MANIFEST,
        )?;
        if let Some(tag) = repo.inner.tag() {
            self.push_manifest_bytes(&repo.at_tag(tag), bytes, media::OCI_MANIFEST)?;
        }
        Ok(digest)
    }

    /// The referrers index of `subject` (a pinned reference): the
    /// referrers API, or the fallback tag on a registry without it.
    fn referrers_index(&self, subject: &ImageRef) -> Result<Value, OciError> {
        let index = self
            .runtime
            .block_on(self.client.pull_referrers(&subject.inner, None))
            .map_err(self.err(&format!("referrers of {subject}")))?;
        serde_json::to_value(&index).map_err(|e| OciError::Malformed {
            reference: format!("referrers of {subject}"),
            reason: e.to_string(),
        })
    }

    /// Every artifact attached to `subject` (a pinned reference).
    pub fn referrers(&self, subject: &ImageRef) -> Result<Vec<Referrer>, OciError> {
        subject.require_digest()?;
        self.authenticate(subject, oci_client::RegistryOperation::Pull)?;
        let index = self.referrers_index(subject)?;
        let mut out = Vec::new();
        for m in index
            .get("manifests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let digest = m
                .get("digest")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            check_digest(&digest).map_err(|reason| OciError::Malformed {
                reference: format!("referrers of {subject}"),
                reason,
            })?;
            let annotation = |k: &str| {
                m.get("annotations")
                    .and_then(|a| a.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            out.push(Referrer {
                digest,
                artifact_type: m
                    .get("artifactType")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                kind: annotation(media::KIND),
                name: annotation(media::TITLE),
            });
        }
        Ok(out)
    }

    /// Attach each item to `subject` (a pinned reference: a tag would let
    /// the metadata drift to another image) as an artifact manifest whose
    /// `subject` is it. On a registry without the referrers API, the
    /// fallback tag `sha256-HEX` is updated to list them.
    pub fn push_referrers(
        &self,
        subject: &ImageRef,
        items: &[Item],
    ) -> Result<PushReport, OciError> {
        subject.require_digest()?;
        self.authenticate(subject, oci_client::RegistryOperation::Push)?;
        let resolved = self.resolve(subject)?;
        let subject_desc = json!({
            "mediaType": resolved.media_type,
            "digest": resolved.digest,
            "size": resolved.size,
        });
        let config = self.push_blob(subject, EMPTY_BLOB)?;
        let mut pushed = Vec::new();
        let mut entries = Vec::new();
        for item in items {
            check_name(&item.name).map_err(|reason| OciError::Config {
                path: PathBuf::from(&item.name),
                reason,
            })?;
            let layer = self.push_blob(subject, &item.bytes)?;
            let annotations = json!({media::KIND: item.kind.as_str(), media::TITLE: item.name});
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": media::OCI_MANIFEST,
                "artifactType": media::ARTIFACT_TYPE,
                "config": {"mediaType": media::EMPTY, "digest": config, "size": EMPTY_BLOB.len()},
                "layers": [{
                    "mediaType": item.kind.media_type(),
                    "digest": layer,
                    "size": item.bytes.len(),
                    "annotations": {media::TITLE: item.name},
                }],
                "subject": subject_desc,
                "annotations": annotations,
            });
            let bytes = to_json(&manifest);
            let digest = sha256_digest(&bytes);
            let size = bytes.len();
            self.push_manifest_bytes(
                &subject.at_digest(&digest).inner,
                bytes,
                media::OCI_MANIFEST,
            )?;
            entries.push(json!({
                "mediaType": media::OCI_MANIFEST,
                "digest": digest,
                "size": size,
                "artifactType": media::ARTIFACT_TYPE,
                "annotations": annotations,
            }));
            pushed.push(Pushed {
                kind: item.kind,
                name: item.name.clone(),
                digest,
            });
        }
        // A registry with the referrers API lists what was just pushed;
        // without it, the list read here is the fallback tag's, which
        // lacks them until it is rewritten.
        let index = self.referrers_index(subject)?;
        let mut listed: Vec<Value> = index
            .get("manifests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let missing: Vec<Value> = entries
            .into_iter()
            .filter(|e| !listed.iter().any(|l| l.get("digest") == e.get("digest")))
            .collect();
        let mut fallback_tag = None;
        if !missing.is_empty() {
            listed.extend(missing);
            let index = json!({
                "schemaVersion": 2,
                "mediaType": media::OCI_INDEX,
                "manifests": listed,
            });
            let tag = resolved.digest.replace(':', "-");
            self.push_manifest_bytes(&subject.at_tag(&tag), to_json(&index), media::OCI_INDEX)?;
            fallback_tag = Some(tag);
        }
        Ok(PushReport {
            subject: subject.at_digest(&resolved.digest),
            pushed,
            fallback_tag,
        })
    }

    /// Fetch a blob and check its digest; more than the limit is refused.
    fn blob(
        &self,
        r: &ImageRef,
        digest: &str,
        size: u64,
        media_type: &str,
    ) -> Result<Vec<u8>, OciError> {
        if size > self.max_blob_size {
            return Err(OciError::TooLarge {
                what: format!("blob {digest} of {r}"),
                size,
                limit: self.max_blob_size,
            });
        }
        let desc = OciDescriptor {
            media_type: media_type.to_string(),
            digest: digest.to_string(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            ..Default::default()
        };
        let what = format!("blob {digest} of {}", r.name());
        let mut out: Vec<u8> = Vec::new();
        self.runtime
            .block_on(self.client.pull_blob(&r.inner, &desc, &mut out))
            .map_err(self.err(&what))?;
        let actual = sha256_digest(&out);
        if actual != digest {
            return Err(OciError::DigestMismatch {
                reference: what,
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(out)
    }

    /// Download every layout, link and attestation attached to `subject`
    /// into `out` (created if missing), each checked against its digest
    /// before it is written. A tag is resolved to its digest first.
    pub fn pull(&self, subject: &ImageRef, out: &Path) -> Result<PullReport, OciError> {
        self.authenticate(subject, oci_client::RegistryOperation::Pull)?;
        let resolved = self.resolve(subject)?;
        let pinned = subject.at_digest(&resolved.digest);
        let referrers = self.referrers(&pinned)?;
        let mut files: BTreeMap<String, (Kind, Vec<u8>, String)> = BTreeMap::new();
        for r in referrers
            .iter()
            .filter(|r| r.artifact_type == media::ARTIFACT_TYPE)
        {
            let at = pinned.at_digest(&r.digest);
            let (bytes, _) = self.manifest(&at)?;
            let manifest: Value =
                serde_json::from_slice(&bytes).map_err(|e| OciError::Malformed {
                    reference: at.to_string(),
                    reason: format!("the manifest is not JSON: {e}"),
                })?;
            // The manifest itself must name this subject: an index entry
            // cannot graft another image's metadata onto this one.
            if manifest.pointer("/subject/digest").and_then(Value::as_str)
                != Some(resolved.digest.as_str())
            {
                return Err(OciError::Malformed {
                    reference: at.to_string(),
                    reason: format!(
                        "listed as a referrer of {} but its subject is another",
                        resolved.digest
                    ),
                });
            }
            let layers = manifest
                .get("layers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let [layer] = layers.as_slice() else {
                return Err(OciError::Malformed {
                    reference: at.to_string(),
                    reason: format!(
                        "an intact artifact has one layer, this one has {}",
                        layers.len()
                    ),
                });
            };
            let media_type = layer
                .get("mediaType")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(kind) = Kind::from_media_type(media_type) else {
                // Another tool's in-toto artifact: not ours to interpret.
                continue;
            };
            let digest = layer
                .get("digest")
                .and_then(Value::as_str)
                .unwrap_or_default();
            check_digest(digest).map_err(|reason| OciError::Malformed {
                reference: at.to_string(),
                reason,
            })?;
            let size = layer.get("size").and_then(Value::as_u64).unwrap_or(0);
            let name = layer
                .pointer("/annotations/org.opencontainers.image.title")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            check_name(&name).map_err(|reason| OciError::Malformed {
                reference: at.to_string(),
                reason: format!("layer title {reason}"),
            })?;
            let data = self.blob(&pinned, digest, size, media_type)?;
            if let Some((_, existing, first)) = files.get(&name) {
                if *existing != data {
                    return Err(OciError::DuplicateName {
                        name,
                        first: first.clone(),
                        second: r.digest.clone(),
                    });
                }
                continue;
            }
            files.insert(name, (kind, data, r.digest.clone()));
        }
        if files.is_empty() {
            return Err(OciError::NoReferrers {
                reference: pinned.to_string(),
            });
        }
        fs_err::create_dir_all(out).map_err(|e| OciError::Io {
            path: out.to_path_buf(),
            source: e,
        })?;
        let mut written = Vec::new();
        for (name, (kind, data, _)) in files {
            let path = out.join(&name);
            write_new(&path, &data).map_err(|e| OciError::Io {
                path: path.clone(),
                source: e,
            })?;
            written.push((kind, path));
        }
        Ok(PullReport {
            subject: pinned,
            subject_kind: resolved.kind,
            files: written,
        })
    }
}

/// Write a pulled file that must not replace anything: the registry names
/// it, and `-o .` in a checkout would otherwise let a referrer titled
/// `Makefile` overwrite it (or write through a symlink). A regular file
/// with the same bytes already there is fine (pulling again).
fn write_new(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    match fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(mut f) => f.write_all(data),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let same = fs_err::symlink_metadata(path).is_ok_and(|m| m.is_file())
                && fs_err::read(path).is_ok_and(|old| old == data);
            if same {
                Ok(())
            } else {
                Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "already exists with other content (pull into an empty directory)",
                ))
            }
        }
        Err(e) => Err(e),
    }
}

/// The manifest `push_file` writes for a file: one layer, its title, the
/// empty config. No timestamp, so the same file gives the same digest.
fn file_manifest(layer: &str, size: u64, name: &str) -> Vec<u8> {
    to_json(&json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "artifactType": media::FILE_ARTIFACT_TYPE,
        "config": {
            "mediaType": media::EMPTY,
            "digest": sha256_digest(EMPTY_BLOB),
            "size": EMPTY_BLOB.len(),
        },
        "layers": [{
            "mediaType": media::FILE,
            "digest": layer,
            "size": size,
            "annotations": {media::TITLE: name},
        }],
    }))
}

/// A subject whose manifest says it is a pushed file: it counts as one
/// (verified by its content's digest, not the manifest's) only when the
/// manifest is byte for byte what `push_file` writes for that content. An
/// image index or manifest that merely claims the artifact type and lists
/// some chain product as a layer would otherwise pass for that product
/// while what is deployed is the image.
fn file_subject(value: &Value, bytes: &[u8]) -> Result<SubjectKind, String> {
    let layer = value
        .get("layers")
        .and_then(Value::as_array)
        .and_then(|l| match l.as_slice() {
            [one] => Some(one),
            _ => None,
        })
        .ok_or("a file artifact must have exactly one layer")?;
    let digest = layer
        .get("digest")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    check_digest(&digest)?;
    let name = layer
        .pointer("/annotations/org.opencontainers.image.title")
        .and_then(Value::as_str)
        .ok_or("a file artifact's layer must have a title")?
        .to_string();
    check_name(&name)?;
    let size = layer.get("size").and_then(Value::as_u64).unwrap_or(0);
    if file_manifest(&digest, size, &name) != bytes {
        return Err(
            "the manifest claims to be a pushed file but is not one as `intact oci push \
             --artifact` writes it (an image cannot pass for a file)"
                .into(),
        );
    }
    Ok(SubjectKind::File { name, digest })
}

fn to_json(v: &Value) -> Vec<u8> {
    // serde_json's map is ordered (BTreeMap), so the bytes, and with them
    // the digest, are the same for the same content.
    serde_json::to_vec(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulled_files_never_replace_others() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("build.12345678.link");
        write_new(&p, b"a").unwrap();
        write_new(&p, b"a").unwrap();
        assert!(write_new(&p, b"b").is_err());
        assert_eq!(fs_err::read(&p).unwrap(), b"a");
        let target = dir.path().join("Makefile");
        fs_err::write(&target, b"all:").unwrap();
        let link = dir.path().join("root.layout");
        fs_err::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_new(&link, b"all:").is_err());
        assert_eq!(fs_err::read(&target).unwrap(), b"all:");
    }

    /// Only the manifest `push_file` writes is a file subject: an index
    /// or manifest that claims the type and lists a product as its layer
    /// is refused, as is one with a bad title or anything else changed.
    #[test]
    fn only_a_pushed_files_manifest_is_a_file_subject() {
        let product = format!("sha256:{}", "ab".repeat(32));
        let real = file_manifest(&product, 10, "app.tar.gz");
        let value: Value = serde_json::from_slice(&real).unwrap();
        match file_subject(&value, &real).unwrap() {
            SubjectKind::File { name, digest } => {
                assert_eq!(name, "app.tar.gz");
                assert_eq!(digest, product);
            }
            other => panic!("{other:?}"),
        }
        let mut index = value.clone();
        index["mediaType"] = json!(media::OCI_INDEX);
        index["manifests"] = json!([{"mediaType": media::OCI_MANIFEST,
            "digest": format!("sha256:{}", "cd".repeat(32)), "size": 500}]);
        let bytes = to_json(&index);
        assert!(file_subject(&index, &bytes).is_err());
        for (pointer, v) in [
            (
                "/layers/0/annotations/org.opencontainers.image.title",
                json!("../x"),
            ),
            ("/config/size", json!(3)),
            ("/schemaVersion", json!(3)),
        ] {
            let mut edited = value.clone();
            *edited.pointer_mut(pointer).unwrap() = v;
            let bytes = to_json(&edited);
            assert!(file_subject(&edited, &bytes).is_err(), "{pointer}");
        }
        // The same content written with other whitespace is not it either.
        let spaced = serde_json::to_vec_pretty(&value).unwrap();
        assert!(file_subject(&value, &spaced).is_err());
    }

    #[test]
    fn local_registries() {
        assert!(is_local("127.0.0.1:5000"));
        assert!(is_local("localhost:5000"));
        assert!(is_local("[::1]:5000"));
        assert!(!is_local("registry.example.com"));
        assert!(!is_local("10.0.0.1:5000"));
    }

    #[test]
    fn names_that_would_escape_are_refused() {
        for bad in ["", "../x", "a/b", ".hidden", "a\\b", "a\nb"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name("build.0123abcd.link").is_ok());
    }

    #[test]
    fn references_and_digests() {
        let r = ImageRef::parse(
            "127.0.0.1:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        )
        .unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "app");
        assert!(r.require_digest().is_ok());
        let t = ImageRef::parse("127.0.0.1:5000/app:v1").unwrap();
        assert!(matches!(
            t.require_digest(),
            Err(OciError::TagRefused { .. })
        ));
        assert!(ImageRef::parse("127.0.0.1:5000/app@sha256:00").is_err());
    }

    #[test]
    fn docker_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        // "user:pa:ss" in base64
        fs_err::write(
            &path,
            r#"{"auths":{"https://reg.example:5000":{"auth":"dXNlcjpwYTpzcw=="}}}"#,
        )
        .unwrap();
        let c = docker_config_credentials(&path, "reg.example:5000")
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("user", "pa:ss")
        );
        assert!(docker_config_credentials(&path, "other").unwrap().is_none());
        assert!(format!("{c:?}").contains("redacted"));
        fs_err::write(&path, "not json").unwrap();
        assert!(docker_config_credentials(&path, "reg.example:5000").is_err());
    }
}
