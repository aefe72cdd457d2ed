//! The rows of ../shared/in-toto-spec.md §4.2-4.5, one test each.

use std::collections::BTreeMap;

use intact_model::{Digest, DigestSet, Link, Rule, Side, StepName};

use crate::*;

fn d(h: &str) -> DigestSet {
    DigestSet::single("sha256", Digest::new(h).unwrap())
}

fn link(name: &str, materials: &[(&str, &str)], products: &[(&str, &str)]) -> Link {
    let mut l = Link::new(StepName::new(name).unwrap());
    for (n, h) in materials {
        l.materials.insert(n.parse().unwrap(), d(h));
    }
    for (n, h) in products {
        l.products.insert(n.parse().unwrap(), d(h));
    }
    l
}

fn check(rules: &[&str], side: Side, item: &Link, others: &[Link]) -> Result<(), RuleViolation> {
    let rules: Vec<Rule> = rules.iter().map(|r| Rule::parse_str(r).unwrap()).collect();
    let links: BTreeMap<StepName, Link> =
        others.iter().map(|l| (l.name.clone(), l.clone())).collect();
    verify_item_rules(&item.name, side, &rules, item, &links).map_err(|e| match e {
        RuleError::Violation(v) => v,
        other => panic!("not a violation: {other}"),
    })
}

fn check_err(rules: &[&str], side: Side, item: &Link, others: &[Link]) -> RuleError {
    let rules: Vec<Rule> = rules.iter().map(|r| Rule::parse_str(r).unwrap()).collect();
    let links: BTreeMap<StepName, Link> =
        others.iter().map(|l| (l.name.clone(), l.clone())).collect();
    verify_item_rules(&item.name, side, &rules, item, &links).unwrap_err()
}

#[test]
fn an_uncompilable_pattern_fails_closed() {
    // 16,000 `?` exceed the regex engine's size limit. The reference
    // refuses this chain (`evil` is disallowed); treating the pattern as
    // a literal would let it pass.
    let huge = "?".repeat(16_000);
    let disallow = format!("DISALLOW {huge}");
    let l = link("s", &[], &[("evil", "1")]);
    for (rules, index) in [
        (vec![disallow.as_str()], 0),
        (vec!["ALLOW x", disallow.as_str()], 1),
        (vec!["ALLOW *", disallow.as_str()], 1),
    ] {
        let RuleError::Uncompilable(u) = check_err(&rules, Side::Products, &l, &[]) else {
            panic!("{rules:?} did not fail closed");
        };
        assert_eq!(u.rule_index, index);
        assert_eq!(u.side, Side::Products);
        assert_eq!(u.item.as_str(), "s");
        assert_eq!(u.error.kind, PatternErrorKind::TooLarge);
    }
    // Whatever the artifacts, and in any rule that carries a pattern.
    let empty = link("s", &[], &[]);
    for rule in [
        "MATCH {p} WITH PRODUCTS FROM x",
        "CREATE {p}",
        "MODIFY {p}",
        "DELETE {p}",
        "ALLOW {p}",
    ] {
        let rule = rule.replace("{p}", &huge);
        assert!(matches!(
            check_err(&[&rule], Side::Materials, &empty, &[]),
            RuleError::Uncompilable(_)
        ));
        assert!(check_rule_pattern(&Rule::parse_str(&rule).unwrap()).is_err());
    }
    assert!(check_rule_pattern(&Rule::parse_str(&format!("REQUIRE {huge}")).unwrap()).is_ok());
}

#[test]
fn empty_rules_allow_everything() {
    let l = link("s", &[("a", "1")], &[("b", "2")]);
    assert!(check(&[], Side::Materials, &l, &[]).is_ok());
    assert!(check(&[], Side::Products, &l, &[]).is_ok());
}

#[test]
fn create_consumes_new_products_only() {
    let l = link("s", &[("kept", "1")], &[("kept", "1"), ("new", "2")]);
    assert!(check(&["CREATE *", "DISALLOW new"], Side::Products, &l, &[]).is_ok());
    let err = check(&["CREATE *", "DISALLOW *"], Side::Products, &l, &[]).unwrap_err();
    assert_eq!(err.artifacts[0].name, "kept");
    // In material rules CREATE never consumes.
    assert!(check(&["CREATE *", "DISALLOW *"], Side::Materials, &l, &[]).is_err());
}

