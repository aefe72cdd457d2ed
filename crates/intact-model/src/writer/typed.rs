//! Payloads and Metablock files written from their types, not through
//! serde, where serde's generality is the cost.
//!
//! An artifact map is most of a link's bytes, and through the generic
//! [`Writer`] each entry pays for a key stack, an order check against the
//! previous key and a nested object: about 86 ns an entry in canonical
//! form and 160 ns in a Metablock file, 9 and 16 ms for a link of 100,000
//! artifacts, serialised up to three times while recording (file, and
//! both passes of an Ed25519 signature). [`Artifacts`] are sorted and
//! unique by construction and [`crate::DigestSet`]s sorted by algorithm, so
//! their members are written straight, in the same bytes: the tests hold
//! every format to the generic writer's output.

use serde::Serialize;

use super::{item_start, key_of, Format, Writer};
use crate::{Artifacts, DigestSet, Link, ModelError, Payload};

impl Writer<'_> {
    /// Open an object written member by member (as `serialize_map` does).
    fn open_object(&mut self) -> Result<(), ModelError> {
        self.enter()?;
        self.out.push(b'{');
        Ok(())
    }

    /// The separator, indentation and key of member `index` (as
    /// `Obj::member` writes them).
    fn member_key(&mut self, index: usize, key: &str) {
        member_key(self.format, self.depth, index, key, &mut self.out);
    }

    /// Close an object of `count` members (as `Obj::finish` does).
    fn close_object(&mut self, count: usize) {
        let depth = self.depth;
        self.depth -= 1;
        if count > 0 {
            self.newline_indent(depth - 1);
        }
        self.out.push(b'}');
    }

    /// One member whose value goes through serde.
    fn member<V: Serialize + ?Sized>(
        &mut self,
        index: usize,
        key: &str,
        v: &V,
    ) -> Result<(), ModelError> {
        self.member_key(index, key);
        v.serialize(&mut *self)?;
        self.flush();
        Ok(())
    }

    fn artifacts(&mut self, artifacts: &Artifacts) -> Result<(), ModelError> {
        self.open_object()?;
        for (i, (name, digests)) in artifacts.iter().enumerate() {
            artifact_member(
                self.format,
                self.depth,
                i,
                name.as_str(),
                digests,
                &mut self.out,
            );
            self.flush();
        }
        self.close_object(artifacts.len());
        Ok(())
    }

    /// A link, its fields in key order.
    fn link(&mut self, link: &Link) -> Result<(), ModelError> {
        self.open_object()?;
        self.member(0, "_type", &link.tag)?;
        self.member(1, "byproducts", &link.byproducts)?;
        self.member(2, "command", &link.command)?;
        self.member(3, "environment", &link.environment)?;
        self.member_key(4, "materials");
        self.artifacts(&link.materials)?;
        self.member(5, "name", &link.name)?;
        self.member_key(6, "products");
        self.artifacts(&link.products)?;
        self.flush();
        self.close_object(7);
        Ok(())
    }

    /// A payload: links typed, layouts through serde.
    pub(crate) fn payload(&mut self, payload: &Payload) -> Result<(), ModelError> {
        match payload {
            Payload::Link(link) => self.link(link),
            Payload::Layout(layout) => layout.serialize(self),
        }
    }

    /// A Metablock file, `{"signatures": …, "signed": …}`.
    pub(crate) fn metablock_file<S: Serialize + ?Sized>(
        &mut self,
        signatures: &S,
        signed: &Payload,
    ) -> Result<(), ModelError> {
        self.open_object()?;
        self.member(0, "signatures", signatures)?;
        self.member_key(1, "signed");
        self.payload(signed)?;
        self.flush();
        self.close_object(2);
        Ok(())
    }
}

/// The separator (unless `index` is 0), indentation and key of an object
/// member at `depth`.
#[inline]
fn member_key(format: Format, depth: usize, index: usize, key: &str, out: &mut Vec<u8>) {
    item_start(format, depth, index, out);
    key_of(format, key, out);
}

/// Member `index` of an artifact map whose members are at `depth`:
/// `"name": {"sha256": "…"}` in `format`. Digests are hex, which no
/// format escapes. Inlined, so that callers with a fixed format (the
/// verifier's canonical bytes) lose the format's branches.
#[inline]
pub(crate) fn artifact_member(
    format: Format,
    depth: usize,
    index: usize,
    name: &str,
    digests: &DigestSet,
    out: &mut Vec<u8>,
) {
    member_key(format, depth, index, name, out);
    out.push(b'{');
    for (j, (algorithm, digest)) in digests.iter().enumerate() {
        member_key(format, depth + 1, j, algorithm, out);
        digest.push_json(out);
    }
    if !digests.is_empty() {
        Writer::newline_indent_of(format, depth, out);
    }
    out.push(b'}');
}

