//! Separation of duties and how it travels inside a signed layout.
//!
//! A layout can require that certain steps be performed by different
//! people: `separate: [[source, release], [build, approve]]` in the YAML.
//! As with the git policy ([`crate::git`]), the requirement is written as
//! an ordinary inspection, here running `intact verify-separation --steps
//! source,release --steps build,approve`, so it travels under the owner's
//! signature in a layout the in-toto reference loads and runs.
//! [`Separation::to_run`] and [`Separation::from_run`] are the one
//! encoding both directions use.

use crate::{ModelError, StepName};

/// The argv an inspection starts with when it carries a separation policy.
pub const SEPARATION_COMMAND: [&str; 2] = ["intact", "verify-separation"];

/// The inspection name the layout compiler gives it.
pub const SEPARATION_INSPECTION_NAME: &str = "separation-of-duties";

/// Groups of steps no one key may take part in two of.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Separation {
    /// Each group: steps whose functionaries must all differ, pairwise.
    pub groups: Vec<Vec<StepName>>,
}

impl Separation {
    /// Refuse groups that separate nothing (fewer than two distinct steps).
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |why: String| Err(ModelError::Separation(why));
        if self.groups.is_empty() {
            return bad("no group of steps".into());
        }
        for g in &self.groups {
            let mut names: Vec<&str> = g.iter().map(StepName::as_str).collect();
            names.sort_unstable();
            names.dedup();
            if names.len() != g.len() {
                return bad(format!("group [{}] names a step twice", join(g)));
            }
            if g.len() < 2 {
                return bad(format!("group [{}] must name at least two steps", join(g)));
            }
        }
        Ok(())
    }

    /// Every pair of steps that must not share a key, each pair once, in
    /// the order the groups name them.
    pub fn pairs(&self) -> Vec<(&StepName, &StepName)> {
        let mut out: Vec<(&StepName, &StepName)> = Vec::new();
        for g in &self.groups {
            for (i, a) in g.iter().enumerate() {
                for b in g.iter().skip(i + 1) {
                    let seen = out
                        .iter()
                        .any(|(x, y)| (*x == a && *y == b) || (*x == b && *y == a));
                    if !seen {
                        out.push((a, b));
                    }
                }
            }
        }
        out
    }

    /// The steps separated from `step` (sharing a group with it).
    pub fn separated_from<'s>(&'s self, step: &StepName) -> Vec<&'s StepName> {
        let mut out: Vec<&StepName> = Vec::new();
        for (a, b) in self.pairs() {
            let other = if a == step {
                b
            } else if b == step {
                a
            } else {
                continue;
            };
            if !out.contains(&other) {
                out.push(other);
            }
        }
        out
    }

    /// The first pair of separated steps a keyid signed for both, given
    /// the keyids that signed each step's links. This compares keyids
    /// only, as a verifier without the layout's keys can (`intact
    /// verify-separation` run by the reference); `intact verify` compares
    /// key material.
    pub fn shared_keyid(
        &self,
        signed_by: &std::collections::BTreeMap<StepName, Vec<crate::KeyId>>,
    ) -> Option<(&StepName, &StepName, crate::KeyId)> {
        self.pairs().into_iter().find_map(|(a, b)| {
            let by_b = signed_by.get(b)?;
            let shared = signed_by.get(a)?.iter().find(|k| by_b.contains(k))?;
            Some((a, b, shared.clone()))
        })
    }

    /// The inspection command that carries this policy.
    pub fn to_run(&self) -> Vec<String> {
        let mut run: Vec<String> = SEPARATION_COMMAND.iter().map(|s| s.to_string()).collect();
        for g in &self.groups {
            run.push("--steps".into());
            run.push(join(g).replace(", ", ","));
        }
        run
    }

    /// Parse an inspection command back into the policy; `None` when the
    /// command is not a separation policy at all.
    pub fn from_run(run: &[String]) -> Option<Result<Separation, ModelError>> {
        let is_policy = run.len() >= SEPARATION_COMMAND.len()
            && run.iter().zip(SEPARATION_COMMAND).all(|(a, b)| a == b);
        if !is_policy {
            return None;
        }
        Some(Self::from_args(
            run.get(SEPARATION_COMMAND.len()..).unwrap_or_default(),
        ))
    }

    /// Parse the flags after `intact verify-separation`: `--steps A,B`
    /// once per group.
    pub fn from_args(args: &[String]) -> Result<Separation, ModelError> {
        let bad = |why: String| ModelError::Separation(why);
        let mut groups = Vec::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag != "--steps" {
                return Err(bad(format!("unknown flag {flag:?}")));
            }
            let value = it
                .next()
                .ok_or_else(|| bad("--steps needs a value".into()))?;
            let group = value
                .split(',')
                .map(|s| {
                    StepName::new(s.trim()).map_err(|e| bad(format!("--steps {value:?}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            groups.push(group);
        }
        let s = Separation { groups };
        s.validate()?;
        Ok(s)
    }
}

fn join(g: &[StepName]) -> String {
    g.iter()
        .map(StepName::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sep(groups: &[&[&str]]) -> Separation {
        Separation {
            groups: groups
                .iter()
                .map(|g| g.iter().map(|s| StepName::new(*s).expect("name")).collect())
                .collect(),
        }
    }

    #[test]
    fn run_round_trips() {
        let s = sep(&[&["source", "release"], &["build", "approve", "release"]]);
        let run = s.to_run();
        assert_eq!(
            run,
            [
                "intact",
                "verify-separation",
                "--steps",
                "source,release",
                "--steps",
                "build,approve,release"
            ]
        );
        assert_eq!(
            Separation::from_run(&run).expect("policy").expect("parses"),
            s
        );
        let names =
            |v: Vec<&StepName>| v.iter().map(|s| s.as_str().to_string()).collect::<Vec<_>>();
        assert_eq!(
            names(s.separated_from(&StepName::new("release").expect("name"))),
            ["source", "build", "approve"]
        );
        assert_eq!(s.pairs().len(), 4);
    }

    #[test]
    fn bad_policies_are_refused_and_others_ignored() {
        for bad in [
            &["--steps", "a"][..],
            &["--steps", "a,a"],
            &["--steps"],
            &["--group", "a,b"],
            &[],
            &["--steps", "a,../b"],
        ] {
            let args: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
            assert!(Separation::from_args(&args).is_err(), "{bad:?}");
        }
        let other: Vec<String> = ["intact", "git", "verify-source"]
            .map(String::from)
            .to_vec();
        assert!(Separation::from_run(&other).is_none());
    }
}
