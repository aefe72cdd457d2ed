//! One serde `Serializer` for every JSON byte layout in-toto needs:
//! securesystemslib canonical JSON and Python's `json.dumps(sort_keys=True,
//! ensure_ascii=True)` in its three whitespace styles.
//!
//! It writes typed values (a `Link` with 100,000 artifacts) straight to
//! bytes, with no intermediate `serde_json::Value`: building that tree cost
//! more time and memory than hashing the files it describes. Object members
//! are written as they come, then put in key order (by code point, which is
//! UTF-8 byte order) when the object closes, so any map or struct field
//! order gives the same bytes. `serde_json::Value` goes through the same
//! code, so there is one implementation of each format.

use serde::ser::{self, Serialize};

mod typed;
pub(crate) use typed::{artifact_member, compact_descriptor_list};

use crate::json::PyStyle;
use crate::ModelError;

/// Maximum nesting depth written (the parser's bound too).
pub(crate) const MAX_DEPTH: usize = 128;

/// Which bytes to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// securesystemslib `encode_canonical`.
    Canonical,
    /// Python `json.dumps` in a style.
    Python(PyStyle),
}

/// Serialise `value` in `format`.
pub(crate) fn write<T: Serialize + ?Sized>(
    value: &T,
    format: Format,
) -> Result<Vec<u8>, ModelError> {
    write_with(format, |w| value.serialize(w))
}

/// The bytes `f` writes in `format`.
pub(crate) fn write_with(
    format: Format,
    f: impl FnOnce(&mut Writer<'_>) -> Result<(), ModelError>,
) -> Result<Vec<u8>, ModelError> {
    write_sized(format, 4096, f)
}

/// [`write_with`] into a buffer of `capacity` bytes to begin with: a
/// link's megabytes then grow in place instead of being copied at every
/// doubling.
pub(crate) fn write_sized(
    format: Format,
    capacity: usize,
    f: impl FnOnce(&mut Writer<'_>) -> Result<(), ModelError>,
) -> Result<Vec<u8>, ModelError> {
    let mut w = Writer::new(format, None);
    w.out.reserve(capacity);
    f(&mut w)?;
    Ok(w.out)
}

/// Where [`stream_with`] hands its chunks.
type Sink<'s> = &'s mut dyn FnMut(&[u8]);

/// Bytes handed on to a [`stream_with`] sink at a time.
const CHUNK: usize = 64 * 1024;

/// The bytes `f` writes in `format`, handed to `sink` a chunk at a time
/// without holding the whole output: a signature check hashes a large
/// link's canonical bytes as they are produced. Only values whose objects
/// all arrive in key order can be streamed (typed links do); for anything
/// else this returns `Ok(false)` part-way, the sink has seen a prefix, and
/// the caller must start over with [`write_with`].
pub(crate) fn stream_with(
    format: Format,
    sink: &mut dyn FnMut(&[u8]),
    f: impl FnOnce(&mut Writer<'_>) -> Result<(), ModelError>,
) -> Result<bool, ModelError> {
    let mut w = Writer::new(format, Some(sink));
    match f(&mut w) {
        Ok(()) => {}
        Err(_) if w.unordered => return Ok(false),
        Err(e) => return Err(e),
    }
    if let Some(sink) = w.sink.as_mut() {
        sink(&w.out);
    }
    Ok(true)
}

pub(crate) struct Writer<'s> {
    out: Vec<u8>,
    /// Where full chunks go when streaming.
    sink: Option<Sink<'s>>,
    /// Set when a streamed object's keys came out of order.
    unordered: bool,
    format: Format,
    depth: usize,
    /// The keys of every object being written, as a stack: an object
    /// appends its keys and truncates back when it closes, so a link's
    /// 100,000 keys cost no allocation each.
    keys: String,
    /// The members of every object being written, stacked the same way.
    members: Vec<Member>,
}

/// One written member: its key in `Writer::keys`, its bytes in `out`.
#[derive(Clone, Copy)]
struct Member {
    key: (usize, usize),
    begin: usize,
    end: usize,
}

impl<'s> Writer<'s> {
    fn new(format: Format, sink: Option<Sink<'s>>) -> Self {
        Writer {
            out: Vec::with_capacity(if sink.is_some() { 2 * CHUNK } else { 4096 }),
            sink,
            unordered: false,
            format,
            depth: 0,
            keys: String::new(),
            members: Vec::new(),
        }
    }

    /// Hand full chunks to the sink. Byte offsets into `out` held by open
    /// objects go stale, which is why streamed objects may not be rebuilt.
    fn flush(&mut self) {
        if self.out.len() >= CHUNK {
            if let Some(sink) = self.sink.as_mut() {
                sink(&self.out);
                self.out.clear();
            }
        }
    }
}

impl ser::Error for ModelError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ModelError::Canonical(msg.to_string())
    }
}

