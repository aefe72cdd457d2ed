//! Where a log is read from: its directory, or any static HTTP server
//! that serves that directory.

use std::path::{Path, PathBuf};

use crate::LogError;

/// The most bytes one log file can have: an entry bundle of 256 entries
/// of 65,535 bytes each, with their length prefixes.
pub const MAX_FILE: u64 = 256 * (2 + 65_535);

/// Read access to a published log: `read("checkpoint")`,
/// `read("tile/0/000")`, ...
pub trait Source {
    /// The file `rel` (a `/`-separated path under the log's root), or
    /// `None` when it does not exist.
    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, LogError>;

    /// How to name `rel` in messages (the file path or URL).
    fn name(&self, rel: &str) -> String;
}

/// A log in a local directory.
#[derive(Debug, Clone)]
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    /// The log at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirSource { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The local path of `rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

impl Source for DirSource {
    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, LogError> {
        match intact_model::io::read_limited(&self.path(rel), MAX_FILE) {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn name(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }
}

/// A log served over HTTP(S) by any static file server: the same files
/// under a base URL. Reads only; a 404 is a missing file.
pub struct HttpSource {
    base: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for HttpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSource")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The system's root certificates (unreadable ones skipped: a TLS
/// connection then fails with an error naming the URL).
fn system_roots() -> ureq::tls::RootCerts {
    let found = rustls_native_certs::load_native_certs();
    let certs: Vec<ureq::tls::Certificate<'static>> = found
        .certs
        .iter()
        .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    ureq::tls::RootCerts::Specific(std::sync::Arc::new(certs))
}

impl HttpSource {
    /// The log at `base` (`http://` or `https://`; certificates checked
    /// against the system's root certificates). Each request has a
    /// 60-second limit.
    pub fn new(base: &str) -> Result<Self, LogError> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(LogError::Http {
                url: base.to_string(),
                reason: "not an http:// or https:// URL".into(),
            });
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .http_status_as_error(false)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(system_roots())
                    .build(),
            )
            .build()
            .new_agent();
        Ok(HttpSource {
            base: base.trim_end_matches('/').to_string(),
            agent,
        })
    }

    fn url(&self, rel: &str) -> String {
        format!("{}/{rel}", self.base)
    }
}

impl Source for HttpSource {
    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, LogError> {
        let url = self.url(rel);
        let err = |reason: String| LogError::Http {
            url: url.clone(),
            reason,
        };
        let mut resp = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| err(e.to_string()))?;
        match resp.status().as_u16() {
            200 => resp
                .body_mut()
                .with_config()
                .limit(MAX_FILE)
                .read_to_vec()
                .map(Some)
                .map_err(|e| err(e.to_string())),
            404 | 410 => Ok(None),
            s => Err(err(format!("HTTP status {s}"))),
        }
    }

    fn name(&self, rel: &str) -> String {
        self.url(rel)
    }
}
