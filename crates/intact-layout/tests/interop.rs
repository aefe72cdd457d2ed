//! Interoperability with the in-toto reference (Python in-toto 3.x):
//! layouts compiled and signed here load, validate and verify there, the
//! reference signs them to the same bytes, and parameter substitution
//! gives the same layout as its `substitute_parameters`.
//!
//! The reference runs from the virtualenv `tests/interop/setup-venv.sh`
//! prepares (the last line of its output is the python to use). Without
//! that script (it creates the venv on first use) these tests fail.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    // It says on stderr which functionaries it could not test.
    clippy::print_stderr
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use intact_crypto::{write_key_pair, SigningKey};
use intact_layout::{sign_layout, substitute_parameters, BuildOptions, Source};
use intact_model::{Container, Layout, Metadata, Payload};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The reference's python (set up on first use; a failing set-up fails the test).
fn python() -> PathBuf {
    intact_tests::reference_python().to_path_buf()
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run the reference")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "reference failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An ed25519 key pair on disk: `dir/name.pem` (PKCS#8) and `dir/name.pub`.
fn key_pair(dir: &Path, name: &str) -> SigningKey {
    let key = SigningKey::generate_ed25519();
    write_key_pair(
        &key,
        &dir.join(format!("{name}.pem")),
        &dir.join(format!("{name}.pub")),
        None,
    )
    .unwrap();
    key
}

/// RSA and ECDSA public keys made by openssl, if it is installed.
fn openssl_public_keys(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (name, args) in [
        (
            "rsa",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"][..],
        ),
        (
            "ecdsa",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
    ] {
        let private = dir.join(format!("{name}.pem"));
        let public = dir.join(format!("{name}.pub"));
        let gen = Command::new("openssl")
            .arg("genpkey")
            .args(args)
            .arg("-out")
            .arg(&private)
            .output();
        let Ok(gen) = gen else {
            eprintln!("openssl not found: RSA and ECDSA functionaries not tested");
            return Vec::new();
        };
        assert!(
            gen.status.success(),
            "{}",
            String::from_utf8_lossy(&gen.stderr)
        );
        let pubout = Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&private)
            .arg("-out")
            .arg(&public)
            .output()
            .unwrap();
        assert!(pubout.status.success());
        out.push(public);
    }
    out
}

fn canonical(layout: &Layout) -> String {
    String::from_utf8(Payload::from(layout.clone()).canonical_bytes().unwrap()).unwrap()
}

/// Copy a template next to generated functionary keys and compile it.
fn compile_template(name: &str, dir: &Path, options: &BuildOptions) -> (Layout, Vec<PathBuf>) {
    let file = dir.join(name);
    std::fs::copy(repo_root().join("layouts").join(name), &file).unwrap();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let mut pubs = Vec::new();
    for (_, spec) in Source::load(&file).unwrap().spec().keys.iter() {
        if let intact_layout::KeySpec::File(rel) = spec {
            let stem = rel.trim_end_matches(".pub");
            key_pair(dir, stem);
            pubs.push(dir.join(rel));
        }
    }
    // `principal keys/x.pub` git signers name OpenSSH public key files.
    for line in Source::load(&file)
        .unwrap()
        .spec()
        .git
        .iter()
        .flat_map(|g| g.signers.iter())
    {
        if let [_, rel] = line.split_whitespace().collect::<Vec<_>>().as_slice() {
            std::fs::write(
                dir.join(rel),
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIARMDqJGytSxdsEDAT0M2kpolsN7fVEFW8QTA8XTneZf m\n",
            )
            .unwrap();
        }
    }
    let compiled = Source::load(&file).unwrap().compile(options).unwrap();
    assert!(!compiled.has_errors(), "{:#?}", compiled.findings);
    (compiled.layout, pubs)
}

#[test]
fn reference_loads_and_verifies_built_layouts() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let owners = [key_pair(d, "owner1"), key_pair(d, "owner2")];
    let mut layouts = Vec::new();
    for name in ["demo.yaml", "rust-crate.yaml", "container-image.yaml"] {
        let sub = d.join(name.trim_end_matches(".yaml"));
        std::fs::create_dir(&sub).unwrap();
        layouts.push(compile_template(name, &sub, &BuildOptions::default()));
    }
    // RSA and ECDSA functionaries are embedded as the reference computes.
    let extra = openssl_public_keys(d);
    if !extra.is_empty() {
        let yaml = format!(
            "expires: 1y\nsteps:\n  - name: build\n    threshold: 2\n    functionaries: [{}]\n    expected_products: [\"CREATE 'a b'\", match * with products from build]\n",
            extra.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
        let c = Source::parse(yaml, d)
            .unwrap()
            .compile(&BuildOptions::default())
            .unwrap();
        assert!(!c.has_errors(), "{:#?}", c.findings);
        layouts.push((c.layout, extra));
    }
    for (layout, functionaries) in &layouts {
        for (container, class) in [
            (Container::Metablock, "Metablock"),
            (Container::Envelope, "Envelope"),
        ] {
            let md = sign_layout(layout, &owners, container).unwrap();
            let path = d.join("root.layout");
            md.save(&path).unwrap();
            let mut cmd = Command::new(&python);
            cmd.arg(script("ref_check_layout.py"))
                .arg(&path)
                .arg(d.join("owner1.pub"))
                .arg(d.join("owner2.pub"));
            for f in functionaries {
                cmd.arg("--functionary").arg(f);
            }
            let out: serde_json::Value = serde_json::from_str(&ok(&run(&mut cmd))).unwrap();
            assert_eq!(out["container"], class);
            assert_eq!(out["signable"].as_str().unwrap(), canonical(layout));
        }
    }
    // A signature by another key is refused there too.
    let stranger = key_pair(d, "stranger");
    let md = sign_layout(&layouts[0].0, &[stranger], Container::Metablock).unwrap();
    md.save(&d.join("other.layout")).unwrap();
    let out = run(Command::new(&python)
        .arg(script("ref_check_layout.py"))
        .arg(d.join("other.layout"))
        .arg(d.join("owner1.pub")));
    assert!(!out.status.success());
}

#[test]
fn reference_signs_to_the_same_bytes() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let owners = [key_pair(d, "owner1"), key_pair(d, "owner2")];
    let (layout, _) = compile_template("demo.yaml", d, &BuildOptions::default());
    for container in [Container::Metablock, Container::Envelope] {
        let ours = sign_layout(&layout, &owners, container).unwrap();
        let path = d.join("ours.layout");
        ours.save(&path).unwrap();
        let theirs = d.join("theirs.layout");
        ok(&run(Command::new(&python)
            .arg(script("ref_sign_layout.py"))
            .arg(&path)
            .arg(&theirs)
            .arg(d.join("owner1.pem"))
            .arg(d.join("owner2.pem"))));
        assert_eq!(
            String::from_utf8(std::fs::read(&theirs).unwrap()).unwrap(),
            String::from_utf8(std::fs::read(&path).unwrap()).unwrap(),
            "{container:?}"
        );
    }
}

const TEMPLATE: &str = r#"
expires: 2030-01-01
steps:
  - name: build
    expected_command: make 'VERSION={VERSION}' {{literal}} "}}{{" {EMPTY}x
    expected_materials:
      - MATCH {NAME}-* IN src/{DIR} WITH PRODUCTS IN {DIR} FROM fetch
      - ALLOW {NAME}.{EXT}
    expected_products:
      - CREATE {NAME}-{VERSION}.tar.gz
      - REQUIRE {{NAME}}
  - name: fetch
    expected_command: [curl, -o, '{NAME}', 'https://example.com/{NAME}?v={VERSION}&x={{y}}']
inspect:
  - name: unpack
    run: tar xzf {NAME}-{VERSION}.tar.gz
    expected_materials:
      - MATCH {NAME}-{VERSION}.tar.gz WITH PRODUCTS FROM build
    expected_products:
      - ALLOW "{NAME} {VERSION}"
"#;

#[test]
fn substitution_matches_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let compiled = Source::parse(TEMPLATE, d)
        .unwrap()
        .compile(&BuildOptions::default())
        .unwrap();
    // No functionaries: only threshold errors are expected.
    assert!(
        compiled
            .findings
            .iter()
            .all(|f| f.code == "threshold-exceeds-keys"
                || f.severity == intact_layout::Severity::Warning),
        "{:#?}",
        compiled.findings
    );
    let layout = compiled.layout;
    assert_eq!(
        layout.steps[0].expected_command,
        [
            "make",
            "VERSION={VERSION}",
            "{{literal}}",
            "}}{{",
            "{EMPTY}x"
        ]
    );
    let python = python();
    let unsigned = Metadata::new(layout.clone().into(), Container::Metablock).unwrap();
    let path = d.join("template.layout");
    unsigned.save(&path).unwrap();

    let base = [
        ("VERSION", "1.2.3"),
        ("NAME", "app"),
        ("DIR", "lib"),
        ("EXT", "tar.gz"),
        ("EMPTY", ""),
    ];
    let with = |extra: &[(&str, &str)], drop: &str| -> BTreeMap<String, String> {
        base.iter()
            .chain(extra)
            .filter(|(k, _)| *k != drop)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let cases: Vec<(&str, BTreeMap<String, String>)> = vec![
        ("plain", with(&[], "")),
        (
            "braces and quotes in values",
            with(&[("NAME", "{x} 'a b' \"c\" }")], ""),
        ),
        (
            "unicode and an unused parameter",
            with(&[("DIR", "ü/ß"), ("UNUSED", "1")], ""),
        ),
        ("names with - and _", with(&[("a-b_C", "x")], "")),
        ("a missing parameter", with(&[], "EXT")),
        ("an invalid name", with(&[("bad name", "x")], "")),
    ];
    for (what, params) in cases {
        let params_file = d.join("params.json");
        std::fs::write(&params_file, serde_json::to_vec(&params).unwrap()).unwrap();
        let out = run(Command::new(&python)
            .arg(script("ref_substitute.py"))
            .arg(&path)
            .arg(&params_file));
        let ours = substitute_parameters(&layout, &params);
        match ours {
            Ok(done) => assert_eq!(ok(&out), canonical(&done), "{what}"),
            Err(e) => {
                assert_eq!(
                    out.status.code(),
                    Some(3),
                    "{what}: we fail ({e}), the reference does not"
                );
            }
        }
    }

    // Strings that are not templates fail in both.
    for bad in ["ALLOW a}b", "ALLOW a{b", "ALLOW {}", "ALLOW {0}"] {
        let yaml =
            format!("expires: 2030-01-01\nsteps:\n  - name: a\n    expected_products: ['{bad}']\n");
        let layout = Source::parse(yaml, d)
            .unwrap()
            .compile(&BuildOptions::default())
            .unwrap()
            .layout;
        Metadata::new(layout.clone().into(), Container::Metablock)
            .unwrap()
            .save(&path)
            .unwrap();
        let params_file = d.join("params.json");
        std::fs::write(&params_file, br#"{"X": "1"}"#).unwrap();
        let out = run(Command::new(&python)
            .arg(script("ref_substitute.py"))
            .arg(&path)
            .arg(&params_file));
        assert_eq!(
            out.status.code(),
            Some(3),
            "{bad}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let params = BTreeMap::from([("X".to_string(), "1".to_string())]);
        assert!(substitute_parameters(&layout, &params).is_err(), "{bad}");
    }
}
