//! The key inventory (`intact key list`): every key a chain uses, what it
//! is (owner, functionary of which steps, git signer), its status in the
//! key-status document, and where it signed (link files; first and last
//! transparency-log entries).

use std::collections::BTreeMap;
use std::path::Path;

use intact_crypto::PublicKey;
use intact_keystatus::{Instant, KeyStatus};
use intact_model::{GitPolicy, KeyId, Layout, Metadata, Payload};
use serde::Serialize;

use crate::VerifyError;

/// `intact.key-inventory/v1`.
pub const INVENTORY_SCHEMA: &str = "intact.key-inventory/v1";

/// A log entry a key signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogMention {
    /// Its index in the log.
    pub index: u64,
    /// When it was logged.
    pub time: String,
    /// The file it records.
    pub file: String,
}

/// One key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryKey {
    /// Its name (the layout's, else the key-status document's, else the
    /// git signer's principal).
    pub name: Option<String>,
    /// Keyid (for a git signer that is no functionary: its OpenSSH
    /// fingerprint).
    pub keyid: String,
    /// `ed25519`, `rsa/rsassa-pss-sha256`, ...; `None` when only a
    /// signature names the key.
    pub key_type: Option<String>,
    /// `owner`, `functionary of build, test`, `git signer of clone (bob@example.com)`.
    pub roles: Vec<String>,
    /// `active`, `not-yet-valid`, `retired`, `revoked`, or `unknown`
    /// without a key-status document.
    pub status: String,
    /// The window and revocation, as the document gives them.
    pub status_detail: Option<String>,
    /// Link files the key signed (relative to the link directory).
    pub links: Vec<String>,
    /// The first and last log entries the key signed.
    pub log_first: Option<LogMention>,
    /// See `log_first`.
    pub log_last: Option<LogMention>,
    /// The certificates its link signatures carried (subject, issuer,
    /// serial, validity; docs/pki.md), each once: every certificate used
    /// to sign the chain's links.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Every key of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// [`INVENTORY_SCHEMA`].
    pub schema: &'static str,
    /// The keys: owners first, then functionaries in layout order, then
    /// git signers that are no functionary.
    pub keys: Vec<InventoryKey>,
}

/// What the inventory reads.
pub struct InventoryInput<'a> {
    /// The signed layout.
    pub layout: &'a Metadata,
    /// Where the links are, if given (sublayouts' directories below it
    /// are read too, and the sublayouts' keys listed).
    pub link_dir: Option<&'a Path>,
    /// The key-status document, verified by the caller.
    pub status: Option<&'a KeyStatus>,
    /// The transparency log, if given.
    pub log: Option<&'a dyn intact_log::Source>,
    /// The owners' public keys the caller was given, with their names
    /// (an owner's key is otherwise known only by the keyid its
    /// signature claims).
    pub owners: &'a BTreeMap<KeyId, (String, PublicKey)>,
    /// The instant statuses are judged at.
    pub now: time::OffsetDateTime,
}

