//! Layouts, links and attestations stored in an OCI registry as
//! *referrers* of the artifact they describe (issue 21).
//!
//! A release's chain travels with the image: each layout, link and
//! attestation is an OCI 1.1 artifact manifest whose `subject` is the
//! image (or any manifest), found again through the referrers API or,
//! on registries without it, through the fallback tag `sha256-HEX` of the
//! OCI distribution spec, which [`Registry::push_referrers`] keeps up to
//! date. The media types are in [`media`] and docs/oci.md.
//!
//! The client is the ORAS project's `oci-client` (async); every call here
//! runs it to completion on a current-thread runtime owned by the
//! [`Registry`], so callers stay synchronous like the rest of intact.
//!
//! ```no_run
//! use intact_oci::{ImageRef, Item, Kind, Registry, RegistryOptions};
//!
//! let subject = ImageRef::parse("127.0.0.1:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")?;
//! let registry = Registry::connect(&subject, &RegistryOptions { insecure: true, ..Default::default() })?;
//! let layout = Item::from_file(Kind::Layout, "root.layout".as_ref(), 1 << 20)?;
//! let pushed = registry.push_referrers(&subject, &[layout])?;
//! println!("{} referrers of {}", pushed.pushed.len(), pushed.subject);
//! # Ok::<(), intact_oci::OciError>(())
//! ```

mod error;
mod registry;

pub use error::OciError;
pub use registry::{
    docker_config_credentials, links_in_dir, Credentials, ImageRef, Item, Kind, PullReport,
    PushReport, Pushed, Referrer, Registry, RegistryOptions, Resolved, SubjectKind,
};

/// The media types and annotations intact writes (docs/oci.md).
pub mod media {
    /// `artifactType` of every layout, link and attestation manifest, so
    /// that a referrers query filtered on in-toto metadata finds them all.
    pub const ARTIFACT_TYPE: &str = "application/vnd.in-toto+json";
    /// The layer of a layout artifact: the signed layout, byte for byte.
    pub const LAYOUT: &str = "application/vnd.intact.layout.v1+json";
    /// The layer of a link artifact: the signed link, byte for byte.
    pub const LINK: &str = "application/vnd.intact.link.v1+json";
    /// The layer of an attestation artifact: a DSSE envelope.
    pub const ATTESTATION: &str = "application/vnd.dsse.envelope.v1+json";
    /// The layer of a transparency-log inclusion proof (`FILE.proof`,
    /// docs/transparency-log.md), pushed beside the file it proves so that
    /// `verify --image --require-logged` finds it.
    pub const PROOF: &str = "application/vnd.intact.log-proof.v1+json";
    /// `artifactType` of a plain file pushed with `intact oci push --artifact`.
    pub const FILE_ARTIFACT_TYPE: &str = "application/vnd.intact.file.v1";
    /// The layer of a plain file.
    pub const FILE: &str = "application/octet-stream";
    /// The OCI 1.1 empty config of artifact manifests (`{}`).
    pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";
    /// An OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// An OCI image index (also the referrers list).
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// Docker's schema-2 manifest, which registries still serve.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker's manifest list.
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// The file name of a layer (the OCI standard annotation).
    pub const TITLE: &str = "org.opencontainers.image.title";
    /// What an intact artifact holds: `layout`, `link` or `attestation`.
    pub const KIND: &str = "dev.intact.kind";
}

/// Credentials from `INTACT_REGISTRY_USER` / `INTACT_REGISTRY_PASSWORD`.
pub const USER_ENV: &str = "INTACT_REGISTRY_USER";
/// See [`USER_ENV`].
pub const PASSWORD_ENV: &str = "INTACT_REGISTRY_PASSWORD";
/// The one registry (`HOST[:PORT]`) [`USER_ENV`] and [`PASSWORD_ENV`] are
/// sent to: a reference names its registry, and whoever writes the
/// reference (a pod spec at an admission gate) must not receive them.
pub const HOST_ENV: &str = "INTACT_REGISTRY_HOST";

/// The credentials of [`USER_ENV`] / [`PASSWORD_ENV`] for `registry`,
/// looked up by `var`: only when [`HOST_ENV`] names that registry (`None`
/// for another one, which then gets docker's config.json or nothing).
/// Set without [`HOST_ENV`], or one without the other, is an error.
pub fn env_credentials(
    registry: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, String> {
    match (var(USER_ENV), var(PASSWORD_ENV)) {
        (None, None) => Ok(None),
        (Some(username), Some(password)) => match var(HOST_ENV) {
            Some(host) if host == registry => Ok(Some(Credentials { username, password })),
            Some(_) => Ok(None),
            None => Err(format!(
                "{USER_ENV} and {PASSWORD_ENV} are sent only to the registry named in \
                 {HOST_ENV}; set it (e.g. {HOST_ENV}={registry})"
            )),
        },
        _ => Err(format!(
            "set both {USER_ENV} and {PASSWORD_ENV}, or neither"
        )),
    }
}

#[cfg(test)]
mod env_tests {
    use super::*;

    #[test]
    fn env_credentials_go_only_to_the_named_registry() {
        let env = |host: Option<&'static str>| {
            move |k: &str| match k {
                USER_ENV => Some("ci".to_string()),
                PASSWORD_ENV => Some("pw".to_string()),
                HOST_ENV => host.map(str::to_string),
                _ => None,
            }
        };
        let got = env_credentials("reg.example:5000", env(Some("reg.example:5000"))).unwrap();
        assert_eq!(got.map(|c| c.username), Some("ci".to_string()));
        assert!(
            env_credentials("evil.example", env(Some("reg.example:5000")))
                .unwrap()
                .is_none()
        );
        assert!(env_credentials("reg.example:5000", env(None)).is_err());
        assert!(env_credentials("x", |k: &str| (k == USER_ENV).then(String::new)).is_err());
        assert!(env_credentials("x", |_: &str| None).unwrap().is_none());
    }
}
