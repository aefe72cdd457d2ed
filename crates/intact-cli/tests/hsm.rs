//! Keys that never sit in a file: signing inside a real SoftHSM2 token
//! (PKCS#11, `--key pkcs11:...`) and through a real `ssh-agent`
//! (`--key ssh-agent:...`). The tools come from tests/hsm/setup.sh, which
//! installs the Debian packages when they are missing; each test makes its
//! own token (or agent) in a temporary directory.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::OnceLock;

const PIN: &str = "5678";

/// The SoftHSM2 module, after tests/hsm/setup.sh made sure the tools are
/// there. Panics when they cannot be had: a test that skips proves nothing.
fn module() -> &'static Path {
    static MODULE: OnceLock<PathBuf> = OnceLock::new();
    MODULE.get_or_init(|| {
        let script = intact_tests::repo_root().join("tests/hsm/setup.sh");
        let out = Command::new("bash").arg(&script).output().unwrap();
        assert!(
            out.status.success(),
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
    })
}

fn text(o: &Output) -> String {
    intact_tests::output_text(o)
}

/// A SoftHSM2 token initialised in a temporary directory.
struct Token {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

impl Token {
    fn new(label: &str) -> Token {
        let module = module();
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("pin"), format!("{PIN}\n")).unwrap();
        let t = Token { dir, conf };
        let init = t
            .cmd("softhsm2-util")
            .args(["--init-token", "--free", "--label", label])
            .args(["--so-pin", "1234", "--pin", PIN])
            .output()
            .unwrap();
        assert!(init.status.success(), "{}", text(&init));
        assert!(module.exists());
        t
    }

    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("SOFTHSM2_CONF", &self.conf)
            .env_remove("INTACT_PKCS11_PIN")
            .env_remove("INTACT_PKCS11_MODULE")
            .env_remove("INTACT_KEY_PASSWORD");
        c
    }

    /// A key pair made inside the token by OpenSC's pkcs11-tool.
    fn keygen(&self, token: &str, key_type: &str, label: &str, id: &str) {
        let out = self
            .cmd("pkcs11-tool")
            .arg("--module")
            .arg(module())
            .args(["--token-label", token, "--login", "--pin", PIN])
            .args(["--keypairgen", "--key-type", key_type])
            .args(["--label", label, "--id", id])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }

    /// The RFC 7512 URI of a key, the PIN read from a file.
    fn uri(&self, token: &str, object: &str) -> String {
        format!(
            "pkcs11:token={token};object={object}?module-path={}&pin-source=file:{}",
            module().display(),
            self.dir.path().join("pin").display()
        )
    }

    fn intact(&self, cwd: &Path, args: &[&str]) -> Output {
        self.cmd(env!("CARGO_BIN_EXE_intact"))
            .args(args)
            .current_dir(cwd)
            .output()
            .unwrap()
    }
}

