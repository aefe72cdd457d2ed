//! Evaluation of in-toto artifact rules, exactly as the reference does it,
//! with failures that say which artifact changed where.
//!
//! ```
//! use std::collections::BTreeMap;
//! use intact_model::{Digest, DigestSet, Link, Rule, Side, StepName};
//! use intact_rules::verify_item_rules;
//!
//! let d = |h: &str| DigestSet::single("sha256", Digest::new(h).unwrap());
//! let mut clone = Link::new(StepName::new("clone").unwrap());
//! clone.products.insert("src/a.c".parse().unwrap(), d("aa"));
//! let mut build = Link::new(StepName::new("build").unwrap());
//! build.materials.insert("src/a.c".parse().unwrap(), d("aa"));
//! let links = BTreeMap::from([(clone.name.clone(), clone)]);
//! let rules = vec![
//!     Rule::parse_str("MATCH src/* WITH PRODUCTS FROM clone").unwrap(),
//!     Rule::parse_str("DISALLOW *").unwrap(),
//! ];
//! assert!(verify_item_rules(&build.name, Side::Materials, &rules, &build, &links).is_ok());
//! ```

mod eval;
mod pattern;

pub use eval::{
    check_rule_pattern, rule_pattern, trace_item_rules, verify_item_rules, Diagnosis, Offender,
    RuleError, RuleTrace, RuleViolation, UncompilableRule, ViolationKind,
};
pub use pattern::{fnmatch, Pattern, PatternError, PatternErrorKind};

#[cfg(test)]
mod tests;
