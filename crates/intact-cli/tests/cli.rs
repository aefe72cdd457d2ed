//! End-to-end tests of the `intact` binary: exit codes and output, with
//! output pinned by insta snapshots (keyids and temp paths redacted).

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::{Path, PathBuf};
use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn intact(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_intact"))
        .args(args)
        .current_dir(dir)
        .env_remove("INTACT_KEY_PASSWORD")
        .output()
        .expect("run intact");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn settings(dir: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex_escape(&dir.display().to_string()), "[TMP]");
    s.add_filter(r"'?\b[0-9a-f]{64}\b'?", "[KEYID]");
    s.add_filter(r"'?\b[0-9a-f]{8}\b'?", "[ID8]");
    s
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

const LINK: &str = r#"{"signed": {"_type": "link", "name": "build", "command": ["make"], "materials": {"src/a.c": {"sha256": "aa"}}, "products": {"a.out": {"sha256": "bb"}}, "byproducts": {"return-value": 0, "stdout": "", "stderr": ""}, "environment": {}}, "signatures": []}"#;

#[test]
fn key_generate_id_show() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = intact(d, &["key", "generate", "alice"]);
    assert_eq!(gen.code, 0, "{}", gen.stderr);
    let keyid = gen.stdout.trim().to_string();
    assert_eq!(keyid.len(), 64);
    // The keyid is the same from the private and the public file.
    assert_eq!(intact(d, &["key", "id", "alice.pem"]).stdout.trim(), keyid);
    assert_eq!(intact(d, &["key", "id", "alice.pub"]).stdout.trim(), keyid);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("alice.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let show = intact(d, &["key", "show", "alice.pub"]);
    settings(d).bind(|| insta::assert_snapshot!("key_show", show.stdout));
    // Never overwrite an existing key.
    let again = intact(d, &["key", "generate", "alice"]);
    assert_eq!(again.code, 2);
    settings(d).bind(|| insta::assert_snapshot!("key_generate_exists", again.stderr));
}

#[test]
fn encrypted_keys_need_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str], pw: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_intact"));
        c.args(args)
            .current_dir(d)
            .env_remove("INTACT_KEY_PASSWORD");
        if let Some(pw) = pw {
            c.env("INTACT_KEY_PASSWORD", pw);
        }
        c.output().unwrap()
    };
    let gen = run(&["key", "generate", "bob", "--encrypt"], Some("s3cret"));
    assert!(gen.status.success());
    let pem = std::fs::read_to_string(d.join("bob.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let no_pw = run(&["key", "id", "bob.pem"], None);
    assert_eq!(no_pw.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&no_pw.stderr).contains("bob.pem: the private key is encrypted")
    );
    let wrong = run(&["key", "id", "bob.pem"], Some("nope"));
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong password"));
    let right = run(&["key", "id", "bob.pem"], Some("s3cret"));
    assert_eq!(
        String::from_utf8_lossy(&right.stdout),
        String::from_utf8_lossy(&gen.stdout)
    );
}

