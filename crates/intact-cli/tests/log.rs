//! `intact log ...` end to end: output pinned by insta snapshots (times,
//! hashes, keys and temp paths redacted), exit codes, bad input naming
//! the file, and `--log DIR` on the commands that write metadata.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn intact(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_intact"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("INTACT_KEY_PASSWORD")
        .env_remove("INTACT_KEY");
    // The CI identifiers entries copy: none from the machine running the tests.
    for v in intact_log::CI_VARIABLES {
        cmd.env_remove(v);
    }
    let out = intact_tests::output_bounded(&mut cmd, Duration::from_secs(120), || {});
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(dir: &Path, args: &[&str]) -> Run {
    let r = intact(dir, args);
    assert_eq!(r.code, 0, "intact {args:?}: {}{}", r.stdout, r.stderr);
    r
}

fn settings(dir: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex::escape(&dir.display().to_string()), "[TMP]");
    s.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]");
    s.add_filter(r"\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}", "+[ID]+[KEY]");
    s.add_filter(r"[A-Za-z0-9+/]{43}=", "[HASH]");
    s.add_filter(r"\b[0-9a-f]{64}\b", "[SHA256]");
    s.add_filter(r"sha256:[0-9a-f]{12}\b", "sha256:[SHORT]");
    s.add_filter(r"\.[0-9a-f]{8}\.link", ".[ID8].link");
    s
}

/// A transcript: each command with its exit code and output.
fn transcript(dir: &Path, cmds: &[&[&str]]) -> String {
    let mut t = String::new();
    for args in cmds {
        let r = intact(dir, args);
        t.push_str(&format!(
            "$ intact {}\n[exit {}]\n{}{}",
            args.join(" "),
            r.code,
            r.stdout,
            r.stderr
        ));
    }
    t
}

fn setup(d: &Path) -> String {
    ok(d, &["key", "generate", "log"]);
    ok(d, &["key", "generate", "bob"]);
    std::fs::write(d.join("app"), "built\n").unwrap();
    ok(
        d,
        &[
            "run",
            "--step-name",
            "build",
            "--key",
            "bob.pem",
            "--no-git",
            "--products",
            "app",
            "--",
            "true",
        ],
    );
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("build.") && n.ends_with(".link"))
        .unwrap()
}

