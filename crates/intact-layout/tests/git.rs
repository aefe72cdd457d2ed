//! The `git:` section: compiled into the `intact git verify-source`
//! inspection, exported back, and refused when it could not prove anything.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use intact_layout::{export, BuildOptions, Source};
use intact_model::GitPolicy;

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIARMDqJGytSxdsEDAT0M2kpolsN7fVEFW8QTA8XTneZf";

fn layout(git: &str) -> String {
    format!(
        "expires: 2099-01-01\nkeys:\n  bob: bob.pub\nsteps:\n  - name: clone\n    \
         functionaries: [bob]\n{git}"
    )
}

fn dir_with_bob() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let bob = intact_crypto::SigningKey::generate_ed25519();
    let pem = bob.public_key().to_spki_pem().expect("pem");
    std::fs::write(dir.path().join("bob.pub"), pem).expect("write");
    dir
}

#[test]
fn the_git_section_becomes_a_policy_inspection_and_exports_back() {
    let dir = dir_with_bob();
    std::fs::write(dir.path().join("alice.pub"), format!("{KEY} alice\n")).expect("write");
    std::fs::write(
        dir.path().join("allowed_signers"),
        format!("# team\nbob@example.com {KEY} bob\n"),
    )
    .expect("write");
    let yaml = layout(
        "git:\n  step: clone\n  ref: refs/heads/main\n  tag: v*\n  path: src/\n  \
         signers: [alice@example.com alice.pub]\n  signers_file: allowed_signers\n",
    );
    let compiled = Source::parse(yaml, dir.path())
        .expect("parses")
        .compile(&BuildOptions::default())
        .expect("compiles");
    assert!(!compiled.has_errors(), "{:?}", compiled.findings);
    let insp = compiled.layout.inspect.last().expect("an inspection");
    assert_eq!(insp.name.as_str(), "git-provenance");
    let policy = GitPolicy::from_run(&insp.run)
        .expect("a git policy")
        .expect("well formed");
    assert_eq!(policy.step.as_str(), "clone");
    assert_eq!(policy.protected_ref.as_deref(), Some("refs/heads/main"));
    assert_eq!(policy.tag.as_deref(), Some("v*"));
    assert_eq!(policy.path.as_deref(), Some("src/"));
    assert_eq!(
        policy.signers,
        [
            format!("alice@example.com {KEY} alice"),
            format!("bob@example.com {KEY} bob")
        ]
    );
    // Export gives a git: section again, and building it gives the same layout.
    let yaml = export(&compiled.layout).expect("exports");
    assert!(yaml.contains("git:"), "{yaml}");
    assert!(!yaml.contains("verify-source"), "{yaml}");
    let again = Source::parse(yaml, dir.path())
        .expect("parses")
        .compile(&BuildOptions::default())
        .expect("compiles");
    assert_eq!(again.layout, compiled.layout);
}

/// Compile `yaml`, which must fail lint with a `git-policy` finding;
/// returns its message.
fn git_policy_error(yaml: String, dir: &tempfile::TempDir) -> String {
    let compiled = Source::parse(yaml, dir.path())
        .expect("parses")
        .compile(&BuildOptions::default())
        .expect("compiles with findings");
    assert!(compiled.has_errors());
    compiled
        .findings
        .iter()
        .find(|f| f.code == "git-policy")
        .unwrap_or_else(|| panic!("no git-policy finding: {:?}", compiled.findings))
        .message
        .clone()
}

#[test]
fn unusable_git_sections_are_errors_with_a_code() {
    let dir = dir_with_bob();
    for (git, why) in [
        (
            format!("git:\n  step: build\n  ref: main\n  signers: ['a {KEY}']\n"),
            "not a step",
        ),
        (
            format!("git:\n  step: clone\n  signers: ['a {KEY}']\n"),
            "ref",
        ),
        ("git:\n  step: clone\n  ref: main\n".to_string(), "signer"),
        (
            "git:\n  step: clone\n  ref: main\n  signers: [a missing.pub]\n".to_string(),
            "missing.pub",
        ),
        (
            format!("git:\n  step: clone\n  ref: main\n  side: both\n  signers: ['a {KEY}']\n"),
            "side",
        ),
    ] {
        let message = git_policy_error(layout(&git), &dir);
        assert!(message.contains(why), "{why}: {message}");
    }
}

#[test]
fn a_hand_written_policy_inspection_is_linted_too() {
    let dir = dir_with_bob();
    for (run, why) in [
        ("[intact, git, verify-source, --step, clone, --ref, main]", "signer"),
        (
            "[intact, git, verify-source, --step, deploy, --ref, main, --signer, 'a ssh-ed25519 AAAA']",
            "not a step",
        ),
    ] {
        let yaml = layout(&format!("inspect:\n  - name: provenance\n    run: {run}\n"));
        let message = git_policy_error(yaml, &dir);
        assert!(message.contains(why), "{why}: {message}");
    }
}
