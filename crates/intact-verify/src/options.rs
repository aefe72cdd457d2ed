//! How a verification run is configured.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use intact_git::GpgVerifier;
use time::OffsetDateTime;

/// Options for [`crate::verify`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Values for `{NAME}` parameters in the layout (applied after the
    /// layout signatures are checked, as the reference does).
    pub params: BTreeMap<String, String>,
    /// Directory inspections run in and record (`.`); the reference uses
    /// the current directory.
    pub workdir: PathBuf,
    /// Kill an inspection after this long (`None`: no limit).
    pub inspection_timeout: Option<Duration>,
    /// Write each inspection's link to `<workdir>/<name>.link`, as the
    /// reference's CLI does.
    pub persist_inspection_links: bool,
    /// The instant expiry is judged at.
    pub now: OffsetDateTime,
    /// Relax intact's extra checks to what the reference accepts
    /// (link names, duplicate keys and signatures, missing step keys);
    /// see docs/verification.md.
    pub compat: bool,
    /// Deepest sublayout nesting accepted.
    pub max_sublayout_depth: usize,
    /// The repository a layout's git provenance policy is checked
    /// against (`--git-repo`).
    pub git_repo: Option<PathBuf>,
    /// Verify GPG-signed commits with this `gpg` keyring; without it they
    /// fail as unverified.
    pub gpg: Option<GpgVerifier>,
    /// The largest link file read, in bytes; a bigger one (or anything but
    /// a regular file) makes verification an error naming the file.
    pub max_metadata_size: u64,
    /// Artifacts the consumer holds: each must be a product of the chain
    /// (`--artifact`, `--subject`).
    pub subjects: Vec<crate::Subject>,
    /// The step whose products the subjects must be (`--from`); by
    /// default any final step (one no other step matches from).
    pub from_step: Option<intact_model::StepName>,
    /// Names people know keys by (the file each `--layout-key` was read
    /// from), shown with the short keyid in messages.
    pub key_names: BTreeMap<intact_model::KeyId, String>,
    /// Hash every link file used, for the report's audit record
    /// (`links[].sha256`); off by default, as it reads nothing twice but
    /// hashes every byte.
    pub audit: bool,
    /// Add to each step's and inspection's passed rules stage every rule
    /// with the artifacts it consumed ([`crate::RuleDetail`]), as
    /// `intact verify -v` shows them.
    pub rule_detail: bool,
    /// Certificate revocation lists (`--crl`): a link signed with a
    /// certificate one of them revokes does not count (docs/pki.md).
    pub crls: Vec<intact_crypto::x509::Crl>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            params: BTreeMap::new(),
            workdir: PathBuf::from("."),
            inspection_timeout: Some(Duration::from_secs(600)),
            persist_inspection_links: true,
            now: OffsetDateTime::now_utc(),
            compat: false,
            max_sublayout_depth: 8,
            git_repo: None,
            gpg: None,
            max_metadata_size: intact_model::io::DEFAULT_MAX_METADATA_SIZE,
            subjects: Vec::new(),
            from_step: None,
            key_names: BTreeMap::new(),
            audit: false,
            rule_detail: false,
            crls: Vec::new(),
        }
    }
}

impl VerifyOptions {
    /// Defaults: no parameters, inspections in `.` with a 10-minute limit,
    /// persisted inspection links, strict checks, expiry judged now.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set parameter values.
    pub fn params(mut self, params: BTreeMap<String, String>) -> Self {
        self.params = params;
        self
    }

    /// Set the inspection directory.
    pub fn workdir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.workdir = dir.into();
        self
    }

    /// Set the inspection timeout.
    pub fn inspection_timeout(mut self, t: Option<Duration>) -> Self {
        self.inspection_timeout = t;
        self
    }

    /// Whether inspection links are written to the work directory.
    pub fn persist_inspection_links(mut self, yes: bool) -> Self {
        self.persist_inspection_links = yes;
        self
    }

    /// Judge expiry at `now`.
    pub fn now(mut self, now: OffsetDateTime) -> Self {
        self.now = now;
        self
    }

    /// Check git provenance against this repository.
    pub fn git_repo(mut self, dir: impl Into<PathBuf>) -> Self {
        self.git_repo = Some(dir.into());
        self
    }

    /// Verify GPG commit signatures with this verifier.
    pub fn gpg(mut self, gpg: GpgVerifier) -> Self {
        self.gpg = Some(gpg);
        self
    }

    /// Refuse link files larger than `bytes`.
    pub fn max_metadata_size(mut self, bytes: u64) -> Self {
        self.max_metadata_size = bytes;
        self
    }

    /// Require these artifacts to be products of the chain.
    pub fn subjects(mut self, subjects: Vec<crate::Subject>) -> Self {
        self.subjects = subjects;
        self
    }

    /// Look for the subjects among this step's products only.
    pub fn from_step(mut self, step: Option<intact_model::StepName>) -> Self {
        self.from_step = step;
        self
    }

    /// Name keys in messages (e.g. by the file they were read from).
    pub fn key_names(mut self, names: BTreeMap<intact_model::KeyId, String>) -> Self {
        self.key_names = names;
        self
    }

    /// Report each rule that held with the artifacts it consumed.
    pub fn rule_detail(mut self, yes: bool) -> Self {
        self.rule_detail = yes;
        self
    }

    /// Hash every link file used, for the audit record.
    pub fn audit(mut self, yes: bool) -> Self {
        self.audit = yes;
        self
    }

    /// Accept what the reference accepts where intact is stricter.
    pub fn compat(mut self, yes: bool) -> Self {
        self.compat = yes;
        self
    }
}