fn err(path: &Path, reason: impl Into<String>) -> VerifyError {
    VerifyError::Inventory {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Build the inventory.
pub fn inventory(input: &InventoryInput<'_>) -> Result<Inventory, VerifyError> {
    let here = Path::new("layout");
    let layout: Layout = match input.layout.payload() {
        Ok(Payload::Layout(l)) => l,
        Ok(Payload::Link(_)) => return Err(err(here, "expected a layout, found a link")),
        Err(e) => return Err(err(here, e.to_string())),
    };
    let mut keys: Vec<InventoryKey> = Vec::new();
    let blank = |keyid: String| InventoryKey {
        name: None,
        keyid,
        key_type: None,
        roles: Vec::new(),
        status: "unknown".into(),
        status_detail: None,
        links: Vec::new(),
        log_first: None,
        log_last: None,
        certificates: Vec::new(),
    };
    fn slot<'k>(
        keys: &'k mut Vec<InventoryKey>,
        keyid: &str,
        blank: &dyn Fn(String) -> InventoryKey,
    ) -> &'k mut InventoryKey {
        let i = match keys.iter().position(|k| k.keyid == keyid) {
            Some(i) => i,
            None => {
                keys.push(blank(keyid.to_string()));
                keys.len() - 1
            }
        };
        &mut keys[i]
    }
    for s in input.layout.signatures() {
        let k = slot(&mut keys, s.keyid.as_str(), &blank);
        if !k.roles.iter().any(|r| r == "owner") {
            k.roles.push("owner".into());
        }
        if let Some((name, key)) = input.owners.get(s.keyid) {
            k.name = Some(name.clone());
            k.key_type = key.to_key_dict().ok().and_then(|d| {
                d.keytype().map(|t| match d.scheme() {
                    Some(sc) if sc != t => format!("{t}/{sc}"),
                    _ => t.to_string(),
                })
            });
        }
    }
    let mut steps_of: BTreeMap<&KeyId, Vec<&str>> = BTreeMap::new();
    for step in &layout.steps {
        for id in &step.pubkeys {
            steps_of.entry(id).or_default().push(step.name.as_str());
        }
    }
    // Functionaries in layout order (steps first, then unused keys).
    let mut order: Vec<&KeyId> = Vec::new();
    for step in &layout.steps {
        for id in &step.pubkeys {
            if !order.contains(&id) {
                order.push(id);
            }
        }
    }
    for id in layout.keys.keys() {
        if !order.contains(&id) {
            order.push(id);
        }
    }
    let mut openssh: Vec<(String, String)> = Vec::new();
    for id in order {
        let k = slot(&mut keys, id.as_str(), &blank);
        if let Some(dict) = layout.keys.get(id) {
            k.name = dict.name().map(str::to_string);
            k.key_type = dict.keytype().map(|t| match dict.scheme() {
                Some(s) if s != t => format!("{t}/{s}"),
                _ => t.to_string(),
            });
            if let Some(ssh) = PublicKey::from_key_dict(dict)
                .ok()
                .and_then(|p| p.to_openssh())
            {
                openssh.push((ssh, id.to_string()));
            }
        }
        match steps_of.get(id) {
            Some(steps) => k.roles.push(format!("functionary of {}", steps.join(", "))),
            None => k.roles.push("embedded, no step".into()),
        }
    }
    for insp in &layout.inspect {
        let Some(Ok(policy)) = GitPolicy::from_run(&insp.run) else {
            continue;
        };
        for line in &policy.signers {
            let mut words = line.split_whitespace();
            let principal = words.next().unwrap_or_default().to_string();
            let rest: Vec<&str> = words.collect();
            // Skip an options word (namespaces="git").
            let start = rest.iter().position(|w| {
                w.starts_with("ssh-") || w.starts_with("ecdsa-") || w.starts_with("sk-")
            });
            let key_text = start.map(|i| rest[i..].join(" ")).unwrap_or_default();
            let role = format!("git signer of {} ({principal})", policy.step);
            let matched = openssh
                .iter()
                .find(|(ssh, _)| key_text.starts_with(ssh.as_str()))
                .map(|(_, id)| id.clone());
            let keyid = matched.clone().unwrap_or_else(|| {
                PublicKey::ssh_fingerprint_of(&key_text).unwrap_or_else(|| key_text.clone())
            });
            let k = slot(&mut keys, &keyid, &blank);
            if matched.is_none() {
                k.name.get_or_insert(principal.clone());
                k.key_type = key_text.split_whitespace().next().map(str::to_string);
            }
            k.roles.push(role);
        }
        for fpr in &policy.gpg_fingerprints {
            let k = slot(&mut keys, fpr, &blank);
            k.key_type.get_or_insert("gpg".into());
            k.roles.push(format!("git signer of {} (GPG)", policy.step));
        }
    }
    // Links (at any sublayout depth), and the keys of the sublayouts among
    // them: a sublayout's functionaries use the chain as much as the root's.
    let found = match input.link_dir {
        Some(dir) => link_signers(dir)?,
        None => Vec::new(),
    };
    for (file, _, sub) in &found {
        let Some(sub) = sub else { continue };
        for step in &sub.steps {
            for id in &step.pubkeys {
                let k = slot(&mut keys, id.as_str(), &blank);
                if let Some(dict) = sub.keys.get(id) {
                    if k.name.is_none() {
                        k.name = dict.name().map(str::to_string);
                    }
                    if k.key_type.is_none() {
                        k.key_type = dict.keytype().map(str::to_string);
                    }
                }
                let role = format!("functionary of {} in sublayout {file}", step.name.as_str());
                if !k.roles.contains(&role) {
                    k.roles.push(role);
                }
            }
        }
    }
    if let Some(status) = input.status {
        let now = Instant::new(input.now);
        for k in &mut keys {
            let Some(e) = KeyId::new(k.keyid.clone())
                .ok()
                .and_then(|id| status.keys.get(&id))
            else {
                k.status = "active".into();
                continue;
            };
            k.status = e.state_at(now).as_str().into();
            if k.name.is_none() {
                k.name.clone_from(&e.name);
            }
            let mut detail = Vec::new();
            if let Some(b) = e.not_before {
                detail.push(format!("not before {b}"));
            }
            if let Some(a) = e.not_after {
                detail.push(format!("not after {a}"));
            }
            if let (Some(r), Some(why)) = (e.revoked_at, &e.reason) {
                detail.push(format!("revoked at {r}: {why}"));
            }
            k.status_detail = (!detail.is_empty()).then(|| detail.join("; "));
        }
    }
    for (file, signers, _) in found {
        for (s, cert) in signers {
            let k = slot(&mut keys, &s, &blank);
            if k.roles.is_empty() {
                k.roles.push("signed links, a key of no layout".into());
            }
            k.links.push(file.clone());
            if let Some(c) = cert {
                if !k.certificates.contains(&c) {
                    k.certificates.push(c);
                }
            }
        }
    }
    if let Some(log) = input.log {
        let (cp, _) = intact_log::read_checkpoint_unverified(log)
            .map_err(|e| err(Path::new("log"), e.to_string()))?;
        intact_log::for_each_entry(log, cp.size(), |i, bytes| {
            let Ok(e) = intact_log::Entry::from_bytes(bytes) else {
                return Ok(());
            };
            for s in &e.signers {
                if let Some(k) = keys.iter_mut().find(|k| &k.keyid == s) {
                    let m = LogMention {
                        index: i,
                        time: e.time.clone(),
                        file: e.file.clone(),
                    };
                    if k.log_first.is_none() {
                        k.log_first = Some(m.clone());
                    }
                    k.log_last = Some(m);
                }
            }
            Ok(())
        })
        .map_err(|e| err(Path::new("log"), e.to_string()))?;
    }
    Ok(Inventory {
        schema: INVENTORY_SCHEMA,
        keys,
    })
}

