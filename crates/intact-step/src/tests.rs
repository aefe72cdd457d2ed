use std::path::{Path, PathBuf};

use intact_crypto::{verify_metadata, SigningKey};
use intact_git::RecordedGit;
use intact_model::{Container, Link, Metadata, Payload, StepName};
use intact_record::{HashOptions, RunOptions};

use crate::{
    run_step, start_step, stop_step, GitCapture, RunRequest, StartRequest, StepError, StopRequest,
};

fn step(name: &str) -> StepName {
    StepName::new(name).unwrap()
}

fn hash(base: &Path) -> HashOptions {
    HashOptions {
        base_path: Some(base.to_path_buf()),
        ..HashOptions::default()
    }
}

fn quiet(cwd: &Path) -> RunOptions {
    RunOptions {
        passthrough: false,
        cwd: Some(cwd.to_path_buf()),
        ..RunOptions::default()
    }
}

fn sh(script: &str) -> Option<Vec<String>> {
    Some(vec!["sh".into(), "-c".into(), script.into()])
}

fn link_of(md: &Metadata) -> Link {
    match md.payload().unwrap() {
        Payload::Link(l) => l,
        other => panic!("not a link: {other:?}"),
    }
}

fn names(artifacts: &intact_model::Artifacts) -> Vec<&str> {
    artifacts.iter().map(|(n, _)| n.as_str()).collect()
}

/// A work directory with `in.txt` and an empty `links/`.
fn work() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let links = dir.path().join("links");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&links).unwrap();
    std::fs::write(work.join("in.txt"), "1").unwrap();
    (dir, work, links)
}

#[test]
fn run_writes_the_signed_link_where_asked() {
    let (_dir, work, links) = work();
    let key = SigningKey::generate_ed25519();
    let recorded = run_step(
        &RunRequest::new(step("build"), &key)
            .materials(["in.txt"])
            .products(["out.txt"])
            .command(sh("echo made > out.txt; echo said; exit 3"))
            .hash_options(hash(&work))
            .run_options(quiet(&work))
            .link_dir(&links),
    )
    .unwrap();
    let expected = links.join(format!(
        "build.{}.link",
        recorded.keyid.as_ref().unwrap().short()
    ));
    assert_eq!(recorded.path, expected);
    assert_eq!(recorded.keyid, Some(key.keyid().unwrap()));
    // What was returned is what was written, and it verifies.
    let on_disk = Metadata::load(&expected).unwrap();
    assert_eq!(
        on_disk.to_bytes().unwrap(),
        recorded.metadata.to_bytes().unwrap()
    );
    verify_metadata(&on_disk, recorded.keyid.as_ref().unwrap(), key.public_key()).unwrap();
    // A failing command is recorded, not an error.
    let run = recorded.run.unwrap();
    assert_eq!(run.return_value, 3);
    let link = link_of(&on_disk);
    assert_eq!(link.return_value(), Some(3));
    assert_eq!(names(&link.materials), ["in.txt"]);
    assert_eq!(names(&link.products), ["out.txt"]);
    assert!(link.environment.is_empty());
    assert_eq!(on_disk.container(), Container::Metablock);
    // Nothing else was written: no leftover temporary files.
    assert_eq!(std::fs::read_dir(&links).unwrap().count(), 1);
}

#[test]
fn run_records_the_environment_and_the_container_asked_for() {
    let (_dir, work, links) = work();
    let key = SigningKey::generate_ed25519();
    let recorded = run_step(
        &RunRequest::new(step("build"), &key)
            .hash_options(hash(&work))
            .environment(["INTACT_STEP_TEST_UNSET_VARIABLE"])
            .container(Container::Envelope)
            .link_dir(&links),
    )
    .unwrap();
    assert!(recorded.run.is_none());
    let on_disk = Metadata::load(&recorded.path).unwrap();
    assert_eq!(on_disk.container(), Container::Envelope);
    let link = link_of(&on_disk);
    assert!(link.command.is_empty());
    assert!(link.environment.contains_key("recorder"));
    assert!(link.environment.contains_key("variables"));
}

