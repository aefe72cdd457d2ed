//! Separation of duties, checked natively.
//!
//! A layout carries `separate:` as an inspection running `intact
//! verify-separation --steps A,B ...` (see `intact_model::separation`),
//! so that the reference runs it as a command. intact recognises it and
//! checks, by key material (one key under two keyids or names is one
//! person): no key whose signature counted for one step of a group
//! counted for another, and the key that signed the source's commit (the
//! git policy's step) is no functionary of a step separated from it.

use std::collections::BTreeMap;

use intact_crypto::PublicKey;
use intact_model::{Inspection, KeyId, Layout, Link, ModelError, Separation, StepName};
use serde_json::Value;

use crate::explain::key_label;
use crate::report::{FailureKind, Stage};
use crate::workflow::{fail, Ctx, Flow, Scope};

/// What one layout level's keys did.
pub(crate) struct Keys<'a> {
    /// The layout.
    pub layout: &'a Layout,
    /// Its functionary keys that parsed.
    pub functionaries: &'a BTreeMap<KeyId, PublicKey>,
    /// The keys whose links counted for each step.
    pub signed_by: &'a BTreeMap<StepName, Vec<KeyId>>,
}

/// A conflict: which key did what.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// `first` signed for step `a`, `second` (the same key material) for `b`.
    Shared {
        a: StepName,
        b: StepName,
        first: KeyId,
        second: KeyId,
    },
    /// The commit of `source` was signed by `principal` with `fingerprint`,
    /// the key `functionary` of step `step`, separated from `source`.
    GitSigner {
        source: StepName,
        step: StepName,
        functionary: KeyId,
        principal: String,
        fingerprint: String,
    },
}

/// The first conflict with `policy`, given who signed each step and who
/// signed each git policy's source commit (`(source step, signer)`).
pub(crate) fn conflict(
    policy: &Separation,
    keys: &Keys<'_>,
    commit_signers: &[(StepName, intact_git::Signer)],
) -> Option<Conflict> {
    let key = |id: &KeyId| keys.functionaries.get(id);
    let none = Vec::new();
    for (a, b) in policy.pairs() {
        let by_a = keys.signed_by.get(a).unwrap_or(&none);
        let by_b = keys.signed_by.get(b).unwrap_or(&none);
        for ka in by_a {
            let Some(pa) = key(ka) else { continue };
            if let Some(kb) = by_b
                .iter()
                .find(|kb| key(kb).is_some_and(|pb| pb.same_material(pa)))
            {
                return Some(Conflict::Shared {
                    a: a.clone(),
                    b: b.clone(),
                    first: ka.clone(),
                    second: kb.clone(),
                });
            }
        }
    }
    for (source, signer) in commit_signers {
        for other in policy.separated_from(source) {
            let Some(step) = keys.layout.steps.iter().find(|s| &s.name == other) else {
                continue;
            };
            for id in &step.pubkeys {
                let fp = key(id).and_then(PublicKey::ssh_fingerprint);
                if fp.as_deref() == Some(signer.key.as_str()) {
                    return Some(Conflict::GitSigner {
                        source: source.clone(),
                        step: other.clone(),
                        functionary: id.clone(),
                        principal: signer.principal.clone(),
                        fingerprint: signer.key.clone(),
                    });
                }
            }
        }
    }
    None
}

