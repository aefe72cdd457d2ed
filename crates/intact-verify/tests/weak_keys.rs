//! Weak keys in a layout: verification still counts them (as the
//! reference does) but the report warns.

// An integration test may unwrap, panic and use std::fs: clippy.toml's
// allow-*-in-tests cover #[test] functions, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::collections::BTreeMap;

use intact_crypto::{sign_metadata, PublicKey, SigningKey};
use intact_model::{Container, Expires, Layout, Metadata, Step, StepName};
use intact_verify::{verify, MemoryLinkSource, Stage, VerifyOptions};

/// A 1024-bit RSA public key (openssl genpkey, rsa_keygen_bits:1024).
const WEAK_RSA_PUB: &str = "-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDVs98SXcn0Q37c9agzcz2SnwJ6\njHqpNiOtBtuDvQsRZiVOKkQhrihlDcZaqUdn97jxTTcDHyNGW6+XjzH4xhPnnaZN\nsIBKdPkPf7yKcvt7Mv/HQPiOIIGhzKQn8uArGt74kwW9eEFOswfg/Oc3C2kRvNre\nwiPtNATfgn7tej2KcQIDAQAB\n-----END PUBLIC KEY-----\n";

#[test]
fn a_weak_layout_key_is_a_warning() {
    let owner = SigningKey::generate_ed25519();
    let weak = PublicKey::from_spki_pem(WEAK_RSA_PUB).unwrap();
    assert!(weak.is_weak());
    let id = weak.keyid().unwrap();
    let mut layout = Layout::new(Expires::parse("2099-01-01T00:00:00Z").unwrap());
    layout.keys.insert(id.clone(), weak.to_key_dict().unwrap());
    let mut step = Step::new(StepName::new("build").unwrap());
    step.pubkeys = vec![id.clone()];
    layout.steps = vec![step];
    let mut md = Metadata::new(layout.into(), Container::Metablock).unwrap();
    sign_metadata(&mut md, &owner).unwrap();
    let keys = BTreeMap::from([(owner.keyid().unwrap(), owner.public_key().clone())]);
    let report = verify(
        &md,
        &keys,
        &MemoryLinkSource::new(BTreeMap::new()),
        &VerifyOptions::new(),
    )
    .unwrap();
    // The only layout-check warning, naming the key.
    let layout_warnings: Vec<_> = report
        .warnings
        .iter()
        .filter(|w| w.stage == Stage::LayoutChecks)
        .collect();
    assert_eq!(layout_warnings.len(), 1, "{report}");
    assert!(layout_warnings[0].message.contains(id.short()));
}
