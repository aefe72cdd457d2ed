//! A link Metablock parsed while the canonical bytes of its payload are
//! handed to a sink, so a verifier can hash them during the parse instead
//! of after it (for a link of 100,000 artifacts the hash is the longest
//! single piece of verifying it).
//!
//! The bytes are written from the parsed values, never copied from the
//! text: there is one parser, and nothing that could read the file
//! differently from it. They are the canonical bytes only when the file's
//! keys come in canonical order, as the reference writes them, with every
//! link field present; for any other file (and on any error) this path
//! declines, and the caller takes [`crate::Metadata::from_slice`], which
//! accepts more and gives the messages.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::json::StrictValue;
use crate::metablock::Signature;
use crate::tag::LinkTag;
use crate::writer::{artifact_member, canonical_str, Format};
use crate::{ArtifactName, Artifacts, DigestSet, Link, Metablock, Metadata, Payload, StepName};

/// Bytes handed to the sink at a time.
const CHUNK: usize = 64 * 1024;

/// Room for a chunk and the entry that crosses its end, under glibc's
/// 128 KiB threshold above which every buffer would be a fresh mapping.
const BUFFER: usize = CHUNK + 8 * 1024;

/// Parse `text` as a link Metablock whose keys are in canonical order.
/// `start` sees the signatures (which come before `signed`) and may return
/// a sink; the sink then receives, in owned chunks, exactly the canonical bytes
/// of the payload. `None`: this path does not apply (see the module
/// documentation); a sink returned by `start` may have seen a prefix.
pub fn parse_link_teed<S: FnMut(Vec<u8>)>(
    text: &str,
    start: impl FnOnce(&[Signature]) -> Option<S>,
) -> Option<(Metadata, Option<S>)> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut start = Some(start);
    let mut sink = None;
    let (signatures, link) = de
        .deserialize_map(FileVisitor {
            start: &mut start,
            sink: &mut sink,
        })
        .ok()?;
    de.end().ok()?;
    let md = Metadata::Metablock(Metablock {
        signed: Payload::Link(link),
        signatures,
    });
    Some((md, sink))
}

fn out_of_order<E: de::Error>() -> E {
    E::custom("not in canonical order")
}

/// The canonical bytes being written, and where they go.
struct Canon<'a, S> {
    buf: Vec<u8>,
    sink: Option<&'a mut S>,
}

impl<S: FnMut(Vec<u8>)> Canon<'_, S> {
    fn put(&mut self, bytes: &[u8]) {
        if self.sink.is_some() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// A `"key":` for the next member.
    fn key(&mut self, key: &str) {
        if self.sink.is_some() {
            canonical_str(key, &mut self.buf);
            self.buf.push(b':');
        }
    }

    fn value<T: serde::Serialize>(&mut self, v: &T) -> Result<(), crate::ModelError> {
        if self.sink.is_some() {
            let bytes = crate::writer::write(v, Format::Canonical)?;
            self.buf.extend_from_slice(&bytes);
        }
        Ok(())
    }

    /// Member `index` of an artifact map, with its separator.
    fn entry(&mut self, index: usize, name: &ArtifactName, digests: &DigestSet) {
        if self.sink.is_none() {
            return;
        }
        artifact_member(
            Format::Canonical,
            0,
            index,
            name.as_str(),
            digests,
            &mut self.buf,
        );
        if self.buf.len() >= CHUNK {
            self.flush();
        }
    }

    /// Hand the buffer over whole (no copy) and start a new one.
    fn flush(&mut self) {
        if let Some(sink) = self.sink.as_mut() {
            if !self.buf.is_empty() {
                sink(std::mem::replace(&mut self.buf, Vec::with_capacity(BUFFER)));
            }
        }
    }
}

struct FileVisitor<'a, F, S> {
    start: &'a mut Option<F>,
    sink: &'a mut Option<S>,
}

