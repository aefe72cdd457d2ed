//! Layouts and links in an OCI registry (issue 21), against a real one:
//! Debian's `docker-registry` (CNCF Distribution 2.8, which has no
//! referrers API, so the fallback tag scheme is what is exercised),
//! started once per test process on 127.0.0.1 at a free port: plain, and
//! with htpasswd basic auth behind TLS with a CA made by the test.
//! `tests/oci/setup.sh` installs the packages; when it cannot, the tests
//! say so loudly and pass.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    // The loud skip message when the registry cannot be installed.
    clippy::print_stderr
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A registry running for the whole test process. It lives under a shell
/// that kills it, and removes its directory, when its standard input
/// closes, that is when this test process exits, however it exits.
struct Registry {
    addr: String,
    root: PathBuf,
    dir: PathBuf,
    _guard: Mutex<(Child, ChildStdin)>,
}

fn have_registry() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        let setup = intact_tests::repo_root().join("tests/oci/setup.sh");
        let _ = Command::new("bash").arg(setup).status();
        let found = ["docker-registry", "htpasswd", "openssl"]
            .iter()
            .all(|t| which(t).is_some());
        if !found {
            eprintln!(
                "\n\n*** SKIPPED: the OCI registry tests need docker-registry, htpasswd and openssl \
                 (tests/oci/setup.sh could not install them) ***\n"
            );
        }
        found
    })
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(tls_auth: bool) -> Registry {
    let dir = tempfile::tempdir().unwrap().keep();
    let root = dir.join("storage");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut config = format!(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
         storage:\n  filesystem:\n    rootdirectory: {}\n\
         http:\n  addr: {addr}\n",
        root.display()
    );
    if tls_auth {
        make_ca_and_cert(&dir);
        let out = Command::new("htpasswd")
            .args(["-Bbn", "ci", "s3cret"])
            .output()
            .unwrap();
        assert!(out.status.success());
        std::fs::write(dir.join("htpasswd"), &out.stdout).unwrap();
        config.push_str(&format!(
            "  tls:\n    certificate: {0}/server.pem\n    key: {0}/server.key\n\
             auth:\n  htpasswd:\n    realm: intact-test\n    path: {0}/htpasswd\n",
            dir.display()
        ));
    }
    std::fs::write(dir.join("config.yml"), config).unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(
            "docker-registry serve \"$1\" >\"$2\" 2>&1 & pid=$!; read _; \
             kill $pid; wait $pid; rm -rf \"$3\"",
        )
        .arg("sh")
        .arg(dir.join("config.yml"))
        .arg(dir.join("registry.log"))
        .arg(&dir)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the registry did not start: {}",
            std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Registry {
        addr,
        root,
        dir,
        _guard: Mutex::new((child, stdin)),
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
fn make_ca_and_cert(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            intact_tests::output_text(&out)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=intact test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

fn plain() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| start(false))
}

fn secure() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| start(true))
}

