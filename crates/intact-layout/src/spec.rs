//! The YAML authoring format (docs/layouts.md) and its parsing.
//!
//! Every field maps onto one field of the in-toto layout; the only
//! differences are conveniences for authors: `keys` names key files,
//! `functionaries` refers to keys by name, `expires` may be a date or a
//! duration, rules and commands are written as one string each, and
//! `parameters` declares the `{NAME}` placeholders.

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::LayoutError;

/// A whole layout as authors write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutSpec {
    /// Free text for humans (`readme`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub readme: String,
    /// A date (`2030-01-01`), a timestamp (`2030-01-01T00:00:00Z`) or a
    /// duration from build time (`90d`, `12w`, `1y`).
    pub expires: String,
    /// Declared `{NAME}` placeholders: a value is used at build time
    /// (`--param` overrides it), `null` leaves the placeholder for the
    /// verifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<NamedMap<Option<String>>>,
    /// Steps, in order.
    #[serde(default)]
    pub steps: Vec<StepSpec>,
    /// Inspections, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inspect: Vec<InspectionSpec>,
    /// Functionary keys by name.
    #[serde(default, skip_serializing_if = "NamedMap::is_empty")]
    pub keys: NamedMap<KeySpec>,
    /// Git provenance of the source (docs/git-provenance.md), compiled
    /// into an inspection that runs `intact git verify-source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitSpec>,
    /// Separation of duties: groups of steps no one key may take part in
    /// two of (`[[source, release], [build, approve]]`), compiled into an
    /// inspection that runs `intact verify-separation`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub separate: Vec<Vec<String>>,
    /// Root CA certificates by name (docs/pki.md): PEM certificate files
    /// relative to the YAML file, or key dictionaries with
    /// `keyval.certificate`. Names may appear in `cert_constraints` roots.
    #[serde(default, skip_serializing_if = "NamedMap::is_empty")]
    pub rootcas: NamedMap<KeySpec>,
    /// Intermediate CA certificates by name, as `rootcas`.
    #[serde(default, skip_serializing_if = "NamedMap::is_empty")]
    pub intermediatecas: NamedMap<KeySpec>,
}

/// The git provenance policy as authors write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitSpec {
    /// The inspection's name (default `git-provenance`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The step whose recorded files must be the commit's tree.
    pub step: String,
    /// `products` (default) or `materials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
    /// Artifact-name prefix of the repository root; default: what the
    /// recorder wrote in the link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The protected ref the commit must be reachable from.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub protected_ref: Option<String>,
    /// A release tag pattern (`v*`): a signed tag must point at the commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Allowed signers: `allowed_signers` lines, or `principal key.pub`
    /// naming an OpenSSH public key file relative to the YAML file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signers: Vec<String>,
    /// An OpenSSH `allowed_signers` file, relative to the YAML file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signers_file: Option<String>,
    /// Fingerprints of GPG keys allowed to sign.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpg_fingerprints: Vec<String>,
    /// The source step must have recorded a clean work tree.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clean: bool,
}

/// A step as authors write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Unique among steps and inspections.
    pub name: String,
    /// Who may perform the step: names under `keys`, keyids, or paths of
    /// public key files (relative to the YAML file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functionaries: Vec<String>,
    /// How many functionaries must agree (default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub threshold: i64,
    /// The command functionaries are expected to run.
    #[serde(default, skip_serializing_if = "Command::is_empty")]
    pub expected_command: Command,
    /// Material rules, one string each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_materials: Vec<String>,
    /// Product rules, one string each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_products: Vec<String>,
    /// Certificates that may sign for the step (docs/pki.md), as
    /// in-toto-golang's `cert_constraints`; `roots` may name `rootcas`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cert_constraints: Vec<Map<String, Value>>,
}

/// An inspection as authors write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectionSpec {
    /// Unique among steps and inspections.
    pub name: String,
    /// The command the verifier runs.
    #[serde(default, skip_serializing_if = "Command::is_empty")]
    pub run: Command,
    /// Material rules, one string each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_materials: Vec<String>,
    /// Product rules, one string each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_products: Vec<String>,
}

fn one() -> i64 {
    1
}

fn is_one(v: &i64) -> bool {
    *v == 1
}

/// A command: one string split like a POSIX shell (Python `shlex.split`),
/// or the argv list itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `cargo build --release`
    Line(String),
    /// `[cargo, build, --release]`
    Argv(Vec<String>),
}

impl Default for Command {
    fn default() -> Self {
        Command::Argv(Vec::new())
    }
}

