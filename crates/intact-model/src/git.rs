//! The git provenance policy and how it travels inside a signed layout.
//!
//! A layout must carry the policy (which step holds the source, which ref
//! it must be on, who may sign it) under the owner's signature, yet stay a
//! layout the reference accepts. So the policy is written as an ordinary
//! inspection whose command is `intact git verify-source <flags>`: the
//! reference runs that command, intact recognises it and checks natively.
//! [`GitPolicy::to_inspection`] and [`GitPolicy::from_run`] are the one
//! encoding both directions use, so what the author wrote is exactly what
//! the verifier enforces.

use crate::{ModelError, Side, StepName};

/// Name prefix of the material the recorder adds for a git source
/// (`git+<remote>@<ref>`, in the style of in-toto ITE-4 resource names).
pub const GIT_MATERIAL_PREFIX: &str = "git+";

/// Digest algorithm name of that material: its value is the commit id.
pub const GIT_COMMIT_DIGEST: &str = "gitCommit";

/// The argv an inspection starts with when it carries a git policy.
pub const VERIFY_SOURCE_COMMAND: [&str; 3] = ["intact", "git", "verify-source"];

/// The inspection name [`GitPolicy::to_inspection`] uses by default.
pub const DEFAULT_INSPECTION_NAME: &str = "git-provenance";

/// What the owner requires of the commit a chain starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitPolicy {
    /// The step whose recorded artifacts must equal the commit's tree.
    pub step: StepName,
    /// Which of the step's artifacts: products (a clone) by default.
    pub side: Side,
    /// Artifact-name prefix at which the repository's root was recorded
    /// (`src/` when the step recorded `src/main.rs` for the tree's
    /// `main.rs`); `None` takes what the recorder wrote in the link.
    pub path: Option<String>,
    /// The commit must be reachable from this ref (`refs/heads/main`).
    pub protected_ref: Option<String>,
    /// Release from a tag: a tag whose name matches this glob (`v*`) must
    /// point at the commit and carry a signature by an allowed signer.
    pub tag: Option<String>,
    /// Who may sign: OpenSSH `allowed_signers` lines
    /// (`principal ssh-ed25519 AAAA... [comment]`).
    pub signers: Vec<String>,
    /// Fingerprints of GPG keys allowed to sign (checked only when the
    /// verifier is given a GPG verifier; never accepted unchecked).
    pub gpg_fingerprints: Vec<String>,
    /// The source step must have recorded a clean work tree (its links
    /// say `dirty: false`); carried as `--require-clean`.
    pub require_clean: bool,
}

impl GitPolicy {
    /// A policy for `step` with no ref, tag or signers yet.
    pub fn new(step: StepName) -> Self {
        GitPolicy {
            step,
            side: Side::Products,
            path: None,
            protected_ref: None,
            tag: None,
            signers: Vec::new(),
            gpg_fingerprints: Vec::new(),
            require_clean: false,
        }
    }

