//! Zero-sized `_type` markers.
//!
//! The reference forces `_type` to the class constant when it re-builds a
//! model, so we serialise the constant always, accept its absence on input,
//! and reject a different value (which would mean the file is not what its
//! container claims).

macro_rules! type_tag {
    ($name:ident, $value:literal) => {
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub(crate) struct $name;

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str($value)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let found = String::deserialize(d)?;
                if found == $value {
                    Ok($name)
                } else {
                    Err(serde::de::Error::custom(format_args!(
                        "expected {:?}, found {found:?}",
                        $value
                    )))
                }
            }
        }
    };
}

type_tag!(LinkTag, "link");
type_tag!(LayoutTag, "layout");
type_tag!(StepTag, "step");
type_tag!(InspectionTag, "inspection");
type_tag!(StatementTag, "https://in-toto.io/Statement/v1");
