//! `--key-status` and `--warn-expiry`: after the chain verified, judge
//! every signature it rests on (the layout owners', each link's) by the
//! key-status document, and warn of a layout or key that expires soon.
//!
//! When a signature was made is known only from the transparency log: a
//! file whose `FILE.proof` holds under the log key was signed no later
//! than its entry's time. Without such a proof the time is unknown, so a
//! revoked key fails always and a retired key fails once `now` is past
//! its `not_after` (see [`intact_keystatus::KeyStatus::judge`]).

use std::path::Path;

use intact_keystatus::{Instant, Judgement, KeyStatus, Problem};
use intact_log::LogKey;
use intact_model::KeyId;

use crate::report::{Failure, FailureKind, Stage, StageResult, Status, Warning, WarningKind};
use crate::Report;

/// The latest instant `file` can have been signed, from its inclusion
/// proof under `key` (none without a key, proof, or a readable time).
fn logged_time(file: &Path, key: Option<&LogKey>) -> Option<Instant> {
    let key = key?;
    let bytes =
        intact_model::io::read_limited(file, intact_model::io::DEFAULT_MAX_METADATA_SIZE).ok()?;
    let proven = intact_log::check_logged(file, &bytes, key).ok()?;
    Instant::parse_lenient(&proven.entry.time).ok()
}

/// Judge the layout's signers and every link's signer of `report` by
/// `status`. `layout_file` and `link_dir` locate the files whose
/// `FILE.proof` may date a signature (under `log_key`). A report that
/// already failed is left as it is; a refused signature fails it with
/// [`FailureKind::KeyRevoked`], [`FailureKind::KeyNotYetValid`] or
/// [`FailureKind::KeyRetired`], naming the key and the file; a signature
/// accepted only thanks to its proof adds a warning.
pub fn apply_key_status(
    report: &mut Report,
    status: &KeyStatus,
    layout_file: &Path,
    link_dir: &Path,
    log_key: Option<&LogKey>,
    now: time::OffsetDateTime,
) {
    if !report.verified {
        return;
    }
    let now = Instant::new(now);
    let mut signed: Vec<(String, String, std::path::PathBuf, String)> = Vec::new();
    if let Some(l) = &report.layout {
        let name = layout_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| layout_file.display().to_string());
        for k in &l.signers {
            signed.push((
                k.clone(),
                "the layout".to_string(),
                layout_file.to_path_buf(),
                name.clone(),
            ));
        }
    }
    for link in &report.links {
        signed.push((
            link.signer.clone(),
            format!("step {}", link.step),
            link_dir.join(&link.file),
            link.file.clone(),
        ));
    }
    let mut warnings = Vec::new();
    for (keyid, what, path, name) in &signed {
        let Ok(id) = KeyId::new(keyid.clone()) else {
            continue;
        };
        if !status.keys.contains_key(&id) {
            continue;
        }
        let at = logged_time(path, log_key);
        match status.judge(&id, at, now) {
            Judgement::Good => {}
            Judgement::Warn(problem, message) => warnings.push(Warning {
                stage: Stage::KeyStatus,
                scope: Some(name.clone()),
                message: format!("{what} ({name}): {message}"),
                code: Some(match problem {
                    Problem::Revoked => WarningKind::SignedBeforeRevocation,
                    _ => WarningKind::SignedBeforeRetirement,
                }),
            }),
            Judgement::Refuse(problem, message) => {
                let (kind, hint) = match problem {
                    Problem::Revoked => (
                        FailureKind::KeyRevoked,
                        "revoke, rotate and re-record as docs/incident-response.md says; a signature made before the revocation is accepted only with its inclusion proof (--log-key)",
                    ),
                    Problem::NotYetValid => (
                        FailureKind::KeyNotYetValid,
                        "the key signed before its window opened (not_before); re-record with the key once it is active",
                    ),
                    Problem::Retired => (
                        FailureKind::KeyRetired,
                        "re-record with the key that replaced it (docs/key-management.md), or keep the link's inclusion proof (FILE.proof) and pass --log-key to show it was signed inside the window",
                    ),
                };
                let message = format!("{what} ({name}): {message}");
                report.stages.push(StageResult {
                    stage: Stage::KeyStatus,
                    status: Status::Failed,
                    scope: Some(name.clone()),
                    message: message.clone(),
                    rules: Vec::new(),
                });
                report.failure = Some(Failure::new(kind, Some(name.clone()), message, hint));
                report.verified = false;
                return;
            }
        }
    }
    let count = signed.len();
    report.stages.push(StageResult {
        stage: Stage::KeyStatus,
        status: if warnings.is_empty() {
            Status::Passed
        } else {
            Status::Warning
        },
        scope: None,
        message: format!(
            "{count} signature(s) checked against the key-status document (version {})",
            status.version
        ),
        rules: Vec::new(),
    });
    report.warnings.extend(warnings);
}

