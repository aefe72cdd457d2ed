//! Compiling YAML layouts: keys, rules, parameters, expiry, export round
//! trips and signed-layout checks, through the public API.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::collections::BTreeMap;
use std::path::Path;

use intact_crypto::{verify_metadata, SigningKey};
use intact_layout::{
    check_signed, export, sign_layout, substitute_parameters, BuildOptions, Compiled, Finding,
    Severity, Source,
};
use intact_model::{Container, Layout, Metadata};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2025-06-01 12:00 UTC);

fn new_key(dir: &Path, name: &str) -> SigningKey {
    let key = SigningKey::generate_ed25519();
    let pem = key.public_key().to_spki_pem().unwrap();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::write(dir.join("keys").join(format!("{name}.pub")), pem).unwrap();
    key
}

fn options(params: &[(&str, &str)]) -> BuildOptions {
    BuildOptions {
        parameters: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        now: NOW,
        key_names: true,
        warn_expiry: intact_layout::DEFAULT_WARN_EXPIRY,
    }
}

fn compile(dir: &Path, yaml: &str, params: &[(&str, &str)]) -> Compiled {
    Source::parse(yaml, dir)
        .unwrap()
        .compile(&options(params))
        .unwrap()
}

fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code).collect()
}

const CHAIN: &str = r#"
readme: |
  Two steps.
expires: 2030-01-01
keys:
  alice: keys/alice.pub
steps:
  - name: write
    functionaries: [alice, keys/bob.pub]
    threshold: 2
    expected_command: vi 'my file.txt'
    expected_products:
      - CREATE 'my file.txt'
      - DISALLOW *
  - name: package
    functionaries: [alice]
    expected_command: [tar, czf, out.tgz, my file.txt]
    expected_materials:
      - match 'my file.txt' with products from write
      - DISALLOW *
    expected_products:
      - CREATE out.tgz
      - DISALLOW *
"#;

#[test]
fn compiles_keys_rules_and_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let alice = new_key(d, "alice");
    let bob = new_key(d, "bob");
    let c = compile(d, CHAIN, &[]);
    assert!(c.findings.is_empty(), "{:#?}", c.findings);
    let l = &c.layout;
    assert_eq!(l.readme, "Two steps.\n");
    assert_eq!(l.expires.as_ref().unwrap().as_str(), "2030-01-01T00:00:00Z");
    let (a, b) = (alice.keyid().unwrap(), bob.keyid().unwrap());
    assert_eq!(l.steps[0].pubkeys, vec![a.clone(), b.clone()]);
    assert_eq!(l.keys.len(), 2);
    assert_eq!(
        l.keys[&a],
        alice
            .public_key()
            .to_key_dict()
            .unwrap()
            .with_name("alice")
            .unwrap(),
        "modern key dicts are embedded, with the name they have under `keys`"
    );
    assert_eq!(l.keys[&a].name(), Some("alice"));
    let unnamed = Source::parse(CHAIN, d)
        .unwrap()
        .compile(&BuildOptions {
            key_names: false,
            ..options(&[])
        })
        .unwrap();
    assert_eq!(
        unnamed.layout.keys[&a],
        alice.public_key().to_key_dict().unwrap(),
        "--no-key-names embeds the key dictionary alone"
    );
    assert_eq!(l.steps[0].expected_command, ["vi", "my file.txt"]);
    assert_eq!(
        l.steps[1].expected_command,
        ["tar", "czf", "out.tgz", "my file.txt"]
    );
    assert_eq!(
        l.steps[0].expected_products[0].tokens(),
        ["CREATE", "my file.txt"]
    );
    // Tokens are kept as written; the reference stores shlex's output.
    assert_eq!(
        l.steps[1].expected_materials[0].tokens(),
        ["match", "my file.txt", "with", "products", "from", "write"]
    );
    assert_eq!(l.steps[0].threshold, 2);
}

#[test]
fn key_paths_are_relative_to_the_yaml_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    new_key(d, "alice");
    new_key(d, "bob");
    let file = d.join("layout.yaml");
    std::fs::write(&file, CHAIN).unwrap();
    // Whatever the current directory, keys/… is found next to the YAML.
    let c = Source::load(&file).unwrap().compile(&options(&[])).unwrap();
    assert!(c.findings.is_empty(), "{:#?}", c.findings);
    assert_eq!(c.layout.keys.len(), 2);
}