/// A link file's path relative to the link directory, the keyids that
/// signed it (each with the summary of the certificate its signature
/// carried, if any), and its layout when it is a sublayout.
type Signed = (
    String,
    Vec<(String, Option<serde_json::Map<String, serde_json::Value>>)>,
    Option<Layout>,
);

/// Sublayout directories followed below the link directory.
const MAX_SUBLAYOUT_DEPTH: usize = 8;

/// Every `*.link` in `dir` and the sublayout directories below it (to
/// [`MAX_SUBLAYOUT_DEPTH`]), in name order.
#[allow(clippy::disallowed_methods)] // Listing only; each file is read with read_limited.
fn link_signers(dir: &Path) -> Result<Vec<Signed>, VerifyError> {
    let mut out = Vec::new();
    let mut dirs = vec![(dir.to_path_buf(), String::new())];
    let mut depth = 0;
    while !dirs.is_empty() && depth <= MAX_SUBLAYOUT_DEPTH {
        let mut next = Vec::new();
        for (d, prefix) in dirs {
            let entries = std::fs::read_dir(&d).map_err(|e| err(&d, e.to_string()))?;
            let mut names: Vec<(std::path::PathBuf, String)> = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| Some((e.path(), e.file_name().into_string().ok()?)))
                .collect();
            names.sort();
            for (path, name) in names {
                if path.is_dir() {
                    next.push((path, format!("{prefix}{name}/")));
                } else if name.ends_with(".link") && path.is_file() {
                    let Ok(md) = Metadata::load(&path) else {
                        continue;
                    };
                    let signers = md
                        .signatures()
                        .iter()
                        .map(|s| {
                            let cert = s
                                .cert
                                .and_then(|pem| {
                                    intact_crypto::x509::Certificate::from_pem_chain(pem).ok()
                                })
                                .and_then(|chain| chain.first().map(|c| c.summary()));
                            (s.keyid.to_string(), cert)
                        })
                        .collect();
                    let sub = match md.payload() {
                        Ok(Payload::Layout(l)) => Some(l),
                        _ => None,
                    };
                    out.push((format!("{prefix}{name}"), signers, sub));
                }
            }
        }
        dirs = next;
        depth += 1;
    }
    Ok(out)
}