impl Command {
    /// No command at all.
    pub fn is_empty(&self) -> bool {
        match self {
            Command::Line(s) => s.trim().is_empty(),
            Command::Argv(v) => v.is_empty(),
        }
    }

    /// The argv, splitting a line like Python's `shlex.split`.
    pub fn argv(&self) -> Result<Vec<String>, String> {
        match self {
            Command::Line(s) => intact_model::split_like_python(s),
            Command::Argv(v) => Ok(v.clone()),
        }
    }
}

impl Serialize for Command {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Command::Line(l) => s.serialize_str(l),
            Command::Argv(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Command;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a command line string or a list of arguments")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Command, E> {
                Ok(Command::Line(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Command, E> {
                Ok(Command::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Command, A::Error> {
                let mut argv = Vec::new();
                while let Some(arg) = seq.next_element::<String>()? {
                    argv.push(arg);
                }
                Ok(Command::Argv(argv))
            }
        }
        d.deserialize_any(V)
    }
}

/// A key for functionaries.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySpec {
    /// A public key file (SubjectPublicKeyInfo PEM), relative to the YAML
    /// file; embedded as the modern securesystemslib key dict.
    File(String),
    /// A key dictionary embedded verbatim (what `export` writes, so that
    /// legacy and GPG keys survive a round trip). Without `keyid`, the
    /// modern keyid is computed.
    Inline(Map<String, Value>),
}

impl Serialize for KeySpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            KeySpec::File(p) => s.serialize_str(p),
            KeySpec::Inline(m) => m.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for KeySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeySpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the path of a public key file or a key dictionary")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeySpec, E> {
                Ok(KeySpec::File(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeySpec, A::Error> {
                let mut out = Map::new();
                while let Some(k) = map.next_key::<String>()? {
                    if out.contains_key(&k) {
                        return Err(de::Error::custom(format_args!("duplicate key {k:?}")));
                    }
                    let v: Value = map.next_value()?;
                    out.insert(k, v);
                }
                Ok(KeySpec::Inline(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A YAML mapping with string keys, in document order, that refuses
/// duplicate keys (plain maps would silently keep the last one).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedMap<V>(pub Vec<(String, V)>);

impl<V> Default for NamedMap<V> {
    fn default() -> Self {
        NamedMap(Vec::new())
    }
}

impl<V> NamedMap<V> {
    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value for `name`.
    pub fn get(&self, name: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Entries in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<V: Serialize> Serialize for NamedMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for NamedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = NamedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(NamedMap::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, V)> = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    if out.iter().any(|(have, _)| *have == k) {
                        return Err(de::Error::custom(format_args!("duplicate key {k:?}")));
                    }
                    out.push((k, map.next_value()?));
                }
                Ok(NamedMap(out))
            }
        }
        d.deserialize_any(Vis(PhantomData))
    }
}

/// One step of a path into the YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

pub(crate) fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

/// `steps[1].expected_materials[0]`
pub(crate) fn path_string(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A parsed YAML layout together with its text, for locating findings.
#[derive(Debug, Clone)]
pub struct Source {
    spec: LayoutSpec,
    text: String,
    file: Option<PathBuf>,
    base_dir: PathBuf,
    /// Bytes of YAML still to spend on locating findings (see
    /// [`Source::position`]).
    locate_budget: std::cell::Cell<usize>,
}

/// Locating a finding re-reads the whole YAML; all findings of one
/// document together may re-read this many bytes. A layout of a few
/// kilobytes locates thousands of findings; a 500 kB one with thousands
/// of findings locates the first thirty or so and reports the rest by
/// path only, instead of taking time quadratic in its size.
const LOCATE_BUDGET_BYTES: usize = 16 << 20;

fn yaml_error(e: &serde_yaml::Error, file: Option<&Path>) -> LayoutError {
    let location = e.location();
    let mut message = e.to_string();
    if let Some(l) = &location {
        let suffix = format!(" at line {} column {}", l.line(), l.column());
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
    }
    LayoutError::Yaml {
        file: file.map(Path::to_path_buf),
        line: location.as_ref().map(|l| l.line()),
        column: location.as_ref().map(|l| l.column()),
        message,
    }
}

impl Source {
    /// Parse YAML text; relative key paths resolve against `base_dir`.
    /// Errors carry the line and column.
    pub fn parse(
        text: impl Into<String>,
        base_dir: impl Into<PathBuf>,
    ) -> Result<Self, LayoutError> {
        Self::parse_in(text.into(), base_dir.into(), None)
    }

    /// Read and parse a YAML file; key paths resolve against its directory.
    pub fn load(path: &Path) -> Result<Self, LayoutError> {
        // Only a regular file under the size cap (a FIFO or /dev/zero
        // would hang or exhaust memory).
        let text = intact_model::io::read_limited_string(
            path,
            intact_model::io::DEFAULT_MAX_METADATA_SIZE,
        )
        .map_err(intact_model::ModelError::from)?;
        // An empty base keeps relative key paths relative to the current
        // directory, as the user wrote them.
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse_in(text, base, Some(path.to_path_buf()))
    }

    fn parse_in(
        text: String,
        base_dir: PathBuf,
        file: Option<PathBuf>,
    ) -> Result<Self, LayoutError> {
        if text.trim().is_empty() {
            return Err(LayoutError::Yaml {
                file,
                line: None,
                column: None,
                message: "the layout is empty".into(),
            });
        }
        if let Err(deep) = crate::depth::check_depth(&text, crate::MAX_DEPTH) {
            return Err(LayoutError::TooDeep {
                file,
                line: deep.line,
                limit: crate::MAX_DEPTH,
            });
        }
        let spec: LayoutSpec =
            serde_yaml::from_str(&text).map_err(|e| yaml_error(&e, file.as_deref()))?;
        Ok(Source {
            spec,
            text,
            file,
            base_dir,
            locate_budget: std::cell::Cell::new(LOCATE_BUDGET_BYTES),
        })
    }

    /// The parsed document.
    pub fn spec(&self) -> &LayoutSpec {
        &self.spec
    }

    /// The file it was loaded from, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The directory relative key paths resolve against.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// 1-based line and column of the node at `path`, or of its closest
    /// ancestor that exists; None once the document's locating budget is
    /// spent.
    pub(crate) fn position(&self, path: &[Seg]) -> Option<(usize, usize)> {
        (1..=path.len()).rev().find_map(|n| {
            let left = self.locate_budget.get().checked_sub(self.text.len())?;
            self.locate_budget.set(left);
            let de = serde_yaml::Deserializer::from_str(&self.text);
            let target = path.get(..n)?;
            match (Locate { target, depth: 0 }).deserialize(de) {
                Err(e) if e.to_string().contains(FOUND) => {
                    e.location().map(|l| (l.line(), l.column()))
                }
                _ => None,
            }
        })
    }

    /// The column of character `offset` inside the scalar `value` that
    /// starts at (`line`, `column`), when the scalar is written plainly or
    /// quoted without escapes before `offset`; else the scalar's column.
    pub(crate) fn column_in_scalar(
        &self,
        line: usize,
        column: usize,
        value: &str,
        offset: usize,
    ) -> usize {
        let Some(text) = self.text.lines().nth(line.saturating_sub(1)) else {
            return column;
        };
        let rest: String = text.chars().skip(column.saturating_sub(1)).collect();
        let head: String = value.chars().take(offset).collect();
        if rest.starts_with(&head) {
            return column + offset;
        }
        let quoted = rest
            .strip_prefix('"')
            .or_else(|| rest.strip_prefix('\''))
            .is_some_and(|r| r.starts_with(&head));
        if quoted {
            column + 1 + offset
        } else {
            column
        }
    }
}

const FOUND: &str = "\u{1}intact-locate\u{1}";

/// Walks the document and fails at `target`, so that the deserializer's
/// error carries the position of that node.
struct Locate<'a> {
    target: &'a [Seg],
    depth: usize,
}

impl Locate<'_> {
    fn at_target(&self) -> bool {
        self.depth == self.target.len()
    }

    fn leaf<E: de::Error>(&self) -> Result<(), E> {
        if self.at_target() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

impl<'de> DeserializeSeed<'de> for Locate<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Locate<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.leaf()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.leaf()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        // Tagged values (`!tag x`) do not occur in layouts; stop here.
        Err(de::Error::custom(if self.at_target() {
            FOUND
        } else {
            "tag"
        }))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.at_target() {
            return Err(de::Error::custom(FOUND));
        }
        let mut i = 0;
        loop {
            let more = if self.target.get(self.depth) == Some(&Seg::Index(i)) {
                seq.next_element_seed(Locate {
                    target: self.target,
                    depth: self.depth + 1,
                })?
                .is_some()
            } else {
                seq.next_element::<IgnoredAny>()?.is_some()
            };
            if !more {
                return Ok(());
            }
            i += 1;
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.at_target() {
            return Err(de::Error::custom(FOUND));
        }
        while let Some(k) = map.next_key::<String>()? {
            if self.target.get(self.depth) == Some(&Seg::Key(k)) {
                map.next_value_seed(Locate {
                    target: self.target,
                    depth: self.depth + 1,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Tests may use std::fs.
mod tests {
    use super::*;

    const DOC: &str = "\
expires: 90d
keys:
  alice: keys/alice.pub
steps:
  - name: clone
    functionaries: [alice]
    expected_products:
      - CREATE foo.py
      - \"DISALLOW  *\"
  - {name: build, threshold: 2}
";

    /// Deep nesting is refused before the YAML parser sees it (libyaml is
    /// quadratic in flow depth: 100,000 `[` took minutes).
    #[test]
    fn deeply_nested_yaml_is_refused_up_front() {
        let flow = format!("steps: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let block = format!("steps:\n  {}x\n", "- ".repeat(100_000));
        // A 600 kB nested mapping, as flow and as block.
        let braces = format!(
            "steps: {}1{}\n",
            "{a: ".repeat(150_000),
            "}".repeat(150_000)
        );
        let mapping: String = (0..1100)
            .map(|i| format!("{}a:\n", " ".repeat(i)))
            .collect();
        assert!(mapping.len() > 600_000);
        for text in [flow, block, braces, mapping] {
            let err = Source::parse(text, ".").unwrap_err();
            assert!(
                matches!(
                    err,
                    LayoutError::TooDeep {
                        limit: crate::MAX_DEPTH,
                        ..
                    }
                ),
                "{err}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep.yaml");
        std::fs::write(&path, format!("steps: {}", "[".repeat(100_000))).unwrap();
        let err = Source::load(&path).unwrap_err();
        let LayoutError::TooDeep { file, line, .. } = err else {
            panic!("{err}");
        };
        assert_eq!((file.as_deref(), line), (Some(path.as_path()), 1));
    }

    #[test]
    fn parses_and_locates_nodes() {
        let src = Source::parse(DOC, ".").unwrap();
        assert_eq!(src.spec().steps.len(), 2);
        assert_eq!(
            src.spec().keys.get("alice"),
            Some(&KeySpec::File("keys/alice.pub".into()))
        );
        let rule = [
            key("steps"),
            Seg::Index(0),
            key("expected_products"),
            Seg::Index(1),
        ];
        assert_eq!(src.position(&rule), Some((9, 9)));
        assert_eq!(src.column_in_scalar(9, 9, "DISALLOW  *", 10), 20);
        let first = [
            key("steps"),
            Seg::Index(0),
            key("expected_products"),
            Seg::Index(0),
        ];
        assert_eq!(src.column_in_scalar(8, 9, "CREATE foo.py", 7), 16);
        assert_eq!(src.position(&first), Some((8, 9)));
        let threshold = [key("steps"), Seg::Index(1), key("threshold")];
        assert_eq!(src.position(&threshold), Some((10, 30)));
        // Absent nodes fall back to their closest ancestor.
        let absent = [key("steps"), Seg::Index(0), key("threshold")];
        assert_eq!(src.position(&absent), Some((5, 5)));
        assert_eq!(path_string(&rule), "steps[0].expected_products[1]");
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err =
            Source::parse("expires: 1d\nsteps:\n  - name: a\n    treshold: 2\n", ".").unwrap_err();
        let LayoutError::Yaml {
            line,
            column,
            message,
            ..
        } = &err
        else {
            panic!("{err}");
        };
        assert_eq!((*line, *column), (Some(4), Some(5)));
        assert!(
            message.starts_with("steps[0]: unknown field `treshold`"),
            "{message}"
        );
        let dup = Source::parse("expires: 1d\nkeys:\n  a: x\n  a: y\n", ".").unwrap_err();
        assert!(dup.to_string().contains("duplicate key \"a\""), "{dup}");
        assert!(Source::parse("  \n", ".").is_err());
        assert!(Source::parse("steps: []\n", ".")
            .unwrap_err()
            .to_string()
            .contains("expires"));
    }

    #[test]
    fn commands_are_strings_or_lists() {
        let line: Command = serde_yaml::from_str("\"tar czf 'a b.tgz' src\"").unwrap();
        assert_eq!(line.argv().unwrap(), ["tar", "czf", "a b.tgz", "src"]);
        let argv: Command = serde_yaml::from_str("[sh, -c, 'echo hi']").unwrap();
        assert_eq!(argv.argv().unwrap(), ["sh", "-c", "echo hi"]);
        assert!(Command::Line("'".into()).argv().is_err());
    }
}