impl<'de, F, S> Visitor<'de> for FileVisitor<'_, F, S>
where
    F: FnOnce(&[Signature]) -> Option<S>,
    S: FnMut(Vec<u8>),
{
    type Value = (Vec<Signature>, Link);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a link Metablock")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        if map.next_key::<String>()?.as_deref() != Some("signatures") {
            return Err(out_of_order());
        }
        let signatures = map
            .next_value::<Vec<StrictValue>>()?
            .into_iter()
            .enumerate()
            .map(|(i, s)| Signature::from_value(s.0, &format!("signatures[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(de::Error::custom)?;
        *self.sink = self.start.take().and_then(|start| start(&signatures));
        if map.next_key::<String>()?.as_deref() != Some("signed") {
            return Err(out_of_order());
        }
        let mut canon = Canon {
            buf: Vec::with_capacity(BUFFER),
            sink: self.sink.as_mut(),
        };
        let link = map.next_value_seed(LinkSeed(&mut canon))?;
        canon.flush();
        if map.next_key::<String>()?.is_some() {
            return Err(out_of_order());
        }
        Ok((signatures, link))
    }
}

/// The link fields in canonical order, every one required here.
const FIELDS: [&str; 7] = [
    "_type",
    "byproducts",
    "command",
    "environment",
    "materials",
    "name",
    "products",
];

struct LinkSeed<'c, 'a, S>(&'c mut Canon<'a, S>);

impl<'de, S: FnMut(Vec<u8>)> DeserializeSeed<'de> for LinkSeed<'_, '_, S> {
    type Value = Link;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Link, D::Error> {
        d.deserialize_map(self)
    }
}

/// An object of the strict kind links carry in `byproducts` and
/// `environment`.
#[derive(Serialize)]
#[serde(transparent)]
struct StrictObject(Map<String, Value>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::json::strict_object(d).map(StrictObject)
    }
}

impl<'de, S: FnMut(Vec<u8>)> Visitor<'de> for LinkSeed<'_, '_, S> {
    type Value = Link;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a link")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Link, A::Error> {
        let canon = self.0;
        let tag: LinkTag = field(&mut map, canon, 0)?;
        let byproducts: StrictObject = field(&mut map, canon, 1)?;
        let command: Vec<String> = field(&mut map, canon, 2)?;
        let environment: StrictObject = field(&mut map, canon, 3)?;
        expect_key(&mut map, canon, 4)?;
        let materials = map.next_value_seed(ArtifactsSeed(&mut *canon))?;
        let name: StepName = field(&mut map, canon, 5)?;
        expect_key(&mut map, canon, 6)?;
        let products = map.next_value_seed(ArtifactsSeed(&mut *canon))?;
        if map.next_key::<String>()?.is_some() {
            return Err(out_of_order());
        }
        canon.put(b"}");
        Ok(Link::from_parts(
            tag,
            byproducts.0,
            command,
            environment.0,
            materials,
            name,
            products,
        ))
    }
}

/// The `i`-th link field's key, which must come next.
fn expect_key<'de, A: MapAccess<'de>, S: FnMut(Vec<u8>)>(
    map: &mut A,
    canon: &mut Canon<'_, S>,
    i: usize,
) -> Result<(), A::Error> {
    let key = FIELDS.get(i).copied().unwrap_or_default();
    if map.next_key::<String>()?.as_deref() != Some(key) {
        return Err(out_of_order());
    }
    canon.put(if i == 0 { b"{" } else { b"," });
    canon.key(key);
    Ok(())
}

/// The `i`-th link field, its canonical form written as it is parsed.
fn field<'de, A, S, T>(map: &mut A, canon: &mut Canon<'_, S>, i: usize) -> Result<T, A::Error>
where
    A: MapAccess<'de>,
    S: FnMut(Vec<u8>),
    T: Deserialize<'de> + Serialize,
{
    expect_key(map, canon, i)?;
    let value: T = map.next_value()?;
    canon.value(&value).map_err(de::Error::custom)?;
    Ok(value)
}

struct ArtifactsSeed<'c, 'a, S>(&'c mut Canon<'a, S>);

