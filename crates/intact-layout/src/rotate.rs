//! Key rotation (`intact layout rotate-key`): replace a functionary key
//! everywhere a layout uses it, by key material: the embedded key, every
//! step that lists it, and git signers holding the same key.

use std::path::Path;

use intact_crypto::PublicKey;
use intact_model::{GitPolicy, KeyId, Layout, StepName};

use crate::spec::{KeySpec, Source};
use crate::LayoutError;

/// What a rotation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rotation {
    /// The keyids the old key was listed under (one, unless the layout
    /// listed the same key twice).
    pub old_keyids: Vec<KeyId>,
    /// The new key's keyid.
    pub new_keyid: Option<KeyId>,
    /// Steps whose functionaries changed.
    pub steps: Vec<StepName>,
    /// Git signer lines (`allowed_signers`) that changed.
    pub git_signers: usize,
    /// For YAML: the places the key file was named.
    pub yaml_places: usize,
}

fn rotate_err(why: impl Into<String>) -> LayoutError {
    LayoutError::Rotate(why.into())
}

/// Replace `from` with `to` in `layout` (by key material, whatever keyid
/// or name `from` is listed under). The new key keeps the old one's name.
/// Signatures are not touched: a signed layout must be signed again.
pub fn rotate_key(
    layout: &Layout,
    from: &PublicKey,
    to: &PublicKey,
) -> Result<(Layout, Rotation), LayoutError> {
    if from.same_material(to) {
        return Err(rotate_err("the old and the new key are the same key"));
    }
    let mut out = layout.clone();
    let mut r = Rotation::default();
    let mut name = None;
    for (id, dict) in &layout.keys {
        if PublicKey::from_key_dict(dict).is_ok_and(|k| k.same_material(from)) {
            r.old_keyids.push(id.clone());
            name = name.or_else(|| dict.name().map(str::to_string));
            out.keys.remove(id);
        }
    }
    let new_id = to.keyid()?;
    if !r.old_keyids.is_empty() {
        let mut dict = to.to_key_dict()?;
        if let Some(n) = &name {
            dict = dict.clone().with_name(n).unwrap_or(dict);
        }
        out.keys.insert(new_id.clone(), dict);
    }
    for step in &mut out.steps {
        if !step.pubkeys.iter().any(|k| r.old_keyids.contains(k)) {
            continue;
        }
        let mut pubkeys = Vec::new();
        for k in &step.pubkeys {
            let k = if r.old_keyids.contains(k) {
                new_id.clone()
            } else {
                k.clone()
            };
            if !pubkeys.contains(&k) {
                pubkeys.push(k);
            }
        }
        step.pubkeys = pubkeys;
        r.steps.push(step.name.clone());
    }
    if let (Some(old), Some(new)) = (from.to_openssh(), to.to_openssh()) {
        for insp in &mut out.inspect {
            let Some(Ok(mut policy)) = GitPolicy::from_run(&insp.run) else {
                continue;
            };
            let mut changed = 0;
            for line in &mut policy.signers {
                if line.contains(&old) {
                    *line = line.replace(&old, &new);
                    changed += 1;
                }
            }
            if changed > 0 {
                insp.run = policy.to_run();
                r.git_signers += changed;
            }
        }
    }
    if r.old_keyids.is_empty() && r.git_signers == 0 {
        return Err(rotate_err(
            "the old key is not in the layout (neither a functionary key nor a git signer)",
        ));
    }
    r.new_keyid = Some(new_id);
    Ok((out, r))
}

/// Rotate in a YAML layout: every place that names a key file holding
/// `from` (under `keys`, as a functionary, or as a git signer's key file)
/// is made to name `to_file` instead (a path relative to the YAML's
/// directory); the rest of the text, comments included, is kept. Inline
/// keys and `allowed_signers` lines are not rewritten (an error says so).
pub fn rotate_yaml(
    text: &str,
    base_dir: &Path,
    from: &PublicKey,
    to_file: &str,
) -> Result<(String, Rotation), LayoutError> {
    let src = Source::parse(text.to_string(), base_dir)?;
    let spec = src.spec();
    let holds_old = |rel: &str| {
        let path = base_dir.join(rel);
        path.is_file() && intact_crypto::load_public_key(&path).is_ok_and(|k| k.same_material(from))
    };
    let mut files: Vec<String> = Vec::new();
    let mut inline = false;
    for (_, k) in spec.keys.iter() {
        match k {
            KeySpec::File(rel) if holds_old(rel) => files.push(rel.clone()),
            KeySpec::Inline(map) => {
                let dict = intact_model::KeyDict::new(map.clone()).ok();
                if dict
                    .and_then(|d| PublicKey::from_key_dict(&d).ok())
                    .is_some_and(|k| k.same_material(from))
                {
                    inline = true;
                }
            }
            KeySpec::File(_) => {}
        }
    }
    let mut steps = Vec::new();
    for s in &spec.steps {
        for f in &s.functionaries {
            if spec.keys.get(f).is_none() && holds_old(f) {
                files.push(f.clone());
            }
            let by_name = match spec.keys.get(f) {
                Some(KeySpec::File(rel)) => holds_old(rel),
                _ => false,
            };
            if (by_name || holds_old(f)) && !steps.contains(&s.name) {
                steps.push(s.name.clone());
            }
        }
    }
    if let Some(g) = &spec.git {
        for line in &g.signers {
            if let [_, file] = line.split_whitespace().collect::<Vec<_>>().as_slice() {
                if holds_old(file) {
                    files.push((*file).to_string());
                }
            }
        }
    }
    if inline {
        return Err(rotate_err(
            "the old key is written inline under `keys`; replace it by hand (or name a key file)",
        ));
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        return Err(rotate_err(
            "no key file in the layout holds the old key (git allowed_signers lines are not rewritten; edit them by hand)",
        ));
    }
    let mut out = text.to_string();
    let mut places = 0;
    for f in &files {
        let (replaced, n) = replace_scalar(&out, f, to_file);
        out = replaced;
        places += n;
    }
    let r = Rotation {
        old_keyids: from.keyid().into_iter().collect(),
        new_keyid: None,
        steps: steps
            .iter()
            .filter_map(|s| StepName::new(s.clone()).ok())
            .collect(),
        git_signers: 0,
        yaml_places: places,
    };
    // The result must still be a layout.
    Source::parse(out.clone(), base_dir)?;
    Ok((out, r))
}