fn ok(o: Output) -> String {
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn refused(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", text(o));
    assert!(text(o).contains(needle), "{needle:?} not in:\n{}", text(o));
}

#[test]
fn each_mechanism_signs_links_that_intact_and_in_toto_verify_accept() {
    let t = Token::new("release");
    let d = t.dir.path();
    t.keygen("release", "EC:edwards25519", "ed", "01");
    t.keygen("release", "EC:prime256v1", "ec", "02");
    t.keygen("release", "rsa:2048", "rsa", "03");
    for (name, keytype, scheme) in [
        ("ed", "ed25519", "ed25519"),
        ("ec", "ecdsa", "ecdsa-sha2-nistp256"),
        ("rsa", "rsa", "rsassa-pss-sha256"),
    ] {
        let uri = t.uri("release", name);
        // The public key and keyid come from the token.
        let pem = ok(t.intact(d, &["key", "show", "--pem", &uri]));
        std::fs::write(d.join(format!("{name}.pub")), &pem).unwrap();
        let id = ok(t.intact(d, &["key", "id", &uri]));
        assert_eq!(id, ok(t.intact(d, &["key", "id", &format!("{name}.pub")])));
        let dict: serde_json::Value =
            serde_json::from_str(&ok(t.intact(d, &["key", "show", &uri]))).unwrap();
        assert_eq!(dict["keytype"], keytype);
        assert_eq!(dict["scheme"], scheme);
    }
    let layout = r#"
expires: 30d
keys:
  ed: ed.pub
  ec: ec.pub
  rsa: rsa.pub
steps:
  - name: s-ed
    functionaries: [ed]
    expected_command: sh -c "echo ed > ed.txt"
    expected_products: [CREATE ed.txt, DISALLOW *]
  - name: s-ec
    functionaries: [ec]
    expected_command: sh -c "echo ec > ec.txt"
    expected_products: [CREATE ec.txt, DISALLOW *]
  - name: s-rsa
    functionaries: [rsa]
    expected_command: sh -c "echo rsa > rsa.txt"
    expected_products: [CREATE rsa.txt, DISALLOW *]
inspect: []
"#;
    std::fs::write(d.join("layout.yaml"), layout).unwrap();
    // The layout owner's key is in the token too.
    let owner = t.uri("release", "ed");
    ok(t.intact(
        d,
        &[
            "layout",
            "build",
            "layout.yaml",
            "--key",
            &owner,
            "-o",
            "root.layout",
        ],
    ));
    let work = d.join("work");
    std::fs::create_dir(&work).unwrap();
    for name in ["ed", "ec", "rsa"] {
        let uri = t.uri("release", name);
        let script = format!("echo {name} > {name}.txt");
        let step = format!("s-{name}");
        let product = format!("{name}.txt");
        ok(t.intact(
            &work,
            &[
                "run", "--step", &step, "--key", &uri, "--no-git", "-p", &product, "--", "sh",
                "-c", &script,
            ],
        ));
    }
    let verify = t.intact(
        d,
        &[
            "verify",
            "--layout",
            "root.layout",
            "--layout-key",
            "ed.pub",
            "--link-dir",
            "work",
        ],
    );
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    // The reference verifies the same chain: ed25519, ECDSA and RSA-PSS
    // signatures made in the token.
    let reference = intact_tests::reference_python().with_file_name("in-toto-verify");
    let out = Command::new(reference)
        .args(["--layout", "root.layout", "--verification-keys", "ed.pub"])
        .args(["--link-dir", "work"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // An attestation signed in the token (ECDSA in a DSSE envelope), and a
    // transparency log whose key is the token's ed25519 key.
    std::fs::write(d.join("predicate.json"), r#"{"signed_in": "softhsm2"}"#).unwrap();
    ok(t.intact(
        d,
        &[
            "attest",
            "--subject",
            "work/ec.txt",
            "--predicate-type",
            "https://example.com/test/v1",
            "--predicate",
            "predicate.json",
            "--key",
            &t.uri("release", "ec"),
            "-o",
            "ec.intoto.json",
        ],
    ));
    ok(t.intact(
        d,
        &[
            "verify-attestation",
            "ec.intoto.json",
            "--key",
            "ec.pub",
            "--subject",
            "work/ec.txt",
            "--predicate-type",
            "https://example.com/test/v1",
        ],
    ));
    ok(t.intact(
        d,
        &[
            "log",
            "init",
            "tlog",
            "--key",
            &owner,
            "--origin",
            "example.com/hsm-test",
        ],
    ));
    ok(t.intact(d, &["log", "add", "tlog", "root.layout"]));
    ok(t.intact(d, &["log", "verify", "tlog", "--log-key", "ed.pub"]));
    // A link signed by another key fails both.
    std::fs::remove_file(d.join("root.layout")).unwrap();
    ok(t.intact(
        d,
        &[
            "layout",
            "build",
            "layout.yaml",
            "--key",
            &t.uri("release", "rsa"),
            "-o",
            "root.layout",
        ],
    ));
    let wrong_owner = t.intact(
        d,
        &[
            "verify",
            "--layout",
            "root.layout",
            "--layout-key",
            "ed.pub",
            "--link-dir",
            "work",
        ],
    );
    assert_eq!(wrong_owner.status.code(), Some(1), "{}", text(&wrong_owner));
}

/// Clear CKA_SIGN on a key in the token: pkcs11-tool can set usage flags
/// but never clear one. SoftHSM reads SOFTHSM2_CONF when the module is
/// initialised, so this runs in a child process of this test binary
/// (`clear_sign_helper`), never changing this process's environment.
fn clear_sign(t: &Token, label: &str) {
    let out = t
        .cmd(std::env::current_exe().unwrap())
        .args(["--exact", "clear_sign_helper", "--ignored", "--nocapture"])
        .env("HSM_HELPER_MODULE", module())
        .env("HSM_HELPER_LABEL", label)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("CKA_SIGN cleared"), "{}", text(&out));
}

#[test]
#[ignore = "run by clear_sign in a child process with the token's SOFTHSM2_CONF"]
fn clear_sign_helper() {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::object::{Attribute, ObjectClass};
    use cryptoki::session::UserType;
    let module = std::env::var("HSM_HELPER_MODULE").expect("only run by clear_sign");
    let label = std::env::var("HSM_HELPER_LABEL").unwrap();
    let ctx = Pkcs11::new(module).unwrap();
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = ctx.get_slots_with_token().unwrap()[0];
    let session = ctx.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&PIN.to_string().into()))
        .unwrap();
    let keys = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(label.into_bytes()),
        ])
        .unwrap();
    session
        .update_attributes(keys[0], &[Attribute::Sign(false)])
        .unwrap();
    println!("CKA_SIGN cleared");
}