/// Warn when the layout expires, or a key the chain rests on retires,
/// within `within` of `now` (the exit code is unchanged). Keys are judged
/// only with a key-status document.
pub fn warn_expiry(
    report: &mut Report,
    status: Option<&KeyStatus>,
    within: time::Duration,
    now: time::OffsetDateTime,
) {
    let Some(layout) = &report.layout else {
        return;
    };
    if let Some(expires) = layout
        .expires
        .as_deref()
        .and_then(|e| Instant::parse_lenient(e).ok())
    {
        let left = expires.time() - now;
        if left > time::Duration::ZERO && left <= within {
            let days = (left.whole_seconds() + 86_399) / 86_400;
            report.warnings.push(Warning {
                stage: Stage::LayoutExpiry,
                scope: None,
                message: format!(
                    "the layout expires at {expires} (in {days} day{}); have the owner sign a new one",
                    if days == 1 { "" } else { "s" }
                ),
                code: Some(WarningKind::LayoutExpiresSoon),
            });
        }
    }
    let Some(status) = status else {
        return;
    };
    let now_i = Instant::new(now);
    let mut keys: Vec<String> = layout.signers.clone();
    keys.extend(report.links.iter().map(|l| l.signer.clone()));
    keys.sort();
    keys.dedup();
    for k in keys {
        let Ok(id) = KeyId::new(k.clone()) else {
            continue;
        };
        if let Some(at) = status.retires_within(&id, now_i, within) {
            let label = report.key_label(&k);
            report.warnings.push(Warning {
                stage: Stage::KeyStatus,
                scope: None,
                message: format!("key {label} retires at {at} (not_after); rotate it before then (docs/key-management.md)"),
                code: Some(WarningKind::KeyRetiresSoon),
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Tests may use std::fs.
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use intact_crypto::{sign_metadata, write_key_pair, SigningKey};
    use intact_keystatus::{Instant, KeyStatus};
    use intact_log::{log_file, EntryContext, LogKey, LogWriter};
    use intact_model::{Container, Expires, Layout, Link, Metadata, Step, StepName};
    use time::OffsetDateTime;

    use super::*;
    use crate::{verify, DirLinkSource, VerifyOptions};

    fn t(s: &str) -> OffsetDateTime {
        Instant::parse_canonical(s).unwrap().time()
    }

    const NOW: &str = "2026-07-01T00:00:00Z";

    /// A one-step chain in a directory: the owner signs root.layout,
    /// alice signs the build link.
    struct Setup {
        _tmp: tempfile::TempDir,
        dir: PathBuf,
        owner: SigningKey,
        alice: SigningKey,
        layout_file: PathBuf,
        link_file: PathBuf,
        expires: &'static str,
    }

    impl Setup {
        fn new(expires: &'static str) -> Self {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().to_path_buf();
            let owner = SigningKey::generate_ed25519();
            let alice = SigningKey::generate_ed25519();
            let mut layout = Layout::new(Expires::parse(expires).unwrap());
            layout.keys.insert(
                alice.keyid().unwrap(),
                alice.public_key().to_key_dict().unwrap(),
            );
            let mut step = Step::new(StepName::new("build").unwrap());
            step.pubkeys = vec![alice.keyid().unwrap()];
            layout.steps = vec![step];
            let mut md = Metadata::new(layout.into(), Container::Metablock).unwrap();
            sign_metadata(&mut md, &owner).unwrap();
            let layout_file = dir.join("root.layout");
            std::fs::write(&layout_file, md.to_bytes().unwrap()).unwrap();
            let link = Link::new(StepName::new("build").unwrap());
            let mut lmd = Metadata::new(link.clone().into(), Container::Metablock).unwrap();
            let kid = sign_metadata(&mut lmd, &alice).unwrap();
            let link_file = dir.join(link.name.link_file_name(&kid));
            std::fs::write(&link_file, lmd.to_bytes().unwrap()).unwrap();
            Setup {
                _tmp: tmp,
                dir,
                owner,
                alice,
                layout_file,
                link_file,
                expires,
            }
        }

        fn report(&self) -> Report {
            let md = Metadata::load(&self.layout_file).unwrap();
            let keys =
                BTreeMap::from([(self.owner.keyid().unwrap(), self.owner.public_key().clone())]);
            let opts = VerifyOptions::new()
                .now(t(NOW))
                .persist_inspection_links(false);
            let r = verify(&md, &keys, &DirLinkSource::open(&self.dir).unwrap(), &opts).unwrap();
            assert!(r.verified, "{r}");
            r
        }

        /// Log the build link at `at`; the log key.
        fn log_link(&self, at: &str) -> LogKey {
            let key = SigningKey::generate_ed25519();
            let (pem, public) = (self.dir.join("log.pem"), self.dir.join("log.pub"));
            write_key_pair(&key, &pem, &public, None).unwrap();
            let log = self.dir.join("log");
            LogWriter::init(&log, &pem, "example.com/log").unwrap();
            let ctx = EntryContext {
                time: at.to_string(),
                ci: BTreeMap::new(),
            };
            log_file(&log, &self.link_file, &ctx).unwrap();
            LogKey::load(&public).unwrap()
        }

        fn judge(&self, status: &KeyStatus, log: Option<&LogKey>, now: &str) -> Report {
            let mut r = self.report();
            apply_key_status(&mut r, status, &self.layout_file, &self.dir, log, t(now));
            r
        }
    }

    /// A chain whose build step is a sublayout signed by alice, with one
    /// inner step, compile, signed by bob (in the sublayout's directory).
    struct Nested {
        s: Setup,
        bob: SigningKey,
        sub_file: PathBuf,
        inner_file: PathBuf,
    }

    impl Nested {
        fn new() -> Self {
            let s = Setup::new("2099-01-01T00:00:00Z");
            std::fs::remove_file(&s.link_file).unwrap();
            let bob = SigningKey::generate_ed25519();
            let mut sub = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
            sub.keys.insert(
                bob.keyid().unwrap(),
                bob.public_key().to_key_dict().unwrap(),
            );
            let mut compile = Step::new(StepName::new("compile").unwrap());
            compile.pubkeys = vec![bob.keyid().unwrap()];
            sub.steps = vec![compile];
            let mut md = Metadata::new(sub.into(), Container::Metablock).unwrap();
            let alice_id = sign_metadata(&mut md, &s.alice).unwrap();
            let sub_name = StepName::new("build").unwrap().link_file_name(&alice_id);
            let sub_file = s.dir.join(&sub_name);
            std::fs::write(&sub_file, md.to_bytes().unwrap()).unwrap();
            let sub_dir = s.dir.join(sub_name.trim_end_matches(".link"));
            std::fs::create_dir(&sub_dir).unwrap();
            let link = Link::new(StepName::new("compile").unwrap());
            let mut lmd = Metadata::new(link.clone().into(), Container::Metablock).unwrap();
            let bob_id = sign_metadata(&mut lmd, &bob).unwrap();
            let inner_file = sub_dir.join(link.name.link_file_name(&bob_id));
            std::fs::write(&inner_file, lmd.to_bytes().unwrap()).unwrap();
            Nested {
                s,
                bob,
                sub_file,
                inner_file,
            }
        }
    }

    #[test]
    fn keys_of_sublayouts_are_judged_too() {
        let n = Nested::new();
        let r = n.s.report();
        let steps: Vec<&str> = r.links.iter().map(|l| l.step.as_str()).collect();
        assert_eq!(steps, ["build/compile", "build"], "{r}");
        // Bob signed only the inner link.
        let mut status = KeyStatus::default();
        revoke(&mut status, &n.bob, "bob", "2026-06-01T00:00:00Z");
        let r = n.s.judge(&status, None, NOW);
        assert_eq!(kind(&r), Some(FailureKind::KeyRevoked), "{r}");
        let f = r.failure.as_ref().unwrap();
        let inner = n.inner_file.strip_prefix(&n.s.dir).unwrap();
        assert_eq!(f.scope.as_deref(), inner.to_str());
        assert!(f.message.contains("step build/compile"), "{}", f.message);
        // Alice signed the sublayout itself.
        let mut status = KeyStatus::default();
        revoke(&mut status, &n.s.alice, "alice", "2026-06-01T00:00:00Z");
        let r = n.s.judge(&status, None, NOW);
        assert_eq!(kind(&r), Some(FailureKind::KeyRevoked), "{r}");
        let sub = n.sub_file.file_name().unwrap().to_str();
        assert_eq!(r.failure.as_ref().unwrap().scope.as_deref(), sub);
        // A retired key of the sublayout warns before it retires.
        let mut status = KeyStatus::default();
        status
            .entry_mut(&n.bob.keyid().unwrap(), Some("bob"))
            .not_after = Some(Instant::parse_canonical("2026-07-10T00:00:00Z").unwrap());
        let mut r = n.s.report();
        warn_expiry(
            &mut r,
            Some(&status),
            intact_keystatus::parse_duration("30d").unwrap(),
            t(NOW),
        );
        assert!(
            warning_codes(&r).contains(&WarningKind::KeyRetiresSoon),
            "{r}"
        );
    }

    #[test]
    fn require_logged_demands_proofs_of_sublayout_links() {
        let n = Nested::new();
        let key = SigningKey::generate_ed25519();
        let (pem, public) = (n.s.dir.join("log.pem"), n.s.dir.join("log.pub"));
        write_key_pair(&key, &pem, &public, None).unwrap();
        let log = n.s.dir.join("log");
        LogWriter::init(&log, &pem, "example.com/log").unwrap();
        let ctx = EntryContext {
            time: "2026-06-01T00:00:00Z".to_string(),
            ci: BTreeMap::new(),
        };
        let log_key = LogKey::load(&public).unwrap();
        for f in [&n.s.layout_file, &n.sub_file] {
            log_file(&log, f, &ctx).unwrap();
        }
        let mut r = n.s.report();
        crate::logged::require_logged(&mut r, &n.s.layout_file, &n.s.dir, &log_key);
        assert_eq!(kind(&r), Some(FailureKind::NotLogged), "{r}");
        let inner = n.inner_file.strip_prefix(&n.s.dir).unwrap();
        let f = r.failure.as_ref().unwrap();
        assert!(f.message.contains("step build/compile"), "{r}");
        assert_eq!(f.scope.as_deref(), inner.file_name().unwrap().to_str());
        log_file(&log, &n.inner_file, &ctx).unwrap();
        let mut r = n.s.report();
        crate::logged::require_logged(&mut r, &n.s.layout_file, &n.s.dir, &log_key);
        assert!(r.verified, "{r}");
    }

    fn revoke(status: &mut KeyStatus, key: &SigningKey, name: &str, at: &str) {
        let e = status.entry_mut(&key.keyid().unwrap(), Some(name));
        e.revoked_at = Some(Instant::parse_canonical(at).unwrap());
        e.reason = Some("laptop stolen".into());
    }

    fn window(status: &mut KeyStatus, key: &SigningKey, from: Option<&str>, to: Option<&str>) {
        let e = status.entry_mut(&key.keyid().unwrap(), Some("alice"));
        e.not_before = from.map(|s| Instant::parse_canonical(s).unwrap());
        e.not_after = to.map(|s| Instant::parse_canonical(s).unwrap());
    }

    fn kind(r: &Report) -> Option<FailureKind> {
        r.failure.as_ref().map(|f| f.kind)
    }

    fn warning_codes(r: &Report) -> Vec<WarningKind> {
        r.warnings.iter().filter_map(|w| w.code).collect()
    }

    #[test]
    fn a_revoked_functionary_key_fails_named_with_time_and_reason() {
        let s = Setup::new("2099-01-01T00:00:00Z");
        let mut status = KeyStatus::default();
        revoke(&mut status, &s.alice, "alice", "2026-06-01T00:00:00Z");
        let r = s.judge(&status, None, NOW);
        assert_eq!(kind(&r), Some(FailureKind::KeyRevoked));
        let f = r.failure.as_ref().unwrap();
        assert_eq!(f.stage, Stage::KeyStatus);
        assert!(f.scope.as_deref().unwrap().starts_with("build."));
        for needle in [
            "alice",
            "2026-06-01T00:00:00Z",
            "laptop stolen",
            "step build",
        ] {
            assert!(f.message.contains(needle), "{needle}: {}", f.message);
        }
    }

    #[test]
    fn a_revoked_owner_key_fails_the_layout() {
        let s = Setup::new("2099-01-01T00:00:00Z");
        let mut status = KeyStatus::default();
        revoke(&mut status, &s.owner, "owner", "2026-06-01T00:00:00Z");
        let r = s.judge(&status, None, NOW);
        assert_eq!(kind(&r), Some(FailureKind::KeyRevoked));
        assert_eq!(
            r.failure.as_ref().unwrap().scope.as_deref(),
            Some("root.layout")
        );
    }

    #[test]
    fn unlisted_keys_pass() {
        let s = Setup::new("2099-01-01T00:00:00Z");
        let mut status = KeyStatus::default();
        revoke(
            &mut status,
            &SigningKey::generate_ed25519(),
            "x",
            "2026-06-01T00:00:00Z",
        );
        let r = s.judge(&status, None, NOW);
        assert!(r.verified, "{r}");
        assert_eq!(r.stages.last().unwrap().stage, Stage::KeyStatus);
    }

    #[test]
    fn a_link_signed_inside_before_and_after_the_window() {
        let s = Setup::new("2099-01-01T00:00:00Z");
        let mut status = KeyStatus::default();
        window(
            &mut status,
            &s.alice,
            Some("2026-01-01T00:00:00Z"),
            Some("2026-12-31T00:00:00Z"),
        );
        // Inside (verified inside, no proof needed).
        assert!(s.judge(&status, None, NOW).verified);
        // Verified before the window opens.
        let r = s.judge(&status, None, "2025-12-01T00:00:00Z");
        assert_eq!(kind(&r), Some(FailureKind::KeyNotYetValid));
        // After it closes, signing time unknown.
        let r = s.judge(&status, None, "2027-02-01T00:00:00Z");
        assert_eq!(kind(&r), Some(FailureKind::KeyRetired));
    }

    #[test]
    fn a_log_proof_dates_the_signature() {
        let s = Setup::new("2099-01-01T00:00:00Z");
        let log = s.log_link("2026-12-30T00:00:00Z");
        let mut status = KeyStatus::default();
        window(
            &mut status,
            &s.alice,
            Some("2026-01-01T00:00:00Z"),
            Some("2026-12-31T00:00:00Z"),
        );
        // A retired key's link, logged before not_after: accepted, warned.
        let r = s.judge(&status, Some(&log), "2027-02-01T00:00:00Z");
        assert!(r.verified, "{r}");
        assert_eq!(warning_codes(&r), [WarningKind::SignedBeforeRetirement]);
        // Without the log key the proof does not count.
        let r = s.judge(&status, None, "2027-02-01T00:00:00Z");
        assert_eq!(kind(&r), Some(FailureKind::KeyRetired));
        // Logged after not_after: refused.
        let mut late = KeyStatus::default();
        window(&mut late, &s.alice, None, Some("2026-12-01T00:00:00Z"));
        let r = s.judge(&late, Some(&log), "2027-02-01T00:00:00Z");
        assert_eq!(kind(&r), Some(FailureKind::KeyRetired));
        // Proven signed before the window opened.
        let mut early = KeyStatus::default();
        window(&mut early, &s.alice, Some("2027-01-01T00:00:00Z"), None);
        let r = s.judge(&early, Some(&log), "2027-02-01T00:00:00Z");
        assert_eq!(kind(&r), Some(FailureKind::KeyNotYetValid));
        // Revoked after it was logged: accepted with a warning; revoked
        // before: refused.
        let mut revoked = KeyStatus::default();
        revoke(&mut revoked, &s.alice, "alice", "2027-01-15T00:00:00Z");
        let r = s.judge(&revoked, Some(&log), "2027-02-01T00:00:00Z");
        assert!(r.verified, "{r}");
        assert_eq!(warning_codes(&r), [WarningKind::SignedBeforeRevocation]);
        let mut revoked = KeyStatus::default();
        revoke(&mut revoked, &s.alice, "alice", "2026-12-01T00:00:00Z");
        let r = s.judge(&revoked, Some(&log), "2027-02-01T00:00:00Z");
        assert_eq!(kind(&r), Some(FailureKind::KeyRevoked));
    }

    #[test]
    fn expiry_warnings_at_29_and_31_days() {
        let d30 = intact_keystatus::parse_duration("30d").unwrap();
        for (expires, warned) in [
            ("2026-07-30T00:00:00Z", true),
            ("2026-08-01T00:00:00Z", false),
        ] {
            let s = Setup::new(expires);
            assert_eq!(s.expires, expires);
            let mut r = s.report();
            warn_expiry(&mut r, None, d30, t(NOW));
            assert_eq!(
                warning_codes(&r).contains(&WarningKind::LayoutExpiresSoon),
                warned,
                "{expires}: {r}"
            );
            assert!(r.verified);
            // A key retiring at the same distance.
            let mut status = KeyStatus::default();
            window(&mut status, &s.alice, None, Some(expires));
            let mut r = s.report();
            warn_expiry(&mut r, Some(&status), d30, t(NOW));
            assert_eq!(
                warning_codes(&r).contains(&WarningKind::KeyRetiresSoon),
                warned,
                "{expires}: {r}"
            );
        }
    }

    #[test]
    fn warning_codes_are_their_json_form() {
        for k in WarningKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.code());
        }
    }
}
