//! What a container carries: a link or a layout, dispatched on `_type`.

use serde_json::Value;

use crate::error::from_path_error;
use crate::json::PyStyle;
use crate::writer::{self, Format};
use crate::{Layout, Link, ModelError};

/// The signed content of a Metablock or DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A link.
    Link(Link),
    /// A layout.
    Layout(Layout),
}

impl Payload {
    /// Build from a JSON object, dispatching on `_type` as the reference does.
    pub fn from_value(value: Value) -> Result<Self, ModelError> {
        let kind = match value.get("_type") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(ModelError::field("_type", "must be a string")),
            None if value.is_object() => {
                return Err(ModelError::field(
                    "_type",
                    "missing (expected \"link\" or \"layout\")",
                ))
            }
            None => return Err(ModelError::field("", "must be a JSON object")),
        };
        match kind.as_str() {
            "link" => serde_path_to_error::deserialize(value)
                .map(Payload::Link)
                .map_err(from_path_error),
            "layout" => {
                let layout: Layout =
                    serde_path_to_error::deserialize(value).map_err(from_path_error)?;
                layout.validate()?;
                Ok(Payload::Layout(layout))
            }
            other => Err(ModelError::field(
                "_type",
                format!("unknown type {other:?} (expected \"link\" or \"layout\")"),
            )),
        }
    }

    /// The JSON object, with every field present.
    pub fn to_value(&self) -> Result<Value, ModelError> {
        let v = match self {
            Payload::Link(l) => serde_json::to_value(l),
            Payload::Layout(l) => serde_json::to_value(l),
        };
        v.map_err(|e| ModelError::Canonical(e.to_string()))
    }

    /// The bytes a Metablock signature covers.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, ModelError> {
        writer::write_sized(Format::Canonical, self.size_hint(), |w| w.payload(self))
    }

    /// About the size of the payload's JSON: a link's artifact entries
    /// (name, algorithm and sha256 hex) are about 100 bytes each.
    fn size_hint(&self) -> usize {
        match self {
            Payload::Link(l) => 1024 + 100 * (l.materials.len() + l.products.len()),
            Payload::Layout(_) => 4096,
        }
    }

    /// [`Payload::canonical_bytes`] handed to `sink` in chunks, for a
    /// signature check that hashes as it goes. `Ok(false)` means this
    /// payload cannot be streamed (an object out of key order) and the
    /// sink saw only a prefix: use `canonical_bytes` instead.
    pub fn stream_canonical_bytes(&self, sink: &mut dyn FnMut(&[u8])) -> Result<bool, ModelError> {
        writer::stream_with(Format::Canonical, sink, |w| w.payload(self))
    }

    /// The bytes the reference puts in a DSSE envelope's payload.
    pub fn dsse_payload_bytes(&self) -> Result<Vec<u8>, ModelError> {
        writer::write_with(Format::Python(PyStyle::OneLine), |w| w.payload(self))
    }

    /// `"link"` or `"layout"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Payload::Link(_) => "link",
            Payload::Layout(_) => "layout",
        }
    }

    /// The link, if this is one.
    pub fn as_link(&self) -> Option<&Link> {
        match self {
            Payload::Link(l) => Some(l),
            Payload::Layout(_) => None,
        }
    }

    /// The layout, if this is one.
    pub fn as_layout(&self) -> Option<&Layout> {
        match self {
            Payload::Layout(l) => Some(l),
            Payload::Link(_) => None,
        }
    }
}

/// The payload's own JSON object (no wrapper), as the reference writes it.
impl serde::Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Payload::Link(l) => l.serialize(s),
            Payload::Layout(l) => l.serialize(s),
        }
    }
}

impl From<Link> for Payload {
    fn from(l: Link) -> Self {
        Payload::Link(l)
    }
}

impl From<Layout> for Payload {
    fn from(l: Layout) -> Self {
        Payload::Layout(l)
    }
}