/// A command that would leave `marker` behind if it ran.
#[test]
fn an_unsigned_run_writes_name_dot_link_without_signatures() {
    let (_dir, work, links) = work();
    for container in [Container::Metablock, Container::Envelope] {
        let recorded = run_step(
            &RunRequest::unsigned(step("try"))
                .materials(["."])
                .products(["."])
                .command(sh("echo made > out.txt"))
                .hash_options(hash(&work))
                .run_options(quiet(&work))
                .container(container)
                .link_dir(&links),
        )
        .unwrap();
        assert_eq!(recorded.path, links.join("try.link"));
        assert_eq!(recorded.keyid, None);
        let on_disk = Metadata::load(&recorded.path).unwrap();
        assert_eq!(on_disk.container(), container);
        assert!(on_disk.signatures().is_empty());
        let link = match on_disk.payload().unwrap() {
            Payload::Link(l) => l,
            other => panic!("not a link: {other:?}"),
        };
        assert_eq!(names(&link.products), ["in.txt", "out.txt"]);
    }
    // One file: the second run replaced try.link.
    let written: Vec<_> = std::fs::read_dir(&links).unwrap().collect();
    assert_eq!(written.len(), 1);
}

fn marker_command(work: &Path) -> Option<Vec<String>> {
    sh(&format!("touch {}", work.join("marker").display()))
}

fn run_into(work: &Path, key: &SigningKey, name: &str, dir: &Path) -> Result<(), StepError> {
    run_step(
        &RunRequest::new(step(name), key)
            .materials(["in.txt"])
            .command(marker_command(work))
            .hash_options(hash(work))
            .run_options(quiet(work))
            .link_dir(dir),
    )
    .map(drop)
}

#[test]
fn run_checks_the_link_directory_before_running_anything() {
    let (_dir, work, links) = work();
    let key = SigningKey::generate_ed25519();
    let missing = run_into(&work, &key, "build", &links.join("nope"));
    assert!(
        matches!(missing, Err(StepError::NoSuchDirectory { .. })),
        "{missing:?}"
    );
    let file = run_into(&work, &key, "build", &work.join("in.txt"));
    assert!(
        matches!(file, Err(StepError::NotADirectory { .. })),
        "{file:?}"
    );
    // Where the link would go there is a directory.
    let kid = key.keyid().unwrap();
    std::fs::create_dir(links.join(format!("build.{}.link", kid.short()))).unwrap();
    let taken = run_into(&work, &key, "build", &links);
    assert!(
        matches!(taken, Err(StepError::OutputIsDirectory { .. })),
        "{taken:?}"
    );
    assert!(
        !work.join("marker").exists(),
        "the command must not have run"
    );
}

#[cfg(unix)]
#[test]
fn run_checks_that_the_link_directory_takes_files() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, work, links) = work();
    let key = SigningKey::generate_ed25519();
    std::fs::set_permissions(&links, std::fs::Permissions::from_mode(0o555)).unwrap();
    let can_write = std::fs::write(links.join("probe"), "").is_ok();
    let result = run_into(&work, &key, "build", &links);
    std::fs::set_permissions(&links, std::fs::Permissions::from_mode(0o755)).unwrap();
    if can_write {
        // Root writes anyway: nothing to refuse there. /proc takes no new
        // files from anyone.
        assert!(result.is_ok(), "{result:?}");
        std::fs::remove_file(work.join("marker")).unwrap();
        if cfg!(target_os = "linux") {
            let proc = run_into(&work, &key, "build", Path::new("/proc"));
            assert!(
                matches!(proc, Err(StepError::NotWritable { .. })),
                "{proc:?}"
            );
        }
    } else {
        assert!(
            matches!(result, Err(StepError::NotWritable { .. })),
            "{result:?}"
        );
    }
    assert!(
        !work.join("marker").exists(),
        "the command must not have run"
    );
}

