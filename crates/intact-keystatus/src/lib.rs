//! Key lifecycle: the key-status document (docs/key-management.md).
//!
//! A layout says which keys may sign which steps; it cannot say that a key
//! was stolen yesterday, or that it only became valid last week. The
//! key-status document does: for each key (by keyid, with a name) an
//! optional validity window (`not_before`, `not_after`) and a revocation
//! (`revoked_at`, `reason`). It travels as a DSSE envelope of intact's own
//! payload type, [`PAYLOAD_TYPE`], signed by the layout owner key(s), and
//! is parsed strictly (duplicate members, unknown members, malformed times
//! refused).
//!
//! [`KeyStatus::judge`] is the one rule both the verifier and the key
//! inventory apply: given what is known about when a signature was made
//! (at the latest, from a transparency-log entry), is it acceptable?

mod duration;
mod error;

use std::collections::BTreeMap;
use std::path::Path;

use intact_crypto::{PublicKey, SigningKey};
use intact_model::{Envelope, KeyId};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use duration::parse_duration;
pub use error::KeyStatusError;

/// The DSSE payload type of a key-status document.
pub const PAYLOAD_TYPE: &str = "application/vnd.intact.key-status+json";

/// The `_type` member of the payload (bumped on incompatible changes).
pub const STATUS_TYPE: &str = "intact.key-status/v1";

/// Largest key-status file read.
pub const MAX_STATUS_BYTES: u64 = 16 << 20;

/// An instant written as `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds), the
/// only form the document accepts, so each instant has one spelling.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Instant(OffsetDateTime);

impl Instant {
    /// `t` in UTC, rounded down to the second.
    pub fn new(t: OffsetDateTime) -> Self {
        let t = t.to_offset(time::UtcOffset::UTC);
        let whole = t.replace_nanosecond(0).unwrap_or(t);
        Instant(whole)
    }

    /// Parse any RFC 3339 time (command-line input), normalised to UTC.
    pub fn parse_lenient(s: &str) -> Result<Self, String> {
        OffsetDateTime::parse(s, &Rfc3339)
            .map(Instant::new)
            .map_err(|e| format!("{s:?} is not an RFC 3339 time (2026-01-31T12:00:00Z): {e}"))
    }

    /// Parse the canonical form only.
    pub fn parse_canonical(s: &str) -> Result<Self, String> {
        let t = Self::parse_lenient(s)?;
        if t.to_string() != s {
            return Err(format!(
                "{s:?} must be written in UTC with whole seconds, as {}",
                t
            ));
        }
        Ok(t)
    }

    /// The time itself.
    pub fn time(self) -> OffsetDateTime {
        self.0
    }
}

impl std::fmt::Display for Instant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0.date();
        let t = self.0.time();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            d.year(),
            u8::from(d.month()),
            d.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

impl Serialize for Instant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Instant::parse_canonical(&s).map_err(serde::de::Error::custom)
    }
}

/// What the document says about one key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// The name people know the key by (1 to 64 characters, no control
    /// characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Signatures made before this instant are not the key's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Instant>,
    /// Signatures made after this instant are not accepted (the key is
    /// retired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<Instant>,
    /// The key is revoked from this instant (compromised).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Instant>,
    /// Why it was revoked (present exactly when `revoked_at` is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The signed payload: every key the owners have said something about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyStatus {
    /// [`STATUS_TYPE`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// Incremented on every change, so that two documents can be ordered.
    pub version: u64,
    /// By keyid.
    pub keys: BTreeMap<KeyId, KeyEntry>,
}

impl Default for KeyStatus {
    fn default() -> Self {
        KeyStatus {
            type_: STATUS_TYPE.to_string(),
            version: 0,
            keys: BTreeMap::new(),
        }
    }
}

/// The lifecycle state of a key at an instant, for people and the
/// inventory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// No entry, or inside its window.
    Active,
    /// Before `not_before`.
    NotYetValid,
    /// After `not_after`.
    Retired,
    /// Revoked.
    Revoked,
}

impl State {
    /// The word used in text and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::NotYetValid => "not-yet-valid",
            State::Retired => "retired",
            State::Revoked => "revoked",
        }
    }
}

/// Why a signature is refused (or accepted only with a warning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The key is revoked.
    Revoked,
    /// The signature was (provably) made before the key's `not_before`.
    NotYetValid,
    /// The signature may have been made after the key's `not_after`.
    Retired,
}

/// The outcome of [`KeyStatus::judge`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    /// Nothing against it.
    Good,
    /// Accepted, but worth a warning: the key is revoked or retired now,
    /// and the signature is provably older.
    Warn(Problem, String),
    /// Refused.
    Refuse(Problem, String),
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.chars().count()) && !name.chars().any(char::is_control)
}