impl Writer<'_> {
    #[inline]
    fn item_sep_of(format: Format) -> &'static [u8] {
        match format {
            Format::Canonical | Format::Python(PyStyle::Pretty | PyStyle::Compact) => b",",
            Format::Python(PyStyle::OneLine) => b", ",
        }
    }

    #[inline]
    fn key_sep_of(format: Format) -> &'static [u8] {
        match format {
            Format::Canonical | Format::Python(PyStyle::Compact) => b":",
            Format::Python(_) => b": ",
        }
    }

    fn newline_indent(&mut self, depth: usize) {
        Self::newline_indent_of(self.format, depth, &mut self.out);
    }

    #[inline]
    fn newline_indent_of(format: Format, depth: usize, out: &mut Vec<u8>) {
        if format == Format::Python(PyStyle::Pretty) {
            const SPACES: &[u8; 16] = b"                ";
            out.push(b'\n');
            match SPACES.get(..depth) {
                Some(spaces) => out.extend_from_slice(spaces),
                None => out.extend(std::iter::repeat_n(b' ', depth)),
            }
        }
    }

    fn enter(&mut self) -> Result<(), ModelError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ModelError::Canonical(format!(
                "nesting deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn string(&mut self, s: &str) {
        write_str(self.format, s, &mut self.out);
    }

    fn key(&self, (from, to): (usize, usize)) -> &str {
        self.keys.get(from..to).unwrap_or_default()
    }
}

/// The separator before item `index` of an array or object (none before
/// the first) and its indentation at `depth`.
#[inline]
fn item_start(format: Format, depth: usize, index: usize, out: &mut Vec<u8>) {
    if index > 0 {
        out.extend_from_slice(Writer::item_sep_of(format));
    }
    Writer::newline_indent_of(format, depth, out);
}

/// An object member's key and the separator after it.
#[inline]
fn key_of(format: Format, key: &str, out: &mut Vec<u8>) {
    write_str(format, key, out);
    out.extend_from_slice(Writer::key_sep_of(format));
}

#[inline]
fn write_str(format: Format, s: &str, out: &mut Vec<u8>) {
    match format {
        Format::Canonical => canonical_str(s, out),
        Format::Python(_) => ascii_str(s, out),
    }
}

impl Writer<'_> {
    fn integer(&mut self, n: impl itoa::Integer) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }
}

/// Canonical strings escape only `\` and `"`.
pub(crate) fn canonical_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Names and digests almost never need escaping: a vector check, then
    // the string is copied whole.
    let plain = !crate::scan::any_byte(bytes, |b| b == b'"' || b == b'\\');
    if plain {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'"' || b == b'\\' {
            out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
            out.push(b'\\');
            out.push(b);
            start = i + 1;
        }
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// Python's `ensure_ascii` escaping.
pub(crate) fn ascii_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    // As in `canonical_str`: printable ASCII without `"` and `\` is
    // copied whole, after a vector check.
    let bytes = s.as_bytes();
    let plain = !crate::scan::any_byte(bytes, |b| {
        !(b' '..=b'~').contains(&b) || b == b'"' || b == b'\\'
    });
    if plain {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            ' '..='~' => out.push(c as u8),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.extend_from_slice(format!("\\u{unit:04x}").as_bytes());
                }
            }
        }
    }
    out.push(b'"');
}

fn unsupported(what: &str) -> ModelError {
    ModelError::Canonical(format!("{what} cannot be encoded"))
}

/// An array being written.
pub(crate) struct Seq<'a, 's> {
    w: &'a mut Writer<'s>,
    count: usize,
}

/// An object being written. Members are written in arrival order with
/// their separators; if they did not arrive in key order, the object is
/// rebuilt from the members' byte ranges at the end.
pub(crate) struct Obj<'a, 's> {
    w: &'a mut Writer<'s>,
    start: usize,
    /// Where this object's keys and members begin on the writer's stacks.
    keys_mark: usize,
    members_mark: usize,
    sorted: bool,
    key: Option<(usize, usize)>,
}