#[test]
fn log_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let link = setup(d);
    let first = transcript(
        d,
        &[
            &[
                "log",
                "init",
                "t",
                "--key",
                "log.pem",
                "--origin",
                "example.com/releases",
            ],
            &["log", "add", "t", &link],
            &["log", "verify", "t", "--log-key", "log.pub"],
        ],
    );
    std::fs::copy(d.join("t/checkpoint"), d.join("kept")).unwrap();
    let second = transcript(
        d,
        &[
            &["log", "add", "t", &link, &link],
            &[
                "log",
                "verify",
                "t",
                "--log-key",
                "log.pub",
                "--since",
                "kept",
            ],
            &[
                "log",
                "verify",
                "t",
                "--log-key",
                "log.pub",
                "--format",
                "json",
            ],
            &["log", "prove", "t", &link],
            &["log", "show", "t"],
            &["log", "stats", "t"],
            &["log", "stats", "t", "--format", "prometheus"],
        ],
    );
    settings(d).bind(|| insta::assert_snapshot!("log_commands", format!("{first}{second}")));
    let json = ok(d, &["log", "show", "t", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["size"], 3);
    assert_eq!(v["entries"][0]["entry"]["kind"], "link-recorded");
    let stats = ok(d, &["log", "stats", "t", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    assert_eq!(v["by_kind"]["link-recorded"], 3);
    assert!(d.join(format!("{link}.proof")).is_file());
}

#[test]
fn log_failures_and_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let link = setup(d);
    ok(
        d,
        &[
            "log",
            "init",
            "t",
            "--key",
            "log.pem",
            "--origin",
            "example.com/releases",
        ],
    );
    ok(d, &["log", "add", "t", &link]);
    std::fs::write(d.join("notes.txt"), "hello").unwrap();
    // A tile flipped, then restored.
    let tile = d.join("t/tile/0/000.p/1");
    let good = std::fs::read(&tile).unwrap();
    let mut bad = good.clone();
    bad[0] ^= 1;
    std::fs::write(&tile, &bad).unwrap();
    let corrupted = transcript(d, &[&["log", "verify", "t", "--log-key", "log.pub"]]);
    std::fs::write(&tile, &good).unwrap();
    let t = transcript(
        d,
        &[
            &["log", "add", "t", "notes.txt"],
            &["log", "add", "t", "missing.link"],
            &[
                "log",
                "init",
                "u",
                "--key",
                "log.pub",
                "--origin",
                "example.com/x",
            ],
            &[
                "log",
                "init",
                "u",
                "--key",
                "log.pem",
                "--origin",
                "bad origin",
            ],
            &[
                "log",
                "init",
                "t",
                "--key",
                "log.pem",
                "--origin",
                "example.com/releases",
            ],
            &["log", "verify", "t", "--log-key", "bob.pub"],
            &["log", "verify", "t", "--log-key", "nope.pub"],
            &["log", "prove", "t", "app"],
            &["log", "add", "nolog", &link],
        ],
    );
    settings(d).bind(|| insta::assert_snapshot!("log_failures", format!("{corrupted}{t}")));
    // Nothing was half-written by the refused add.
    let v = ok(d, &["log", "verify", "t", "--log-key", "log.pub"]);
    assert!(v.stdout.contains(", 1 entries,"), "{}", v.stdout);
}

#[test]
fn log_flag_on_run_attest_record_sign_and_layout_build() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let link = setup(d);
    ok(d, &["key", "generate", "alice"]);
    ok(
        d,
        &[
            "log",
            "init",
            "t",
            "--key",
            "log.pem",
            "--origin",
            "example.com/releases",
        ],
    );
    ok(
        d,
        &[
            "run",
            "--step-name",
            "test",
            "--key",
            "bob.pem",
            "--no-git",
            "--log",
            "t",
            "--materials",
            "app",
            "--products",
            "app",
            "--attest",
            "link",
            "--",
            "true",
        ],
    );
    // An attestation made on its own is logged too (it needs -o: the
    // proof goes beside it).
    std::fs::write(d.join("scan.json"), "{\"clean\": true}").unwrap();
    ok(
        d,
        &[
            "attest",
            "--subject",
            "app",
            "--predicate-type",
            "https://example.com/scan/v1",
            "--predicate",
            "scan.json",
            "--key",
            "bob.pem",
            "--log",
            "t",
            "-o",
            "scan.intoto.json",
        ],
    );
    ok(
        d,
        &[
            "record",
            "start",
            "--step-name",
            "pack",
            "--key",
            "bob.pem",
            "--no-git",
            "--materials",
            "app",
        ],
    );
    ok(
        d,
        &[
            "record",
            "stop",
            "--step-name",
            "pack",
            "--key",
            "bob.pem",
            "--no-git",
            "--log",
            "t",
            "--products",
            "app",
        ],
    );
    ok(d, &["sign", &link, "--key", "alice.pem", "--log", "t"]);
    std::fs::write(
        d.join("layout.yaml"),
        "expires: 2099-01-01T00:00:00Z\nkeys:\n  bob: bob.pub\nsteps:\n  - name: build\n    functionaries: [bob]\n    expected_products:\n      - ALLOW app\n",
    )
    .unwrap();
    let built = intact(
        d,
        &[
            "layout",
            "build",
            "layout.yaml",
            "--key",
            "alice.pem",
            "--log",
            "t",
            "-o",
            "root.layout",
        ],
    );
    let mut proofs: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".proof"))
        .collect();
    proofs.sort();
    assert_eq!(built.code, 0, "{}", built.stderr);
    assert_eq!(proofs.len(), 6, "{proofs:?}");
    let shown = ok(d, &["log", "show", "t", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    let kinds: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        &kinds[..5],
        [
            "link-recorded",
            "attestation-made",
            "attestation-made",
            "link-recorded",
            "link-recorded"
        ]
    );
    assert_eq!(kinds[5], "layout-signed");
    ok(d, &["log", "verify", "t", "--log-key", "log.pub"]);
}

