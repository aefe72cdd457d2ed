//! `intact key revoke|retire|activate|status` and `intact verify
//! --key-status` end to end on the demo chain (alice owns the layout, bob
//! and carl are functionaries; every file is logged).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[path = "rotate/mod.rs"]
mod rotate;

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
    let out = intact_tests::output_bounded(&mut cmd, Duration::from_secs(120), || {});
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn expect(dir: &Path, code: i32, args: &[&str]) -> Run {
    let r = intact(dir, args);
    assert_eq!(r.code, code, "intact {args:?}: {}{}", r.stdout, r.stderr);
    r
}

/// Verify in a fresh consumer directory (the demo's inspection unpacks
/// the package there, and a second run would find its files).
fn verify(d: &Path, extra: &[&str]) -> Run {
    let c = tempfile::tempdir_in(d).unwrap().keep();
    std::fs::copy(
        d.join("demo/work/demo-project.tar.gz"),
        c.join("demo-project.tar.gz"),
    )
    .unwrap();
    let workdir = c.display().to_string();
    let mut args = vec![
        "verify",
        "--layout",
        "demo/root.layout",
        "--layout-key",
        "demo/keys/alice.pub",
        "--link-dir",
        "demo/work",
        "--workdir",
        &workdir,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    intact(d, &args)
}

fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", r.stdout, r.stderr))
}

fn demo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    expect(tmp.path(), 0, &["demo", "--dir", "demo"]);
    tmp
}

const OWNER: &str = "demo/keys/alice.pem";