    /// Refuse policies that could not prove anything.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |why: &str| Err(ModelError::GitPolicy(why.into()));
        if self.protected_ref.is_none() && self.tag.is_none() {
            return bad("name a protected ref (ref) or a release tag pattern (tag)");
        }
        if self.signers.is_empty() && self.gpg_fingerprints.is_empty() {
            return bad("name at least one allowed signer");
        }
        for s in &self.signers {
            if s.contains('\n') || s.split_whitespace().count() < 3 {
                return bad(&format!(
                    "signer {s:?} is not an allowed_signers line \
                     (principal key-type base64-key [comment])"
                ));
            }
        }
        if let Some(p) = &self.path {
            if !(p.is_empty() || p.ends_with('/')) {
                return bad(&format!("path {p:?} must be empty or end with '/'"));
            }
        }
        Ok(())
    }

    /// The inspection command that carries this policy.
    pub fn to_run(&self) -> Vec<String> {
        let mut run: Vec<String> = VERIFY_SOURCE_COMMAND
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut flag = |f: &str, v: &str| {
            run.push(f.to_string());
            run.push(v.to_string());
        };
        flag("--step", self.step.as_str());
        flag(
            "--side",
            match self.side {
                Side::Materials => "materials",
                Side::Products => "products",
            },
        );
        if let Some(p) = &self.path {
            flag("--path", p);
        }
        if let Some(r) = &self.protected_ref {
            flag("--ref", r);
        }
        if let Some(t) = &self.tag {
            flag("--tag", t);
        }
        for s in &self.signers {
            flag("--signer", s);
        }
        for g in &self.gpg_fingerprints {
            flag("--gpg-fingerprint", g);
        }
        if self.require_clean {
            run.push("--require-clean".to_string());
        }
        run
    }

    /// Whether an inspection's command is a git policy (it may still be a
    /// malformed one: [`GitPolicy::from_run`] says).
    pub fn is_policy_run(run: &[String]) -> bool {
        run.len() >= VERIFY_SOURCE_COMMAND.len()
            && run.iter().zip(VERIFY_SOURCE_COMMAND).all(|(a, b)| a == b)
    }

    /// Parse an inspection command back into the policy; `None` when the
    /// command is not a git policy at all.
    pub fn from_run(run: &[String]) -> Option<Result<GitPolicy, ModelError>> {
        if !Self::is_policy_run(run) {
            return None;
        }
        Some(Self::from_args(
            run.get(VERIFY_SOURCE_COMMAND.len()..).unwrap_or_default(),
        ))
    }

    /// Parse the flags after `intact git verify-source`.
    pub fn from_args(args: &[String]) -> Result<GitPolicy, ModelError> {
        let bad = ModelError::GitPolicy;
        let mut step = None;
        let mut side = Side::Products;
        let mut path = None;
        let mut protected_ref = None;
        let mut tag = None;
        let mut signers = Vec::new();
        let mut gpg = Vec::new();
        let mut require_clean = false;
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            // The one flag without a value.
            if flag == "--require-clean" {
                require_clean = true;
                continue;
            }
            let value = it
                .next()
                .ok_or_else(|| bad(format!("{flag} needs a value")))?
                .clone();
            let once = |slot: &mut Option<String>, v: String| {
                if slot.replace(v).is_some() {
                    Err(bad(format!("{flag} given twice")))
                } else {
                    Ok(())
                }
            };
            match flag.as_str() {
                "--step" => {
                    let s = StepName::new(&value).map_err(|e| bad(format!("--step: {e}")))?;
                    if step.replace(s).is_some() {
                        return Err(bad("--step given twice".into()));
                    }
                }
                "--side" => {
                    side = match value.as_str() {
                        "materials" => Side::Materials,
                        "products" => Side::Products,
                        other => {
                            return Err(bad(format!(
                                "--side must be materials or products, not {other:?}"
                            )))
                        }
                    }
                }
                "--path" => once(&mut path, value)?,
                "--ref" => once(&mut protected_ref, value)?,
                "--tag" => once(&mut tag, value)?,
                "--signer" => signers.push(value),
                "--gpg-fingerprint" => gpg.push(value),
                other => return Err(bad(format!("unknown flag {other:?}"))),
            }
        }
        let policy = GitPolicy {
            step: step.ok_or_else(|| bad("--step is required".into()))?,
            side,
            path,
            protected_ref,
            tag,
            signers,
            gpg_fingerprints: gpg,
            require_clean,
        };
        policy.validate()?;
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> GitPolicy {
        let mut p = GitPolicy::new(StepName::new("clone").expect("valid name"));
        p.protected_ref = Some("refs/heads/main".into());
        p.tag = Some("v*".into());
        p.path = Some("src/".into());
        p.signers = vec!["alice@example.com ssh-ed25519 AAAAC3Nza alice".into()];
        p
    }

    #[test]
    fn a_clean_tree_requirement_round_trips() {
        let mut p = policy();
        p.require_clean = true;
        let run = p.to_run();
        assert_eq!(run.last().map(String::as_str), Some("--require-clean"));
        let back = GitPolicy::from_run(&run)
            .expect("is a policy")
            .expect("parses");
        assert_eq!(back, p);
        assert!(
            !GitPolicy::from_run(&policy().to_run())
                .expect("is a policy")
                .expect("parses")
                .require_clean
        );
    }

    #[test]
    fn run_round_trips() {
        let p = policy();
        let run = p.to_run();
        assert_eq!(&run[..3], &["intact", "git", "verify-source"]);
        let back = GitPolicy::from_run(&run)
            .expect("is a policy")
            .expect("parses");
        assert_eq!(back, p);
    }

    #[test]
    fn other_commands_are_not_policies() {
        let run: Vec<String> = ["tar", "xzf", "x.tgz"].map(String::from).to_vec();
        assert!(GitPolicy::from_run(&run).is_none());
        let run: Vec<String> = ["intact", "git"].map(String::from).to_vec();
        assert!(GitPolicy::from_run(&run).is_none());
    }

    #[test]
    fn malformed_policies_are_refused() {
        let cases: [&[&str]; 6] = [
            &["--step", "clone", "--ref", "main"],
            &["--step", "clone", "--signer", "a ssh-ed25519 AAAA"],
            &["--ref", "main", "--signer", "a ssh-ed25519 AAAA"],
            &["--step", "clone", "--ref", "main", "--signer", "just-a-key"],
            &[
                "--step", "clone", "--ref", "a", "--ref", "b", "--signer", "a k b",
            ],
            &["--step", "clone", "--bogus", "x", "--signer", "a k b"],
        ];
        for args in cases {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            assert!(GitPolicy::from_args(&args).is_err(), "{args:?} accepted");
        }
        let dangling: Vec<String> = vec!["--step".into()];
        assert!(GitPolicy::from_args(&dangling).is_err());
    }
}