#[test]
fn wrong_pin_missing_token_non_signing_key_and_unsupported_curve_are_refused_with_exit_2() {
    let t = Token::new("ci");
    let d = t.dir.path();
    t.keygen("ci", "EC:edwards25519", "good", "01");
    t.keygen("ci", "EC:edwards25519", "nosign", "02");
    t.keygen("ci", "EC:secp256k1", "k1", "03");
    clear_sign(&t, "nosign");
    let module = module().display().to_string();
    let run = |uri: &str, pin: Option<&str>| {
        let mut c = t.cmd(env!("CARGO_BIN_EXE_intact"));
        if let Some(p) = pin {
            c.env("INTACT_PKCS11_PIN", p);
        }
        c.args(["run", "--step", "s", "--key", uri, "--no-git", "--", "true"])
            .current_dir(d)
            .output()
            .unwrap()
    };
    // The PIN from INTACT_PKCS11_PIN: right, then wrong.
    let no_pin_source = format!("pkcs11:token=ci;object=good?module-path={module}");
    ok(run(&no_pin_source, Some(PIN)));
    refused(
        &run(&no_pin_source, Some("0000")),
        "PKCS#11: wrong PIN for token \"ci\"",
    );
    refused(&run(&no_pin_source, None), "needs its user PIN");
    refused(
        &run(&t.uri("nope", "good"), None),
        "no such token: no token labelled \"nope\"",
    );
    refused(
        &run(&t.uri("ci", "absent"), None),
        "token \"ci\" holds no private key",
    );
    refused(
        &run(&t.uri("ci", "nosign"), None),
        "key \"nosign\" in token \"ci\" is not allowed to sign (CKA_SIGN is false)",
    );
    refused(
        &run(&t.uri("ci", "k1"), None),
        "key \"k1\" in token \"ci\" is on an unsupported curve",
    );
    refused(
        &run("pkcs11:token=ci;objekt=good", None),
        "unknown PKCS#11 URI path attribute \"objekt\"",
    );
    refused(
        &run("pkcs11:token=ci;object=good", None),
        "no PKCS#11 module",
    );
    // No link was written by any refused run.
    let links: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".link"))
        .collect();
    assert_eq!(links.len(), 1, "{links:?}");
}

/// An `ssh-agent -D` on a socket in `dir`, killed when dropped.
struct Agent {
    child: Child,
    socket: PathBuf,
}