fn intact(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_intact"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("INTACT_REGISTRY_USER")
        .env_remove("INTACT_REGISTRY_PASSWORD")
        .env_remove("INTACT_REGISTRY_HOST")
        // No docker config.json of the machine's user.
        .env("DOCKER_CONFIG", dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    intact_tests::output_bounded(&mut cmd, Duration::from_secs(120), || {})
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn demo() -> PathBuf {
    intact_tests::demo_chain(Path::new(env!("CARGO_BIN_EXE_intact"))).to_path_buf()
}

/// A consumer's directory (the layout key, the package for the
/// inspection) and the demo package pushed to REPO as a file artifact,
/// its chain attached: returns the directory and the pinned reference.
fn pushed_demo(
    repo: &str,
    registry: &Registry,
    flags: &[&str],
    env: &[(&str, &str)],
) -> (tempfile::TempDir, String) {
    let d = demo();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(d.join("final/alice.pub"), dir.path().join("alice.pub")).unwrap();
    std::fs::copy(
        d.join("final/demo-project.tar.gz"),
        dir.path().join("demo-project.tar.gz"),
    )
    .unwrap();
    let tagged = format!("{}/{repo}:v1", registry.addr);
    let mut args = vec!["oci", "push", &tagged, "--artifact", "demo-project.tar.gz"];
    args.extend_from_slice(flags);
    let out = intact(dir.path(), &args, env);
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    let digest = stdout(&out).trim().to_string();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    let pinned = format!("{}/{repo}@{digest}", registry.addr);
    // The demo's logged layout (final/root.layout has the same bytes) and
    // links, each with its inclusion proof.
    let layout = d.join("root.layout");
    let links = d.join("work");
    let mut args = vec![
        "oci",
        "push",
        &pinned,
        "--layout",
        layout.to_str().unwrap(),
        "--link-dir",
        links.to_str().unwrap(),
    ];
    args.extend_from_slice(flags);
    let out = intact(dir.path(), &args, env);
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    (dir, pinned)
}

fn verify_image(dir: &Path, image: &str, flags: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec!["verify", "--image", image, "--layout-key", "alice.pub"];
    args.extend_from_slice(flags);
    intact(dir, &args, env)
}

#[test]
fn push_list_pull_and_verify_by_digest() {
    if !have_registry() {
        return;
    }
    let r = plain();
    let (dir, pinned) = pushed_demo("demo/pkg", r, &["--insecure"], &[]);
    let d = dir.path();

    // The referrers: one layout and every link, all in-toto artifacts.
    let out = intact(d, &["oci", "referrers", &pinned, "--insecure"], &[]);
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    let list = stdout(&out);
    assert_eq!(list.matches(" layout root.layout").count(), 1, "{list}");
    let links = std::fs::read_dir(demo().join("work"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "link")
        })
        .count();
    assert_eq!(list.matches(" link ").count(), links, "{list}");
    assert!(
        list.lines()
            .all(|l| l.contains("application/vnd.in-toto+json")),
        "{list}"
    );

    // Pull by tag: resolved, the digest printed, every file written.
    let tagged = pinned.replace(&pinned[pinned.find('@').unwrap()..], ":v1");
    // (Outside the consumer's directory, where the demo's inspection
    // allows no stray files.)
    let pulls = tempfile::tempdir().unwrap();
    let chain = pulls.path().join("chain");
    let out = intact(
        d,
        &[
            "oci",
            "pull",
            &tagged,
            "-o",
            chain.to_str().unwrap(),
            "--insecure",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    assert!(intact_tests::output_text(&out).contains(&format!("resolved to {pinned}")));
    assert!(chain.join("root.layout").is_file());
    // Each link and the layout with its inclusion proof.
    assert!(chain.join("root.layout.proof").is_file());
    assert_eq!(std::fs::read_dir(&chain).unwrap().count(), 2 * links + 2);
    // --require-digest refuses the tag.
    let out = intact(
        d,
        &[
            "oci",
            "pull",
            &tagged,
            "-o",
            "x",
            "--insecure",
            "--require-digest",
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        intact_tests::output_text(&out)
    );
    assert!(intact_tests::output_text(&out).contains("pin the digest"));

    // Verify by digest: the chain from the registry, the pushed file a
    // product of its final step.
    let out = verify_image(d, &pinned, &["--insecure"], &[]);
    let text = intact_tests::output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("verification PASSED"), "{text}");
    assert!(text.contains("artifact demo-project.tar.gz"), "{text}");
    // The inclusion proofs travelled with the files: --require-logged holds.
    let log_key = demo().join("keys/log.pub");
    let logged = [
        "--insecure",
        "--require-logged",
        "--log-key",
        log_key.to_str().unwrap(),
    ];
    // (In a fresh consumer directory: the inspection unpacked the package
    // into this one.)
    let fresh = tempfile::tempdir().unwrap();
    for f in ["alice.pub", "demo-project.tar.gz"] {
        std::fs::copy(demo().join("final").join(f), fresh.path().join(f)).unwrap();
    }
    let out = verify_image(fresh.path(), &pinned, &logged, &[]);
    let text = intact_tests::output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("transparency"), "{text}");

    // A file with nothing attached: no referrers, exit 2.
    std::fs::write(d.join("bare.txt"), d.display().to_string()).unwrap();
    let bare = format!("{}/demo/bare", r.addr);
    let out = intact(
        d,
        &["oci", "push", &bare, "--artifact", "bare.txt", "--insecure"],
        &[],
    );
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    let bare = format!("{bare}@{}", stdout(&out).trim());
    let out = verify_image(d, &bare, &["--insecure"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(intact_tests::output_text(&out).contains("no layout, link or attestation is attached"));

    // Nobody listening: unreachable, exit 2.
    let closed = format!("127.0.0.1:{}/app:v1", free_port());
    let out = intact(d, &["oci", "resolve", &closed, "--insecure"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(intact_tests::output_text(&out).contains("registry unreachable"));

    // Plain HTTP is for localhost only.
    let out = intact(
        d,
        &["oci", "pull", "registry.example.com/app@sha256:0000000000000000000000000000000000000000000000000000000000000000", "-o", "x", "--insecure"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(intact_tests::output_text(&out).contains("only allowed for a registry on localhost"));
}

/// GET or PUT over plain HTTP/1.0 (the server closes; no chunking).
fn http(addr: &str, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: {content_type}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = String::from_utf8_lossy(&resp[9..12]).parse().unwrap();
    (status, resp[split + 4..].to_vec())
}

#[test]
fn a_link_swapped_in_the_registry_fails_verification() {
    if !have_registry() {
        return;
    }
    let r = plain();
    let (dir, pinned) = pushed_demo("demo/swap", r, &["--insecure"], &[]);
    let d = dir.path();
    // A forged link of the same name: one recorded product changed.
    let original = std::fs::read_dir(demo().join("work"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("package.")
                && p.extension().is_some_and(|x| x == "link")
        })
        .unwrap();
    let name = original.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(&original).unwrap();
    let key = text.find("\"sha256\":").unwrap() + 9;
    let at = key + text[key..].find('"').unwrap() + 1;
    let flipped = if &text[at..=at] == "0" { "1" } else { "0" };
    let forged = format!("{}{flipped}{}", &text[..at], &text[at + 1..]);
    std::fs::create_dir(d.join("forged")).unwrap();
    std::fs::write(d.join("forged").join(&name), forged).unwrap();
    let out = intact(
        d,
        &["oci", "push", &pinned, "--link-dir", "forged", "--insecure"],
        &[],
    );
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    let forged_digest = stdout(&out).split_whitespace().next().unwrap().to_string();

    // Whoever controls the registry drops the real link from the list.
    let digest = &pinned[pinned.find('@').unwrap() + 1..];
    let path = format!("/v2/demo/swap/manifests/{}", digest.replace(':', "-"));
    let index_type = "application/vnd.oci.image.index.v1+json";
    let (status, body) = http(&r.addr, "GET", &path, index_type, b"");
    assert_eq!(status, 200);
    let mut index: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let manifests = index["manifests"].as_array_mut().unwrap();
    let before = manifests.len();
    manifests.retain(|m| {
        m["annotations"]["org.opencontainers.image.title"] != name.as_str()
            || m["digest"] == forged_digest.as_str()
    });
    assert_eq!(manifests.len(), before - 1);
    let (status, _) = http(
        &r.addr,
        "PUT",
        &path,
        index_type,
        &serde_json::to_vec(&index).unwrap(),
    );
    assert_eq!(status, 201);

    let out = verify_image(d, &pinned, &["--insecure"], &[]);
    let text = intact_tests::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("verification FAILED"), "{text}");
    assert!(text.contains("does not verify"), "{text}");
}

#[test]
fn a_tampered_blob_is_refused() {
    if !have_registry() {
        return;
    }
    let r = plain();
    let (dir, pinned) = pushed_demo("demo/tamper", r, &["--insecure"], &[]);
    let d = dir.path();
    // An attestation of content no other test pushes, so its blob (blobs
    // are shared by all repositories) is this test's alone.
    let unique = format!(
        "{{\"payloadType\":\"x\",\"payload\":\"{}\",\"signatures\":[]}}",
        d.display()
    );
    std::fs::write(d.join("extra.intoto.json"), &unique).unwrap();
    let out = intact(
        d,
        &[
            "oci",
            "push",
            &pinned,
            "--attestation",
            "extra.intoto.json",
            "--insecure",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));
    // The registry's disk now serves other bytes for that digest.
    use sha2::Digest as _;
    let hex = hex::encode(sha2::Sha256::digest(unique.as_bytes()));
    let data = r
        .root
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(&hex)
        .join("data");
    let mut tampered = unique.into_bytes();
    tampered[2] ^= 1;
    std::fs::write(&data, tampered).unwrap();

    let out = intact(
        d,
        &["oci", "pull", &pinned, "-o", "chain", "--insecure"],
        &[],
    );
    let text = intact_tests::output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("digest mismatch"), "{text}");
    assert!(!d.join("chain/extra.intoto.json").exists());
}

#[test]
fn tls_with_a_custom_ca_and_basic_auth() {
    if !have_registry() {
        return;
    }
    let r = secure();
    let ca = r.dir.join("ca.pem");
    let ca = ca.to_str().unwrap();
    let good = [
        ("INTACT_REGISTRY_USER", "ci"),
        ("INTACT_REGISTRY_PASSWORD", "s3cret"),
        ("INTACT_REGISTRY_HOST", r.addr.as_str()),
    ];
    let (dir, pinned) = pushed_demo("demo/secure", r, &["--ca-file", ca], &good);
    let d = dir.path();
    let out = verify_image(d, &pinned, &["--ca-file", ca], &good);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        intact_tests::output_text(&out)
    );

    // A wrong password: exit 2, a clear message.
    let bad = [
        ("INTACT_REGISTRY_USER", "ci"),
        ("INTACT_REGISTRY_PASSWORD", "wrong"),
        ("INTACT_REGISTRY_HOST", r.addr.as_str()),
    ];
    let out = verify_image(d, &pinned, &["--ca-file", ca], &bad);
    let text = intact_tests::output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"127\.0\.0\.1:\d+", "[REGISTRY]");
    s.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[DIGEST]");
    s.bind(|| insta::assert_snapshot!("oci_wrong_password", text));

    // The environment's credentials go only to INTACT_REGISTRY_HOST's
    // registry: for this one, named otherwise, none are sent (401, exit 2),
    // and without the variable they are refused outright.
    let elsewhere = [
        ("INTACT_REGISTRY_USER", "ci"),
        ("INTACT_REGISTRY_PASSWORD", "s3cret"),
        ("INTACT_REGISTRY_HOST", "registry.example.com"),
    ];
    let out = verify_image(d, &pinned, &["--ca-file", ca], &elsewhere);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        intact_tests::output_text(&out)
    );
    let unnamed = [
        ("INTACT_REGISTRY_USER", "ci"),
        ("INTACT_REGISTRY_PASSWORD", "s3cret"),
    ];
    let out = verify_image(d, &pinned, &["--ca-file", ca], &unnamed);
    let text = intact_tests::output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("INTACT_REGISTRY_HOST"), "{text}");

    // The docker config.json credentials work too.
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret");
    std::fs::write(
        d.join("config.json"),
        format!("{{\"auths\":{{\"{}\":{{\"auth\":\"{auth}\"}}}}}}", r.addr),
    )
    .unwrap();
    let out = intact(d, &["oci", "referrers", &pinned, "--ca-file", ca], &[]);
    assert!(out.status.success(), "{}", intact_tests::output_text(&out));

    // Without the CA the registry's certificate is not trusted.
    let out = verify_image(d, &pinned, &[], &good);
    let text = intact_tests::output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("unreachable") || text.contains("certificate"),
        "{text}"
    );
}

#[test]
fn the_container_example_verifies_by_digest_and_refuses_another_image() {
    if !have_registry() || which("skopeo").is_none() {
        eprintln!("\n\n*** SKIPPED: examples/container needs docker-registry and skopeo ***\n");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = intact_tests::repo_root().join("examples/container/run.sh");
    let out = intact_tests::output_bounded(
        Command::new("bash")
            .arg(script)
            .arg(dir.path().join("work"))
            .env("INTACT", env!("CARGO_BIN_EXE_intact")),
        Duration::from_secs(300),
        || {},
    );
    let text = intact_tests::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("verification PASSED"), "{text}");
    assert!(
        text.contains("product:  image.manifest.json of step push"),
        "{text}"
    );
    assert!(
        text.contains("the other image was refused (exit 1)"),
        "{text}"
    );
}