#[test]
fn build_export_build_gives_identical_signed_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    new_key(d, "alice");
    new_key(d, "bob");
    let owner = SigningKey::generate_ed25519();
    let second = SigningKey::generate_ed25519();
    let owners = [owner, second];
    let yaml = CHAIN.replace("expires: 2030-01-01", "expires: 365d");
    let first = compile(d, &yaml, &[]);
    for container in [Container::Metablock, Container::Envelope] {
        let signed = sign_layout(&first.layout, &owners, container).unwrap();
        for key in &owners {
            verify_metadata(&signed, &key.keyid().unwrap(), key.public_key()).unwrap();
        }
        let bytes = signed.to_bytes().unwrap();
        let loaded = Metadata::from_slice(&bytes).unwrap();
        let layout = loaded.payload().unwrap().as_layout().unwrap().clone();
        let yaml = export(&layout).unwrap();
        // Compiled later, with another clock: the expiry is absolute now.
        let mut later = options(&[]);
        later.now = NOW + time::Duration::days(3);
        let again = Source::parse(yaml.clone(), d)
            .unwrap()
            .compile(&later)
            .unwrap();
        assert!(again.findings.is_empty(), "{yaml}\n{:#?}", again.findings);
        let resigned = sign_layout(&again.layout, &owners, container).unwrap();
        assert_eq!(resigned.to_bytes().unwrap(), bytes, "{yaml}");
    }
}

#[test]
fn export_keeps_legacy_keys_and_odd_strings() {
    let public = SigningKey::generate_ed25519()
        .public_key()
        .public_value()
        .unwrap();
    let legacy = r#"{"signed": {"_type": "layout", "expires": "2030-01-01T00:00:00Z",
      "readme": "line 1\n  indented: yes\n\ttab \"q\" 'q' #x\n",
      "keys": {"776a00e29f3559e0141b3b096f696abc6cfb0c657ab40f441132b345b08453f5": {
        "keyid": "776a00e29f3559e0141b3b096f696abc6cfb0c657ab40f441132b345b08453f5",
        "keyid_hash_algorithms": ["sha256", "sha512"], "keytype": "ed25519", "scheme": "ed25519",
        "keyval": {"private": "", "public": "PUBLIC"}}},
      "steps": [{"_type": "step", "name": "a b", "threshold": 1,
        "pubkeys": ["776a00e29f3559e0141b3b096f696abc6cfb0c657ab40f441132b345b08453f5"],
        "expected_command": ["sh", "-c", "echo 'hi' \"there\" \\ $X", "", "{{literal}}"],
        "expected_materials": [["Allow", ""], ["MATCH", "a b", "IN", "x y", "WITH", "materials", "FROM", "a b"]],
        "expected_products": [["REQUIRE", "null"], ["DISALLOW", "yes"], ["CREATE", "- x"], ["ALLOW", "*"]]}],
      "inspect": [{"_type": "inspection", "name": "i", "run": [],
        "expected_materials": [], "expected_products": []}]}, "signatures": []}"#
        .replace("PUBLIC", &public);
    let md = Metadata::from_slice(legacy.as_bytes()).unwrap();
    let layout = md.payload().unwrap().as_layout().unwrap().clone();
    let yaml = export(&layout).unwrap();
    let again = Source::parse(yaml.clone(), ".")
        .unwrap()
        .compile(&options(&[]))
        .unwrap();
    assert!(!again.has_errors(), "{:#?}", again.findings);
    assert_eq!(again.layout, layout, "{yaml}");
    assert_eq!(
        again.layout.canonical_bytes_for_test(),
        layout.canonical_bytes_for_test()
    );
}

trait CanonicalForTest {
    fn canonical_bytes_for_test(&self) -> Vec<u8>;
}

impl CanonicalForTest for Layout {
    fn canonical_bytes_for_test(&self) -> Vec<u8> {
        intact_model::Payload::from(self.clone())
            .canonical_bytes()
            .unwrap()
    }
}

const PARAMS: &str = r#"
expires: 2030-01-01
keys: {alice: keys/alice.pub}
parameters:
  REPO: https://example.com/x.git
  VERSION: null
steps:
  - name: build
    functionaries: [alice]
    expected_command: git clone {REPO} --branch v{VERSION}
    expected_products:
      - CREATE app-{VERSION}.tar.gz
      - ALLOW {{braces}}
      - DISALLOW *