impl Agent {
    fn start(dir: &Path) -> Agent {
        module(); // installs openssh-client if missing
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let agent = Agent { child, socket };
        for _ in 0..250 {
            if agent.socket.exists() {
                return agent;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("ssh-agent made no socket at {}", agent.socket.display());
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn agent_signed_link_and_layout_equal_the_file_signed_ones_byte_for_byte() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // One ed25519 key, as intact's PKCS#8 PEM and as an OpenSSH key.
    let seed: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
    der.extend_from_slice(&seed);
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&der)
    );
    std::fs::write(d.join("k.pem"), pem).unwrap();
    let openssh = ssh_key::PrivateKey::new(
        ssh_key::private::KeypairData::Ed25519(ssh_key::private::Ed25519Keypair::from_seed(&seed)),
        "intact-release",
    )
    .unwrap()
    .to_openssh(ssh_key::LineEnding::LF)
    .unwrap();
    let ssh_path = d.join("id_release");
    std::fs::write(&ssh_path, openssh.as_bytes()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ssh_path, std::fs::Permissions::from_mode(0o600)).unwrap();

    let agent = Agent::start(d);
    let intact = |cwd: &Path, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_intact"))
            .args(args)
            .current_dir(cwd)
            .env("SSH_AUTH_SOCK", &agent.socket)
            .env_remove("INTACT_KEY_PASSWORD")
            .output()
            .unwrap()
    };
    // Before the key is added, the agent has no such key.
    refused(
        &intact(d, &["key", "id", "ssh-agent:intact-release"]),
        "ssh-agent: the agent holds no key \"intact-release\"",
    );
    let add = Command::new("ssh-add")
        .arg(&ssh_path)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", text(&add));
    let listed = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(&ssh_path)
        .output()
        .unwrap();
    let fingerprint = String::from_utf8(listed.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");
    let by_comment = "ssh-agent:intact-release";
    let by_fingerprint = format!("ssh-agent:{fingerprint}");
    let file_id = ok(intact(d, &["key", "id", "k.pem"]));
    assert_eq!(ok(intact(d, &["key", "id", by_comment])), file_id);
    assert_eq!(ok(intact(d, &["key", "id", &by_fingerprint])), file_id);

    // The same step, recorded with the file key and through the agent.
    let mut links = Vec::new();
    for (name, key) in [("file", "../k.pem"), ("agent", by_comment)] {
        let work = d.join(name);
        std::fs::create_dir(&work).unwrap();
        ok(intact(
            &work,
            &[
                "run",
                "--step",
                "build",
                "--key",
                key,
                "--no-git",
                "-p",
                "out.txt",
                "--",
                "sh",
                "-c",
                "echo hi > out.txt",
            ],
        ));
        let link = format!("build.{}.link", &file_id.trim()[..8]);
        links.push(std::fs::read(work.join(link)).unwrap());
    }
    assert_eq!(links[0], links[1], "the agent-signed link differs");

    // A layout signed both ways.
    std::fs::write(
        d.join("layout.yaml"),
        "expires: 30d\nkeys: {}\nsteps: []\ninspect: []\n",
    )
    .unwrap();
    ok(intact(
        d,
        &[
            "layout",
            "build",
            "layout.yaml",
            "--key",
            "k.pem",
            "-o",
            "base.layout",
        ],
    ));
    let mut layouts = Vec::new();
    for (out, key) in [("f.layout", "k.pem"), ("a.layout", by_fingerprint.as_str())] {
        std::fs::copy(d.join("base.layout"), d.join(out)).unwrap();
        ok(intact(d, &["sign", out, "--key", key]));
        layouts.push(std::fs::read(d.join(out)).unwrap());
    }
    assert_eq!(layouts[0], layouts[1], "the agent-signed layout differs");

    // Without an agent, a clear refusal.
    let no_agent = Command::new(env!("CARGO_BIN_EXE_intact"))
        .args(["key", "id", by_comment])
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    refused(&no_agent, "SSH_AUTH_SOCK is not set");
}