/// `serialize_<int>` methods that write the integer.
macro_rules! integers {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, v: $ty) -> Result<(), ModelError> {
            self.integer(v);
            Ok(())
        })*
    };
}

/// `serialize_<scalar>` methods of the key serializer: JSON keys are strings.
macro_rules! not_string_keys {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, _: $ty) -> Result<(), ModelError> {
            Err(unsupported("a non-string key"))
        })*
    };
}

impl<'a, 's> ser::Serializer for &'a mut Writer<'s> {
    type Ok = ();
    type Error = ModelError;
    type SerializeSeq = Seq<'a, 's>;
    type SerializeTuple = Seq<'a, 's>;
    type SerializeTupleStruct = Seq<'a, 's>;
    type SerializeTupleVariant = ser::Impossible<(), ModelError>;
    type SerializeMap = Obj<'a, 's>;
    type SerializeStruct = Obj<'a, 's>;
    type SerializeStructVariant = ser::Impossible<(), ModelError>;

    fn serialize_bool(self, v: bool) -> Result<(), ModelError> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    integers!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64
    );
    fn serialize_f32(self, v: f32) -> Result<(), ModelError> {
        Err(ModelError::Canonical(format!("float {v} is not allowed")))
    }
    fn serialize_f64(self, v: f64) -> Result<(), ModelError> {
        Err(ModelError::Canonical(format!("float {v} is not allowed")))
    }
    fn serialize_char(self, v: char) -> Result<(), ModelError> {
        self.string(v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), ModelError> {
        self.string(v);
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), ModelError> {
        Err(unsupported("raw bytes"))
    }
    fn serialize_none(self) -> Result<(), ModelError> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), ModelError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), ModelError> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), ModelError> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), ModelError> {
        self.string(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), ModelError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), ModelError> {
        Err(unsupported("an enum variant with data"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a, 's>, ModelError> {
        self.enter()?;
        self.out.push(b'[');
        Ok(Seq { w: self, count: 0 })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a, 's>, ModelError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Seq<'a, 's>, ModelError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ModelError> {
        Err(unsupported("an enum variant with data"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Obj<'a, 's>, ModelError> {
        self.enter()?;
        self.out.push(b'{');
        Ok(Obj {
            start: self.out.len(),
            keys_mark: self.keys.len(),
            members_mark: self.members.len(),
            w: self,
            sorted: true,
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Obj<'a, 's>, ModelError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ModelError> {
        Err(unsupported("an enum variant with data"))
    }
}

impl Seq<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ModelError> {
        item_start(self.w.format, self.w.depth, self.count, &mut self.w.out);
        self.count += 1;
        v.serialize(&mut *self.w)?;
        self.w.flush();
        Ok(())
    }

    fn finish(self) -> Result<(), ModelError> {
        self.w.depth -= 1;
        if self.count > 0 {
            let depth = self.w.depth;
            self.w.newline_indent(depth);
        }
        self.w.out.push(b']');
        Ok(())
    }
}

impl ser::SerializeSeq for Seq<'_, '_> {
    type Ok = ();
    type Error = ModelError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ModelError> {
        self.element(v)
    }
    fn end(self) -> Result<(), ModelError> {
        self.finish()
    }
}

impl ser::SerializeTuple for Seq<'_, '_> {
    type Ok = ();
    type Error = ModelError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ModelError> {
        self.element(v)
    }
    fn end(self) -> Result<(), ModelError> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Seq<'_, '_> {
    type Ok = ();
    type Error = ModelError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ModelError> {
        self.element(v)
    }
    fn end(self) -> Result<(), ModelError> {
        self.finish()
    }
}

impl Obj<'_, '_> {
    /// Push `key` onto the writer's key stack.
    fn push_key(&mut self, key: &str) -> (usize, usize) {
        let from = self.w.keys.len();
        self.w.keys.push_str(key);
        (from, self.w.keys.len())
    }

    fn member<V: Serialize + ?Sized>(
        &mut self,
        key: (usize, usize),
        v: &V,
    ) -> Result<(), ModelError> {
        if self.w.members.len() > self.members_mark {
            if let Some(last) = self.w.members.last() {
                match self.w.key(last.key).cmp(self.w.key(key)) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Greater => self.sorted = false,
                    std::cmp::Ordering::Equal => {
                        return Err(ModelError::Canonical(format!(
                            "an object with the key {:?} twice",
                            self.w.key(key)
                        )))
                    }
                }
            }
        }
        let index = self.w.members.len().saturating_sub(self.members_mark);
        let w = &mut *self.w;
        item_start(w.format, w.depth, index, &mut w.out);
        let begin = w.out.len();
        key_of(
            w.format,
            w.keys.get(key.0..key.1).unwrap_or_default(),
            &mut w.out,
        );
        v.serialize(&mut *self.w)?;
        let end = self.w.out.len();
        self.w.members.push(Member { key, begin, end });
        self.w.flush();
        Ok(())
    }

    fn finish(self) -> Result<(), ModelError> {
        let Obj {
            w,
            start,
            keys_mark,
            members_mark,
            sorted,
            ..
        } = self;
        let depth = w.depth;
        w.depth -= 1;
        let count = w.members.len().saturating_sub(members_mark);
        if !sorted && w.sink.is_some() {
            w.unordered = true;
            return Err(ModelError::Canonical(
                "object keys out of order while streaming".into(),
            ));
        }
        if !sorted {
            let body = w.out.split_off(start);
            let Writer { keys, members, .. } = &mut *w;
            let key = |m: &Member| keys.get(m.key.0..m.key.1).unwrap_or_default();
            let members = members.get_mut(members_mark..).unwrap_or_default();
            members.sort_unstable_by(|a, b| key(a).cmp(key(b)));
            if members
                .windows(2)
                .any(|p| matches!(p, [a, b] if key(a) == key(b)))
            {
                return Err(ModelError::Canonical(
                    "an object with a duplicate key".into(),
                ));
            }
            for i in 0..count {
                let Some(m) = w.members.get(members_mark + i).copied() else {
                    break;
                };
                item_start(w.format, depth, i, &mut w.out);
                let bytes = body
                    .get(m.begin - start..m.end - start)
                    .ok_or_else(|| ModelError::Canonical("object member out of range".into()))?;
                w.out.extend_from_slice(bytes);
            }
        }
        if count > 0 {
            w.newline_indent(depth - 1);
        }
        w.out.push(b'}');
        w.keys.truncate(keys_mark);
        w.members.truncate(members_mark);
        Ok(())
    }
}

/// Captures a map key, which JSON requires to be a string.
struct KeyCapture<'a>(&'a mut String);

impl ser::Serializer for KeyCapture<'_> {
    type Ok = ();
    type Error = ModelError;
    type SerializeSeq = ser::Impossible<(), ModelError>;
    type SerializeTuple = ser::Impossible<(), ModelError>;
    type SerializeTupleStruct = ser::Impossible<(), ModelError>;
    type SerializeTupleVariant = ser::Impossible<(), ModelError>;
    type SerializeMap = ser::Impossible<(), ModelError>;
    type SerializeStruct = ser::Impossible<(), ModelError>;
    type SerializeStructVariant = ser::Impossible<(), ModelError>;

    fn serialize_str(self, v: &str) -> Result<(), ModelError> {
        self.0.push_str(v);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), ModelError> {
        v.serialize(self)
    }
    not_string_keys!(
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_f32: f32,
        serialize_f64: f64
    );
    fn serialize_char(self, v: char) -> Result<(), ModelError> {
        self.0.push(v);
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), ModelError> {
        Err(unsupported("a non-string key"))
    }
    fn serialize_none(self) -> Result<(), ModelError> {
        Err(unsupported("a non-string key"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), ModelError> {
        Err(unsupported("a non-string key"))
    }
    fn serialize_unit(self) -> Result<(), ModelError> {
        Err(unsupported("a non-string key"))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), ModelError> {
        Err(unsupported("a non-string key"))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), ModelError> {
        self.0.push_str(variant);
        Ok(())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), ModelError> {
        Err(unsupported("a non-string key"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, ModelError> {
        Err(unsupported("a non-string key"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, ModelError> {
        Err(unsupported("a non-string key"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, ModelError> {
        Err(unsupported("a non-string key"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ModelError> {
        Err(unsupported("a non-string key"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, ModelError> {
        Err(unsupported("a non-string key"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, ModelError> {
        Err(unsupported("a non-string key"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ModelError> {
        Err(unsupported("a non-string key"))
    }
}

impl ser::SerializeMap for Obj<'_, '_> {
    type Ok = ();
    type Error = ModelError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ModelError> {
        let from = self.w.keys.len();
        key.serialize(KeyCapture(&mut self.w.keys))?;
        self.key = Some((from, self.w.keys.len()));
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ModelError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| ModelError::Canonical("a map value without a key".into()))?;
        self.member(key, v)
    }
    fn end(self) -> Result<(), ModelError> {
        self.finish()
    }
}

impl ser::SerializeStruct for Obj<'_, '_> {
    type Ok = ();
    type Error = ModelError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ModelError> {
        let key = self.push_key(key);
        self.member(key, v)
    }
    fn end(self) -> Result<(), ModelError> {
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Unsorted {
        zeta: Vec<u8>,
        alpha: std::collections::BTreeMap<&'static str, &'static str>,
        #[serde(rename = "_type")]
        tag: &'static str,
    }

    #[test]
    fn typed_values_come_out_in_key_order_in_every_format() {
        let v = Unsorted {
            zeta: vec![1, 2],
            alpha: [("b", "é"), ("a", "\"")].into_iter().collect(),
            tag: "x",
        };
        let via_value = serde_json::to_value(&v).expect("value");
        assert_eq!(
            write(&v, Format::Canonical).expect("canonical"),
            "{\"_type\":\"x\",\"alpha\":{\"a\":\"\\\"\",\"b\":\"é\"},\"zeta\":[1,2]}".as_bytes()
        );
        for style in [PyStyle::Pretty, PyStyle::OneLine, PyStyle::Compact] {
            assert_eq!(
                write(&v, Format::Python(style)).expect("typed"),
                write(&via_value, Format::Python(style)).expect("value"),
            );
        }
    }

    /// A map written in the order given, nested to any depth.
    struct Pairs(Vec<(&'static str, Pairs)>);
    impl serde::Serialize for Pairs {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }

    #[test]
    fn nested_unsorted_objects_each_come_out_sorted() {
        let leaf = || Pairs(vec![("y", Pairs(vec![])), ("x", Pairs(vec![]))]);
        let v = Pairs(vec![
            ("b", Pairs(vec![("d", leaf()), ("c", leaf())])),
            ("a", leaf()),
            ("c", Pairs(vec![("e", leaf())])),
        ]);
        let leaf_out = r#"{"x":{},"y":{}}"#;
        assert_eq!(
            String::from_utf8(write(&v, Format::Canonical).expect("canonical")).expect("utf-8"),
            format!(
                r#"{{"a":{leaf_out},"b":{{"c":{leaf_out},"d":{leaf_out}}},"c":{{"e":{leaf_out}}}}}"#
            )
        );
        let twice = Pairs(vec![("b", leaf()), ("a", leaf()), ("b", leaf())]);
        assert!(write(&twice, Format::Canonical).is_err());
    }

    #[test]
    fn streaming_gives_the_same_bytes_in_chunks_or_declines() {
        let big: std::collections::BTreeMap<String, Vec<u32>> = (0..5000)
            .map(|i| (format!("key-{i:05}"), vec![i, i]))
            .collect();
        let mut streamed = Vec::new();
        let mut chunks = 0;
        let mut sink = |c: &[u8]| {
            chunks += 1;
            streamed.extend_from_slice(c)
        };
        let done = stream_with(Format::Canonical, &mut sink, |w| big.serialize(w)).expect("stream");
        assert!(done && chunks > 1);
        assert_eq!(streamed, write(&big, Format::Canonical).expect("write"));
        // Struct fields out of key order cannot be streamed.
        let v = Unsorted {
            zeta: vec![],
            alpha: Default::default(),
            tag: "x",
        };
        assert!(!stream_with(Format::Canonical, &mut |_| {}, |w| v.serialize(w)).expect("stream"));
    }

    #[test]
    fn a_key_written_twice_is_refused() {
        use serde::ser::{SerializeMap, Serializer};
        struct Twice;
        impl serde::Serialize for Twice {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("k", &1)?;
                m.serialize_entry("k", &2)?;
                m.end()
            }
        }
        assert!(write(&Twice, Format::Canonical).is_err());
    }
}