#[test]
fn delete_consumes_removed_materials_only() {
    let l = link("s", &[("gone", "1"), ("kept", "1")], &[("kept", "1")]);
    let err = check(&["DELETE *", "DISALLOW *"], Side::Materials, &l, &[]).unwrap_err();
    assert_eq!(err.artifacts[0].name, "kept");
    assert!(check(&["DELETE *", "DISALLOW *"], Side::Products, &l, &[]).is_err());
}

#[test]
fn modify_needs_different_digests_on_both_sides() {
    let l = link(
        "s",
        &[("same", "1"), ("changed", "1")],
        &[("same", "1"), ("changed", "2")],
    );
    for side in [Side::Materials, Side::Products] {
        let err = check(&["MODIFY *", "DISALLOW *"], side, &l, &[]).unwrap_err();
        assert_eq!(err.artifacts.len(), 1);
        assert_eq!(err.artifacts[0].name, "same");
    }
}

#[test]
fn allow_then_disallow_and_require() {
    let l = link("s", &[], &[("a.py", "1"), ("b.txt", "2")]);
    assert!(check(&["ALLOW *.py", "DISALLOW *.py"], Side::Products, &l, &[]).is_ok());
    assert!(check(&["REQUIRE a.py"], Side::Products, &l, &[]).is_ok());
    // REQUIRE after a rule consumed the artifact fails (§4.5).
    let err = check(&["ALLOW a.py", "REQUIRE a.py"], Side::Products, &l, &[]).unwrap_err();
    assert_eq!(err.kind, ViolationKind::RequiredMissing);
    assert_eq!(err.rule_index, 1);
    // REQUIRE is literal, not a glob.
    assert!(check(&["REQUIRE *.py"], Side::Products, &l, &[]).is_err());
}

#[test]
fn match_compares_whole_digest_sets() {
    let clone = link("clone", &[], &[("a", "1"), ("b", "1")]);
    let build = link("build", &[("a", "1"), ("b", "2")], &[]);
    let err = check(
        &["MATCH * WITH PRODUCTS FROM clone", "DISALLOW *"],
        Side::Materials,
        &build,
        std::slice::from_ref(&clone),
    )
    .unwrap_err();
    assert_eq!(err.artifacts.len(), 1);
    assert_eq!(err.artifacts[0].name, "b");
    assert_eq!(
        err.artifacts[0].diagnosis,
        Diagnosis::DigestMismatch {
            rule: "MATCH * WITH PRODUCTS FROM clone".into(),
            dest_item: "clone".into(),
            expected: d("1")
        }
    );
    assert_eq!(err.artifacts[0].digests, Some(d("2")));
    // An extra algorithm on one side means no match.
    let mut both = d("1");
    both.insert("sha512", Digest::new("ff").unwrap());
    let mut build2 = Link::new(StepName::new("build").unwrap());
    build2.materials.insert("a".parse().unwrap(), both);
    assert!(check(
        &["MATCH * WITH PRODUCTS FROM clone", "DISALLOW *"],
        Side::Materials,
        &build2,
        &[clone]
    )
    .is_err());
}

#[test]
fn match_prefixes_on_both_sides() {
    let clone = link("clone", &[], &[("dst/x/a.py", "1"), ("a.py", "1")]);
    let build = link("build", &[("src/x/a.py", "1")], &[]);
    let rules = [
        "MATCH x/* IN src WITH PRODUCTS IN dst FROM clone",
        "DISALLOW *",
    ];
    assert!(check(
        &rules,
        Side::Materials,
        &build,
        std::slice::from_ref(&clone)
    )
    .is_ok());
    // With a trailing slash the prefix is the same.
    let rules = [
        "MATCH x/* IN src/ WITH PRODUCTS IN dst/ FROM clone",
        "DISALLOW *",
    ];
    assert!(check(
        &rules,
        Side::Materials,
        &build,
        std::slice::from_ref(&clone)
    )
    .is_ok());
    // The pattern never sees the prefix.
    let rules = [
        "MATCH src/* IN src WITH PRODUCTS IN dst FROM clone",
        "DISALLOW *",
    ];
    assert!(check(
        &rules,
        Side::Materials,
        &build,
        std::slice::from_ref(&clone)
    )
    .is_err());
    // A prefix "." becomes "./", which never matches normalised names.
    let top = link("build", &[("a.py", "1")], &[]);
    assert!(check(
        &["MATCH * IN . WITH PRODUCTS FROM clone", "DISALLOW *"],
        Side::Materials,
        &top,
        std::slice::from_ref(&clone)
    )
    .is_err());
    // Source prefix only / destination prefix only.
    assert!(check(
        &["MATCH a.py IN src/x WITH PRODUCTS FROM clone", "DISALLOW *"],
        Side::Materials,
        &build,
        std::slice::from_ref(&clone)
    )
    .is_ok());
    let plain = link("build", &[("x/a.py", "1")], &[]);
    assert!(check(
        &["MATCH * WITH PRODUCTS IN dst FROM clone", "DISALLOW *"],
        Side::Materials,
        &plain,
        &[clone]
    )
    .is_ok());
}