#[test]
fn control_characters_in_step_names_are_refused_when_recording() {
    let (_dir, work, links) = work();
    let key = SigningKey::generate_ed25519();
    for name in ["a\nb", "ok\u{1b}[2K", "del\u{7f}", "c1\u{9b}"] {
        // Reading stays lenient: such names parse (links others wrote).
        assert!(StepName::new(name).is_ok());
        let run = run_into(&work, &key, name, &links);
        assert!(
            matches!(run, Err(StepError::ControlCharacter { .. })),
            "{name:?}: {run:?}"
        );
        let start = start_step(
            &StartRequest::new(step(name), &key)
                .materials(["in.txt"])
                .hash_options(hash(&work))
                .unfinished_dir(&links),
        );
        assert!(
            matches!(start, Err(StepError::ControlCharacter { .. })),
            "{name:?}: {start:?}"
        );
    }
    assert!(!work.join("marker").exists());
    assert_eq!(std::fs::read_dir(&links).unwrap().count(), 0);
    // Printable names beyond ASCII are fine.
    run_into(&work, &key, "bau-schritt-ü", &links).unwrap();
}

fn start(work: &Path, key: &SigningKey, name: &str, dir: &Path) -> Result<PathBuf, StepError> {
    start_step(
        &StartRequest::new(step(name), key)
            .materials(["in.txt"])
            .hash_options(hash(work))
            .container(Container::Envelope)
            .unfinished_dir(dir),
    )
    .map(|r| r.path)
}

fn stop(
    work: &Path,
    key: &SigningKey,
    name: &str,
    unfinished: &Path,
    links: &Path,
) -> Result<PathBuf, StepError> {
    stop_step(
        &StopRequest::new(step(name), key)
            .products(["in.txt"])
            .hash_options(hash(work))
            .unfinished_dir(unfinished)
            .link_dir(links),
    )
    .map(|r| r.path)
}

#[test]
fn start_then_stop_hands_the_step_over() {
    let (dir, work, links) = work();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let bob = SigningKey::generate_ed25519();
    let kid = bob.keyid().unwrap();
    let unfinished = start(&work, &bob, "edit", &state).unwrap();
    assert_eq!(
        unfinished,
        state.join(format!(".edit.{}.link-unfinished", kid.short()))
    );
    std::fs::write(work.join("in.txt"), "2").unwrap();
    let path = stop(&work, &bob, "edit", &state, &links).unwrap();
    assert_eq!(path, links.join(format!("edit.{}.link", kid.short())));
    assert!(!unfinished.exists(), "stop removes the unfinished file");
    let md = Metadata::load(&path).unwrap();
    verify_metadata(&md, &kid, bob.public_key()).unwrap();
    // The start's container is kept.
    assert_eq!(md.container(), Container::Envelope);
    let link = link_of(&md);
    let digest = |a: &intact_model::Artifacts| {
        a.iter()
            .next()
            .map(|(_, d)| d.get("sha256").unwrap().as_str().to_string())
    };
    assert_eq!(names(&link.materials), ["in.txt"]);
    assert_eq!(names(&link.products), ["in.txt"]);
    assert_ne!(digest(&link.materials), digest(&link.products));
}

#[test]
fn stop_refuses_a_hand_over_from_another_key() {
    let (_dir, work, links) = work();
    let bob = SigningKey::generate_ed25519();
    let eve = SigningKey::generate_ed25519();
    let unfinished = start(&work, &bob, "edit", &work).unwrap();
    // Eve has no hand-over of her own.
    let none = stop(&work, &eve, "edit", &work, &links);
    assert!(
        matches!(none, Err(StepError::NoUnfinished { .. })),
        "{none:?}"
    );
    // Bob's, put where Eve's would be, is not signed by her.
    let eves = work.join(format!(
        ".edit.{}.link-unfinished",
        eve.keyid().unwrap().short()
    ));
    std::fs::copy(&unfinished, &eves).unwrap();
    let stolen = stop(&work, &eve, "edit", &work, &links);
    assert!(
        matches!(stolen, Err(StepError::HandOverSignature { .. })),
        "{stolen:?}"
    );
    assert!(eves.exists() && unfinished.exists());
    assert_eq!(std::fs::read_dir(&links).unwrap().count(), 0);
}