impl std::fmt::Display for Inventory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for k in &self.keys {
            let short = k.keyid.get(..8).unwrap_or(&k.keyid);
            let name = k.name.as_deref().unwrap_or("(unnamed)");
            writeln!(
                f,
                "{name} ({short})  {}  {}",
                k.key_type.as_deref().unwrap_or("?"),
                k.status
            )?;
            writeln!(f, "    keyid: {}", k.keyid)?;
            writeln!(f, "    roles: {}", k.roles.join("; "))?;
            if let Some(d) = &k.status_detail {
                writeln!(f, "    status: {d}")?;
            }
            if !k.links.is_empty() {
                writeln!(f, "    signed: {}", k.links.join(", "))?;
            }
            for c in &k.certificates {
                let field = |name: &str| c.get(name).and_then(|v| v.as_str()).unwrap_or("?");
                writeln!(
                    f,
                    "    certificate: {} issued by {}, serial {}, valid {} to {}",
                    field("subject"),
                    field("issuer"),
                    field("serial"),
                    field("not_before"),
                    field("not_after")
                )?;
            }
            if let (Some(a), Some(b)) = (&k.log_first, &k.log_last) {
                writeln!(
                    f,
                    "    log: first #{} {} ({}), last #{} {} ({})",
                    a.index, a.time, a.file, b.index, b.time, b.file
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use intact_crypto::{sign_metadata, SigningKey};
    use intact_model::{Container, Expires, Link, Step, StepName};

    /// A sublayout's functionary, and the link it signed inside the
    /// sublayout's directory, are in the inventory.
    #[test]
    fn sublayout_functionaries_and_their_links_are_listed() {
        let owner = SigningKey::generate_ed25519();
        let alice = SigningKey::generate_ed25519();
        let bob = SigningKey::generate_ed25519();
        let (alice_id, bob_id) = (alice.keyid().unwrap(), bob.keyid().unwrap());
        let layout_with = |key: &SigningKey, step: &str| {
            let mut l = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
            let id = key.keyid().unwrap();
            l.keys
                .insert(id.clone(), key.public_key().to_key_dict().unwrap());
            let mut s = Step::new(StepName::new(step).unwrap());
            s.pubkeys = vec![id];
            l.steps = vec![s];
            l
        };
        let mut root =
            Metadata::new(layout_with(&alice, "build").into(), Container::Metablock).unwrap();
        sign_metadata(&mut root, &owner).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut sub =
            Metadata::new(layout_with(&bob, "compile").into(), Container::Metablock).unwrap();
        sign_metadata(&mut sub, &alice).unwrap();
        let sub_file = StepName::new("build").unwrap().link_file_name(&alice_id);
        sub.save(&dir.path().join(&sub_file)).unwrap();
        let inner_dir = dir.path().join(sub_file.trim_end_matches(".link"));
        #[allow(clippy::disallowed_methods)] // a test's directory
        std::fs::create_dir_all(&inner_dir).unwrap();
        let mut inner = Metadata::new(
            Link::new(StepName::new("compile").unwrap()).into(),
            Container::Metablock,
        )
        .unwrap();
        sign_metadata(&mut inner, &bob).unwrap();
        let inner_file = StepName::new("compile").unwrap().link_file_name(&bob_id);
        inner.save(&inner_dir.join(&inner_file)).unwrap();

        let owners = BTreeMap::new();
        let inv = inventory(&InventoryInput {
            layout: &root,
            link_dir: Some(dir.path()),
            status: None,
            log: None,
            owners: &owners,
            now: time::OffsetDateTime::now_utc(),
        })
        .unwrap();
        let b = inv
            .keys
            .iter()
            .find(|k| k.keyid == bob_id.as_str())
            .unwrap();
        assert!(
            b.roles
                .iter()
                .any(|r| r.starts_with("functionary of compile in sublayout")),
            "{:?}",
            b.roles
        );
        assert_eq!(
            b.links,
            vec![format!(
                "{}/{inner_file}",
                sub_file.trim_end_matches(".link")
            )]
        );
    }
}