impl<'de, S: FnMut(Vec<u8>)> DeserializeSeed<'de> for ArtifactsSeed<'_, '_, S> {
    type Value = Artifacts;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Artifacts, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: FnMut(Vec<u8>)> Visitor<'de> for ArtifactsSeed<'_, '_, S> {
    type Value = Artifacts;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of artifact names to digest sets")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Artifacts, A::Error> {
        let canon = self.0;
        canon.put(b"{");
        let mut pairs: Vec<(ArtifactName, DigestSet)> = Vec::new();
        while let Some(name) = map.next_key::<ArtifactName>()? {
            let digests = map.next_value::<DigestSet>()?;
            if let Some((last, _)) = pairs.last() {
                // Strictly ascending, so also free of duplicates.
                if *last >= name {
                    return Err(out_of_order());
                }
            }
            canon.entry(pairs.len(), &name, &digests);
            pairs.push((name, digests));
        }
        canon.put(b"}");
        Ok(Artifacts::from_sorted_unique(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Container, Digest, KeyId};

    fn link(names: &[&str]) -> Link {
        let mut link = Link::new(StepName::new("build").unwrap());
        link.command = vec!["make".into(), "caf\u{e9} \"q\"".into()];
        link.byproducts
            .insert("stdout".into(), "line\n\u{1}".into());
        link.byproducts.insert("return-value".into(), 0.into());
        link.environment.insert(
            "nested".into(),
            serde_json::json!({"b": [1, "x"], "a": null}),
        );
        for (i, name) in names.iter().enumerate() {
            let mut d = DigestSet::single("sha256", Digest::from_bytes(&[i as u8; 32]));
            if i % 2 == 0 {
                d.insert("sha512", Digest::from_bytes(&[7; 64]));
            }
            link.materials
                .insert(ArtifactName::new(*name).unwrap(), d.clone());
            link.products
                .insert(ArtifactName::new(format!("out/{name}")).unwrap(), d);
        }
        link
    }

    fn file(link: Link) -> (String, Vec<u8>) {
        let mut md = Metadata::new(link.into(), Container::Metablock).unwrap();
        md.set_signature(KeyId::new("ab").unwrap(), vec![1, 2]);
        let canonical = md.signed_bytes().unwrap();
        (
            String::from_utf8(md.to_bytes().unwrap()).unwrap(),
            canonical,
        )
    }

    fn teed(text: &str) -> Option<(Metadata, Vec<u8>)> {
        let mut out = Vec::new();
        let (md, streamed) = {
            let (md, sink) = parse_link_teed(text, |sigs| {
                assert_eq!(sigs.len(), 1);
                Some(|chunk: Vec<u8>| out.extend(chunk))
            })?;
            (md, sink.is_some())
        };
        assert!(streamed);
        Some((md, out))
    }

    #[test]
    fn the_sink_gets_exactly_the_canonical_bytes_of_what_was_parsed() {
        let names: Vec<String> = (0..3000).map(|i| format!("src/f{i:05}")).collect();
        let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
        names.extend(["a\"quote", "back\\slash", "caf\u{e9}", "\u{1f600}", "tab\t"]);
        for names in [&names[..], &[][..]] {
            let (text, canonical) = file(link(names));
            let (md, bytes) = teed(&text).expect("a file the reference would write");
            assert_eq!(bytes, canonical);
            assert_eq!(md, Metadata::from_slice(text.as_bytes()).unwrap());
        }
    }

    #[test]
    fn anything_but_canonical_order_declines() {
        let (text, _) = file(link(&["a", "b"]));
        let value: Value = serde_json::from_str(&text).unwrap();
        // Compact JSON with keys out of order (serde_json sorts them, so
        // build the strings by hand), a missing field, an unsorted map.
        let signed = value["signed"].to_string();
        let sigs = value["signatures"].to_string();
        let swapped = format!(r#"{{"signed":{signed},"signatures":{sigs}}}"#);
        assert!(teed(&swapped).is_none());
        let mut without_command = value["signed"].clone();
        without_command.as_object_mut().unwrap().remove("command");
        assert!(teed(&format!(
            r#"{{"signatures":{sigs},"signed":{without_command}}}"#
        ))
        .is_none());
        let unsorted = text.replacen("\"a\": {", "\"c\": {", 1);
        assert_ne!(unsorted, text);
        assert!(teed(&unsorted).is_none());
        // The same files take the ordinary path.
        assert!(Metadata::from_slice(swapped.as_bytes()).is_ok());
        assert!(Metadata::from_slice(unsorted.as_bytes()).is_ok());
    }
}