#[test]
fn verify_require_logged_passes_on_the_demo_and_names_an_unlogged_link() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let demo = ok(d, &["demo", "--dir", "demo"]);
    assert!(
        demo.stdout
            .contains("log verified: origin demo.intact.example/log, 6 entries"),
        "{}",
        demo.stdout
    );
    let root = d.join("demo");
    let consumer = |name: &str| {
        let c = d.join(name);
        std::fs::create_dir_all(&c).unwrap();
        std::fs::copy(
            root.join("work/demo-project.tar.gz"),
            c.join("demo-project.tar.gz"),
        )
        .unwrap();
        c
    };
    let args = |root: &Path| -> Vec<String> {
        [
            "verify",
            "--layout",
            &root.join("root.layout").display().to_string(),
            "--layout-key",
            &root.join("keys/alice.pub").display().to_string(),
            "--link-dir",
            &root.join("work").display().to_string(),
            "--require-logged",
            "--log-key",
            &root.join("keys/log.pub").display().to_string(),
            "--format",
            "json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let a = args(&root);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let passed = intact(&consumer("c1"), &a);
    assert_eq!(passed.code, 0, "{}{}", passed.stdout, passed.stderr);
    let link = std::fs::read_dir(root.join("work"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("package.") && n.ends_with(".link"))
        .unwrap();
    std::fs::remove_file(root.join("work").join(format!("{link}.proof"))).unwrap();
    let failed = intact(&consumer("c2"), &a);
    assert_eq!(failed.code, 1, "{}{}", failed.stdout, failed.stderr);
    let v: serde_json::Value = serde_json::from_str(&failed.stdout).unwrap();
    assert_eq!(v["failure"]["code"], "not-logged");
    assert_eq!(v["failure"]["stage"], "transparency-log");
    assert_eq!(v["failure"]["scope"], link.as_str());
    // --log logs the verification itself (here the failed one).
    let log = root.join("log").display().to_string();
    let mut logged_args = a.clone();
    logged_args.extend(["--log", log.as_str(), "--log-report", "report.json"]);
    let c3 = consumer("c3");
    let again = intact(&c3, &logged_args);
    assert_eq!(again.code, 1, "{}{}", again.stdout, again.stderr);
    assert!(c3.join("report.json.proof").is_file());
    let shown = ok(d, &["log", "show", &log, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(v["size"], 7);
    assert_eq!(v["entries"][6]["entry"]["kind"], "verification-failed");
    // Without --log-key, --require-logged is a usage error.
    let usage = intact(
        d,
        &[
            "verify",
            "--layout",
            "x",
            "--layout-key",
            "y",
            "--require-logged",
        ],
    );
    assert_eq!(usage.code, 2);
}

/// A static file server for `root` on 127.0.0.1 (GET only, one request a
/// connection), serving until the test process ends; its base URL.
fn serve(root: std::path::PathBuf) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut h = String::new();
            while reader.read_line(&mut h).map(|n| n > 2).unwrap_or(false) {
                h.clear();
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let rel = path.trim_start_matches('/');
            let file = root.join(rel);
            let (status, body) = if !rel.contains("..") && file.is_file() {
                ("200 OK", std::fs::read(&file).unwrap_or_default())
            } else {
                ("404 Not Found", Vec::new())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn log_commands_read_a_log_over_http() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let link = setup(d);
    ok(
        d,
        &[
            "log",
            "init",
            "t",
            "--key",
            "log.pem",
            "--origin",
            "example.com/releases",
        ],
    );
    ok(d, &["log", "add", "t", &link, &link]);
    let url = serve(d.join("t"));
    let v = ok(
        d,
        &[
            "log",
            "verify",
            &url,
            "--log-key",
            "log.pub",
            "--format",
            "json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&v.stdout).unwrap();
    assert_eq!(json["size"], 2);
    // The other reading commands take the URL too.
    let shown = ok(d, &["log", "show", &url, "--format", "json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown["entries"].as_array().unwrap().len(), 2);
    let stats = ok(d, &["log", "stats", &url, "--format", "json"]);
    assert!(stats.stdout.contains("link-recorded"), "{}", stats.stdout);
    ok(d, &["log", "prove", &url, &link, "-o", "from-http.proof"]);
    let proof = std::fs::read_to_string(d.join("from-http.proof")).unwrap();
    assert!(proof.contains("example.com/releases"), "{proof}");
    std::fs::remove_file(d.join("t/tile/entries/000.p/2")).unwrap();
    let failed = intact(d, &["log", "verify", &url, "--log-key", "log.pub"]);
    assert_eq!(failed.code, 1, "{}{}", failed.stdout, failed.stderr);
    assert!(
        failed
            .stdout
            .contains(&format!("{url}/tile/entries/000.p/2")),
        "{}",
        failed.stdout
    );
}