#[test]
fn stop_refuses_an_altered_hand_over() {
    let (_dir, work, links) = work();
    let bob = SigningKey::generate_ed25519();
    let state = links.join("state");
    std::fs::create_dir(&state).unwrap();
    let unfinished = start_step(
        &StartRequest::new(step("edit"), &bob)
            .materials(["in.txt"])
            .hash_options(hash(&work))
            .unfinished_dir(&state),
    )
    .unwrap()
    .path;
    let original = std::fs::read_to_string(&unfinished).unwrap();
    let altered = original.replace("\"in.txt\"", "\"other.txt\"");
    assert_ne!(original, altered);
    std::fs::write(&unfinished, altered).unwrap();
    let refused = stop(&work, &bob, "edit", &state, &links);
    assert!(
        matches!(refused, Err(StepError::HandOverSignature { .. })),
        "{refused:?}"
    );
    assert!(unfinished.exists());
    // Put back, it is taken over.
    std::fs::write(&unfinished, original).unwrap();
    stop(&work, &bob, "edit", &state, &links).unwrap();
}

#[test]
fn stop_refuses_a_hand_over_of_another_step() {
    let (_dir, work, links) = work();
    let bob = SigningKey::generate_ed25519();
    let short = bob.keyid().unwrap().short().to_string();
    let unfinished = start(&work, &bob, "build", &work).unwrap();
    std::fs::rename(
        &unfinished,
        work.join(format!(".test.{short}.link-unfinished")),
    )
    .unwrap();
    let refused = stop(&work, &bob, "test", &work, &links);
    assert!(
        matches!(refused, Err(StepError::StepMismatch { .. })),
        "{refused:?}"
    );
}

#[test]
fn start_and_stop_check_their_outputs_before_hashing() {
    let (_dir, work, links) = work();
    let bob = SigningKey::generate_ed25519();
    let nowhere = work.join("nowhere");
    let start_refused = start(&work, &bob, "edit", &nowhere);
    assert!(
        matches!(start_refused, Err(StepError::NoSuchDirectory { .. })),
        "{start_refused:?}"
    );
    let unfinished = start(&work, &bob, "edit", &work).unwrap();
    let stop_refused = stop(&work, &bob, "edit", &work, &nowhere);
    assert!(
        matches!(stop_refused, Err(StepError::NoSuchDirectory { .. })),
        "{stop_refused:?}"
    );
    // The hand-over survives a refused stop.
    assert!(unfinished.exists());
    stop(&work, &bob, "edit", &work, &links).unwrap();
}

/// A git repository at `dir` with `files` committed; the commit id.
fn commit(dir: &Path, files: &[(&str, &str)]) -> String {
    let repo = git2::Repository::open(dir)
        .or_else(|_| git2::Repository::init(dir))
        .unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("Bob", "bob@example.com").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, "c", &tree, &parents)
        .unwrap()
        .to_string()
}

fn recorded_commit(path: &Path) -> Option<String> {
    let link = link_of(&Metadata::load(path).unwrap());
    RecordedGit::from_link(&link).unwrap().map(|g| g.commit)
}

#[test]
fn stop_captures_git_facts_only_when_the_start_had_none() {
    let (dir, work, links) = work();
    let repo = work.join("repo");
    std::fs::create_dir(&repo).unwrap();
    let first = commit(&repo, &[("a.txt", "1")]);
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let bob = SigningKey::generate_ed25519();
    let git = || Some(GitCapture::new());
    let start_in = |materials: &str| {
        start_step(
            &StartRequest::new(step("edit"), &bob)
                .materials([materials])
                .hash_options(hash(&work))
                .git(git())
                .unfinished_dir(&state),
        )
        .unwrap()
    };
    let stop_on = |products: &str| {
        stop_step(
            &StopRequest::new(step("edit"), &bob)
                .products([products])
                .hash_options(hash(&work))
                .git(git())
                .unfinished_dir(&state)
                .link_dir(&links),
        )
        .unwrap()
        .path
    };

    // Materials outside any work tree: no facts at the start, so the
    // stop takes them from the products' work tree.
    let started = start_in("in.txt");
    assert_eq!(recorded_commit(&started.path), None);
    let path = stop_on("repo");
    assert_eq!(recorded_commit(&path), Some(first.clone()));

    // Facts at the start are the step's; a commit made in between does
    // not replace them.
    std::fs::remove_file(&path).unwrap();
    let started = start_in("repo");
    assert_eq!(recorded_commit(&started.path), Some(first.clone()));
    let second = commit(&repo, &[("a.txt", "2")]);
    assert_ne!(first, second);
    let path = stop_on("repo");
    assert_eq!(recorded_commit(&path), Some(first));
}

