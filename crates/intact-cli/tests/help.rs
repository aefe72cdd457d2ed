//! Every subcommand's `--help` ends with examples and its exit codes, so a
//! user never has to guess what 1 and 2 mean.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

/// Every leaf subcommand of `intact` (walked from `intact help`'s lists).
fn leaves(prefix: &[String]) -> Vec<Vec<String>> {
    let mut args = prefix.to_vec();
    args.push("--help".into());
    let out = Command::new(env!("CARGO_BIN_EXE_intact"))
        .args(&args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let Some(list) = text.split("Commands:\n").nth(1) else {
        return vec![prefix.to_vec()];
    };
    let names: Vec<String> = list
        .lines()
        .take_while(|l| l.starts_with("  "))
        // A wrapped description goes on further indented.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    names
        .into_iter()
        .flat_map(|n| {
            let mut p = prefix.to_vec();
            p.push(n);
            leaves(&p)
        })
        .collect()
}

#[test]
fn every_subcommand_help_ends_with_examples_and_exit_codes() {
    let all = leaves(&[]);
    // The walk itself must have found the commands (a broken walk would
    // pass vacuously).
    for expected in [
        &["run"][..],
        &["record", "start"],
        &["verify"],
        &["layout", "build"],
        &["git", "verify-source"],
        &["key", "generate"],
        &["demo"],
    ] {
        assert!(
            all.iter().any(|c| c == expected),
            "{expected:?} not found among {all:?}"
        );
    }
    for cmd in &all {
        let mut args = cmd.clone();
        args.push("--help".into());
        let out = Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(&args)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let examples = text.find("\nExamples:\n");
        let codes = text.find("\nExit codes:\n");
        assert!(
            matches!((examples, codes), (Some(e), Some(c)) if e < c),
            "intact {} --help lacks examples followed by exit codes:\n{text}",
            cmd.join(" ")
        );
    }
}
