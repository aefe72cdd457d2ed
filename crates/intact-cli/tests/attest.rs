//! `intact attest`, `intact attest slsa`, `intact run --attest` and
//! `intact verify-attestation` (issue 18): statements written, each check
//! failing on its own, output pinned, and the statements read by the
//! in-toto Attestation Framework's Python bindings.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{json, Value};

const PROVENANCE: &str = "https://slsa.dev/provenance/v1";
const BUILDER: &str = "https://ci.example/runner";
const SOURCE: &str = "https://git.example/app";

fn intact(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_intact"));
    cmd.args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env_remove("INTACT_KEY")
        .env_remove("INTACT_KEY_PASSWORD")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITLAB_CI");
    intact_tests::output_bounded(&mut cmd, Duration::from_secs(120), || {})
}

fn ok(dir: &Path, args: &[&str]) -> Output {
    let out = intact(dir, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        intact_tests::output_text(&out)
    );
    out
}

fn settings(dir: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex::escape(&dir.display().to_string()), "[TMP]");
    s.add_filter(r"\b[0-9a-f]{64}\b", "[KEYID]");
    s
}

/// A directory with keys alice and mallory, a file `app` and a
/// provenance predicate naming BUILDER and SOURCE.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["key", "generate", "alice"]);
    ok(d, &["key", "generate", "mallory"]);
    std::fs::write(d.join("app"), b"the application\n").unwrap();
    let predicate = json!({
        "buildDefinition": {
            "buildType": "https://example.invalid/build/v1",
            "externalParameters": {"source": {"repository": SOURCE, "ref": "refs/heads/main"}},
            "resolvedDependencies": [{"uri": format!("git+{SOURCE}@{}", "c".repeat(40)), "digest": {"gitCommit": "c".repeat(40)}}]
        },
        "runDetails": {"builder": {"id": BUILDER}}
    });
    std::fs::write(d.join("provenance.json"), predicate.to_string()).unwrap();
    std::fs::write(d.join("review.json"), r#"{"reviewed": true}"#).unwrap();
    ok(
        d,
        &[
            "attest",
            "--subject",
            "app",
            "--predicate-type",
            PROVENANCE,
            "--predicate",
            "provenance.json",
            "--key",
            "alice.pem",
            "-o",
            "app.intoto.json",
        ],
    );
    dir
}

fn verify(d: &Path, envelope: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "verify-attestation",
        envelope,
        "--key",
        "alice.pub",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = intact(d, &args);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", intact_tests::output_text(&out)));
    (out.status.code().unwrap(), report)
}

fn status(report: &Value, check: &str) -> String {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == check)
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

const ALL: [&str; 8] = [
    "--subject",
    "app",
    "--builder-id",
    BUILDER,
    "--source-uri",
    SOURCE,
    "--source-ref",
    "refs/heads/main",
];

#[test]
fn an_attestation_verifies_with_every_check() {
    let dir = setup();
    let d = dir.path();
    let (code, report) = verify(d, "app.intoto.json", &ALL);
    assert_eq!(code, 0, "{report}");
    for c in [
        "signature",
        "statement",
        "subject",
        "predicate-type",
        "builder-id",
        "source",
    ] {
        assert_eq!(status(&report, c), "pass", "{c}: {report}");
    }
    let mut args = vec![
        "verify-attestation",
        "app.intoto.json",
        "--key",
        "alice.pub",
    ];
    args.extend_from_slice(&ALL);
    let text = ok(d, &args);
    settings(d).bind(|| {
        insta::assert_snapshot!(
            "verify_attestation_pass",
            String::from_utf8_lossy(&text.stdout)
        );
        insta::assert_snapshot!(
            "verify_attestation_json",
            serde_json::to_string_pretty(&report).unwrap()
        );
    });
}