"#;

#[test]
fn parameters_known_at_build_time_are_substituted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    new_key(d, "alice");
    // VERSION is left for the verifier; escapes stay escapes.
    let partial = compile(d, PARAMS, &[]);
    assert!(partial.findings.is_empty(), "{:#?}", partial.findings);
    let step = &partial.layout.steps[0];
    assert_eq!(
        step.expected_command,
        [
            "git",
            "clone",
            "https://example.com/x.git",
            "--branch",
            "v{VERSION}"
        ]
    );
    assert_eq!(step.expected_products[1].to_string(), "ALLOW {{braces}}");
    assert_eq!(
        partial.unbound_parameters.iter().collect::<Vec<_>>(),
        ["VERSION"]
    );
    // The verifier finishing the job gives what one substitution gives.
    let all = BTreeMap::from([
        ("REPO".to_string(), "https://example.com/x.git".to_string()),
        ("VERSION".to_string(), "1.0".to_string()),
    ]);
    let finished = substitute_parameters(
        &partial.layout,
        &BTreeMap::from([("VERSION".into(), "1.0".into())]),
    )
    .unwrap();
    let unbound = compile(
        d,
        &PARAMS.replace("REPO: https://example.com/x.git", "REPO: null"),
        &[],
    );
    assert_eq!(
        finished,
        substitute_parameters(&unbound.layout, &all).unwrap()
    );

    // Everything given: the finished layout, braces decoded; --param wins
    // over the declared default.
    let full = compile(d, PARAMS, &[("VERSION", "1.0"), ("REPO", "/src/x")]);
    assert!(full.findings.is_empty(), "{:#?}", full.findings);
    assert!(full.unbound_parameters.is_empty());
    let step = &full.layout.steps[0];
    assert_eq!(step.expected_command[2], "/src/x");
    assert_eq!(
        step.expected_products[0].to_string(),
        "CREATE app-1.0.tar.gz"
    );
    assert_eq!(step.expected_products[1].to_string(), "ALLOW {braces}");
}

#[test]
fn parameter_problems_are_findings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    new_key(d, "alice");
    let c = compile(d, PARAMS, &[("VERSON", "1"), ("bad name", "x")]);
    assert_eq!(
        codes(&c.findings),
        ["unused-parameter", "invalid-parameter"]
    );
    assert!(
        c.findings[0].message.contains("--param VERSON"),
        "{}",
        c.findings[0].message
    );

    let yaml = PARAMS
        .replace("  VERSION: null\n", "  UNUSED: null\n")
        .replace("REPO: https://example.com/x.git", "REPO: null")
        .replace("ALLOW {{braces}}", "ALLOW lone}");
    let c = compile(d, &yaml, &[]);
    assert_eq!(
        codes(&c.findings),
        [
            "unused-parameter",
            "undeclared-parameter",
            "parameter-syntax"
        ]
    );
    assert_eq!(c.findings[0].severity, Severity::Warning);
    assert_eq!(c.findings[2].severity, Severity::Warning);
    // Substituting with a lone brace around is an error.
    let c = compile(d, &yaml, &[("REPO", "x")]);
    assert!(c
        .findings
        .iter()
        .any(|f| f.code == "parameter-syntax" && f.severity == Severity::Error));
}

#[test]
fn expiry_findings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    new_key(d, "alice");
    let yaml = |e: &str| {
        format!("expires: {e}\nkeys: {{alice: keys/alice.pub}}\nsteps: [{{name: a, functionaries: [alice]}}]\n")
    };
    assert_eq!(
        codes(&compile(d, &yaml("29d"), &[]).findings),
        ["expires-soon"]
    );
    assert!(compile(d, &yaml("30d"), &[]).findings.is_empty());
    // At 29 and 31 days, with the default period and with --warn-expiry.
    let within = |e: &str, period: time::Duration| {
        let opts = BuildOptions {
            warn_expiry: period,
            ..options(&[])
        };
        let c = Source::parse(yaml(e), d).unwrap().compile(&opts).unwrap();
        codes(&c.findings)
    };
    let days = time::Duration::days;
    assert_eq!(within("29d", days(30)), ["expires-soon"]);
    assert!(within("31d", days(30)).is_empty());
    assert_eq!(within("31d", days(60)), ["expires-soon"]);
    assert!(within("29d", days(7)).is_empty());
    let soon = compile(d, &yaml("2025-06-11T12:00:00Z"), &[]);
    assert!(
        soon.findings[0].message.contains("(in 10 days)"),
        "{}",
        soon.findings[0].message
    );
    assert_eq!(
        codes(&compile(d, &yaml("2025-06-01T12:00:00Z"), &[]).findings),
        ["expired"]
    );
    assert_eq!(
        codes(&compile(d, &yaml("soon"), &[]).findings),
        ["invalid-expires"]
    );
}