#[test]
fn sign_then_verify_both_containers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    intact(d, &["key", "generate", "alice"]);
    intact(d, &["key", "generate", "mallory"]);
    write(d, "build.link", LINK);
    let signed = intact(d, &["sign", "build.link", "--key", "alice.pem"]);
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let ok = intact(d, &["sign", "--verify", "build.link", "--key", "alice.pub"]);
    assert_eq!(ok.code, 0);
    let bad = intact(
        d,
        &[
            "sign",
            "--verify",
            "build.link",
            "--key",
            "alice.pub",
            "--key",
            "mallory.pub",
        ],
    );
    assert_eq!(bad.code, 1);
    settings(d).bind(|| insta::assert_snapshot!("sign_verify_missing_signer", bad.stdout));
    // Re-signing with the same key replaces its signature; another key adds one.
    intact(
        d,
        &[
            "sign",
            "build.link",
            "--key",
            "alice.pem",
            "--key",
            "mallory.pem",
        ],
    );
    intact(d, &["sign", "build.link", "--key", "alice.pem"]);
    let show = intact(d, &["show", "build.link"]);
    assert_eq!(
        show.stdout.matches("  signature by ").count(),
        2,
        "{}",
        show.stdout
    );
    settings(d).bind(|| insta::assert_snapshot!("show_link", show.stdout));
    // With a key, its signature is checked; the other stays unchecked.
    let show = intact(
        d,
        &[
            "show",
            "build.link",
            "--key",
            "alice.pub",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    let statuses: Vec<&str> = v["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["valid", "other-key"], "{}", show.stdout);
}

#[test]
fn sign_keeps_the_dsse_container_and_writes_output_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    intact(d, &["key", "generate", "alice"]);
    let payload = r#"{"_type": "link", "name": "build"}"#;
    let env = format!(
        r#"{{"payload": "{}", "payloadType": "application/vnd.in-toto+json", "signatures": []}}"#,
        base64_encode(payload.as_bytes())
    );
    write(d, "e.link", &env);
    let r = intact(
        d,
        &["sign", "e.link", "--key", "alice.pem", "-o", "out.link"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(d.join("e.link")).unwrap(),
        env,
        "input untouched"
    );
    let out = std::fs::read_to_string(d.join("out.link")).unwrap();
    assert!(
        out.starts_with(r#"{"payload": ""#) && !out.contains('\n'),
        "{out}"
    );
    assert_eq!(
        intact(d, &["sign", "--verify", "out.link", "-k", "alice.pub"]).code,
        0
    );
    let show = intact(d, &["show", "out.link"]);
    settings(d).bind(|| insta::assert_snapshot!("show_envelope", show.stdout));
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn bad_input_is_named_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    intact(d, &["key", "generate", "alice"]);
    let cases: &[(&str, &str)] = &[
        ("malformed", "{\"signed\": "),
        (
            "duplicate",
            r#"{"signed": {"_type": "link", "name": "a", "name": "b"}}"#,
        ),
        (
            "float",
            r#"{"signed": {"_type": "link", "name": "a", "byproducts": {"return-value": 0.5}}}"#,
        ),
        (
            "wrong_type",
            r#"{"signed": {"_type": "link", "name": "a", "command": "make"}}"#,
        ),
        ("unknown_type", r#"{"signed": {"_type": "provenance"}}"#),
        (
            "bad_hex_sig",
            r#"{"signed": {"_type": "link", "name": "a"}, "signatures": [{"keyid": "ab", "sig": "xyz"}]}"#,
        ),
        (
            "bad_digest",
            r#"{"signed": {"_type": "link", "name": "a", "products": {"f": {"sha256": "not-hex"}}}}"#,
        ),
        (
            "bad_base64",
            r#"{"payload": "%%%", "payloadType": "application/vnd.in-toto+json", "signatures": []}"#,
        ),
        (
            "unknown_field",
            r#"{"signed": {"_type": "link", "name": "a", "extra": 1}}"#,
        ),
    ];
    let mut report = String::new();
    for (name, body) in cases {
        let file = format!("{name}.link");
        write(d, &file, body);
        let r = intact(d, &["show", &file]);
        assert_eq!(r.code, 2, "{name}: {}", r.stdout);
        assert!(r.stderr.contains(&file), "{name}: {}", r.stderr);
        report.push_str(&r.stderr);
    }
    let missing = intact(d, &["show", "missing.link"]);
    assert_eq!(missing.code, 2);
    report.push_str(&missing.stderr);
    write(
        d,
        "short.pub",
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAAAA=\n-----END PUBLIC KEY-----\n",
    );
    let short = intact(d, &["key", "id", "short.pub"]);
    assert_eq!(short.code, 2);
    report.push_str(&short.stderr);
    settings(d).bind(|| insta::assert_snapshot!("bad_input", report));
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    use std::os::unix::process::ExitStatusExt;
    // `intact completions bash | head`, the reader gone before the first
    // write: every write meets a pipe nobody reads.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_intact"))
        .args(["completions", "bash"])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(libc_sigpipe()), "{stderr}");
}

/// SIGPIPE's number on Linux and the BSDs.
fn libc_sigpipe() -> i32 {
    13
}