#[test]
fn run_takes_git_facts_from_the_materials_before_the_command() {
    let (_dir, work, links) = work();
    let repo = work.join("repo");
    std::fs::create_dir(&repo).unwrap();
    let first = commit(&repo, &[("a.txt", "1")]);
    let key = SigningKey::generate_ed25519();
    let recorded = run_step(
        &RunRequest::new(step("build"), &key)
            .materials(["repo"])
            .command(sh(
                "cd repo && echo 2 > a.txt && git -c user.name=B -c user.email=b@example.com \
                 -c commit.gpgsign=false commit -qam next",
            ))
            .hash_options(hash(&work))
            .run_options(quiet(&work))
            .git(Some(GitCapture::new()))
            .link_dir(&links),
    )
    .unwrap();
    assert_eq!(recorded.run.map(|r| r.return_value), Some(0));
    assert_eq!(recorded_commit(&recorded.path), Some(first));
}

fn recorded_git(path: &Path) -> RecordedGit {
    let link = link_of(&Metadata::load(path).unwrap());
    RecordedGit::from_link(&link).unwrap().unwrap()
}

#[test]
fn a_product_made_in_a_checkout_is_output_not_dirt() {
    let (_dir, work, links) = work();
    commit(&work, &[("src.txt", "1")]);
    // An untracked file of the user's (dirt), and the step's own output.
    std::fs::write(work.join("notes.txt"), "mine").unwrap();
    let key = SigningKey::generate_ed25519();
    let recorded = run_step(
        &RunRequest::new(step("build"), &key)
            .products(["out.txt"])
            .command(sh("echo hi > out.txt"))
            .hash_options(hash(&work))
            .run_options(quiet(&work))
            .git(Some(GitCapture::new()))
            .link_dir(&links),
    )
    .unwrap();
    assert_eq!(recorded.run.map(|r| r.return_value), Some(0));
    let git = recorded_git(&recorded.path);
    assert!(git.dirty);
    assert_eq!(git.changed, ["notes.txt"]);
    assert_eq!(recorded.git, Some(git));
}

#[test]
fn require_clean_refuses_before_the_command_runs() {
    let (_dir, work, links) = work();
    commit(&work, &[("src.txt", "1")]);
    std::fs::write(work.join("notes.txt"), "mine").unwrap();
    let key = SigningKey::generate_ed25519();
    let req = |require| {
        RunRequest::new(step("build"), &key)
            .materials(["src.txt"])
            .products(["out.txt"])
            .command(sh("echo hi > marker && echo hi > out.txt"))
            .hash_options(hash(&work))
            .run_options(quiet(&work))
            .git(Some(GitCapture::new().require_clean(require)))
            .link_dir(&links)
    };
    let err = run_step(&req(true)).unwrap_err();
    assert!(
        matches!(err, StepError::Git(intact_git::GitError::Dirty { .. })),
        "{err:?}"
    );
    assert!(!work.join("marker").exists());
    assert_eq!(std::fs::read_dir(&links).unwrap().count(), 0);
    // Without it the same step runs and its link says dirty.
    let recorded = run_step(&req(false)).unwrap();
    assert!(work.join("marker").exists());
    assert!(recorded_git(&recorded.path).dirty);
}