/// Replace `old` where it stands alone as a YAML word (not inside a
/// longer path); how many times.
fn replace_scalar(text: &str, old: &str, new: &str) -> (String, usize) {
    let boundary_before = |c: Option<char>| {
        c.is_none_or(|c| matches!(c, ' ' | '[' | ',' | '"' | '\'' | ':' | '\n' | '\t' | '-'))
    };
    let boundary_after = |c: Option<char>| {
        c.is_none_or(|c| matches!(c, ' ' | ']' | ',' | '"' | '\'' | '\n' | '\r' | '#' | '\t'))
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut n = 0;
    while let Some(i) = rest.find(old) {
        let (head, tail) = rest.split_at(i);
        let before = head.chars().next_back().or_else(|| out.chars().next_back());
        let after = tail.get(old.len()..).and_then(|t| t.chars().next());
        out.push_str(head);
        if boundary_before(before) && boundary_after(after) {
            out.push_str(new);
            n += 1;
        } else {
            out.push_str(old);
        }
        rest = tail.get(old.len()..).unwrap_or_default();
    }
    out.push_str(rest);
    (out, n)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::disallowed_methods)]
mod tests {
    use intact_crypto::SigningKey;
    use intact_model::{Expires, Inspection, Step};

    use super::*;

    #[test]
    fn a_key_is_replaced_in_keys_steps_and_git_signers() {
        let old = SigningKey::generate_ed25519();
        let new = SigningKey::generate_ed25519();
        let other = SigningKey::generate_ed25519();
        let mut layout = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
        for k in [&old, &other] {
            let dict = k
                .public_key()
                .to_key_dict()
                .unwrap()
                .with_name("bob")
                .unwrap();
            layout.keys.insert(k.keyid().unwrap(), dict);
        }
        let mut build = Step::new(StepName::new("build").unwrap());
        build.pubkeys = vec![old.keyid().unwrap(), other.keyid().unwrap()];
        let mut test = Step::new(StepName::new("test").unwrap());
        test.pubkeys = vec![other.keyid().unwrap()];
        layout.steps = vec![build, test];
        let mut policy = GitPolicy::new(StepName::new("build").unwrap());
        policy.protected_ref = Some("refs/heads/main".into());
        policy.signers = vec![format!(
            "bob@example.com {} bob",
            old.public_key().to_openssh().unwrap()
        )];
        layout.inspect.push(Inspection::new(
            StepName::new("git-provenance").unwrap(),
            policy.to_run(),
        ));

        let (rotated, r) = rotate_key(&layout, old.public_key(), new.public_key()).unwrap();
        assert_eq!(r.old_keyids, [old.keyid().unwrap()]);
        assert_eq!(r.steps, [StepName::new("build").unwrap()]);
        assert_eq!(r.git_signers, 1);
        assert!(!rotated.keys.contains_key(&old.keyid().unwrap()));
        let dict = rotated.keys.get(&new.keyid().unwrap()).unwrap();
        assert_eq!(dict.name(), Some("bob"));
        assert_eq!(
            rotated.steps[0].pubkeys,
            [new.keyid().unwrap(), other.keyid().unwrap()]
        );
        let back = GitPolicy::from_run(&rotated.inspect[0].run)
            .unwrap()
            .unwrap();
        assert!(back.signers[0].contains(&new.public_key().to_openssh().unwrap()));
        // Rotating a key the layout does not hold is an error.
        assert!(rotate_key(&rotated, old.public_key(), new.public_key()).is_err());
        assert!(rotate_key(&layout, old.public_key(), old.public_key()).is_err());
    }

    #[test]
    fn yaml_names_the_new_key_file_and_keeps_comments() {
        let dir = tempfile::tempdir().unwrap();
        let old = SigningKey::generate_ed25519();
        let carol = SigningKey::generate_ed25519();
        for (f, k) in [("keys/bob.pub", &old), ("keys/bob.pub.bak", &carol)] {
            std::fs::create_dir_all(dir.path().join("keys")).unwrap();
            std::fs::write(dir.path().join(f), k.public_key().to_spki_pem().unwrap()).unwrap();
        }
        let yaml = "expires: 2099-01-01\n# bob builds\nkeys:\n  bob: keys/bob.pub # the build key\n  carol: keys/bob.pub.bak\nsteps:\n  - name: build\n    functionaries: [bob]\n  - name: test\n    functionaries: [keys/bob.pub, carol]\n";
        let (out, r) =
            rotate_yaml(yaml, dir.path(), old.public_key(), "keys/bob-2027.pub").unwrap();
        assert_eq!(r.yaml_places, 2);
        assert_eq!(r.steps.len(), 2);
        assert!(out.contains("# bob builds"));
        assert!(
            out.contains("bob: keys/bob-2027.pub # the build key"),
            "{out}"
        );
        assert!(out.contains("[keys/bob-2027.pub, carol]"), "{out}");
        assert!(out.contains("carol: keys/bob.pub.bak"), "{out}");
        // Carol's key is not the old one.
        assert!(rotate_yaml(&out, dir.path(), old.public_key(), "x.pub").is_err());
    }
}
