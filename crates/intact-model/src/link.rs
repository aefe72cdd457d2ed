//! The link: what one functionary observed while performing one step.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::tag::LinkTag;
use crate::{Artifacts, StepName};

/// A link's `signed` payload (../shared/in-toto-spec.md §3.1).
///
/// Every field is always serialised, because the reference materialises
/// defaults before computing the bytes it verifies; unknown fields are
/// rejected because the reference would drop them and then fail to verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    // Fields in key order: the writer then emits them as they come, with
    // no reordering copy of a body that can be megabytes long.
    #[serde(rename = "_type", default)]
    pub(crate) tag: LinkTag,
    /// Opaque: `stdout`, `stderr`, `return-value` in practice.
    #[serde(default, deserialize_with = "crate::json::strict_object")]
    pub byproducts: Map<String, Value>,
    /// The command as executed (argv), empty when none was run.
    #[serde(default)]
    pub command: Vec<String>,
    /// Opaque information about the environment of the run.
    #[serde(default, deserialize_with = "crate::json::strict_object")]
    pub environment: Map<String, Value>,
    /// Artifacts before the command ran.
    #[serde(default)]
    pub materials: Artifacts,
    /// The step or inspection this link is evidence for.
    pub name: StepName,
    /// Artifacts after the command ran.
    #[serde(default)]
    pub products: Artifacts,
}

/// A link as a container holds it, where `_type` is required: the
/// reference dispatches on it and refuses a payload without it. The typed
/// fast paths that parse a container's link without that dispatch
/// (`Metadata::from_slice`, `Envelope::parse_payload`) take this, so they
/// refuse what the strict path refuses. The fields are `Link`'s.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaggedLink {
    #[serde(rename = "_type")]
    tag: LinkTag,
    #[serde(default, deserialize_with = "crate::json::strict_object")]
    byproducts: Map<String, Value>,
    #[serde(default)]
    command: Vec<String>,
    #[serde(default, deserialize_with = "crate::json::strict_object")]
    environment: Map<String, Value>,
    #[serde(default)]
    materials: Artifacts,
    name: StepName,
    #[serde(default)]
    products: Artifacts,
}

impl From<TaggedLink> for Link {
    fn from(l: TaggedLink) -> Self {
        Link::from_parts(
            l.tag,
            l.byproducts,
            l.command,
            l.environment,
            l.materials,
            l.name,
            l.products,
        )
    }
}

impl Link {
    /// An empty link for `name`.
    pub fn new(name: StepName) -> Self {
        Link {
            tag: LinkTag,
            name,
            command: Vec::new(),
            materials: Artifacts::new(),
            products: Artifacts::new(),
            byproducts: Map::new(),
            environment: Map::new(),
        }
    }

    /// A link from its parsed fields (`crate::teed`).
    pub(crate) fn from_parts(
        tag: LinkTag,
        byproducts: Map<String, Value>,
        command: Vec<String>,
        environment: Map<String, Value>,
        materials: Artifacts,
        name: StepName,
        products: Artifacts,
    ) -> Self {
        Link {
            tag,
            byproducts,
            command,
            environment,
            materials,
            name,
            products,
        }
    }

    /// `byproducts["return-value"]` when it is an integer.
    pub fn return_value(&self) -> Option<i64> {
        self.byproducts.get("return-value").and_then(Value::as_i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_materialised_and_unknown_fields_rejected() {
        let link: Link = serde_json::from_str(r#"{"_type": "link", "name": "x"}"#).unwrap();
        let v = serde_json::to_value(&link).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"_type": "link", "name": "x", "command": [], "materials": {},
                "products": {}, "byproducts": {}, "environment": {}})
        );
        assert!(serde_json::from_str::<Link>(r#"{"name": "x", "extra": 1}"#).is_err());
        assert!(serde_json::from_str::<Link>(r#"{"_type": "layout", "name": "x"}"#).is_err());
        assert!(serde_json::from_str::<Link>(r#"{"name": null}"#).is_err());
    }
}
