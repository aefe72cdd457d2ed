//! DSSE envelopes: parsing never panics, a parsed envelope writes and
//! parses back to itself (byte-idempotent), its PAE is the DSSE encoding
//! of its type and payload, and PAE is decodable (so injective).
#![no_main]

use intact_fuzz::parts;
use intact_model::json::parse_strict;
use intact_model::{pae, Envelope, Metadata, IN_TOTO_PAYLOAD_TYPE};
use libfuzzer_sys::fuzz_target;

/// One `<len> <bytes>` field of a PAE, and what follows it.
fn pae_field(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let sp = b.iter().position(|&c| c == b' ')?;
    let len: usize = std::str::from_utf8(b.get(..sp)?).ok()?.parse().ok()?;
    let end = sp.checked_add(1)?.checked_add(len)?;
    Some((b.get(sp + 1..end)?, b.get(end..)?))
}

/// Split `DSSEv1 <len> <type> <len> <payload>` back into type and payload.
fn decode_pae(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (t, rest) = pae_field(b.strip_prefix(b"DSSEv1 ")?)?;
    let (p, rest) = pae_field(rest.strip_prefix(b" ")?)?;
    rest.is_empty().then_some((t, p))
}

fuzz_target!(|data: &[u8]| {
    if let [t, p] = parts(data, 2)[..] {
        if let Ok(t) = std::str::from_utf8(t) {
            assert_eq!(
                decode_pae(&pae(t, p)),
                Some((t.as_bytes(), p)),
                "PAE does not decode"
            );
        }
    }

    let Ok(value) = parse_strict(data) else {
        return;
    };
    let Ok(env) = Envelope::from_value(value) else {
        return;
    };
    assert_eq!(env.pae(), pae(&env.payload_type, &env.payload));
    let bytes = env.to_bytes().expect("an envelope writes");
    let again = parse_strict(&bytes).expect("a written envelope is strict JSON");
    let again = Envelope::from_value(again).expect("a written envelope parses");
    assert_eq!(again, env, "envelope round trip changed it");
    assert_eq!(again.to_bytes().expect("writes"), bytes, "not idempotent");

    if env.payload_type == IN_TOTO_PAYLOAD_TYPE {
        let md = Metadata::from_slice(&bytes).expect("an in-toto envelope is metadata");
        assert_eq!(md, Metadata::Envelope(env.clone()));
        assert_eq!(md.signed_bytes().expect("PAE"), env.pae());
        let mut streamed = Vec::new();
        let whole = md
            .stream_signed_bytes(&mut |c| streamed.extend_from_slice(c))
            .expect("PAE streams");
        assert!(whole, "an envelope's PAE always streams");
        assert_eq!(streamed, env.pae());
    }
    if let Ok(payload) = env.parse_payload() {
        let fresh = Envelope::for_payload(&payload).expect("a parsed payload writes");
        let back = fresh.parse_payload().expect("a written payload parses");
        assert_eq!(back, payload, "payload round trip changed it");
    }
});