/// `[{"digest":{ALG:HEX,…},"name":NAME},…]` as Python's compact
/// `json.dumps(sort_keys=True)` writes it: a statement's subjects made
/// from a link's artifacts, written straight as [`artifact_member`]
/// writes artifacts (an attestation of 100,000 products spent 30 ms in
/// the generic writer here).
pub(crate) fn compact_descriptor_list<'a>(
    items: impl Iterator<Item = (&'a str, &'a DigestSet)>,
    out: &mut Vec<u8>,
) {
    out.push(b'[');
    for (i, (name, digests)) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"digest\":{");
        for (j, (algorithm, digest)) in digests.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            super::ascii_str(algorithm, out);
            out.push(b':');
            digest.push_json(out);
        }
        out.extend_from_slice(b"},\"name\":");
        super::ascii_str(name, out);
        out.push(b'}');
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::super::{stream_with, write, write_with};
    use super::*;
    use crate::json::PyStyle;
    use crate::{ArtifactName, Digest, Metablock, Signature, StepName};
    use proptest::prelude::*;

    const FORMATS: [Format; 4] = [
        Format::Canonical,
        Format::Python(PyStyle::Pretty),
        Format::Python(PyStyle::OneLine),
        Format::Python(PyStyle::Compact),
    ];

    fn digests(algorithms: &[String], hex: &str) -> DigestSet {
        let mut set = DigestSet::new();
        for a in algorithms {
            set.insert(a, Digest::new(hex).unwrap());
        }
        set
    }

    fn link(names: &[String], algorithms: &[String], hex: &str, env: bool) -> Link {
        let mut link = Link::new(StepName::new("büild \"x\"").unwrap());
        link.command = vec!["make".into(), "ä\\b".into()];
        if env {
            link.environment
                .insert("workdir".into(), serde_json::json!({"a": [1, "\u{1}"]}));
            link.byproducts
                .insert("return-value".into(), serde_json::json!(0));
        }
        link.materials = names
            .iter()
            .map(|n| {
                (
                    ArtifactName::new(n.as_str()).unwrap(),
                    digests(algorithms, hex),
                )
            })
            .collect();
        link.products = names
            .iter()
            .take(2)
            .map(|n| {
                (
                    ArtifactName::new(n.as_str()).unwrap(),
                    digests(algorithms, hex),
                )
            })
            .collect();
        link
    }

    /// Every format, whole and streamed in chunks, gives the generic
    /// writer's bytes, for a payload and for a Metablock file.
    fn same_bytes(link: Link) {
        let payload = Payload::Link(link);
        let mb = Metablock {
            signed: payload.clone(),
            signatures: vec![Signature::raw(
                crate::KeyId::new("ab".repeat(32)).unwrap(),
                vec![7; 64],
            )],
        };
        for format in FORMATS {
            let generic = write(&payload, format).unwrap();
            let typed = write_with(format, |w| w.payload(&payload)).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&typed),
                String::from_utf8_lossy(&generic)
            );
            let mut streamed = Vec::new();
            assert!(
                stream_with(format, &mut |c| streamed.extend_from_slice(c), |w| w
                    .payload(&payload))
                .unwrap()
            );
            assert_eq!(streamed, generic);

            let sigs: Vec<serde_json::Value> =
                mb.signatures.iter().map(Signature::to_value).collect();
            #[derive(Serialize)]
            struct File<'a> {
                signatures: &'a [serde_json::Value],
                signed: &'a Payload,
            }
            let file = File {
                signatures: &sigs,
                signed: &payload,
            };
            let mut generic = Vec::new();
            assert!(
                stream_with(format, &mut |c| generic.extend_from_slice(c), |w| file
                    .serialize(w))
                .unwrap()
            );
            let typed = write_with(format, |w| w.metablock_file(&sigs, &payload)).unwrap();
            assert_eq!(typed, generic);
        }
    }

    #[test]
    fn empty_and_escaped_links_are_written_as_the_generic_writer_does() {
        same_bytes(link(&[], &[], "00", false));
        same_bytes(link(&["a".into()], &[], "00", true));
        same_bytes(link(
            &[
                "\"q\"".into(),
                "a\\b".into(),
                "é/ü".into(),
                "\u{7f}\n".into(),
            ],
            &["sha256".into(), "sha512".into(), "we\"ird".into()],
            "ABCdef0",
            true,
        ));
    }

    #[test]
    fn a_link_too_large_for_one_chunk_streams_the_same_bytes() {
        let names: Vec<String> = (0..3000).map(|i| format!("d{}/f{i:05}", i % 7)).collect();
        same_bytes(link(&names, &["sha256".into()], &"0f".repeat(32), true));
    }

    proptest! {
        #[test]
        fn any_link_is_written_as_the_generic_writer_does(
            names in proptest::collection::vec("\\PC{1,12}", 0..20),
            algorithms in proptest::collection::vec("[a-z\"\\\\]{1,8}", 0..3),
            hex in "[0-9a-fA-F]{1,70}",
            env in any::<bool>(),
        ) {
            same_bytes(link(&names, &algorithms, &hex, env));
        }
    }
}