#[test]
fn a_revoked_functionary_fails_and_a_logged_older_signature_is_warned() {
    let tmp = demo();
    let d = tmp.path();
    let plain = verify(d, &[]);
    assert_eq!(plain.code, 0, "{}{}", plain.stdout, plain.stderr);
    expect(
        d,
        0,
        &[
            "key",
            "revoke",
            "demo/keys/carl.pub",
            "--reason",
            "laptop stolen",
            "--status",
            "keys.status",
            "--key",
            OWNER,
        ],
    );
    let r = verify(d, &["--key-status", "keys.status"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let v = json(&r);
    assert_eq!(v["failure"]["code"], "key-revoked");
    assert_eq!(v["failure"]["stage"], "key-status");
    let message = v["failure"]["message"].as_str().unwrap();
    assert!(
        message.contains("carl") && message.contains("laptop stolen"),
        "{message}"
    );
    // Revoked later than the logs' times: the proofs date the links
    // before it, so the chain is accepted with a warning.
    std::fs::remove_file(d.join("keys.status")).unwrap();
    expect(
        d,
        0,
        &[
            "key",
            "revoke",
            "demo/keys/carl.pub",
            "--reason",
            "rotated out",
            "--at",
            "2099-01-01T00:00:00Z",
            "--status",
            "keys.status",
            "--key",
            OWNER,
        ],
    );
    let r = verify(
        d,
        &[
            "--key-status",
            "keys.status",
            "--log-key",
            "demo/keys/log.pub",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = json(&r);
    let codes: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert_eq!(codes, ["signed-before-revocation"]);
}

#[test]
fn a_revoked_owner_key_fails_the_layout() {
    let tmp = demo();
    let d = tmp.path();
    // Bob's key signs the document? No: only owners. A second owner key
    // is what would revoke alice in practice; here alice revokes herself
    // and a second owner (bob) co-signs, so a standing signer remains.
    expect(
        d,
        0,
        &[
            "key",
            "revoke",
            "demo/keys/alice.pub",
            "--reason",
            "owner key leaked",
            "--status",
            "keys.status",
            "--key",
            OWNER,
            "--key",
            "demo/keys/bob.pem",
        ],
    );
    let r = verify(d, &["--key-status", "keys.status"]);
    // bob is not a layout key: the document is refused, exit 2.
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("keys.status"), "{}", r.stderr);
    // Signed by alice alone, revoking alice: no standing signer.
    std::fs::remove_file(d.join("keys.status")).unwrap();
    expect(
        d,
        0,
        &[
            "key",
            "revoke",
            "demo/keys/alice.pub",
            "--reason",
            "owner key leaked",
            "--status",
            "keys.status",
            "--key",
            OWNER,
        ],
    );
    expect(
        d,
        2,
        &[
            "key",
            "status",
            "keys.status",
            "--key",
            "demo/keys/alice.pub",
        ],
    );
}

#[test]
fn a_forged_or_edited_document_is_refused() {
    let tmp = demo();
    let d = tmp.path();
    expect(
        d,
        0,
        &[
            "key",
            "retire",
            "demo/keys/bob.pub",
            "--at",
            "2099-01-01T00:00:00Z",
            "--status",
            "keys.status",
            "--key",
            OWNER,
        ],
    );
    expect(
        d,
        0,
        &[
            "key",
            "activate",
            "demo/keys/bob.pub",
            "--at",
            "2020-01-01T00:00:00Z",
            "--status",
            "keys.status",
            "--key",
            OWNER,
        ],
    );
    let shown = expect(
        d,
        0,
        &[
            "key",
            "status",
            "keys.status",
            "--key",
            "demo/keys/alice.pub",
            "--format",
            "json",
        ],
    );
    let v = json(&shown);
    assert_eq!(v["version"], 2);
    let entry = v["keys"].as_object().unwrap().values().next().unwrap();
    assert_eq!(entry["name"], "bob");
    assert_eq!(entry["not_after"], "2099-01-01T00:00:00Z");
    assert_eq!(entry["state"], "active");
    // Signed by a functionary instead of the owner.
    expect(
        d,
        0,
        &[
            "key",
            "revoke",
            "demo/keys/carl.pub",
            "--reason",
            "x",
            "--status",
            "forged.status",
            "--key",
            "demo/keys/bob.pem",
        ],
    );
    let r = expect(
        d,
        2,
        &[
            "key",
            "status",
            "forged.status",
            "--key",
            "demo/keys/alice.pub",
        ],
    );
    assert!(r.stderr.contains("forged.status"), "{}", r.stderr);
    assert_eq!(verify(d, &["--key-status", "forged.status"]).code, 2);
    // An owner's document edited after signing.
    let text = std::fs::read_to_string(d.join("keys.status")).unwrap();
    let env: serde_json::Value = serde_json::from_str(&text).unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = String::from_utf8(b64.decode(env["payload"].as_str().unwrap()).unwrap()).unwrap();
    let edited = payload.replace("2099-01-01T00:00:00Z", "2199-01-01T00:00:00Z");
    assert_ne!(edited, payload);
    let mut env = env;
    env["payload"] = b64.encode(edited).into();
    std::fs::write(d.join("keys.status"), env.to_string()).unwrap();
    expect(
        d,
        2,
        &[
            "key",
            "status",
            "keys.status",
            "--key",
            "demo/keys/alice.pub",
        ],
    );
    assert_eq!(verify(d, &["--key-status", "keys.status"]).code, 2);
    // And the editor refuses to re-sign it.
    expect(
        d,
        2,
        &[
            "key",
            "retire",
            "demo/keys/bob.pub",
            "--at",
            "2098-01-01T00:00:00Z",
            "--status",
            "keys.status",
            "--key",
            OWNER,
        ],
    );
}

#[test]
fn verify_warns_of_expiry_with_a_code_and_exit_zero() {
    let tmp = demo();
    let d = tmp.path();
    // The demo's layout expires in about a year: no warning at 30 days,
    // a coded warning at 400.
    let r = verify(d, &[]);
    assert_eq!(r.code, 0);
    assert!(json(&r)["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w.get("code").is_none()));
    let r = verify(d, &["--warn-expiry", "400d"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = json(&r);
    let codes: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert_eq!(codes, ["layout-expires-soon"]);
    expect(
        d,
        2,
        &[
            "verify",
            "--layout",
            "demo/root.layout",
            "--layout-key",
            "demo/keys/alice.pub",
            "--warn-expiry",
            "soon",
        ],
    );
}

#[test]
fn key_list_shows_every_key_its_role_status_and_where_it_signed() {
    let tmp = demo();
    let d = tmp.path();
    expect(
        d,
        0,
        &[
            "key",
            "revoke",
            "demo/keys/carl.pub",
            "--reason",
            "laptop stolen",
            "--at",
            "2026-06-01T00:00:00Z",
            "--status",
            "keys.status",
            "--key",
            OWNER,
        ],
    );
    let args = [
        "key",
        "list",
        "--layout",
        "demo/root.layout",
        "--link-dir",
        "demo/work",
        "--key-status",
        "keys.status",
        "--layout-key",
        "demo/keys/alice.pub",
        "--log",
        "demo/log",
    ];
    let text = expect(d, 0, &args).stdout;
    let json_run = expect(d, 0, &[&args[..], &["--format", "json"]].concat());
    let value = json(&json_run);
    // Owner, then bob (clone, update-version), then carl (package, revoked).
    let keys = value["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3, "{value}");
    assert_eq!(keys[0]["roles"][0], "owner");
    assert_eq!(keys[2]["name"], "carl");
    assert_eq!(keys[2]["status"], "revoked");
    assert!(keys[1]["log_first"]["index"].is_u64(), "{value}");
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\b[0-9a-f]{64}\b", "[KEYID]");
    s.add_filter(r"\b[0-9a-f]{8}\b", "[ID8]");
    s.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]");
    s.bind(|| {
        insta::assert_snapshot!("key_list_text", text);
        insta::assert_snapshot!("key_list_json", json_run.stdout);
    });
    // Without a document the status is unknown; a missing layout is exit 2.
    let plain = expect(
        d,
        0,
        &[
            "key",
            "list",
            "--layout",
            "demo/root.layout",
            "--format",
            "json",
        ],
    );
    assert_eq!(json(&plain)["keys"][2]["status"], "unknown");
    expect(d, 2, &["key", "list", "--layout", "nope.layout"]);
}