#[test]
fn each_check_fails_on_its_own() {
    let dir = setup();
    let d = dir.path();
    let wrong_digest = format!("app=sha256:{}", "0".repeat(64));
    let cases: [(&str, Vec<&str>); 4] = [
        ("subject", vec!["--subject", &wrong_digest]),
        (
            "builder-id",
            vec!["--builder-id", "https://ci.example/other"],
        ),
        ("source", vec!["--source-uri", "https://git.example/fork"]),
        ("source", vec!["--source-ref", "refs/heads/dev"]),
    ];
    for (check, args) in cases {
        let (code, report) = verify(d, "app.intoto.json", &args);
        assert_eq!(code, 1, "{args:?}: {report}");
        assert_eq!(status(&report, check), "fail", "{args:?}: {report}");
        assert_eq!(status(&report, "signature"), "pass");
    }
    // The wrong key.
    let out = intact(
        d,
        &[
            "verify-attestation",
            "app.intoto.json",
            "--key",
            "mallory.pub",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status(&report, "signature"), "fail");
    // A tampered payload.
    let mut env: Value =
        serde_json::from_slice(&std::fs::read(d.join("app.intoto.json")).unwrap()).unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = String::from_utf8(b64.decode(env["payload"].as_str().unwrap()).unwrap()).unwrap();
    env["payload"] = json!(b64.encode(payload.replace("ci.example", "ci.exampie")));
    std::fs::write(d.join("tampered.json"), env.to_string()).unwrap();
    let (code, report) = verify(d, "tampered.json", &[]);
    assert_eq!(code, 1);
    assert_eq!(status(&report, "signature"), "fail");
    assert_eq!(status(&report, "statement"), "skip");
    // An unknown predicate type, refused unless asked for.
    ok(
        d,
        &[
            "attest",
            "--subject",
            "app",
            "--predicate-type",
            "https://example.com/review/v1",
            "--predicate",
            "review.json",
            "--key",
            "alice.pem",
            "-o",
            "review.intoto.json",
        ],
    );
    let (code, report) = verify(d, "review.intoto.json", &[]);
    assert_eq!(code, 1);
    assert_eq!(status(&report, "predicate-type"), "fail");
    let (code, _) = verify(
        d,
        "review.intoto.json",
        &[
            "--predicate-type",
            "https://example.com/review/v1",
            "--subject",
            "app",
        ],
    );
    assert_eq!(code, 0);
    // builder-id asked of a predicate that has none.
    let (code, report) = verify(
        d,
        "review.intoto.json",
        &[
            "--predicate-type",
            "https://example.com/review/v1",
            "--builder-id",
            BUILDER,
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(status(&report, "builder-id"), "fail");
}

#[test]
fn unusable_input_exits_2() {
    let dir = setup();
    let d = dir.path();
    std::fs::write(d.join("garbage.json"), b"{\"payload\": 1}").unwrap();
    std::fs::write(
        d.join("bad-predicate.json"),
        br#"{"buildDefinition": {}, "runDetails": {}}"#,
    )
    .unwrap();
    for args in [
        vec!["verify-attestation", "missing.json", "--key", "alice.pub"],
        vec!["verify-attestation", "garbage.json", "--key", "alice.pub"],
        vec![
            "verify-attestation",
            "app.intoto.json",
            "--key",
            "missing.pub",
        ],
        vec![
            "verify-attestation",
            "app.intoto.json",
            "--key",
            "alice.pub",
            "--subject",
            "missing",
        ],
        vec![
            "attest",
            "--subject",
            "missing",
            "--predicate-type",
            "x:y",
            "--predicate",
            "review.json",
            "--key",
            "alice.pem",
        ],
        vec![
            "attest",
            "--subject",
            "app",
            "--predicate-type",
            PROVENANCE,
            "--predicate",
            "bad-predicate.json",
            "--key",
            "alice.pem",
        ],
        vec![
            "attest",
            "--subject",
            "app=sha256:abc",
            "--predicate-type",
            "x:y",
            "--predicate",
            "review.json",
            "--key",
            "alice.pem",
        ],
    ] {
        let out = intact(d, &args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            intact_tests::output_text(&out)
        );
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    }
}

/// An OCI image layout as `skopeo copy docker://... oci:DIR:TAG` writes
/// it: `oci-layout`, `index.json` naming the manifest by digest and tag,
/// content-addressed blobs.
fn write_oci_layout(dir: &Path, tag: &str) -> String {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let h = sha256_hex(bytes);
        std::fs::write(blobs.join(&h), bytes).unwrap();
        h
    };
    let config =
        put(br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config}"), "size": 78},
        "layers": []
    })
    .to_string();
    let m = put(manifest.as_bytes());
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{m}"),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag}
        }]
    });
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    m
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn an_oci_image_is_attested_by_its_manifest_digest() {
    let dir = setup();
    let d = dir.path();
    let digest = write_oci_layout(&d.join("image"), "v1");
    ok(
        d,
        &[
            "attest",
            "--subject-oci",
            "image:v1",
            "--predicate-type",
            PROVENANCE,
            "--predicate",
            "provenance.json",
            "--key",
            "alice.pem",
            "-o",
            "image.intoto.json",
        ],
    );
    let subject = format!("v1=sha256:{digest}");
    let (code, report) = verify(d, "image.intoto.json", &["--subject", &subject]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["subjects"][0]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let out = intact(
        d,
        &[
            "attest",
            "--subject-oci",
            "image:v2",
            "--predicate-type",
            PROVENANCE,
            "--predicate",
            "provenance.json",
            "--key",
            "alice.pem",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
}

/// A recorded step with SLSA provenance and a link attestation.
fn record(d: &Path) -> Output {
    std::fs::write(d.join("src.c"), b"int main(){}\n").unwrap();
    ok(
        d,
        &[
            "run",
            "-n",
            "build",
            "-k",
            "alice.pem",
            "--no-git",
            "-m",
            "src.c",
            "-p",
            "out.bin",
            "--attest",
            "slsa",
            "--attest",
            "link",
            "--builder-id",
            BUILDER,
            "--",
            "cp",
            "src.c",
            "out.bin",
        ],
    )
}

fn only(d: &Path, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(found.len(), 1, "{suffix}: {found:?}");
    found.into_iter().next().unwrap()
}

#[test]
fn run_attests_its_products_deterministically() {
    let dir = setup();
    let d = dir.path();
    record(d);
    let slsa = only(d, ".slsa.intoto.json");
    let first = std::fs::read(&slsa).unwrap();
    record(d);
    assert_eq!(
        std::fs::read(&slsa).unwrap(),
        first,
        "same inputs, same bytes"
    );
    let name = slsa.file_name().unwrap().to_str().unwrap().to_string();
    let (code, report) = verify(d, &name, &["--subject", "out.bin", "--builder-id", BUILDER]);
    assert_eq!(code, 0, "{report}");
    let link = only(d, ".link.intoto.json");
    let (code, report) = verify(
        d,
        link.file_name().unwrap().to_str().unwrap(),
        &["--subject", "out.bin"],
    );
    assert_eq!(code, 0, "{report}");
    // From the link afterwards: the same provenance.
    let link_file = only(d, ".link");
    ok(
        d,
        &[
            "attest",
            "slsa",
            "--link",
            link_file.to_str().unwrap(),
            "--key",
            "alice.pem",
            "--builder-id",
            BUILDER,
            "-o",
            "again.json",
        ],
    );
    let (code, report) = verify(
        d,
        "again.json",
        &["--subject", "out.bin", "--builder-id", BUILDER],
    );
    assert_eq!(code, 0, "{report}");
    // An attestation is signed: an unsigned run cannot write one.
    let out = intact(
        d,
        &[
            "run",
            "-n",
            "x",
            "--no-sign",
            "--attest",
            "slsa",
            "-p",
            "app",
            "--no-command",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_attestation_frameworks_python_bindings_read_every_statement() {
    let dir = setup();
    let d = dir.path();
    record(d);
    let vsa = json!({
        "verifier": {"id": "https://example.invalid/intact", "version": {"intact": "0.1.0"}},
        "timeVerified": "2023-11-14T22:13:20Z",
        "resourceUri": "file:app",
        "policy": {"uri": "root.layout", "digest": {"sha256": "1".repeat(64)}},
        "inputAttestations": [{"uri": "build.link", "digest": {"sha256": "2".repeat(64)}}],
        "verificationResult": "PASSED",
        "verifiedLevels": ["SLSA_BUILD_LEVEL_1"]
    });
    std::fs::write(d.join("vsa.json"), vsa.to_string()).unwrap();
    ok(
        d,
        &[
            "attest",
            "--subject",
            "app",
            "--predicate-type",
            "https://slsa.dev/verification_summary/v1",
            "--predicate",
            "vsa.json",
            "--key",
            "alice.pem",
            "-o",
            "vsa.intoto.json",
        ],
    );
    let envelopes = [
        d.join("app.intoto.json"),
        d.join("vsa.intoto.json"),
        only(d, ".slsa.intoto.json"),
        only(d, ".link.intoto.json"),
    ];
    let mut cmd = Command::new(intact_tests::reference_python());
    cmd.arg(intact_tests::repo_root().join("tests/interop/attest_check.py"))
        .arg(d.join("alice.pub"))
        .args(&envelopes);
    let out = intact_tests::output_bounded(&mut cmd, Duration::from_secs(120), || {});
    let text = intact_tests::output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for t in [
        PROVENANCE,
        "https://slsa.dev/verification_summary/v1",
        "https://in-toto.io/attestation/link/v0.3",
    ] {
        assert!(text.contains(&format!("ok {t}")), "{text}");
    }
}

const VSA: &str = "https://slsa.dev/verification_summary/v1";

/// The statement inside an envelope file.
fn payload(path: &Path) -> Value {
    use base64::Engine as _;
    let env: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(env["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn verify_writes_a_signed_verification_summary_pass_or_fail() {
    let dir = setup();
    let d = dir.path();
    let demo = d.join("demo");
    ok(d, &["demo", "--dir", demo.to_str().unwrap()]);
    let layout_sha = sha256_hex(&std::fs::read(demo.join("root.layout")).unwrap());
    let mut written = Vec::new();
    for (package, code, result, level) in [
        (
            "work/demo-project.tar.gz",
            0,
            "PASSED",
            "SLSA_BUILD_LEVEL_1",
        ),
        ("evil/demo-project.tar.gz", 1, "FAILED", "FAILED"),
    ] {
        let c = d.join(result);
        std::fs::create_dir_all(&c).unwrap();
        std::fs::copy(demo.join("root.layout"), c.join("root.layout")).unwrap();
        std::fs::copy(demo.join("keys/alice.pub"), c.join("owner.pub")).unwrap();
        std::fs::copy(demo.join(package), c.join("demo-project.tar.gz")).unwrap();
        let out = intact(
            &c,
            &[
                "verify",
                "-l",
                "root.layout",
                "-k",
                "owner.pub",
                "--link-dir",
                "../demo/work",
                "--artifact",
                "demo-project.tar.gz",
                "--vsa",
                "app.vsa.json",
                "--key",
                "../alice.pem",
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            intact_tests::output_text(&out)
        );
        let file = c.join("app.vsa.json");
        let st = payload(&file);
        assert_eq!(st["predicateType"], VSA);
        let p = &st["predicate"];
        assert_eq!(p["verificationResult"], result);
        assert_eq!(p["verifiedLevels"], json!([level]));
        assert_eq!(p["resourceUri"], "demo-project.tar.gz");
        assert_eq!(p["policy"]["uri"], "root.layout");
        assert_eq!(p["policy"]["digest"]["sha256"], layout_sha.as_str());
        assert_eq!(p["verifier"]["id"], "https://intact.invalid/verifier");
        let inputs = p["inputAttestations"].as_array().unwrap();
        assert!(!inputs.is_empty(), "{p}");
        for i in inputs {
            let name = i["uri"].as_str().unwrap();
            let want = sha256_hex(&std::fs::read(demo.join("work").join(name)).unwrap());
            assert_eq!(i["digest"]["sha256"], want.as_str(), "{name}");
        }
        let subject_hex = sha256_hex(&std::fs::read(c.join("demo-project.tar.gz")).unwrap());
        assert_eq!(st["subject"][0]["digest"]["sha256"], subject_hex.as_str());
        // intact verify-attestation reads it as a VSA.
        let subject = format!("demo-project.tar.gz=sha256:{subject_hex}");
        let rel = format!("{result}/app.vsa.json");
        let (code, report) = verify(d, &rel, &["--predicate-type", VSA, "--subject", &subject]);
        assert_eq!(code, 0, "{report}");
        written.push(file);
    }
    // And the Attestation Framework's bindings, strictly.
    let mut cmd = Command::new(intact_tests::reference_python());
    cmd.arg(intact_tests::repo_root().join("tests/interop/attest_check.py"))
        .arg(d.join("alice.pub"))
        .args(&written);
    let out = intact_tests::output_bounded(&mut cmd, Duration::from_secs(120), || {});
    let text = intact_tests::output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.matches(&format!("ok {VSA}")).count(), 2, "{text}");

    // A summary is about artifacts, and needs a key: usage errors.
    let c = d.join("PASSED");
    for args in [
        &["--vsa", "x.json", "--key", "../alice.pem"][..],
        &["--vsa", "x.json", "--artifact", "demo-project.tar.gz"][..],
        &[
            "--vsa",
            "x.json",
            "--key",
            "../alice.pem",
            "--artifact",
            "demo-project.tar.gz",
            "--verified-level",
            "BUILD_2",
        ][..],
    ] {
        let mut all = vec![
            "verify",
            "-l",
            "root.layout",
            "-k",
            "owner.pub",
            "--link-dir",
            "../demo/work",
        ];
        all.extend_from_slice(args);
        let out = intact(&c, &all);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            intact_tests::output_text(&out)
        );
        assert!(!c.join("x.json").exists());
    }
}

#[test]
fn malformed_statements_of_the_bindings_negative_cases_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(
        intact_tests::fixture("keys/ed25519.pub"),
        d.join("alice.pub"),
    )
    .unwrap();
    let mut cmd = Command::new(intact_tests::reference_python());
    cmd.arg(intact_tests::repo_root().join("tests/interop/gen_bad_statements.py"))
        .arg(intact_tests::fixture("keys/ed25519.pem"))
        .arg(d.join("bad"));
    let out = intact_tests::output_bounded(&mut cmd, Duration::from_secs(120), || {});
    let text = intact_tests::output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    assert!(names.len() >= 15, "{names:?}");
    for name in names {
        let file = format!("bad/{name}.intoto.json");
        // The type it claims is accepted, so that only the statement fails.
        let ptype = payload(&d.join(&file))["predicateType"]
            .as_str()
            .unwrap_or("https://example.com/p/v1")
            .to_string();
        let ptype = if ptype.is_empty() {
            "https://example.com/p/v1".to_string()
        } else {
            ptype
        };
        let (code, report) = verify(d, &file, &["--predicate-type", &ptype]);
        assert_eq!(code, 1, "{name}: {report}");
        assert_eq!(status(&report, "signature"), "pass", "{name}: {report}");
        assert_eq!(status(&report, "statement"), "fail", "{name}: {report}");
    }
}
