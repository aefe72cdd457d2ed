//! Property: any layout exported to YAML compiles back to the same layout,
//! whatever its strings contain.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use intact_layout::{export, BuildOptions, Source};
use intact_model::{Expires, Inspection, Layout, Rule, Step, StepName};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    // Characters that matter to YAML, to shell-style splitting and to
    // parameter templates.
    proptest::string::string_regex(r##"[a-zA-Z0-9 *?\[\]!{}'"\\#:,&|>%@`\t\n\-é.]{0,12}"##).unwrap()
}

fn name() -> impl Strategy<Value = StepName> {
    proptest::string::string_regex(r##"[a-zA-Z0-9 _'"#:{}\-é]{1,8}"##)
        .unwrap()
        .prop_filter_map("valid step name", |s| StepName::new(s).ok())
}

fn rule() -> impl Strategy<Value = Rule> {
    let verb = prop_oneof![
        Just("CREATE"),
        Just("delete"),
        Just("Modify"),
        Just("ALLOW"),
        Just("DISALLOW"),
        Just("REQUIRE")
    ];
    prop_oneof![
        (verb, text()).prop_map(|(v, p)| vec![v.to_string(), p]),
        (
            text(),
            proptest::option::of(text()),
            proptest::option::of(text()),
            text()
        )
            .prop_map(|(p, sp, dp, from)| {
                let mut t = vec!["MATCH".to_string(), p];
                if let Some(sp) = sp {
                    t.extend(["IN".to_string(), sp]);
                }
                t.extend(["with".to_string(), "PRODUCTS".to_string()]);
                if let Some(dp) = dp {
                    t.extend(["in".to_string(), dp]);
                }
                t.extend(["FROM".to_string(), from]);
                t
            }),
    ]
    .prop_map(|tokens| Rule::from_tokens(tokens).unwrap())
}

fn layout() -> impl Strategy<Value = Layout> {
    let step = (
        name(),
        proptest::collection::vec(rule(), 0..4),
        proptest::collection::vec(text(), 0..4),
        -1i64..4,
    )
        .prop_map(|(n, rules, cmd, threshold)| {
            let mut s = Step::new(n);
            s.expected_materials = rules.clone();
            s.expected_products = rules;
            s.expected_command = cmd;
            s.threshold = threshold;
            s
        });
    let insp = (
        name(),
        proptest::collection::vec(rule(), 0..3),
        proptest::collection::vec(text(), 0..3),
    )
        .prop_map(|(n, rules, run)| {
            let mut i = Inspection::new(n, run);
            i.expected_products = rules;
            i
        });
    (
        proptest::collection::vec(step, 0..3),
        proptest::collection::vec(insp, 0..2),
        text(),
    )
        .prop_map(|(steps, inspect, readme)| {
            let mut l = Layout::new(Expires::parse("2031-02-03T04:05:06Z").unwrap());
            l.steps = steps;
            l.inspect = inspect;
            l.readme = readme;
            l
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn export_then_compile_is_identity(l in layout()) {
        let yaml = export(&l).unwrap();
        let again = Source::parse(yaml.clone(), ".").unwrap().compile(&BuildOptions::default()).unwrap();
        prop_assert_eq!(&again.layout, &l, "{}", yaml);
        let errors: Vec<_> = again.findings.iter()
            .filter(|f| !matches!(f.code, "duplicate-name" | "threshold-below-one"
                | "threshold-exceeds-keys" | "match-unknown-step" | "match-later-step"
                | "unreachable-rule"))
            .filter(|f| f.severity == intact_layout::Severity::Error)
            .collect();
        prop_assert!(errors.is_empty(), "{:#?}", errors);
    }
}