#[test]
fn yaml_errors_have_positions() {
    let err = Source::parse("expires: 1d\nsteps:\n  - name: [a\n", ".").unwrap_err();
    assert_eq!(
        err.to_string(),
        "3:11: steps[0].name: invalid type: sequence, expected a string"
    );
    let err = Source::parse("expires: 1d\nsteps:\n  - name: a\n  b: 'x\n", ".").unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("4:"), "{text}");
    let err = Source::parse(
        "expires: 1d\nsteps:\n  - name: a\n    threshold: two\n",
        ".",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("4:16: steps[0].threshold: invalid type"),
        "{err}"
    );
}

#[test]
fn signed_layouts_with_bad_rules_and_names_are_checked() {
    let json = r#"{"signed": {"_type": "layout", "expires": "2030-01-01T00:00:00Z", "readme": "", "keys": {},
      "steps": [{"_type": "step", "name": "a", "threshold": 1, "pubkeys": ["abcd"], "expected_command": [],
        "expected_materials": [["MATCH", "*", "WITH", "ARTIFACTS", "FROM", "a"], ["ALLOW", "x"], ["DISALLOW", "*"], ["ALLOW", "y"]],
        "expected_products": []}],
      "inspect": [{"_type": "inspection", "name": "a", "run": ["ls"], "expected_materials": [], "expected_products": []}]},
      "signatures": []}"#;
    let findings = check_signed(json.as_bytes(), NOW).unwrap();
    let got: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.code, f.location.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("rule-parse", "signed.steps[0].expected_materials[0]"),
            ("duplicate-name", "signed.inspect[0].name"),
            ("key-not-embedded", "signed.steps[0].pubkeys[0]"),
            // Rule indices refer to the file, not to the rules that parsed.
            ("unreachable-rule", "signed.steps[0].expected_materials[3]"),
            ("unsigned", ""),
        ]
    );
    assert_eq!(findings[0].location.token, Some(3));
    assert!(matches!(
        check_signed(br#"{"signed": {"_type": "link", "name": "a"}}"#, NOW),
        Err(intact_layout::LayoutError::NotALayout(_))
    ));
    let bad_type = br#"{"signed": {"_type": "layout", "expires": "2030-01-01T00:00:00Z", "steps": [{"name": "a", "threshold": "1"}], "inspect": []}}"#;
    let err = check_signed(bad_type, NOW).unwrap_err().to_string();
    assert!(err.contains("signed.steps[0].threshold"), "{err}");
}

#[test]
fn inline_keys_are_checked() {
    let key = SigningKey::generate_ed25519();
    let public = key.public_key().public_value().unwrap();
    let yaml = |keyval: &str| {
        format!(
            "expires: 2030-01-01\nkeys:\n  k: {{keytype: ed25519, scheme: ed25519, keyval: {keyval}}}\nsteps: [{{name: a, functionaries: [k]}}]\n"
        )
    };
    // Without a keyid, the modern one is computed.
    let ok = compile(
        Path::new("."),
        &yaml(&format!("{{public: '{public}'}}")),
        &[],
    );
    assert!(ok.findings.is_empty(), "{:#?}", ok.findings);
    assert_eq!(ok.layout.steps[0].pubkeys, [key.keyid().unwrap()]);
    let private = compile(
        Path::new("."),
        &yaml(&format!("{{public: '{public}', private: 'abcd'}}")),
        &[],
    );
    assert_eq!(codes(&private.findings), ["invalid-key"]);
    assert!(private.findings[0].message.contains("private key"));
    let float = compile(
        Path::new("."),
        &yaml(&format!("{{public: '{public}', x: 1.5}}")),
        &[],
    );
    assert_eq!(codes(&float.findings), ["invalid-key"]);
}