#[test]
fn match_without_destination_link_consumes_nothing() {
    let build = link("build", &[("a", "1")], &[]);
    assert!(check(
        &["MATCH * WITH PRODUCTS FROM nowhere"],
        Side::Materials,
        &build,
        &[]
    )
    .is_ok());
    let err = check(
        &["MATCH * WITH PRODUCTS FROM nowhere", "DISALLOW *"],
        Side::Materials,
        &build,
        &[],
    )
    .unwrap_err();
    assert!(matches!(
        err.artifacts[0].diagnosis,
        Diagnosis::NoDestinationLink { .. }
    ));
}

#[test]
fn diagnoses_not_in_destination_and_unmatched() {
    let clone = link("clone", &[], &[("a", "1")]);
    let build = link("build", &[("src/b", "1"), ("other", "1")], &[]);
    let err = check(
        &["MATCH src/* WITH PRODUCTS FROM clone", "DISALLOW *"],
        Side::Materials,
        &build,
        &[clone],
    )
    .unwrap_err();
    assert_eq!(err.artifacts.len(), 2);
    assert_eq!(err.artifacts[0].name, "other");
    assert_eq!(err.artifacts[0].diagnosis, Diagnosis::Unmatched);
    assert!(matches!(
        err.artifacts[1].diagnosis,
        Diagnosis::NotInDestination { .. }
    ));
    assert_eq!(
        err.to_string(),
        "build: material rule 2 `DISALLOW *`: disallowed artifacts (other, src/b)"
    );
}

#[test]
fn cpython_fnmatch_corpus() {
    let text = include_str!("../tests/fixtures/fnmatch.json");
    let corpus: Vec<(String, String, bool)> = serde_json::from_str(text).unwrap();
    assert!(corpus.len() > 300);
    for (pattern, name, expected) in corpus {
        assert_eq!(
            fnmatch(&pattern, &name).unwrap(),
            expected,
            "{pattern:?} vs {name:?}"
        );
    }
}

#[test]
fn a_trace_says_what_each_rule_consumed() {
    let clone = link("clone", &[], &[("src/a.c", "aa"), ("src/b.c", "bb")]);
    let build = link(
        "build",
        &[("src/a.c", "aa"), ("src/b.c", "bb"), ("Makefile", "cc")],
        &[("app", "dd")],
    );
    let rules: Vec<Rule> = [
        "MATCH src/* WITH PRODUCTS FROM clone",
        "REQUIRE Makefile",
        "ALLOW Make*",
        "DISALLOW *",
        "ALLOW *",
    ]
    .iter()
    .map(|r| Rule::parse_str(r).unwrap())
    .collect();
    let links = BTreeMap::from([(clone.name.clone(), clone)]);
    let trace = trace_item_rules(&build.name, Side::Materials, &rules, &build, &links).unwrap();
    let consumed: Vec<(usize, Vec<&str>)> = trace
        .iter()
        .map(|t| {
            (
                t.rule_index,
                t.consumed.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        consumed,
        [
            (0, vec!["src/a.c", "src/b.c"]),
            (1, vec!["Makefile"]),
            (2, vec!["Makefile"]),
            (3, vec![]),
            (4, vec![]),
        ]
    );
    assert_eq!(trace[0].rule, "MATCH src/* WITH PRODUCTS FROM clone");
    // A violation is the same error as verify_item_rules gives.
    let strict: Vec<Rule> = ["DISALLOW *"]
        .iter()
        .map(|r| Rule::parse_str(r).unwrap())
        .collect();
    let traced = trace_item_rules(&build.name, Side::Materials, &strict, &build, &links);
    let plain = verify_item_rules(&build.name, Side::Materials, &strict, &build, &links);
    assert_eq!(traced.unwrap_err(), plain.unwrap_err());
}
