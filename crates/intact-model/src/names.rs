//! Newtypes for strings that must not be mixed up or must not carry tricks.
//!
//! A step name becomes part of a file name (`<step>.<keyid8>.link`), so it
//! refuses path separators; a keyid is hex by construction; an artifact name
//! is any non-empty string (the reference allows URIs such as `dir:src`).

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        // Written as the text itself: `#[serde(into)]` would clone every
        // artifact name of a link each time it is written.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl $name {
            /// Validate and wrap `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, String> {
                let value = value.into();
                $check(&value)?;
                Ok(Self(value))
            }
            /// The string as it appears in metadata.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

fn check_hex(v: &str) -> Result<(), String> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{v:?} is not a hex string"));
    }
    Ok(())
}

fn check_step_name(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err("a step name must not be empty".into());
    }
    if v == "." || v == ".." || v.contains(['/', '\\', '\0']) {
        return Err(format!(
            "step name {v:?} must not be `.`, `..` or contain `/`, `\\` or NUL (it becomes part of a file name)"
        ));
    }
    Ok(())
}

fn check_artifact_name(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err("an artifact name must not be empty".into());
    }
    Ok(())
}

string_newtype!(
    /// A key identifier as it appears in metadata: a hex string, compared
    /// exactly as written (never recomputed during verification).
    KeyId,
    check_hex
);

string_newtype!(
    /// The name of a step or inspection (and of the links recorded for it).
    StepName,
    check_step_name
);

string_newtype!(
    /// The recorded name of an artifact: a normalised path or an ITE-4 URI.
    ArtifactName,
    check_artifact_name
);

impl KeyId {
    /// The first eight characters, used in link file names (`{keyid:.8}`).
    pub fn short(&self) -> &str {
        self.0.get(..8).unwrap_or(&self.0)
    }
}

impl StepName {
    /// File name of the link this step's functionary with `keyid` signs.
    pub fn link_file_name(&self, keyid: &KeyId) -> String {
        format!("{}.{}.link", self.0, keyid.short())
    }

    /// File name of an unsigned link (`in-toto-mock`'s `{step_name}.link`,
    /// `intact run --no-sign`): no keyid, since nobody signed it.
    pub fn unsigned_link_file_name(&self) -> String {
        format!("{}.link", self.0)
    }

    /// File name the recorder keeps between `record start` and `stop`.
    pub fn unfinished_link_file_name(&self, keyid: &KeyId) -> String {
        format!(".{}.{}.link-unfinished", self.0, keyid.short())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyid_must_be_hex() {
        assert!(KeyId::new("abcDEF0123").is_ok());
        assert!(KeyId::new("").is_err());
        assert!(KeyId::new("xyz").is_err());
        assert!(serde_json::from_str::<KeyId>("\"g1\"").is_err());
    }

    #[test]
    fn link_file_names_use_eight_hex_chars() {
        let step = StepName::new("build").unwrap();
        let id = KeyId::new("0123456789abcdef").unwrap();
        assert_eq!(step.link_file_name(&id), "build.01234567.link");
        assert_eq!(step.unsigned_link_file_name(), "build.link");
        assert_eq!(
            step.unfinished_link_file_name(&id),
            ".build.01234567.link-unfinished"
        );
        let short = KeyId::new("abc").unwrap();
        assert_eq!(step.link_file_name(&short), "build.abc.link");
    }

    #[test]
    fn step_names_refuse_path_tricks() {
        for bad in ["", ".", "..", "a/b", "..\\x", "a\0"] {
            assert!(StepName::new(bad).is_err(), "{bad:?}");
        }
        assert!(StepName::new("update-version.v2").is_ok());
    }

    #[test]
    fn artifact_names_allow_uris_but_not_empty() {
        assert!(ArtifactName::new("dir:src").is_ok());
        assert!(ArtifactName::new("../up/x").is_ok());
        assert!(ArtifactName::new("").is_err());
    }
}
