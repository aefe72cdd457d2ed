//! Artifact rules: the one-string form (`Rule::parse_str`, shlex-like) and
//! the reference's token arrays (`Rule::from_tokens`, JSON) never panic; a
//! parsed rule's tokens, JSON and `Display` form parse back to the same
//! rule; fnmatch patterns compile and match without panicking (a pattern
//! without `[` matches itself, one without metacharacters only itself);
//! and rule evaluation over names from the input never panics.
//!
//! Input: lines. Line 1 is a rule string; every line (and every
//! NUL-separated part of line 1) is also tried as a rule, a pattern and an
//! artifact name.
#![no_main]

use std::collections::BTreeMap;

use intact_model::{ArtifactName, Digest, DigestSet, Link, Rule, Side, StepName};
use intact_rules::{verify_item_rules, Pattern};
use libfuzzer_sys::fuzz_target;

/// `Pattern::new` as it is (infallible) or as it may become (fallible,
/// failing closed): the target builds against either.
trait IntoPattern {
    fn into_pattern(self) -> Option<Pattern>;
}

impl IntoPattern for Pattern {
    fn into_pattern(self) -> Option<Pattern> {
        Some(self)
    }
}

impl<E> IntoPattern for Result<Pattern, E> {
    fn into_pattern(self) -> Option<Pattern> {
        self.ok()
    }
}

fn check_rule(rule: &Rule) {
    let again = Rule::from_tokens(rule.tokens().to_vec()).expect("a rule's own tokens parse");
    assert_eq!(&again, rule, "tokens round trip");
    let json = serde_json::to_string(rule).expect("a rule serialises");
    let back: Rule = serde_json::from_str(&json).expect("a rule's JSON parses");
    assert_eq!(&back, rule, "JSON round trip");
    let shown = rule.to_string();
    let reparsed = Rule::parse_str(&shown).expect("a rule's display form parses");
    assert_eq!(
        reparsed.kind(),
        rule.kind(),
        "display round trip: {shown:?}"
    );
}

fn check_pattern(pattern: &str, names: &[&str]) {
    let Some(compiled) = Pattern::new(pattern).into_pattern() else {
        return;
    };
    assert_eq!(compiled.as_str(), pattern);
    if !pattern.contains('[') {
        assert!(
            compiled.matches(pattern),
            "{pattern:?} does not match itself"
        );
    }
    for name in names {
        let hit = compiled.matches(name);
        if !pattern.contains(['*', '?', '[']) {
            assert_eq!(
                hit,
                *name == pattern,
                "literal {pattern:?} against {name:?}"
            );
        }
        if pattern == "*" {
            assert!(hit);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.first().copied().unwrap_or_default();
    let mut rules = Vec::new();

    for candidate in lines
        .iter()
        .chain(first.split('\0').collect::<Vec<_>>().iter())
    {
        if let Ok(rule) = Rule::parse_str(candidate) {
            check_rule(&rule);
            rules.push(rule);
        }
    }
    let tokens: Vec<String> = first.split('\0').map(str::to_string).collect();
    if let Ok(rule) = Rule::from_tokens(tokens.clone()) {
        assert_eq!(rule.tokens(), &tokens[..]);
        check_rule(&rule);
        rules.push(rule);
    }
    if let Ok(rule) = serde_json::from_str::<Rule>(&text) {
        check_rule(&rule);
    }

    let names: Vec<&str> = lines.iter().skip(1).copied().take(16).collect();
    for pattern in names
        .iter()
        .take(4)
        .chain(rules.iter().map(Rule::pattern).collect::<Vec<_>>().iter())
    {
        check_pattern(pattern, &names);
    }

    // Evaluate the rules over a link whose materials and products are the
    // names (products with another digest for odd lines), with itself as
    // the only other step.
    let (Ok(step), Ok(other)) = (StepName::new("a"), StepName::new("b")) else {
        return;
    };
    let mut link = Link::new(step.clone());
    for (i, name) in names.iter().enumerate() {
        let Ok(artifact) = ArtifactName::new(*name) else {
            continue;
        };
        let digest = |b: u8| DigestSet::single("sha256", Digest::from_bytes(&[b; 32]));
        link.materials.insert(artifact.clone(), digest(0));
        link.products.insert(artifact, digest((i % 2) as u8));
    }
    let mut links = BTreeMap::new();
    let mut b = link.clone();
    b.name = other;
    links.insert(b.name.clone(), b);
    links.insert(step.clone(), link.clone());
    for side in [Side::Materials, Side::Products] {
        let _ = verify_item_rules(&step, side, &rules, &link, &links);
    }
});