impl KeyEntry {
    fn check(&self, keyid: &KeyId) -> Result<(), String> {
        if let Some(n) = &self.name {
            if !valid_name(n) {
                return Err(format!(
                    "key {keyid}: name must be 1 to 64 characters without control characters"
                ));
            }
        }
        match (&self.revoked_at, &self.reason) {
            (Some(_), Some(r)) if r.trim().is_empty() => {
                return Err(format!("key {keyid}: reason must not be empty"))
            }
            (Some(_), None) => return Err(format!("key {keyid}: revoked_at without a reason")),
            (None, Some(_)) => return Err(format!("key {keyid}: reason without revoked_at")),
            _ => {}
        }
        if let (Some(b), Some(a)) = (self.not_before, self.not_after) {
            if b >= a {
                return Err(format!(
                    "key {keyid}: not_before ({b}) must be before not_after ({a})"
                ));
            }
        }
        Ok(())
    }

    /// The key's state at `now`.
    pub fn state_at(&self, now: Instant) -> State {
        if self.revoked_at.is_some_and(|r| r <= now) {
            State::Revoked
        } else if self.not_after.is_some_and(|a| now > a) {
            State::Retired
        } else if self.not_before.is_some_and(|b| now < b) {
            State::NotYetValid
        } else {
            State::Active
        }
    }
}

impl KeyStatus {
    /// Parse payload bytes strictly.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, String> {
        let value = intact_model::json::parse_strict(bytes).map_err(|e| e.to_string())?;
        let doc: KeyStatus = serde_json::from_value(value).map_err(|e| e.to_string())?;
        if doc.type_ != STATUS_TYPE {
            return Err(format!(
                "_type is {:?}, expected {STATUS_TYPE:?}",
                doc.type_
            ));
        }
        for (keyid, entry) in &doc.keys {
            entry.check(keyid)?;
        }
        Ok(doc)
    }

    /// The payload bytes (pretty JSON, members sorted): the same document
    /// always gives the same bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, KeyStatusError> {
        let mut out =
            serde_json::to_vec_pretty(self).map_err(|e| KeyStatusError::Invalid(e.to_string()))?;
        out.push(b'\n');
        Ok(out)
    }

    /// The entry for `keyid`, created (with `name`, if given) when absent.
    pub fn entry_mut(&mut self, keyid: &KeyId, name: Option<&str>) -> &mut KeyEntry {
        let e = self.keys.entry(keyid.clone()).or_default();
        if let Some(n) = name {
            e.name = Some(n.to_string());
        }
        e
    }

    /// Check the entries (after editing).
    pub fn validate(&self) -> Result<(), KeyStatusError> {
        for (keyid, entry) in &self.keys {
            entry.check(keyid).map_err(KeyStatusError::Invalid)?;
        }
        Ok(())
    }

    /// Judge a signature by `keyid`. `signed_by`: the latest instant the
    /// signature can have been made, when proven (a transparency-log
    /// entry's time); `None` when unknown. `now`: when verification runs.
    ///
    /// A revoked key is accepted only with proof of signing before the
    /// revocation (then with a warning). A retired key is accepted while
    /// `now` is inside its window, or with proof of signing before
    /// `not_after` (with a warning). A signature proven older than
    /// `not_before` is refused, as is any once `now` is before it.
    pub fn judge(&self, keyid: &KeyId, signed_by: Option<Instant>, now: Instant) -> Judgement {
        let Some(e) = self.keys.get(keyid) else {
            return Judgement::Good;
        };
        let label = match &e.name {
            Some(n) => format!("{n} ({})", keyid.short()),
            None => keyid.short().to_string(),
        };
        if let (Some(at), Some(reason)) = (e.revoked_at, &e.reason) {
            match signed_by {
                Some(t) if t < at => {
                    return Judgement::Warn(
                        Problem::Revoked,
                        format!(
                            "key {label} is revoked since {at} ({reason}); this signature is proven made by {t}, before the revocation"
                        ),
                    )
                }
                Some(t) => {
                    return Judgement::Refuse(
                        Problem::Revoked,
                        format!(
                            "key {label} is revoked since {at} ({reason}); the signature is not proven older (logged {t})"
                        ),
                    )
                }
                None => {
                    return Judgement::Refuse(
                        Problem::Revoked,
                        format!(
                            "key {label} is revoked since {at} ({reason}); when it signed is unknown (no inclusion proof)"
                        ),
                    )
                }
            }
        }
        if let Some(b) = e.not_before {
            if now < b {
                return Judgement::Refuse(
                    Problem::NotYetValid,
                    format!("key {label} is not valid before {b}"),
                );
            }
            if let Some(t) = signed_by {
                if t < b {
                    return Judgement::Refuse(
                        Problem::NotYetValid,
                        format!(
                            "key {label} is not valid before {b}; this signature is proven made by {t}"
                        ),
                    );
                }
            }
        }
        if let Some(a) = e.not_after {
            if now > a {
                return match signed_by {
                    Some(t) if t <= a => Judgement::Warn(
                        Problem::Retired,
                        format!(
                            "key {label} is retired since {a}; this signature is proven made by {t}, inside its window"
                        ),
                    ),
                    Some(t) => Judgement::Refuse(
                        Problem::Retired,
                        format!("key {label} is retired since {a}; the signature was logged at {t}, after it"),
                    ),
                    None => Judgement::Refuse(
                        Problem::Retired,
                        format!(
                            "key {label} is retired since {a}; when it signed is unknown (no inclusion proof)"
                        ),
                    ),
                };
            }
        }
        Judgement::Good
    }

    /// The key's `not_after` when it falls between `now` and
    /// `now + within` (a key about to retire).
    pub fn retires_within(
        &self,
        keyid: &KeyId,
        now: Instant,
        within: time::Duration,
    ) -> Option<Instant> {
        let e = self.keys.get(keyid)?;
        if e.revoked_at.is_some() {
            return None;
        }
        let a = e.not_after?;
        // A window past the end of time covers every not_after.
        let horizon = now.time().checked_add(within);
        (a >= now && horizon.is_none_or(|h| a.time() <= h)).then_some(a)
    }
}

