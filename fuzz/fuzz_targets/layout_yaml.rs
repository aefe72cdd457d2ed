//! YAML layouts, the `intact layout build` / `check` path without signing:
//! parse, compile (keys, rules, commands, expiry, parameters, lints) and
//! lint never panic or hang; a layout that compiles without errors exports
//! to YAML that compiles to the same layout (the round trip `lib.rs`
//! documents); signed input goes through `check_signed` instead.
//!
//! Key and signer files resolve against tests/fixtures/keys. An input that
//! names an existing file outside that directory (`/dev/zero`, `/proc/…`)
//! is skipped: reading special files is issue 14 item 7, not a parser bug.
#![no_main]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use intact_fuzz::now;
use intact_layout::{
    check_signed, export, is_signed_metadata, lint, BuildOptions, KeySpec, LayoutSpec, Source,
};
use libfuzzer_sys::fuzz_target;

fn base() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/keys")
            .canonicalize()
            .expect("tests/fixtures/keys exists")
    })
}

/// Whether every path the compiler could open stays among the fixture keys
/// (or does not exist).
fn paths_are_safe(spec: &LayoutSpec) -> bool {
    let mut names: Vec<&str> = Vec::new();
    for (_, key) in spec.keys.iter() {
        if let KeySpec::File(rel) = key {
            names.push(rel);
        }
    }
    for step in &spec.steps {
        names.extend(step.functionaries.iter().map(String::as_str));
    }
    if let Some(git) = &spec.git {
        for line in &git.signers {
            names.extend(line.split_whitespace());
        }
        names.extend(git.signers_file.as_deref());
    }
    names.iter().all(|name| {
        let path = base().join(name);
        if std::fs::symlink_metadata(&path).is_err() {
            return true;
        }
        path.canonicalize()
            .is_ok_and(|p| p.starts_with(base()) && p.is_file())
    })
}

fuzz_target!(|data: &[u8]| {
    let options = BuildOptions {
        parameters: BTreeMap::from([("VERSION".to_string(), "1.0".to_string())]),
        now: now(),
        key_names: true,
        warn_expiry: intact_layout::DEFAULT_WARN_EXPIRY,
    };
    if is_signed_metadata(data) {
        let _ = check_signed(data, options.now);
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(source) = Source::parse(text, base()) else {
        return;
    };
    if !paths_are_safe(source.spec()) {
        return;
    }
    let Ok(compiled) = source.compile(&options) else {
        return;
    };
    let _ = lint(&compiled.layout, options.now);
    if compiled.has_errors() {
        return;
    }
    let yaml = export(&compiled.layout).expect("a compiled layout exports");
    let again = Source::parse(yaml.as_str(), base()).expect("exported YAML parses");
    let again = again
        .compile(&BuildOptions {
            parameters: BTreeMap::new(),
            now: options.now,
            key_names: true,
            warn_expiry: options.warn_expiry,
        })
        .expect("exported YAML compiles");
    if !again.has_errors() {
        assert_eq!(again.layout, compiled.layout, "export round trip:\n{yaml}");
    }
});
