//! Parse → write → parse: any metadata file that parses writes the bytes
//! the reference would, and those parse back to the same metadata and
//! write the same bytes again. Canonical writing agrees with itself
//! everywhere it is done: the typed writer against the `Value` writer,
//! streamed against whole, head + tail against the whole file, and a
//! payload moved between containers keeps its canonical bytes.
#![no_main]

use intact_model::json::{canonical, to_python_json, PyStyle};
use intact_model::{Container, Metadata};
use libfuzzer_sys::fuzz_target;

fn streamed(
    f: impl FnOnce(&mut dyn FnMut(&[u8])) -> Result<bool, intact_model::ModelError>,
) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let whole = f(&mut |c| out.extend_from_slice(c)).expect("streaming writes");
    whole.then_some(out)
}

fuzz_target!(|data: &[u8]| {
    let Ok(md) = Metadata::from_slice(data) else {
        return;
    };
    let bytes = md.to_bytes().expect("parsed metadata writes");
    let again = Metadata::from_slice(&bytes).expect("written metadata parses");
    assert_eq!(again, md, "parse → write → parse changed the metadata");
    assert_eq!(
        again.to_bytes().expect("writes"),
        bytes,
        "writing is not idempotent"
    );
    let signed = md.signed_bytes().expect("signed bytes");
    assert_eq!(again.signed_bytes().expect("signed bytes"), signed);
    if let Some(s) = streamed(|sink| md.stream_signed_bytes(sink)) {
        assert_eq!(s, signed, "streamed signed bytes differ");
    }

    if let Metadata::Metablock(mb) = &md {
        let value = mb.to_value().expect("a Metablock's value");
        assert_eq!(
            to_python_json(&value, PyStyle::Pretty).expect("pretty"),
            bytes,
            "the typed file writer and the Value writer differ"
        );
        let payload = mb.signed.to_value().expect("payload value");
        assert_eq!(
            canonical(&payload).expect("canonical"),
            signed,
            "typed and Value canonical JSON differ"
        );
        let head = mb.file_head().expect("head");
        let tail = mb.file_tail().expect("tail");
        assert_eq!(
            [head, tail.clone()].concat(),
            bytes,
            "head + tail is not the file"
        );
        if let Some(s) = streamed(|sink| mb.stream_file_tail(sink)) {
            assert_eq!(s, tail, "streamed tail differs");
        }
    }

    // The payload in each container: canonical bytes survive the move.
    let Ok(payload) = md.payload() else {
        return;
    };
    let canonical_payload = payload.canonical_bytes().expect("canonical payload");
    for container in [Container::Metablock, Container::Envelope] {
        let fresh = Metadata::new(payload.clone(), container).expect("wraps");
        let bytes = fresh.to_bytes().expect("writes");
        let back = Metadata::from_slice(&bytes).expect("parses");
        assert_eq!(back, fresh, "{container:?} round trip");
        let p = back.payload().expect("payload parses");
        assert_eq!(p, payload, "{container:?} payload round trip");
        assert_eq!(p.canonical_bytes().expect("canonical"), canonical_payload);
    }
});