#[test]
fn a_clone_made_inside_a_checkout_is_the_source() {
    let (dir, work, links) = work();
    let outer = commit(&work, &[("src.txt", "1")]);
    let upstream = dir.path().join("upstream");
    std::fs::create_dir(&upstream).unwrap();
    let inner = commit(&upstream, &[("lib.rs", "fn f() {}")]);
    let key = SigningKey::generate_ed25519();
    let recorded = run_step(
        &RunRequest::new(step("clone"), &key)
            .products(["project"])
            .command(Some(vec![
                "git".into(),
                "clone".into(),
                "-q".into(),
                upstream.display().to_string(),
                "project".into(),
            ]))
            .hash_options(hash(&work))
            .run_options(quiet(&work))
            .git(Some(GitCapture::new()))
            .link_dir(&links),
    )
    .unwrap();
    assert_eq!(recorded.run.as_ref().map(|r| r.return_value), Some(0));
    assert_ne!(outer, inner);
    let git = recorded_git(&recorded.path);
    assert_eq!(git.commit, inner);
    assert!(!git.dirty, "{git:?}");
    assert_eq!(git.remote, None, "a local origin is not recorded");
}

/// `--attest`: the attestations are signed beside the link, for either
/// container, and carry the link's products; when one cannot be made (a
/// step without products) nothing is written, the link included.
#[test]
fn attestations_are_written_with_the_link_or_not_at_all() {
    use crate::{Attest, AttestRequest};
    let key = SigningKey::generate_ed25519();
    let both = || AttestRequest {
        kinds: vec![Attest::Slsa, Attest::Link],
        ..AttestRequest::default()
    };
    for container in [Container::Metablock, Container::Envelope] {
        let (_dir, tree, links) = work();
        let recorded = run_step(
            &RunRequest::new(step("build"), &key)
                .products(["in.txt"])
                .hash_options(hash(&tree))
                .container(container)
                .attest(both())
                .link_dir(&links),
        )
        .unwrap();
        assert_eq!(recorded.attestations.len(), 2);
        for path in &recorded.attestations {
            let env = intact_attest::load_envelope(path).unwrap();
            let st = intact_attest::statement_of(&env).unwrap();
            assert_eq!(st.subject[0].name.as_deref(), Some("in.txt"));
            let pae = env.pae();
            let sig = &env.signatures[0];
            assert!(key.public_key().verify(&pae, &sig.sig));
        }
        assert_eq!(std::fs::read_dir(&links).unwrap().count(), 3);

        let (_dir, tree, links) = work();
        let err = run_step(
            &RunRequest::new(step("build"), &key)
                .materials(["in.txt"])
                .hash_options(hash(&tree))
                .container(container)
                .attest(both())
                .link_dir(&links),
        )
        .unwrap_err();
        assert!(err.to_string().contains("recorded no products"), "{err}");
        assert_eq!(
            std::fs::read_dir(&links).unwrap().count(),
            0,
            "{container:?}"
        );
    }
}

/// A DSSE link's attestations are those of the link the envelope holds,
/// and each file is its envelope as written whole, with a newline.
#[test]
fn attestations_of_either_container_are_of_the_link_written() {
    use crate::{Attest, AttestRequest};
    let key = SigningKey::generate_ed25519();
    for container in [Container::Metablock, Container::Envelope] {
        let (_dir, tree, links) = work();
        let recorded = run_step(
            &RunRequest::new(step("build"), &key)
                .products(["in.txt", "out.txt"])
                .command(sh(
                    "printf 'caf\\303\\251 \\001 \\377'; printf x > out.txt; exit 3",
                ))
                .run_options(quiet(&tree))
                .hash_options(hash(&tree))
                .container(container)
                .attest(AttestRequest {
                    kinds: vec![Attest::Link, Attest::Slsa],
                    ..AttestRequest::default()
                })
                .link_dir(&links),
        )
        .unwrap();
        let link = link_of(&recorded.metadata);
        let want = intact_attest::slsa::link_payload(&link).unwrap();
        let env = intact_attest::load_envelope(&recorded.attestations[0]).unwrap();
        assert!(env.payload == want, "{container:?}: not the link written");
        for path in &recorded.attestations {
            let env = intact_attest::load_envelope(path).unwrap();
            let mut whole = env.to_bytes().unwrap();
            whole.push(b'\n');
            assert!(
                std::fs::read(path).unwrap() == whole,
                "{container:?} {path:?}"
            );
        }
    }
}