pub(crate) fn run(
    ctx: &mut Ctx<'_>,
    insp: &Inspection,
    policy: Result<Separation, ModelError>,
    keys: &Keys<'_>,
    commit_signers: &[(StepName, intact_git::Signer)],
    scope: &Scope,
) -> Flow<Link> {
    let here = scope.of(insp.name.as_str());
    let malformed = |why: String| {
        fail(
            FailureKind::SeparationMalformed,
            here.clone(),
            format!("the layout's separation of duties is malformed: {why}"),
            "rebuild the layout from its YAML with `intact layout build`",
        )
    };
    let policy = policy.map_err(|e| malformed(e.to_string()))?;
    for g in &policy.groups {
        for s in g {
            if !keys.layout.steps.iter().any(|st| &st.name == s) {
                return Err(malformed(format!("{s:?} is not a step of this layout")).into());
            }
        }
    }
    match conflict(&policy, keys, commit_signers) {
        Some(Conflict::Shared {
            a,
            b,
            first,
            second,
        }) => {
            let who = if first == second {
                key_label(&first, &ctx.names)
            } else {
                format!(
                    "{} and {} (the same key under two keyids)",
                    key_label(&first, &ctx.names),
                    key_label(&second, &ctx.names)
                )
            };
            return Err(fail(
                FailureKind::SeparationOfDuties,
                here,
                format!(
                    "steps {a} and {b} must be performed by different people, yet {who} signed for both"
                ),
                format!(
                    "have {b} recorded again by a functionary who did not perform {a}; if the key is shared, revoke it (docs/incident-response.md)"
                ),
            )
            .into());
        }
        Some(Conflict::GitSigner {
            source,
            step,
            functionary,
            principal,
            fingerprint,
        }) => {
            return Err(fail(
                FailureKind::SeparationOfDuties,
                here,
                format!(
                    "the commit of step {source} is signed by {principal} ({fingerprint}), which is {} of step {step}, separated from {source}",
                    key_label(&functionary, &ctx.names)
                ),
                format!(
                    "a person who signs source commits may not also perform {step}: have the owner give {step} other functionaries, or the commit signed by someone else"
                ),
            )
            .into());
        }
        None => {}
    }
    let groups: Vec<String> = policy
        .groups
        .iter()
        .map(|g| {
            g.iter()
                .map(StepName::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    ctx.pass(
        Stage::SeparationOfDuties,
        here,
        format!("different keys for [{}]", groups.join("], [")),
    );
    let mut link = Link::new(insp.name.clone());
    link.command = insp.run.clone();
    link.byproducts
        .insert("return-value".into(), Value::from(0));
    link.byproducts
        .insert("stdout".into(), Value::String(String::new()));
    link.byproducts
        .insert("stderr".into(), Value::String(String::new()));
    Ok(link)
}

#[cfg(test)]
mod tests {
    use intact_crypto::SigningKey;
    use intact_model::{Expires, Step};

    use super::*;

    fn name(s: &str) -> StepName {
        StepName::new(s).unwrap()
    }

    /// source by alice, release by bob; separated.
    fn setup() -> (Layout, BTreeMap<KeyId, PublicKey>, SigningKey, SigningKey) {
        let alice = SigningKey::generate_ed25519();
        let bob = SigningKey::generate_ed25519();
        let mut layout = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
        let mut keys = BTreeMap::new();
        for (step, k) in [("source", &alice), ("release", &bob)] {
            let id = k.keyid().unwrap();
            layout
                .keys
                .insert(id.clone(), k.public_key().to_key_dict().unwrap());
            keys.insert(id.clone(), k.public_key().clone());
            let mut s = Step::new(name(step));
            s.pubkeys = vec![id];
            layout.steps.push(s);
        }
        (layout, keys, alice, bob)
    }

    fn policy() -> Separation {
        Separation {
            groups: vec![vec![name("source"), name("release")]],
        }
    }

    #[test]
    fn one_key_material_under_two_keyids_is_one_person() {
        let (layout, mut keys, alice, bob) = setup();
        let mut signed_by = BTreeMap::from([
            (name("source"), vec![alice.keyid().unwrap()]),
            (name("release"), vec![bob.keyid().unwrap()]),
        ]);
        let k = Keys {
            layout: &layout,
            functionaries: &keys,
            signed_by: &signed_by,
        };
        assert_eq!(conflict(&policy(), &k, &[]), None);
        // Alice's key again, under another keyid, signed release.
        let twin = KeyId::new("ab".repeat(32)).unwrap();
        keys.insert(twin.clone(), alice.public_key().clone());
        signed_by.insert(name("release"), vec![twin.clone()]);
        let k = Keys {
            layout: &layout,
            functionaries: &keys,
            signed_by: &signed_by,
        };
        assert_eq!(
            conflict(&policy(), &k, &[]),
            Some(Conflict::Shared {
                a: name("source"),
                b: name("release"),
                first: alice.keyid().unwrap(),
                second: twin,
            })
        );
    }

    #[test]
    fn a_commit_signed_by_a_releaser_conflicts() {
        let (layout, keys, alice, bob) = setup();
        let signed_by = BTreeMap::from([
            (name("source"), vec![alice.keyid().unwrap()]),
            (name("release"), vec![bob.keyid().unwrap()]),
        ]);
        let k = Keys {
            layout: &layout,
            functionaries: &keys,
            signed_by: &signed_by,
        };
        let signer = |key: &SigningKey| intact_git::Signer {
            principal: "x@example.com".into(),
            key: key.public_key().ssh_fingerprint().unwrap(),
        };
        // Alice signs the commit and records source: allowed.
        assert_eq!(
            conflict(&policy(), &k, &[(name("source"), signer(&alice))]),
            None
        );
        // Bob, who releases, signed the commit.
        assert!(matches!(
            conflict(&policy(), &k, &[(name("source"), signer(&bob))]),
            Some(Conflict::GitSigner { step, .. }) if step == name("release")
        ));
    }
}