/// Sign `status` with each key into a DSSE envelope of [`PAYLOAD_TYPE`].
pub fn sign(status: &KeyStatus, keys: &[&SigningKey]) -> Result<Envelope, KeyStatusError> {
    status.validate()?;
    Ok(intact_crypto::sign_envelope(
        PAYLOAD_TYPE,
        status.to_bytes()?,
        keys,
    )?)
}

/// Check an envelope against the owner keys and return its document.
///
/// Every signature must be by one of `owners` and verify (a signature by
/// any other key, or one that does not hold, refuses the whole document),
/// and at least one must be by an owner key the document itself does not
/// revoke.
pub fn open(
    env: &Envelope,
    owners: &BTreeMap<KeyId, PublicKey>,
) -> Result<KeyStatus, KeyStatusError> {
    if env.payload_type != PAYLOAD_TYPE {
        return Err(KeyStatusError::Invalid(format!(
            "payloadType is {:?}, expected {PAYLOAD_TYPE:?}",
            env.payload_type
        )));
    }
    if env.signatures.is_empty() {
        return Err(KeyStatusError::Unsigned);
    }
    let pae = env.pae();
    for s in &env.signatures {
        let Some(key) = owners.get(&s.keyid) else {
            return Err(KeyStatusError::WrongSigner(s.keyid.clone()));
        };
        if !key.verify(&pae, &s.sig) {
            return Err(KeyStatusError::BadSignature(s.keyid.clone()));
        }
    }
    let doc = KeyStatus::from_slice(&env.payload).map_err(KeyStatusError::Invalid)?;
    let standing = env.signatures.iter().any(|s| {
        doc.keys
            .get(&s.keyid)
            .is_none_or(|e| e.revoked_at.is_none())
    });
    if !standing {
        return Err(KeyStatusError::OnlyRevokedSigners);
    }
    Ok(doc)
}

/// Read an envelope file (at most [`MAX_STATUS_BYTES`]).
pub fn load_envelope(path: &Path) -> Result<Envelope, KeyStatusError> {
    let bytes = intact_model::io::read_limited(path, MAX_STATUS_BYTES)?;
    let value = intact_model::json::parse_strict(&bytes).map_err(|e| KeyStatusError::File {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })?;
    Envelope::from_value(value).map_err(|e| KeyStatusError::File {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })
}

/// Read and check a key-status file against the owner keys; errors name
/// the file.
pub fn load(path: &Path, owners: &BTreeMap<KeyId, PublicKey>) -> Result<KeyStatus, KeyStatusError> {
    let env = load_envelope(path)?;
    open(&env, owners).map_err(|e| match e {
        KeyStatusError::File { .. } => e,
        other => KeyStatusError::File {
            path: path.to_path_buf(),
            problem: other.to_string(),
        },
    })
}

/// Write a signed envelope atomically (nothing half-written).
pub fn save(path: &Path, env: &Envelope) -> Result<(), KeyStatusError> {
    let mut bytes = env.to_bytes()?;
    bytes.push(b'\n');
    intact_model::io::write_atomic(path, &bytes, 0o644)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Tests may use std::fs.
mod tests;

/// Open an existing document for editing by `signers`: the signatures by
/// them must verify, at least one must be present, and signatures by
/// other keys are set aside (the edited document is re-signed). A
/// document none of them signed is refused: an editor must not re-sign
/// what it cannot vouch for.
pub fn open_for_edit(
    env: &Envelope,
    signers: &BTreeMap<KeyId, PublicKey>,
) -> Result<KeyStatus, KeyStatusError> {
    let mut mine = env.clone();
    mine.signatures.retain(|s| signers.contains_key(&s.keyid));
    if mine.signatures.is_empty() {
        return Err(KeyStatusError::Invalid(
            "none of the --key owner keys signed it; sign edits with a key that signed the current document".into(),
        ));
    }
    let pae = mine.pae();
    for s in &mine.signatures {
        if let Some(key) = signers.get(&s.keyid) {
            if !key.verify(&pae, &s.sig) {
                return Err(KeyStatusError::BadSignature(s.keyid.clone()));
            }
        }
    }
    if mine.payload_type != PAYLOAD_TYPE {
        return Err(KeyStatusError::Invalid(format!(
            "payloadType is {:?}, expected {PAYLOAD_TYPE:?}",
            mine.payload_type
        )));
    }
    KeyStatus::from_slice(&mine.payload).map_err(KeyStatusError::Invalid)
}
