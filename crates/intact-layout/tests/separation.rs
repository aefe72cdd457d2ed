//! `separate:`: separation of duties, compiled into the
//! `intact verify-separation` inspection, exported back, and a lint error
//! when separated steps share a key by key material (whatever its names
//! or keyids) or a functionary of a step separated from the source may
//! sign its commits.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use intact_layout::{export, BuildOptions, Compiled, Source};
use intact_model::Separation;

/// Keys alice, bob and carol in a directory; `alias.pub` is alice's key
/// again under another file name.
fn keys() -> (tempfile::TempDir, intact_crypto::SigningKey) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut alice = None;
    for who in ["alice", "bob", "carol"] {
        let k = intact_crypto::SigningKey::generate_ed25519();
        let pem = k.public_key().to_spki_pem().expect("pem");
        std::fs::write(dir.path().join(format!("{who}.pub")), &pem).expect("write");
        if who == "alice" {
            std::fs::write(dir.path().join("alias.pub"), &pem).expect("write");
            alice = Some(k);
        }
    }
    (dir, alice.expect("alice"))
}

fn compile(dir: &std::path::Path, yaml: &str) -> Compiled {
    Source::parse(yaml.to_string(), dir)
        .expect("parses")
        .compile(&BuildOptions::default())
        .expect("compiles")
}

fn separation_errors(c: &Compiled) -> Vec<String> {
    c.findings
        .iter()
        .filter(|f| f.code == "separation-of-duties")
        .map(|f| f.message.clone())
        .collect()
}

const STEPS: &str = "steps:\n  - name: source\n    functionaries: [alice]\n  \
     - name: build\n    functionaries: [bob]\n  - name: release\n    functionaries: [RELEASER]\n";

fn yaml(releaser: &str, extra: &str) -> String {
    format!(
        "expires: 2099-01-01\nkeys:\n  alice: alice.pub\n  bob: bob.pub\n  carol: carol.pub\n  \
         alias: alias.pub\n{}separate: [[source, release], [build, release]]\n{extra}",
        STEPS.replace("RELEASER", releaser)
    )
}

#[test]
fn separated_steps_with_distinct_keys_compile_and_export_back() {
    let (dir, _) = keys();
    let c = compile(dir.path(), &yaml("carol", ""));
    assert!(separation_errors(&c).is_empty(), "{:?}", c.findings);
    let insp = c.layout.inspect.last().expect("an inspection");
    assert_eq!(insp.name.as_str(), "separation-of-duties");
    let p = Separation::from_run(&insp.run)
        .expect("policy")
        .expect("parses");
    assert_eq!(p.groups.len(), 2);
    let exported = export(&c.layout).expect("exports");
    assert!(exported.contains("separate:"), "{exported}");
    assert!(!exported.contains("verify-separation"), "{exported}");
    assert_eq!(compile(dir.path(), &exported).layout, c.layout);
}

#[test]
fn one_key_under_two_names_is_one_person() {
    let (dir, _) = keys();
    // The same name: plainly shared.
    let c = compile(dir.path(), &yaml("alice", ""));
    let errors = separation_errors(&c);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("source and release"), "{errors:?}");
    // alias is alice's key under another name: still one person.
    let c = compile(dir.path(), &yaml("alias", ""));
    let errors = separation_errors(&c);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(c.has_errors());
}

#[test]
fn a_git_signer_who_releases_is_refused() {
    let (dir, alice) = keys();
    let ssh = alice.public_key().to_openssh().expect("ssh form");
    let git = format!(
        "git:\n  step: source\n  ref: refs/heads/main\n  signers: ['alice@example.com {ssh} alice']\n"
    );
    // Carol releases: fine.
    let c = compile(dir.path(), &yaml("carol", &git));
    assert!(separation_errors(&c).is_empty(), "{:?}", c.findings);
    // Carol's key may sign the source's commits and carol releases.
    let carol = intact_crypto::load_public_key(&dir.path().join("carol.pub")).unwrap();
    let git = git.replace(&ssh, &carol.to_openssh().unwrap());
    let c = compile(dir.path(), &yaml("carol", &git));
    let errors = separation_errors(&c);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("git signing key"), "{errors:?}");
}

#[test]
fn unusable_groups_are_errors() {
    let (dir, _) = keys();
    for bad in ["[[source, deploy]]", "[[source]]", "[[source, source]]"] {
        let y = yaml("carol", "").replace(
            "separate: [[source, release], [build, release]]",
            &format!("separate: {bad}"),
        );
        let c = compile(dir.path(), &y);
        assert_eq!(separation_errors(&c).len(), 1, "{bad}: {:?}", c.findings);
        assert!(c.layout.inspect.is_empty(), "{bad}");
    }
}
